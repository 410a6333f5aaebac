"""Train the digit classifier on the built dataset and export the calibrated LiteRT artifact."""

from __future__ import annotations

import hashlib
import json
import os
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from dataset.build import DEFAULT_OUT as DATASET_DIR
from ml import calibration
from ml.inference import DIGITS
from ml.preprocess import ImageError, open_image, to_network_input

ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
VALIDATION_SETS = ("val_printed", "val_handwritten", "val_captures", "val_real")  # digits: targets, calibration
NOT_DIGIT_SETS = ("train_not_digit", "val_not_digit")  # wrong cuts of numbers, label 10
MAX_KERAS_BYTES = 5_000_000


@dataclass
class TrainConfig:
    dataset_dir: Path = DATASET_DIR
    artifacts_dir: Path = ARTIFACTS
    extra_dir: Path | None = None
    epochs: int = 10
    batch_size: int = 256
    learning_rate: float = 3e-3
    seed: int = 0
    deterministic: bool = True


def load_split(directory: Path, name: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    with np.load(directory / f"{name}.npz") as data:
        return data["images"], data["labels"].astype(np.int64), data["source"]


def load_extra(directory: Path) -> tuple[np.ndarray, np.ndarray]:
    """Labelled corrections: DIR/<digit>/*.png, preprocessed exactly like every other image."""
    images, labels = [], []
    for digit in range(10):
        for path in sorted((directory / str(digit)).glob("*.png")):
            try:
                images.append(np.round(to_network_input(open_image(path.read_bytes())) * 255).astype(np.uint8))
            except ImageError:
                continue
            labels.append(digit)
    return np.asarray(images, np.uint8).reshape(-1, 28, 28), np.asarray(labels, np.int64)


def as_network_batch(images: np.ndarray) -> np.ndarray:
    return (images.astype(np.float32) / 255.0)[..., None]


def training_data(config: TrainConfig) -> tuple[np.ndarray, np.ndarray, dict[str, int]]:
    parts = [load_split(config.dataset_dir, name) for name in ("train", "train_not_digit")]
    images, labels, sources = (np.concatenate(arrays) for arrays in zip(*parts))
    if config.extra_dir is not None:
        extra_images, extra_labels = load_extra(config.extra_dir)
        images = np.concatenate([images, extra_images])
        labels = np.concatenate([labels, extra_labels])
        sources = np.concatenate([sources, np.full(len(extra_labels), "extra")])
    names, counts = np.unique(sources, return_counts=True)
    return images, labels, {str(name): int(count) for name, count in zip(names, counts)}


def ensure_dataset(directory: Path) -> None:
    if not all((directory / f"{name}.npz").exists() for name in ("train", *VALIDATION_SETS, *NOT_DIGIT_SETS)):
        from dataset.build import BuildConfig, build

        build(BuildConfig(out=directory))


def seed_everything(seed: int, deterministic: bool) -> None:
    import keras
    import tensorflow as tf

    keras.utils.set_random_seed(seed)
    if deterministic:
        tf.config.experimental.enable_op_determinism()


def compile_model(config: TrainConfig, steps_per_epoch: int):
    import keras

    from ml.network import build_model

    model = build_model()
    schedule = keras.optimizers.schedules.CosineDecay(
        initial_learning_rate=config.learning_rate,
        decay_steps=config.epochs * steps_per_epoch,
        warmup_target=None,
    )
    model.compile(
        optimizer=keras.optimizers.AdamW(learning_rate=schedule, weight_decay=1e-4),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
    )
    return model


def validation_logits(model, directory: Path) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    result = {}
    for name in (*VALIDATION_SETS, "val_not_digit"):
        images, labels, _ = load_split(directory, name)
        result[name] = (model.predict(as_network_batch(images), batch_size=1024, verbose=0), labels)
    return result


def digit_probabilities(logits: np.ndarray, temperature: float = 1.0) -> np.ndarray:
    """What the worker reports for a picture of one digit: which digit, given that it is one."""
    return calibration.softmax(logits[:, :DIGITS], temperature)


def summarise(logits_by_set: dict, temperature: float) -> dict:
    summary = {}
    digit_sets = {name: logits_by_set[name] for name in VALIDATION_SETS}
    for name, (logits, labels) in digit_sets.items():
        probabilities = digit_probabilities(logits, temperature)
        summary[name] = {
            "images": int(len(labels)),
            "accuracy": float((probabilities.argmax(axis=1) == labels).mean()),
            "ece_uncalibrated": calibration.expected_calibration_error(digit_probabilities(logits), labels),
            "ece": calibration.expected_calibration_error(probabilities, labels),
        }
    if "val_not_digit" in logits_by_set:
        summary["val_not_digit"] = not_digit_summary(
            calibration.softmax(logits_by_set["val_not_digit"][0], temperature)
        )
    all_logits = np.concatenate([logits for logits, _ in digit_sets.values()])
    all_labels = np.concatenate([labels for _, labels in digit_sets.values()])
    all_probabilities = digit_probabilities(all_logits, temperature)
    summary["all"] = {
        "images": int(len(all_labels)),
        "accuracy": float((all_probabilities.argmax(axis=1) == all_labels).mean()),
        "ece": calibration.expected_calibration_error(all_probabilities, all_labels),
        "review": calibration.review_threshold(all_probabilities, all_labels),
    }
    return summary


def not_digit_summary(probabilities: np.ndarray) -> dict:
    """On pieces that are not one digit: (N, 11) calibrated probabilities, the last "not a digit"."""
    return {
        "images": int(len(probabilities)),
        "called_not_a_digit": float((probabilities.argmax(axis=1) == DIGITS).mean()),
        "mean_top_digit_confidence": float(probabilities[:, :DIGITS].max(axis=1).mean()),
    }


def file_version(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()[:12]


def train(config: TrainConfig) -> dict:
    started = time.time()
    ensure_dataset(config.dataset_dir)
    seed_everything(config.seed, config.deterministic)
    images, labels, counts = training_data(config)
    steps = int(np.ceil(len(labels) / config.batch_size))
    model = compile_model(config, steps)
    validation_images, validation_labels = _joined_validation(config.dataset_dir)
    model.fit(
        as_network_batch(images),
        labels,
        batch_size=config.batch_size,
        epochs=config.epochs,
        shuffle=True,
        validation_data=(as_network_batch(validation_images), validation_labels),
        verbose=2,
    )
    training_seconds = time.time() - started
    logits_by_set = validation_logits(model, config.dataset_dir)
    temperature = fit_digit_temperature(logits_by_set)
    return _export(config, model, temperature, logits_by_set, counts, training_seconds)


def fit_digit_temperature(logits_by_set: dict) -> float:
    """Temperature for the digit confidences a person reads, fitted on the digit validation sets."""
    return calibration.fit_temperature(
        np.concatenate([logits_by_set[name][0][:, :DIGITS] for name in VALIDATION_SETS]),
        np.concatenate([logits_by_set[name][1] for name in VALIDATION_SETS]),
    )


def _joined_validation(directory: Path) -> tuple[np.ndarray, np.ndarray]:
    parts = [load_split(directory, name) for name in (*VALIDATION_SETS, "val_not_digit")]
    return np.concatenate([images for images, _, _ in parts]), np.concatenate([labels for _, labels, _ in parts])


def _export(config, model, temperature, logits_by_set, counts, training_seconds) -> dict:
    from ml.export import write_tflite

    config.artifacts_dir.mkdir(parents=True, exist_ok=True)
    tflite_path = config.artifacts_dir / "digits.tflite"
    write_tflite(model, temperature, tflite_path)
    keras_path = config.artifacts_dir / "digits.keras"
    model.save(keras_path)
    if keras_path.stat().st_size > MAX_KERAS_BYTES:
        keras_path.unlink()
    metrics = {
        "artifact_version": file_version(tflite_path),
        "temperature": temperature,
        "validation": summarise(logits_by_set, temperature),
        "parameters": int(model.count_params()),
        "training_data": counts,
        "epochs": config.epochs,
        "batch_size": config.batch_size,
        "seed": config.seed,
        "training_seconds": round(training_seconds, 1),
        "cpu_threads": os.cpu_count(),
    }
    (config.artifacts_dir / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")
    return metrics
