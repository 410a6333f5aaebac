"""Multi-digit number reading benchmark: our line reader (LiteRT) vs Tesseract 5.

Fresh pictures of numbers (new seed):
  printed      1-10 digits in the held-out font families, 16-120 px tall, spacings from overlapping
               (touching) to wide, slant, stroke width, colours, backgrounds, blur, noise, JPEG
  handwritten  1-6 held-out MNIST digits side by side (gaps -2..8 px at MNIST scale, so some touch),
               half as plain MNIST-style pictures, half degraded like the printed ones
  crossed      4 digits in the held-out font families as the issue's judged lines are described: 70 x 30 px,
               each digit in its own colour on a pale tint, a dark box border, 2-4 thin lines crossing at any angle
Each picture is read by the line reader (`number` mode) and as `auto` mode reads it (the digit network
when it is sure of one digit, else the line reader). Reports string accuracy (whole number right), digit accuracy (1 - edit distance / length),
images/s and what the review flag does on the line reader's readings (`review_flag`), writes bench/results/ocr_numbers.json.  Usage: python -m bench.ocr_numbers [--per-set 300] [--seed 4242]
[--crossing-lines N] (what the crossing lines cost: the crossed set with exactly N lines per box)
"""

from __future__ import annotations

import argparse
import io
import json
import math
import os
import shutil
import subprocess
import sys
import time
from functools import lru_cache
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont, ImageOps

from dataset import degrade, fonts, handwritten
from ml import model_card
from ml.inference import DEFAULT_ARTIFACT, DigitClassifier, given_a_digit
from ml.lines import LineReader, LineReading
from ml.preprocess import ImageError, line_ink, open_image, to_network_input
from ml.reading import lines_in_doubtful_pictures, read_lines

REPO_ROOT = Path(__file__).resolve().parents[1]

RESULTS = REPO_ROOT / "bench" / "results" / "ocr_numbers.json"
GAPS = (-0.08, -0.04, 0.0, 0.03, 0.08, 0.15, 0.3, 0.6)  # ink-box gap / digit height; <= 0 touches
TESSERACT = ["tesseract", "stdin", "stdout", "--psm", "7", "-c", "tessedit_char_whitelist=0123456789"]
TESSERACT_HEIGHT = 96  # as bench/ocr.py: Tesseract reads best with glyphs ~30-100 px tall
TESSERACT_BORDER = 32


# --- printed numbers ---------------------------------------------------------------------------


@lru_cache(maxsize=2048)
def glyph_on_baseline(path: str, size: int, digit: str) -> tuple[np.ndarray, int]:
    """(tight ink mask, its top relative to the baseline) so digits line up as typeset."""
    canvas = Image.new("L", (size * 3, size * 3), 0)
    ImageDraw.Draw(canvas).text((size, 2 * size), digit, fill=255, font=ImageFont.truetype(path, size), anchor="ls")
    left, top, right, bottom = canvas.getbbox()
    return np.asarray(canvas.crop((left, top, right, bottom)), dtype=np.float32) / 255.0, top - 2 * size


def typeset(text: str, path: str, size: int, gap: float) -> np.ndarray:
    glyphs = [glyph_on_baseline(path, size, digit) for digit in text]
    digit_height = max(glyph.shape[0] for glyph, _ in glyphs)
    step = round(gap * digit_height)
    top = min(offset for _, offset in glyphs)
    height = max(offset + glyph.shape[0] for glyph, offset in glyphs) - top
    width = sum(glyph.shape[1] for glyph, _ in glyphs) + step * (len(glyphs) - 1) + 2 * digit_height
    canvas = np.zeros((height, max(width, 1)), dtype=np.float32)
    x = digit_height
    for glyph, offset in glyphs:
        rows = slice(offset - top, offset - top + glyph.shape[0])
        cols = slice(x, x + glyph.shape[1])
        canvas[rows, cols] = np.maximum(canvas[rows, cols], glyph)
        x += glyph.shape[1] + step
    return degrade.crop_to_ink(canvas)


