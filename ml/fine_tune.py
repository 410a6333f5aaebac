"""Learn from people's corrections (issue 21): fine-tune the current digit network on every correction
so far, mixed with a fresh replay sample of the base training pictures so that nothing else is forgotten,
and export a LiteRT candidate.

The temperature is refitted as `ml.train` fits it, on a sample like the validation sets drawn with
CALIBRATION_SEED: never on the corrections. Whether the candidate replaces the current network is the
caller's decision, from `accuracy` on corrections kept aside and on `base_validation_sample`.

TensorFlow is imported only when a fine-tune runs (`fine_tune`); the rest needs numpy and LiteRT.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from dataset.build import BuildConfig, Task, plan, run_task
from ml.inference import DigitClassifier
from ml.train import (
    VALIDATION_SETS,
    TrainConfig,
    _export,
    as_network_batch,
    compile_model,
    fit_digit_temperature,
    seed_everything,
)

TRAINING_SETS = ("train", "train_not_digit")
REPLAY_SEED = 1_000  # replay pictures come from a build seeded REPLAY_SEED + seed, not the base build's 0
CALIBRATION_SEED = 7_919  # the pictures the temperature is fitted on (base_validation_sample's seeds are others)
PER_PICTURE_MASKS = ("plain", "augment")  # task kinds whose masks go one to a label


@dataclass
class FineTuneConfig:
    epochs: int = 5
    learning_rate: float = 1e-3
    batch_size: int = 128
    replay: int = 8_000  # base training pictures mixed in
    correction_repeats: int = 2  # each correction is seen this many times per epoch
    calibration: int = 2_000  # pictures like the validation sets, to refit the temperature on
    seed: int = 0


def replay_sample(count: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """`count` fresh pictures drawn like the base training set (printed training fonts, MNIST training
    digits, generated and real captures, not-a-digit cuts labelled 10), as uint8 network inputs and labels."""
    return _joined(_drawn(TRAINING_SETS, count, REPLAY_SEED + seed))


def base_validation_sample(count: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """About `count` pictures like the model card's validation sets (held-out font families, held-out
    MNIST, generated captures, real validation captures), digits only; the same seed draws the same pictures."""
    return _joined(_drawn(VALIDATION_SETS, count, seed))


def _drawn(set_names: tuple[str, ...], count: int, seed: int) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """`count` pictures picked at random among those a build seeded `seed` would draw for these sets
    (so the sets keep their shares), per set. A few may be missing: a picture an augmentation wiped out."""
    planned = plan(BuildConfig(seed=seed))
    tasks = [(name, task) for name in set_names for task in planned[name]]
    sizes = np.array([len(task.labels) for _, task in tasks])
    starts = np.cumsum(sizes) - sizes
    picked = np.sort(np.random.default_rng(seed).choice(sizes.sum(), size=count, replace=False))
    drawn = {name: [] for name in set_names}
    for (name, task), start, size in zip(tasks, starts, sizes):
        rows = picked[(picked >= start) & (picked < start + size)] - start
        drawn[name].append(run_task(_subsampled(task, rows)))
    return {
        name: (np.concatenate([images for images, _, _ in parts]), np.concatenate([labels for _, labels, _ in parts]))
        for name, parts in drawn.items()
    }


def _subsampled(task: Task, rows: np.ndarray) -> Task:
    """The task's pictures at these rows only, drawn afresh (its random draws now go to fewer pictures)."""
    return replace(
        task,
        labels=task.labels[rows],
        masks=task.masks[rows] if task.kind in PER_PICTURE_MASKS else task.masks,
        paths=[task.paths[row] for row in rows] if task.paths else [],
    )


def _joined(sets: dict[str, tuple[np.ndarray, np.ndarray]]) -> tuple[np.ndarray, np.ndarray]:
    images, labels = zip(*sets.values())
    return np.concatenate(images), np.concatenate(labels).astype(np.int64)


