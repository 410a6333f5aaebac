"""A tiny line-reader training run: it keeps its weights beside the artifact, and a later run continues
from them instead of starting again."""

import json

import numpy as np
import pytest

from ml import train_lines as train_lines_module
from ml.train_lines import LineTrainConfig, generated_lines, train_lines, weights_path

TINY = {"lines": 64, "validation_lines": 32, "epochs": 1, "real_copies": 0, "workers": 1}


@pytest.fixture(scope="module", autouse=True)
def few_real_lines():
    """Generated lines stand in for the real captcha parts, whose 2,400 lines would make this test slow."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(train_lines_module, "real_lines", lambda seed, part, copies: generated_lines(seed, 7, 16, 1))
        yield


@pytest.fixture(scope="module")
def first_run(tmp_path_factory):
    artifact = tmp_path_factory.mktemp("first") / "lines.tflite"
    train_lines(LineTrainConfig(artifact=artifact, **TINY))
    return artifact


def test_a_training_run_keeps_its_weights_beside_the_artifact(first_run):
    assert first_run.exists()
    assert weights_path(first_run).name == "lines.weights.h5"
    assert weights_path(first_run).stat().st_size > 100_000
    assert json.loads(first_run.with_name("lines_metrics.json").read_text())["started_from"] is None


def test_a_run_started_from_those_weights_continues_them(first_run, tmp_path):
    from ml.line_network import build_line_model

    artifact = tmp_path / "lines.tflite"
    # learning rate 0: the continued network's weights must stay the first run's, not a fresh network's
    metrics = train_lines(
        LineTrainConfig(artifact=artifact, start_from=weights_path(first_run), learning_rate=0.0, **TINY)
    )
    first, continued = build_line_model(), build_line_model()
    first.load_weights(weights_path(first_run))
    continued.load_weights(weights_path(artifact))
    for trained, kept in zip(first.trainable_weights, continued.trainable_weights, strict=True):
        np.testing.assert_array_equal(np.asarray(kept), np.asarray(trained))
    assert metrics["started_from"] == str(weights_path(first_run))
