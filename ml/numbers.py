"""Read a whole number (a line of digits) from one picture with the single-digit classifier."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

from ml.preprocess import BLANK_IMAGE, ImageError, open_image, to_network_input
from ml.segmentation import Partition, segment_options

CONFIDENCE_FLOOR = 1e-6  # keeps log() finite
WHOLE_BONUS = 0.0


@dataclass
class NumberReading:
    text: str
    confidence: float  # product of the digit confidences: the chance every digit is right
    digits: list[dict] = field(default_factory=list)  # {"digit", "confidence", "box": [l, t, r, b]}


def read_number(image: Image.Image, classifier) -> NumberReading:
    """Digits left to right; ImageError if no digit is found.

    Every candidate crop (all the ways to cut touching digits) goes through the classifier in one
    batch; per blob the cut whose digits the classifier is surest of, weighed by width, wins.
    """
    options = segment_options(image)
    crops = [crop for partitions in options for partition in partitions for crop in partition.crops]
    if not crops:
        raise ImageError(BLANK_IMAGE)
    probabilities = iter(classifier.predict_proba(np.stack([to_network_input(crop.image) for crop in crops])))
    digits = []
    for partitions in options:
        scored = [(partition, [next(probabilities) for _ in partition.crops]) for partition in partitions]
        partition, rows = max(scored, key=lambda item: _score(*item))
        digits.extend(
            {"digit": int(row.argmax()), "confidence": float(row.max()), "box": list(crop.box)}
            for crop, row in zip(partition.crops, rows)
        )
    return NumberReading(
        text="".join(str(digit["digit"]) for digit in digits),
        confidence=float(np.prod([digit["confidence"] for digit in digits])),
        digits=digits,
    )


def _score(partition: Partition, rows: list[np.ndarray]) -> float:
    """Mean log-confidence per digit (neutral to the digit count) plus the width prior."""
    bonus = WHOLE_BONUS if len(rows) == 1 else 0.0
    return float(np.mean([np.log(max(row.max(), CONFIDENCE_FLOOR)) for row in rows])) + partition.prior + bonus


def is_single_digit(image: Image.Image) -> bool:
    """For the `auto` mode: one digit-like blob, not wide enough to be a run of touching digits."""
    options = segment_options(image)
    return len(options) == 1 and any(len(partition.crops) == 1 for partition in options[0])


def predict_number_file(path: str | Path, classifier) -> dict:
    """One JSON-ready answer for `python -m ml predict --mode number`."""
    try:
        reading = read_number(open_image(Path(path).read_bytes()), classifier)
    except (ImageError, OSError) as error:
        return {"path": str(path), "error": str(error)}
    return {"path": str(path), "text": reading.text, "confidence": reading.confidence, "digits": reading.digits}
