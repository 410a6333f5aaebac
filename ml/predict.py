"""Classify image files with the LiteRT model (no TensorFlow import)."""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from functools import partial
from itertools import islice
from pathlib import Path

import numpy as np

from ml.inference import DigitClassifier, top_k
from ml.lines import LineReader, LineReading
from ml.preprocess import ImageError, line_input, open_image, prepare
from ml.reading import digit_probabilities, needs_second_look, second_looks

PARALLEL_FROM = 64  # fewer files are prepared in this process: starting workers would cost more


def predict_files(paths: list[Path], model_path: Path | None = None) -> Iterator[dict]:
    classifier = DigitClassifier.load(model_path)
    readable, inputs, results = [], [], {}
    for path, prepared, error in _prepared_files(paths, prepare):
        if error is None:
            inputs.append(prepared)
            readable.append(path)
        else:
            results[path] = {"path": str(path), "error": error}
    probabilities = digit_probabilities(np.stack(inputs), classifier) if inputs else np.zeros((0, 10))
    for path, row in zip(readable, probabilities):
        results[path] = _answer(path, row)
    for path in paths:
        yield results[path]


def predict_numbers(paths: list[Path], model_path: Path | None = None, batch: int = 256) -> Iterator[dict]:
    """`{"path", "text", "confidence", "digits"}` per image: the line it shows, separators in `text`,
    `digits` digit by digit with boxes. Read with the line reader, `batch` images at a time, with its second
    looks at doubtful lines and digits, as the service reads them."""
    reader, classifier = LineReader.load(model_path), DigitClassifier.load()
    prepared = _prepared_files(paths, _line_input_of)
    while chunk := list(islice(prepared, batch)):
        yield from _numbers(chunk, reader, classifier)


def _numbers(
    chunk: list[tuple[Path, tuple | None, str | None]], reader: LineReader, classifier: DigitClassifier
) -> Iterator[dict]:
    lines = {path: line for path, line, error in chunk if error is None}
    readings = {}
    if lines:
        inputs, placements = zip(*lines.values())
        readings = dict(zip(lines, reader.read(np.stack(inputs), list(placements))))
        readings.update(_looked_again(readings, reader, classifier))
    for path, _, error in chunk:
        yield _number_answer(path, readings[path]) if error is None else {"path": str(path), "error": error}


def _looked_again(
    readings: dict[Path, LineReading], reader: LineReader, classifier: DigitClassifier
) -> dict[Path, LineReading]:
    """The doubtful readings after their second looks, from their pictures (opened again: the pictures were
    prepared in other processes, and only the doubtful readings need them)."""
    doubtful = [path for path, reading in readings.items() if needs_second_look(reading)]
    pictures = [open_image(path.read_bytes()) for path in doubtful]
    return dict(zip(doubtful, second_looks([readings[path] for path in doubtful], pictures, reader, classifier)))


def _prepared_files(paths: list[Path], prepare_bytes: Callable) -> Iterator[tuple[Path, object, str | None]]:
    """`(path, its network input, None)` or `(path, None, the reason it has none)` for each file, in
    order; many files are prepared on every core while the caller reads the ones ready."""
    prepare_file = partial(_prepared_file, prepare_bytes)
    if len(paths) < PARALLEL_FROM:
        yield from map(prepare_file, paths)
        return
    # forkserver: workers forked from this process would inherit the interpreter's threads
    with ProcessPoolExecutor(os.cpu_count(), mp_context=multiprocessing.get_context("forkserver")) as pool:
        yield from pool.map(prepare_file, paths, chunksize=32)


def _prepared_file(prepare_bytes: Callable, path: Path) -> tuple[Path, object, str | None]:
    try:
        return path, prepare_bytes(path.read_bytes()), None
    except (ImageError, OSError) as error:
        return path, None, str(error)


def _line_input_of(data: bytes) -> tuple[np.ndarray, object]:
    return line_input(open_image(data))


def _number_answer(path: Path, reading: LineReading) -> dict:
    return {"path": str(path), "text": reading.text, "confidence": reading.confidence, "digits": reading.digit_list()}


def _answer(path: Path, probabilities: np.ndarray) -> dict:
    top = top_k(probabilities, 3)
    return {"path": str(path), "digit": top[0]["digit"], "confidence": top[0]["probability"], "top": top}
