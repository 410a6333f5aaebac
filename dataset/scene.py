"""Digits cropped from photographs of scenes: house numbers, street signs, painted numbers, plates, price tags.

A line of digits is painted on a procedural surface (brick, wood, stucco, brushed metal, foliage, gradients),
sometimes on a bordered plaque, seen at an angle, cropped around the middle digit as a detector would
(tight, cut by the edge, or loose with slivers of the neighbours) and captured with blur, uneven light,
noise and JPEG. A share are binarised white-on-black licence-plate characters at 20x20.
"""

from __future__ import annotations

import colorsys
import math
from functools import lru_cache
from typing import NamedTuple

import numpy as np
from PIL import Image, ImageDraw, ImageFilter
from scipy import ndimage

from dataset import degrade, fonts, printed

Rng = np.random.Generator

PLATE_SHARE = 0.12
STRETCHES = tuple(round(math.exp(step), 2) for step in np.linspace(-0.3, 0.12, 8))  # few, so glyphs cache
FONT_SIZES = (22, 32, 46)  # digit heights of about 16, 23 and 33 px: the scene is composed at that scale
NEIGHBOUR_SHARE = 0.2  # at most this share of the crop's width may show a neighbouring digit, per side
MAX_CUT_INK = 0.06  # a crop edge may hide this share of the digit's ink, never a whole stroke
MIN_GREY_CONTRAST = 45.0  # luma difference below which only the colours tell ink from paint: keep RGB


class Colours(NamedTuple):
    wall: np.ndarray
    plaque: np.ndarray
    ink: np.ndarray
    edge: np.ndarray  # outline, shadow or plaque border


class Scene(NamedTuple):
    image: Image.Image  # RGB
    masks: Image.Image  # RGB: red = the middle digit's ink, green = its neighbours' (one transform for both)

    def digit(self) -> np.ndarray:
        return np.asarray(self.masks)[:, :, 0]

    def neighbours(self) -> np.ndarray:
        return np.asarray(self.masks)[:, :, 1]


HAIRLINE_WEIGHTS = ("Hairline", "Thin", "Light")  # too faint for painted or cast numbers; vanish when small


@lru_cache(maxsize=1)
def _training_fonts() -> tuple[str, ...]:
    paths = fonts.font_paths(fonts.split_families()[0])
    return tuple(path for path in paths if not any(weight in path for weight in HAIRLINE_WEIGHTS))


def random_scene_digit(rng: Rng, digit: int) -> Image.Image:
    """One photographed digit of a sign, plaque, wall, plate or label, as an RGB or L picture."""
    if rng.random() < PLATE_SHARE:
        return segmented_plate_character(rng, digit)
    return photographed_sign_digit(rng, digit)


# --- licence-plate characters ----------------------------------------------------------------


def segmented_plate_character(rng: Rng, digit: int) -> Image.Image:
    """A narrow digit, binarised white on black in a 20x20 square, as plate readers segment them."""
    paths = _training_fonts()
    glyph = _glyph(paths[rng.integers(len(paths))], FONT_SIZES[0], digit)
    height = int(rng.integers(14, 20))
    width = max(3, min(18, round(height * rng.uniform(0.38, 0.62) * (0.6 if digit == 1 else 1.0))))
    glyph = np.asarray(Image.fromarray(glyph, mode="F").resize((width, height), Image.Resampling.BILINEAR))
    noisy = glyph + rng.normal(0, 0.08, glyph.shape)
    ink = noisy > rng.uniform(0.3, 0.5)
    if degrade.topology(ink) != degrade.topology(glyph):  # thresholding broke a stroke or closed a loop
        ink = glyph > 0.3
    square = np.zeros((20, 20), np.uint8)
    top = int(rng.integers(0, 21 - height))
    left = 10 - width // 2 + int(rng.integers(-1, 2))
    square[top : top + height, left : left + width] = ink * 255
    return degrade._jpeg_round_trip(Image.fromarray(square, mode="L"), int(rng.integers(70, 96))).convert("L")


# --- photographed signs ----------------------------------------------------------------------


