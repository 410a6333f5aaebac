"""Turn an ink-coverage mask (float, 1 = ink) into a realistic, degraded picture of a digit.

Shared by printed and handwritten samples: geometry, stroke width, margins, stray box lines,
colours and backgrounds, resolution, blur, noise and JPEG artefacts.
"""

from __future__ import annotations

import io
import math
from typing import NamedTuple

import numpy as np
from PIL import Image, ImageFilter
from scipy import ndimage

Rng = np.random.Generator


# --- geometry --------------------------------------------------------------------------------


ANY_LEAN = 90.0  # degrees: no cap on the lean


def random_affine(
    rng: Rng, mask: np.ndarray, max_rotation: float = 12.0, max_shear: float = 0.2, max_lean: float = ANY_LEAN
) -> np.ndarray:
    """Rotate, shear and stretch; `max_lean` caps the clockwise lean (rotation and shear, degrees)."""
    angle = rng.uniform(-max_rotation, max_rotation)
    shear = rng.uniform(-max_shear, max_shear) if rng.random() < 0.4 else 0.0
    angle = math.radians(min(angle, max_lean + math.degrees(math.atan(shear))))  # shear < 0 leans clockwise
    stretch = math.exp(rng.uniform(-0.2, 0.2))  # width / height aspect change
    forward = _rotation(angle) @ np.array([[1.0, shear], [0.0, 1.0]]) @ np.diag([stretch, 1.0])
    return _apply_affine(mask, forward)


def _rotation(angle: float) -> np.ndarray:
    return np.array([[math.cos(angle), -math.sin(angle)], [math.sin(angle), math.cos(angle)]])


def _apply_affine(mask: np.ndarray, forward: np.ndarray) -> np.ndarray:
    """Apply a 2x2 (x, y) matrix about the centre, growing the canvas so nothing is cut."""
    height, width = mask.shape
    corners = np.array([[0, 0], [width, 0], [0, height], [width, height]], dtype=float) - [width / 2, height / 2]
    moved = corners @ forward.T
    new_width, new_height = (np.ceil(moved.max(axis=0) - moved.min(axis=0)) + 2).astype(int)
    inverse = np.linalg.inv(forward)
    # PIL maps output (x, y) to input: input = inverse @ (out - out_centre) + in_centre
    offset = np.array([width / 2, height / 2]) - inverse @ np.array([new_width / 2, new_height / 2])
    coefficients = (inverse[0, 0], inverse[0, 1], offset[0], inverse[1, 0], inverse[1, 1], offset[1])
    image = Image.fromarray(mask.astype(np.float32), mode="F")
    moved_image = image.transform(
        (int(new_width), int(new_height)), Image.Transform.AFFINE, coefficients, Image.Resampling.BILINEAR
    )
    return np.asarray(moved_image)


def perspective_coefficients(output_corners: np.ndarray, input_corners: np.ndarray) -> tuple[float, ...]:
    """PIL's 8 PERSPECTIVE coefficients mapping an output pixel to the input pixel it shows."""
    rows = []
    for (x, y), (u, v) in zip(output_corners, input_corners):
        rows.append([x, y, 1, 0, 0, 0, -u * x, -u * y])
        rows.append([0, 0, 0, x, y, 1, -v * x, -v * y])
    return tuple(np.linalg.solve(np.array(rows), input_corners.reshape(-1)))


def elastic_distortion(rng: Rng, mask: np.ndarray, alpha: float, sigma: float) -> np.ndarray:
    """Simard et al. (2003) elastic deformation, the classic handwriting augmentation."""
    shape = mask.shape
    dx = ndimage.gaussian_filter(rng.uniform(-1, 1, shape), sigma) * alpha
    dy = ndimage.gaussian_filter(rng.uniform(-1, 1, shape), sigma) * alpha
    rows, cols = np.meshgrid(np.arange(shape[0]), np.arange(shape[1]), indexing="ij")
    return ndimage.map_coordinates(mask, [rows + dy, cols + dx], order=1, mode="constant")


def change_stroke_width(rng: Rng, mask: np.ndarray, glyph_height: float) -> np.ndarray:
    """Dilate or erode by up to ~6% of the glyph height (ink spread, thin toner), unless that changes
    the digit's topology: an erosion that wipes out a 4's thin crossbar or breaks a stroke, a dilation
    that closes a 6's loop into a 0's would leave a picture of another digit under this one's label."""
    radius = int(round(rng.uniform(0, 0.06) * glyph_height))
    if radius < 1:
        return mask
    size = 2 * radius + 1
    if rng.random() < 0.5:
        changed = ndimage.grey_dilation(mask, size=(size, size))
    else:
        changed = ndimage.grey_erosion(mask, size=(size, size))
        if changed.max() <= 0.5:
            return mask
    if topology(changed) != topology(mask):
        return mask
    return changed


