"""Real captures, read by this project and by Tesseract 5 on the same images, set by set.

Reads the labelled real sets of `../shared/datasets/real/` (or `--data DIR`, or `$REAL_DATASETS`) when
they are there: single digits (`*_digit` kinds) in digit mode against Tesseract `--psm 10`, lines
(`*_string` kinds) in number mode against `--psm 7`. The sets are an optional input: without the
folder it says so and exits 0. Nothing here is trained or tuned on; these figures are reported apart
from the synthetic ones (`python -m bench.ocr`, `python -m bench.ocr_numbers`).

Usage: python -m bench.real [--data DIR] [--limit N]
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
from ml import model_card
from ml.calibration import expected_calibration_error
from ml.inference import DEFAULT_ARTIFACT, DigitClassifier
from ml.reading import read_digit_pictures

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATA = REPO_ROOT.parent / "shared" / "datasets" / "real"
RESULTS = REPO_ROOT / "bench" / "results" / "real.json"


def labelled_sets(folder: Path, limit: int | None) -> dict[str, list[tuple[Path, str]]]:
    """{"<set>/<kind>": [(image path, label string)]}, a set's digits and lines apart."""
    sets: dict[str, list[tuple[Path, str]]] = {}
    for labels in sorted(folder.glob("*/labels.csv")):
        with open(labels, newline="") as rows:
            for row in csv.DictReader(rows):
                kind = "digit" if row["kind"].endswith("_digit") else "line"
                sets.setdefault(f"{labels.parent.name} ({kind}s)", []).append(
                    (labels.parent / row["file"], row["label"])
                )
    return {name: evenly_spaced(items, limit) for name, items in sets.items()}


def evenly_spaced(items: list, limit: int | None) -> list:
    """At most `limit` items spread over the whole list (the sets are sorted by label)."""
    if limit is None or len(items) <= limit:
        return items
    return [items[round(index * len(items) / limit)] for index in range(limit)]


def read_digits(items: list[tuple[Path, str]], classifier: DigitClassifier) -> dict:
    """Accuracy, calibration and the review flag at the service's default threshold (the card's)."""
    threshold = model_card.review_threshold(DEFAULT_ARTIFACT)
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


def read_lines(items: list[tuple[Path, str]], classifier: DigitClassifier) -> dict:
    pictures = [path.read_bytes() for path, _ in items]
    truths = [label for _, label in items]
    ours, seconds = ocr_numbers.run_reader(lambda data: ocr_numbers.our_reading(data, classifier), pictures)
    tesseract, tesseract_seconds = ocr_numbers.run_reader(ocr_numbers.tesseract_reading, pictures)
    return {
        "images": len(items),
        "digit-ocr": ocr_numbers.score(truths, ours, seconds),
        "tesseract --psm 7": ocr_numbers.score(truths, tesseract, tesseract_seconds),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path(os.environ.get("REAL_DATASETS", DEFAULT_DATA)))
    parser.add_argument("--limit", type=int, default=None, help="at most N images per set")
    args = parser.parse_args(argv)
    if not args.data.is_dir():
        print(f"real sets not found at {args.data}: skipped (they are an optional input of this benchmark)")
        return
    if shutil.which("tesseract") is None:
        sys.exit("tesseract not found: apt-get install -y tesseract-ocr")
    classifier = DigitClassifier.load()
    results = {"model_version": classifier.version, "data": str(args.data), "sets": {}}
    for name, items in labelled_sets(args.data, args.limit).items():
        reader = read_digits if name.endswith("(digits)") else read_lines
        results["sets"][name] = reader(items, classifier)
        print_set(name, results["sets"][name])
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    print(f"\nwritten {RESULTS}")


def print_set(name: str, figures: dict) -> None:
    ours = figures["digit-ocr"]
    engine, theirs = next((key, value) for key, value in figures.items() if key.startswith("tesseract"))
    accuracy = ours.get("accuracy", ours.get("string_accuracy"))
    tesseract_accuracy = theirs.get("accuracy", theirs.get("string_accuracy"))
    extra = ""
    if "ece" in ours:
        caught = "-" if ours["errors_flagged"] is None else f"{100 * ours['errors_flagged']:.0f}%"
        extra = f"  ECE {100 * ours['ece']:.1f}%, flagged {100 * ours['flagged']:.0f}% catching {caught} of errors"
    print(
        f"{name:42} {figures['images']:5d} images  digit-ocr {100 * accuracy:6.2f}%  "
        f"{engine} {100 * tesseract_accuracy:6.2f}%{extra}"
    )


if __name__ == "__main__":
    main()