def photographed_sign_digit(rng: Rng, digit: int) -> Image.Image:
    crop_height = degrade.random_glyph_height(rng, 12, 160)
    font_size = FONT_SIZES[int(np.searchsorted([26, 60], crop_height))]
    colours = _sign_colours(rng, crop_height)
    paths = _training_fonts()
    path = paths[rng.integers(len(paths))]
    stretch = STRETCHES[rng.integers(len(STRETCHES))]
    scene = _compose(rng, path, font_size, digit, stretch, colours, crop_height)
    scene = _seen_at_an_angle(rng, scene, colours.wall, max_lean=printed.ONE_MAX_LEAN if digit == 1 else 15.0)
    box = _detector_crop(rng, scene)
    crop = scene.image.crop(box)
    scale = crop_height / crop.height
    size = (max(6, round(crop.width * scale)), max(8, round(crop_height)))
    picture = crop.resize(size, degrade._resampling_filter(rng))
    digit_box = _ink_box(scene.digit())
    glyph_height = crop_height * (digit_box[3] - digit_box[1]) / max(1, box[3] - box[1])
    picture = _captured(rng, picture, colours, glyph_height)
    grey_contrast = abs(degrade._luma(colours.plaque) - degrade._luma(colours.ink))
    if grey_contrast >= MIN_GREY_CONTRAST and rng.random() < 0.2:
        return picture.convert("L")
    return picture


@lru_cache(maxsize=8192)
def _glyph(path: str, size: int, digit: int) -> np.ndarray:
    glyph = printed.render_glyph(path, size, digit)
    return glyph / max(float(glyph.max()), 1e-6)


@lru_cache(maxsize=16384)
def _stretched_glyph(path: str, size: int, digit: int, stretch: float) -> np.ndarray:
    glyph = _glyph(path, size, digit)
    width = max(2, round(glyph.shape[1] * stretch))
    return np.asarray(Image.fromarray(glyph, mode="F").resize((width, glyph.shape[0]), Image.Resampling.BILINEAR))


# colours ------------------------------------------------------------------------------------

SIGN_PAIRS = (  # (paint behind the digit, digit) typical of real signs, RGB
    ((30, 70, 150), (245, 245, 240)),  # white on blue street plaque
    ((20, 100, 60), (240, 240, 230)),  # white on green
    ((240, 200, 30), (20, 20, 20)),  # black on yellow
    ((70, 45, 30), (200, 80, 40)),  # orange-red on dark brown
    ((60, 130, 70), (40, 70, 170)),  # blue on green
    ((15, 15, 15), (210, 170, 80)),  # brass on black
    ((180, 30, 30), (245, 240, 235)),  # white on red
    ((235, 235, 230), (25, 25, 30)),  # black on white
)


def _sign_colours(rng: Rng, crop_height: float) -> Colours:
    """Wall, plaque, digit and edge colours that a person tells apart (by hue alone only when not tiny)."""
    roll = rng.random()
    if roll < 0.3:
        plaque, ink = (np.array(colour, float) + rng.uniform(-25, 25, 3) for colour in SIGN_PAIRS[rng.integers(8)])
        if rng.random() < 0.3:
            plaque, ink = ink, plaque
    else:
        plaque, ink = _random_pair(rng, allow_hue_only=crop_height >= 20 and roll < 0.5)
    plaque, ink = np.clip(plaque, 0, 255), np.clip(ink, 0, 255)
    wall = _random_colour(rng) if rng.random() < 0.6 else plaque
    edge = ink * 0.25 if rng.random() < 0.5 else 255 - (255 - ink) * 0.2
    if abs(degrade._luma(edge) - degrade._luma(plaque)) < 40:
        edge = np.full(3, 255.0 if degrade._luma(plaque) < 128 else 0.0)
    return Colours(*(np.asarray(colour, np.float32) for colour in (wall, plaque, ink, edge)))


def _random_colour(rng: Rng) -> np.ndarray:
    hue, saturation, value = rng.random(), rng.uniform(0, 1) ** 1.5, rng.uniform(0.08, 1)
    return np.array(colorsys.hsv_to_rgb(hue, saturation, value)) * 255


def _random_pair(rng: Rng, allow_hue_only: bool) -> tuple[np.ndarray, np.ndarray]:
    while True:
        plaque, ink = _random_colour(rng), _random_colour(rng)
        luma_gap = abs(degrade._luma(plaque) - degrade._luma(ink))
        distance = float(np.linalg.norm(plaque - ink))
        if luma_gap > 70 or (allow_hue_only and luma_gap > 20 and distance > 150):
            return plaque, ink


