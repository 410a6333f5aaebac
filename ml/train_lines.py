"""Train the line reader on generated lines (`dataset.lines`) and export the calibrated LiteRT artifact."""

from __future__ import annotations

import json
import multiprocessing
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ml import calibration
from ml.lines import DEFAULT_LINE_ARTIFACT, decode
from ml.preprocess import ImageError, to_line_input

CHUNK = 250
TEMPERATURES = np.linspace(0.5, 3.0, 26)


@dataclass
class LineTrainConfig:
    lines: int = 90_000
    validation_lines: int = 3_000
    epochs: int = 10
    batch_size: int = 64
    learning_rate: float = 2e-3
    real_copies: int = 4  # augmented copies of each real training line, besides the plain one
    seed: int = 0
    workers: int = 2
    artifact: Path = DEFAULT_LINE_ARTIFACT
    start_from: Path | None = None  # trained weights (a `weights_path`) to continue from instead of a fresh network


def weights_path(artifact: Path) -> Path:
    """Where the trained Keras weights are kept beside the artifact, so that training can continue from them."""
    return artifact.with_suffix(".weights.h5")


def generated_lines(seed: int, purpose: int, count: int, workers: int) -> tuple[np.ndarray, list[str]]:
    """(N, 32, 256) uint8 inputs and their texts, drawn reproducibly chunk by chunk."""
    chunks = [(seed, purpose, start, min(CHUNK, count - start)) for start in range(0, count, CHUNK)]
    if workers == 1:  # in this process: no fork, which would hang in a process that has trained already
        parts = list(map(_line_chunk, chunks))
    else:
        with multiprocessing.get_context("fork").Pool(workers) as pool:
            parts = pool.map(_line_chunk, chunks, chunksize=1)
    return np.concatenate([inputs for inputs, _ in parts]), [text for _, texts in parts for text in texts]


def _line_chunk(chunk: tuple[int, int, int, int]) -> tuple[np.ndarray, list[str]]:
    from dataset.lines import random_line

    *key, size = chunk
    rng = np.random.default_rng(np.random.SeedSequence(list(key)))
    inputs, texts = [], []
    for _ in range(size):
        picture, text = random_line(rng)
        if (stored := stored_line_input(picture)) is not None:
            inputs.append(stored)
            texts.append(text)
    return np.stack(inputs), texts


def stored_line_input(picture) -> np.ndarray | None:
    """The picture's line input as uint8, or None for a picture without ink."""
    try:
        return np.round(to_line_input(picture) * 255).astype(np.uint8)
    except ImageError:
        return None


def real_lines(seed: int, part: str, copies: int) -> tuple[np.ndarray, list[str]]:
    """The copied real line sets' `part`: each line plain, plus `copies` augmented ones."""
    from dataset import real

    rng = np.random.default_rng(np.random.SeedSequence([seed, 3]))
    inputs, texts = [], []
    for name in real.LINE_SETS:
        for path, text in real.labelled_lines(name, part):
            picture = real.open_picture(path)
            for copy in range(copies + 1):
                try:
                    shown = real.augmented_line(rng, picture) if copy else picture
                    inputs.append(np.round(to_line_input(shown) * 255).astype(np.uint8))
                except ImageError:
                    continue
                texts.append(text)
    return np.stack(inputs), texts


def as_line_batch(inputs: np.ndarray) -> np.ndarray:
    return (inputs.astype(np.float32) / 255.0)[..., None]


def encoded_texts(texts: list[str]) -> np.ndarray:
    from ml.line_network import encode_text

    return np.asarray([encode_text(text) for text in texts])


def line_model(start_from: Path | None, learning_rate: float, lines: int, batch_size: int, epochs: int):
    """The line reader (continued from the weights at `start_from`, if given), compiled for CTC training
    with AdamW whose rate decays along a cosine over `epochs` passes of `lines` lines."""
    import keras

    from ml.line_network import build_line_model

    model = build_line_model()
    if start_from is not None:
        model.load_weights(start_from)
    steps = int(np.ceil(lines / batch_size)) * epochs
    model.compile(
        optimizer=keras.optimizers.AdamW(keras.optimizers.schedules.CosineDecay(learning_rate, steps)),
        loss=keras.losses.CTC(),
    )
    return model


