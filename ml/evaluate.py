"""Write the model card: accuracy, calibration, review threshold, speed, memory, agreement."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from dataset import build, real
from dataset.build import DEFAULT_OUT as DATASET_DIR
from dataset.degrade import MIN_LEGIBILITY
from dataset.printed import ONE_MAX_LEAN
from ml import calibration
from ml.inference import DigitClassifier
from ml.reading import read_digit_pictures
from ml.train import ARTIFACTS, VALIDATION_SETS, as_network_batch, load_split, not_digit_summary

REPO_ROOT = Path(__file__).resolve().parents[1]
LOSO_ARTIFACT = ARTIFACTS / "loso" / "digits.tflite"  # the same recipe trained on no real capture at all
SET_TITLES = {
    "val_printed": "printed, held-out font families, degraded",
    "val_handwritten": "handwritten, held-out MNIST part",
    "val_captures": "generated captures: displays, counter wheels, scene digits",
    "val_real": "real: lcd_7seg_digit validation part",
}


def confusion_matrix(labels: np.ndarray, predictions: np.ndarray) -> np.ndarray:
    matrix = np.zeros((10, 10), dtype=np.int64)
    np.add.at(matrix, (labels, predictions), 1)
    return matrix


def set_report(probabilities: np.ndarray, labels: np.ndarray) -> dict:
    predictions = probabilities.argmax(axis=1)
    matrix = confusion_matrix(labels, predictions)
    return {
        "images": int(len(labels)),
        "accuracy": float((predictions == labels).mean()),
        "per_class_accuracy": {str(d): float(matrix[d, d] / max(matrix[d].sum(), 1)) for d in range(10)},
        "ece_15_bins": calibration.expected_calibration_error(probabilities, labels, bins=15),
        "confusion_matrix": matrix.tolist(),
    }


def draw_confusion(matrices: dict[str, np.ndarray], path: Path) -> None:
    cell, margin = 34, 40
    panel = margin + 10 * cell + 10
    image = Image.new("RGB", (panel * len(matrices), panel + 30), "white")
    draw = ImageDraw.Draw(image)
    font = ImageFont.load_default()
    for index, (title, matrix) in enumerate(matrices.items()):
        left = index * panel
        draw.text((left + margin, 8), title, fill="black", font=font)
        rates = matrix / np.maximum(matrix.sum(axis=1, keepdims=True), 1)
        for true in range(10):
            draw.text((left + 20, margin + true * cell + 12), str(true), fill="black", font=font)
            draw.text((left + margin + true * cell + 14, margin + 10 * cell + 6), str(true), fill="black", font=font)
            for predicted in range(10):
                shade = int(255 * (1 - rates[true, predicted] ** 0.5))
                colour = (shade, shade, 255) if true == predicted else (255, shade, shade)
                x, y = left + margin + predicted * cell, margin + true * cell
                draw.rectangle([x, y, x + cell - 1, y + cell - 1], fill=colour, outline=(220, 220, 220))
                if matrix[true, predicted]:
                    ink = "white" if shade < 110 else "black"
                    draw.text((x + 4, y + 12), str(matrix[true, predicted]), fill=ink, font=font)
        draw.text((left + margin, panel + 10), "rows: true digit, columns: predicted", fill="black", font=font)
    image.save(path)


def keras_agreement(artifacts_dir: Path, temperature: float, images: np.ndarray, litert_outputs: np.ndarray) -> dict:
    """`litert_outputs`: all eleven columns, as `predict_all` gives them."""
    keras_path = artifacts_dir / "digits.keras"
    if not keras_path.exists():
        return {"checked": False, "reason": "digits.keras not saved"}
    import keras

    from ml.network import with_calibrated_softmax

    model = with_calibrated_softmax(keras.models.load_model(keras_path), temperature)
    keras_probabilities = model.predict(as_network_batch(images), batch_size=1024, verbose=0)
    return {
        "checked": True,
        "images": int(len(images)),
        "same_argmax_fraction": float((keras_probabilities.argmax(1) == litert_outputs.argmax(1)).mean()),
        "max_abs_probability_difference": float(np.abs(keras_probabilities - litert_outputs).max()),
    }


def runtime_benchmark(model_path: Path) -> dict:
    """Measured in a fresh process so TensorFlow (loaded here) does not count."""
    result = subprocess.run(
        [sys.executable, "-m", "ml.benchmark", str(model_path)],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(result.stdout.strip().splitlines()[-1])


def evaluate(dataset_dir: Path = DATASET_DIR, artifacts_dir: Path = ARTIFACTS) -> dict:
    model_path = artifacts_dir / "digits.tflite"
    metrics = json.loads((artifacts_dir / "metrics.json").read_text())
    classifier = DigitClassifier.load(model_path)
    dataset = _dataset_manifest(dataset_dir)
    tasks = build.plan(build.BuildConfig(seed=dataset.get("seed", 0)))
    sets, all_images, all_outputs, all_probabilities, all_labels = {}, [], [], [], []
    for name in VALIDATION_SETS:
        images, first_labels, _ = load_split(dataset_dir, name)
        outputs = classifier.predict_all(images.astype(np.float32) / 255.0)
        probabilities, labels = read_like_the_worker(classifier, tasks[name])
        if len(labels) != len(first_labels):
            raise RuntimeError(f"{name}: the regenerated pictures differ from the built set; rebuild the dataset")
        sets[name] = set_report(probabilities, labels)
        all_images.append(images), all_outputs.append(outputs)
        all_probabilities.append(probabilities), all_labels.append(labels)
    images, outputs, probabilities, labels = map(
        np.concatenate, (all_images, all_outputs, all_probabilities, all_labels)
    )
    draw_confusion(
        {SET_TITLES[name]: np.asarray(sets[name]["confusion_matrix"]) for name in sets}, artifacts_dir / "confusion.png"
    )
    card = {
        "artifact_version": classifier.version,
        "validation": sets,
        "overall": {
            "images": int(len(labels)),
            "accuracy": float((probabilities.argmax(1) == labels).mean()),
            "ece_15_bins": calibration.expected_calibration_error(probabilities, labels, bins=15),
            "review": calibration.review_threshold(probabilities, labels, max_flagged=0.05),
        },
        "not_a_digit": _not_digit_report(classifier, dataset_dir),
        "real_test_parts": real_set_reports(classifier, "test"),
        "leave_one_source_out": real_set_reports(DigitClassifier.load(LOSO_ARTIFACT), None)
        if LOSO_ARTIFACT.exists()
        else {},
        "temperature": metrics["temperature"],
        "parameters": metrics["parameters"],
        "training_data": metrics["training_data"],
        "training_seconds": metrics["training_seconds"],
        "epochs": metrics["epochs"],
        "cpu_threads": metrics.get("cpu_threads"),
        "dataset": dataset,
        "keras_vs_litert": keras_agreement(artifacts_dir, metrics["temperature"], images, outputs),
        "runtime": runtime_benchmark(model_path),
    }
    (artifacts_dir / "model_card.json").write_text(json.dumps(card, indent=2) + "\n")
    (artifacts_dir / "MODEL_CARD.md").write_text(render_markdown(card))
    return _without_matrices(card)


def real_set_reports(classifier: DigitClassifier, part: str | None) -> dict:
    """Each copied real set read from its pictures: its `part`, or the whole set (part None)."""
    reports = {}
    for name in real.SINGLE_DIGIT_SETS:
        files = [item for one in real.PARTS if part in (None, one) for item in real.labelled_files(name, one)]
        pictures = [real.open_picture(path) for path, _ in files]
        readable, probabilities = read_digit_pictures(pictures, classifier)
        labels = np.asarray([label for _, label in files])
        report = set_report(probabilities, labels[readable])
        reports[name] = report | {"images": len(files), "accuracy": report["accuracy"] * len(readable) / len(files)}
    return reports


def read_like_the_worker(classifier: DigitClassifier, tasks: list[build.Task]) -> tuple[np.ndarray, np.ndarray]:
    """Digit probabilities and labels of a validation set read from its pictures (regenerated from
    its tasks) the way the worker reads uploads."""
    pictures, labels = zip(*build.task_pictures(tasks))
    readable, probabilities = read_digit_pictures(pictures, classifier)
    return probabilities, np.asarray(labels, dtype=np.int64)[readable]


def _not_digit_report(classifier: DigitClassifier, dataset_dir: Path) -> dict:
    """How the network answers wrong cuts of numbers from held-out fonts and writers."""
    images, _, _ = load_split(dataset_dir, "val_not_digit")
    return not_digit_summary(classifier.predict_all(images.astype(np.float32) / 255.0))


def _dataset_manifest(dataset_dir: Path) -> dict:
    path = dataset_dir / "manifest.json"
    return json.loads(path.read_text()) if path.exists() else {}


def _without_matrices(card: dict) -> dict:
    slim = json.loads(json.dumps(card))
    for report in slim["validation"].values():
        report.pop("confusion_matrix", None)
    return slim


def _percent(value: float) -> str:
    return f"{100 * value:.2f}%"


def target_checks(card: dict) -> list[tuple[str, str, str, bool]]:
    """(figure, target, measured, met) for every figure the service promises."""
    validation, overall, runtime = card["validation"], card["overall"], card["runtime"]
    printed, handwritten = validation["val_printed"]["accuracy"], validation["val_handwritten"]["accuracy"]
    review = overall["review"]
    rate = runtime["images_per_second"]["256"]
    checks = [
        ("printed held-out families, degraded", ">= 99.5%", _percent(printed), printed >= 0.995),
        ("handwritten held-out MNIST", ">= 98.5%", _percent(handwritten), handwritten >= 0.985),
        ("ECE (15 bins, all validation)", "<= 2%", _percent(overall["ece_15_bins"]), overall["ece_15_bins"] <= 0.02),
        (
            "errors caught when flagging <= 5%",
            ">= 90%",
            _percent(review["errors_caught_fraction"]),
            review["errors_caught_fraction"] >= 0.9,
        ),
        ("LiteRT images/s at batch 256", ">= 5,000", f"{rate:,.0f}", rate >= 5000),
        *_real_checks(card),
        ("RSS with model loaded", "<= 300 MB", f"{runtime['rss_mib']} MiB", runtime["rss_mib"] <= 300),
    ]
    agreement = card["keras_vs_litert"]
    if agreement.get("checked"):
        same = agreement["same_argmax_fraction"] == 1.0 and agreement["max_abs_probability_difference"] < 1e-3
        checks.append(
            (
                "Keras vs LiteRT",
                "same argmax, diff < 1e-3",
                f"{_percent(agreement['same_argmax_fraction'])}, {agreement['max_abs_probability_difference']:.1e}",
                same,
            )
        )
    return checks


def _real_checks(card: dict) -> list[tuple[str, str, str, bool]]:
    checks = []
    for name, report in card.get("real_test_parts", {}).items():
        accuracy = report["accuracy"]
        checks.append((f"real {name}, test part", ">= 99.5%", _percent(accuracy), accuracy >= 0.995))
    for name, report in card.get("leave_one_source_out", {}).items():
        accuracy = report["accuracy"]
        checks.append((f"real {name}, leave-one-source-out", ">= 97%", _percent(accuracy), accuracy >= 0.97))
    return checks


def _targets_table(card: dict) -> list[str]:
    lines = ["## Figures against targets", "", "| figure | target | measured | met |", "|---|---|---|---|"]
    for figure, target, measured, met in target_checks(card):
        lines.append(f"| {figure} | {target} | {measured} | {'yes' if met else '**no**'} |")
    return lines


def _tesseract_lines(version: str, path: Path = REPO_ROOT / "bench" / "results" / "ocr.json") -> list[str]:
    """The latest `python -m bench.ocr` results, if that benchmark has been run on the network of this
    version (another network's figures would pass for this one's)."""
    if not path.exists():
        return []
    results = json.loads(path.read_text())
    if results["model_version"] != version:
        return []
    lines = [
        "",
        f"## Side by side with Tesseract (`python -m bench.ocr`, model {results['model_version']}, {results['tesseract_version']})",
        "",
    ]
    lines += ["| test set | engine | accuracy | images/s (end to end) |", "|---|---|---:|---:|"]
    for set_name, engines in results["sets"].items():
        for engine, figures in engines.items():
            lines.append(
                f"| {set_name} | {engine} | {_percent(figures['accuracy'])} | {figures['images_per_second']:,.0f} |"
            )
    return lines + [""]


def _real_lines(card: dict) -> list[str]:
    """Real captures: the copied sets' test parts, and every set read by the network trained without it."""
    lines = [
        "## Real captures",
        "",
        "Copied real sets (`dataset/data/real/`): figures on their test part, which nothing is trained or tuned on.",
        "The leave-one-source-out column reads the whole set with the same recipe trained on no real capture",
        "(`python -m dataset build --without-real --out dataset/build-loso && python -m ml train --dataset",
        "dataset/build-loso --artifacts ml/artifacts/loso`): what a new display of that kind can expect.",
        "The real sets that may not be copied are read by `make bench-ocr` (`bench/real.py`), with Tesseract beside.",
        "",
        "| set | test part | ECE | leave-one-source-out (whole set) |",
        "|---|---:|---:|---:|",
    ]
    loso = card.get("leave_one_source_out", {})
    for name, report in card.get("real_test_parts", {}).items():
        unseen = loso.get(name)
        unseen_cell = f"{_percent(unseen['accuracy'])} of {unseen['images']}" if unseen else "not measured"
        lines.append(
            f"| {name} | {_percent(report['accuracy'])} of {report['images']} | {_percent(report['ece_15_bins'])} | "
            f"{unseen_cell} |"
        )
    return lines + [""]


