"""One counter wheel of a mechanical meter (electricity, gas, water; odometers) seen through its window.

The picture is built at twice the stored size: a drum strip with the digit and its rolling neighbours,
bent by the drum's curvature, framed by the window's edges (with shadow, glass glare, dust and
sometimes a sliver of the next wheel), tilted slightly, then reduced and degraded like a camera crop.
"""

from __future__ import annotations

import math
from functools import lru_cache
from pathlib import Path
from typing import NamedTuple

import numpy as np
from PIL import Image, ImageFilter

from dataset import degrade, fonts
from dataset.printed import render_glyph

Rng = np.random.Generator

SCENE_HEIGHT = 64  # small pictures are drawn this tall (at most twice their size), then box-reduced
GLYPH_RENDER_SIZE = 64
MAX_ROLL = 0.3  # of the digit pitch: beyond it the neighbour would rival the labelled digit
MAX_CUT = 0.08  # of the digit's height that the window's edge may hide while rolling
WINDOW_FILL = 0.9  # the widest digit's share of the window's width, at most
NARROWEST_STRETCH = 0.6  # a wide font is squeezed this far before the digit is made smaller
MIN_LUMA_CONTRAST = 70  # grey levels between drum and digit: red on black must not vanish in grey
MIN_EDGE_LIGHT = 0.45  # of the drum's light that the labelled digit's ends keep in the curvature's shade
TILT_MARGIN = 0.06  # of the stored size, drawn around the picture so a tilt leaves no empty corners
DIM_DRUM_SHARE = 0.35  # light drums photographed in a dim room, grey rather than white
RED_SURROUND_SHARE = 0.25  # the red frame round a meter's decimal wheels
SKIPPED_STYLES = ("Italic", "Oblique", "Ita.", "Thin", "Hairline", "Light", "Z003")
CONDENSED_STYLES = ("Narrow", "Cond")
BOLD_STYLES = ("Bold", "Black", "Heavy", "Demi", "Semibold", "Medium")
SERIF_FAMILIES = ("C059", "FreeSerif", "LiberationSerif", "NimbusRoman", "P052", "URWBookman")


class Layout(NamedTuple):
    """Where things sit, in scene pixels (the stored picture's pixels times `scale`, plus margins)."""

    scale: float
    height: int  # of the scene canvas
    width: int
    window: tuple[float, float, float, float]  # top, bottom, left, right of the window opening
    corner_radius: float
    sliver_side: int  # -1 left, 1 right, 0 none: where a neighbouring wheel peeks in
    sliver_width: float
    margin: float  # drawn beyond the stored picture on every side


class Wheel(NamedTuple):
    drum: np.ndarray  # RGB of the drum's paint
    ink: np.ndarray  # RGB of the printed digits
    font: str
    glyph_height: float  # at the window's middle, in scene pixels
    glyph_stretch: float  # width / the font's own width
    pitch: float  # distance between digit centres along the drum
    roll: float  # how far the labelled digit has rolled up (negative: down), in drum pixels
    next_below: bool  # the usual counter: the next digit comes in from below
    half_angle: float  # radians of the drum visible above (and below) the window's middle
    shading: float  # exponent of the cosine that darkens the drum toward the window's top and bottom


def random_wheel_digit(rng: Rng, digit: int) -> Image.Image:
    """A camera crop of one counter wheel showing `digit` (possibly rolling between two digits)."""
    height = degrade.random_glyph_height(rng, 22, 140)
    width = max(12.0, height * rng.uniform(0.4, 0.8))
    layout = _random_layout(rng, height, width)
    wheel = _random_wheel(rng, layout)
    scene = _frame(rng, layout, wheel.drum)
    _paint_window(rng, scene, layout, wheel, digit)
    if layout.sliver_side:
        _paint_sliver(rng, scene, layout, wheel)
    _add_glare(rng, scene, layout)
    _add_dust(rng, scene)
    image = Image.fromarray(np.clip(scene, 0, 255).astype(np.uint8), mode="RGB")
    image = _tilted(rng, image) if rng.random() < 0.6 else image
    image = _cropped_and_reduced(image, layout, round(width), round(height))
    return _captured(rng, image, wheel, wheel.glyph_height / layout.scale)


# --- layout and the wheel's look -------------------------------------------------------------------


