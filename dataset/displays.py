"""Digits on segment and dot-matrix displays, as a camera or phone crop of a meter, clock or scale shows them.

A display style (LCD or LED; DSEG font, drawn segment polygons or a dot matrix) renders every digit as two
coverage masks, its lit segments and all of its segments (unlit ones stay faintly visible). The digit, perhaps
with slivers of its neighbours, a decimal point or a colon, is painted in the style's colours, then captured:
bezel, perspective, uneven light, glare, resizing, blur, sensor noise and JPEG.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from functools import lru_cache
from typing import Callable

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont
from scipy import ndimage

from dataset import fonts
from dataset.degrade import _lighting, _resampling_filter, _texture, camera_and_scanner_noise, perspective_coefficients

Rng = np.random.Generator

FONT_SIZES = (24, 32, 40, 48, 56)  # DSEG rendering sizes (pixels)
MIN_LUMA_CONTRAST = 75.0  # grey levels between lit segments and background, judged on contact sheets
SHADED_LCD_SHARE = 0.3  # LCDs photographed in a dim room: the display darker than the casing around it
BEZEL_SHARE = 0.5

# Segments a..g: top, upper right, lower right, bottom, lower left, upper left, middle.
SEVEN_SEGMENTS = {
    0: "abcdef",
    1: "bc",
    2: "abged",
    3: "abgcd",
    4: "fgbc",
    5: "afgcd",
    6: "afgedc",
    7: "abc",
    8: "abcdefg",
    9: "abcdfg",
}
SEGMENT_VARIANTS = {7: "fabc", 9: "abcfg"}  # a hooked 7, a tail-less 9 (a tail-less 6 reads as b)
DOT_PATTERNS = {  # the classic HD44780-style 5x7 digits
    0: ("01110", "10001", "10011", "10101", "11001", "10001", "01110"),
    1: ("00100", "01100", "00100", "00100", "00100", "00100", "01110"),
    2: ("01110", "10001", "00001", "00010", "00100", "01000", "11111"),
    3: ("11111", "00010", "00100", "00010", "00001", "10001", "01110"),
    4: ("00010", "00110", "01010", "10010", "11111", "00010", "00010"),
    5: ("11111", "10000", "11110", "00001", "00001", "10001", "01110"),
    6: ("00110", "01000", "10000", "11110", "10001", "10001", "01110"),
    7: ("11111", "00001", "00010", "00100", "01000", "01000", "01000"),
    8: ("01110", "10001", "10001", "01110", "10001", "10001", "01110"),
    9: ("01110", "10001", "10001", "01111", "00001", "00010", "01100"),
}
REFLECTIVE_LCD = {  # (low, high) RGB of the glass, lit by room light
    "grey": ((165, 165, 160), (215, 215, 210)),
    "grey-green": ((140, 160, 130), (190, 205, 175)),
    "blue-grey": ((145, 160, 170), (185, 200, 215)),
    "yellowish": ((185, 180, 125), (225, 215, 170)),
}
BACKLIGHTS = {
    "green": ((110, 190, 50), (170, 240, 120)),
    "blue": ((50, 130, 220), (120, 200, 255)),
    "orange": ((235, 140, 30), (255, 195, 90)),
    "white": ((215, 215, 215), (250, 250, 250)),
}
LED_COLOURS = {
    "red": ((240, 20, 10), (255, 80, 60)),
    "green": ((40, 220, 40), (130, 255, 110)),
    "amber": ((240, 140, 0), (255, 200, 50)),
    "blue": ((40, 120, 240), (120, 200, 255)),
}


@dataclass(frozen=True)
class Cell:
    """One display position: coverage (0..1) of the lit segments and of all segments, same shape."""

    lit: np.ndarray
    segments: np.ndarray


@dataclass(frozen=True)
class Look:
    background: np.ndarray
    lit: np.ndarray
    unlit: np.ndarray
    glow: float  # share of a blurred copy of the lit segments added (LEDs)
    glass_texture: bool


Renderer = Callable[[int], Cell]


def random_display_digit(rng: Rng, digit: int) -> Image.Image:
    """One picture of `digit` on a segment or dot-matrix display, captured by a camera."""
    led = rng.random() < 0.35
    stored_height = math.exp(rng.uniform(math.log(20), math.log(200)))
    digit_height = float(np.clip(stored_height * rng.uniform(0.6, 0.9), 24, 56))  # working resolution
    render = _random_renderer(rng, led, digit_height)
    look = _legible_look(rng, led)
    if not led and rng.random() < SHADED_LCD_SHARE:
        look = _in_shadow(rng, look)
    lit, segments, window, margins = _scene(rng, render, digit)
    picture = _paint(rng, lit, segments, look)
    picture = _add_bezel(rng, picture, window, margins)
    picture = _perspective(rng, picture, window)
    picture = _light_and_glare(rng, picture)
    return _capture(rng, picture, look, stored_height)


# --- display styles --------------------------------------------------------------------------


def _random_renderer(rng: Rng, led: bool, digit_height: float) -> Renderer:
    roll = rng.random()
    if led:
        if roll < 0.45:
            return _dot_matrix_renderer(rng, digit_height)
        return _polygon_renderer(rng, digit_height) if roll < 0.8 else _font_renderer(rng, digit_height)
    if roll < 0.6:
        return _font_renderer(rng, digit_height)
    return _polygon_renderer(rng, digit_height) if roll < 0.92 else _dot_matrix_renderer(rng, digit_height)


def _font_renderer(rng: Rng, digit_height: float) -> Renderer:
    paths = fonts.display_font_paths()
    path = paths[int(rng.integers(len(paths)))]
    size = min(FONT_SIZES, key=lambda candidate: abs(candidate - digit_height))  # keeps the glyph cache small
    change = int(rng.choice([-1, 0, 0, 0, 1])) if size >= 40 else 0  # thinner or bolder segments

    def render(digit: int) -> Cell:
        return _font_cell(path, size, digit, change)

    return render


def _font_cell(path: str, size: int, digit: int, change: int) -> Cell:
    everything = "~" if "DSEG14" in path else "8"  # draws every segment of a DSEG cell
    segments, lit = _glyph(path, size, everything), _glyph(path, size, str(digit))
    if change:
        grow = ndimage.grey_dilation if change > 0 else ndimage.grey_erosion
        lit, segments = grow(lit, size=(2, 2)), grow(segments, size=(2, 2))
    rows = np.flatnonzero(segments.max(axis=1) > 12)
    cols = np.flatnonzero(segments.max(axis=0) > 12)
    box = (slice(rows[0], rows[-1] + 1), slice(cols[0], cols[-1] + 1))
    lit = lit[box].astype(np.float32) / 255
    return Cell(lit, np.maximum(segments[box].astype(np.float32) / 255, lit))


@lru_cache(maxsize=4096)
def _glyph(path: str, size: int, text: str) -> np.ndarray:
    font = ImageFont.truetype(path, size)
    image = Image.new("L", (size * 2, size * 2), 0)
    ImageDraw.Draw(image).text((size // 2, size // 2), text, font=font, fill=255)
    return _frozen(np.asarray(image))


def _frozen(array: np.ndarray) -> np.ndarray:
    array = np.ascontiguousarray(array)
    array.setflags(write=False)
    return array


def _polygon_renderer(rng: Rng, digit_height: float) -> Renderer:
    """Seven segments drawn as polygons: random thickness, gap, slant, bevel and proportions."""
    height = digit_height
    width = height * rng.uniform(0.45, 0.65)
    thickness = height * rng.uniform(0.07, 0.16)
    gap = thickness * rng.uniform(0.05, 0.4)
    bevel = rng.uniform(0, 1) if rng.random() < 0.8 else 0.0  # 0: square ends, 1: pointed ends
    slant = rng.uniform(0.05, 0.2) if rng.random() < 0.5 else 0.0
    variants = {digit: SEGMENT_VARIANTS[digit] for digit in SEGMENT_VARIANTS if rng.random() < 0.2}
    geometry = (width, height, thickness, gap, bevel, slant)
    everything = _draw_segments(geometry, "abcdefg")

    def render(digit: int) -> Cell:
        lit = _draw_segments(geometry, variants.get(digit, SEVEN_SEGMENTS[digit]))
        return Cell(lit, everything)

    return render


def _draw_segments(geometry: tuple[float, ...], names: str) -> np.ndarray:
    width, height, thickness, gap, bevel, slant = geometry
    half = thickness / 2
    margin = half + 1
    canvas_width = int(math.ceil(width + slant * height + 2 * margin))
    canvas = Image.new("L", (canvas_width, int(math.ceil(height + 2 * margin))), 0)
    draw = ImageDraw.Draw(canvas)
    left, right, top, bottom, middle = margin, margin + width, margin, margin + height, margin + height / 2
    ends = {
        "a": ((left, top), (right, top)),
        "b": ((right, top), (right, middle)),
        "c": ((right, middle), (right, bottom)),
        "d": ((left, bottom), (right, bottom)),
        "e": ((left, middle), (left, bottom)),
        "f": ((left, top), (left, middle)),
        "g": ((left, middle), (right, middle)),
    }
    for name in names:
        start, stop = ends[name]
        outline = _segment_outline(start, stop, half, gap, bevel)
        draw.polygon([(x + slant * (bottom - y), y) for x, y in outline], fill=255)
    return np.asarray(canvas, dtype=np.float32) / 255


def _segment_outline(start, stop, half: float, gap: float, bevel: float) -> list[tuple[float, float]]:
    """A bar from start to stop (axis-aligned), shortened by the gap, its ends cut to a point by `bevel`."""
    (x0, y0), (x1, y1) = start, stop
    length = math.hypot(x1 - x0, y1 - y0)
    along = ((x1 - x0) / length, (y1 - y0) / length)
    across = (-along[1], along[0])
    tip = half * bevel
    begin, end = gap + half - tip, length - gap - half + tip  # where the tips are

    def point(distance: float, side: float) -> tuple[float, float]:
        return (x0 + along[0] * distance + across[0] * side, y0 + along[1] * distance + across[1] * side)

    return [
        point(begin, 0),
        point(begin + tip, -half),
        point(end - tip, -half),
        point(end, 0),
        point(end - tip, half),
        point(begin + tip, half),
    ]


def _dot_matrix_renderer(rng: Rng, digit_height: float) -> Renderer:
    rows = 7 if rng.random() < 0.7 else 8
    pitch = max(3, int(round(digit_height / rows)))
    dot = _dot(pitch, rng.uniform(0.55, 0.9), round_dot=rng.random() < 0.65)
    from_font = rng.random() < 0.3
    font_path = _training_font(rng) if from_font else ""

    def render(digit: int) -> Cell:
        pattern = _font_pattern(font_path, digit, rows) if from_font else None
        if pattern is None:
            pattern = _dot_pattern(digit, rows)
        lit = np.kron(pattern, dot)
        return Cell(lit, np.kron(np.ones_like(pattern), dot))

    return render


def _dot(pitch: int, fill: float, round_dot: bool) -> np.ndarray:
    centre = (pitch - 1) / 2
    rows, cols = np.mgrid[0:pitch, 0:pitch] - centre
    radius = fill * pitch / 2
    distance = np.hypot(rows, cols) if round_dot else np.maximum(abs(rows), abs(cols))
    return np.clip(radius + 0.5 - distance, 0, 1).astype(np.float32)


def _dot_pattern(digit: int, rows: int) -> np.ndarray:
    pattern = np.array([[int(char) for char in line] for line in DOT_PATTERNS[digit]], dtype=np.float32)
    if rows == 8:  # a 5x8 cell: the 5x7 glyph with the descender row left dark
        pattern = np.vstack([pattern, np.zeros((1, 5), np.float32)])
    return pattern


def _training_font(rng: Rng) -> str:
    paths = fonts.font_paths(fonts.split_families()[0])
    return paths[int(rng.integers(len(paths)))]


@lru_cache(maxsize=4096)
def _font_pattern(path: str, digit: int, rows: int) -> np.ndarray | None:
    """A digit of an ordinary font sampled on a 5-wide dot grid, or None if that loses its loops."""
    font = ImageFont.truetype(path, 64)
    image = Image.new("L", (128, 128), 0)
    ImageDraw.Draw(image).text((32, 32), str(digit), font=font, fill=255)
    box = image.getbbox()
    if box is None:
        return None
    coverage = np.asarray(image.crop(box).resize((5, 7), Image.Resampling.BOX), dtype=np.float32) / 255
    pattern = (coverage > 0.4).astype(np.float32)
    if _holes(pattern) != _holes(_dot_pattern(digit, 7)) or pattern.sum() < 5:
        return None
    if rows == 8:
        pattern = np.vstack([pattern, np.zeros((1, 5), np.float32)])
    return _frozen(pattern)


def _holes(pattern: np.ndarray) -> int:
    """Enclosed background regions, with dots touching at corners counted as joined."""
    _, regions = ndimage.label(np.pad(pattern < 0.5, 1, constant_values=True))
    return regions - 1


# --- the scene: the digit, its neighbours and the crop window -----------------------------------


Box = tuple[int, int, int, int]


def _scene(rng: Rng, render: Renderer, digit: int) -> tuple[np.ndarray, np.ndarray, Box, Box]:
    """(lit, segments) masks of the scene around the crop window, the window (top, left, height, width)
    and its margins around the digit (top, bottom, left, right)."""
    cell = render(digit)
    height, width = cell.lit.shape
    spacing = int(width * rng.uniform(0.15, 0.45))
    margins = _margins(rng, height, width, spacing)
    top, bottom, left, right = margins
    pad = int(0.25 * (height + top + bottom)) + 2  # room for perspective to move the window
    scene_height, scene_width = height + top + bottom + 2 * pad, width + left + right + 2 * pad
    lit = np.zeros((scene_height, scene_width), np.float32)
    segments = np.zeros_like(lit)
    row, col = pad + top, pad + left
    _paste(lit, cell.lit, row, col)
    _paste(segments, cell.segments, row, col)
    for side in (-1, 1):
        neighbour = render(int(rng.integers(10)))
        neighbour_col = col - spacing - width if side < 0 else col + width + spacing
        if digit != 1 and rng.random() < 0.85:  # a lone 1 beside a sliver of segments would read as 11
            _paste(lit, neighbour.lit, row, neighbour_col)
        _paste(segments, neighbour.segments, row, neighbour_col)
    _add_dots(rng, lit, segments, row, col, height, width, spacing)
    return lit, segments, (pad, pad, height + top + bottom, width + left + right), margins


def _margins(rng: Rng, height: int, width: int, spacing: int) -> Box:
    """(top, bottom, left, right): tight to loose; a left or right margin may reach into a neighbour."""
    tight = rng.random() < 0.25
    top, bottom = (int(rng.uniform(0, 0.06 if tight else 0.3) * height) for _ in range(2))
    sides = []
    for _ in range(2):
        roll = rng.random()
        if roll < 0.3:  # a sliver of the neighbouring digit, always a minority of the picture
            sides.append(spacing + int(rng.uniform(0.04, 0.15) * width))
        else:
            sides.append(int(rng.uniform(0, 0.08 if tight else 1.0) * spacing))
    return top, bottom, sides[0], sides[1]


def _paste(canvas: np.ndarray, mask: np.ndarray, row: int, col: int) -> None:
    """Max-combine `mask` into `canvas` at (row, col), clipped to the canvas."""
    top, left = max(row, 0), max(col, 0)
    bottom, right = min(row + mask.shape[0], canvas.shape[0]), min(col + mask.shape[1], canvas.shape[1])
    if bottom <= top or right <= left:
        return
    part = mask[top - row : bottom - row, left - col : right - col]
    np.maximum(canvas[top:bottom, left:right], part, out=canvas[top:bottom, left:right])


def _add_dots(rng: Rng, lit, segments, row: int, col: int, height: int, width: int, spacing: int) -> None:
    """A decimal point after the digit or a colon beside it, lit or only faintly there."""
    roll = rng.random()
    if roll > 0.35:
        return
    size = max(2, int(height * rng.uniform(0.07, 0.12)))
    dot = np.ones((size, size), np.float32)
    centre_col = col + width + spacing // 2 - size // 2
    if roll < 0.2:
        places = [(row + height - size, centre_col)]
    else:
        if rng.random() < 0.5:
            centre_col = col - spacing // 2 - size // 2
        places = [(row + int(height * 0.28), centre_col), (row + int(height * 0.68), centre_col)]
    shown = rng.random() < 0.6
    for place_row, place_col in places:
        _paste(segments, dot, place_row, place_col)
        if shown:
            _paste(lit, dot, place_row, place_col)


# --- colours and painting -------------------------------------------------------------------


def _between(rng: Rng, bounds: tuple[tuple[int, ...], tuple[int, ...]]) -> np.ndarray:
    low, high = np.array(bounds[0], float), np.array(bounds[1], float)
    return low + (high - low) * rng.uniform(0, 1)  # one mix for all channels keeps the hue


def _choice(rng: Rng, palette: dict) -> tuple:
    return palette[list(palette)[int(rng.integers(len(palette)))]]


def _legible_look(rng: Rng, led: bool) -> Look:
    """Colours whose lit segments stand out in grey too (a dim red LED on black nearly vanishes in L mode)."""
    while True:
        look = _led_look(rng) if led else _lcd_look(rng)
        if abs(_luma(look.lit) - _luma(look.background)) >= MIN_LUMA_CONTRAST:
            return look


def _luma(colour: np.ndarray) -> float:
    return float(colour @ np.array([0.299, 0.587, 0.114]))


def _lcd_look(rng: Rng) -> Look:
    roll = rng.random()
    if roll < 0.55:
        background = _between(rng, _choice(rng, REFLECTIVE_LCD)) + rng.uniform(-8, 8, 3)
        lit = background * rng.uniform(0.08, 0.35)
    elif roll < 0.85:
        background = _between(rng, _choice(rng, BACKLIGHTS))
        lit = background * rng.uniform(0.05, 0.3)
    else:  # inverted: light segments on a dark backlit panel
        lit = _between(rng, _choice(rng, BACKLIGHTS))
        background = lit * rng.uniform(0.05, 0.2) + rng.uniform(0, 15)
    unlit = background + (lit - background) * rng.uniform(0.03, 0.12)
    return Look(np.clip(background, 0, 255), np.clip(lit, 0, 255), np.clip(unlit, 0, 255), 0.0, True)


def _led_look(rng: Rng) -> Look:
    colour = _between(rng, _choice(rng, LED_COLOURS))
    lit = colour + (255 - colour) * rng.uniform(0, 0.45)  # bright cores wash out towards white
    background = rng.uniform(5, 45) + rng.uniform(-5, 5, 3) + colour * rng.uniform(0, 0.06)
    unlit = background + (colour - background) * rng.uniform(0.03, 0.12)
    glow = rng.uniform(0.2, 0.8)
    return Look(np.clip(background, 0, 255), np.clip(lit, 0, 255), np.clip(unlit, 0, 255), glow, False)


def _in_shadow(rng: Rng, look: Look) -> Look:
    """The display's glass in shadow: every colour, and so the digit's contrast, darker. The casing's bezel
    keeps its own light, so it can outshine the digit, as on real meter photos."""
    light = rng.uniform(0.25, 0.6)
    return replace(look, background=look.background * light, lit=look.lit * light, unlit=look.unlit * light)


def _paint(rng: Rng, lit: np.ndarray, segments: np.ndarray, look: Look) -> np.ndarray:
    """RGB float picture: background, unlit segments over it, lit segments on top, LED glow."""
    background, unlit, lit_colour = (colour.astype(np.float32) for colour in (look.background, look.unlit, look.lit))
    picture = background + segments[:, :, None] * (unlit - background)
    picture += lit[:, :, None] * (lit_colour - picture)
    if look.glass_texture and rng.random() < 0.4:
        picture += _texture(rng, *lit.shape)[:, :, None] * 0.5
    if look.glow > 0:
        halo = ndimage.gaussian_filter(lit, sigma=lit.shape[0] * rng.uniform(0.015, 0.04))
        picture += halo[:, :, None] * (look.glow * lit_colour)
    return np.clip(picture, 0, 255)


# --- capture --------------------------------------------------------------------------------


def _add_bezel(rng: Rng, picture: np.ndarray, window: Box, margins: Box) -> np.ndarray:
    """The display window's edge: a dark or light band from outside the window into its margin, on one or
    two sides; often the casing's top and bottom edges together, as a crop of one digit cut from a row has."""
    if rng.random() > BEZEL_SHARE:
        return picture
    top, left, height, width = window
    colour = rng.uniform(0, 60, 3) if rng.random() < 0.5 else rng.uniform(150, 240) + rng.uniform(-10, 10, 3)
    picture = picture.copy()
    sides = (0, 1) if rng.random() < 0.4 else rng.permutation(4)[: rng.integers(1, 3)]
    for side in sides:
        depth = min(int(rng.uniform(0.04, 0.12) * (height if side < 2 else width)), margins[side] * 3 // 4)
        if side == 0:
            picture[: top + depth] = colour
        elif side == 1:
            picture[top + height - depth :] = colour
        elif side == 2:
            picture[:, : left + depth] = colour
        else:
            picture[:, left + width - depth :] = colour
    return picture


def _perspective(rng: Rng, picture: np.ndarray, window: Box) -> Image.Image:
    """Tilt and rotate the scene slightly, then crop the window: each window corner moves a few percent."""
    top, left, height, width = window
    image = Image.fromarray(picture.astype(np.uint8), mode="RGB")
    angle = math.radians(rng.uniform(-5, 5))
    corners = np.array([[0, 0], [width, 0], [width, height], [0, height]], float) - [width / 2, height / 2]
    rotated = corners @ np.array([[math.cos(angle), math.sin(angle)], [-math.sin(angle), math.cos(angle)]])
    jitter = rng.uniform(-0.05, 0.05, (4, 2)) * [width, height]
    source = rotated + jitter + [left + width / 2, top + height / 2]
    coefficients = perspective_coefficients(corners + [width / 2, height / 2], source)
    return image.transform((width, height), Image.Transform.PERSPECTIVE, coefficients, Image.Resampling.BILINEAR)


def _light_and_glare(rng: Rng, image: Image.Image) -> np.ndarray:
    picture = np.asarray(image, dtype=np.float32)
    height, width = picture.shape[:2]
    if rng.random() < 0.4:
        picture = picture * _lighting(rng, height, width)[:, :, None]
    if rng.random() < 0.3:
        rows, cols = np.mgrid[0:height, 0:width]
        centre_row, centre_col = rng.uniform(0, height), rng.uniform(0, width)
        radius_row, radius_col = rng.uniform(0.15, 0.5) * height, rng.uniform(0.15, 0.6) * width
        shape = ((rows - centre_row) / radius_row) ** 2 + ((cols - centre_col) / radius_col) ** 2
        glare = rng.uniform(0.2, 0.55) * np.exp(-shape)
        picture = picture + (255 - picture) * glare[:, :, None]
    return np.clip(picture, 0, 255)


def _capture(rng: Rng, picture: np.ndarray, look: Look, height: float) -> Image.Image:
    """Resize to the stored size, blur, then sensor noise and JPEG; sometimes stored grey."""
    image = Image.fromarray(picture.astype(np.uint8), mode="RGB")
    aspect = float(np.clip(image.width / image.height * math.exp(rng.uniform(-0.15, 0.15)), 0.4, 1.2))
    size = (max(8, round(height * aspect)), max(12, round(height)))
    image = image.resize(size, _resampling_filter(rng))
    if rng.random() < 0.35:
        image = image.filter(ImageFilter.GaussianBlur(rng.uniform(0.3, 1.0) * max(1.0, size[1] / 60)))
    contrast = float(np.linalg.norm(look.lit - look.background) / math.sqrt(3))
    image, _ = camera_and_scanner_noise(rng, image, contrast, glyph_height=size[1] * 0.8)
    return image.convert("L") if rng.random() < 0.15 else image
