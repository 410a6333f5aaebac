"""Classify image files with the LiteRT model (no TensorFlow import)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np

from ml.inference import DigitClassifier, top_k
from ml.numbers import predict_number_file
from ml.preprocess import ImageError, prepare
from ml.reading import digit_probabilities


def predict_files(paths: list[Path], model_path: Path | None = None) -> Iterator[dict]:
    classifier = DigitClassifier.load(model_path)
    readable, inputs, results = [], [], {}
    for path in paths:
        try:
            inputs.append(prepare(path.read_bytes()))
            readable.append(path)
        except (ImageError, OSError) as error:
            results[path] = {"path": str(path), "error": str(error)}
    probabilities = digit_probabilities(np.stack(inputs), classifier) if inputs else np.zeros((0, 10))
    for path, row in zip(readable, probabilities):
        results[path] = _answer(path, row)
    for path in paths:
        yield results[path]


def predict_numbers(paths: list[Path], model_path: Path | None = None) -> Iterator[dict]:
    """`{"path", "text", "confidence", "digits"}` per image: the number it shows, digit by digit."""
    classifier = DigitClassifier.load(model_path)
    for path in paths:
        yield predict_number_file(path, classifier)


def _answer(path: Path, probabilities: np.ndarray) -> dict:
    top = top_k(probabilities, 3)
    return {"path": str(path), "digit": top[0]["digit"], "confidence": top[0]["probability"], "top": top}