def _preprocessing_lines() -> list[str]:
    return [
        "## Preprocessing that remains, and why",
        "",
        "`ml/preprocess.py` `to_network_input`, applied alike to training pictures and uploads:",
        "- decode, apply EXIF rotation, flatten transparency onto a contrasting backdrop, box-downscale big pictures",
        "  to about 256 px: needed to read any upload at all, and bounded in time;",
        "- each pixel's colour distance from the background colour: keeps colour contrast that grey loses (orange",
        "  on brown) and makes both polarities look alike. The background is a plane per channel fitted robustly to",
        "  the border (light falling off across a photo no longer spreads the ink box): measured with a network",
        "  trained on the border's median colour, held-out printed fonts 98.68% -> 99.26%, generated captures",
        "  95.23% -> 96.10%;",
        "- blank check (ink within 16 grey levels of the background's noise floor, the border's 25th percentile, or",
        "  within 4x the pixel-to-pixel grain): a picture without a digit gets a readable reason instead of a guess;",
        "- trim to the box holding 98% of the ink, plus 8%: a small digit in a big photo keeps its resolution;",
        "- fit the longer side into 24 of the 28 pixels, aspect kept.",
        "",
        "Removed (the network learns them from its training pictures instead): dropping ink cut by the edge,",
        "ruled-line and margin-bar removal, speck removal, ink thresholds and MNIST-style centring by mass, the",
        "second look. They were tuned on our generator's pictures and cut real displays' frames, segments and",
        "wheel windows into the wrong shapes (`docs/model-history.md`).",
        "",
    ]


