"""Side-by-side OCR benchmark: our LiteRT digit classifier vs Tesseract 5 on the same images.

Fresh test images (new seed): printed digits in held-out font families with degradations,
handwritten digits from the held-out MNIST part (also scanned into 16 x 16 cells), and generated
captures (displays, counter wheels, scene digits). Each is read in `digit` mode and in `auto` mode
(the service's default), as the service reads them, with Tesseract beside. Installs nothing (the
Makefile target installs tesseract-ocr). Usage: python -m bench.ocr [--per-set 500] [--seed 9001]
(run it as a module: as a script, bench/numbers.py would shadow the standard library's numbers).
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

from dataset import degrade, fonts, handwritten, printed
from dataset.build import CAPTURES
from dataset.degrade import TIGHT_CROPS
from ml.inference import DigitClassifier, given_a_digit
from ml.lines import LineReader
from ml.reading import (
    lines_in_doubtful_pictures,
    network_inputs,
    read_digit_pictures,
    read_doubtful_digits_in_one_polarity,
)

REPO_ROOT = Path(__file__).resolve().parents[1]
RESULTS = REPO_ROOT / "bench" / "results" / "ocr.json"
TESSERACT_HEIGHT = 96  # Tesseract reads best with glyphs ~30-100 px tall
TESSERACT_BORDER = 32
SCANNED_SIDE = 16


def printed_test_set(count: int, seed: int, tight_crops: float = TIGHT_CROPS) -> tuple[list[Image.Image], np.ndarray]:
    _, held_out = fonts.split_families()
    paths = fonts.font_paths(held_out)
    rng = np.random.default_rng(seed)
    labels = np.arange(count) % 10
    pictures = [printed.random_printed_digit(rng, paths, int(label), tight_crops=tight_crops) for label in labels]
    return pictures, labels


def handwritten_test_set(count: int, seed: int) -> tuple[list[Image.Image], np.ndarray]:
    images, labels = handwritten.mnist_split()["validation"]
    chosen = np.random.default_rng(seed).choice(len(images), size=min(count, len(images)), replace=False)
    return [Image.fromarray(images[index]) for index in chosen], labels[chosen]


def scanned_handwritten_test_set(count: int, seed: int) -> tuple[list[Image.Image], np.ndarray]:
    """The handwritten test set's digits scanned into 16 x 16 cells, as postal-code sets are."""
    pictures, labels = handwritten_test_set(count, seed)
    rng = np.random.default_rng(seed)
    glyphs = [degrade.crop_to_ink(np.asarray(picture, dtype=np.float32) / 255.0) for picture in pictures]
    return [handwritten.scanned_small(rng, glyph, side=SCANNED_SIDE) for glyph in glyphs], labels


def for_tesseract(image: Image.Image) -> Image.Image:
    """Grey, dark ink on light paper, scaled up, with a white border."""
    grey = image.convert("L")
    pixels = np.asarray(grey)
    border = np.concatenate([pixels[0], pixels[-1], pixels[:, 0], pixels[:, -1]])
    if np.median(border) < 128:
        grey = ImageOps.invert(grey)
    scale = TESSERACT_HEIGHT / grey.height
    if scale > 1:
        grey = grey.resize((max(1, round(grey.width * scale)), TESSERACT_HEIGHT), Image.Resampling.BICUBIC)
    return ImageOps.expand(grey, TESSERACT_BORDER, fill=255)


def run_tesseract(images: list[Image.Image]) -> tuple[list[int | None], float]:
    """One Tesseract process for all images (a list file), one page of output per image."""
    with tempfile.TemporaryDirectory() as folder:
        paths = []
        for index, image in enumerate(images):
            path = Path(folder) / f"{index:05d}.png"
            image.save(path)
            paths.append(str(path))
        listing = Path(folder) / "images.txt"
        listing.write_text("\n".join(paths) + "\n")
        started = time.perf_counter()
        result = subprocess.run(
            ["tesseract", str(listing), "stdout", "--psm", "10", "-c", "tessedit_char_whitelist=0123456789"],
            capture_output=True,
            text=True,
            check=True,
        )
        seconds = time.perf_counter() - started
    pages = result.stdout.split("\f")[: len(images)]
    return [_first_digit(page) for page in pages] + [None] * (len(images) - len(pages)), seconds


def _first_digit(text: str) -> int | None:
    digits = [character for character in text if character.isdigit()]
    return int(digits[0]) if digits else None


