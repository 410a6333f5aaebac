"""Benchmark inputs: zips of PNG digit images, 28 to 128 px, half printed, half handwritten; zips of
PNG pictures of lines of digits (number mode), drawn by the line reader's own generator.

A pool of distinct pictures is rendered once (the dataset generators), then every zip cycles through
it under unique names: rendering 50,000 images would take longer than the benchmark itself.
"""

from __future__ import annotations

import io
import itertools
import os
import tempfile
import zipfile
from functools import lru_cache
from pathlib import Path

import numpy as np
from PIL import Image

from dataset import fonts, handwritten, lines, printed
from ml.preprocess import ImageError, line_input, open_image, prepare

POOL_SIZE = 2000
LINE_POOL_SIZE = 400
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


def render_line(rng: np.random.Generator) -> bytes:
    """A line in one of the dataset's styles, in its proportions (segment displays need fonts-dseg,
    which scripts/setup.sh installs)."""
    picture, _text = lines.random_line(rng)
    return png_bytes(picture)


def read_line(data: bytes) -> None:
    line_input(open_image(data))


def readable(data: bytes, read=prepare) -> bool:
    """Only images the service can read: a blank one would be an error, not a throughput figure."""
    try:
        read(data)
    except ImageError:
        return False
    return True


def first_readable(renders, size: int, read) -> tuple[bytes, ...]:
    return tuple(itertools.islice((data for data in renders if readable(data, read)), size))


@lru_cache(maxsize=1)
def image_pool(size: int = POOL_SIZE) -> tuple[bytes, ...]:
    rng = np.random.default_rng(SEED)
    font_paths = fonts.font_paths(sorted(fonts.discover_families()))
    mnist, _labels = handwritten.load_mnist()
    return first_readable((render_one(rng, index, font_paths, mnist) for index in itertools.count()), size, prepare)


@lru_cache(maxsize=1)
def line_pool(size: int = LINE_POOL_SIZE) -> tuple[bytes, ...]:
    rng = np.random.default_rng(SEED)
    return first_readable((render_line(rng) for _ in itertools.count()), size, read_line)


POOLS = {"digits": image_pool, "lines": line_pool}


def single_png(index: int) -> bytes:
    pool = image_pool()
    return pool[index % len(pool)]


def member_name(kind: str, index: int) -> str:
    return f"img/{index:06d}_{index % 10}.png" if kind == "digits" else f"{kind}/{index:06d}.png"


class ZipCache:
    """Zips of `count` pictures of a kind of POOLS, written once per run into a temp dir, reused by
    every measurement."""

    def __init__(self):
        self._dir = tempfile.TemporaryDirectory(prefix="zips-", dir=os.environ.get("BENCH_TMP"))
        self._paths: dict[tuple[str, int], Path] = {}

    def path(self, count: int, kind: str = "digits") -> Path:
        if (kind, count) not in self._paths:
            self._paths[kind, count] = self._write(kind, count)
        return self._paths[kind, count]

    def _write(self, kind: str, count: int) -> Path:
        path = Path(self._dir.name) / f"{kind}-{count}.zip"
        pool = POOLS[kind]()
        with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
            for index in range(count):
                archive.writestr(member_name(kind, index), pool[index % len(pool)])
        return path

    def close(self):
        self._dir.cleanup()