def _random_layout(rng: Rng, height: float, width: float) -> Layout:
    scale = min(2.0, max(1.0, SCENE_HEIGHT / height))
    margin = TILT_MARGIN * max(height, width) * scale
    inner_height, inner_width = height * scale, width * scale
    top, bottom = (_band(rng, 0.5, 0.14) * inner_height for _ in range(2))
    left, right = (_band(rng, 0.3, 0.25) * inner_width for _ in range(2))
    sliver_side = int(rng.choice([-1, 1])) if rng.random() < 0.2 else 0
    sliver_width = rng.uniform(0.05, 0.12) * inner_width
    if sliver_side < 0:
        left = max(left, 0.06 * inner_width) + sliver_width
    elif sliver_side > 0:
        right = max(right, 0.06 * inner_width) + sliver_width
    window = (margin + top, margin + inner_height - bottom, margin + left, margin + inner_width - right)
    radius = rng.uniform(0, 0.35) * (window[3] - window[2]) if rng.random() < 0.6 else 0.0
    canvas = (int(math.ceil(inner_height + 2 * margin)), int(math.ceil(inner_width + 2 * margin)))
    return Layout(scale, *canvas, window, radius, sliver_side, sliver_width, margin)


def _band(rng: Rng, share_without: float, widest: float) -> float:
    """A frame band's share of the picture: none (tight crop) or a visible edge."""
    return 0.0 if rng.random() < share_without else rng.uniform(0.02, widest)


def _random_wheel(rng: Rng, layout: Layout) -> Wheel:
    top, bottom, left, right = layout.window
    half_window = (bottom - top) / 2
    half_angle = math.radians(rng.uniform(35, 70))
    font = _random_font(rng)
    glyph_height, stretch = _fitted_glyph(
        font, rng.uniform(0.55, 0.82) * 2 * half_window, rng.uniform(0.7, 1.05), WINDOW_FILL * (right - left)
    )
    pitch = glyph_height * rng.uniform(1.25, 1.6)
    radius = half_window / math.sin(half_angle)
    at_rest = min(half_angle, 0.5 * glyph_height / radius)  # the digit's edge, in radians off the middle
    shading = rng.uniform(0.5, min(2.5, _shading_limit(at_rest)))
    # keep the labelled digit's edge inside the visible arc (but for MAX_CUT of it) and out of the dark
    edge = min(radius * half_angle + MAX_CUT * glyph_height, radius * math.acos(MIN_EDGE_LIGHT ** (1 / shading)))
    largest_roll = max(0.0, min(MAX_ROLL * pitch, edge - 0.5 * glyph_height))
    roll = rng.uniform(-1, 1) * (largest_roll if rng.random() < 0.5 else 0.06 * pitch)
    drum, ink = _wheel_colours(rng)
    return Wheel(
        drum=drum,
        ink=ink,
        font=font,
        glyph_height=glyph_height,
        glyph_stretch=stretch,
        pitch=pitch,
        roll=roll,
        next_below=rng.random() < 0.8,
        half_angle=half_angle,
        shading=shading,
    )


def _fitted_glyph(font: str, height: float, stretch: float, room: float) -> tuple[float, float]:
    """(glyph height, width stretch) narrowed, then shrunk, until the widest digit fits the window."""
    width_per_height = _widest_digit(font) / _digit_height(font)
    if height * width_per_height * stretch > room:
        stretch = max(NARROWEST_STRETCH, room / (height * width_per_height))
    return min(height, room / (width_per_height * stretch)), stretch


@lru_cache(maxsize=256)
def _widest_digit(font: str) -> int:
    return max(render_glyph(font, GLYPH_RENDER_SIZE, digit).shape[1] for digit in range(10))


def _shading_limit(angle: float) -> float:
    """The largest shading exponent that leaves MIN_EDGE_LIGHT of the light at this angle."""
    return math.log(MIN_EDGE_LIGHT) / math.log(max(math.cos(angle), 1e-3))


def _wheel_colours(rng: Rng) -> tuple[np.ndarray, np.ndarray]:
    """(drum, digit) colours: dark on light, white on black, and the red decimal wheels."""
    while True:
        light = rng.uniform(95 if rng.random() < DIM_DRUM_SHARE else 165, 245) + rng.uniform(-10, 10, 3)
        dark = rng.uniform(8, 60) + rng.uniform(-6, 6, 3)
        white = rng.uniform(195, 250) + rng.uniform(-6, 6, 3)
        red = np.array([rng.uniform(150, 220), rng.uniform(15, 55), rng.uniform(20, 60)])
        bright_red = np.array([rng.uniform(220, 255), rng.uniform(60, 110), rng.uniform(60, 100)])
        schemes = [(light, dark), (dark, white), (red, white), (light, red), (dark, bright_red)]
        drum, ink = schemes[rng.choice(len(schemes), p=[0.47, 0.25, 0.14, 0.08, 0.06])]
        drum, ink = np.clip(drum, 0, 255), np.clip(ink, 0, 255)
        if abs(degrade._luma(drum) - degrade._luma(ink)) >= MIN_LUMA_CONTRAST:  # readable in grey, too
            return drum, ink