def printed_number(rng: np.random.Generator, paths: list[str]) -> tuple[Image.Image, str, dict]:
    text = random_number(rng, 1, 10)
    target = float(math.exp(rng.uniform(math.log(16), math.log(120))))
    size = int(np.clip(target * 1.6, 24, 140))
    gap = float(GAPS[rng.integers(len(GAPS))])
    mask = typeset(text, paths[rng.integers(len(paths))], size, gap)
    if rng.random() < 0.5:
        mask = degrade.random_affine(rng, np.pad(mask, 2), max_rotation=2.0, max_shear=0.15)
    if rng.random() < 0.2:
        mask = degrade.change_stroke_width(rng, mask, mask.shape[0])
    mask = degrade.crop_to_ink(mask)
    framed, pads = degrade.add_margins(rng, mask)
    image = degrade.degrade(rng, framed, pads, mask.shape[0], target)
    return image, text, {"touching": gap <= 0, "height": round(target)}


def random_number(rng: np.random.Generator, shortest: int, longest: int) -> str:
    return "".join(str(digit) for digit in rng.integers(0, 10, int(rng.integers(shortest, longest + 1))))


def crossed_number(
    rng: np.random.Generator, paths: list[str], crossing_lines: int | None = None
) -> tuple[Image.Image, str, dict]:
    """`crossing_lines` lines cross the box (2-4 when None)."""
    text = random_number(rng, 4, 4)
    width, height = 70, 30
    image = Image.new("RGB", (width, height), _colour(rng, 215, 255))
    draw = ImageDraw.Draw(image)
    font = ImageFont.truetype(paths[rng.integers(len(paths))], int(rng.integers(16, 21)))
    spacings = rng.uniform(-1, 3, len(text))
    x = rng.uniform(4, 10)
    for char, spacing in zip(text, spacings):
        draw.text((x, rng.uniform(14, 16)), char, font=font, fill=_colour(rng, 0, 160), anchor="lm")
        x += font.getlength(char) + spacing
    for _ in range(int(rng.integers(2, 5)) if crossing_lines is None else crossing_lines):
        ends = [(rng.uniform(0, width), rng.uniform(0, height)) for _ in range(2)]
        draw.line(ends, fill=_colour(rng, 0, 200), width=1)
    draw.rectangle([0, 0, width - 1, height - 1], outline=_colour(rng, 0, 80), width=1)
    return image, text, {"touching": bool((spacings[:-1] < 0).any())}


def _colour(rng: np.random.Generator, low: float, high: float) -> tuple[int, ...]:
    return tuple(int(value) for value in rng.uniform(low, high, 3))


# --- handwritten numbers -----------------------------------------------------------------------


def handwritten_number(
    rng: np.random.Generator, images: np.ndarray, labels: np.ndarray
) -> tuple[Image.Image, str, dict]:
    chosen = rng.choice(len(images), size=int(rng.integers(1, 7)), replace=False)
    gaps = rng.integers(-2, 9, len(chosen))
    masks = [degrade.crop_to_ink(images[index] / 255.0) for index in chosen]
    height = max(mask.shape[0] for mask in masks) + 2
    width = sum(mask.shape[1] for mask in masks) + int(gaps[1:].sum()) + 2
    canvas = np.zeros((height, max(width, 1)), dtype=np.float32)
    x = 1
    for mask, gap in zip(masks, gaps):
        x += int(gap) if x > 1 else 0
        top = (height - mask.shape[0]) // 2 + int(rng.integers(-1, 2))
        top = int(np.clip(top, 0, height - mask.shape[0]))
        region = canvas[top : top + mask.shape[0], x : x + mask.shape[1]]
        np.maximum(region, mask[:, : region.shape[1]], out=region)
        x += mask.shape[1]
    text = "".join(str(labels[index]) for index in chosen)
    canvas = degrade.crop_to_ink(canvas)
    info = {"touching": bool((gaps[1:] <= 0).any()), "digits": len(chosen)}
    if rng.random() < 0.5:
        return handwritten.plain_picture(np.pad(canvas, 6)), text, info
    framed, pads = degrade.add_margins(rng, canvas)
    target = float(math.exp(rng.uniform(math.log(20), math.log(100))))
    return degrade.degrade(rng, framed, pads, canvas.shape[0], target), text, info


# --- readers -----------------------------------------------------------------------------------


def png_bytes(image: Image.Image) -> bytes:
    output = io.BytesIO()
    image.save(output, format="PNG")
    return output.getvalue()


def our_reading(data: bytes, reader: LineReader, classifier: DigitClassifier) -> str:
    return our_line(data, reader, classifier).text


def our_line(data: bytes, reader: LineReader, classifier: DigitClassifier) -> LineReading:
    """As the service reads in `number` mode: the line reader, with its second looks at doubtful lines and
    digits (an empty reading where the picture shows no ink)."""
    try:
        ink = line_ink(open_image(data))
    except ImageError:
        return LineReading.of([])
    return read_lines([ink], reader, classifier)[0]


