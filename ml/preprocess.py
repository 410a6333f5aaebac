"""Turn an uploaded image of one digit into the 28x28 network input.

The input is the picture itself, barely touched: bright where a pixel's colour is far from the
background's, trimmed of empty margins, fitted into the frame. Every training picture goes through
`to_network_input` too, so the network learns what real captures hold (frames, slivers of the
neighbouring digits, unlit segments, lines, grain) instead of rules guessing it. `to_line_input` does the same for
a line of characters, for the line reader.
"""

from __future__ import annotations

import io
import re
import struct
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property, lru_cache
from typing import BinaryIO

import numpy as np
from PIL import Image, ImageOps

INPUT_SIZE = 28
FIT_SIZE = 24  # the trimmed picture's longer side in the frame
INK_BOX_SPILL = 0.02  # share of the ink (specks, a far stray mark) the trimmed box may leave out
INK_BOX_MARGIN = 0.08  # of the box's side, kept around it
WORKING_SIDE = 256  # bigger images are box-downscaled to about this before any work
LINE_HEIGHT, LINE_WIDTH = 32, 256  # the line reader's input
LINE_FIT_HEIGHT = 28  # a line's height in it, unless the line is too long for its width
LINE_WORKING_SIDE = 1024  # a line of 16 characters keeps its strokes
# A line's ink is smoothed (a Gaussian of this many pixels of the line reader's frame) before it is fitted
# there. The seventh reader, trained without it, read more of every real line set with it (captcha
# validation part 94.17 -> 95.67% with the second look; 0.5 lost strips and captchas): real captchas
# are grainier, real cheques more detailed than generated ones. Readers since the eighth are trained with it. See
# docs/model-history.md, "Eighth line reader".
LINE_SMOOTHING = 0.3
MIN_CONTRAST = 16.0  # ink must differ from the background by this many grey levels (of 255)
MIN_INK_OVER_GRAIN = 4.0  # ink over the pixel-to-pixel grain (pure noise reaches 2.6-3.8)
# A picture with a side shorter than this is not held to MIN_INK_OVER_GRAIN: its strokes' edges, not its
# grain, make most of its neighbour steps, and legible digits 5 to 10 pixels wide were refused as blank.
GRAIN_MIN_SIDE = 16
BACKGROUND_REFITS = 2
BACKGROUND_SAMPLES = 400  # border pixels the plane is fitted to, at most about
# A border colour covering less of a line's picture than this may be a frame's (see `_background_inside_any_frame`).
FRAMED_SHARE = 0.5
# In a framed line picture, a side whose outer band (FRAME_SIDE_DEPTH of the inset) holds ink over at least
# FRAME_SIDE_COVER of its length is the frame's outline, and its ink is cleared (see `_without_frame_sides`).
FRAME_SIDE_COVER = 0.8
FRAME_SIDE_DEPTH = 0.5
BLANK_IMAGE = "blank image: no ink found"
RIDGE = 1e-6 * np.eye(3)  # keeps the background plane's fit solvable on a degenerate border


# The formats read: the raster formats cameras, scanners, browsers and image tools write. Not the rare ones,
# whose headers Pillow may parse slowly (an EPS header is read a byte at a time: 10 MiB took 5.7 s) or
# whose pictures need another program (EPS, WMF).
IMAGE_FORMATS = (
    "PNG",
    "JPEG",
    "GIF",
    "BMP",
    "TIFF",
    "WEBP",
    "AVIF",
    "JPEG2000",
    "ICO",
    "PPM",
    "TGA",
    "PCX",
    "QOI",
    "SGI",
    "PSD",
)
# Pillow keeps a few pointers per row: a 1 x 25,000,000 picture, within the pixel limit, took 431 MB to open
# and up to 789 MB to convert, where a 5,000 x 5,000 one takes 50.
MAX_SIDE = 32_768
# Each scan of a JPEG is a pass over the whole picture (15 ms at 5000 x 5000), and nothing bounds their number:
# a 10 MiB file can hold 90,000 (22 minutes to decode). Progressive JPEGs hold about 10.
MAX_JPEG_SCANS = 100


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
    if max(width, height) > MAX_SIDE:
        raise ImageError(f"image too large: {width} x {height} pixels (at most {MAX_SIDE} a side)")
    if image.format in ("JPEG", "MPO") and (scans := _jpeg_scans(stream)) > MAX_JPEG_SCANS:
        raise ImageError(f"corrupt image: a JPEG of {scans} scans (at most {MAX_JPEG_SCANS} are read)")
    try:
        image.seek(0)
        image.load()
        image = ImageOps.exif_transpose(image)
        image.load()
    except Image.DecompressionBombError as error:
        raise ImageError(_bomb_reason(error, max_pixels)) from error
    except DECODER_ERRORS as error:
        raise ImageError(f"corrupt image: {error}") from error
    if image.mode == "F" and not np.isfinite(np.asarray(image)).all():
        raise ImageError("corrupt image: pixel values that are not numbers (NaN or infinity)")
    return image


