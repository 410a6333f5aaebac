"""Real captures, read by this project and by Tesseract 5 on the same images, set by set.

Reads the labelled real sets of `../shared/datasets/real/` (or `--data DIR`, or `$REAL_DATASETS`) when
they are there: single digits (`*_digit` kinds) in digit mode against Tesseract `--psm 10`, lines
(`*_string` kinds) in number mode against `--psm 7`. The sets are an optional input: without the
folder it says so and exits 0. Nothing here is trained or tuned on; these figures are reported apart
from the synthetic ones (`python -m bench.ocr`, `python -m bench.ocr_numbers`).

A set the network was trained on part of (its artifact's metrics.json lists the training sources) is
read on its test part only (`dataset/real.py`); the others are read whole. `--model` reads with another
artifact, such as the leave-one-source-out network trained on no real set at all.

Usage: python -m bench.real [--data DIR] [--limit N] [--model PATH] [--line-model PATH] [--digits-only | --lines-only]
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import shutil
import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image

from bench import ocr, ocr_numbers
from dataset import real
from ml import model_card
from ml.calibration import expected_calibration_error
from ml.inference import DEFAULT_ARTIFACT, DigitClassifier
from ml.lines import DEFAULT_LINE_ARTIFACT, LineReader
from ml.reading import read_digit_pictures

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATA = REPO_ROOT.parent / "shared" / "datasets" / "real"
RESULTS = REPO_ROOT / "bench" / "results" / "real.json"


def labelled_sets(folder: Path, limit: int | None) -> dict[str, list[tuple[Path, str]]]:
    """{"<set>/<kind>": [(image path, label string)]}, a set's digits and lines apart. A line's label
    keeps its decimal point where the set gives it (`labels_with_point.csv`)."""
    sets: dict[str, list[tuple[Path, str]]] = {}
    for labels in sorted(folder.glob("*/labels.csv")):
        with_point = _labels_with_point(labels.parent)
        with open(labels, newline="") as rows:
            for row in csv.DictReader(rows):
                kind = "digit" if row["kind"].endswith("_digit") else "line"
                label = row["label"] if kind == "digit" else with_point.get(row["file"], row["label"])
                sets.setdefault(f"{labels.parent.name} ({kind}s)", []).append((labels.parent / row["file"], label))
    return {name: evenly_spaced(items, limit) for name, items in sets.items()}


def _labels_with_point(folder: Path) -> dict[str, str]:
    path = folder / "labels_with_point.csv"
    if not path.exists():
        return {}
    with open(path, newline="") as rows:
        return {row["file"]: row["text"] for row in csv.DictReader(rows)}


def untrained_part(sets: dict[str, list[tuple[Path, str]]], trained_on: set[str]) -> dict:
    """Each set as it is, or, for a set the network trained on part of, its test part only."""
    chosen = {}
    for name, items in sets.items():
        set_name = name.split(" (")[0]
        if set_name in trained_on:
            parts = real.labelled_lines if set_name in real.LINE_SETS else real.labelled_files
            test_files = {path.name for path, _ in parts(set_name, "test")}
            name, items = f"{name} test part", [item for item in items if item[0].name in test_files]
        chosen[name] = items
    return chosen


def trained_sources(model_path: Path) -> set[str]:
    """The real sets the digit network at `model_path` trained on part of, and the line reader's."""
    metrics = model_path.with_name("metrics.json")
    digit_sources = set(json.loads(metrics.read_text()).get("training_data", {})) if metrics.exists() else set()
    return digit_sources | set(real.LINE_SETS)


def evenly_spaced(items: list, limit: int | None) -> list:
    """At most `limit` items spread over the whole list (the sets are sorted by label)."""
    if limit is None or len(items) <= limit:
        return items
    return [items[round(index * len(items) / limit)] for index in range(limit)]


def read_digits(items: list[tuple[Path, str]], classifier: DigitClassifier, model_path: Path) -> dict:
    """Accuracy, calibration and the review flag at the service's default threshold (the card's)."""
    threshold = model_card.review_threshold(model_path)
    pictures = [Image.open(path).convert("RGB") for path, _ in items]
    labels = np.array([int(label) for _, label in items])
    started = time.perf_counter()
    readable, probabilities = read_digit_pictures(pictures, classifier)
    seconds = time.perf_counter() - started
    predictions = np.full(len(items), -1)
    confidences = np.zeros(len(items))
    predictions[readable] = probabilities.argmax(axis=1)
    confidences[readable] = probabilities.max(axis=1)
    wrong = predictions != labels
    tesseract, tesseract_seconds = ocr.run_tesseract([ocr.for_tesseract(picture) for picture in pictures])
    return {
        "images": len(items),
        "digit-ocr": {
            "accuracy": float(np.mean(~wrong)),
            "images_per_second": len(items) / seconds,
            "ece": float(expected_calibration_error(probabilities, labels[readable])) if len(readable) else None,
            "review_threshold": threshold,
            "errors_flagged": float(np.mean(confidences[wrong] < threshold)) if wrong.any() else None,
            "flagged": float(np.mean(confidences < threshold)),
        },
        "tesseract --psm 10": ocr.score(tesseract, labels, tesseract_seconds),
    }


