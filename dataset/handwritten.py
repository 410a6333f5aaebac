"""Handwritten digits: the local MNIST half and scikit-learn's 8x8 digits, elastically augmented."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
from PIL import Image

from dataset import degrade

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_MNIST = REPO_ROOT / "dataset" / "data" / "mnist" / "mnist-test-half-a.npz"
MNIST_VALIDATION_SIZE = 1000
MNIST_SPLIT_SEED = 20260  # fixed, independent of the build seed: validation never moves


def mnist_path() -> Path:
    return Path(os.environ.get("MNIST_NPZ", DEFAULT_MNIST))


def load_mnist() -> tuple[np.ndarray, np.ndarray]:
    with np.load(mnist_path()) as data:
        return data["images"], data["labels"].astype(np.uint8)


def mnist_split() -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """{"train": (images, labels), "validation": (images, labels)} with a fixed held-out part."""
    images, labels = load_mnist()
    order = np.random.default_rng(MNIST_SPLIT_SEED).permutation(len(images))
    validation, train = np.sort(order[:MNIST_VALIDATION_SIZE]), np.sort(order[MNIST_VALIDATION_SIZE:])
    return {"train": (images[train], labels[train]), "validation": (images[validation], labels[validation])}


def load_small_digits() -> tuple[np.ndarray, np.ndarray]:
    """scikit-learn's 1,797 8x8 digits (0..16 ink) as 0..1 masks upscaled to 32x32."""
    from sklearn.datasets import load_digits

    bunch = load_digits()
    masks = np.stack([_upscale(image / 16.0, 32) for image in bunch.images])
    return masks, bunch.target.astype(np.uint8)


def _upscale(mask: np.ndarray, side: int) -> np.ndarray:
    image = Image.fromarray(mask.astype(np.float32), mode="F").resize((side, side), Image.Resampling.BICUBIC)
    return np.clip(np.asarray(image), 0, 1)


def plain_picture(mask: np.ndarray) -> Image.Image:
    """The mask as an ordinary white-on-black 8-bit image (MNIST's own look)."""
    return Image.fromarray((np.clip(mask, 0, 1) * 255).astype(np.uint8), mode="L")


def augmented_handwritten(rng: np.random.Generator, mask: np.ndarray) -> Image.Image:
    """Elastic + affine + stroke changes; half stay plain, half get photo/scan degradations."""
    side = mask.shape[0]
    upscaled = _upscale(mask, side * 2)
    shaped = degrade.elastic_distortion(rng, upscaled, alpha=rng.uniform(4, 12) * 2, sigma=rng.uniform(3.5, 5) * 2)
    if rng.random() < 0.7:
        shaped = degrade.random_affine(rng, np.pad(shaped, 4), max_rotation=12, max_shear=0.25)
    if rng.random() < 0.25:
        shaped = degrade.change_stroke_width(rng, shaped, shaped.shape[0] * 0.7)
    if shaped.max() < 0.2:
        shaped = upscaled
    glyph = degrade.crop_to_ink(np.clip(shaped, 0, 1))
    if rng.random() < 0.15:
        return scanned_small(rng, glyph)
    if rng.random() < 0.5:
        return plain_picture(np.pad(glyph, 6))
    framed, pads = degrade.add_margins(rng, glyph)
    return degrade.degrade(rng, framed, pads, glyph.shape[0], degrade.random_glyph_height(rng, 10, 200))


def scanned_small(rng: np.random.Generator, glyph: np.ndarray, side: int | None = None) -> Image.Image:
    """A form's digit scanned into a tiny cell (as postal-code sets are, 16x16 or so; of `side` pixels, else
    12-20): the glyph fills the cell's height, sometimes widened towards its width, touching the edges,
    blurred by the downscaling, dark on light or light on dark."""
    side = int(rng.integers(12, 21)) if side is None else side
    height, width = glyph.shape
    widen = rng.uniform(1.0, 1.6) if rng.random() < 0.4 else 1.0
    new_width = int(np.clip(round(width * side / height * widen), 1, side))
    small = Image.fromarray((glyph * 255).astype(np.uint8), mode="L").resize((new_width, side), Image.Resampling.BOX)
    cell = Image.new("L", (side, side), 0)
    cell.paste(small, ((side - new_width) // 2, 0))
    low, high = rng.uniform(0, 60), rng.uniform(190, 255)
    pixels = low + np.asarray(cell, dtype=np.float32) / 255.0 * (high - low)
    if rng.random() < 0.5:
        pixels = 255.0 - pixels
    return Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8), mode="L")