def _jpeg_scans(stream: BinaryIO) -> int:
    """The number of scans (start-of-scan markers: in a JPEG's compressed data a 0xFF byte is always
    followed by 0x00 or a restart marker, so they cannot occur by chance)."""
    position, count, carried = stream.tell(), 0, b""
    stream.seek(0)
    while block := stream.read(1 << 20):
        count += (carried + block).count(b"\xff\xda")
        carried = block[-1:]
    stream.seek(position)
    return count


def _open_header(stream: BinaryIO, max_pixels: int) -> Image.Image:
    """Image.open only parses the header; turn every failure into an ImageError."""
    with warnings.catch_warnings():
        # Pillow's own global bomb check is a warning below 2x its limit; ours is the real one.
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        try:
            return Image.open(stream, formats=IMAGE_FORMATS)
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


def to_network_input(image: Image.Image, one_polarity: bool = False) -> np.ndarray:
    """float32 (28, 28) in [0, 1]: how far each pixel's colour is from the picture's background
    colour, the picture trimmed of empty margins and fitted, aspect kept, into the frame.

    Deliberately little else: frames, neighbours' slivers, unlit segments, lines, grain and glare
    stay in the picture, and the network learns to look past them from its training pictures
    (which all go through this function too). Hand-made rules that cut such clutter away were
    tuned on our own pictures and broke real captures.

    With `one_polarity`, only the pixels on the side of the background (lighter or darker) holding most
    of the ink count: the input of the second look at a doubtful digit (`ml.reading`), where a light frame
    round a dark digit, or glare on it, no longer does."""
    pixels = _as_float_pixels(_shrink(image))
    differences = _differences_from(pixels, _background_plane(pixels))
    distance = _lengths(differences)
    ink = _stretched(distance)
    if one_polarity:
        lighter = sum(differences) > 0  # the pixel's channels summed, above the background's
        ink = _stretched(_one_polarity(distance, lighter, ink))
    return _fitted_in_frame(ink[_ink_box(ink)], (INPUT_SIZE, INPUT_SIZE), (FIT_SIZE, FIT_SIZE))


def digit_picture(image: Image.Image) -> Image.Image:
    """The picture `to_network_input` works on (shrunk to about WORKING_SIDE, once: shrinking it again
    changes nothing), kept for a second look at a doubtful digit."""
    return _shrink(image)


def to_line_input(image: Image.Image) -> np.ndarray:
    """float32 (LINE_HEIGHT, LINE_WIDTH) in [0, 1]: a line of characters as `to_network_input` sees
    a digit, fitted (aspect kept) into the line reader's frame."""
    return line_input(image)[0]


@dataclass(frozen=True)
class LinePlacement:
    """Where the line input came from in the picture: its column u shows picture x = x_offset + u * x_step,
    and the line's ink spans picture rows top to bottom."""

    x_offset: float
    x_step: float
    top: int
    bottom: int

    def box(self, first_column: float, last_column: float) -> list[int]:
        """[left, top, right, bottom] in picture pixels of the input's columns first..last."""
        left, right = self.x_offset + first_column * self.x_step, self.x_offset + (last_column + 1) * self.x_step
        return [round(left), self.top, round(right), self.bottom]