def review_flag(truths: list[str], readings: list[str], confidences: list[float]) -> dict:
    """What the review flag does on these lines: at the service's default threshold (the digit network's
    card), the share flagged and the share of wrong strings among them; and the share of wrong strings
    among the least confident tenth (the issue asks >= 90% of them caught at <= 10% flagged)."""
    threshold = model_card.review_threshold(DEFAULT_ARTIFACT)
    wrong = np.array([truth != read for truth, read in zip(truths, readings)])
    confidences = np.asarray(confidences)
    least_sure_tenth = np.zeros(len(wrong), dtype=bool)
    least_sure_tenth[np.argsort(confidences, kind="stable")[: len(wrong) // 10]] = True
    flagged = confidences < threshold
    return {
        "threshold": threshold,
        "flagged": float(flagged.mean()) if len(wrong) else None,
        "errors_flagged": float(flagged[wrong].mean()) if wrong.any() else None,
        "errors_in_least_sure_tenth": float(least_sure_tenth[wrong].mean()) if wrong.any() else None,
    }


def auto_reading(data: bytes, classifier: DigitClassifier, reader: LineReader) -> str:
    """As the service reads in `auto` mode: one digit when the digit network is sure of one, else the line."""
    try:
        picture = open_image(data)
        outputs = classifier.predict_all(to_network_input(picture)[None])
    except ImageError:
        return ""
    lines = lines_in_doubtful_pictures([picture], outputs, lambda: reader, classifier)
    return lines[0].text if lines else str(int(given_a_digit(outputs)[0].argmax()))


def for_tesseract(image: Image.Image) -> Image.Image:
    """Grey, dark ink on light paper, scaled up to a comfortable height, with a white border."""
    grey = image.convert("L")
    pixels = np.asarray(grey, dtype=np.float32)
    offset = pixels - np.median(pixels)  # background dominates the area
    ink = np.abs(offset) >= np.percentile(np.abs(offset), 95)
    if offset[ink].mean() > 0:
        grey = ImageOps.invert(grey)
    scale = TESSERACT_HEIGHT / grey.height
    if scale > 1:
        grey = grey.resize((max(1, round(grey.width * scale)), TESSERACT_HEIGHT), Image.Resampling.BICUBIC)
    return ImageOps.expand(grey, TESSERACT_BORDER, fill=255)


def tesseract_reading(data: bytes) -> str:
    prepared = png_bytes(for_tesseract(Image.open(io.BytesIO(data))))
    result = subprocess.run(TESSERACT, input=prepared, capture_output=True, check=False)
    return "".join(character for character in result.stdout.decode(errors="ignore") if character.isdigit())


# --- scoring -----------------------------------------------------------------------------------


def edit_distance(a: str, b: str) -> int:
    previous = list(range(len(b) + 1))
    for i, char_a in enumerate(a, 1):
        current = [i]
        for j, char_b in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (char_a != char_b)))
        previous = current
    return previous[-1]


def score(truths: list[str], readings: list[str], seconds: float) -> dict:
    correct_digits = sum(max(0, len(truth) - edit_distance(truth, read)) for truth, read in zip(truths, readings))
    return {
        "images": len(truths),
        "string_accuracy": float(np.mean([truth == read for truth, read in zip(truths, readings)])),
        "digit_accuracy": correct_digits / max(1, sum(len(truth) for truth in truths)),
        "images_per_second": len(truths) / max(seconds, 1e-9),
    }


def subset_accuracy(truths, readings, infos, key, value) -> dict:
    chosen = [index for index, info in enumerate(infos) if info[key] == value]
    return {
        "images": len(chosen),
        "string_accuracy": float(np.mean([truths[i] == readings[i] for i in chosen])) if chosen else None,
    }


def run_reader(reader, pictures: list[bytes]) -> tuple[list[str], float]:
    started = time.perf_counter()
    readings = [reader(data) for data in pictures]
    return readings, time.perf_counter() - started


def build_sets(
    per_set: int, seed: int, crossing_lines: int | None = None
) -> dict[str, tuple[list[bytes], list[str], list[dict]]]:
    rng = np.random.default_rng(seed)
    paths = fonts.font_paths(fonts.split_families()[1])
    images, labels = handwritten.mnist_split()["validation"]
    makers = {
        "printed": lambda: printed_number(rng, paths),
        "handwritten": lambda: handwritten_number(rng, images, labels),
        "crossed": lambda: crossed_number(rng, paths, crossing_lines),
    }
    sets = {}
    for name, make in makers.items():
        samples = [make() for _ in range(per_set)]
        sets[name] = (
            [png_bytes(image) for image, _, _ in samples],
            [t for _, t, _ in samples],
            [i for _, _, i in samples],
        )
    return sets


