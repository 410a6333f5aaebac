"""The committed artifact on freshly generated held-out data (not the build's seed)."""

import numpy as np
import pytest

from dataset import fonts, handwritten, real
from dataset.build import (
    CAPTURES,
    capture_tasks,
    handwritten_tasks,
    not_digit_tasks,
    printed_tasks,
    run_task,
    task_pictures,
)
from ml.inference import DigitClassifier
from ml.reading import read_digit_pictures

FRESH_SEED = 424242
# One error is 0.05 points here; with 400 pictures (0.25 points each) the same artifact read 99.25%
# before a generator change and 98.25% after it, which only drew other pictures.
FRESH_PRINTED = 2_000
# Since 5ec6f1abb545's generator (dim displays, dim and red-framed wheels) the pictures are harder: 1,000
# fresh ones each (seed 777) read 96.0% (displays) and 97.1% (wheels); 400 have a standard error of ~0.9 points.
CAPTURE_TARGETS = {"display": 0.95, "wheel": 0.95, "scene": 0.95}


@pytest.fixture(scope="module")
def classifier() -> DigitClassifier:
    return DigitClassifier.load()


def accuracy(classifier, tasks) -> float:
    """Read from the pictures as the worker reads uploads."""
    pictures, labels = zip(*task_pictures(tasks))
    readable, probabilities = read_digit_pictures(pictures, classifier)
    return float((probabilities.argmax(axis=1) == np.asarray(labels)[readable]).mean())


@pytest.fixture(scope="module")
def printed_tasks_fresh() -> list:
    _, held_out = fonts.split_families()
    return printed_tasks(FRESH_SEED, 99, FRESH_PRINTED, fonts.font_paths(held_out))


@pytest.fixture(scope="module")
def printed_accuracy(classifier, printed_tasks_fresh) -> float:
    return accuracy(classifier, printed_tasks_fresh)


def test_printed_held_out_families_no_regression(printed_accuracy):
    assert printed_accuracy >= 0.96


def test_printed_held_out_families_guard(printed_accuracy):
    # 98.49% here (870eb3cea09e); the card's 99.5% target is not met since the network reads whole
    # pictures (99.10% with b5812eea1d5c's hand-made rules, which broke real captures)
    assert printed_accuracy >= 0.98


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


@pytest.mark.parametrize("kind", list(CAPTURES))
def test_generated_captures_fresh(classifier, kind):
    """Displays, counter wheels and scene digits drawn from a seed the build never used."""
    tasks = [task for task in capture_tasks(FRESH_SEED, 99, 400) if task.kind == kind]
    assert accuracy(classifier, tasks) >= CAPTURE_TARGETS[kind]


def test_real_seven_segment_test_part(classifier):
    """Real photos of LCD displays, the part of the copied set nothing was trained or tuned on."""
    files = real.labelled_files("lcd_7seg_digit", "test")
    pictures = [real.open_picture(path) for path, _ in files]
    readable, probabilities = read_digit_pictures(pictures, classifier)
    labels = np.asarray([label for _, label in files])
    assert (probabilities.argmax(axis=1) == labels[readable]).sum() / len(files) >= 0.99
