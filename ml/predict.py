"""Classify image files with the LiteRT model (no TensorFlow import)."""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from functools import partial
from pathlib import Path

import numpy as np

from ml.inference import DIGITS, DigitClassifier, given_a_digit, top_k
from ml.lines import LineReader, LineReading
from ml.preprocess import ImageError, line_ink, open_image, prepare
from ml.reading import read_doubtful_digits_in_one_polarity, read_lines

PARALLEL_FROM = 64  # fewer files are read in this process: starting workers would cost more
# Lines a worker reads at a time. 16 read 2,000 lines about 5% faster than 64 (in turns, same run): the
# results start flowing sooner and both cores stay busy to the end.
NUMBER_CHUNK = 16
# forkserver: workers forked from this process would inherit the interpreter's threads. It imports this
# module once and forks every worker from that, instead of each worker importing it (pool ready in about
# 0.16 s instead of 0.25 s).
_FORKSERVER = multiprocessing.get_context("forkserver")
_FORKSERVER.set_forkserver_preload(["ml.predict"])


def predict_files(paths: list[Path], model_path: Path | None = None) -> Iterator[dict]:
    classifier = DigitClassifier.load(model_path)
    readable, inputs, results = [], [], {}
    for path, prepared, error in _prepared_files(paths, prepare):
        if error is None:
            inputs.append(prepared)
            readable.append(path)
        else:
            results[path] = {"path": str(path), "error": error}
    outputs = classifier.predict_all(np.stack(inputs)) if inputs else np.zeros((0, DIGITS + 1))
    outputs = read_doubtful_digits_in_one_polarity(outputs, _PicturesOpenedWhenAsked(readable), classifier)
    for path, row in zip(readable, given_a_digit(outputs)):
        results[path] = _answer(path, row)
    for path in paths:
        yield results[path]


class _PicturesOpenedWhenAsked:
    """The files' pictures, each opened when it is asked for: only a doubtful digit's is looked at again."""

    def __init__(self, paths: list[Path]):
        self.paths = paths

    def __getitem__(self, index: int):
        return open_image(self.paths[index].read_bytes())


def predict_numbers(paths: list[Path], model_path: Path | None = None) -> Iterator[dict]:
    """`{"path", "text", "confidence", "digits"}` per image: the line it shows, separators in `text`,
    `digits` digit by digit with boxes. Read with the line reader and its second looks at doubtful lines and
    digits, as the service reads them; many files are read NUMBER_CHUNK at a time on every core, each worker
    reading its chunk from the file to the answer (a doubtful line's second looks need its picture and ink)."""
    chunks = [paths[start : start + NUMBER_CHUNK] for start in range(0, len(paths), NUMBER_CHUNK)]
    if len(paths) < PARALLEL_FROM:
        readers = _line_readers(model_path, num_threads=2)
        for chunk in chunks:
            yield from _numbers_in(chunk, *readers)
        return
    with ProcessPoolExecutor(
        os.cpu_count(), mp_context=_FORKSERVER, initializer=_load_worker_readers, initargs=(model_path,)
    ) as pool:
        for answers in pool.map(_numbers_in_worker, chunks):
            yield from answers


def _line_readers(model_path: Path | None, num_threads: int) -> tuple[LineReader, DigitClassifier]:
    return LineReader.load(model_path, num_threads=num_threads), DigitClassifier.load(num_threads=num_threads)


_worker_readers: tuple[LineReader, DigitClassifier] | None = None


def _load_worker_readers(model_path: Path | None) -> None:
    """In each worker, once: one thread per network, as every core has a worker."""
    global _worker_readers
    _worker_readers = _line_readers(model_path, num_threads=1)


def _numbers_in_worker(paths: list[Path]) -> list[dict]:
    return _numbers_in(paths, *_worker_readers)


def _numbers_in(paths: list[Path], reader: LineReader, classifier: DigitClassifier) -> list[dict]:
    """The answers for the files, in order: one batch through the line reader, the second looks batched too."""
    answers, inks = {}, {}
    for path in paths:
        try:
            inks[path] = line_ink(open_image(path.read_bytes()))
        except (ImageError, OSError) as error:
            answers[path] = {"path": str(path), "error": str(error)}
    if inks:
        readings = read_lines(list(inks.values()), reader, classifier)
        answers.update((path, _number_answer(path, reading)) for path, reading in zip(inks, readings))
    return [answers[path] for path in paths]


def _prepared_files(paths: list[Path], prepare_bytes: Callable) -> Iterator[tuple[Path, object, str | None]]:
    """`(path, its network input, None)` or `(path, None, the reason it has none)` for each file, in
    order; many files are prepared on every core while the caller reads the ones ready."""
    prepare_file = partial(_prepared_file, prepare_bytes)
    if len(paths) < PARALLEL_FROM:
        yield from map(prepare_file, paths)
        return
    with ProcessPoolExecutor(os.cpu_count(), mp_context=_FORKSERVER) as pool:
        yield from pool.map(prepare_file, paths, chunksize=32)


def _prepared_file(prepare_bytes: Callable, path: Path) -> tuple[Path, object, str | None]:
    try:
        return path, prepare_bytes(path.read_bytes()), None
    except (ImageError, OSError) as error:
        return path, None, str(error)


def _number_answer(path: Path, reading: LineReading) -> dict:
    return {"path": str(path), "text": reading.text, "confidence": reading.confidence, "digits": reading.digit_list()}


def _answer(path: Path, probabilities: np.ndarray) -> dict:
    top = top_k(probabilities, 3)
    return {"path": str(path), "digit": top[0]["digit"], "confidence": top[0]["probability"], "top": top}
