"""Fine-tuning the line reader on corrected lines (`ml.fine_tune_lines`), run tiny: it starts from the
weights it is given, mixes the corrections with generated lines, and writes a reader the service loads."""

import json

import numpy as np
import pytest

from ml import fine_tune_lines
from ml.lines import DEFAULT_LINE_ARTIFACT, LineReader
from ml.train_lines import generated_lines, weights_path

BASE_WEIGHTS = weights_path(DEFAULT_LINE_ARTIFACT)
TINY = {"epochs": 1, "replay": 32, "calibration": 32, "correction_repeats": 3}


@pytest.fixture(scope="module")
def corrections():
    return generated_lines(21, 5, 8, 1)


@pytest.fixture(scope="module")
def still_run(tmp_path_factory, corrections):
    """A run at learning rate 0: whatever it writes must be the base reader's weights."""
    stages = []
    out = tmp_path_factory.mktemp("still")
    config = fine_tune_lines.LineFineTuneConfig(learning_rate=0.0, **TINY)
    metrics = fine_tune_lines.fine_tune_lines(
        BASE_WEIGHTS, corrections, out, config, lambda *stage: stages.append(stage)
    )
    return out, metrics, stages


def test_the_corrections_are_repeated_and_mixed_with_generated_lines(corrections):
    config = fine_tune_lines.LineFineTuneConfig(**TINY)
    inputs, texts, counts = fine_tune_lines.line_training_mix(corrections, config)
    assert counts["corrections"] == 8 and 0 < counts["replay"] <= 32
    assert len(inputs) == len(texts) == 3 * 8 + counts["replay"]
    assert texts[:3] == [corrections[1][0]] * 3
    np.testing.assert_array_equal(inputs[:3], np.repeat(corrections[0][:1], 3, axis=0))


def test_a_run_writes_a_reader_its_weights_and_figures_and_reports_its_stages(still_run):
    out, metrics, stages = still_run
    assert [stage for stage, _ in stages] == [
        "replay sample",
        "replay sample",
        "training",
        "calibration",
        "export",
        "export",
    ]
    assert json.loads((out / "lines_metrics.json").read_text())["training_lines"] == metrics["training_lines"]
    inputs = generated_lines(22, 5, 40, 1)[0].astype(np.float32) / 255
    base, still = (LineReader.load(path).read(inputs) for path in (DEFAULT_LINE_ARTIFACT, out / "lines.tflite"))
    same = np.mean([a.text == b.text for a, b in zip(base, still)])
    assert same >= 0.9, f"a reader trained at rate 0 reads as the base one: {same:.0%} of lines alike"


def test_a_run_starts_from_the_weights_it_is_given(still_run):
    from ml.line_network import build_line_model

    out, _, _ = still_run
    base, tuned = build_line_model(), build_line_model()
    base.load_weights(BASE_WEIGHTS)
    tuned.load_weights(weights_path(out / fine_tune_lines.ARTIFACT_NAME))
    for trained, kept in zip(base.trainable_weights, tuned.trainable_weights, strict=True):
        np.testing.assert_array_equal(np.asarray(kept), np.asarray(trained))


def test_line_accuracy_counts_whole_lines_read_right():
    inputs, texts = fine_tune_lines.base_line_validation_sample(40, seed=3)
    readings = LineReader.load(DEFAULT_LINE_ARTIFACT).read(inputs.astype(np.float32) / 255)
    expected = np.mean([reading.text == text for reading, text in zip(readings, texts)])
    assert fine_tune_lines.line_accuracy(DEFAULT_LINE_ARTIFACT, inputs, texts) == expected > 0.5
    assert fine_tune_lines.line_accuracy(DEFAULT_LINE_ARTIFACT, inputs, ["-"] * len(texts)) == 0.0


def test_the_replay_divergence_is_zero_where_the_reader_keeps_its_answers_and_for_corrections():
    rng = np.random.default_rng(0)
    teacher_logits = rng.normal(size=(2, 64, 14)).astype(np.float32)
    teacher = np.exp(teacher_logits) / np.exp(teacher_logits).sum(-1, keepdims=True)
    replay, correction = np.ones((2, 64, 1), np.float32), np.zeros((2, 64, 1), np.float32)
    moved = teacher_logits + rng.normal(size=teacher_logits.shape).astype(np.float32)

    def divergence(marks, logits):
        return np.asarray(fine_tune_lines.replay_divergence(np.concatenate([teacher, marks], -1), logits))

    np.testing.assert_allclose(divergence(replay, teacher_logits), 0, atol=1e-4)
    np.testing.assert_allclose(divergence(correction, moved), 0)
    assert (divergence(replay, moved) > 1).all()
