"""Learn from people's corrections of lines: train the current line reader further on every corrected line
so far, mixed with fresh generated lines (a replay sample, so that the styles nobody corrected are not
forgotten), refit the temperature on other fresh lines, and export a LiteRT candidate as `ml.train_lines`
exports one.

Whether the candidate replaces the current reader is the caller's decision, from `line_accuracy` on
corrections kept aside and on `base_line_validation_sample`. TensorFlow is imported only when a fine-tune
runs (`fine_tune_lines`); the rest needs numpy and LiteRT.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ml import calibration
from ml.lines import LineReader
from ml.train_lines import (
    as_line_batch,
    encoded_texts,
    export,
    fit_line_temperature,
    generated_lines,
    line_model,
    line_report,
    weights_path,
)

# `generated_lines` draws from (seed, purpose): training draws purposes 1 and 2, these draw others.
REPLAY_PURPOSE = 11
CALIBRATION_PURPOSE = 12
VALIDATION_PURPOSE = 13
ARTIFACT_NAME = "lines.tflite"


@dataclass
class LineFineTuneConfig:
    """Chosen on 300 lines of Devanagari digits, a script the reader was never shown (docs/model-history.md,
    "Learning from corrected lines"): 240 corrections, read at 0% before and 98% after (60 kept aside); the
    distillation and the 12 epochs on later splits of them ("Replay lines kept as the reader read them", "Line
    fine-tunes of 12 epochs")."""

    epochs: int = 12
    learning_rate: float = 3e-4
    batch_size: int = 64
    replay: int = 4_000  # generated lines mixed in
    correction_repeats: int = 2  # each corrected line is seen this many times per epoch
    calibration: int = 1_000  # generated lines to refit the temperature on
    # Weight of keeping the current reader's answers on the replay lines (per-step KL divergence from them,
    # summed over the line): what was learnt before is held, not only the replay's texts. 0 turns it off.
    distillation: float = 1.0
    seed: int = 0


def base_line_validation_sample(count: int, seed: int = 0) -> tuple[np.ndarray, list[str]]:
    """`count` fresh generated lines, uint8 line inputs and texts; the same seed draws the same lines."""
    return generated_lines(seed, VALIDATION_PURPOSE, count, workers=1)


def fine_tune_lines(
    base_weights: Path,
    corrections: tuple[np.ndarray, list[str]],
    out_dir: Path,
    config: LineFineTuneConfig | None = None,
    progress: Callable[[str, float], None] | None = None,
) -> dict:
    """Train the line reader whose Keras weights are at `base_weights` further on the corrections (uint8
    (N, 32, 256) line inputs and their texts), each repeated `config.correction_repeats` times, plus
    `config.replay` generated lines; refit the temperature; write out_dir/lines.tflite, its weights and
    lines_metrics.json.

    progress(stage, fraction) is called at "replay sample", "training" (after each epoch), "calibration"
    and "export"."""
    import keras

    config = config or LineFineTuneConfig()
    report = progress or (lambda stage, fraction: None)
    started = time.time()
    keras.utils.set_random_seed(config.seed)
    report("replay sample", 0.0)
    inputs, texts, counts = line_training_mix(corrections, config)
    report("replay sample", 1.0)
    model = line_model(base_weights, config.learning_rate, len(texts), config.batch_size, config.epochs)
    after_epoch = keras.callbacks.LambdaCallback(
        on_epoch_end=lambda epoch, _: report("training", (epoch + 1) / config.epochs)
    )
    batch, targets, trained = as_line_batch(inputs), encoded_texts(texts), model
    if config.distillation:
        is_replay = np.arange(len(texts)) >= len(texts) - counts["replay"]
        trained, targets = with_distillation(model, batch, targets, is_replay, config.distillation)
    trained.fit(
        batch,
        targets,
        batch_size=config.batch_size,
        epochs=config.epochs,
        verbose=0,
        callbacks=[after_epoch],
    )
    report("calibration", 0.0)
    calibration_inputs, calibration_texts = generated_lines(
        config.seed, CALIBRATION_PURPOSE, config.calibration, workers=1
    )
    logits = model.predict(as_line_batch(calibration_inputs), batch_size=256, verbose=0)
    temperature = fit_line_temperature(logits, calibration_texts)
    report("export", 0.0)
    artifact = Path(out_dir) / ARTIFACT_NAME
    export(model, temperature, artifact)
    model.save_weights(weights_path(artifact))
    metrics = {
        "validation_generated": line_report(calibration.softmax(logits, temperature), calibration_texts),
        "temperature": temperature,
        "training_lines": counts,
        "epochs": config.epochs,
        "learning_rate": config.learning_rate,
        "distillation": config.distillation,
        "seconds": round(time.time() - started, 1),
    }
    artifact.with_name("lines_metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")
    report("export", 1.0)
    return metrics


def with_distillation(model, inputs: np.ndarray, encoded: np.ndarray, is_replay: np.ndarray, weight: float):
    """`model` with a second output, compiled to stay near its own current answers on the replay lines as
    well as to read every line's text (CTC); the targets to fit it with. The two outputs share every layer,
    so training it trains `model`."""
    import keras
    from keras import layers

    teacher = calibration.softmax(model.predict(inputs, batch_size=256, verbose=0), 1.0)
    marked = np.concatenate([teacher, np.broadcast_to(is_replay[:, None, None], teacher.shape[:2] + (1,))], -1)
    logits = model.output
    student = keras.Model(
        model.input, {"text": layers.Identity(name="text")(logits), "kept": layers.Identity(name="kept")(logits)}
    )
    student.compile(
        optimizer=model.optimizer,
        loss={"text": keras.losses.CTC(), "kept": replay_divergence},
        loss_weights={"text": 1.0, "kept": weight},
    )
    return student, {"text": encoded, "kept": marked.astype(np.float32)}


def replay_divergence(marked, logits):
    """KL divergence of the reader's steps from the current reader's (`marked[..., :-1]`), summed over a
    line's steps; zero for a line whose mark (`marked[..., -1]`) is 0, a correction."""
    from keras import ops

    teacher, is_replay = marked[..., :-1], marked[:, 0, -1]
    divergence = ops.sum(teacher * (ops.log(teacher + 1e-7) - ops.log_softmax(logits, axis=-1)), axis=-1)
    return ops.sum(divergence, axis=-1) * is_replay


def line_training_mix(
    corrections: tuple[np.ndarray, list[str]], config: LineFineTuneConfig
) -> tuple[np.ndarray, list[str], dict[str, int]]:
    """The corrected lines, each `correction_repeats` times, and a replay sample; how many of each."""
    correction_inputs, correction_texts = corrections
    replay_inputs, replay_texts = generated_lines(config.seed, REPLAY_PURPOSE, config.replay, workers=1)
    inputs = np.concatenate([np.repeat(correction_inputs, config.correction_repeats, axis=0), replay_inputs])
    texts = [text for text in correction_texts for _ in range(config.correction_repeats)] + replay_texts
    return inputs, texts, {"corrections": len(correction_texts), "replay": len(replay_texts)}


def line_accuracy(tflite_path: Path, inputs: np.ndarray, texts: list[str]) -> float:
    """Share of uint8 line inputs whose whole text the LiteRT reader at tflite_path reads right."""
    readings = LineReader.load(tflite_path).read(inputs.astype(np.float32) / 255)
    return float(np.mean([reading.text == text for reading, text in zip(readings, texts)]))
