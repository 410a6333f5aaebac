"""Test data made on the spot: digit images rendered with installed fonts, and zips of them."""

import io
import random
import zipfile
from pathlib import Path

from PIL import Image, ImageDraw, ImageFilter, ImageFont

FONT_FILES = [
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/truetype/dejavu/DejaVuSerif-Bold.ttf",
    "/usr/share/fonts/truetype/liberation2/LiberationMono-Regular.ttf",
    "/usr/share/fonts/truetype/freefont/FreeSans.ttf",
]


def font_paths() -> list[str]:
    found = [path for path in FONT_FILES if Path(path).exists()]
    assert found, f"none of the test fonts is installed: {FONT_FILES}"
    return found


def digit_image(
    digit: int, *, size: int = 64, font_index: int = 0, mode: str = "L", invert: bool = False
) -> Image.Image:
    """A dark digit on a light background (light on dark when `invert`), centred with a margin."""
    fonts = font_paths()
    font = ImageFont.truetype(fonts[font_index % len(fonts)], int(size * 0.7))
    ink, paper = (255, 0) if invert else (0, 255)
    image = Image.new("L", (size, size), paper)
    draw = ImageDraw.Draw(image)
    draw.text((size / 2, size / 2), str(digit), fill=ink, font=font, anchor="mm")
    return image.convert(mode)


def beside_a_bright_label(digit: int) -> Image.Image:
    """A dim digit on dark paper, and the corner of a bright neighbouring label cut by the picture's
    edge: the usual network input keeps the label and drops the digit (a case from printed
    validation); the second look reads it."""
    picture = Image.new("L", (160, 200), 30)
    draw = ImageDraw.Draw(picture)
    draw.text((80, 110), str(digit), fill=110, font=ImageFont.truetype(FONT_FILES[0], 120), anchor="mm")
    draw.rectangle((0, 0, 60, 14), fill=230)
    return picture


def above_a_bold_underline(digit: int) -> Image.Image:
    """A grey digit a few pixels above a black underline, both blurred: at the faint level the blur
    joins line and digit, and the usual network input keeps mostly the line (a case from printed
    validation); the second look drops the line."""
    picture = Image.new("L", (120, 170), 235)
    draw = ImageDraw.Draw(picture)
    draw.text((60, 70), str(digit), fill=170, font=ImageFont.truetype(FONT_FILES[0], 100), anchor="ms")
    draw.rectangle((5, 74, 115, 82), fill=0)
    return picture.filter(ImageFilter.GaussianBlur(3))


def encode(image: Image.Image, fmt: str = "PNG", **params) -> bytes:
    output = io.BytesIO()
    image.save(output, format=fmt, **params)
    return output.getvalue()


def digit_png(digit: int, **kwargs) -> bytes:
    return encode(digit_image(digit, **kwargs))


def make_zip(members: dict[str, bytes], *, compression=zipfile.ZIP_DEFLATED) -> bytes:
    output = io.BytesIO()
    with zipfile.ZipFile(output, "w", compression=compression) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return output.getvalue()


def digits_zip(count: int, *, folder: str = "") -> tuple[bytes, dict[str, int]]:
    """A zip of `count` printed digits in varied fonts and sizes, and the true digit of each name."""
    labels = {f"{folder}{index:04d}_{index % 10}.png": index % 10 for index in range(count)}
    members = {
        name: digit_png(digit, size=32 + (index * 7) % 96, font_index=index)
        for index, (name, digit) in enumerate(labels.items())
    }
    return make_zip(members), labels


def number_png(text: str, *, height: int = 48, font_index: int = 0) -> bytes:
    """A line of digits, dark on light, with a margin."""
    font = ImageFont.truetype(font_paths()[font_index % len(font_paths())], int(height * 0.7))
    left, top, right, bottom = font.getbbox(text)
    image = Image.new("L", (right - left + height, height), 255)
    ImageDraw.Draw(image).text((image.width / 2, height / 2), text, fill=0, font=font, anchor="mm")
    return encode(image)


ARABIC_INDIC_FONT_FILES = [  # installed fonts that have the Arabic-Indic digits
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf",
    "/usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf",
    "/usr/share/fonts/truetype/dejavu/DejaVuSansCondensed.ttf",
    "/usr/share/fonts/truetype/freefont/FreeSerif.ttf",
    "/usr/share/fonts/truetype/freefont/FreeSerifBold.ttf",
    "/usr/share/fonts/truetype/freefont/FreeMono.ttf",
]


def arabic_indic_digit_png(digit: int, *, size: int = 48, font_index: int = 0, seed: int = 0) -> bytes:
    """An Eastern Arabic (Arabic-Indic) digit, U+0660 + digit, dark on light, its size, place, tilt
    and greys jittered from `seed`: a script the digit network was never shown."""
    rng = random.Random(f"{digit}-{font_index}-{seed}")
    font_file = ARABIC_INDIC_FONT_FILES[font_index % len(ARABIC_INDIC_FONT_FILES)]
    font = ImageFont.truetype(font_file, max(8, round(size * rng.uniform(0.55, 0.8))))
    ink, paper = rng.randint(0, 70), rng.randint(190, 255)
    image = Image.new("L", (size, size), paper)
    centre = (size * rng.uniform(0.4, 0.6), size * rng.uniform(0.4, 0.6))
    ImageDraw.Draw(image).text(centre, chr(0x0660 + digit), fill=ink, font=font, anchor="mm")
    return encode(image.rotate(rng.uniform(-8, 8), resample=Image.Resampling.BILINEAR, fillcolor=paper))


DEVANAGARI_FONT_FILES = [  # installed fonts that have the Devanagari digits
    "/usr/share/fonts/truetype/freefont/FreeSans.ttf",
    "/usr/share/fonts/truetype/freefont/FreeSerif.ttf",
    "/usr/share/fonts/truetype/freefont/FreeSansBold.ttf",
    "/usr/share/fonts/truetype/freefont/FreeSerifBold.ttf",
]


def devanagari_number_png(text: str, *, height: int = 40, font_index: int = 0, seed: int = 0) -> bytes:
    """A line of Devanagari digits (U+0966 + digit of the ASCII `text`), dark on light, its size, spacing,
    tilt and greys jittered from `seed`: lines in a script the line reader was never shown."""
    rng = random.Random(f"{text}-{font_index}-{seed}")
    font_file = DEVANAGARI_FONT_FILES[font_index % len(DEVANAGARI_FONT_FILES)]
    font = ImageFont.truetype(font_file, max(8, round(height * rng.uniform(0.55, 0.8))))
    ink, paper = rng.randint(0, 70), rng.randint(190, 255)
    digits = "".join(chr(0x0966 + int(character)) for character in text)
    line = digits if rng.random() < 0.5 else " ".join(digits)
    left, top, right, bottom = font.getbbox(line)
    image = Image.new("L", (right - left + round(height * rng.uniform(0.4, 1.2)), height), paper)
    ImageDraw.Draw(image).text((image.width / 2, height / 2), line, fill=ink, font=font, anchor="mm")
    return encode(image.rotate(rng.uniform(-3, 3), resample=Image.Resampling.BILINEAR, fillcolor=paper))
