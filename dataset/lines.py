"""Lines of 1-16 characters (digits, ".", ",", "-") with their text, for a CTC line reader.

`random_text` draws a plausible reading: meter counts with leading zeros, amounts with a decimal point or
comma, sometimes a leading minus. Each style in STYLES paints one text in one consistent look: printed fonts,
captcha-like noise, segment displays, rows of counter wheels, handwritten MNIST digits. A style composes at a
working size, then the picture is captured: resized to its stored size, blurred, noised and JPEG-compressed.
"""

from __future__ import annotations

import math
from functools import lru_cache
from typing import Callable

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont
from scipy import ndimage

from dataset import degrade, displays, fonts, handwritten, printed, scene, wheels
from dataset.printed import render_glyph
from ml.lines import SEPARATORS

Rng = np.random.Generator

MAX_LENGTH = 16
LENGTH_WEIGHTS = np.array([2, 4, 8, 10, 11, 11, 10, 9, 7, 5, 4, 3, 2, 2, 1.5, 1.5])  # lengths 1..16
POINT_SHARE, COMMA_SHARE, MINUS_SHARE = 0.35, 0.10, 0.05
MAX_WIDTH = 420  # stored pixels: longer lines are stored smaller
GLYPH_SIZE = 40  # working font size of printed, captcha and display lines
HAIRLINE_WEIGHTS = ("Thin", "Hairline", "Light", "Z003")
TOUCHING_PRINTED_SHARE = 0.3  # printed lines set tight: digits touching or overlapping (bold fonts, kerning)
TIGHT_LINE_SHARE = 0.2  # printed and handwritten lines cropped to their ink, as `degrade.add_margins` crops digits
CROPPED_DISPLAY_SHARE = 0.45
METER_LOOK_SHARE = 0.45  # display lines in a meter LCD's look
FAINT_METER_SHARE = 0.4  # of those, segments barely darker than the backlight and noise as strong as they are
GRIMY_METER_SHARE = 0.4  # of those, glass mottled by dust and scratches
METER_TEXT_SHARE = 0.4  # display lines showing a meter reading's text
SMALL_TENTHS_SHARE = 0.4  # readings with a point whose tenths digit is drawn smaller (many meters' is full size)
POINT_LIGHT = (0.5, 1.0)  # a display's decimal point is often lit fainter than its segments
# Many meter LCDs space their digits wider than DSEG's cells (a pitch up to 1.2 digit heights, not 0.82),
# the decimal point alone in the gap; and their digits are often narrower.
SPACED_DISPLAY_SHARE = 0.5
SPACED_PITCH = (1.08, 1.45)  # the cell's advance times this
DISPLAY_STRETCH = (-0.35, 0.35)  # the stored width's factor, its log drawn uniform
SLANTED_DISPLAY_SHARE = 0.5  # display lines slanted forward further than DSEG's italics (many meter LCDs are)
DISPLAY_SHEAR = (0.05, 0.3)
CASING_BAND_SHARE = 0.3  # display lines cropped with the casing's edge along a side (top, bottom, left, right)
ROUNDED_WINDOW_SHARE = 0.4  # wheel lines whose windows are rounded, with a dark rim (Ferraris meters)
EUROPEAN_HAND_SHARE = 0.3  # handwritten lines whose writer flags their 1s and crosses their 7s
AMOUNT_TEXT_SHARE = 0.25  # handwritten lines showing an amount in thousands, as cheques do: "50.000", "1,250,000"
SMALL_GROUP_SHARE = 0.3  # of handwritten lines with a point or comma, the digits after the last one written small
END_MARK_SHARE = 0.3  # handwritten lines closed by a mark that is not part of the text ("=", "-", ".-"): cheques
FORM_FIELD_SHARE = 0.15  # handwritten lines written in a form's field, its sides in the margins
SATURATED_BACKLIGHTS = {  # (low, high) RGB of meter LCDs photographed in the field
    "cyan": ((0, 190, 190), (130, 255, 255)),
    "yellow": ((215, 180, 0), (255, 240, 100)),
    "green": ((20, 190, 20), (150, 255, 130)),
    "blue": ((40, 70, 170), (130, 160, 255)),
    "orange": ((215, 80, 0), (255, 170, 70)),
    "grey": ((120, 130, 130), (200, 210, 210)),
}
DISPLAY_UNITS = ("kWh", "kW", "KWH", "kWh", "m3", "m³", "V", "A", "Hz", "L", "°C", "MWh", "kvarh")


# --- text ------------------------------------------------------------------------------------


def random_text(rng: Rng) -> str:
    """1-16 characters; separators never doubled, never last, never in a line of one digit."""
    length = 1 + int(rng.choice(MAX_LENGTH, p=LENGTH_WEIGHTS / LENGTH_WEIGHTS.sum()))
    minus = rng.random() < MINUS_SHARE
    roll = rng.random()
    mark = "." if roll < POINT_SHARE else "," if roll < POINT_SHARE + COMMA_SHARE else ""
    count = length - minus - (mark != "")
    if count < 2:
        return _digit_string(rng, length, leading_zeros=False)
    digits = _digit_string(rng, count, leading_zeros=not minus and rng.random() < 0.3)
    if mark:
        decimals = int(rng.choice([1, 2, 3], p=[0.3, 0.5, 0.2]))
        split = max(1, count - decimals)
        digits = digits[:split] + mark + digits[split:]
    return ("-" if minus else "") + digits


def counter_text(rng: Rng) -> str:
    """5-8 digits of a counter, often with leading zeros."""
    return _digit_string(rng, int(rng.integers(5, 9)), leading_zeros=rng.random() < 0.6)


def meter_text(rng: Rng) -> str:
    """An electricity meter's reading: 3-8 digits, often leading zeros, a tenths digit after a point in half."""
    digits = _digit_string(rng, int(rng.integers(3, 9)), leading_zeros=rng.random() < 0.6)
    return digits[:-1] + "." + digits[-1] if rng.random() < 0.5 else digits


def amount_text(rng: Rng) -> str:
    """An amount as cheques write it: 1-3 digits, then one or two groups of three (often "000") set off by
    a point, a comma or nothing."""
    mark = str(rng.choice([".", ",", ""], p=[0.5, 0.2, 0.3]))
    groups = [_digit_string(rng, int(rng.integers(1, 4)), leading_zeros=False)]
    for _ in range(int(rng.choice([1, 2], p=[0.8, 0.2]))):
        groups.append("000" if rng.random() < 0.5 else "".join(str(digit) for digit in rng.integers(0, 10, 3)))
    return mark.join(groups)


