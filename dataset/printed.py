"""Printed digits rendered from the allowed fonts, then degraded."""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from dataset import degrade

RENDER_SIZES = (12, 16, 22, 30, 44, 64, 90)
ONE_MAX_LEAN = 3.0  # degrees clockwise: further, a 1's flag lies flat and people read it as a 7


@lru_cache(maxsize=512)
def _font(path: str, size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(path, size)


@lru_cache(maxsize=4096)
def render_glyph(path: str, size: int, digit: int) -> np.ndarray:
    """Tight ink mask (float 0..1) of one digit, as the font rasteriser draws it."""
    canvas = Image.new("L", (size * 3, size * 3), 0)
    ImageDraw.Draw(canvas).text((size * 1.5, size * 1.5), str(digit), fill=255, font=_font(path, size), anchor="mm")
    box = canvas.getbbox()
    return np.asarray(canvas.crop(box), dtype=np.float32) / 255.0


def random_printed_digit(
    rng: np.random.Generator,
    font_paths: list[str],
    digit: int,
    *,
    one_max_lean: float = ONE_MAX_LEAN,
    tight_crops: float = degrade.TIGHT_CROPS,
) -> Image.Image:
    path = font_paths[rng.integers(len(font_paths))]
    size = int(RENDER_SIZES[rng.integers(len(RENDER_SIZES))])
    glyph = render_glyph(path, size, digit)
    glyph = np.pad(glyph, 2)
    if rng.random() < 0.8:
        glyph = degrade.random_affine(rng, glyph, max_lean=one_max_lean if digit == 1 else degrade.ANY_LEAN)
    if rng.random() < 0.3:
        glyph = degrade.change_stroke_width(rng, glyph, glyph.shape[0])
    glyph = degrade.crop_to_ink(glyph)
    framed, pads = degrade.add_margins(rng, glyph, tight_crops)
    return degrade.degrade(rng, framed, pads, glyph.shape[0], degrade.random_glyph_height(rng))
