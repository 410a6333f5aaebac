"""Turn an uploaded image of one digit into the 28x28 network input.

The output looks like an MNIST digit: bright ink on a black background, the ink
scaled into a 20x20 box and centred by centre of mass in a 28x28 frame.  Every
training image goes through `to_network_input` too, so training and inference
see identical inputs.  `second_look_inputs` gives other readings of a picture, for
the answers the network is unsure of (see `ml.reading`).
"""

from __future__ import annotations

import functools
import io
import math
import re
import struct
import warnings
from typing import BinaryIO

import numpy as np
from PIL import Image, ImageOps
from scipy import ndimage

INPUT_SIZE = 28
BOX_SIZE = 20
WORKING_SIDE = 256  # bigger images are box-downscaled to about this before any work
MIN_CONTRAST = 16.0  # ink must differ from the background by this many grey levels (of 255)
MIN_SIGNAL_TO_NOISE = 3.0  # ink peak over the typical background distance
IMPULSE_LEVEL = 64.0  # a pixel this far from its 3x3 median is a salt or pepper grain
IMPULSE_SHARE = 0.001  # ... and this share of such grains in the border means salt-and-pepper noise
MIN_BORDER_TEST_SIDE = 24  # smaller pictures have too thin a border band to judge noise on
SMALL_PICTURE_SIDE = 64  # below this, salt and pepper grains are found one by one (the border band is thin)
NOISY = 0.08  # background noise above this share of the ink peak gets smoothed
INK_LEVEL = 0.3  # of the ink peak: the digit's strokes
FAINT_INK_LEVEL = 0.1  # ... and fainter ink, among which form lines are looked for
SECOND_LOOK_INK_LEVEL = 0.15  # a second look at an unsure answer keeps fainter strokes
SECOND_LOOK_SIDE = 96  # ... and upscales pictures whose shorter side is below this
OUTSHONE_LEVEL = 0.5  # a digit whose ink peaks below this share of a line's is rescaled once the line is gone
MIN_SPECK_FRACTION = 0.08  # ink blobs lighter than this share of the heaviest blob are specks
RULED_LINE_ELONGATION = 7.0  # length / thickness from which a straight blob is a ruled line
RULED_LINE_DIGIT_EXTENT = 0.3  # a line is dropped only if the other ink spans this share of its length,
LINE_FRAGMENT_SHARE = 0.02  # ... counting the pieces that weigh this share of it (not specks)
MARGIN_LINE_ELONGATION = 4.0  # length / thickness of a bar set apart by blank rows or columns ...
MARGIN_LINE_FILL = 0.6  # ... whose ink fills this share of its box (a stroke's curved end does not)

BLANK_IMAGE = "blank image: no ink found"


class ImageError(ValueError):
    """The upload cannot be read as a digit; str(error) is a reason a person can read."""


# --- opening -------------------------------------------------------------------------------

# What Pillow's decoders raise on broken files. Not Exception: a worker's time limit
# (SoftTimeLimitExceeded) arriving during a decode must not be mistaken for a corrupt image.
DECODER_ERRORS = (
    OSError,
    SyntaxError,
    ValueError,
    EOFError,
    struct.error,
    IndexError,
    KeyError,
    TypeError,
    ZeroDivisionError,
)


def open_image(data: bytes | BinaryIO, *, max_pixels: int = 25_000_000) -> Image.Image:
    """Open, size-check (before decoding), take the first frame and apply EXIF orientation."""
    stream = io.BytesIO(data) if isinstance(data, (bytes, bytearray, memoryview)) else data
    image = _open_header(stream, max_pixels)
    width, height = image.size
    if width * height > max_pixels:
        raise ImageError(f"image too large: {width * height} pixels (limit {max_pixels})")
    if width == 0 or height == 0:
        raise ImageError("not an image: empty picture")
    try:
        image.seek(0)
        image.load()
        image = ImageOps.exif_transpose(image)
        image.load()
    except Image.DecompressionBombError as error:
        raise ImageError(_bomb_reason(error, max_pixels)) from error
    except DECODER_ERRORS as error:
        raise ImageError(f"corrupt image: {error}") from error
    return image


