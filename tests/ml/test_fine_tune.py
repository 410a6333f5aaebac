"""Learning from corrections: the committed network, fine-tuned on Arabic-Indic digits people corrected,
reads other Arabic-Indic digits and still reads what it read before (imports TensorFlow: about a minute)."""

import numpy as np
import pytest

from dataset.build import network_input_uint8
from ml.fine_tune import FineTuneConfig, accuracy, base_validation_sample, fine_tune, replay_sample
from ml.preprocess import open_image
from ml.train import ARTIFACTS, file_version
from tests.factories import arabic_indic_digit_png

CORRECTIONS = 300
HELD_OUT = 200
VALIDATION = 2_000  # one picture is 0.05 points


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
def fine_tuned(tmp_path_factory):
    stages = []
    out_dir = tmp_path_factory.mktemp("candidate")
    result = fine_tune(
        ARTIFACTS / "digits.keras",
        arabic_indic(range(CORRECTIONS)),
        out_dir,
        progress=lambda stage, fraction: stages.append((stage, fraction)),
    )
    return result, out_dir, stages


@pytest.mark.slow
def test_fine_tuned_network_reads_the_corrected_script(fine_tuned):
    _, out_dir, _ = fine_tuned
    held_out = arabic_indic(range(10_000, 10_000 + HELD_OUT))  # other seeds and sizes
    base, candidate = accuracy(ARTIFACTS / "digits.tflite", *held_out), accuracy(out_dir / "digits.tflite", *held_out)
    # measured: base 22.5%, candidate 100% (98-100% over configurations and seeds)
    assert base < 0.4
    assert candidate >= 0.9
    assert candidate - base >= 0.5


@pytest.mark.slow
def test_fine_tuned_network_still_reads_the_base_validation_pictures(fine_tuned):
    _, out_dir, _ = fine_tuned
    images, labels = base_validation_sample(VALIDATION)
    base, candidate = (
        accuracy(ARTIFACTS / "digits.tflite", images, labels),
        accuracy(out_dir / "digits.tflite", images, labels),
    )
    # measured: base 98.1%, candidate 0.2-0.6 points below it (round 0s taken for the Arabic-Indic 5, a circle)
    assert candidate >= base - 0.01


@pytest.mark.slow
def test_fine_tune_reports_and_writes_the_candidate(fine_tuned):
    result, out_dir, stages = fine_tuned
    config = FineTuneConfig()
    assert result["version"] == file_version(out_dir / "digits.tflite")
    assert (out_dir / "digits.keras").exists()
    assert result["training_images"]["corrections"] == CORRECTIONS
    assert 0.97 * config.replay <= result["training_images"]["replay"] <= config.replay
    assert result["epochs"] == config.epochs
    assert 0.5 < result["temperature"] < 3
    assert ("training", 1.0) in stages and stages[-1] == ("export", 1.0)


def test_samples_are_drawn_from_their_seed():
    images, labels = base_validation_sample(100, seed=3)
    again, _ = base_validation_sample(100, seed=3)
    assert images.dtype == np.uint8 and images.shape[1:] == (28, 28)
    assert np.array_equal(images, again)
    assert set(labels) <= set(range(10))
    _, replay_labels = replay_sample(200, seed=3)
    assert 10 in replay_labels  # not-a-digit cuts are replayed too
