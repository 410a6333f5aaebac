"""Build the preprocessed training and validation sets (reproducible from one seed)."""

from __future__ import annotations

import json
import multiprocessing
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

from dataset import degrade, displays, fonts, handwritten, not_digits, printed, real, scene, wheels
from ml.preprocess import ImageError, to_network_input

DEFAULT_OUT = Path(__file__).resolve().parent / "build"
CHUNK = 500
NUMBER_SHARE = 0.5  # whole numbers among the not-digits, for each half of wrong cuts


@dataclass
class BuildConfig:
    seed: int = 0
    printed_train: int = 110_000
    printed_validation: int = 5_000
    capture_train: int = 30_000  # per kind of capture: displays, counter wheels, scene digits
    capture_validation: int = 1_000
    real_copies: int = 8  # augmented copies per real training capture, besides the plain one
    real_sets: tuple[str, ...] = real.SINGLE_DIGIT_SETS  # () trains without any real capture
    mnist_copies: int = 10  # augmented copies per training MNIST digit, besides the plain one
    small_digits_copies: int = 6
    not_digit_train: int = 24_000  # half handwritten, half printed
    not_digit_validation: int = 2_000
    workers: int = 2
    out: Path = DEFAULT_OUT
    only: tuple[str, ...] = ()  # build just these sets (e.g. after adding one), keep the others


@dataclass
class Task:
    kind: str  # "printed", "augment", "plain", "not_digit_*", a CAPTURES kind, "real", "real_augment"
    seed: tuple[int, ...]
    labels: np.ndarray
    source: str
    fonts: list[str] = field(default_factory=list)
    masks: np.ndarray | None = None
    paths: list[str] = field(default_factory=list)  # real captures
    one_max_lean: float = printed.ONE_MAX_LEAN


def network_input_uint8(image) -> np.ndarray:
    return np.round(to_network_input(image) * 255).astype(np.uint8)


def run_task(task: Task) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    images, labels = [], []
    for picture, label in task_pictures([task]):
        try:
            images.append(network_input_uint8(picture))
        except ImageError:
            continue  # an augmentation wiped the ink out; rare, just skip it
        labels.append(label)
    images_array = np.stack(images) if images else np.zeros((0, 28, 28), np.uint8)
    return images_array, np.asarray(labels, np.uint8), np.full(len(labels), task.source)


def task_pictures(tasks: list[Task]) -> Iterator[tuple[Image.Image, int]]:
    """The pictures (before preprocessing) and labels these tasks draw, as `run_task` draws them."""
    for task in tasks:
        rng = np.random.default_rng(np.random.SeedSequence(list(task.seed)))
        for index, label in enumerate(task.labels):
            yield _picture(task, rng, index, int(label)), int(label)


CAPTURES = {  # generated captures: kind -> (rng, digit) -> picture
    "display": displays.random_display_digit,
    "wheel": wheels.random_wheel_digit,
    "scene": scene.random_scene_digit,
}


def _picture(task: Task, rng: np.random.Generator, index: int, label: int):
    if task.kind in CAPTURES:
        return CAPTURES[task.kind](rng, label)
    if task.kind == "real":
        return real.open_picture(Path(task.paths[index]))
    if task.kind == "real_augment":
        return real.augmented_capture(rng, real.open_picture(Path(task.paths[index])))
    if task.kind == "printed":
        return printed.random_printed_digit(rng, task.fonts, label, one_max_lean=task.one_max_lean)
    if task.kind == "augment":
        return handwritten.augmented_handwritten(rng, task.masks[index])
    if task.kind == "not_digit_printed":
        return not_digits.random_printed_not_digit(rng, task.fonts)
    if task.kind == "not_digit_handwritten":
        return not_digits.random_handwritten_not_digit(rng, task.masks)
    if task.kind == "not_digit_number":
        return not_digits.random_number(rng)
    return handwritten.plain_picture(task.masks[index])


def printed_tasks(
    seed: int, purpose: int, count: int, font_paths: list[str], one_max_lean: float = printed.ONE_MAX_LEAN
) -> list[Task]:
    labels = np.arange(count) % 10
    return chunked("printed", (seed, purpose), labels, "printed", fonts=font_paths, one_max_lean=one_max_lean)


def chunked(kind: str, key: tuple[int, ...], labels: np.ndarray, source: str, **fields) -> list[Task]:
    """Tasks of CHUNK labels each, seeded by `key` and where the chunk starts."""
    return [
        Task(kind, (*key, start), labels[start : start + CHUNK], source, **fields)
        for start in range(0, len(labels), CHUNK)
    ]


def handwritten_tasks(
    seed: int, purpose: int, masks: np.ndarray, labels: np.ndarray, source: str, copies: int
) -> list[Task]:
    step = CHUNK // 2
    tasks = []
    for start in range(0, len(masks), step):
        chunk_masks, chunk_labels = masks[start : start + step], labels[start : start + step]
        tasks.append(Task("plain", (seed, purpose, start, 0), chunk_labels, source, masks=chunk_masks))
        for copy in range(1, copies + 1):
            tasks.append(Task("augment", (seed, purpose, start, copy), chunk_labels, source, masks=chunk_masks))
    return tasks


def capture_tasks(seed: int, purpose: int, count: int) -> list[Task]:
    """`count` pictures of each generated kind of capture."""
    labels = np.arange(count) % 10
    return [
        Task(kind, (seed, purpose, number, start), labels[start : start + CHUNK], kind)
        for number, kind in enumerate(CAPTURES)
        for start in range(0, count, CHUNK)
    ]