def _open_header(stream: BinaryIO, max_pixels: int) -> Image.Image:
    """Image.open only parses the header; turn every failure into an ImageError."""
    with warnings.catch_warnings():
        # Pillow's own global bomb check is a warning below 2x its limit; ours is the real one.
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        try:
            return Image.open(stream)
        except Image.DecompressionBombError as error:
            raise ImageError(_bomb_reason(error, max_pixels)) from error
        except Image.UnidentifiedImageError as error:
            raise ImageError("not an image: cannot identify image file") from error
        except (OSError, SyntaxError, ValueError, EOFError) as error:
            raise ImageError(f"not an image: {error}") from error


def _bomb_reason(error: Exception, max_pixels: int) -> str:
    found = re.search(r"\((\d+) pixels\)", str(error))
    pixels = found.group(1) if found else "too many"
    return f"image too large: {pixels} pixels (limit {max_pixels})"


# --- network input -------------------------------------------------------------------------


def to_network_input(image: Image.Image) -> np.ndarray:
    """float32 (28, 28) in [0, 1], bright ink on black, MNIST-style framing."""
    pixels = _as_float_pixels(_shrink(image))  # (H, W, C) in grey levels 0..255
    ink = _ink_strength(_remove_impulse_noise(pixels))
    ink = _keep_digit(ink)
    return _frame_like_mnist(ink)


def second_look_inputs(image: Image.Image) -> list[np.ndarray]:
    """Other network inputs of a picture whose usual input left the network unsure: the picture
    upscaled (a few-pixel digit's strokes merge at its own scale), then ink touching the picture's
    edge dropped and fainter strokes kept, then the pixels smoothed and fainter strokes kept, then
    bars in the margins (underlines, box borders) dropped and fainter strokes kept.
    Readings that find no ink are left out."""
    shrunk = _shrink(image)
    pixels = _remove_impulse_noise(_as_float_pixels(shrunk))
    ink = functools.cache(lambda: _ink_strength(pixels))  # two readings start from it; may raise
    readings = [
        lambda: _keep_digit(_ink_strength(_remove_impulse_noise(_as_float_pixels(_upscaled(shrunk))))),
        lambda: _keep_digit(_without_edge_ink(ink()), ink_level=SECOND_LOOK_INK_LEVEL),
        lambda: _keep_digit(
            _ink_strength(ndimage.gaussian_filter(pixels, (1.0, 1.0, 0))), ink_level=SECOND_LOOK_INK_LEVEL
        ),
        lambda: _keep_digit(_without_margin_lines(ink()), ink_level=SECOND_LOOK_INK_LEVEL),
    ]
    inputs = []
    for read in readings:
        try:
            inputs.append(_frame_like_mnist(read()))
        except ImageError:
            continue
    return inputs


def prepare(data: bytes | BinaryIO, *, max_pixels: int = 25_000_000) -> np.ndarray:
    return to_network_input(open_image(data, max_pixels=max_pixels))


def _shrink(image: Image.Image) -> Image.Image:
    image = _to_workable_mode(image)
    factor = max(image.size) // WORKING_SIDE
    return image.reduce(factor) if factor > 1 else image