# surfaces -----------------------------------------------------------------------------------


def _surface(rng: Rng, height: int, width: int, colour: np.ndarray, kind: str) -> np.ndarray:
    """A float RGB surface of `colour` with the texture of `kind`."""
    if kind == "brick":
        shade = _brick(rng, height, width)
    elif kind == "wood":
        shade = _wood_grain(rng, height, width)
    elif kind == "metal":
        streaks = rng.normal(0, 1, (height, 1)) + 0.5 * rng.normal(0, 1, (height, width))  # brushed along rows
        shade = 1 + streaks * rng.uniform(0.02, 0.05)
    elif kind == "foliage":
        return _foliage(rng, height, width, colour)
    elif kind == "stucco":
        shade = 1 + _blotches(rng, (height, width), rng.uniform(1, 4)) * rng.uniform(0.03, 0.12)
    else:  # smooth paint with a gradient of light
        shade = degrade._lighting(rng, height, width)
    return colour * np.asarray(shade, np.float32)[:, :, None]


def _brick(rng: Rng, height: int, width: int) -> np.ndarray:
    brick_height = rng.uniform(6, 16)
    brick_width = brick_height * rng.uniform(2, 3.2)
    rows, cols = np.ogrid[0:height, 0:width]
    course = np.floor(rows / brick_height)
    shifted = cols + (course % 2) * brick_width / 2
    column = np.floor(shifted / brick_width)
    mortar = ((rows % brick_height) < 1.5) | ((shifted % brick_width) < 1.5)
    jitter = np.sin(course * 12.9898 + column * 78.233 + rng.uniform(0, 100)) * rng.uniform(0.04, 0.15)
    return np.where(mortar, rng.uniform(0.6, 1.4), 1 + jitter)


def _wood_grain(rng: Rng, height: int, width: int) -> np.ndarray:
    rows, cols = np.ogrid[0:height, 0:width]
    if rng.random() < 0.3:
        rows, cols = cols, rows  # planks standing up
    phases, waves = rng.uniform(0, 2 * math.pi, 2), rng.uniform(0.03, 0.12, 2)
    warp = rng.uniform(2, 8) * (np.sin(cols * waves[0] + phases[0]) + np.sin(rows * cols * 0.002 + phases[1]))
    return 1 + rng.uniform(0.05, 0.15) * np.sin((rows + warp) * rng.uniform(0.4, 1.2)).astype(np.float32)


def _foliage(rng: Rng, height: int, width: int, colour: np.ndarray) -> np.ndarray:
    leaves = (_blotches(rng, (height, width), rng.uniform(3, 7)) > 0)[:, :, None]
    green = np.array(colorsys.hsv_to_rgb(rng.uniform(0.18, 0.4), rng.uniform(0.4, 0.9), rng.uniform(0.2, 0.7))) * 255
    return np.where(leaves, green.astype(np.float32), colour * 0.6)


# composition --------------------------------------------------------------------------------


def _compose(
    rng: Rng, path: str, font_size: int, digit: int, stretch: float, colours: Colours, crop_height: float
) -> Scene:
    """A wall with (sometimes) a bordered plaque and a painted line of digits with `digit` in the middle."""
    main = _stretched_glyph(path, font_size, digit, stretch)
    glyph_height, glyph_width = main.shape
    gap = max(3, round(glyph_height * rng.uniform(0.2, 0.4)))  # closer, a neighbour's sliver joins the digit
    left = _neighbour(rng, path, font_size, stretch)
    right = _neighbour(rng, path, font_size, stretch)
    margin = round(glyph_height * rng.uniform(0.5, 0.8))  # room for loose crops, the plaque and the tilt
    height = glyph_height + 2 * margin
    width = glyph_width + 2 * margin
    line = np.zeros((height, left.shape[1] + right.shape[1] + glyph_width + 2 * gap + 2 * margin, 2), np.float32)
    x = margin
    for piece, channel in ((left, 1), (main, 0), (right, 1)):
        top = margin + glyph_height - piece.shape[0]  # digits share a baseline
        line[top : top + piece.shape[0], x : x + piece.shape[1], channel] = piece
        x += piece.shape[1] + gap
    first = left.shape[1] + gap if left.shape[1] else 0
    line = line[:, first : first + width]  # only slivers of the neighbours can ever show in a crop
    digit_mask, neighbour_mask = line[:, :, 0], line[:, :, 1]
    picture = _backdrop(rng, height, width, colours, margin, glyph_height)
    stroke = _stroke_width(path, font_size, digit) * min(1.0, stretch)
    picture = _paint_digits(rng, picture, digit_mask + neighbour_mask, colours, (glyph_height, stroke), crop_height)
    image = Image.fromarray(np.clip(picture, 0, 255).astype(np.uint8), mode="RGB")
    masks = np.zeros((height, width, 3), np.uint8)
    masks[:, :, :2] = np.clip(line, 0, 1) * 255
    return Scene(image, Image.fromarray(masks, mode="RGB"))