def read_lines(items: list[tuple[Path, str]], reader: LineReader, classifier: DigitClassifier) -> dict:
    """Whole strings with the line reader, Tesseract `--psm 7` beside. A set whose labels never write a
    separator leaves them out even where the picture shows one (a meter's painted decimal comma, a
    cheque's points), so there both readings are compared by their digits alone."""
    pictures = [path.read_bytes() for path, _ in items]
    truths = [label for _, label in items]
    lines, seconds = ocr_numbers.run_reader(lambda data: ocr_numbers.our_line(data, reader, classifier), pictures)
    ours, confidences = [line.text for line in lines], [line.confidence for line in lines]
    tesseract, tesseract_seconds = ocr_numbers.run_reader(ocr_numbers.tesseract_reading, pictures)
    if all(truth.isdigit() for truth in truths):  # as a job with keep_separators false reads them
        ours, confidences = [line.digits for line in lines], [line.digits_confidence for line in lines]
        tesseract = digits_of(tesseract)
    review = ocr_numbers.review_flag(truths, ours, confidences)
    return {
        "images": len(items),
        "digit-ocr": ocr_numbers.score(truths, ours, seconds) | {"review": review},
        "tesseract --psm 7": ocr_numbers.score(truths, tesseract, tesseract_seconds),
    }


def digits_of(readings: list[str]) -> list[str]:
    return ["".join(character for character in reading if character.isdigit()) for reading in readings]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path(os.environ.get("REAL_DATASETS", DEFAULT_DATA)))
    parser.add_argument("--limit", type=int, default=None, help="at most N images per set")
    parser.add_argument("--model", type=Path, default=DEFAULT_ARTIFACT, help="the .tflite artifact to read with")
    parser.add_argument("--line-model", type=Path, default=DEFAULT_LINE_ARTIFACT, help="the line reader's .tflite")
    parser.add_argument("--digits-only", action="store_true", help="skip the line sets")
    parser.add_argument("--lines-only", action="store_true", help="skip the single-digit sets")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    if not args.data.is_dir():
        print(f"real sets not found at {args.data}: skipped (they are an optional input of this benchmark)")
        return
    if shutil.which("tesseract") is None:
        sys.exit("tesseract not found: apt-get install -y tesseract-ocr")
    classifier, line_reader = DigitClassifier.load(args.model), LineReader.load(args.line_model)
    results = {
        "model_version": classifier.version,
        "line_model_version": line_reader.version,
        "data": str(args.data),
        "sets": {},
    }
    sets = untrained_part(labelled_sets(args.data, args.limit), trained_sources(args.model))
    for name, items in sets.items():
        digits = "(digits)" in name
        if (args.digits_only and not digits) or (args.lines_only and digits):
            continue
        results["sets"][name] = (
            read_digits(items, classifier, args.model) if digits else read_lines(items, line_reader, classifier)
        )
        print_set(name, results["sets"][name])
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2) + "\n")
    print(f"\nwritten {args.out}")


def print_set(name: str, figures: dict) -> None:
    ours = figures["digit-ocr"]
    engine, theirs = next((key, value) for key, value in figures.items() if key.startswith("tesseract"))
    accuracy = ours.get("accuracy", ours.get("string_accuracy"))
    tesseract_accuracy = theirs.get("accuracy", theirs.get("string_accuracy"))
    extra = ""
    if "ece" in ours:
        caught = "-" if ours["errors_flagged"] is None else f"{100 * ours['errors_flagged']:.0f}%"
        extra = f"  ECE {100 * ours['ece']:.1f}%, flagged {100 * ours['flagged']:.0f}% catching {caught} of errors"
    elif "review" in ours:
        extra = f"  {ocr_numbers.review_summary(ours['review'])}"
    print(
        f"{name:42} {figures['images']:5d} images  digit-ocr {100 * accuracy:6.2f}%  "
        f"{engine} {100 * tesseract_accuracy:6.2f}%{extra}"
    )


if __name__ == "__main__":
    main()