def train_lines(config: LineTrainConfig) -> dict:
    import keras

    started = time.time()
    keras.utils.set_random_seed(config.seed)
    inputs, texts = _joined(
        generated_lines(config.seed, 1, config.lines, config.workers),
        real_lines(config.seed, "train", config.real_copies),
    )
    generated_validation = generated_lines(config.seed, 2, config.validation_lines, config.workers)
    real_validation = real_lines(config.seed, "validation", 0)
    validation_inputs, validation_texts = _joined(generated_validation, real_validation)
    generation_seconds = time.time() - started
    model = line_model(config.start_from, config.learning_rate, len(texts), config.batch_size, config.epochs)
    model.fit(
        as_line_batch(inputs),
        encoded_texts(texts),
        batch_size=config.batch_size,
        epochs=config.epochs,
        validation_data=(as_line_batch(validation_inputs), encoded_texts(validation_texts)),
        verbose=2,
    )
    logits = model.predict(as_line_batch(validation_inputs), batch_size=256, verbose=0)
    temperature = fit_line_temperature(logits, validation_texts)
    export(model, temperature, config.artifact)
    model.save_weights(weights_path(config.artifact))
    probabilities = calibration.softmax(logits, temperature)
    generated_count = len(generated_validation[1])
    metrics = {
        "validation": line_report(probabilities, validation_texts),
        "validation_generated": line_report(probabilities[:generated_count], generated_validation[1]),
        "validation_real": line_report(probabilities[generated_count:], real_validation[1]),
        "temperature": temperature,
        "training_lines": len(texts),
        "epochs": config.epochs,
        "learning_rate": config.learning_rate,
        "started_from": str(config.start_from) if config.start_from else None,
        "parameters": int(model.count_params()),
        "generation_seconds": round(generation_seconds, 1),
        "training_seconds": round(time.time() - started, 1),
    }
    config.artifact.with_name("lines_metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")
    return metrics


def _joined(*parts: tuple[np.ndarray, list[str]]) -> tuple[np.ndarray, list[str]]:
    return np.concatenate([inputs for inputs, _ in parts]), [text for _, texts in parts for text in texts]


def line_report(step_probabilities: np.ndarray, texts: list[str]) -> dict:
    """Whole-line accuracy, and calibration of the line confidence (is the whole line right?)."""
    readings = [decode(steps) for steps in step_probabilities]
    right = np.asarray([reading.text == text for reading, text in zip(readings, texts)])
    confidence = np.asarray([reading.confidence for reading in readings])
    return {
        "lines": len(texts),
        "string_accuracy": float(right.mean()),
        "ece": calibration.binary_calibration_error(confidence, right),
    }


def fit_line_temperature(logits: np.ndarray, texts: list[str]) -> float:
    """The temperature whose line confidences are best calibrated on the validation lines."""
    errors = [line_report(calibration.softmax(logits, t), texts)["ece"] for t in TEMPERATURES]
    return float(TEMPERATURES[int(np.argmin(errors))])


def export(model, temperature: float, path: Path) -> None:
    """The calibrated reader as LiteRT, its weights stored as int8 (dynamic-range quantization): LiteRT reads
    lines about twice as fast on CPU, and the eleventh reader read every set the same within two lines
    (docs/model-history.md, "The line reader's weights in int8")."""
    import tensorflow as tf

    from ml.line_network import with_calibrated_softmax

    converter = tf.lite.TFLiteConverter.from_keras_model(with_calibrated_softmax(model, temperature))
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(converter.convert())


def export_again(artifact: Path = DEFAULT_LINE_ARTIFACT) -> Path:
    """Export the weights kept beside `artifact` to it again, at the temperature its metrics record."""
    from ml.line_network import build_line_model

    model = build_line_model()
    model.load_weights(weights_path(artifact))
    temperature = json.loads(artifact.with_name("lines_metrics.json").read_text())["temperature"]
    export(model, temperature, artifact)
    return artifact
