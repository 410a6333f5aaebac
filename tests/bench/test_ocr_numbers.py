"""The number benchmark's generated sets are the pictures its docstring describes."""

import numpy as np

from bench import ocr_numbers
from dataset import fonts


def test_crossed_numbers_are_small_boxed_four_digit_lines():
    rng = np.random.default_rng(0)
    paths = fonts.font_paths(fonts.split_families()[1])
    for _ in range(5):
        image, text, info = ocr_numbers.crossed_number(rng, paths)
        pixels = np.asarray(image, dtype=np.float32)
        assert image.size == (70, 30) and image.mode == "RGB"
        assert len(text) == 4 and text.isdigit() and isinstance(info["touching"], bool)
        assert pixels[0].mean() < np.median(pixels) - 100  # a dark box border around a pale picture


def test_crossed_numbers_can_be_drawn_with_a_given_number_of_lines():
    paths = fonts.font_paths(fonts.split_families()[1])
    plain, _, _ = ocr_numbers.crossed_number(np.random.default_rng(1), paths, crossing_lines=0)
    crossed, _, _ = ocr_numbers.crossed_number(np.random.default_rng(1), paths, crossing_lines=6)
    changed = np.abs(np.asarray(plain, np.int16) - np.asarray(crossed, np.int16)).max(axis=2) > 30
    assert changed.sum() > 6 * 20  # six one-pixel lines, on average longer than 20 px


def test_review_flag_counts_the_wrong_strings_below_the_threshold_and_in_the_least_sure_tenth(monkeypatch):
    monkeypatch.setattr(ocr_numbers.model_card, "review_threshold", lambda path: 0.9)
    truths = [str(number) for number in range(20)]
    readings = ["x", "x", "x"] + truths[3:]  # the three wrong ones
    confidences = [0.1, 0.95, 0.99] + [0.5] + [0.97] * 16

    review = ocr_numbers.review_flag(truths, readings, confidences)

    assert review["threshold"] == 0.9 and review["flagged"] == 2 / 20
    assert review["errors_flagged"] == 1 / 3
    assert review["errors_in_least_sure_tenth"] == 1 / 3  # the tenth: 0.1 (wrong) and 0.5 (right)