def fine_tune(
    base_keras: Path,
    corrections: tuple[np.ndarray, np.ndarray],
    out_dir: Path,
    config: FineTuneConfig | None = None,
    progress: Callable[[str, float], None] | None = None,
) -> dict:
    """Fine-tune the Keras network at `base_keras` on the corrections (uint8 (N, 28, 28) network inputs,
    labels 0..9), each repeated `config.correction_repeats` times, plus `replay_sample(config.replay)`;
    refit the temperature; write out_dir/digits.keras, digits.tflite and metrics.json (`ml.train`'s).

    progress(stage, fraction) is called at "replay sample", "training" (after each epoch),
    "calibration" and "export"."""
    config = config or FineTuneConfig()
    report = progress or (lambda stage, fraction: None)
    started = time.time()
    report("replay sample", 0.0)
    images, labels, counts = training_mix(corrections, config)
    report("replay sample", 1.0)
    train_config = TrainConfig(
        artifacts_dir=Path(out_dir),
        epochs=config.epochs,
        batch_size=config.batch_size,
        learning_rate=config.learning_rate,
        seed=config.seed,
    )
    model = fitted(base_keras, images, labels, train_config, report)
    training_seconds = time.time() - started
    report("calibration", 0.0)
    logits_by_set = calibration_logits(model, config.calibration)
    temperature = fit_digit_temperature(logits_by_set)
    report("export", 0.0)
    metrics = _export(train_config, model, temperature, logits_by_set, counts, training_seconds)
    report("export", 1.0)
    return {
        "version": metrics["artifact_version"],
        "temperature": temperature,
        "seconds": round(time.time() - started, 1),
        "training_images": counts,
        "epochs": config.epochs,
    }


def training_mix(
    corrections: tuple[np.ndarray, np.ndarray], config: FineTuneConfig
) -> tuple[np.ndarray, np.ndarray, dict[str, int]]:
    """The corrections, each `correction_repeats` times, and a replay sample; how many of each."""
    correction_images, correction_labels = corrections
    replay_images, replay_labels = replay_sample(config.replay, config.seed)
    images = np.concatenate([np.repeat(correction_images, config.correction_repeats, axis=0), replay_images])
    labels = np.concatenate([np.repeat(correction_labels, config.correction_repeats), replay_labels])
    return images, labels.astype(np.int64), {"corrections": len(correction_labels), "replay": len(replay_labels)}


def fitted(base_keras: Path, images: np.ndarray, labels: np.ndarray, config: TrainConfig, report: Callable):
    """The network at `base_keras`, trained further as `ml.train` trains it (AdamW, cosine decay)."""
    import keras

    seed_everything(config.seed, config.deterministic)
    model = compile_model(config, steps_per_epoch=math.ceil(len(labels) / config.batch_size))
    model.set_weights(keras.models.load_model(base_keras, compile=False).get_weights())
    after_epoch = keras.callbacks.LambdaCallback(
        on_epoch_end=lambda epoch, _: report("training", (epoch + 1) / config.epochs)
    )
    model.fit(
        as_network_batch(images),
        labels,
        batch_size=config.batch_size,
        epochs=config.epochs,
        verbose=0,
        callbacks=[after_epoch],
    )
    return model


def calibration_logits(model, count: int) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Logits and labels, per validation set (and not-a-digit cuts, for metrics.json), of `count`
    pictures like them drawn with CALIBRATION_SEED."""
    return {
        name: (model.predict(as_network_batch(images), batch_size=1024, verbose=0), labels)
        for name, (images, labels) in _drawn((*VALIDATION_SETS, "val_not_digit"), count, CALIBRATION_SEED).items()
    }


def accuracy(tflite_path: Path, images: np.ndarray, labels: np.ndarray) -> float:
    """Share of uint8 network inputs read right by the LiteRT network at tflite_path (the likeliest of the ten digits)."""
    probabilities = DigitClassifier.load(tflite_path).predict_proba(images.astype(np.float32) / 255)
    return float((probabilities.argmax(axis=1) == np.asarray(labels)).mean())