def _neighbour(rng: Rng, path: str, font_size: int, stretch: float) -> np.ndarray:
    if rng.random() < 0.35:
        return np.zeros((1, 0), np.float32)
    return _stretched_glyph(path, font_size, int(rng.integers(10)), stretch)


def _backdrop(rng: Rng, height: int, width: int, colours: Colours, margin: int, glyph_height: int) -> np.ndarray:
    kinds = ("paint", "stucco", "brick", "wood", "metal", "foliage")
    wall_kind = kinds[rng.choice(6, p=[0.25, 0.2, 0.15, 0.15, 0.1, 0.15])]
    wall = _surface(rng, height, width, colours.wall, wall_kind)
    plaque_needed = wall_kind in ("foliage", "brick") or not np.array_equal(colours.wall, colours.plaque)
    if not plaque_needed and rng.random() < 0.7:
        return wall
    plaque_kind = ("paint", "stucco", "metal", "wood")[rng.integers(4)]
    plaque = _surface(rng, height, width, colours.plaque, plaque_kind)
    inset = round(margin * rng.uniform(0.05, 0.6))
    box = (inset, inset, width - 1 - inset, height - 1 - inset)
    inside = Image.new("L", (width, height), 0)
    draw = ImageDraw.Draw(inside)
    draw.rounded_rectangle(box, radius=int(rng.uniform(0, 0.4) * glyph_height), fill=255)
    alpha = (np.asarray(inside, np.float32) / 255)[:, :, None]
    picture = wall * (1 - alpha) + plaque * alpha
    if rng.random() < 0.5:
        border = Image.new("L", (width, height), 0)
        thickness = max(1, round(glyph_height * rng.uniform(0.03, 0.08)))
        step = round(margin * rng.uniform(0.1, 0.3)) + thickness
        inner = (box[0] + step, box[1] + step, box[2] - step, box[3] - step)
        ImageDraw.Draw(border).rounded_rectangle(inner, radius=int(0.2 * glyph_height), outline=255, width=thickness)
        line = (np.asarray(border, np.float32) / 255)[:, :, None]
        picture = picture * (1 - line) + colours.edge * line
    return picture


STYLES = ("fill", "outline", "outlined", "shadow", "emboss")
STYLE_SHARES = (0.45, 0.12, 0.15, 0.15, 0.13)


def _paint_digits(
    rng: Rng, picture: np.ndarray, mask: np.ndarray, colours: Colours, sizes: tuple[int, float], crop_height: float
) -> np.ndarray:
    """Fill, outline only, outlined fill, drop shadow or emboss; the paint a little uneven."""
    glyph_height, stroke = sizes
    style = STYLES[rng.choice(len(STYLES), p=STYLE_SHARES)]
    if style == "outline" and (crop_height < 24 or stroke < 5):
        style = "fill"
    if style == "shadow":
        dx, dy = rng.integers(1, max(2, round(glyph_height * 0.08)) + 1, 2) * rng.choice([-1, 1], 2)
        shadow = ndimage.gaussian_filter(np.roll(mask, (dy, dx), axis=(0, 1)), rng.uniform(0, 1.2))
        picture = _laid_on(picture, shadow * rng.uniform(0.5, 0.9), picture * 0.35)
    elif style == "emboss":
        step = max(1, round(glyph_height * 0.03))
        picture = _laid_on(picture, np.roll(mask, (-step, -step), axis=(0, 1)) * 0.6, np.minimum(picture * 1.5, 255))
        picture = _laid_on(picture, np.roll(mask, (step, step), axis=(0, 1)) * 0.6, picture * 0.4)
    elif style == "outlined":
        grown = ndimage.grey_dilation(mask, size=(3, 3)) if stroke < 8 else ndimage.grey_dilation(mask, size=(5, 5))
        picture = _laid_on(picture, grown, colours.edge)
    if style == "outline":
        ring = max(1, round(stroke * rng.uniform(0.18, 0.3)))
        mask = mask - ndimage.grey_erosion(mask, size=(2 * ring + 1, 2 * ring + 1))
    paint = colours.ink * _uneven(rng, mask.shape)[:, :, None]
    return _laid_on(picture, mask * rng.uniform(0.85, 1.0), paint)