@lru_cache(maxsize=1)
def _weighted_fonts() -> tuple[list[str], np.ndarray]:
    """Training fonts, upright and not hairline; condensed and bold sans weigh most, as on meters."""
    paths = [path for path in fonts.font_paths(fonts.split_families()[0]) if not _skipped(Path(path).name)]
    weights = np.array([_font_weight(Path(path).name) for path in paths])
    return paths, weights / weights.sum()


def _skipped(name: str) -> bool:
    return any(style in name for style in SKIPPED_STYLES)


def _font_weight(name: str) -> float:
    if name.startswith(SERIF_FAMILIES):
        return 0.6
    if any(style in name for style in CONDENSED_STYLES):
        return 4.0
    return 2.0 if any(style in name for style in BOLD_STYLES) else 1.0


def _random_font(rng: Rng) -> str:
    paths, weights = _weighted_fonts()
    return paths[rng.choice(len(paths), p=weights)]


# --- the scene -----------------------------------------------------------------------------------


def _frame(rng: Rng, layout: Layout, drum: np.ndarray) -> np.ndarray:
    """The meter's face around the window: black plastic, metal, a light face plate or a red surround."""
    roll = rng.random()
    if roll < 0.4:
        colour = rng.uniform(10, 60) + rng.uniform(-5, 5, 3)
    elif roll < 0.65:
        colour = rng.uniform(90, 180) + rng.uniform(-8, 8, 3)
    elif roll < 1 - RED_SURROUND_SHARE:
        colour = rng.uniform(170, 230) + rng.uniform(-8, 12, 3)
    else:
        colour = drum if drum[0] > drum[1] + 60 else np.array([rng.uniform(130, 200), 30.0, 35.0])
    scene = np.empty((layout.height, layout.width, 3), np.float32)
    scene[:] = colour
    if rng.random() < 0.3:  # brushed metal or moulded plastic
        scene += degrade._texture(rng, layout.height, layout.width)[:, :, None] * 0.6
    return scene


