"""Single digits from pictures: the network's digit probabilities for their network inputs."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from PIL import Image

from ml.inference import DIGITS, given_a_digit
from ml.preprocess import ImageError, to_network_input


def digit_probabilities(inputs: np.ndarray, classifier) -> np.ndarray:
    """(N, 10) digit probabilities for N `to_network_input` inputs, given that each shows a digit."""
    return given_a_digit(classifier.predict_all(inputs))


def read_digit_pictures(pictures: Sequence[Image.Image], classifier) -> tuple[np.ndarray, np.ndarray]:
    """The indices of the pictures that show ink, and their (n, 10) digit probabilities; pictures
    without ink (an ImageError from `to_network_input`) are left out."""
    inputs, readable = [], []
    for index, picture in enumerate(pictures):
        try:
            inputs.append(to_network_input(picture))
        except ImageError:
            continue
        readable.append(index)
    if not inputs:
        return np.zeros(0, dtype=int), np.zeros((0, DIGITS), dtype=np.float32)
    return np.asarray(readable), digit_probabilities(np.stack(inputs), classifier)
