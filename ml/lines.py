"""Read lines with the exported line reader (LiteRT) and decode its CTC output in numpy.

Imports only numpy and ai_edge_litert, like `ml.inference`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ml.litert import LiteRTNetwork
from ml.preprocess import LINE_HEIGHT, LINE_WIDTH, LinePlacement

DEFAULT_LINE_ARTIFACT = Path(__file__).resolve().parent / "artifacts" / "lines.tflite"
ALPHABET = "0123456789.,-"  # class i + 1 is ALPHABET[i]; class 0 is CTC's blank
MAX_TEXT = 16  # the longest line the reader is trained to read
SEPARATORS = ".,-"
# Lines per network call. Batches of 4 to 32 run at about the same speed per line; from 64 on, slower (128 at
# about 0.7 of 16's speed with one thread, in the same runs; likely the activations outgrowing the cache).
MAX_BATCH = 16
COLUMNS_PER_STEP = 4  # the network halves the width twice


@dataclass
class LineReading:
    text: str  # with separators
    confidence: float  # the chance that every character is right: product of theirs
    characters: list[dict] = field(default_factory=list)  # {"character", "confidence", "steps": [first, last]}

    @classmethod
    def of(cls, characters: list[dict]) -> "LineReading":
        return cls(
            text="".join(character["character"] for character in characters),
            confidence=float(np.prod([character["confidence"] for character in characters])) if characters else 0.0,
            characters=characters,
        )

    @property
    def digits(self) -> str:
        return "".join(character for character in self.text if character.isdigit())

    @property
    def digits_confidence(self) -> float:
        """The chance that `digits` is right: the product of the digits' confidences (a comma read where
        the picture shows a point does not make the digits doubtful)."""
        digits = self.digit_list()
        return float(np.prod([digit["confidence"] for digit in digits])) if digits else 0.0

    def digit_list(self) -> list[dict]:
        """The digits as results give them: {"digit", "confidence", "box"}, separators left out."""
        return [
            {"digit": int(character["character"]), "confidence": character["confidence"], "box": character.get("box")}
            for character in self.characters
            if character["character"].isdigit()
        ]


class LineReader:
    """Lines of (N, 32, 256) float32 inputs in [0, 1] (`ml.preprocess.to_line_input`) -> readings."""

    def __init__(self, network: LiteRTNetwork):
        self._network = network
        self.version = network.version

    @classmethod
    def load(cls, path: str | Path | None = None, *, num_threads: int = 2) -> "LineReader":
        return cls(LiteRTNetwork(path or DEFAULT_LINE_ARTIFACT, num_threads=num_threads))

    def read(self, inputs: np.ndarray, placements: list[LinePlacement] | None = None) -> list[LineReading]:
        """Readings of (N, 32, 256) inputs; with the inputs' placements (`line_input`), each character
        gets its box in the picture's pixels."""
        readings = [decode(steps) for steps in self.step_probabilities(inputs)]
        for reading, placement in zip(readings, placements or []):
            place_characters(reading, placement)
        return readings

    def step_probabilities(self, inputs: np.ndarray) -> np.ndarray:
        """(N, time steps, 1 + len(ALPHABET)) calibrated probabilities, the blank first."""
        inputs = np.asarray(inputs, dtype=np.float32)
        if inputs.ndim != 3 or inputs.shape[1:] != (LINE_HEIGHT, LINE_WIDTH):
            raise ValueError(f"expected (N, {LINE_HEIGHT}, {LINE_WIDTH}) inputs, got {inputs.shape}")
        chunks = [self._network.run(inputs[start : start + MAX_BATCH]) for start in range(0, len(inputs), MAX_BATCH)]
        return np.concatenate(chunks) if chunks else np.zeros((0, 0, len(ALPHABET) + 1), np.float32)


def decode(steps: np.ndarray) -> LineReading:
    """Greedy CTC decoding of one line's (time steps, classes) probabilities: the likeliest class per
    step, repeats merged, blanks dropped. A character's confidence is its best step's probability."""
    best = steps.argmax(axis=1)
    characters = []
    for first, last in _runs(best):
        if best[first] == 0:
            continue
        confidence = float(steps[first : last + 1, best[first]].max())
        characters.append({"character": ALPHABET[best[first] - 1], "confidence": confidence, "steps": [first, last]})
    return LineReading.of(characters)


def place_characters(reading: LineReading, placement: LinePlacement) -> None:
    """Give each character the box of the input columns its steps saw."""
    for character in reading.characters:
        first, last = character["steps"]
        character["box"] = placement.box(first * COLUMNS_PER_STEP, (last + 1) * COLUMNS_PER_STEP - 1)


def _runs(classes: np.ndarray) -> list[tuple[int, int]]:
    """(first, last) step of each run of one class."""
    starts = np.flatnonzero(np.diff(classes, prepend=-1))
    stops = np.append(starts[1:], len(classes)) - 1
    return list(zip(starts.tolist(), stops.tolist()))
