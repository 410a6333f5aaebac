"""The committed artifact on freshly generated held-out data (not the build's seed)."""

import numpy as np
import pytest

from dataset import fonts, handwritten
from dataset.build import handwritten_tasks, not_digit_tasks, printed_tasks, run_task
from ml.inference import DigitClassifier

FRESH_SEED = 424242


@pytest.fixture(scope="module")
def classifier() -> DigitClassifier:
    return DigitClassifier.load()


def accuracy(classifier, tasks) -> float:
    parts = [run_task(task) for task in tasks]
    images = np.concatenate([images for images, _, _ in parts])
    labels = np.concatenate([labels for _, labels, _ in parts])
    predictions = classifier.predict_proba(images.astype(np.float32) / 255).argmax(axis=1)
    return float((predictions == labels).mean())


@pytest.fixture(scope="module")
def printed_accuracy(classifier) -> float:
    _, held_out = fonts.split_families()
    return accuracy(classifier, printed_tasks(FRESH_SEED, 99, 400, fonts.font_paths(held_out)))


def test_printed_held_out_families_no_regression(printed_accuracy):
    assert printed_accuracy >= 0.96  # the committed artifact measures 98.7% here (98.7% on the 4,997 of the card)


@pytest.mark.xfail(
    reason="target not reached yet: the artifact reads ~98.7% of degraded held-out printed digits", strict=False
)
def test_printed_held_out_families_target(printed_accuracy):
    assert printed_accuracy >= 0.99


def test_handwritten_held_out_mnist(classifier):
    images, labels = handwritten.mnist_split()["validation"]
    chosen = np.random.default_rng(FRESH_SEED).choice(len(images), 400, replace=False)
    tasks = handwritten_tasks(FRESH_SEED, 99, images[chosen] / 255.0, labels[chosen], "mnist", copies=0)
    assert accuracy(classifier, tasks) >= 0.97


def test_wrong_cuts_of_numbers_are_not_digits(classifier):
    """The number reader's cuts rely on it: two digits in one piece, or part of one, is no digit."""
    _, held_out = fonts.split_families()
    images = handwritten.mnist_split()["validation"][0]
    parts = [run_task(task) for task in not_digit_tasks(FRESH_SEED, 99, 400, fonts.font_paths(held_out), images)]
    outputs = classifier.predict_all(np.concatenate([images for images, _, _ in parts]).astype(np.float32) / 255)
    assert (outputs.argmax(axis=1) == 10).mean() >= 0.9
