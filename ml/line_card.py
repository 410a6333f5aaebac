"""The line reader's card (`python -m ml line-card`): what the committed `lines.tflite` reads, measured
afresh on generated lines per style and on the copied captchas' test part, beside what its training
recorded (`lines_metrics.json`) and, when `make bench-ocr` has run with it, the real line sets and the
synthetic numbers with Tesseract beside."""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np

from ml import model_card
from ml.inference import DEFAULT_ARTIFACT
from ml.lines import DEFAULT_LINE_ARTIFACT, MAX_BATCH, LineReader, decode
from ml.preprocess import LINE_HEIGHT, LINE_SMOOTHING, LINE_WIDTH
from ml.reading import CLOSER_ROW_SPILL, DOUBTED_DIGIT, DOUBTED_LINE, NARROWED_DIGITS, WIDE_DIGITS
from ml.train_lines import line_report, real_lines, stored_line_input

FRESH_SEED = 987654  # not a seed any training run draws its lines from
SPEED_LINES, SPEED_RUNS = 256, 5  # the network's speed: the fastest of SPEED_RUNS runs over SPEED_LINES lines
RESULTS = Path(__file__).resolve().parent.parent / "bench" / "results"
TARGETS = {  # issue 19: whole string right
    "captcha_4digit": 0.99,
    "lcd_meter_reading": 0.95,
    "electricity_meter_counter": 0.95,
    "handwritten_check_amount": 0.90,
    "printed": 0.985,
    "handwritten": 0.985,
}


def measure(artifact: Path = DEFAULT_LINE_ARTIFACT, per_style: int = 250) -> dict:
    """The card's figures: the training run's record and fresh measurements of the artifact."""
    reader = LineReader.load(artifact)
    threshold = model_card.review_threshold(DEFAULT_ARTIFACT)
    styles = {name: _read(reader, styled_lines(name, per_style), threshold) for name in _style_names()}
    return {
        "version": reader.version,
        "recorded": json.loads(artifact.with_name("lines_metrics.json").read_text()),
        "review_threshold": threshold,
        "fresh_seed": FRESH_SEED,
        "styles": styles,
        "all_styles": _pooled(styles.values()),
        "captcha_test_part": _read(reader, real_lines(FRESH_SEED, "test", copies=0), threshold),
        "lines_per_second": network_speed(reader),
        "benchmarks": _benchmarks(reader.version),
    }


def _style_names() -> list[str]:
    from dataset.lines import STYLES

    return list(STYLES)


def styled_lines(style: str, count: int) -> tuple[np.ndarray, list[str]]:
    """`count` fresh lines drawn in one style, as (N, 32, 256) uint8 inputs and their texts."""
    from dataset.lines import line_in_style

    rng = np.random.default_rng(np.random.SeedSequence([FRESH_SEED, _style_names().index(style)]))
    inputs, texts = [], []
    while len(texts) < count:
        picture, text = line_in_style(rng, style)
        if (stored := stored_line_input(picture)) is not None:
            inputs.append(stored)
            texts.append(text)
    return np.stack(inputs), texts


def _read(reader: LineReader, lines: tuple[np.ndarray, list[str]], threshold: float) -> dict:
    inputs, texts = lines
    probabilities = reader.step_probabilities(inputs / 255.0)
    report = line_report(probabilities, texts)
    readings = [decode(steps) for steps in probabilities]
    wrong = np.array([reading.text != text for reading, text in zip(readings, texts)])
    flagged = np.array([reading.confidence < threshold for reading in readings])
    report["wrong"] = int(wrong.sum())
    report["flagged"] = float(flagged.mean())
    report["wrong_flagged"] = int((wrong & flagged).sum())
    return report


def _pooled(reports) -> dict:
    reports = list(reports)
    lines = sum(report["lines"] for report in reports)
    right = sum(report["string_accuracy"] * report["lines"] for report in reports)
    return {
        "lines": lines,
        "string_accuracy": right / lines,
        "wrong": sum(report["wrong"] for report in reports),
        "wrong_flagged": sum(report["wrong_flagged"] for report in reports),
        "flagged": sum(report["flagged"] * report["lines"] for report in reports) / lines,
    }


def network_speed(reader: LineReader, batch: int = SPEED_LINES, repeats: int = SPEED_RUNS) -> float:
    """Lines per second at the fastest of a few timed runs over `batch` lines, read as the reader reads them
    (MAX_BATCH per call); the machine's noise only slows them."""
    inputs = np.random.default_rng(0).random((batch, LINE_HEIGHT, LINE_WIDTH), dtype=np.float32)
    reader.step_probabilities(inputs)
    return batch / min(_seconds(reader.step_probabilities, inputs) for _ in range(repeats))


def _seconds(function, *args) -> float:
    started = time.perf_counter()
    function(*args)
    return time.perf_counter() - started


def _benchmarks(version: str) -> dict:
    """The benchmarks' latest results, where they were measured with this line reader."""
    found = {}
    for name in ("real", "ocr_numbers"):
        path = RESULTS / f"{name}.json"
        results = json.loads(path.read_text()) if path.exists() else {}
        if results.get("line_model_version") == version:
            found[name] = results
    return found


# --- the card -------------------------------------------------------------------------------------