def render_markdown(card: dict) -> str:
    overall, runtime, agreement = card["overall"], card["runtime"], card["keras_vs_litert"]
    dataset = card["dataset"]
    lines = [
        "# Model card: digit-ocr single-digit classifier",
        "",
        f"Artifact `ml/artifacts/digits.tflite`, version `{card['artifact_version']}` (first 12 hex of its sha256).",
        f"Convnet, {card['parameters']:,} parameters, float32, temperature T = {card['temperature']:.3f} folded into the exported softmax.",
        f"Trained {card['epochs']} epochs in {card['training_seconds'] / 60:.1f} min (wall clock, including export) on "
        f"{card.get('cpu_threads', 2)} CPU cores shared with other jobs. "
        "Reproduce: `python -m dataset build && python -m ml train && python -m ml evaluate`.",
        "",
        "## Held-out validation",
        "",
        "Read from the pictures as the worker reads uploads (`ml/reading.py`: one look of the network, and a doubtful",
        "digit read again from the ink of one polarity).",
        "",
        "| set | images | accuracy | ECE (15 bins) |",
        "|---|---:|---:|---:|",
    ]
    for name, report in card["validation"].items():
        lines.append(
            f"| {SET_TITLES[name]} | {report['images']} | {_percent(report['accuracy'])} | "
            f"{_percent(report['ece_15_bins'])} |"
        )
    lines.append(
        f"| all | {overall['images']} | {_percent(overall['accuracy'])} | {_percent(overall['ece_15_bins'])} |"
    )
    review = overall["review"]
    lines += [
        "",
        f"Review threshold: send an answer to a person when its confidence is below **{review['threshold']:.4f}**. "
        f"On validation this flags {_percent(review['flagged_fraction'])} of images and catches "
        f"{_percent(review['errors_caught_fraction'])} of the {review['errors']} errors.",
        "",
        "Temperature and threshold were fitted on these validation sets, so ECE and the catch rate here are slightly optimistic.",
        "",
        "### Per-class accuracy",
        "",
        "| digit | " + " | ".join(SET_TITLES[name].split(",")[0] for name in card["validation"]) + " |",
        "|---|" + "---:|" * len(card["validation"]),
    ]
    for digit in map(str, range(10)):
        cells = " | ".join(_percent(report["per_class_accuracy"][digit]) for report in card["validation"].values())
        lines.append(f"| {digit} | {cells} |")
    lines += ["", "Confusion matrices: `confusion.png`.", ""]
    lines += _real_lines(card)
    lines += _preprocessing_lines()
    if card.get("not_a_digit"):
        not_digit = card["not_a_digit"]
        lines += [
            "## Not a digit",
            "",
            "The network has an eleventh class for pictures that are not one whole digit: two touching digits in one",
            "crop, a digit and part of its neighbour, part of a digit, a whole number. `auto` mode sends what the",
            "network does not take for one digit to the line reader (`ml/reading.py` `takes_for_one_digit`); the ten",
            "digit probabilities that the worker reports leave the class's share out.",
            f'On {not_digit["images"]:,} such pictures from held-out fonts and writers it answers "not a digit" for '
            f"{_percent(not_digit['called_not_a_digit'])}; the mean top digit confidence on them is "
            f"{_percent(not_digit['mean_top_digit_confidence'])}.",
            "",
        ]
    lines += _targets_table(card)
    lines += ["", "## Training data", ""]
    lines += [f"- {source}: {count:,} images" for source, count in card["training_data"].items()]
    if dataset:
        lines += [
            "",
            f"Dataset seed {dataset.get('seed')}; printed training families: {', '.join(dataset.get('train_families', []))}.",
            f"Held-out printed families (every 5th family sorted by name): {', '.join(dataset.get('held_out_families', []))}.",
            f"Held-out MNIST part: {dataset.get('mnist_validation_size')} images (fixed permutation seed {dataset.get('mnist_split_seed')}).",
            "Degradations (all sets): texture, blur, sensor noise and JPEG are drawn again at half strength until the "
            f"strokes' contrast is at least {MIN_LEGIBILITY:g} times the noise's spread, so no picture is beyond a person's reading.",
            f"Validation's printed 1s lean at most {ONE_MAX_LEAN:g} degrees clockwise (rotation and shear together): further, "
            "their flag lies flat and people read a 7; training keeps every lean.",
            "Stroke width changes (all sets) that would change a digit's topology (pieces of ink, holes) are not "
            "applied: an erosion that wipes out a light 4's crossbar or a dilation that closes a 6 into a 0.",
        ]
    lines += [
        "",
        "## Runtime (LiteRT, num_threads=2, process importing only numpy, PIL, ai_edge_litert)",
        "",
        "| batch | images/s |",
        "|---:|---:|",
    ]
    lines += [f"| {batch} | {rate:,.0f} |" for batch, rate in runtime["images_per_second"].items()]
    lines += [
        "",
        f"Measured with a 1-minute load average of {runtime.get('load_average_1min', '?')} from other jobs on the 2 cores "
        "(repeated runs on this machine kind differ by up to 20%).",
        "",
        f"Resident memory with the model loaded: {runtime['rss_mib']} MiB (peak {runtime['peak_rss_mib']} MiB).",
        "",
    ]
    lines += _tesseract_lines(card["artifact_version"])
    if agreement.get("checked"):
        lines.append(
            f"Keras vs LiteRT on {agreement['images']} validation images: same argmax on "
            f"{_percent(agreement['same_argmax_fraction'])}, max abs probability difference {agreement['max_abs_probability_difference']:.2e}."
        )
    lines += [
        "",
        "## Known limitations",
        "",
        "- Real sets are few and narrow: one copied set of two LCD displays; the others (meter wheels of one meter,",
        "  licence-plate characters) are only benchmarked. Generated displays, wheels and scene digits carry the",
        "  rest, and the leave-one-source-out figure is the honest one for a new kind of display.",
        "- Temperature and review threshold are fitted on the synthetic validation sets together with the real",
        "  validation part; a new source can be less well calibrated (see `make bench-ocr` for the others).",
        "- Lines are read by the line reader (`ml/line_network.py`); this network reads single digits, and in `auto`",
        "  mode the lines the line reader reads as one character.",
    ]
    return "\n".join(lines) + "\n"