@dataclass(frozen=True)
class LinePicture:
    """A picture as a line's reading needs it: shrunk to at most about LINE_WORKING_SIDE (a chunk of full-size
    photos kept for the second looks would not fit in a worker's memory), and how many of the picture's
    pixels one of its pixels spans (characters' boxes stay in the picture's pixels)."""

    picture: Image.Image
    factor: float

    @property
    def width(self) -> int:
        """In the picture's pixels."""
        return round(self.picture.width * self.factor)

    def columns(self, left: float, right: float) -> Image.Image:
        """The picture's columns left to right (in the picture's pixels), all its rows."""
        return self.picture.crop((left / self.factor, 0, right / self.factor, self.picture.height))


def line_picture(image: Image.Image) -> LinePicture:
    """The picture shrunk as the line reader reads it (`_shrink` to LINE_WORKING_SIDE), with its scale."""
    image = _to_workable_mode(image)
    shrunk = _shrink(image, LINE_WORKING_SIDE)
    return LinePicture(shrunk, image.width / shrunk.width)


@dataclass(frozen=True)
class LineInk:
    """A line's picture as ink in [0, 1] (`line_ink`), from which its line reader inputs are cut: the first
    look's and a closer one's (`ml.reading.look_closer`) come from one computation of the ink."""

    ink: np.ndarray
    source: LinePicture  # the picture the ink was computed from, one ink pixel a pixel of it

    def input(self, row_spill: float = INK_BOX_SPILL, squeeze: float = 1.0) -> tuple[np.ndarray, LinePlacement]:
        """`to_line_input` and where its columns came from (to give each character a box). A larger
        `row_spill` leaves more of the ink's rows out of the box; a `squeeze` under 1 narrows the line by it."""
        rows, cols = self.box if row_spill == INK_BOX_SPILL else _ink_box(self.ink, row_spill)
        frame, fit = (LINE_HEIGHT, LINE_WIDTH), (LINE_FIT_HEIGHT, LINE_WIDTH - 4)
        scale, _, left = _placement((rows.stop - rows.start, (cols.stop - cols.start) * squeeze), frame, fit)
        factor = self.source.factor
        placement = LinePlacement(
            x_offset=factor * (cols.start - left / (scale * squeeze)),
            x_step=factor / (scale * squeeze),
            top=round(factor * rows.start),
            bottom=round(factor * rows.stop),
        )
        smoothed = _smoothed_box(self.ink, (rows, cols), LINE_SMOOTHING / scale)
        return _fitted_in_frame(smoothed, frame, fit, squeeze), placement

    @cached_property
    def box(self) -> tuple[slice, slice]:
        """The first look's ink box (`_ink_box`), found once for its input and its width."""
        return _ink_box(self.ink)

    def width_per_height(self) -> float:
        """The first look's ink box, its width over its height."""
        rows, cols = self.box
        return (cols.stop - cols.start) / (rows.stop - rows.start)


def line_ink(image: Image.Image | LinePicture) -> LineInk:
    """The picture shrunk to at most about LINE_WORKING_SIDE (`line_picture`, unless it is one already),
    each pixel's distance from the background stretched to [0, 1]; ImageError when it shows no ink."""
    source = image if isinstance(image, LinePicture) else line_picture(image)
    pixels = _as_float_pixels(source.picture)
    background, inset = _background_inside_any_frame(pixels)
    ink = _stretched(_distance_from(pixels, background, inset), inset)
    return LineInk(_without_frame_sides(ink, inset), source)


def line_input(image: Image.Image, row_spill: float = INK_BOX_SPILL) -> tuple[np.ndarray, LinePlacement]:
    """`line_ink(image).input(row_spill)`: the line reader's input and its placement."""
    return line_ink(image).input(row_spill)


def _smoothed_box(values: np.ndarray, box: tuple[slice, slice], sigma: float) -> np.ndarray:
    """`values[box]` as `_smoothed(values, sigma)` gives it, smoothing only the box and the kernel's reach
    around it (a small line in a large photo leaves most of the picture out)."""
    reach = _kernel_radius(sigma)
    outer = tuple(
        slice(max(0, part.start - reach), min(size, part.stop + reach)) for part, size in zip(box, values.shape)
    )
    inner = tuple(slice(part.start - around.start, part.stop - around.start) for part, around in zip(box, outer))
    return _smoothed(values[outer], sigma)[inner]