def _upscaled(image: Image.Image) -> Image.Image:
    """A `_shrink`-ed picture enlarged until its shorter side reaches SECOND_LOOK_SIDE (within WORKING_SIDE)."""
    factor = min(math.ceil(SECOND_LOOK_SIDE / min(image.size)), max(1, WORKING_SIDE // max(image.size)))
    if factor <= 1:
        return image
    return image.resize((image.width * factor, image.height * factor), Image.Resampling.BICUBIC)


def _to_workable_mode(image: Image.Image) -> Image.Image:
    """Collapse Pillow's many modes into L, LA, RGB, RGBA or F."""
    mode = image.mode
    if mode in ("L", "LA", "RGB", "RGBA", "F"):
        return image
    if mode == "1":
        return image.convert("L")
    if mode in ("P", "PA"):
        has_alpha = mode == "PA" or "transparency" in image.info
        return image.convert("RGBA" if has_alpha else "RGB")
    if mode == "La":
        return image.convert("LA")
    if mode in ("RGBa", "RGBX", "CMYK", "YCbCr", "LAB", "HSV"):
        return image.convert("RGBA" if mode == "RGBa" else "RGB")
    if mode.startswith("I"):
        return _high_depth_to_float(image)
    return image.convert("RGB")


def _high_depth_to_float(image: Image.Image) -> Image.Image:
    values = np.asarray(image).astype(np.float32)
    return Image.fromarray(values * (255.0 / _full_scale(values)), mode="F")


def _full_scale(values: np.ndarray) -> float:
    """Guess the white level of an integer/float grey image from its largest value."""
    top = float(values.max()) if values.size else 0.0
    for scale in (1.0, 255.0, 4095.0, 65535.0):
        if top <= scale:
            return scale
    return top


def _as_float_pixels(image: Image.Image) -> np.ndarray:
    if image.mode == "F":
        values = np.asarray(image, dtype=np.float32)
        values = values * (255.0 / _full_scale(values)) if values.max() > 255 else values
        if values.max() <= 1.0:
            values = values * 255.0
        return values[:, :, None]
    values = np.asarray(image, dtype=np.float32)
    if values.ndim == 2:
        values = values[:, :, None]
    if image.mode in ("LA", "RGBA"):
        return _flatten_alpha(values[:, :, :-1], values[:, :, -1:] / 255.0)
    return values


def _flatten_alpha(colour: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """Put transparent pixels on a backdrop that contrasts with the opaque ones.

    A digit on a transparent background can be dark or light ink; the colour stored
    under transparent pixels is arbitrary, so it must not be looked at.
    """
    if alpha.min() > 0.99:
        return colour
    weight = alpha[:, :, 0]
    opaque_brightness = float((colour.mean(axis=2) * weight).sum() / max(weight.sum(), 1e-6))
    backdrop = 0.0 if opaque_brightness > 127.5 else 255.0
    return colour * alpha + backdrop * (1.0 - alpha)


def _remove_impulse_noise(pixels: np.ndarray) -> np.ndarray:
    """Salt-and-pepper noise: isolated extreme pixels, which a 3x3 median removes.

    The noise is judged on the border band only, because thin strokes also differ from their
    median. A small picture's band holds too few pixels to catch sparse grains, so there the
    grains themselves are replaced too: pixels far brighter or darker than all 8 neighbours.
    """
    grey = pixels.mean(axis=2)
    if min(grey.shape) >= MIN_BORDER_TEST_SIDE and _border_impulse_share(grey) >= IMPULSE_SHARE:
        return ndimage.median_filter(pixels, size=(3, 3, 1))
    if min(grey.shape) < SMALL_PICTURE_SIDE:
        return _replace_isolated_grains(pixels, grey)
    return pixels


def _replace_isolated_grains(pixels: np.ndarray, grey: np.ndarray) -> np.ndarray:
    ring = np.ones((3, 3), dtype=bool)
    ring[1, 1] = False
    brightest = ndimage.maximum_filter(grey, footprint=ring, mode="nearest")
    darkest = ndimage.minimum_filter(grey, footprint=ring, mode="nearest")
    grains = (grey > brightest + IMPULSE_LEVEL) | (grey < darkest - IMPULSE_LEVEL)
    if not grains.any():
        return pixels
    return np.where(grains[:, :, None], ndimage.median_filter(pixels, size=(3, 3, 1)), pixels)


def _border_impulse_share(grey: np.ndarray) -> float:
    """The share of impulse pixels in the border band, filtering only the band's four strips (each
    with one more row or column, so their medians equal those of the whole image's filter)."""
    height, width = grey.shape
    depth = max(1, min(height, width) // 16)
    impulses = np.zeros((height, width), dtype=bool)
    strips = [
        (np.s_[: depth + 1, :], np.s_[:depth, :], np.s_[:depth, :]),
        (np.s_[-depth - 1 :, :], np.s_[1:, :], np.s_[-depth:, :]),
        (np.s_[:, : depth + 1], np.s_[:, :depth], np.s_[:, :depth]),
        (np.s_[:, -depth - 1 :], np.s_[:, 1:], np.s_[:, -depth:]),
    ]
    for source, inner, target in strips:
        strip = grey[source]
        impulses[target] = (np.abs(strip - ndimage.median_filter(strip, size=3)) > IMPULSE_LEVEL)[inner]
    return float(impulses[_border_mask(height, width)].mean())


def _ink_strength(pixels: np.ndarray) -> np.ndarray:
    """How far each pixel is from the background colour, 0 = background, 1 = full ink.

    The background is a plane per channel fitted robustly to the border pixels, which
    copes with both polarities, coloured ink and paper, and lighting gradients.
    """
    distance = _distance_from_background(pixels)
    noise, peak = _border_noise(distance), _ink_peak(distance)
    if noise > NOISY * peak:  # grainy photo or scan: average the grain away if that helps
        smoothed = _distance_from_background(ndimage.gaussian_filter(pixels, (1.0, 1.0, 0)))
        smoothed_noise, smoothed_peak = _border_noise(smoothed), _ink_peak(smoothed)
        if smoothed_peak * noise > peak * smoothed_noise:
            distance, noise, peak = smoothed, smoothed_noise, smoothed_peak
    if peak < MIN_CONTRAST or peak < MIN_SIGNAL_TO_NOISE * noise:
        raise ImageError(BLANK_IMAGE)
    floor = 2.5 * noise
    return np.clip((distance - floor) / (peak - floor), 0.0, 1.0)


def _distance_from_background(pixels: np.ndarray) -> np.ndarray:
    return np.sqrt(((pixels - _fit_border_plane(pixels)) ** 2).sum(axis=2))


def _ink_peak(distance: np.ndarray) -> float:
    """A near-maximum ink distance that a few hot pixels cannot set on their own."""
    top = float(distance.max())
    return max(float(np.percentile(distance, 99.5)), 0.5 * top) if distance.size > 400 else top


def _border_mask(height: int, width: int) -> np.ndarray:
    depth = max(1, min(height, width) // 16)
    mask = np.zeros((height, width), dtype=bool)
    mask[:depth, :] = mask[-depth:, :] = True
    mask[:, :depth] = mask[:, -depth:] = True
    return mask


def _fit_border_plane(pixels: np.ndarray) -> np.ndarray:
    height, width, channels = pixels.shape
    rows, cols = np.nonzero(_border_mask(height, width))
    design = np.stack([np.ones_like(rows), rows / height - 0.5, cols / width - 0.5], axis=1).astype(np.float32)
    samples = pixels[rows, cols, :]
    # Start from the median colour so ink touching the border does not drag the fit.
    residual = np.abs(samples - np.median(samples, axis=0)).sum(axis=1)
    for _ in range(2):
        chosen = residual <= np.percentile(residual, 60)
        coefficients, *_ = np.linalg.lstsq(design[chosen], samples[chosen], rcond=None)
        residual = np.abs(samples - design @ coefficients).sum(axis=1)
    row_term = (np.arange(height, dtype=np.float32) / height - 0.5)[:, None, None] * coefficients[1]
    col_term = (np.arange(width, dtype=np.float32) / width - 0.5)[None, :, None] * coefficients[2]
    return coefficients[0] + row_term + col_term


def _border_noise(distance: np.ndarray) -> float:
    """Typical distance of border (mostly background) pixels from the fitted background."""
    return float(np.median(distance[_border_mask(*distance.shape)]))


def _keep_digit(ink: np.ndarray, *, ink_level: float = INK_LEVEL) -> np.ndarray:
    """Drop stray ruled lines and specks, then crop to the bounding box of the digit's ink."""
    ink = _faint_digit_without_bold_lines(ink)
    labels, count = _ink_groups(ink > ink_level)
    if count == 0:
        raise ImageError(BLANK_IMAGE)
    indices = np.arange(1, count + 1)
    masses = ndimage.sum_labels(ink, labels, index=indices)
    rest = np.setdiff1d(indices, _ruled_lines(ink, labels, masses))
    kept = rest[masses[rest - 1] >= masses[rest - 1].max() * MIN_SPECK_FRACTION]
    keep = ndimage.binary_dilation(np.isin(labels, kept), structure=np.ones((3, 3)))  # keep the anti-aliased rim
    rows = np.flatnonzero(keep.any(axis=1))
    cols = np.flatnonzero(keep.any(axis=0))
    cropped = (ink * keep)[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]
    if cropped.max() <= 0:
        raise ImageError(BLANK_IMAGE)
    return cropped


def _without_edge_ink(ink: np.ndarray) -> np.ndarray:
    """Drop blobs cut by the picture's edge (a neighbouring label or box), if other ink remains."""
    labels, count = _ink_groups(ink > INK_LEVEL)
    height, width = ink.shape
    boxes = ndimage.find_objects(labels)
    cut = [label for label, box in enumerate(boxes, start=1) if _touches_edge(box, height, width)]
    if not cut or len(cut) == count:
        return ink
    rest = _without_blobs(ink, labels, cut)
    return rest / max(float(rest.max()), 1e-6)


def _without_margin_lines(ink: np.ndarray) -> np.ndarray:
    """Drop bars set apart from the digit by blank rows or columns (an underline, a box border) and
    rescale what is left, so that a digit fainter than the bar fills the input.

    Unlike `_ruled_lines`, this needs no blob to stand alone, so it works where blur or a faint
    digit's halo joins line and digit at the faint level; vertical bars go first, so that a border
    down the side does not hide the gap above an underline, and a second round finds bars that the
    first round's removals set apart.
    """
    kept = np.ones(ink.shape, dtype=bool)
    for axis in (1, 0, 1, 0):  # 1: bands of columns (vertical bars), 0: bands of rows
        mask = (ink > INK_LEVEL) & kept
        bands = [band for (band,) in ndimage.find_objects(ndimage.label(mask.any(axis=1 - axis))[0])]
        bars = [band for band in bands if _is_margin_bar(np.moveaxis(mask, axis, 0)[band])]
        if len(bands) < 2 or len(bars) == len(bands):
            continue  # one band, or only bars: a 1 beside a border
        for band in bars:
            np.moveaxis(kept, axis, 0)[max(0, band.start - 1) : band.stop + 1] = False  # and the rim
    if kept.all():
        return ink
    rest = ink * kept
    return np.clip(rest / max(_ink_peak(rest), 1e-6), 0.0, 1.0)


def _is_margin_bar(band: np.ndarray) -> bool:
    """Whether a band's ink mask (its own lines of pixels first: rows for a band of rows) is a
    solid bar along the band."""
    along = np.flatnonzero(band.any(axis=0))
    length, thickness = along[-1] - along[0] + 1, band.shape[0]
    fill = band.sum() / (length * thickness)
    return length >= MARGIN_LINE_ELONGATION * thickness and fill >= MARGIN_LINE_FILL


def _touches_edge(box: tuple[slice, slice], height: int, width: int) -> bool:
    return box[0].start == 0 or box[1].start == 0 or box[0].stop == height or box[1].stop == width


def _faint_digit_without_bold_lines(ink: np.ndarray) -> np.ndarray:
    """A bold form line can outshine a thin, faint digit so much that at the usual ink level
    only the line is left: look for lines among faint ink too, and if what remains without
    them is faint, erase them and rescale the rest to full strength."""
    labels, count = _ink_groups(ink > FAINT_INK_LEVEL)
    if count == 0:
        return ink
    lines = _ruled_lines(ink, labels, ndimage.sum_labels(ink, labels, index=np.arange(1, count + 1)))
    if lines.size == 0:
        return ink
    rest = _without_blobs(ink, labels, lines)
    peak = _ink_peak(rest)
    return np.clip(rest / peak, 0.0, 1.0) if 0 < peak < OUTSHONE_LEVEL else ink


def _without_blobs(ink: np.ndarray, labels: np.ndarray, dropped) -> np.ndarray:
    """The ink without these blobs and their anti-aliased rim."""
    return ink * ~ndimage.binary_dilation(np.isin(labels, dropped), structure=np.ones((3, 3)))


def _ink_groups(mask: np.ndarray) -> tuple[np.ndarray, int]:
    """Label blobs, treating fragments a few pixels apart (a thin stroke broken by blur
    or thresholding) as one group; each group's labels cover only its real ink pixels."""
    reach = max(1, min(mask.shape) // 64)
    grouped, count = ndimage.label(ndimage.binary_dilation(mask, iterations=reach), structure=np.ones((3, 3)))
    return grouped * mask, count


def _ruled_lines(ink: np.ndarray, labels: np.ndarray, masses: np.ndarray) -> np.ndarray:
    """Labels of form-box borders and underlines: long, thin, straight blobs beside the rest of the ink.

    A straight stroke that overlaps the rest's span is part of the digit, and so is every stroke
    when all of them are straight (a 1, or a 7 whose bar came apart). Lines are dropped only when
    the other ink is of some size (a thin or faint digit weighs far less than a bold line, and may
    be in pieces).
    """
    indices = np.arange(1, len(masses) + 1)
    boxes = ndimage.find_objects(labels)
    substantial = indices[masses >= LINE_FRAGMENT_SHARE * masses.max()]
    heavy = indices[masses >= MIN_SPECK_FRACTION * masses.max()]

    def straight(index: int) -> bool:
        return _is_straight_line(_blob_ink(ink, labels, boxes, index))

    # Position first: it is cheap, and most pictures have no blob beside the rest of the ink.
    lines = np.array([index for index in heavy if _beside(boxes, index, substantial) and straight(index)], dtype=int)
    if lines.size == 0 or all(straight(index) for index in np.setdiff1d(substantial, lines)):
        return lines[:0]  # no line, or only straight strokes: a 1, or a 7 whose bar came apart
    others = np.setdiff1d(indices, lines)
    pieces = others[masses[others - 1] >= LINE_FRAGMENT_SHARE * masses[lines - 1].max()]
    if pieces.size == 0 or _extent(boxes, pieces) < RULED_LINE_DIGIT_EXTENT * _extent(boxes, lines):
        return lines[:0]
    return lines


def _beside(boxes: list, label: int, labels: np.ndarray) -> bool:
    """Whether an upright blob lies left or right of the other blobs (a flat one above or below)."""
    rest = [boxes[other - 1] for other in labels if other != label]
    if not rest:
        return False
    box = boxes[label - 1]
    across = 1 if box[0].stop - box[0].start >= box[1].stop - box[1].start else 0
    start, stop = min(other[across].start for other in rest), max(other[across].stop for other in rest)
    return box[across].stop <= start or box[across].start >= stop


def _extent(boxes: list, labels: np.ndarray) -> int:
    """The longer side of the box around these blobs."""
    chosen = [boxes[label - 1] for label in labels]
    height = max(box[0].stop for box in chosen) - min(box[0].start for box in chosen)
    width = max(box[1].stop for box in chosen) - min(box[1].start for box in chosen)
    return max(height, width)


def _blob_ink(ink: np.ndarray, labels: np.ndarray, boxes: list, label: int) -> np.ndarray:
    box = boxes[label - 1]
    return ink[box] * (labels[box] == label)


def _is_straight_line(component: np.ndarray) -> bool:
    """Whether a blob's ink (or mask; zero elsewhere) is long and thin; weighted by the ink, so
    that a rim of blur does not make a line look thick."""
    rows, cols = np.nonzero(component)
    if len(rows) < 8:
        return False
    weights = component[rows, cols].astype(np.float64)
    spread = np.cov(np.stack([rows, cols]).astype(np.float64), aweights=weights) + np.eye(2) / 12  # + a pixel's extent
    smallest, largest = np.linalg.eigvalsh(spread)
    return largest >= RULED_LINE_ELONGATION**2 * smallest


def _frame_like_mnist(ink: np.ndarray) -> np.ndarray:
    height, width = ink.shape
    scale = BOX_SIZE / max(height, width)
    new_size = (max(1, round(width * scale)), max(1, round(height * scale)))
    resample = Image.Resampling.BOX if scale < 1 else Image.Resampling.BILINEAR
    scaled = np.asarray(Image.fromarray(ink.astype(np.float32), mode="F").resize(new_size, resample))
    scaled = np.clip(scaled / max(float(scaled.max()), 1e-6), 0.0, 1.0)
    return _centre_by_mass(scaled)


def _centre_by_mass(digit: np.ndarray) -> np.ndarray:
    height, width = digit.shape
    centre_row, centre_col = ndimage.center_of_mass(digit)
    top = _clamp(round(INPUT_SIZE / 2 - centre_row), 0, INPUT_SIZE - height)
    left = _clamp(round(INPUT_SIZE / 2 - centre_col), 0, INPUT_SIZE - width)
    frame = np.zeros((INPUT_SIZE, INPUT_SIZE), dtype=np.float32)
    frame[top : top + height, left : left + width] = digit
    return frame


def _clamp(value: int, low: int, high: int) -> int:
    return max(low, min(high, value))