def _uneven(rng: Rng, shape: tuple[int, int]) -> np.ndarray:
    if rng.random() < 0.5:
        return np.ones(shape, np.float32)
    return 1 + _blotches(rng, shape, rng.uniform(3, 8)) * rng.uniform(0.03, 0.1)


def _blotches(rng: Rng, shape: tuple[int, int], size: float) -> np.ndarray:
    """Smooth noise of unit spread with blobs of about `size` pixels: coarse noise, upsampled."""
    coarse = rng.normal(0, 1, (max(2, round(shape[0] / size)), max(2, round(shape[1] / size)))).astype(np.float32)
    return np.asarray(Image.fromarray(coarse, mode="F").resize(shape[::-1], Image.Resampling.BICUBIC))


def _laid_on(picture: np.ndarray, alpha: np.ndarray, colour: np.ndarray) -> np.ndarray:
    alpha = np.clip(alpha, 0, 1)[:, :, None]
    return picture * (1 - alpha) + colour * alpha


@lru_cache(maxsize=8192)
def _stroke_width(path: str, size: int, digit: int) -> float:
    return 2 * float(ndimage.distance_transform_edt(_glyph(path, size, digit) > 0.5).max())


# geometry -----------------------------------------------------------------------------------


def _seen_at_an_angle(rng: Rng, scene: Scene, wall: np.ndarray, max_lean: float) -> Scene:
    """Rotation and perspective: the corners of the scene move, the same for picture and masks."""
    width, height = scene.image.size
    corners = np.array([[0, 0], [width, 0], [width, height], [0, height]], float)
    # a leaning long-flagged 1 reads as a 7, so its lean is capped (degrees, clockwise and anticlockwise)
    angle = math.radians(float(np.clip(rng.normal(0, 5), -max_lean, max_lean)))
    centre = np.array([width / 2, height / 2])
    moved = (corners - centre) @ degrade._rotation(angle).T + centre
    if rng.random() < 0.6:
        tilt = rng.uniform(0, 0.15) * height
        side = rng.choice([0, 1])  # the far side of the sign looks shorter
        far = [1, 2] if side else [0, 3]
        moved[far[0], 1] += tilt
        moved[far[1], 1] -= tilt
        moved += rng.normal(0, 0.03 * height * min(1.0, max_lean / 15), moved.shape)
    coefficients = degrade.perspective_coefficients(moved, corners)
    fill = tuple(int(value) for value in wall)

    def transform(image: Image.Image, colour) -> Image.Image:
        return image.transform(
            image.size, Image.Transform.PERSPECTIVE, coefficients, Image.Resampling.BILINEAR, fillcolor=colour
        )

    return Scene(transform(scene.image, fill), transform(scene.masks, (0, 0, 0)))


def _ink_box(mask: np.ndarray) -> tuple[int, int, int, int]:
    rows = np.flatnonzero(mask.max(axis=1) > 127)
    cols = np.flatnonzero(mask.max(axis=0) > 127)
    if not rows.size:
        return 0, 0, mask.shape[1], mask.shape[0]
    return int(cols[0]), int(rows[0]), int(cols[-1]) + 1, int(rows[-1]) + 1


