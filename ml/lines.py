"""Read lines with the exported line reader (LiteRT) and decode its CTC output in numpy.

Imports only numpy and ai_edge_litert, like `ml.inference`.
"""

from __future__ import annotations

import itertools
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
# A greedy reading less sure than this is searched again, the likeliest labelling over all its paths: on the
# development lines that reads a few more right, for about 0.1 ms a searched line (docs/model-history.md).
SEARCHED_BELOW = 0.95
BEAM_WIDTH = 8
UNLIKELY = 0.05  # a class less likely than this at a step is not followed by the search


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
    """CTC decoding of one line's (time steps, classes) probabilities: greedy, and for a doubtful line the
    labelling of most probability summed over its paths (`likeliest_labels`), each character aligned to its
    steps. A character's confidence is its best step's probability."""
    reading = greedy_decode(steps)
    if reading.confidence >= SEARCHED_BELOW:
        return reading
    labels = likeliest_labels(steps)
    if labels == [ALPHABET.index(character) + 1 for character in reading.text]:
        return reading
    return LineReading.of([_character(steps, label, span) for label, span in zip(labels, aligned_steps(steps, labels))])


def greedy_decode(steps: np.ndarray) -> LineReading:
    """The likeliest class per step, repeats merged, blanks dropped."""
    best = steps.argmax(axis=1)
    return LineReading.of([_character(steps, best[first], (first, last)) for first, last in _runs(best) if best[first]])


def _character(steps: np.ndarray, label: int, span: tuple[int, int]) -> dict:
    first, last = span
    confidence = float(steps[first : last + 1, label].max())
    return {"character": ALPHABET[label - 1], "confidence": confidence, "steps": [first, last]}


def likeliest_labels(steps: np.ndarray) -> list[int]:
    """The labelling (classes, no blanks) whose paths have the most probability. A step where only the blank
    is likely splits the line into parts read apart (their labellings join); a part with more than one
    likely class at some step is searched (`_searched_labels`), the others hold one label a step."""
    followed = steps >= UNLIKELY
    likely = followed.sum(axis=1)
    splits = np.flatnonzero(followed[:, 0] & (likely == 1)).tolist()
    best, likely = steps.argmax(axis=1).tolist(), likely.tolist()
    labels: list[int] = []
    for first, stop in zip([0, *(split + 1 for split in splits)], [*splits, len(steps)]):
        if first == stop:
            continue
        if max(likely[first:stop]) > 1:
            labels += _searched_labels(steps[first:stop])
        else:
            labels += [label for label, _ in itertools.groupby(best[first:stop])]
    return labels


def _searched_labels(steps: np.ndarray) -> list[int]:
    """CTC prefix beam search, keeping the BEAM_WIDTH likeliest prefixes at each step."""
    beams = {(): (1.0, 0.0)}  # prefix -> probability of its paths ending in a blank, and in its last label
    for probabilities in steps:
        followed = np.flatnonzero(probabilities >= UNLIKELY)
        grown: dict[tuple, tuple[float, float]] = {}
        for prefix, (in_blank, in_label) in beams.items():
            for label in followed.tolist():
                chance = float(probabilities[label])
                if label == 0:
                    _add(grown, prefix, in_blank=(in_blank + in_label) * chance)
                elif prefix and prefix[-1] == label:  # a repeat needs a blank between to count twice
                    _add(grown, prefix + (label,), in_label=in_blank * chance)
                    _add(grown, prefix, in_label=in_label * chance)
                else:
                    _add(grown, prefix + (label,), in_label=(in_blank + in_label) * chance)
        beams = dict(sorted(grown.items(), key=lambda item: -sum(item[1]))[:BEAM_WIDTH])
    return list(max(beams, key=lambda prefix: sum(beams[prefix])))


def _add(beams: dict, prefix: tuple, in_blank: float = 0.0, in_label: float = 0.0) -> None:
    blank_before, label_before = beams.get(prefix, (0.0, 0.0))
    beams[prefix] = (blank_before + in_blank, label_before + in_label)


def aligned_steps(steps: np.ndarray, labels: list[int]) -> list[tuple[int, int]]:
    """(first, last) step of each label on the labelling's likeliest path (Viterbi over CTC's states: a
    blank before, between and after the labels)."""
    states = np.zeros(2 * len(labels) + 1, dtype=int)
    states[1::2] = labels
    skips = 3 + 2 * np.flatnonzero(states[3::2] != states[1:-2:2])  # past the blank between two labels
    log_chances = np.log(np.maximum(steps[:, states], 1e-12))
    came_from = np.full((3, len(states)), -np.inf)  # scores of staying, of moving one state on, of skipping
    score = np.full(len(states), -np.inf)
    score[:2] = log_chances[0, :2]
    moves = np.zeros((len(steps), len(states)), dtype=int)
    for step in range(1, len(steps)):
        came_from[0], came_from[1, 1:], came_from[2, skips] = score, score[:-1], score[skips - 2]
        moves[step] = came_from.argmax(axis=0)
        score = came_from[moves[step], np.arange(len(states))] + log_chances[step]
    state = len(states) - 1 if len(states) == 1 or score[-1] >= score[-2] else len(states) - 2
    path = np.empty(len(steps), dtype=int)
    for step in range(len(steps) - 1, -1, -1):
        path[step] = state
        state -= moves[step, state]
    return [
        (int(where[0]), int(where[-1])) for where in (np.flatnonzero(path == 2 * i + 1) for i in range(len(labels)))
    ]


def place_characters(reading: LineReading, placement: LinePlacement) -> None:
    """Give each character the box of the input columns its steps saw."""
    for character in reading.characters:
        first, last = character["steps"]
        character["box"] = placement.box(first * COLUMNS_PER_STEP, (last + 1) * COLUMNS_PER_STEP - 1)


def _runs(classes: np.ndarray) -> list[tuple[int, int]]:
    """(first, last) step of each run of one class."""
    if not len(classes):
        return []
    starts = [0, *(np.flatnonzero(classes[1:] != classes[:-1]) + 1).tolist()]
    return list(zip(starts, [start - 1 for start in starts[1:]] + [len(classes) - 1]))
