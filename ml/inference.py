"""Run the exported digit classifier with LiteRT.

Imports only numpy and ai_edge_litert: importing TensorFlow would cost each worker
process seconds and hundreds of MiB.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ml.litert import LiteRTNetwork

DEFAULT_ARTIFACT = Path(__file__).resolve().parent / "artifacts" / "digits.tflite"
MAX_BATCH = 256
DIGITS = 10  # output columns 0..9; column 10 is "not a digit"


class DigitClassifier:
    """Calibrated digit probabilities from a (N, 28, 28) float32 batch in [0, 1].

    The network also has an eleventh, "not a digit" class (a wrong cut of a number, two digits
    in one piece), learnt for the number reader that cut lines into pieces; `predict_proba` leaves
    it out (the temperature is fitted for those ten-digit probabilities).
    """

    def __init__(self, network: LiteRTNetwork):
        self._network = network
        self.version = network.version

    @classmethod
    def load(cls, path: str | Path | None = None, *, num_threads: int = 2) -> "DigitClassifier":
        return cls(LiteRTNetwork(path or DEFAULT_ARTIFACT, num_threads=num_threads))

    def predict_proba(self, inputs: np.ndarray) -> np.ndarray:
        """(N, 10): for pictures of one digit, the probability of each digit (given it is one)."""
        return given_a_digit(self.predict_all(inputs))

    def predict_all(self, inputs: np.ndarray) -> np.ndarray:
        """(N, 11): the ten digits, then "not a digit"."""
        inputs = np.asarray(inputs, dtype=np.float32)
        if inputs.ndim == 2:
            inputs = inputs[None]
        if inputs.ndim != 3 or inputs.shape[1:] != (28, 28):
            raise ValueError(f"expected (N, 28, 28) inputs, got {inputs.shape}")
        chunks = [self._network.run(inputs[start : start + MAX_BATCH]) for start in range(0, len(inputs), MAX_BATCH)]
        return np.concatenate(chunks) if chunks else np.zeros((0, DIGITS + 1), dtype=np.float32)


def given_a_digit(outputs: np.ndarray) -> np.ndarray:
    """(N, 11) network outputs -> (N, 10) digit probabilities, "not a digit" left out."""
    digits = outputs[:, :DIGITS]
    return digits / np.maximum(digits.sum(axis=1, keepdims=True), np.finfo(np.float32).tiny)


def top_k(probs_row: np.ndarray, k: int = 3) -> list[dict]:
    order = np.argsort(-np.asarray(probs_row))[:k]
    return [{"digit": int(digit), "probability": float(probs_row[digit])} for digit in order]
