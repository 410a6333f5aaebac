"""A tiny line-reader training run: it keeps its weights beside the artifact, and a later run continues
from them instead of starting again."""

import json

import numpy as np
import pytest

from ml import train_lines as train_lines_module
from ml.train_lines import LineTrainConfig, as_line_batch, generated_lines, train_lines, weights_path

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


def test_the_artifact_holds_int8_weights_and_reads_as_the_trained_network(first_run):
    from ai_edge_litert.interpreter import Interpreter

    from ml import calibration
    from ml.line_network import build_line_model
    from ml.lines import LineReader

    tensors = Interpreter(model_path=str(first_run)).get_tensor_details()
    assert any(tensor["dtype"] == np.int8 for tensor in tensors), "weights stored in int8"
    inputs, _ = generated_lines(5, 3, 16, 1)
    network = build_line_model()
    network.load_weights(weights_path(first_run))
    temperature = json.loads(first_run.with_name("lines_metrics.json").read_text())["temperature"]
    expected = calibration.softmax(network.predict(as_line_batch(inputs), verbose=0), temperature)
    read = LineReader.load(first_run).step_probabilities(as_line_batch(inputs)[..., 0])
    assert np.abs(read - expected).max() < 0.05


def test_export_lines_exports_the_kept_weights_to_a_reader_that_reads_as_the_trained_one(first_run, tmp_path):
    from ml.lines import LineReader
    from ml.train_lines import export_again

    for kept in (weights_path(first_run), first_run.with_name("lines_metrics.json")):
        (tmp_path / kept.name).write_bytes(kept.read_bytes())
    exported = export_again(tmp_path / first_run.name)
    inputs = as_line_batch(generated_lines(6, 3, 16, 1)[0])[..., 0]
    np.testing.assert_allclose(
        LineReader.load(exported).step_probabilities(inputs), LineReader.load(first_run).step_probabilities(inputs)
    )
