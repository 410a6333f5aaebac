"""Benchmark inputs: zips of PNG digit images, 28 to 128 px, half printed, half handwritten.

A pool of distinct images is rendered once (the dataset generators), then every zip cycles through
it under unique names: rendering 50,000 images would take longer than the benchmark itself.
"""

from __future__ import annotations

import io
import os
import tempfile
import zipfile
from functools import lru_cache
from pathlib import Path

import numpy as np
from PIL import Image

from dataset import fonts, handwritten, printed
from ml.preprocess import ImageError, prepare

POOL_SIZE = 2000
MIN_SIDE, MAX_SIDE = 28, 128
SEED = 2026


def fit_side(image: Image.Image, side: int) -> Image.Image:
    """Scale so the longer side is `side` pixels."""
    scale = side / max(image.size)
    size = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
    return image.resize(size, Image.Resampling.BILINEAR if image.mode != "1" else Image.Resampling.NEAREST)


def png_bytes(image: Image.Image) -> bytes:
    output = io.BytesIO()
    image.save(output, format="PNG")
    return output.getvalue()


def render_one(rng: np.random.Generator, index: int, font_paths: list[str], mnist: np.ndarray) -> bytes:
    digit = index % 10
    if index % 2 == 0:
        picture = printed.random_printed_digit(rng, font_paths, digit)
    else:
        picture = handwritten.augmented_handwritten(rng, mnist[rng.integers(len(mnist))] / 255.0)
    return png_bytes(fit_side(picture, int(rng.integers(MIN_SIDE, MAX_SIDE + 1))))


def readable(data: bytes) -> bool:
    """Only images the service can read: a blank one would be an error, not a throughput figure."""
    try:
        prepare(data)
    except ImageError:
        return False
    return True


@lru_cache(maxsize=1)
def image_pool(size: int = POOL_SIZE) -> tuple[bytes, ...]:
    rng = np.random.default_rng(SEED)
    font_paths = fonts.font_paths(sorted(fonts.discover_families()))
    mnist, _labels = handwritten.load_mnist()
    pool, index = [], 0
    while len(pool) < size:
        data = render_one(rng, index, font_paths, mnist)
        index += 1
        if readable(data):
            pool.append(data)
    return tuple(pool)


def single_png(index: int) -> bytes:
    pool = image_pool()
    return pool[index % len(pool)]


class ZipCache:
    """Zips of `count` images written once per run into a temp dir, reused by every measurement."""

    def __init__(self):
        self._dir = tempfile.TemporaryDirectory(prefix="zips-", dir=os.environ.get("BENCH_TMP"))
        self._paths: dict[int, Path] = {}

    def path(self, count: int) -> Path:
        if count not in self._paths:
            self._paths[count] = self._write(count)
        return self._paths[count]

    def _write(self, count: int) -> Path:
        path = Path(self._dir.name) / f"digits-{count}.zip"
        pool = image_pool()
        with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
            for index in range(count):
                archive.writestr(f"img/{index:06d}_{index % 10}.png", pool[index % len(pool)])
        return path

    def close(self):
        self._dir.cleanup()
