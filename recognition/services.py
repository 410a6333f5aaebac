import io

import PIL.Image
import PIL.ImageDraw
from django.conf import settings

from ml.preprocess import open_image
from uploads.pictures import picture_bytes

THUMBNAIL_SIZE = (96, 96)


def make_thumbnail(*, image) -> bytes:
    """A small PNG made from the stored image; the raw upload is never served back."""
    picture = open_image(picture_bytes(image), max_pixels=settings.OCR_MAX_IMAGE_PIXELS)
    if picture.mode not in {"L", "RGB", "RGBA", "LA"}:
        picture = picture.convert("RGBA" if "transparency" in picture.info or "A" in picture.mode else "RGB")
    boxes = [reading["box"] for reading in image.digits or [] if reading.get("box")]
    if len(boxes) > 1:
        picture = draw_boxes(picture, boxes)
    picture.thumbnail(THUMBNAIL_SIZE, PIL.Image.Resampling.LANCZOS)
    output = io.BytesIO()
    picture.save(output, format="PNG")
    return output.getvalue()


def draw_boxes(picture, boxes):
    """Outline each digit the reader found, thick enough to survive the thumbnail's scaling."""
    picture = picture.convert("RGB")
    width = max(1, round(max(picture.size) / THUMBNAIL_SIZE[0]))
    draw = PIL.ImageDraw.Draw(picture)
    for left, top, right, bottom in boxes:
        draw.rectangle([left, top, right, bottom], outline=(220, 40, 40), width=width)
    return picture