def _window_opening(layout: Layout, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """Soft (anti-aliased) mask of the rounded-rectangle opening, 1 inside."""
    top, bottom, left, right = layout.window
    radius = layout.corner_radius
    dy = np.maximum(np.maximum(top + radius - rows, rows - (bottom - radius)), 0)
    dx = np.maximum(np.maximum(left + radius - cols, cols - (right - radius)), 0)
    outside = np.hypot(dy, dx) - radius
    return np.clip(0.5 - outside, 0, 1).astype(np.float32)


def _paint_window(rng: Rng, scene: np.ndarray, layout: Layout, wheel: Wheel, digit: int) -> None:
    top, bottom, left, right = layout.window
    row_slice, col_slice = slice(int(top), int(math.ceil(bottom))), slice(int(left), int(math.ceil(right)))
    rows = np.arange(row_slice.start, row_slice.stop, dtype=np.float32)[:, None] + 0.5
    cols = np.arange(col_slice.start, col_slice.stop, dtype=np.float32)[None, :] + 0.5
    middle = (top + bottom) / 2
    drum = _drum_picture(rng, wheel, digit, rows[:, 0] - middle, cols.shape[1], (left + right) / 2 - col_slice.start)
    drum *= _inner_shadow(rng, layout, rows, cols)[:, :, None]
    opening = _window_opening(layout, rows, cols)[:, :, None]
    region = scene[row_slice, col_slice]
    region[:] = region * (1 - opening) + drum * opening


def _drum_picture(rng: Rng, wheel: Wheel, digit: int, heights: np.ndarray, width: int, centre_col: float) -> np.ndarray:
    """RGB of the drum for rows at `heights` from the window's middle: the strip of digits wrapped
    round a cylinder (compressed toward the top and bottom) and shaded darker there."""
    radius = float(np.abs(heights).max()) / math.sin(wheel.half_angle)
    angles = np.arcsin(np.clip(heights / radius, -1, 1))
    positions = angles * radius + wheel.roll  # along the drum's surface, from the labelled digit's centre
    ink = _strip_ink(wheel, digit, positions, width, centre_col)
    picture = wheel.drum * (1 - ink[:, :, None]) + wheel.ink * ink[:, :, None]
    shading = np.cos(angles) ** wheel.shading
    return (picture * shading[:, None, None]).astype(np.float32)


def _strip_ink(wheel: Wheel, digit: int, positions: np.ndarray, width: int, centre_col: float) -> np.ndarray:
    """Ink coverage (rows x width) of the digits printed along the drum at those surface positions."""
    ink = np.zeros((positions.size, width), np.float32)
    above, below = (digit - 1) % 10, (digit + 1) % 10
    if not wheel.next_below:
        above, below = below, above
    scale = wheel.glyph_height / _digit_height(wheel.font)
    for shown, centre in ((above, -wheel.pitch), (digit, 0.0), (below, wheel.pitch)):
        glyph = render_glyph(wheel.font, GLYPH_RENDER_SIZE, shown)
        glyph_rows = (positions - centre) / scale + (glyph.shape[0] - 1) / 2
        inside = (glyph_rows >= 0) & (glyph_rows <= glyph.shape[0] - 1)
        if inside.any():
            sampled = _glyph_rows(glyph, glyph_rows[inside], round(glyph.shape[1] * scale * wheel.glyph_stretch))
            start = int(round(centre_col - sampled.shape[1] / 2))
            _add_clipped_columns(ink, np.flatnonzero(inside), sampled, start)
    return np.clip(ink, 0, 1)


def _glyph_rows(glyph: np.ndarray, rows: np.ndarray, width: int) -> np.ndarray:
    """The glyph's rows at fractional positions (linear), resized to `width` columns."""
    lower = np.minimum(rows.astype(int), glyph.shape[0] - 2)
    fraction = (rows - lower)[:, None]
    sampled = glyph[lower] * (1 - fraction) + glyph[lower + 1] * fraction
    size = (max(1, width), sampled.shape[0])
    return np.asarray(Image.fromarray(sampled.astype(np.float32), mode="F").resize(size, Image.Resampling.BILINEAR))


@lru_cache(maxsize=256)
def _digit_height(font: str) -> int:
    """The font's 0 height: every digit is scaled alike, so a 1 stays as tall as its neighbours."""
    return render_glyph(font, GLYPH_RENDER_SIZE, 0).shape[0]


def _add_clipped_columns(ink: np.ndarray, rows: np.ndarray, sampled: np.ndarray, start: int) -> None:
    first, last = max(0, start), min(ink.shape[1], start + sampled.shape[1])
    if first < last:
        ink[rows, first:last] += sampled[:, first - start : last - start]


def _inner_shadow(rng: Rng, layout: Layout, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """The window's edge shades the drum below (or beside) it: light falls in from above at an angle."""
    top, bottom, left, right = layout.window
    depth = rng.uniform(0.04, 0.25) * (bottom - top)
    strength = rng.uniform(0.15, 0.6) if rng.random() < 0.7 else 0.0
    from_top = np.exp(-(rows - top) / depth)
    side_edge = cols - left if rng.random() < 0.5 else right - cols
    from_side = np.exp(-side_edge / depth) * rng.uniform(0, 1)
    return 1 - strength * np.clip(from_top + from_side, 0, 1)


def _paint_sliver(rng: Rng, scene: np.ndarray, layout: Layout, wheel: Wheel) -> None:
    """The edge of the neighbouring wheel, past the frame post: same drum, some other digit cut off."""
    top, bottom, left, right = layout.window
    if layout.sliver_side < 0:
        start, stop = 0, int(layout.margin + layout.sliver_width)
    else:
        start, stop = int(layout.width - layout.margin - layout.sliver_width), layout.width
    heights = np.arange(int(top), int(math.ceil(bottom)), dtype=np.float32) + 0.5 - (top + bottom) / 2
    neighbour = wheel._replace(roll=rng.uniform(-0.5, 0.5) * wheel.pitch)
    glyph_width = wheel.glyph_height * 0.6 * wheel.glyph_stretch
    # the neighbour's digit sits off the visible slice so only its edge shows
    centre = stop + glyph_width * 0.3 if layout.sliver_side < 0 else -glyph_width * 0.3
    drum = _drum_picture(rng, neighbour, int(rng.integers(10)), heights, stop - start, centre)
    scene[int(top) : int(top) + drum.shape[0], start:stop] = drum * rng.uniform(0.55, 0.9)


def _add_glare(rng: Rng, scene: np.ndarray, layout: Layout) -> None:
    """A soft reflection on the window's glass: a tilted bright band, washing colours toward white."""
    if rng.random() >= 0.35:
        return
    rows, cols = np.mgrid[0 : layout.height, 0 : layout.width].astype(np.float32)
    angle = rng.uniform(-1.2, 1.2)
    across = math.cos(angle) * (rows - rng.uniform(0.2, 0.8) * layout.height) + math.sin(angle) * (
        cols - rng.uniform(0.2, 0.8) * layout.width
    )
    spread = rng.uniform(0.05, 0.3) * layout.height
    glare = rng.uniform(0.15, 0.4) * np.exp(-((across / spread) ** 2))
    scene[:] = scene * (1 - glare[:, :, None]) + 250 * glare[:, :, None]


def _add_dust(rng: Rng, scene: np.ndarray) -> None:
    """Specks of dust or scratches on the glass, dark or light, a pixel or two of the stored picture."""
    if rng.random() >= 0.4:
        return
    height, width, _ = scene.shape
    for _ in range(int(rng.integers(1, 8))):
        row, col = int(rng.integers(height - 2)), int(rng.integers(width - 2))
        size = int(rng.integers(1, 3))
        level = rng.uniform(0, 70) if rng.random() < 0.6 else rng.uniform(180, 255)
        patch = scene[row : row + size, col : col + size]
        patch[:] = patch * 0.4 + level * 0.6


# --- capture -------------------------------------------------------------------------------------


def _tilted(rng: Rng, image: Image.Image) -> Image.Image:
    """Slight rotation and perspective of a camera not quite square to the meter."""
    width, height = image.size
    angle = math.radians(rng.uniform(-4, 4))
    keystone = rng.uniform(-0.08, 0.08) / width if rng.random() < 0.5 else 0.0
    cos, sin = math.cos(angle), math.sin(angle)
    centre_x, centre_y = width / 2, height / 2
    # output (x, y) -> input: rotate about the centre, then divide by a gentle horizontal keystone
    coefficients = (
        cos,
        -sin,
        centre_x - cos * centre_x + sin * centre_y,
        sin,
        cos,
        centre_y - sin * centre_x - cos * centre_y,
        keystone,
        0.0,
    )
    coefficients = _with_keystone_about_centre(coefficients, keystone, centre_x)
    return image.transform(image.size, Image.Transform.PERSPECTIVE, coefficients, Image.Resampling.BILINEAR)


def _with_keystone_about_centre(coefficients: tuple, keystone: float, centre_x: float) -> tuple:
    """Scale the affine part so the keystone divisor is 1 at the centre column (no overall zoom)."""
    norm = 1 + keystone * centre_x
    a, b, c, d, e, f, _, _ = coefficients
    return (a * norm, b * norm, c * norm, d * norm, e * norm, f * norm, keystone, 0.0)


def _cropped_and_reduced(image: Image.Image, layout: Layout, width: int, height: int) -> Image.Image:
    margin_y = (layout.height - height * layout.scale) / 2
    margin_x = (layout.width - width * layout.scale) / 2
    box = (margin_x, margin_y, margin_x + width * layout.scale, margin_y + height * layout.scale)
    return image.resize((width, height), Image.Resampling.BOX, box=box)


def _captured(rng: Rng, image: Image.Image, wheel: Wheel, glyph_height: float) -> Image.Image:
    """Uneven light, blur, sensor noise and JPEG; sometimes stored grey."""
    if rng.random() < 0.5:
        light = degrade._lighting(rng, image.height, image.width)
        pixels = np.asarray(image, np.float32) * light[:, :, None]
        image = Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8), mode="RGB")
    if rng.random() < 0.45:
        most = 0.5 if glyph_height < 16 else min(1.4, 0.04 * glyph_height)
        image = image.filter(ImageFilter.GaussianBlur(rng.uniform(0.3, max(0.35, most))))
    contrast = float(np.linalg.norm(wheel.drum - wheel.ink) / np.sqrt(3))
    image, _ = degrade.camera_and_scanner_noise(rng, image, contrast, glyph_height)
    return image.convert("L") if rng.random() < 0.15 else image