def topology(mask: np.ndarray) -> tuple[int, int]:
    """(pieces of ink, holes in it): 1 and 0 for a 1, 1 and 2 for an 8."""
    ink = mask > 0.5
    _, pieces = ndimage.label(ink)
    _, regions = ndimage.label(np.pad(~ink, 1, constant_values=True))
    return pieces, regions - 1  # every background region but the outside one is a hole


def crop_to_ink(mask: np.ndarray) -> np.ndarray:
    rows = np.flatnonzero(mask.max(axis=1) > 0.05)
    cols = np.flatnonzero(mask.max(axis=0) > 0.05)
    return mask[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]


TIGHT_CROPS = 0.2  # share of pictures cropped to the glyph, as real crops of a digit often are
MAX_CUT = 0.06  # of the glyph's extent a tight crop may cut off a side


def add_margins(
    rng: Rng, glyph: np.ndarray, tight_crops: float = TIGHT_CROPS
) -> tuple[np.ndarray, tuple[int, int, int, int]]:
    """Pad each side by 3..80% of the glyph height; or, for a `tight_crops` share of the pictures, crop
    tight: each side touching the glyph, cutting a little of it off, or just clear of it. Returns
    (canvas, pads), a cut side's pad being 0."""
    height, width = glyph.shape
    if rng.random() >= tight_crops:
        pads = tuple(int(rng.uniform(0.03, 0.8) * height) for _ in range(4))
        top, bottom, left, right = pads
        return np.pad(glyph, ((top, bottom), (left, right))), pads
    across = min(width, height)  # a line of digits is cut by a share of one digit, not of the line
    top, bottom, left, right = (tight_side(rng, extent, height) for extent in (height, height, across, across))
    cut = glyph[max(0, -top) : height - max(0, -bottom), max(0, -left) : width - max(0, -right)]
    pads = tuple(max(0, side) for side in (top, bottom, left, right))
    return np.pad(cut, ((pads[0], pads[1]), (pads[2], pads[3]))), pads


def tight_side(rng: Rng, extent: int, height: int) -> int:
    """A side's pad in pixels: negative cuts the glyph."""
    draw = rng.random()
    if draw < 0.45:
        return 0
    if draw < 0.75:
        return -int(rng.uniform(0, MAX_CUT) * extent)
    return int(rng.uniform(0.01, 0.06) * height)


def add_stray_lines(rng: Rng, canvas: np.ndarray, pads: tuple[int, int, int, int], glyph_height: int) -> np.ndarray:
    """Form-box borders or an underline in the margin, as in crops of filled-in forms."""
    canvas = canvas.copy()
    height, width = canvas.shape
    thickness = max(1, int(rng.uniform(0.02, 0.06) * glyph_height))
    for _ in range(rng.integers(1, 3)):
        side = int(rng.integers(4))
        room = pads[side] - thickness - max(1, int(0.05 * glyph_height))  # keep a gap to the glyph
        if room < 0:
            continue
        offset = int(rng.integers(0, room + 1))
        start, stop = sorted(rng.uniform(0, 1, 2))
        if side in (0, 1):
            row = offset if side == 0 else height - offset - thickness
            canvas[row : row + thickness, int(start * width) : int(stop * width) + 1] = 1
        else:
            col = offset if side == 2 else width - offset - thickness
            canvas[int(start * height) : int(stop * height) + 1, col : col + thickness] = 1
    return canvas


# --- appearance ------------------------------------------------------------------------------

NOISE_FLOOR = 6.0  # grey levels of quantisation and compression noise that every picture has
SOLID_STROKES = 0.6  # ink coverage along the strokes from which a halfway threshold keeps them whole
MIN_LEGIBILITY = 3.0  # stroke contrast over the noise below which strokes start to drown (judged by eye)
STRENGTHS = (1.0, 0.5, 0.25, 0.0)  # texture, blur, noise and JPEG weaken in these steps until legible
TEXTURE_WEIGHT = 1.5  # blotchy paper texture hides strokes more than fine sensor grain of the same spread