def _kernel_radius(sigma: float) -> int:
    return max(1, int(4 * sigma + 0.5))


def _smoothed(values: np.ndarray, sigma: float) -> np.ndarray:
    """A Gaussian blur of `sigma` pixels, one axis after the other, edges mirrored (as scipy's
    `gaussian_filter`, which the inference path does not import)."""
    radius = _kernel_radius(sigma)
    kernel = np.exp(-0.5 * (np.arange(-radius, radius + 1) / sigma) ** 2)
    kernel = (kernel / kernel.sum()).astype(np.float32)
    for axis in (0, 1):
        rows = np.moveaxis(values, axis, 0)
        padded = rows[_mirrored_indices(len(rows), radius)]
        blurred = kernel[0] * padded[: len(rows)]
        for offset in range(1, len(kernel)):
            blurred += kernel[offset] * padded[offset : offset + len(rows)]
        values = np.moveaxis(blurred, 0, axis)
    return values


@lru_cache(maxsize=4096)
def _mirrored_indices(length: int, radius: int) -> np.ndarray:
    """Indices of `length` rows with `radius` more mirrored at each end, edge rows repeated (as
    `np.pad(mode="symmetric")`, which cost more than the blur itself on lines this small)."""
    positions = np.arange(-radius, length + radius) % (2 * length)
    indices = np.where(positions < length, positions, 2 * length - 1 - positions)
    indices.flags.writeable = False  # shared by every picture of this size
    return indices


def _distance_from(pixels: np.ndarray, plane: np.ndarray, inset: int = 0, step: int = 1) -> np.ndarray:
    """How far the colour of every `step`-th pixel (in rows and columns) is from the background `plane`'s
    there (`_background_plane`, fitted `inset` pixels in): ink of either polarity and of any hue comes out
    bright (an orange digit on brown keeps its contrast, which grey would lose). Channel by channel: numpy's
    arithmetic along an axis of three (colours broadcast, summed) cost five to nine times as much, for the
    same figures."""
    return _lengths(_differences_from(pixels, plane, inset, step))


def _lengths(channels: Sequence[np.ndarray]) -> np.ndarray:
    """The length of the vectors whose components are the `channels` (arrays of one shape), summed channel
    by channel."""
    if len(channels) == 1:
        return np.abs(channels[0])
    squares = np.square(channels[0])
    for channel in channels[1:]:
        squares += np.square(channel)
    return np.sqrt(squares)


def _differences_from(pixels: np.ndarray, plane: np.ndarray, inset: int = 0, step: int = 1) -> list[np.ndarray]:
    """Each channel of every `step`-th pixel less the background `plane` there (fitted `inset` pixels in)."""
    full_height, full_width, channels = pixels.shape
    height, width = full_height - 2 * inset, full_width - 2 * inset
    across = ((np.arange(0, full_width, step, dtype=np.float32) - inset) / width - 0.5)[:, None] * plane[1]
    down = ((np.arange(0, full_height, step, dtype=np.float32) - inset) / height - 0.5)[:, None] * plane[2]
    grid = pixels[::step, ::step]
    return [
        grid[:, :, channel] - ((level + across[:, channel])[None, :] + down[:, channel, None])
        for channel, level in enumerate(plane[0])
    ]


def _one_polarity(distance: np.ndarray, lighter: np.ndarray, ink: np.ndarray) -> np.ndarray:
    """The distance where pixels are on the side of the background (lighter or darker) holding most of the
    `ink` (the distance stretched, the background's own variation at 0), 0 elsewhere."""
    lighter_share = float(ink[lighter].sum()) / max(float(ink.sum()), 1e-6)
    return np.where(lighter == (lighter_share > 0.5), distance, np.float32(0.0))