def evaluate_set(
    pictures, truths, infos, reader: LineReader, with_tesseract: bool, classifier: DigitClassifier
) -> dict:
    lines, our_seconds = run_reader(lambda data: our_line(data, reader, classifier), pictures)
    ours = [line.text for line in lines]
    report = {"ours": score(truths, ours, our_seconds)}
    report["ours"]["review"] = review_flag(truths, ours, [line.confidence for line in lines])
    report["ours"]["touching"] = subset_accuracy(truths, ours, infos, "touching", True)
    report["ours"]["separate"] = subset_accuracy(truths, ours, infos, "touching", False)
    auto, auto_seconds = run_reader(lambda data: auto_reading(data, classifier, reader), pictures)
    report["auto"] = score(truths, auto, auto_seconds)
    report["auto"]["touching"] = subset_accuracy(truths, auto, infos, "touching", True)
    report["auto"]["separate"] = subset_accuracy(truths, auto, infos, "touching", False)
    if with_tesseract:
        theirs, their_seconds = run_reader(tesseract_reading, pictures)
        report["tesseract"] = score(truths, theirs, their_seconds)
        report["tesseract"]["touching"] = subset_accuracy(truths, theirs, infos, "touching", True)
        report["tesseract"]["separate"] = subset_accuracy(truths, theirs, infos, "touching", False)
        report["examples"] = [
            {"truth": t, "ours": o, "tesseract": r} for t, o, r in list(zip(truths, ours, theirs))[:15]
        ]
    return report


def print_table(results: dict) -> None:
    print(
        f"{'set':<12} {'reader':<10} {'images':>6} {'string acc':>10} {'digit acc':>9} {'touching':>9} {'separate':>9} {'img/s':>8}"
    )
    for name, report in results["sets"].items():
        for reader in ("ours", "auto", "tesseract"):
            if reader not in report:
                continue
            row = report[reader]
            print(
                f"{name:<12} {reader:<10} {row['images']:>6} {row['string_accuracy']:>10.1%} {row['digit_accuracy']:>9.1%}"
                f" {_percent(row['touching']['string_accuracy']):>9} {_percent(row['separate']['string_accuracy']):>9}"
                f" {row['images_per_second']:>8.1f}"
            )
    for name, report in results["sets"].items():
        print(f"{name:<12} ours: {review_summary(report['ours']['review'])}")


def review_summary(review: dict) -> str:
    return (
        f"the review flag (< {review['threshold']:.4f}) flags {_percent(review['flagged'])} catching"
        f" {_percent(review['errors_flagged'])} of wrong strings; the least sure tenth holds"
        f" {_percent(review['errors_in_least_sure_tenth'])} of them"
    )


def _percent(value) -> str:
    return "-" if value is None else f"{value:.1%}"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--per-set", type=int, default=300)
    parser.add_argument("--seed", type=int, default=4242)
    parser.add_argument("--no-tesseract", action="store_true")
    parser.add_argument("--line-model", type=Path, default=None, help="the line reader's .tflite")
    parser.add_argument("--crossing-lines", type=int, default=None, help="lines across each crossed box (else 2-4)")
    args = parser.parse_args(argv)
    with_tesseract = not args.no_tesseract and shutil.which("tesseract") is not None
    if not with_tesseract:
        print("tesseract not run (not installed or --no-tesseract)", file=sys.stderr)
    reader, classifier = LineReader.load(args.line_model, num_threads=2), DigitClassifier.load()
    sets = build_sets(args.per_set, args.seed, args.crossing_lines)
    results = {
        "seed": args.seed,
        "crossing_lines": args.crossing_lines,
        "model_version": reader.version,
        "line_model_version": reader.version,
        "tesseract": subprocess.run(["tesseract", "--version"], capture_output=True, text=True).stdout.split("\n")[0]
        if with_tesseract
        else None,
        "cpu_threads": os.cpu_count(),
        "sets": {name: evaluate_set(*data, reader, with_tesseract, classifier) for name, data in sets.items()},
    }
    print_table(results)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    print(f"written {RESULTS.relative_to(REPO_ROOT)}")


if __name__ == "__main__":
    main()