def _detector_crop(rng: Rng, scene: Scene) -> tuple[int, int, int, int]:
    """Tight around the digit, cut a little by an edge, or loose with background and neighbour slivers."""
    digit = scene.digit()
    left, top, right, bottom = _ink_box(digit)
    width, height = right - left, bottom - top
    roll = rng.random()
    if roll < 0.35:
        pads = rng.uniform(0, 0.06, 4) * height
    elif roll < 0.55:
        pads = rng.uniform(0, 0.05, 4) * height
        for side in rng.choice(4, size=int(rng.integers(1, 3)), replace=False):
            pads[side] = -rng.uniform(0.02, 0.1) * (height if side % 2 else width)
    else:
        pads = rng.uniform(0.05, 0.45, 4) * height
    box = [left - pads[0], top - pads[1], right + pads[2], bottom + pads[3]]
    box = [round(value) for value in box]
    if roll >= 0.35 and roll < 0.55 and not _cut_keeps_digit(digit, box):
        box = [left, top, right, bottom]
    return _without_wide_neighbours(digit, scene.neighbours(), box)


def _cut_keeps_digit(digit: np.ndarray, box: list[int]) -> bool:
    mask = digit.astype(np.float32) / 255
    padded = np.pad(mask, 200)
    inside = padded[box[1] + 200 : box[3] + 200, box[0] + 200 : box[2] + 200]
    lost = 1 - float(inside.sum()) / max(float(mask.sum()), 1e-6)
    return lost <= MAX_CUT_INK and degrade.topology(inside) == degrade.topology(mask)


def _without_wide_neighbours(digit: np.ndarray, neighbours: np.ndarray, box: list[int]) -> tuple[int, int, int, int]:
    """Pull the left and right edges in until a neighbour shows as a sliver of at most NEIGHBOUR_SHARE."""
    columns = neighbours.max(axis=0) > 60
    columns = np.concatenate([np.zeros(200, bool), columns, np.zeros(200, bool)])
    left, top, right, bottom = box
    digit_left, _, digit_right, _ = _ink_box(digit)
    while left < digit_left and columns[left + 200 : digit_left + 200].sum() > NEIGHBOUR_SHARE * (right - left):
        left += 1
    while right > digit_right and columns[digit_right + 200 : right + 200].sum() > NEIGHBOUR_SHARE * (right - left):
        right -= 1
    return left, top, right, bottom


# capture ------------------------------------------------------------------------------------


def _captured(rng: Rng, picture: Image.Image, colours: Colours, glyph_height: float) -> Image.Image:
    """Motion or focus blur, uneven light or a cast shadow, sensor noise and JPEG."""
    blur_roll = rng.random()
    if blur_roll < 0.15 and glyph_height >= 14:
        picture = picture.filter(_motion_kernel(rng))
    elif blur_roll < 0.4:
        picture = picture.filter(ImageFilter.GaussianBlur(rng.uniform(0.2, 0.2 + glyph_height / 35)))
    pixels = np.asarray(picture, np.float32)
    light_roll = rng.random()
    if light_roll < 0.35:
        pixels = pixels * degrade._lighting(rng, *pixels.shape[:2])[:, :, None]
    elif light_roll < 0.5:
        pixels = pixels * _cast_shadow(rng, *pixels.shape[:2])[:, :, None]
    picture = Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8), mode="RGB")
    contrast = float(np.linalg.norm(colours.plaque - colours.ink) / np.sqrt(3))
    picture, _ = degrade.camera_and_scanner_noise(rng, picture, contrast, glyph_height)
    return picture


def _motion_kernel(rng: Rng) -> ImageFilter.Kernel:
    weights = np.zeros((5, 5))
    length = int(rng.integers(1, 3))
    direction = rng.integers(4)
    for step in range(-length, length + 1):
        row, col = [(0, step), (step, 0), (step, step), (step, -step)][direction]
        weights[2 + row, 2 + col] = 1
    return ImageFilter.Kernel((5, 5), weights.reshape(-1).tolist(), scale=float(weights.sum()))


def _cast_shadow(rng: Rng, height: int, width: int) -> np.ndarray:
    """A soft-edged shadow of a pole or an eave over part of the picture."""
    angle = rng.uniform(0, 2 * math.pi)
    rows, cols = np.ogrid[0:height, 0:width]
    along = (math.cos(angle) * (cols - width / 2) + math.sin(angle) * (rows - height / 2)) / max(height, width)
    edge = 1 / (1 + np.exp(-(along - rng.uniform(-0.3, 0.3)) / rng.uniform(0.02, 0.08)))
    return 1 - rng.uniform(0.25, 0.55) * edge