def degrade(rng: Rng, framed: np.ndarray, pads, glyph_height: float, target_glyph_height: float) -> Image.Image:
    """Ink mask (glyph already shaped and framed) -> stored, degraded picture that a person can still read."""
    if rng.random() < 0.12:
        framed = add_stray_lines(rng, framed, pads, int(glyph_height))
    background, ink = _contrasting_colours(rng)
    scale = target_glyph_height / glyph_height
    photo = legible_photograph(rng, framed, background, ink, scale=scale, glyph_height=target_glyph_height)
    return random_storage_mode(rng, photo, background, ink, target_glyph_height)


class Photo(NamedTuple):
    image: Image.Image
    legibility: float  # the strokes' grey-level contrast over the noise's spread
    stroke_level: float  # typical ink coverage along the strokes, 1 = solid
    ink_cover: float  # the share of pixels that are mostly ink


def legible_photograph(
    rng: Rng, mask: np.ndarray, background: np.ndarray, ink: np.ndarray, *, scale: float, glyph_height: float
) -> Photo:
    """Degrade at full strength first, and weaker while the noise drowns the strokes.

    `scale` resizes the framed mask; `glyph_height` is the digit's height after that, in pixels.
    """
    for strength in STRENGTHS:
        photo = photograph(rng, mask, background, ink, scale=scale, glyph_height=glyph_height, strength=strength)
        if photo.legibility >= MIN_LEGIBILITY:
            break
    return photo


def photograph(
    rng: Rng,
    mask: np.ndarray,
    background: np.ndarray,
    ink: np.ndarray,
    *,
    scale: float,
    glyph_height: float,
    strength: float,
) -> Photo:
    """Paint, resample, blur and add noise; legibility = the strokes' grey-level contrast over the noise's."""
    texture = _texture(rng, *mask.shape) * strength if rng.random() < 0.3 else np.zeros(mask.shape, np.float32)
    picture, ink_share = paint(rng, mask, background, ink, texture)
    resample = _resampling_filter(rng)
    blur = _blur_radius(rng, glyph_height) * strength
    image = _resized(Image.fromarray(picture.astype(np.uint8), mode="RGB"), scale, resample)
    image = image.filter(ImageFilter.GaussianBlur(blur)) if blur > 0 else image
    ink_map = np.asarray(_resized(Image.fromarray(ink_share, mode="F"), scale, resample))
    ink_map = ndimage.gaussian_filter(ink_map, blur) if blur > 0 else ink_map
    colour_distance = float(np.linalg.norm(background - ink) / np.sqrt(3))
    image, sensor_noise = camera_and_scanner_noise(rng, image, colour_distance, glyph_height, strength)
    coverage = stroke_level(ink_map)
    noise = max(NOISE_FLOOR, math.hypot(sensor_noise, TEXTURE_WEIGHT * float(texture.std())))
    legibility = coverage * abs(_luma(background) - _luma(ink)) / noise
    return Photo(image, legibility, coverage, float((ink_map >= 0.5).mean()))


def stroke_level(ink_map: np.ndarray) -> float:
    """Typical ink coverage along the strokes (1 = solid), after resampling and blur thinned them."""
    strokes = ink_map[ink_map > 0.1 * float(ink_map.max())]
    return float(np.percentile(strokes, 75)) if strokes.size else 0.0