def real_tasks(seed: int, purpose: int, set_names: tuple[str, ...], part: str, copies: int) -> list[Task]:
    """One part of the copied real sets: each capture plain, plus `copies` augmented ones."""
    tasks = []
    for number, name in enumerate(set_names):
        files = real.labelled_files(name, part)
        for start in range(0, len(files), CHUNK // 2):
            chunk = files[start : start + CHUNK // 2]
            paths, labels = [str(path) for path, _ in chunk], np.asarray([label for _, label in chunk])
            tasks.append(Task("real", (seed, purpose, number, start, 0), labels, name, paths=paths))
            for copy in range(1, copies + 1):
                seed_key = (seed, purpose, number, start, copy)
                tasks.append(Task("real_augment", seed_key, labels, name, paths=paths))
    return tasks


def not_digit_tasks(seed: int, purpose: int, count: int, font_paths: list[str], images: np.ndarray) -> list[Task]:
    """Half printed, half handwritten (from 0..255 MNIST `images`) wrong cuts, labelled NOT_A_DIGIT, and
    besides them whole numbers (`NUMBER_SHARE` of as many), which `auto` mode sends to the line reader."""
    labels = np.full(count // 2, not_digits.NOT_A_DIGIT)
    numbers = labels[: round(len(labels) * NUMBER_SHARE)]
    return (
        chunked("not_digit_printed", (seed, purpose), labels, "not_digit", fonts=font_paths)
        + chunked("not_digit_handwritten", (seed, purpose + 1), labels, "not_digit", masks=images)
        + chunked("not_digit_number", (seed, purpose + 20), numbers, "not_digit_number")
    )


def plan(config: BuildConfig) -> dict[str, list[Task]]:
    train_families, held_out_families = fonts.split_families()
    mnist = handwritten.mnist_split()
    train_mnist, train_mnist_labels = mnist["train"]
    small_masks, small_labels = handwritten.load_small_digits()
    validation_mnist, validation_mnist_labels = mnist["validation"]
    return {
        "train": printed_tasks(
            # training keeps every lean: a flagged stroke leaning right can still be a 1
            config.seed,
            1,
            config.printed_train,
            fonts.font_paths(train_families),
            one_max_lean=degrade.ANY_LEAN,
        )
        + handwritten_tasks(config.seed, 2, train_mnist / 255.0, train_mnist_labels, "mnist", config.mnist_copies)
        + handwritten_tasks(config.seed, 3, small_masks, small_labels, "sklearn_digits", config.small_digits_copies)
        + capture_tasks(config.seed, 10, config.capture_train)
        + real_tasks(config.seed, 11, config.real_sets, "train", config.real_copies),
        "val_printed": printed_tasks(config.seed, 4, config.printed_validation, fonts.font_paths(held_out_families)),
        "val_handwritten": handwritten_tasks(
            config.seed, 5, validation_mnist / 255.0, validation_mnist_labels, "mnist", 0
        ),
        "val_captures": capture_tasks(config.seed, 12, config.capture_validation),
        "val_real": real_tasks(config.seed, 13, real.SINGLE_DIGIT_SETS, "validation", 0),
        "train_not_digit": not_digit_tasks(
            config.seed, 6, config.not_digit_train, fonts.font_paths(train_families), train_mnist
        ),
        "val_not_digit": not_digit_tasks(
            config.seed, 8, config.not_digit_validation, fonts.font_paths(held_out_families), validation_mnist
        ),
    }


def run_tasks(tasks: list[Task], pool) -> dict[str, np.ndarray]:
    results = pool.map(run_task, tasks, chunksize=1) if pool else list(map(run_task, tasks))
    return {
        "images": np.concatenate([images for images, _, _ in results]),
        "labels": np.concatenate([labels for _, labels, _ in results]),
        "source": np.concatenate([sources for _, _, sources in results]).astype("U16"),
    }


def build(config: BuildConfig) -> dict:
    fonts.ensure_font_packages()
    config.out.mkdir(parents=True, exist_ok=True)
    train_families, held_out_families = fonts.split_families()
    manifest_path = config.out / "manifest.json"
    earlier = json.loads(manifest_path.read_text()) if config.only and manifest_path.exists() else {}
    counts, seconds = earlier.get("counts", {}), earlier.get("seconds", {})
    context = multiprocessing.get_context("fork")
    with context.Pool(config.workers) as pool:
        for name, tasks in plan(config).items():
            if config.only and name not in config.only:
                continue
            started = time.time()
            arrays = run_tasks(tasks, pool if config.workers > 1 else None)
            np.savez_compressed(config.out / f"{name}.npz", **arrays)
            sources, source_counts = np.unique(arrays["source"], return_counts=True)
            counts[name] = {str(source): int(count) for source, count in zip(sources, source_counts)}
            seconds[name] = round(time.time() - started, 1)
    manifest = {
        "seed": config.seed,
        "counts": counts,
        "seconds": seconds,
        "train_families": train_families,
        "held_out_families": held_out_families,
        "mnist_validation_size": handwritten.MNIST_VALIDATION_SIZE,
        "mnist_split_seed": handwritten.MNIST_SPLIT_SEED,
        "real_sets_trained_on": list(config.real_sets),
        "build_seconds": round(sum(seconds.values()), 1),
    }
    manifest_path.write_text(json.dumps(manifest, indent=2))
    return manifest


def load_split(name: str, directory: Path = DEFAULT_OUT) -> dict[str, np.ndarray]:
    with np.load(directory / f"{name}.npz") as data:
        return {key: data[key] for key in data.files}