def _digit_string(rng: Rng, count: int, leading_zeros: bool) -> str:
    digits = rng.integers(0, 10, count)
    if count > 1 and not leading_zeros and digits[0] == 0 and rng.random() < 0.8:
        digits[0] = rng.integers(1, 10)
    if leading_zeros and count > 1:
        digits[: int(rng.integers(1, count))] = 0
    return "".join(str(digit) for digit in digits)


# --- shared drawing helpers --------------------------------------------------------------------


@lru_cache(maxsize=1)
def _line_fonts() -> tuple[str, ...]:
    paths = fonts.font_paths(fonts.split_families()[0])
    return tuple(path for path in paths if not any(weight in path for weight in HAIRLINE_WEIGHTS))


@lru_cache(maxsize=64)
def _font(path: str, size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(path, size)


@lru_cache(maxsize=8192)
def _glyph(path: str, size: int, char: str) -> np.ndarray:
    """Ink mask of one character, 2*size rows with the baseline at row 1.5*size, columns cropped to ink."""
    canvas = Image.new("L", (size * 2, size * 2), 0)
    ImageDraw.Draw(canvas).text((size // 2, int(size * 1.5)), char, fill=255, font=_font(path, size), anchor="ls")
    mask = _ink_columns(canvas)
    mask.setflags(write=False)
    return mask


def _ink_columns(canvas: Image.Image) -> np.ndarray:
    """The drawn canvas as a [0, 1] mask, its columns cropped to the ink; its rows kept (they place the baseline)."""
    mask = np.asarray(canvas, dtype=np.float32) / 255
    cols = np.flatnonzero(mask.max(axis=0) > 0.05)
    return mask[:, cols[0] : cols[-1] + 1]


Placement = tuple[int, int, np.ndarray]  # row, col, mask


def _lay_out(rng: Rng, masks: list[np.ndarray], text: str, gap: float, jitter: float, shift: float) -> list[Placement]:
    """Left to right: gaps vary by `jitter`, baselines by `shift` (pixels); separators keep clear of digits."""
    placements, col = [], 0
    for index, (char, mask) in enumerate(zip(text, masks)):
        if index:
            space = gap + rng.uniform(-jitter, jitter)
            if char in SEPARATORS or text[index - 1] in SEPARATORS:
                space = max(space, 0.08 * mask.shape[0] / 2 + 1)
            col += int(round(space))
        placements.append((int(round(rng.normal(0, shift))) if shift else 0, col, mask))
        col += mask.shape[1]
    return placements


def _canvas_mask(placements: list[Placement], pad: int) -> tuple[np.ndarray, list[Placement]]:
    """All placements max-combined on one canvas, padded by `pad`; returns it and the shifted placements."""
    top = min(row for row, _, _ in placements)
    height = max(row + mask.shape[0] for row, _, mask in placements) - top
    width = max(col + mask.shape[1] for _, col, mask in placements)
    canvas = np.zeros((height + 2 * pad, width + 2 * pad), np.float32)
    moved = [(row - top + pad, col + pad, mask) for row, col, mask in placements]
    for row, col, mask in moved:
        region = canvas[row : row + mask.shape[0], col : col + mask.shape[1]]
        np.maximum(region, mask, out=region)
    return canvas, moved


def _ink_rows(mask: np.ndarray) -> tuple[int, int]:
    rows = np.flatnonzero(mask.max(axis=1) > 0.05)
    return int(rows[0]), int(rows[-1]) + 1


def _crop_rows(mask: np.ndarray, rows: tuple[int, int], above: int, below: int) -> np.ndarray:
    top, bottom = rows
    return np.pad(mask[top:bottom], ((above, below), (0, 0)))


def _random_dark(rng: Rng) -> np.ndarray:
    while True:
        colour = rng.uniform(0, 160, 3)
        if degrade._luma(colour) < 90:
            return colour


def _random_light(rng: Rng) -> np.ndarray:
    return rng.uniform(205, 255) + rng.uniform(-20, 8, 3)


def _stored(rng: Rng, picture: np.ndarray, height: float, stretch: float = 1.0) -> Image.Image:
    """The working picture resized to `height` rows (fewer if the line would exceed MAX_WIDTH)."""
    image = Image.fromarray(np.clip(picture, 0, 255).astype(np.uint8), mode="RGB")
    scale = min(height / image.height, MAX_WIDTH / (image.width * stretch))
    size = (max(8, round(image.width * scale * stretch)), max(10, round(image.height * scale)))
    return image.resize(size, degrade._resampling_filter(rng))


def _captured(rng: Rng, image: Image.Image, contrast: float, glyph_height: float, noise: float = 1.0) -> Image.Image:
    """Uneven light, blur, sensor noise (`noise` times the usual, relative to the contrast) and JPEG; sometimes
    stored grey."""
    if rng.random() < 0.3:
        light = degrade._lighting(rng, image.height, image.width)
        image = Image.fromarray(np.clip(np.asarray(image, np.float32) * light[:, :, None], 0, 255).astype(np.uint8))
    if rng.random() < 0.35:
        most = 0.5 if glyph_height < 16 else min(1.2, 0.04 * glyph_height)
        image = image.filter(ImageFilter.GaussianBlur(rng.uniform(0.3, max(0.35, most))))
    image, _ = degrade.camera_and_scanner_noise(rng, image, contrast, glyph_height, noise)
    return image.convert("L") if rng.random() < 0.3 else image


def _contrast(first: np.ndarray, second: np.ndarray) -> float:
    return float(np.linalg.norm(np.asarray(first) - np.asarray(second)) / math.sqrt(3))


def _paint_placements(picture: np.ndarray, placements: list[Placement], colours: list[np.ndarray]) -> None:
    for (row, col, mask), colour in zip(placements, colours):
        region = picture[row : row + mask.shape[0], col : col + mask.shape[1]]
        alpha = mask[:, :, None]
        region[:] = region * (1 - alpha) + colour * alpha


# --- printed ---------------------------------------------------------------------------------


def printed_line(rng: Rng, text: str) -> Image.Image:
    """A font on pale, tinted or textured paper; per-character colours, a box, crossing lines sometimes."""
    fonts_ = _line_fonts()
    path = fonts_[int(rng.integers(len(fonts_)))]
    size = GLYPH_SIZE
    masks = [_glyph(path, size, char) for char in text]
    gap = (rng.uniform(-0.08, 0.0) if rng.random() < TOUCHING_PRINTED_SHARE else rng.uniform(0.03, 0.3)) * size
    jitter = rng.uniform(0, 0.08) * size if rng.random() < 0.5 else 0.0
    shift = rng.uniform(0, 0.05) * size if rng.random() < 0.4 else 0.0
    placements = _lay_out(rng, masks, text, gap, jitter, shift)
    pad = int(rng.uniform(0.1, 0.6) * size)
    mask, placements = _canvas_mask(placements, pad)
    background, colours = _printed_colours(rng, len(text))
    picture = np.broadcast_to(background, (*mask.shape, 3)).astype(np.float32)
    if rng.random() < 0.4:
        picture = picture + degrade._texture(rng, *mask.shape)[:, :, None] * 0.6
    _paint_placements(picture, placements, colours)
    image = Image.fromarray(np.clip(picture, 0, 255).astype(np.uint8), mode="RGB")
    glyph_rows = _ink_rows(mask)
    if rng.random() < 0.35:
        _draw_interference(rng, image, glyph_rows)
    if rng.random() < 0.5:
        angle = rng.uniform(-3, 3)
        image = image.rotate(angle, Image.Resampling.BILINEAR, fillcolor=tuple(background.astype(int)))
        mask = np.asarray(Image.fromarray(mask).rotate(angle, Image.Resampling.BILINEAR))
    tight = rng.random() < TIGHT_LINE_SHARE
    if tight:
        image = image.crop(_tight_box(rng, mask, glyph_rows[1] - glyph_rows[0]))
    else:
        image = _cropped_around(rng, image, glyph_rows, size)
    if not tight and rng.random() < 0.2:
        ImageDraw.Draw(image).rectangle(
            [0, 0, image.width - 1, image.height - 1],
            outline=tuple(_random_dark(rng).astype(int)),
            width=int(rng.integers(1, 4)),
        )
    stored = _stored(rng, np.asarray(image, np.float32), _log_uniform(rng, 26, 80), math.exp(rng.uniform(-0.15, 0.15)))
    glyph_height = stored.height * (glyph_rows[1] - glyph_rows[0]) / image.height
    return _captured(rng, stored, _contrast(background, colours[0]), glyph_height)


def _printed_colours(rng: Rng, count: int) -> tuple[np.ndarray, list[np.ndarray]]:
    background = _random_light(rng)
    if rng.random() < 0.3:
        background = background * rng.uniform(0.85, 1.0, 3)  # a pastel tint
    if rng.random() < 0.3:
        return background, [_random_dark(rng) for _ in range(count)]
    return background, [_random_dark(rng)] * count


def _draw_interference(rng: Rng, image: Image.Image, glyph_rows: tuple[int, int]) -> None:
    """1-4 thin lines or arcs through the digits, in random colours: across the whole line, between any two
    points (steep ones look like a 1 or a 7's stem), or curved."""
    draw = ImageDraw.Draw(image)
    top, bottom = glyph_rows
    for _ in range(int(rng.integers(1, 5))):
        colour = tuple(rng.integers(0, 200, 3).tolist())
        width = int(rng.integers(1, 3))
        kind = rng.random()
        if kind < 0.7:
            ends = (
                [(0, rng.uniform(top, bottom)), (image.width, rng.uniform(top, bottom))]
                if kind < 0.35
                else [(rng.uniform(0, image.width), rng.uniform(0, image.height)) for _ in range(2)]
            )
            draw.line(ends, fill=colour, width=width)
        else:
            left, right = sorted(rng.uniform(-0.3, 1.3, 2) * image.width)
            span = rng.uniform(0.6, 2.5) * (bottom - top)
            middle = rng.uniform(top, bottom)
            box = [left, middle - span / 2, max(right, left + 4), middle + span / 2]
            start = rng.uniform(0, 360)
            draw.arc(box, start, start + rng.uniform(60, 200), fill=colour, width=width)


def _cropped_around(rng: Rng, image: Image.Image, glyph_rows: tuple[int, int], size: int) -> Image.Image:
    """Trim the vertical padding to a random margin around the glyph rows."""
    top, bottom = glyph_rows
    above, below = (int(rng.uniform(0.08, 0.45) * size) for _ in range(2))
    return image.crop((0, max(0, top - above), image.width, min(image.height, bottom + below)))


def _tight_box(rng: Rng, mask: np.ndarray, digit_height: int) -> tuple[int, int, int, int]:
    """(left, top, right, bottom) of a crop whose sides touch the mask's ink, cut a little of it off, or
    keep just clear of it (`degrade.tight_side`), within the mask."""
    rows, cols = np.flatnonzero(mask.max(axis=1) > 0.5), np.flatnonzero(mask.max(axis=0) > 0.5)
    top, bottom, left, right = (degrade.tight_side(rng, digit_height, digit_height) for _ in range(4))
    height, width = mask.shape
    return (
        max(0, cols[0] - left),
        max(0, rows[0] - top),
        min(width, cols[-1] + 1 + right),
        min(height, rows[-1] + 1 + bottom),
    )


def _log_uniform(rng: Rng, low: float, high: float) -> float:
    return float(math.exp(rng.uniform(math.log(low), math.log(high))))


# --- captcha ---------------------------------------------------------------------------------


def captcha_line(rng: Rng, text: str) -> Image.Image:
    """Dotted, starry or outlined digits, touching, on dark or light ground, a wavy line, noise dots."""
    fonts_ = _line_fonts()
    path = fonts_[int(rng.integers(len(fonts_)))]
    size = GLYPH_SIZE
    kind = rng.choice(["dotted", "starry", "outlined", "solid"], p=[0.3, 0.15, 0.25, 0.3])
    masks = [
        _glyph(path, size, char) if char in SEPARATORS else _captcha_glyph(rng, path, size, char, kind) for char in text
    ]
    placements = _lay_out(rng, masks, text, rng.uniform(-0.12, 0.1) * size, 0.05 * size, 0.06 * size)
    mask, _ = _canvas_mask(placements, int(size * 0.3))
    mask = _crop_rows(mask, _ink_rows(mask), int(size * rng.uniform(0.2, 0.6)), int(size * rng.uniform(0.2, 0.6)))
    side = int(size * rng.uniform(0.2, 1.2))
    mask = np.pad(mask, ((0, 0), (side, side)))
    dark_ground = rng.random() < 0.6
    ground = rng.uniform(0, 30, 3) if dark_ground else _random_light(rng)
    ink = _captcha_ink(rng, dark_ground)
    picture = np.broadcast_to(ground, (*mask.shape, 3)).astype(np.float32)
    picture = picture + mask[:, :, None] * (ink - picture)
    image = Image.fromarray(np.clip(picture, 0, 255).astype(np.uint8), mode="RGB")
    _draw_wave(rng, image, _ink_rows(mask), ink if rng.random() < 0.6 else _captcha_ink(rng, dark_ground))
    _draw_noise_dots(rng, image, dark_ground)
    stored = _stored(rng, np.asarray(image, np.float32), _log_uniform(rng, 36, 80))
    return _captured(rng, stored, _contrast(ground, ink), stored.height * 0.5)


def _captcha_glyph(rng: Rng, path: str, size: int, char: str, kind: str) -> np.ndarray:
    glyph = np.pad(_glyph(path, size, char), ((0, 0), (3, 3)))
    if kind == "dotted":
        seeds = (glyph > 0.5) & (rng.random(glyph.shape) < rng.uniform(0.2, 0.4))
        return ndimage.grey_dilation(seeds.astype(np.float32), size=(3, 3))
    if kind == "starry":
        seeds = (glyph > 0.5) & (rng.random(glyph.shape) < rng.uniform(0.08, 0.15))
        star = ndimage.generate_binary_structure(2, 1)
        return ndimage.binary_dilation(seeds, structure=star, iterations=2).astype(np.float32)
    if kind == "outlined":
        thick = ndimage.grey_dilation(glyph, size=(3, 3))
        return np.clip(thick - ndimage.grey_erosion(glyph, size=(3, 3)) * 1.0, 0, 1)
    return glyph


def _captcha_ink(rng: Rng, dark_ground: bool) -> np.ndarray:
    while True:
        colour = rng.uniform(0, 255, 3)
        luma = degrade._luma(colour)
        if (dark_ground and luma > 120) or (not dark_ground and luma < 90):
            return colour


def _draw_wave(rng: Rng, image: Image.Image, glyph_rows: tuple[int, int], colour: np.ndarray) -> None:
    top, bottom = glyph_rows
    cols = np.linspace(0, image.width, 40)
    phase, waves = rng.uniform(0, 2 * math.pi), rng.uniform(0.5, 3)
    rows = (top + bottom) / 2 + rng.uniform(0.1, 0.4) * (bottom - top) * np.sin(
        phase + cols / image.width * waves * 2 * math.pi
    )
    rows = rows + rng.uniform(-0.2, 0.2) * (bottom - top)
    ImageDraw.Draw(image).line(list(zip(cols, rows)), fill=tuple(colour.astype(int)), width=int(rng.integers(1, 3)))


def _draw_noise_dots(rng: Rng, image: Image.Image, dark_ground: bool) -> None:
    """Coloured specks, smaller than the font's decimal point so they never pass for one."""
    draw = ImageDraw.Draw(image)
    for _ in range(int(rng.integers(5, 40))):
        x, y, radius = rng.uniform(0, image.width), rng.uniform(0, image.height), rng.uniform(0.5, 1.5)
        draw.ellipse(
            [x - radius, y - radius, x + radius, y + radius], fill=tuple(_captcha_ink(rng, dark_ground).astype(int))
        )


# --- segment displays ------------------------------------------------------------------------


def display_line(rng: Rng, text: str) -> Image.Image:
    """DSEG digits with unlit segments behind, the font's own decimal point, backlit or LED colours, glare;
    often cropped to the digits, as meter photos are."""
    paths = fonts.display_font_paths()
    path = paths[int(rng.integers(len(paths)))]
    lit, segments = _display_masks(rng, path, text)
    if rng.random() < SLANTED_DISPLAY_SHARE:
        shear = rng.uniform(*DISPLAY_SHEAR)
        lit, segments = _slanted(lit, shear), _slanted(segments, shear)
    meter = rng.random() < METER_LOOK_SHARE
    faint = meter and rng.random() < FAINT_METER_SHARE
    look = _meter_look(rng, faint) if meter else displays._legible_look(rng, led=rng.random() < 0.25)
    picture = displays._paint(rng, lit, segments, look)
    if meter and rng.random() < GRIMY_METER_SHARE:
        picture = _with_grime(rng, picture, _contrast(look.lit, look.background))
    if rng.random() < CASING_BAND_SHARE:
        picture = _with_casing_band(rng, picture)
    picture = displays._light_and_glare(rng, Image.fromarray(picture.astype(np.uint8), mode="RGB"))
    image = Image.fromarray(picture.astype(np.uint8), mode="RGB")
    if rng.random() < 0.4:
        image = image.rotate(
            rng.uniform(-2, 2), Image.Resampling.BILINEAR, fillcolor=tuple(look.background.astype(int))
        )
    stretch = math.exp(rng.uniform(*DISPLAY_STRETCH))
    stored = _stored(rng, np.asarray(image, np.float32), _log_uniform(rng, 20, 64), stretch)
    noise = rng.uniform(1.0, 2.0) if faint else 1.0
    return _captured(rng, stored, _contrast(look.lit, look.background), stored.height * 0.7, noise)


def _with_casing_band(rng: Rng, picture: np.ndarray) -> np.ndarray:
    """The casing's light or dark edge along the top, the bottom or both, or at the window's ends left and right,
    as tight crops of meter photos have."""
    picture = picture.copy()
    colour = rng.uniform(0, 60, 3) if rng.random() < 0.4 else rng.uniform(150, 250) + rng.uniform(-10, 10, 3)
    height, width = picture.shape[:2]
    choices = (("top",), ("bottom",), ("top", "bottom"), ("left",), ("right",), ("left", "right"))
    for side in choices[int(rng.integers(len(choices)))]:
        across = side in ("top", "bottom")
        depth = max(1, int(rng.uniform(0.03, 0.12) * height if across else rng.uniform(0.1, 0.6) * height))
        if side == "top":
            picture[:depth] = colour
        elif side == "bottom":
            picture[height - depth :] = colour
        elif side == "left":
            picture[:, :depth] = colour
        else:
            picture[:, width - depth :] = colour
    return picture


def _with_grime(rng: Rng, picture: np.ndarray, contrast: float) -> np.ndarray:
    """Dust, scratches and mottling on a meter's glass, as strong as a third of the digits' contrast."""
    grime = ndimage.gaussian_filter(rng.normal(0, 1, picture.shape[:2]), rng.uniform(0.7, 3))
    grime *= rng.uniform(0.1, 0.35) * contrast / max(float(grime.std()), 1e-6)
    return np.clip(picture + grime[:, :, None].astype(np.float32), 0, 255)


def _meter_look(rng: Rng, faint: bool) -> displays.Look:
    """A meter's LCD photographed in the field: dim segments on a saturated backlight, a contrast the
    single-digit generator keeps clear of, unlit segments up to a third as dark as lit ones (half, when faint),
    the glass sometimes in shadow."""
    background = displays._between(rng, displays._choice(rng, SATURATED_BACKLIGHTS))
    lit = background * (rng.uniform(0.6, 0.85) if faint else rng.uniform(0.2, 0.72))
    unlit = background + (lit - background) * rng.uniform(0.03, 0.5 if faint else 0.35)
    look = displays.Look(background, lit, unlit, 0.0, True)
    return displays._in_shadow(rng, look) if rng.random() < 0.3 else look


def _display_masks(rng: Rng, path: str, text: str) -> tuple[np.ndarray, np.ndarray]:
    """(lit, all segments) masks: each cell drawn as its character over an all-segments cell."""
    size = GLYPH_SIZE
    everything = "~" if "DSEG14" in path else "8"
    small = int(size * rng.uniform(0.5, 0.85)) if "." in text and rng.random() < SMALL_TENTHS_SHARE else size
    blank_cells = int(rng.integers(1, 3)) if rng.random() < 0.3 else 0
    cells = [" "] * blank_cells + list(text)
    advance = _font(path, size).getlength(everything)
    pitch = rng.uniform(*SPACED_PITCH) if rng.random() < SPACED_DISPLAY_SHARE else 1.0
    unit = DISPLAY_UNITS[int(rng.integers(len(DISPLAY_UNITS)))] if rng.random() < 0.35 else ""
    unit_font = _font(_line_fonts()[int(rng.integers(len(_line_fonts())))], int(size * rng.uniform(0.25, 0.5)))
    unit_length = unit_font.getlength(unit)
    left, right = (int(rng.uniform(0.1, 0.6) * size) for _ in range(2))
    right += int(unit_length) + size // 4 if unit else 0
    top, bottom = (int(rng.uniform(0.1, 0.5) * size) for _ in range(2))
    width = int(left + right + advance * (pitch * 1.04 * len(cells) + 0.3))
    lit = Image.new("L", (width, max(size // 2, top + bottom + size + size // 4)))
    segments = Image.new("L", lit.size)
    lit_draw, segments_draw = ImageDraw.Draw(lit), ImageDraw.Draw(segments)
    baseline, col, after_point = top + size, float(left), False
    for char in cells:
        cell_size = small if after_point else size
        font = _font(path, cell_size)
        if char in ".,":
            point_light = int(255 * rng.uniform(*POINT_LIGHT))
            point_col = col - advance * (pitch - 1) / 2  # in the middle of the gap the pitch leaves
            lit_draw.text((point_col, baseline), ".", font=font, fill=point_light, anchor="ls")
            if char == ",":
                lit_draw.line(
                    [(point_col + 1, baseline), (point_col - size * 0.08, baseline + size * 0.18)],
                    fill=255,
                    width=max(2, size // 14),
                )
            after_point = True
            continue
        segments_draw.text((col, baseline), everything, font=font, fill=255, anchor="ls")
        if char != " ":
            lit_draw.text((col, baseline), char, font=font, fill=255, anchor="ls")
        col += font.getlength(everything) * pitch * rng.uniform(1.0, 1.04)
    if unit:  # a unit printed beside the reading (not part of its text), at the top or the bottom
        row = baseline if rng.random() < 0.6 else baseline - size + unit_font.size
        lit_draw.text((col + size * rng.uniform(0.05, 0.3), row), unit, font=unit_font, fill=255, anchor="ls")
    lit_mask = np.asarray(lit, np.float32) / 255
    cell_mask = np.asarray(segments, np.float32) / 255
    segment_mask = np.maximum(cell_mask, lit_mask)
    if rng.random() < CROPPED_DISPLAY_SHARE:
        unit_span = (col, col + size * 0.3 + unit_length) if unit else None
        return _cropped_to_digits(rng, (lit_mask, segment_mask), cell_mask, unit_span)
    return lit_mask, segment_mask


def _cropped_to_digits(
    rng: Rng, masks: tuple[np.ndarray, np.ndarray], cells: np.ndarray, unit_span: tuple[float, float] | None
) -> tuple[np.ndarray, ...]:
    """A meter photo cropped to the digits: the top edge touches or cuts up to 9% of their height, the bottom 6%,
    the left edge sits close, the right one touches the last digit or cuts through the unit beside it."""
    rows, cols = (np.flatnonzero(cells.max(axis=axis) > 0.05) for axis in (1, 0))
    height = rows[-1] + 1 - rows[0]
    top = max(0, rows[0] + int(rng.uniform(-0.05, 0.09) * height))
    bottom = rows[-1] + 1 - int(rng.uniform(-0.05, 0.06) * height)  # keeps the decimal point
    left = max(0, cols[0] - int(rng.uniform(-0.02, 0.25) * height))
    if unit_span:
        right = int(unit_span[0] + rng.uniform(0.2, 1.0) * (unit_span[1] - unit_span[0]))
    else:
        right = cols[-1] + 1 + int(rng.uniform(-0.04, 0.15) * height)
    padded = [np.pad(mask, ((0, max(0, bottom - mask.shape[0])), (0, max(0, right - mask.shape[1])))) for mask in masks]
    return tuple(mask[top:bottom, left:right] for mask in padded)


# --- counter wheels --------------------------------------------------------------------------


WHEEL_GLYPH_HEIGHT = 40  # working pixels


def wheels_line(rng: Rng, text: str) -> Image.Image:
    """A row of counter-wheel windows, one font and drum colour, thin frame posts, the last wheel sometimes red."""
    if not text.isdigit():
        raise ValueError(f"counter wheels show digits only, not {text!r}")
    font = wheels._random_font(rng)
    drum, ink = wheels._wheel_colours(rng)
    frame = rng.uniform(10, 70, 3) if rng.random() < 0.6 else rng.uniform(120, 200) + rng.uniform(-8, 8, 3)
    glyph_height = WHEEL_GLYPH_HEIGHT
    stretch = rng.uniform(0.7, 1.05)
    window_width = int(
        max(render_glyph(font, 64, digit).shape[1] for digit in range(10))
        * glyph_height
        / 64
        * stretch
        / rng.uniform(0.45, 0.85)  # the digit's share of its window
    )
    window_height = int(glyph_height * rng.uniform(1.3, 1.55))
    post = max(2, int(window_width * rng.uniform(0.12, 0.6)))
    margin = int(glyph_height * rng.uniform(0.05, 0.35))
    red_last = rng.random() < 0.35
    shading = rng.uniform(0.5, 3)
    rounded = rng.random() < ROUNDED_WINDOW_SHARE
    radius, rim, rim_colour = rng.uniform(0.3, 0.5) * window_width, rng.uniform(0.05, 0.2), rng.uniform(5, 60, 3)
    windows = []
    for index, char in enumerate(text):
        last = index == len(text) - 1
        colours = (
            (np.array([rng.uniform(150, 210), 30.0, 40.0]), np.full(3, 235.0)) if last and red_last else (drum, ink)
        )
        roll = rng.uniform(-0.1, 0.1) if last and rng.random() < 0.4 else rng.uniform(-0.03, 0.03)
        window = _wheel_window(rng, font, int(char), (window_height, window_width), stretch, roll, colours, shading)
        windows.append(_with_rounded_rim(window, radius, rim * window_width, rim_colour) if rounded else window)
    picture = np.broadcast_to(
        frame, (window_height + 2 * margin, margin * 2 + len(text) * (window_width + post) - post, 3)
    )
    picture = picture.astype(np.float32).copy()
    for index, window in enumerate(windows):
        col = margin + index * (window_width + post)
        picture[margin : margin + window_height, col : col + window_width] = window
    image = Image.fromarray(np.clip(picture, 0, 255).astype(np.uint8), mode="RGB")
    if rng.random() < 0.5:
        image = image.rotate(rng.uniform(-2, 2), Image.Resampling.BILINEAR, fillcolor=tuple(frame.astype(int)))
    stored = _stored(rng, np.asarray(image, np.float32), _log_uniform(rng, 20, 100), math.exp(rng.uniform(-0.15, 0.15)))
    return _captured(rng, stored, _contrast(drum, ink), stored.height * glyph_height / image.height)


def _with_rounded_rim(window: np.ndarray, radius: float, rim: float, colour: np.ndarray) -> np.ndarray:
    """The window seen through a hole with rounded corners: a dark rim `rim` pixels wide inside the
    hole's edge, and the rim's colour outside it (the drum's 1 then sits in a dark oval, like a 0)."""
    height, width = window.shape[:2]
    radius = min(radius, height / 2, width / 2)
    rows = np.abs(np.arange(height) + 0.5 - height / 2)[:, None] - (height / 2 - radius)
    cols = np.abs(np.arange(width) + 0.5 - width / 2)[None, :] - (width / 2 - radius)
    outside = np.hypot(np.maximum(rows, 0), np.maximum(cols, 0)) + np.minimum(np.maximum(rows, cols), 0) - radius
    shade = np.clip((outside + rim) / 1.5, 0, 1)[:, :, None]  # 0 on the drum, 1 on the rim, a pixel's blend
    return window * (1 - shade) + colour * shade


def _wheel_window(
    rng: Rng, font: str, digit: int, shape: tuple[int, int], stretch: float, roll: float, colours, shading
) -> np.ndarray:
    """One window: the digit (rolled by `roll` of the pitch, the next one coming in below) on a shaded drum."""
    height, width = shape
    drum, ink = colours
    pitch = WHEEL_GLYPH_HEIGHT * 1.45
    coverage = np.zeros(shape, np.float32)
    for shown, offset in ((digit, -roll), ((digit + 1) % 10, 1 - roll), ((digit - 1) % 10, -1 - roll)):
        glyph = render_glyph(font, 64, shown)
        scale = WHEEL_GLYPH_HEIGHT / render_glyph(font, 64, 0).shape[0]
        size = (max(1, round(glyph.shape[1] * scale * stretch)), max(1, round(glyph.shape[0] * scale)))
        resized = np.asarray(Image.fromarray(glyph, mode="F").resize(size, Image.Resampling.BILINEAR))
        row = int(round(height / 2 + offset * pitch - size[1] / 2))
        col = (width - size[0]) // 2
        displays._paste(coverage, resized, row, col)
    coverage = np.clip(coverage, 0, 1)[:, :, None]
    angles = (np.arange(height) + 0.5 - height / 2) / (height / 2) * rng.uniform(0.6, 1.0)
    light = (np.cos(angles) ** shading)[:, None, None]
    window = (drum * (1 - coverage) + ink * coverage) * light
    shadow = 1 - rng.uniform(0, 0.5) * np.exp(-np.arange(height) / max(1.0, height * 0.08))
    return window * shadow[:, None, None]


# --- handwritten -----------------------------------------------------------------------------


@lru_cache(maxsize=1)
def _mnist_train() -> tuple[np.ndarray, list[np.ndarray]]:
    """The MNIST training part as 0..1 masks, and the indices of each digit."""
    images, labels = handwritten.mnist_split()["train"]
    return images.astype(np.float32) / 255, [np.flatnonzero(labels == digit) for digit in range(10)]


def handwritten_line(rng: Rng, text: str) -> Image.Image:
    """MNIST digits written as a number; hand-drawn separators; plain paper or a cheque with a ruled line."""
    images, by_digit = _mnist_train()
    height = rng.uniform(18, 24)
    fine_pen = rng.random() < 0.4  # a ballpoint on a cheque writes thinner than MNIST's felt tip
    european = rng.random() < EUROPEAN_HAND_SHARE
    last_mark = max(text.rfind("."), text.rfind(","))
    small_from = last_mark if last_mark > 0 and rng.random() < SMALL_GROUP_SHARE else len(text)
    small = rng.uniform(0.55, 0.85)  # the group after it, as "50.000" is often written: small zeros
    masks = [
        _hand_separator(rng, char, height)
        if char in SEPARATORS
        else _hand_digit(
            rng, images, by_digit, int(char), height * (small if index > small_from else 1), fine_pen, european
        )
        for index, char in enumerate(text)
    ]
    shown = text
    if rng.random() < END_MARK_SHARE:  # laid out as a separator is: in its own box, clear of the last digit
        masks, shown = [*masks, _end_mark(rng, height)], text + "-"
    laid_out = _lay_out(rng, masks, shown, rng.uniform(-1, 4), 1.5, 0)
    placements = [
        (_hand_row(char, mask, height) + int(round(rng.normal(0, 1))), col, mask)
        for char, (_, col, mask) in zip(shown, laid_out)
    ]
    mask, _ = _canvas_mask(placements, 0)
    mask = np.pad(
        mask, ((int(rng.uniform(2, 10)), int(rng.uniform(4, 12))), (int(rng.uniform(2, 14)), int(rng.uniform(2, 14))))
    )
    if rng.random() < 0.5:
        mask = _slanted(mask, rng.uniform(-0.35, 0.35))
    if rng.random() < TIGHT_LINE_SHARE:
        left, top, right, bottom = _tight_box(rng, mask, round(height))
        mask = mask[top:bottom, left:right]
    paper = _random_light(rng)
    ink = (
        np.array([rng.uniform(10, 60), rng.uniform(20, 70), rng.uniform(80, 160)])
        if rng.random() < 0.5
        else _random_dark(rng)
    )
    picture = (
        _cheque(rng, mask.shape, paper)
        if rng.random() < 0.4
        else np.broadcast_to(paper, (*mask.shape, 3)).astype(np.float32)
    )
    picture = picture + degrade._texture(rng, *mask.shape)[:, :, None] * 0.5 if rng.random() < 0.5 else picture
    if rng.random() < 0.4:
        row = min(mask.shape[0] - 1, _ink_rows(mask)[1] + int(rng.integers(0, 4)))
        picture[row : row + int(rng.integers(1, 3))] = paper * rng.uniform(0.4, 0.75)
    if rng.random() < FORM_FIELD_SHARE:
        _draw_field_sides(rng, picture, mask, paper * rng.uniform(0.3, 0.75))
    alpha = (mask * rng.uniform(0.75, 1.0))[:, :, None]
    picture = picture * (1 - alpha) + ink * alpha
    stored = _stored(rng, picture, _log_uniform(rng, 26, 100), math.exp(rng.uniform(-0.15, 0.1)))
    return _captured(rng, stored, _contrast(paper, ink), stored.height * 0.6)


def _draw_field_sides(rng: Rng, picture: np.ndarray, mask: np.ndarray, colour: np.ndarray) -> None:
    """A form field's sides in the margins left and right of the writing (each most of the time), whole or
    in part: a side is not a 1."""
    inked = np.flatnonzero(mask.max(axis=0) > 0.5)
    if inked.size == 0:
        return
    thickness = int(rng.integers(1, 3))
    height = picture.shape[0]
    for start, stop in ((0, inked[0] - 1), (inked[-1] + 2, picture.shape[1])):
        if stop - start < thickness or rng.random() < 0.3:
            continue
        col = int(rng.integers(start, stop - thickness + 1))
        top, bottom = (0, height) if rng.random() < 0.6 else sorted(rng.integers(0, height + 1, 2))
        picture[top:bottom, col : col + thickness] = colour


def _hand_digit(
    rng: Rng,
    images: np.ndarray,
    by_digit: list[np.ndarray],
    digit: int,
    height: float,
    fine_pen: bool = False,
    european: bool = False,
) -> np.ndarray:
    choices = by_digit[digit]
    glyph = degrade.crop_to_ink(images[choices[int(rng.integers(len(choices)))]])
    if european and digit in (1, 7):
        glyph = _european(rng, glyph, digit)
    if fine_pen:
        glyph = _thinned(glyph)
    scale = height * rng.uniform(0.88, 1.12) / glyph.shape[0]
    size = (max(1, round(glyph.shape[1] * scale)), max(1, round(glyph.shape[0] * scale)))
    return np.clip(np.asarray(Image.fromarray(glyph, mode="F").resize(size, Image.Resampling.BILINEAR)), 0, 1)


def _european(rng: Rng, glyph: np.ndarray, digit: int) -> np.ndarray:
    """A 1 with a long up-stroke or a 7 crossed in the middle, as many European hands write them (MNIST's
    writers rarely do)."""
    height, width = glyph.shape
    inked_rows = (glyph > 0.5).sum(axis=1)
    pen = float(np.clip(np.median(inked_rows[inked_rows > 0]), 1.5, height * 0.2))
    pad = int(height * 0.45)
    canvas = Image.fromarray(np.round(np.pad(glyph, ((0, 0), (pad, pad))) * 255).astype(np.uint8), mode="L")
    top = int(np.flatnonzero(inked_rows)[0])
    top_cols = np.flatnonzero(glyph[top] > 0.5) if (glyph[top] > 0.5).any() else np.flatnonzero(glyph[top] > 0)
    if digit == 1:
        start = (pad + float(top_cols.mean()), top + pen / 2)
        end = (start[0] - height * rng.uniform(0.2, 0.4), start[1] + height * rng.uniform(0.2, 0.4))
    else:
        row = top + height * rng.uniform(0.42, 0.6)
        cols = np.flatnonzero(glyph[min(height - 1, int(row))] > 0.3)
        middle = pad + (float(cols.mean()) if len(cols) else width / 2)
        half = width * rng.uniform(0.2, 0.35)
        tilt = height * rng.uniform(-0.05, 0.05)
        start, end = (middle - half, row + tilt), (middle + half, row - tilt)
    ImageDraw.Draw(canvas).line([start, end], fill=255, width=max(1, round(pen)))
    return degrade.crop_to_ink(np.asarray(canvas, np.float32) / 255)


def _thinned(glyph: np.ndarray) -> np.ndarray:
    """The strokes about half as thick: eroded at twice the resolution, unless that breaks them."""
    doubled = np.asarray(
        Image.fromarray(glyph, mode="F").resize((glyph.shape[1] * 2, glyph.shape[0] * 2), Image.Resampling.BILINEAR)
    )
    eroded = ndimage.grey_erosion(doubled, size=(3, 3))
    return np.clip(eroded, 0, 1) if degrade.topology(eroded) == degrade.topology(doubled) else np.clip(doubled, 0, 1)


def _slanted(mask: np.ndarray, shear: float) -> np.ndarray:
    """The whole line sheared (a writer's slant), widened so that nothing is cut off."""
    height, width = mask.shape
    extra = int(abs(shear) * height) + 1
    padded = np.pad(mask, ((0, 0), (extra, extra)))
    offset = shear * height / 2
    sheared = Image.fromarray(padded, mode="F").transform(
        padded.shape[::-1], Image.Transform.AFFINE, (1, shear, -offset, 0, 1, 0), Image.Resampling.BILINEAR
    )
    return np.clip(np.asarray(sheared), 0, 1)


def _hand_separator(rng: Rng, char: str, height: float) -> np.ndarray:
    """A pen dot, a dot with a tail, or a short dash, in a box `height` tall with the baseline at the bottom."""
    box = Image.new("L", (int(height * 0.6) + 4, int(height * 1.3)), 0)
    draw = ImageDraw.Draw(box)
    pen = rng.uniform(1.6, 2.6)
    x, base = 2 + pen, height - pen
    if char == "-":
        middle = height * rng.uniform(0.45, 0.6)
        length = height * rng.uniform(0.3, 0.5)
        draw.line(
            [(2, middle + rng.uniform(-1, 1)), (2 + length, middle + rng.uniform(-1, 1))],
            fill=255,
            width=max(2, round(pen)),
        )
    else:
        draw.ellipse([x - pen, base - pen, x + pen, base + pen], fill=255)
        if char == ",":
            draw.line([(x + pen * 0.5, base), (x - pen, base + height * 0.25)], fill=255, width=max(2, round(pen)))
    return _ink_columns(box)


def _end_mark(rng: Rng, height: float) -> np.ndarray:
    """The strokes a cheque writer closes an amount with, so that nothing can be added: "=", "-" or ".-", in a
    box `height` tall with the baseline at the bottom, as `_hand_separator` draws."""
    kind = ("=", "-", ".-")[int(rng.integers(3))]
    length = height * rng.uniform(0.4, 1.0)
    box = Image.new("L", (int(length + height * 0.5) + 6, int(height * 1.3)), 0)
    draw = ImageDraw.Draw(box)
    pen = max(2, round(rng.uniform(1.6, 2.6)))
    start = 2.0
    if kind == ".-":
        draw.ellipse([start, height - 2 * pen, start + pen * 1.5, height - pen * 0.5], fill=255)
        start += pen * 1.5 + height * rng.uniform(0.1, 0.3)
    for row in (0.4, 0.62) if kind == "=" else (rng.uniform(0.45, 0.65),):
        middle = height * (row + rng.uniform(-0.04, 0.04))
        draw.line([(start, middle), (start + length, middle + rng.uniform(-2, 2))], fill=255, width=pen)
    return _ink_columns(box)


def _hand_row(char: str, mask: np.ndarray, height: float) -> int:
    """Top row that stands the character on the baseline at `height` (a separator's box already does)."""
    return 0 if char in SEPARATORS else int(round(height - _bottom_ink_row(mask)))


def _bottom_ink_row(mask: np.ndarray) -> int:
    return int(np.flatnonzero(mask.max(axis=1) > 0.05)[-1]) + 1


def _cheque(rng: Rng, shape: tuple[int, int], paper: np.ndarray) -> np.ndarray:
    """A light guilloche pattern: thin interfering waves in a pale tint."""
    rows, cols = np.mgrid[0 : shape[0], 0 : shape[1]].astype(np.float32)
    frequency, bend = rng.uniform(0.3, 0.8), rng.uniform(2, 8)
    waves = np.sin(cols * frequency * 0.3 + bend * np.sin(rows * rng.uniform(0.05, 0.2) + cols * 0.02))
    lines = np.clip(1 - np.abs(waves) * 4, 0, 1) * rng.uniform(0.08, 0.25)
    tint = paper * rng.uniform(0.6, 0.95, 3)
    return paper * (1 - lines[:, :, None]) + tint * lines[:, :, None]


# --- one digit alone --------------------------------------------------------------------------


def single_digit_line(rng: Rng, text: str) -> Image.Image:
    """One digit as the single-digit generators draw it (a wheel with its neighbours rolling in, a
    display cell with its unlit segments, a scene crop, a handwritten or printed digit): in `auto` mode
    the line reader must tell such a crop for one character, not several."""
    kinds = list(SINGLE_DIGIT_DRAWERS)
    return SINGLE_DIGIT_DRAWERS[kinds[int(rng.integers(len(kinds)))]](rng, int(text))


def _printed_digit(rng: Rng, digit: int) -> Image.Image:
    return printed.random_printed_digit(rng, list(_line_fonts()), digit)


def _handwritten_digit(rng: Rng, digit: int) -> Image.Image:
    images, by_digit = _mnist_train()
    return handwritten.augmented_handwritten(rng, images[by_digit[digit][int(rng.integers(len(by_digit[digit])))]])


SINGLE_DIGIT_DRAWERS: dict[str, Callable[[Rng, int], Image.Image]] = {
    "printed": _printed_digit,
    "handwritten": _handwritten_digit,
    "display": displays.random_display_digit,
    "wheel": wheels.random_wheel_digit,
    "scene": scene.random_scene_digit,
}


# --- the line --------------------------------------------------------------------------------


Style = Callable[[Rng, str], Image.Image]
STYLES: dict[str, Style] = {
    "printed": printed_line,
    "captcha": captcha_line,
    "display": display_line,
    "wheels": wheels_line,
    "handwritten": handwritten_line,
    "single": single_digit_line,
}
RESIZED_ASPECT_SHARE = 0.4
ASPECT_FACTORS = (0.55, 2.0)  # the width's factor, drawn log-uniform
STYLE_WEIGHTS = {"printed": 0.28, "captcha": 0.12, "display": 0.23, "wheels": 0.11, "handwritten": 0.20, "single": 0.06}


def random_line(rng: Rng) -> tuple[Image.Image, str]:
    """One picture of a line of characters and its text, in a random style."""
    names = list(STYLES)
    weights = np.array([STYLE_WEIGHTS[name] for name in names])
    style = names[int(rng.choice(len(names), p=weights / weights.sum()))]
    return line_in_style(rng, style)


def line_in_style(rng: Rng, style: str) -> tuple[Image.Image, str]:
    """One picture of a line in `style` (a key of STYLES) and its text, sometimes resized to another aspect
    (crops of readings are often stored at one fixed size, whatever the number of digits)."""
    text = text_for_style(rng, style)
    picture = STYLES[style](rng, text)
    if rng.random() < RESIZED_ASPECT_SHARE:
        picture = _widened(picture, _log_uniform(rng, *ASPECT_FACTORS))
    return picture, text


def _widened(picture: Image.Image, factor: float) -> Image.Image:
    return picture.resize((max(8, round(picture.width * factor)), picture.height), Image.Resampling.BILINEAR)


def text_for_style(rng: Rng, style: str) -> str:
    """A text the style can show: counters show digits only, a single digit is one."""
    if style == "single":
        return str(int(rng.integers(10)))
    if style == "display" and rng.random() < METER_TEXT_SHARE:
        return meter_text(rng)
    if style == "handwritten" and rng.random() < AMOUNT_TEXT_SHARE:
        return amount_text(rng)
    return counter_text(rng) if style == "wheels" else random_text(rng)
