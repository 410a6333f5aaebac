"""Single digits from pictures: the network's digit probabilities for their network inputs, and
`auto` mode's choice of reader."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from PIL import Image

from ml.inference import DIGITS, given_a_digit
from ml.preprocess import ImageError, line_input, to_network_input

AUTO_ONE_DIGIT_CONFIDENCE = 0.8  # below it, the line reader has a look (and hands one-character lines back)


def takes_for_one_digit(outputs: np.ndarray) -> np.ndarray:
    """`auto` mode's gate, a boolean per row of (N, 11) digit network outputs: the pictures the network
    takes for one whole digit (trained on numbers and wrong cuts as "not a digit") with a top digit of
    at least AUTO_ONE_DIGIT_CONFIDENCE. The others go to the line reader, so a zip of single digits
    costs little more than in `digit` mode."""
    return (outputs[:, DIGITS] < 0.5) & (given_a_digit(outputs).max(axis=1) >= AUTO_ONE_DIGIT_CONFIDENCE)


def lines_in_doubtful_pictures(pictures: Sequence[Image.Image], outputs: np.ndarray, load_line_reader) -> dict:
    """`auto`: {index: LineReading} of the pictures the digit network does not take for one digit, read
    by the line reader (`load_line_reader()`, called only if there are any); only lines of two or more
    characters (for one, the digit network's answer stands), and none where the line reader finds no ink."""
    doubtful, prepared = [], []
    for index, (picture, one_digit) in enumerate(zip(pictures, takes_for_one_digit(outputs))):
        if one_digit:
            continue
        try:
            prepared.append(line_input(picture))
        except ImageError:
            continue
        doubtful.append(index)
    if not doubtful:
        return {}
    inputs, placements = zip(*prepared)
    readings = load_line_reader().read(np.stack(inputs), list(placements))
    return {index: line for index, line in zip(doubtful, readings) if len(line.characters) > 1}


def digit_probabilities(inputs: np.ndarray, classifier) -> np.ndarray:
    """(N, 10) digit probabilities for N `to_network_input` inputs, given that each shows a digit."""
    return given_a_digit(classifier.predict_all(inputs))


def read_digit_pictures(pictures: Sequence[Image.Image], classifier) -> tuple[np.ndarray, np.ndarray]:
    """The indices of the pictures that show ink, and their (n, 10) digit probabilities; pictures
    without ink (an ImageError from `to_network_input`) are left out."""
    readable, inputs = network_inputs(pictures)
    if not len(readable):
        return readable, np.zeros((0, DIGITS), dtype=np.float32)
    return readable, digit_probabilities(inputs, classifier)


def network_inputs(pictures: Sequence[Image.Image]) -> tuple[np.ndarray, np.ndarray]:
    """The indices of the pictures that show ink, and their (n, 28, 28) network inputs."""
    inputs, readable = [], []
    for index, picture in enumerate(pictures):
        try:
            inputs.append(to_network_input(picture))
        except ImageError:
            continue
        readable.append(index)
    return np.asarray(readable, dtype=int), np.stack(inputs) if inputs else np.zeros((0, 28, 28), np.float32)