def paint(
    rng: Rng, mask: np.ndarray, background: np.ndarray, ink: np.ndarray, texture: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """(RGB float picture of ink over textured paper, the ink's share of each pixel)."""
    height, width = mask.shape
    paper = np.broadcast_to(background, (height, width, 3)).astype(np.float32) + texture[:, :, None]
    alpha = mask * rng.uniform(0.75, 1.0)
    picture = paper * (1 - alpha[:, :, None]) + np.asarray(ink, dtype=np.float32) * alpha[:, :, None]
    light = _lighting(rng, height, width) if rng.random() < 0.35 else np.ones((height, width))
    picture = picture * light[:, :, None]
    dim = min(1.0, 255.0 / max(float(picture.max()), 1.0))  # dim rather than clip
    return np.clip(picture * dim, 0, 255), (alpha * light * dim).astype(np.float32)


def _contrasting_colours(rng: Rng) -> tuple[np.ndarray, np.ndarray]:
    while True:
        if rng.random() < 0.55:  # the common case: grey-ish paper and ink
            paper_level, ink_level = rng.uniform(170, 255), rng.uniform(0, 90)
            background = paper_level + rng.uniform(-15, 15, 3)
            ink = ink_level + rng.uniform(-20, 20, 3)
            if rng.random() < 0.3:
                background, ink = ink, background
        else:
            background, ink = rng.uniform(0, 255, 3), rng.uniform(0, 255, 3)
        if np.linalg.norm(background - ink) > 100 and abs(_luma(background) - _luma(ink)) > 60:
            return np.clip(background, 0, 255), np.clip(ink, 0, 255)


def _luma(colour: np.ndarray) -> float:
    return float(colour @ np.array([0.299, 0.587, 0.114]))


def _texture(rng: Rng, height: int, width: int) -> np.ndarray:
    grain = ndimage.gaussian_filter(rng.normal(0, 1, (height, width)), rng.uniform(0.5, 4))
    return (grain / max(grain.std(), 1e-6) * rng.uniform(3, 18)).astype(np.float32)


def _lighting(rng: Rng, height: int, width: int) -> np.ndarray:
    """A linear brightness gradient across the picture (uneven light, shadow)."""
    angle = rng.uniform(0, 2 * math.pi)
    rows, cols = np.mgrid[0:height, 0:width]
    ramp = np.cos(angle) * cols / width + np.sin(angle) * rows / height
    ramp = ramp - ramp.mean()
    return 1.0 + rng.uniform(0.1, 0.5) * ramp


def _resampling_filter(rng: Rng) -> Image.Resampling:
    filters = [Image.Resampling.BOX, Image.Resampling.BILINEAR, Image.Resampling.LANCZOS, Image.Resampling.NEAREST]
    return filters[rng.choice(len(filters), p=[0.4, 0.3, 0.2, 0.1])]


def _resized(image: Image.Image, scale: float, resample: Image.Resampling) -> Image.Image:
    return image.resize((max(1, round(image.width * scale)), max(1, round(image.height * scale))), resample)


def _blur_radius(rng: Rng, glyph_height: float) -> float:
    if rng.random() >= 0.35:
        return 0.0
    small = glyph_height < 16  # a few pixels of blur already erase such digits
    return rng.uniform(0.3, 0.6 if small else 1.2) * max(1.0, glyph_height / 28)


def camera_and_scanner_noise(
    rng: Rng, image: Image.Image, contrast: float, glyph_height: float, strength: float = 1.0
) -> tuple[Image.Image, float]:
    """Sensor noise, salt-and-pepper and JPEG; returns the picture and the sensor noise's sigma."""
    small = glyph_height < 16
    pixels = np.asarray(image, dtype=np.float32)
    sigma = 0.0
    if rng.random() < 0.4:
        sigma = rng.uniform(0.02, 0.06 if small else 0.1 if glyph_height < 40 else 0.16) * contrast * strength
        pixels = pixels + rng.normal(0, sigma, pixels.shape[:2])[:, :, None]
    if rng.random() < 0.1 and not small and strength > 0:
        pixels = _salt_and_pepper(rng, pixels, rng.uniform(0.002, 0.015))
    image = Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8), mode="RGB")
    if rng.random() < 0.35 and strength > 0:
        image = _jpeg_round_trip(image, int(rng.uniform(60 if small else 25, 92)))
    return image, sigma


def _salt_and_pepper(rng: Rng, pixels: np.ndarray, density: float) -> np.ndarray:
    pixels = pixels.copy()
    hits = rng.random(pixels.shape[:2])
    pixels[hits < density / 2] = 0
    pixels[hits > 1 - density / 2] = 255
    return pixels


def _jpeg_round_trip(image: Image.Image, quality: int) -> Image.Image:
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=quality)
    return Image.open(io.BytesIO(buffer.getvalue())).convert("RGB")


def random_storage_mode(
    rng: Rng, photo: Photo, background: np.ndarray, ink: np.ndarray, glyph_height: float
) -> Image.Image:
    roll = rng.random()
    if roll < 0.4:
        return photo.image.convert("L")
    if roll < 0.45 and glyph_height >= 20 and photo.stroke_level >= SOLID_STROKES:
        return _bilevel(photo, background, ink)
    return photo.image


def _bilevel(photo: Photo, background: np.ndarray, ink: np.ndarray) -> Image.Image:
    """Fax/bilevel scan: threshold halfway between paper and ink, unless that loses the ink or
    turns shading and noise into ink."""
    grey = photo.image.convert("L")
    middle = (_luma(background) + _luma(ink)) / 2
    levels = np.asarray(grey)
    is_ink = levels < middle if _luma(ink) < _luma(background) else levels > middle
    if not 0.5 * photo.ink_cover <= is_ink.mean() <= 2 * photo.ink_cover + 0.01:
        return grey
    return grey.point(lambda value: 255 if value > middle else 0).convert("1")


def random_glyph_height(rng: Rng, low: float = 8, high: float = 300) -> float:
    """Log-uniform: as many tiny thumbnails as big scans."""
    return float(math.exp(rng.uniform(math.log(low), math.log(high))))
