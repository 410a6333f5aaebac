"""Classify image files with the LiteRT model (no TensorFlow import)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np

from ml.inference import DigitClassifier, top_k
from ml.lines import LineReader, LineReading
from ml.preprocess import ImageError, line_input, open_image, prepare
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


def predict_numbers(paths: list[Path], model_path: Path | None = None, batch: int = 256) -> Iterator[dict]:
    """`{"path", "text", "confidence", "digits"}` per image: the line it shows, separators in `text`,
    `digits` digit by digit with boxes. Read with the line reader, `batch` images at a time."""
    reader = LineReader.load(model_path)
    for start in range(0, len(paths), batch):
        yield from _numbers(paths[start : start + batch], reader)


def _numbers(paths: list[Path], reader: LineReader) -> Iterator[dict]:
    lines, answers = {}, {}
    for path in paths:
        try:
            lines[path] = line_input(open_image(path.read_bytes()))
        except (ImageError, OSError) as error:
            answers[path] = {"path": str(path), "error": str(error)}
    if lines:
        inputs, placements = zip(*lines.values())
        for path, reading in zip(lines, reader.read(np.stack(inputs), list(placements))):
            answers[path] = _number_answer(path, reading)
    for path in paths:
        yield answers[path]


def _number_answer(path: Path, reading: LineReading) -> dict:
    return {"path": str(path), "text": reading.text, "confidence": reading.confidence, "digits": reading.digit_list()}


def _answer(path: Path, probabilities: np.ndarray) -> dict:
    top = top_k(probabilities, 3)
    return {"path": str(path), "digit": top[0]["digit"], "confidence": top[0]["probability"], "top": top}
