"""Fine-tuning the digit network on corrections (`ml.fine_tune`), run tiny: it starts from the network it is
given, mixes the corrections with replayed pictures, reports its stages and writes a candidate."""

import numpy as np
import pytest

from dataset.build import network_input_uint8
from ml.fine_tune import FineTuneConfig, accuracy, base_validation_sample, fine_tune, replay_sample
from ml.inference import DigitClassifier
from ml.preprocess import open_image
from ml.train import ARTIFACTS, file_version
from tests.factories import arabic_indic_digit_png

CORRECTIONS = 30
# A tiny run at learning rate 0: whatever it writes must read as the base network. Whether a fine-tune of the
# default settings learns a new script and keeps the base sets is checked on the real stack, in
# tests/e2e/test_learning.py (the same run on the same kind of corrections, once in the suite).
STILL = FineTuneConfig(epochs=1, learning_rate=0.0, replay=64, calibration=64)


def arabic_indic(indices: range) -> tuple[np.ndarray, np.ndarray]:
    """Network inputs of Arabic-Indic digits in the factory's seven fonts, sizes and seeds varying."""
    images = [
        network_input_uint8(
            open_image(arabic_indic_digit_png(index % 10, size=32 + index * 7 % 64, font_index=index // 10, seed=index))
        )
        for index in indices
    ]
    return np.stack(images), np.arange(indices.start, indices.stop) % 10


@pytest.fixture(scope="module")
def still_run(tmp_path_factory):
    stages = []
    out_dir = tmp_path_factory.mktemp("candidate")
    result = fine_tune(
        ARTIFACTS / "digits.keras",
        arabic_indic(range(CORRECTIONS)),
        out_dir,
        STILL,
        progress=lambda stage, fraction: stages.append((stage, fraction)),
    )
    return result, out_dir, stages


def test_a_run_reports_and_writes_the_candidate(still_run):
    result, out_dir, stages = still_run
    assert result["version"] == file_version(out_dir / "digits.tflite")
    assert (out_dir / "digits.keras").exists()
    assert result["training_images"]["corrections"] == CORRECTIONS
    assert 0.9 * STILL.replay <= result["training_images"]["replay"] <= STILL.replay
    assert result["epochs"] == STILL.epochs
    assert 0.5 < result["temperature"] < 3
    assert [stage for stage, _ in stages] == ["replay sample"] * 2 + ["training", "calibration"] + ["export"] * 2


def test_a_run_starts_from_the_base_network(still_run):
    _, out_dir, _ = still_run
    images, labels = base_validation_sample(200, seed=5)
    base, still = (predictions(path, images) for path in (ARTIFACTS / "digits.tflite", out_dir / "digits.tflite"))
    assert np.mean(base == still) >= 0.98, "a network trained at rate 0 reads as the base one"
    assert accuracy(out_dir / "digits.tflite", images, labels) >= 0.9


def predictions(tflite_path, images: np.ndarray) -> np.ndarray:
    return DigitClassifier.load(tflite_path).predict_proba(images.astype(np.float32) / 255).argmax(axis=1)


def test_samples_are_drawn_from_their_seed():
    images, labels = base_validation_sample(100, seed=3)
    again, _ = base_validation_sample(100, seed=3)
    assert images.dtype == np.uint8 and images.shape[1:] == (28, 28)
    assert np.array_equal(images, again)
    assert set(labels) <= set(range(10))
    _, replay_labels = replay_sample(200, seed=3)
    assert 10 in replay_labels  # not-a-digit cuts are replayed too
