"""Learning from a user's corrections of real lines: what a line fine-tune (`ml.fine_tune_lines`, as the
service runs it) makes of real meter readings the reader was never trained on.

The LCD meter readings of `../shared/datasets/real/` (or `--data DIR`, or `$REAL_DATASETS`), labelled with
their decimal point (`labels_with_point.csv`: what a person would type as a correction), are split by their
label as the set's README advises (a reading photographed twice falls on one side): four fifths stand for a
user's corrections, the fifth kept aside is read before and after by the network alone, as the service's
promotion judges candidates, with 1,500 generated lines beside (the base sample). The sets are an optional
input: without the folder it says so and exits 0. Needs TensorFlow (the training lock).

Usage: python -m bench.learning [--data DIR] [--out FILE]
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import os
import tempfile
import time
from pathlib import Path

import numpy as np

from bench.real import DEFAULT_DATA
from ml import fine_tune_lines
from ml.lines import DEFAULT_LINE_ARTIFACT
from ml.preprocess import open_image
from ml.train_lines import stored_line_input, weights_path

SET_NAME = "lcd_meter_reading"
KEPT_ASIDE = 5  # one label in five
BASE_LINES = 1500  # generated lines, as OCR_FINE_TUNE_VALIDATION_IMAGES
RESULTS = Path(__file__).resolve().parent / "results" / "learning.json"


def meter_readings(folder: Path) -> list[tuple[Path, str]]:
    """(picture, reading with its decimal point) of the LCD meter readings."""
    with open(folder / SET_NAME / "labels_with_point.csv", newline="") as rows:
        return [(folder / SET_NAME / row["file"], row["text"]) for row in csv.DictReader(rows)]


def is_kept_aside(text: str) -> bool:
    return int(hashlib.sha256(text.encode()).hexdigest(), 16) % KEPT_ASIDE == 0


def line_inputs(items: list[tuple[Path, str]]) -> tuple[np.ndarray, list[str]]:
    """uint8 line inputs and texts, as the service reads a correction (`learning.services`); a picture
    without ink is left out, as the service leaves it out."""
    read = [(stored_line_input(open_image(path.read_bytes())), text) for path, text in items]
    kept = [(inputs, text) for inputs, text in read if inputs is not None]
    return np.stack([inputs for inputs, _ in kept]), [text for _, text in kept]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path(os.environ.get("REAL_DATASETS", DEFAULT_DATA)))
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    if not (args.data / SET_NAME).is_dir():
        print(f"real sets not found at {args.data}: skipped (they are an optional input of this benchmark)")
        return
    items = meter_readings(args.data)
    corrected = line_inputs([item for item in items if not is_kept_aside(item[1])])
    kept_aside = line_inputs([item for item in items if is_kept_aside(item[1])])
    base_sample = fine_tune_lines.base_line_validation_sample(BASE_LINES)
    started = time.time()
    with tempfile.TemporaryDirectory(prefix="bench-learning-") as work:
        candidate = Path(work) / fine_tune_lines.ARTIFACT_NAME
        training = fine_tune_lines.fine_tune_lines(weights_path(DEFAULT_LINE_ARTIFACT), corrected, Path(work))
        results = {
            "set": SET_NAME,
            "corrected": len(corrected[1]),
            "kept_aside": len(kept_aside[1]),
            "seconds": round(time.time() - started, 1),
            "training": training,
            **{
                name: {
                    "current": fine_tune_lines.line_accuracy(DEFAULT_LINE_ARTIFACT, *sample),
                    "candidate": fine_tune_lines.line_accuracy(candidate, *sample),
                }
                for name, sample in {"kept_aside_readings": kept_aside, "base_generated_lines": base_sample}.items()
            },
        }
    for name in ("kept_aside_readings", "base_generated_lines"):
        print(
            f"{name:22} current {100 * results[name]['current']:6.2f}%  fine-tuned {100 * results[name]['candidate']:6.2f}%"
        )
    print(f"{results['corrected']} readings corrected, {results['kept_aside']} kept aside; {results['seconds']} s")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2) + "\n")
    print(f"written {args.out}")


if __name__ == "__main__":
    main()