def render(card: dict) -> str:
    recorded = card["recorded"]
    lines = [
        f"# Model card: digit-ocr line reader (`lines.tflite`, version {card['version']})",
        "",
        "Convolutions over the whole line, then 1-D context convolutions along its 64 steps, trained with CTC",
        f"(`ml/line_network.py`, {recorded['parameters']:,} parameters), read digits, `.`, `,` and `-` without",
        "cutting the line first; each character gets a calibrated confidence and a box from the alignment.",
        "Its input (`ml.preprocess.line_input`): each pixel's colour distance from the picture's background",
        "(a plane fitted to its border, or to a band further in where the border is a frame's thin outline,",
        "whose sides are then cleared from the ink; this reader was trained with them left in),",
        f"the ink's box fitted into {LINE_HEIGHT} x {LINE_WIDTH}, smoothed first by a",
        f"Gaussian of {LINE_SMOOTHING} of that frame's pixels (why: `docs/model-history.md`).",
        f"Trained by `python -m ml train-lines` on {recorded['training_lines']:,} lines (generated in every style",
        f"of `dataset/lines.py`, and the copied captchas' training part) for {recorded['epochs']} epochs; the",
        f"softmax temperature {recorded['temperature']:.3g} is fitted on the validation lines. Exported with its",
        "weights in int8 (dynamic-range quantization: about twice as fast on CPU; `python -m ml export-lines`",
        "exports the kept weights again).",
        f"This card: `python -m ml line-card`. Review flag: confidence below {card['review_threshold']:.4f}, the",
        "service's default (the digit network's card).",
        "",
        "## Recorded by the training run (`lines_metrics.json`, the network before its export)",
        "",
        "| validation lines | lines | whole string | ECE |",
        "|---|---:|---:|---:|",
    ]
    for name in ("validation_generated", "validation_real", "validation"):
        report = recorded[name]
        lines.append(
            f"| {name} | {report['lines']:,} | {_percent(report['string_accuracy'])} | {_percent(report['ece'])} |"
        )
    lines += [
        "",
        f"## Measured afresh (lines drawn with seed {card['fresh_seed']}; real captures apart)",
        "",
        "| lines | lines | whole string | ECE | flagged | wrong strings flagged |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    rows = [(f"generated, {name}", report) for name, report in card["styles"].items()]
    rows += [("generated, all styles", card["all_styles"]), ("real: captchas, test part", card["captcha_test_part"])]
    for name, report in rows:
        ece = _percent(report["ece"]) if "ece" in report else ""
        caught = f"{report['wrong_flagged']} of {report['wrong']}"
        lines.append(
            f"| {name} | {report['lines']:,} | {_percent(report['string_accuracy'])} | {ece} | "
            f"{_percent(report['flagged'])} | {caught} |"
        )
    lines += [
        "",
        f"The network alone reads {card['lines_per_second']:,.0f} lines/s (LiteRT, 2 threads, the fastest of "
        f"{SPEED_RUNS} runs over {SPEED_LINES} lines, {MAX_BATCH} per call).",
        "",
    ]
    lines += _benchmark_lines(card["benchmarks"])
    lines += ["What it still misreads, and the history of its versions: `docs/model-history.md`."]
    return "\n".join(lines) + "\n"


def _benchmark_lines(benchmarks: dict) -> list[str]:
    if not benchmarks:
        return ["Run `make bench-ocr` and then this command again to add the real line sets and Tesseract.", ""]
    lines = [
        "## Side by side with Tesseract (`make bench-ocr` with this reader)",
        "",
        f"Read as the service reads them: a line whose digits are wider than {WIDE_DIGITS} times their height read"
        f" again narrowed to {NARROWED_DIGITS} times it; a line this reader doubts (< {DOUBTED_LINE}) read again from"
        f" a box leaving {CLOSER_ROW_SPILL:.0%} of the ink's rows out, the more confident reading kept; then the"
        f" digits it doubts (< {DOUBTED_DIGIT}) read again by the digit network.",
        "",
        "| lines | lines | whole string | target | Tesseract 5.3 `--psm 7` |",
        "|---|---:|---:|---:|---:|",
    ]
    for name, figures in benchmarks.get("real", {}).get("sets", {}).items():
        if "(lines)" in name:
            target = TARGETS.get(name.split(" (")[0])
            lines.append(_benchmark_row(f"real: {name}", figures["digit-ocr"], figures["tesseract --psm 7"], target))
    for name, figures in benchmarks.get("ocr_numbers", {}).get("sets", {}).items():
        lines.append(
            _benchmark_row(f"generated numbers: {name}", figures["ours"], figures["tesseract"], TARGETS.get(name))
        )
    return lines + [""]


def _benchmark_row(name: str, ours: dict, tesseract: dict, target: float | None) -> str:
    aim = f">= {_percent(target)}" if target else ""
    return f"| {name} | {ours['images']:,} | {_percent(ours['string_accuracy'])} | {aim} | {_percent(tesseract['string_accuracy'])} |"


def _percent(value: float) -> str:
    return f"{100 * value:.2f}%"


def write(card: dict, artifact: Path = DEFAULT_LINE_ARTIFACT) -> Path:
    path = artifact.with_name("LINES_MODEL_CARD.md")
    path.write_text(render(card))
    return path