def run_ours(images: list[Image.Image], classifier: DigitClassifier) -> tuple[list[int | None], float]:
    started = time.perf_counter()
    readable, probabilities = read_digit_pictures(images, classifier)
    predictions: list[int | None] = [None] * len(images)
    for index, digit in zip(readable, probabilities.argmax(axis=1)):
        predictions[index] = int(digit)
    return predictions, time.perf_counter() - started


def run_auto(
    images: list[Image.Image], classifier: DigitClassifier, line_reader: LineReader
) -> tuple[list[int | None], float]:
    """As the service reads in `auto` mode: the digit network, and the line reader for the pictures the
    network does not take for one digit; a line of two or more characters is a wrong answer here."""
    started = time.perf_counter()
    readable, inputs = network_inputs(images)
    pictures = [images[index] for index in readable]
    outputs = classifier.predict_all(inputs)
    lines = lines_in_doubtful_pictures(pictures, outputs, lambda: line_reader, classifier)
    outputs = read_doubtful_digits_in_one_polarity(outputs, pictures, classifier)
    predictions: list[int | None] = [None] * len(images)
    for index, digit in enumerate(given_a_digit(outputs).argmax(axis=1)):
        predictions[readable[index]] = None if index in lines else int(digit)
    return predictions, time.perf_counter() - started


def captures_test_set(count: int, seed: int) -> tuple[list[Image.Image], np.ndarray]:
    """Generated displays, counter wheels and scene digits, fresh from `seed`."""
    rng = np.random.default_rng(seed)
    labels = np.arange(count) % 10
    kinds = list(CAPTURES.values())
    return [kinds[index % len(kinds)](rng, int(label)) for index, label in enumerate(labels)], labels


def score(predictions: list[int | None], labels: np.ndarray, seconds: float) -> dict:
    correct = sum(prediction == int(label) for prediction, label in zip(predictions, labels))
    return {
        "images": len(labels),
        "accuracy": correct / len(labels),
        "no_answer": sum(prediction is None for prediction in predictions),
        "images_per_second": len(labels) / seconds if seconds else float("inf"),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--per-set", type=int, default=500)
    parser.add_argument("--seed", type=int, default=9001)
    args = parser.parse_args()
    if shutil.which("tesseract") is None:
        sys.exit("tesseract not found: apt-get install -y tesseract-ocr")
    version = subprocess.run(["tesseract", "--version"], capture_output=True, text=True).stdout.split("\n")[0]
    classifier, line_reader = DigitClassifier.load(), LineReader.load()
    test_sets = {
        "printed (held-out fonts, degraded)": printed_test_set(args.per_set, args.seed),
        "printed, cropped tight (touching or cutting the digit)": printed_test_set(args.per_set, args.seed, 1.0),
        "handwritten (held-out MNIST)": handwritten_test_set(args.per_set, args.seed),
        "handwritten, scanned into 16 x 16 cells": scanned_handwritten_test_set(args.per_set, args.seed),
        "generated captures": captures_test_set(args.per_set, args.seed),
    }
    results = {"tesseract_version": version, "model_version": classifier.version, "seed": args.seed, "sets": {}}
    for name, (images, labels) in test_sets.items():
        ours_predictions, ours_seconds = run_ours(images, classifier)
        auto_predictions, auto_seconds = run_auto(images, classifier, line_reader)
        tesseract_predictions, tesseract_seconds = run_tesseract([for_tesseract(image) for image in images])
        results["sets"][name] = {
            "digit-ocr (LiteRT)": score(ours_predictions, labels, ours_seconds),
            "digit-ocr, auto mode": score(auto_predictions, labels, auto_seconds),
            "tesseract --psm 10": score(tesseract_predictions, labels, tesseract_seconds),
        }
    print_table(results)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    print(f"\nwritten {RESULTS.relative_to(REPO_ROOT)}")


def print_table(results: dict) -> None:
    print(f"{results['tesseract_version']} vs digit-ocr model {results['model_version']}\n")
    print(f"{'test set':54} {'engine':22} {'accuracy':>9} {'no answer':>10} {'images/s':>10}")
    for set_name, engines in results["sets"].items():
        for engine, figures in engines.items():
            print(
                f"{set_name:54} {engine:22} {100 * figures['accuracy']:8.2f}% "
                f"{figures['no_answer']:10d} {figures['images_per_second']:10.1f}"
            )


if __name__ == "__main__":
    main()