def _background_inside_any_frame(pixels: np.ndarray) -> tuple[np.ndarray, int]:
    """(`_background_plane`, 0), unless the picture's border is a frame: a thin outline (a box drawn around a
    web form's field or a captcha) whose colour covers little of the picture. Then the background is fitted
    to the band `inset` pixels further in, if more of the picture is near that colour: (that, inset).
    Without this, the frame's colour was taken for the background, and the box's whole inside for ink: 4-digit
    boxes crossed by thin lines (`bench.ocr_numbers`, `crossed`) read 53.8% -> 75.3% with the tenth reader
    (docs/model-history.md, "A frame is not the background"). Lines only: the digit network was trained
    without it."""
    outer = _background_plane(pixels)
    outer_share = _share_near(pixels, outer)
    height, width = pixels.shape[:2]
    inset = max(2, min(height, width) // 8)
    if outer_share >= FRAMED_SHARE or min(height, width) <= 4 * inset:
        return outer, 0
    inner = _background_plane(pixels, inset)
    return (inner, inset) if _share_near(pixels, inner, inset) > outer_share else (outer, 0)


def _without_frame_sides(ink: np.ndarray, inset: int) -> np.ndarray:
    """The ink of a framed picture (`inset` > 0, `_background_inside_any_frame`) with each side of its outline
    cleared: a side whose outer band, FRAME_SIDE_DEPTH of the inset deep, holds ink (at least half the strongest)
    along FRAME_SIDE_COVER of its length. Left in, the outline widened the line's ink box to the whole picture,
    shrinking its digits in the reader's frame, and its sides were read as 1s. Chosen on development sets:
    `crossed` boxes (600, seed 5151) 463 -> 512 lines right, LCD meter readings 90 -> 93 of 240, cheques 713 ->
    719, no set losing more than a line (docs/model-history.md, "A frame's outline cleared from the line's
    ink")."""
    if not inset:
        return ink
    depth = max(1, round(FRAME_SIDE_DEPTH * inset))
    for side in (ink, ink[::-1], ink.T, ink.T[::-1]):  # views of the top, bottom, left and right
        band = side[:depth]
        if np.mean(band.max(axis=0) >= 0.5) >= FRAME_SIDE_COVER:
            band[:] = 0.0
    return ink


def _share_near(pixels: np.ndarray, plane: np.ndarray, inset: int = 0) -> float:
    """The share of the picture's pixels (on a grid of about a thousand) within MIN_CONTRAST of the
    background `plane` (fitted `inset` pixels in)."""
    step = max(1, int(np.sqrt(pixels.shape[0] * pixels.shape[1] / 1000)))
    return float((_distance_from(pixels, plane, inset, step) < MIN_CONTRAST).mean())


def _background_plane(pixels: np.ndarray, inset: int = 0) -> np.ndarray:
    """The background's colour as a plane per channel (light falling off across a photo), (3, channels):
    fitted to the picture's border (`inset` pixels in), starting from its median colour and refitted on the
    border pixels near the fit, so that ink, a window's bright edge or a neighbour's sliver crossing the
    border does not tilt it. Measured with the network trained on the border's median colour
    alone: held-out printed fonts 98.68% -> 99.26%, generated captures 95.23% -> 96.10%."""
    full_height, full_width, channels = pixels.shape
    inside = pixels[inset : full_height - inset, inset : full_width - inset]
    samples, terms = _border_samples(*inside.shape[:2])
    border = inside.reshape(-1, channels)[samples].astype(np.float64)
    plane = np.zeros((3, channels))
    plane[0] = _quantile(border, 0.5)
    for _ in range(BACKGROUND_REFITS):
        misfit = _lengths(list((terms @ plane - border).T))
        near_terms = terms * (misfit <= max(2.5 * _quantile(misfit, 0.5), MIN_CONTRAST / 4))[:, None]
        plane = np.linalg.solve(near_terms.T @ terms + RIDGE, near_terms.T @ border)
    return plane.astype(np.float32)


def _quantile(values: np.ndarray, q: float):
    """np.quantile's default (linear) method along the first axis, without its per-call overhead,
    which cost more than the sort itself on pictures this small."""
    position = (len(values) - 1) * q
    low = int(position)
    high = min(low + 1, len(values) - 1)
    ordered = np.partition(values, (low, high), axis=0)
    fraction = position - low
    return ordered[low] + (ordered[high] - ordered[low]) * fraction


@lru_cache(maxsize=4096)
def _border_samples(height: int, width: int) -> tuple[np.ndarray, np.ndarray]:
    """About BACKGROUND_SAMPLES pixels of the border (flat indices) and their plane terms
    (1, x, y), the same for every picture of this size."""
    samples = _border_indices(height, width)
    samples = samples[:: max(1, len(samples) // BACKGROUND_SAMPLES)].copy()  # not a view keeping all alive
    rows, columns = np.divmod(samples, width)
    terms = np.stack([np.ones(len(samples)), columns / width - 0.5, rows / height - 0.5], axis=1)
    samples.flags.writeable = terms.flags.writeable = False  # shared by every picture of this size
    return samples, terms


def _stretched(distance: np.ndarray, inset: int = 0) -> np.ndarray:
    """Background at 0, the strongest ink (ignoring a few hot pixels) at 1; ImageError when
    nothing stands out of the background's own variation (measured on the border `inset` pixels in)."""
    height, width = distance.shape
    floor, peak = _border_noise(distance[inset : height - inset, inset : width - inset]), _ink_peak(distance)
    if peak - floor < MIN_CONTRAST or _within_grain(peak - floor, distance):
        raise ImageError(BLANK_IMAGE)
    return np.clip((distance - floor) / (peak - floor), 0.0, 1.0)


def _within_grain(contrast: float, distance: np.ndarray) -> bool:
    """Whether the ink's contrast is less than MIN_INK_OVER_GRAIN times the grain: the spread of
    pixel-to-pixel noise, the median step between neighbours (a smooth lighting gradient adds nothing
    to it). A median is at most twice the mean (2.001: a margin for rounding), so a contrast beyond that
    bound needs no median. Never in a picture with a side under GRAIN_MIN_SIDE, where the steps are mostly
    the strokes' edges."""
    if min(distance.shape) < GRAIN_MIN_SIDE:
        return False
    steps = np.abs(distance[:, 1:] - distance[:, :-1])
    if not steps.size or contrast >= MIN_INK_OVER_GRAIN * 2.001 * float(steps.mean(dtype=np.float64)):
        return False
    return contrast < MIN_INK_OVER_GRAIN * float(_quantile(steps.ravel(), 0.5))


def _ink_box(ink: np.ndarray, row_spill: float = INK_BOX_SPILL) -> tuple[slice, slice]:
    """The rows holding all but `row_spill` of the ink and the columns holding all but INK_BOX_SPILL, plus
    a margin: empty margins go, a few specks do not stretch the box."""
    return _ink_span(ink.sum(axis=1), row_spill), _ink_span(ink.sum(axis=0), INK_BOX_SPILL)


def _ink_span(profile: np.ndarray, spill: float) -> slice:
    cumulative = np.cumsum(profile) / max(float(profile.sum()), 1e-6)
    first = int(np.searchsorted(cumulative, spill / 2))
    last = int(np.searchsorted(cumulative, 1 - spill / 2))
    margin = round(INK_BOX_MARGIN * (last - first + 1))
    return slice(max(0, first - margin), min(len(profile), last + 1 + margin))


def _fitted_in_frame(ink: np.ndarray, frame: tuple[int, int], fit: tuple[int, int], squeeze: float = 1.0) -> np.ndarray:
    """Scale the picture (aspect kept, its width times `squeeze`) to fit the `fit` box, (height, width),
    centred in `frame`."""
    height, width = ink.shape
    scale, top, left = _placement((height, width * squeeze), frame, fit)
    new_width, new_height = max(1, round(width * squeeze * scale)), max(1, round(height * scale))
    resample = Image.Resampling.BOX if scale < 1 else Image.Resampling.BILINEAR
    picture = Image.fromarray(ink.astype(np.float32, copy=False), mode="F")
    scaled = np.asarray(picture.resize((new_width, new_height), resample))
    framed = np.zeros(frame, dtype=np.float32)
    framed[top : top + new_height, left : left + new_width] = np.clip(scaled / max(float(scaled.max()), 1e-6), 0, 1)
    return framed


def _placement(shape: tuple[int, int], frame: tuple[int, int], fit: tuple[int, int]) -> tuple[float, int, int]:
    """(scale, top, left) that fit a picture of this shape into `fit`, centred in `frame`."""
    height, width = shape
    scale = min(fit[0] / height, fit[1] / width)
    new_width, new_height = max(1, round(width * scale)), max(1, round(height * scale))
    return scale, (frame[0] - new_height) // 2, (frame[1] - new_width) // 2


def prepare(data: bytes | BinaryIO, *, max_pixels: int = 25_000_000) -> np.ndarray:
    return to_network_input(open_image(data, max_pixels=max_pixels))


def _shrink(image: Image.Image, working_side: int = WORKING_SIDE) -> Image.Image:
    image = _to_workable_mode(image)
    factor = max(image.size) // working_side
    return image.reduce(factor) if factor > 1 else image


def opaque(image: Image.Image) -> Image.Image:
    """The picture without transparency, as the reader sees it: transparent pixels on the backdrop
    `_flatten_alpha` chooses. Training reads copied pictures through this, as the service reads uploads."""
    image = _to_workable_mode(image)
    return _eight_bit_pixels(image) if image.mode in ("LA", "RGBA") else image


def eight_bit(image: Image.Image) -> Image.Image:
    """The picture as `opaque` gives it, in 8 bits a channel (L or RGB), as PNG can store it."""
    image = opaque(image)
    return _eight_bit_pixels(image) if image.mode == "F" else image


def _eight_bit_pixels(image: Image.Image) -> Image.Image:
    """An LA, RGBA or F picture as `_as_float_pixels` sees it, rounded into an L or RGB picture."""
    pixels = np.clip(np.round(_as_float_pixels(image)), 0, 255).astype(np.uint8)
    return Image.fromarray(pixels[:, :, 0], mode="L") if pixels.shape[2] == 1 else Image.fromarray(pixels, mode="RGB")


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
    # float32 rounding can put the top a hair over 255, which would read as another white level (4095)
    return Image.fromarray(np.minimum(values * (255.0 / _full_scale(values)), 255.0), mode="F")


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


def _ink_peak(distance: np.ndarray) -> float:
    """A near-maximum ink distance that a few hot pixels cannot set on their own."""
    top = float(distance.max())
    return max(float(_quantile(distance.ravel(), 0.995)), 0.5 * top) if distance.size > 400 else top


def _border_depth(height: int, width: int) -> int:
    """The border's depth: a sixteenth of the shorter side."""
    return max(1, min(height, width) // 16)


def _border_indices(height: int, width: int) -> np.ndarray:
    """Flat indices, in row order, of the pixels within `_border_depth` of an edge."""
    depth = _border_depth(height, width)
    mask = np.zeros((height, width), dtype=bool)
    mask[:depth, :] = mask[-depth:, :] = True
    mask[:, :depth] = mask[:, -depth:] = True
    return np.flatnonzero(mask)


def _border_noise(distance: np.ndarray) -> float:
    """The background's own distance from its fitted colour: a low percentile of the border's, so that
    a digit filling a small crop (its strokes on much of the border) is not taken for noise. With the
    median instead: 5.6% of tightly cropped printed digits refused as blank (4.4% with this)."""
    return float(_quantile(_border_pixels(distance), 0.25))


def _border_pixels(values: np.ndarray) -> np.ndarray:
    """The values within `_border_depth` of an edge, each once (in no particular order): strips cut from
    the picture, not an index cached per picture size (a worker sees thousands of sizes, up to 8 MB each)."""
    depth = _border_depth(*values.shape)
    if 2 * depth >= min(values.shape):  # the border is the whole picture
        return values.ravel()
    sides = values[depth:-depth]
    return np.concatenate(
        [values[:depth].ravel(), values[-depth:].ravel(), sides[:, :depth].ravel(), sides[:, -depth:].ravel()]
    )
