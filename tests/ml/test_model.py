"""The committed artifact on freshly generated held-out data (not the build's seed)."""

import numpy as np
import pytest

from dataset import fonts, handwritten
from dataset.build import handwritten_tasks, printed_tasks, run_task
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
    assert printed_accuracy >= 0.96  # the committed artifact measures 98.0% here


@pytest.mark.xfail(
    reason="target not reached yet: the artifact reads ~97.5% of degraded held-out printed digits", strict=False
)
def test_printed_held_out_families_target(printed_accuracy):
    assert printed_accuracy >= 0.99


def test_handwritten_held_out_mnist(classifier):
    images, labels = handwritten.mnist_split()["validation"]
    chosen = np.random.default_rng(FRESH_SEED).choice(len(images), 400, replace=False)
    tasks = handwritten_tasks(FRESH_SEED, 99, images[chosen] / 255.0, labels[chosen], "mnist", copies=0)
    assert accuracy(classifier, tasks) >= 0.97
