"""Read a whole number (a line of digits) from one picture with the single-digit classifier."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

from ml.inference import DIGITS
from ml.preprocess import BLANK_IMAGE, ImageError, open_image, to_network_input
from ml.segmentation import Lattice, segment_lattices

CONFIDENCE_FLOOR = 1e-6  # keeps log() finite


@dataclass
class NumberReading:
    text: str
    confidence: float  # product of the digit confidences: the chance every digit is right
    digits: list[dict] = field(default_factory=list)  # {"digit", "confidence", "box": [l, t, r, b]}


def read_number(image: Image.Image, classifier) -> NumberReading:
    """Digits left to right; ImageError if no digit is found."""
    return read_lattices(segment_lattices(image), classifier)


def read_lattices(lattices: list[Lattice], classifier) -> NumberReading:
    """The number that `segment_lattices` found; ImageError if it found no digit.

    Every candidate piece (all the ways to cut touching digits) goes through the classifier in one
    batch; per blob the cut whose pieces are most probably digits, weighed by width, wins.  The
    network's "not a digit" class is what makes half a digit, or two digits in one piece, improbable.
    """
    crops = [crop for lattice in lattices for crop, _ in lattice.pieces.values()]
    if not crops:
        raise ImageError(BLANK_IMAGE)
    # With "not a digit": a piece's confidence includes the doubt that it is a digit at all.
    probabilities = iter(classifier.predict_all(np.stack([to_network_input(crop.image) for crop in crops]))[:, :DIGITS])
    digits = []
    for lattice in lattices:
        digits.extend(_best_cut(lattice, {key: next(probabilities) for key in lattice.pieces}))
    return NumberReading(
        text="".join(str(digit["digit"]) for digit in digits),
        confidence=float(np.prod([digit["confidence"] for digit in digits])),
        digits=digits,
    )


def _best_cut(lattice: Lattice, rows: dict[tuple[int, int], np.ndarray]) -> list[dict]:
    """The digits along the path maximising the log-probability that every piece is its likeliest
    digit, plus the width priors."""
    path = lattice.best_path(
        lambda key: float(np.log(max(rows[key].max(), CONFIDENCE_FLOOR))) + lattice.width_prior(key)
    )
    return [
        {
            "digit": int(rows[key].argmax()),
            "confidence": float(rows[key].max()),
            "box": list(lattice.pieces[key][0].box),
        }
        for key in path
    ]


def is_single_digit(lattices: list[Lattice]) -> bool:
    """For the `auto` mode: one digit-like blob, not wide enough to be a run of touching digits."""
    return len(lattices) == 1 and len(lattices[0].best_path(lattices[0].width_prior)) == 1


def predict_number_file(path: str | Path, classifier) -> dict:
    """One JSON-ready answer for `python -m ml predict --mode number`."""
    try:
        reading = read_number(open_image(Path(path).read_bytes()), classifier)
    except (ImageError, OSError) as error:
        return {"path": str(path), "error": str(error)}
    return {"path": str(path), "text": reading.text, "confidence": reading.confidence, "digits": reading.digits}
