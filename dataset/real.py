"""Real captures copied into the repository (dataset/data/real/, where a set's licence allows it),
each split into a training part, a validation part (calibration and checks) and a test part that
nothing is trained or tuned on."""

from __future__ import annotations

import csv
import math
from collections import defaultdict
from pathlib import Path

import numpy as np
from PIL import Image, ImageFilter

from dataset import degrade
from ml import preprocess

REAL_DIR = Path(__file__).resolve().parent / "data" / "real"
SINGLE_DIGIT_SETS = ("lcd_7seg_digit",)
LINE_SETS = ("captcha_4digit",)
LINE_SPLIT_SEED = 2026
PARTS = ("train", "validation", "test")
BLOCKS = 10  # per label, the frames sorted by their source path are cut into this many runs ...
PART_OF_BLOCK = ("train",) * 6 + ("validation",) * 2 + ("test",) * 2  # ... and whole runs go to a part


def labelled_files(set_name: str, part: str, root: Path = REAL_DIR) -> list[tuple[Path, int]]:
    """(image path, digit) of one part of a copied single-digit set.

    Neighbouring frames of a video are near-duplicates, so the split is by runs of consecutive
    frames (the source paths sorted per label), never at random: a test frame's twin is not trained on."""
    folder = root / set_name
    with open(folder / "labels.csv", newline="") as labels_file:
        labels = {row["file"]: row["label"] for row in csv.DictReader(labels_file)}
    with open(folder / "sources.csv", newline="") as sources_file:
        sources = {row["file"]: row["source_path"] for row in csv.DictReader(sources_file)}
    by_label: dict[str, list[str]] = defaultdict(list)
    for name in sorted(labels, key=sources.__getitem__):
        by_label[labels[name]].append(name)
    chosen = []
    for label, names in sorted(by_label.items()):
        for rank, name in enumerate(names):
            if PART_OF_BLOCK[rank * BLOCKS // len(names)] == part:
                chosen.append((folder / name, int(label)))
    return chosen


def open_picture(path: Path) -> Image.Image:
    """A copied picture in RGB as the service reads an upload of it (a captcha's transparent ground
    included: `convert("RGB")` would show the colour stored under it, which the reader never looks at)."""
    return preprocess.opaque(preprocess.open_image(path.read_bytes())).convert("RGB")


def augmented_capture(rng: np.random.Generator, picture: Image.Image) -> Image.Image:
    """Another capture of the same display: reframed, tilted, rescaled, lit, blurred and compressed
    differently, so that a few thousand frames of two displays teach more than those two displays."""
    return _recaptured(rng, _reframed(rng, picture), max_rotation=5, min_scale=0.2)


def augmented_line(rng: np.random.Generator, picture: Image.Image) -> Image.Image:
    """Another capture of a line: as `augmented_capture`, but never cropped (a digit at the end would go)."""
    return _recaptured(rng, picture, max_rotation=2, min_scale=0.4)


def _recaptured(rng: np.random.Generator, picture: Image.Image, *, max_rotation: float, min_scale: float):
    edge_colour = tuple(int(v) for v in np.median(np.asarray(picture)[[0, -1]].reshape(-1, 3), axis=0))
    angle = rng.uniform(-max_rotation, max_rotation)
    picture = picture.rotate(angle, resample=Image.Resampling.BILINEAR, fillcolor=edge_colour)
    scale = math.exp(rng.uniform(math.log(min_scale), math.log(1.2)))
    picture = degrade._resized(picture, scale, degrade._resampling_filter(rng))
    pixels = np.asarray(picture, dtype=np.float32)
    gain, offset = rng.uniform(0.7, 1.25), rng.uniform(-25, 25)
    pixels = np.clip(pixels * gain + offset + rng.uniform(-15, 15, 3), 0, 255)
    picture = Image.fromarray(pixels.astype(np.uint8), mode="RGB")
    if rng.random() < 0.3:
        picture = picture.filter(ImageFilter.GaussianBlur(rng.uniform(0.3, 1.2)))
    contrast = float(np.ptp(pixels)) or 1.0
    picture, _ = degrade.camera_and_scanner_noise(rng, picture, contrast / 2, picture.height)
    return picture.convert("L") if rng.random() < 0.3 else picture


def _reframed(rng: np.random.Generator, picture: Image.Image) -> Image.Image:
    """Crop each side in or out by up to 12% of the picture (out: the edge pixels repeat)."""
    width, height = picture.size
    left, right = (rng.uniform(-0.12, 0.12, 2) * width).round().astype(int)
    top, bottom = (rng.uniform(-0.12, 0.12, 2) * height).round().astype(int)
    padded = np.pad(
        np.asarray(picture), ((max(0, -top), max(0, -bottom)), (max(0, -left), max(0, -right)), (0, 0)), "edge"
    )
    rows = slice(max(0, top), padded.shape[0] - max(0, bottom))
    cols = slice(max(0, left), padded.shape[1] - max(0, right))
    return Image.fromarray(padded[rows, cols])


def labelled_lines(set_name: str, part: str, root: Path = REAL_DIR) -> list[tuple[Path, str]]:
    """(image path, text) of one part of a copied line set, split at random with a fixed seed (its
    pictures are independent draws of one generator, not frames of a video)."""
    folder = root / set_name
    with open(folder / "labels.csv", newline="") as labels_file:
        rows = sorted((row["file"], row["label"]) for row in csv.DictReader(labels_file))
    order = np.random.default_rng(LINE_SPLIT_SEED).permutation(len(rows))
    parts = np.asarray(PART_OF_BLOCK)[np.arange(len(rows)) * BLOCKS // len(rows)]
    return [(folder / rows[index][0], rows[index][1]) for index in np.sort(order[parts == part])]
