"""Temperature scaling and calibration measures (numpy only)."""

from __future__ import annotations

import numpy as np
from scipy.optimize import minimize_scalar


def softmax(logits: np.ndarray, temperature: float = 1.0) -> np.ndarray:
    """Over the last axis: (N, classes), or (N, time steps, classes) for the line reader."""
    scaled = logits / temperature
    scaled = scaled - scaled.max(axis=-1, keepdims=True)
    exp = np.exp(scaled)
    return exp / exp.sum(axis=-1, keepdims=True)


def negative_log_likelihood(logits: np.ndarray, labels: np.ndarray, temperature: float) -> float:
    probabilities = softmax(logits, temperature)
    return float(-np.log(np.clip(probabilities[np.arange(len(labels)), labels], 1e-12, None)).mean())


def fit_temperature(logits: np.ndarray, labels: np.ndarray) -> float:
    result = minimize_scalar(
        lambda t: negative_log_likelihood(logits, labels, t), bounds=(0.05, 20.0), method="bounded"
    )
    return float(result.x)


def expected_calibration_error(probabilities: np.ndarray, labels: np.ndarray, bins: int = 15) -> float:
    return binary_calibration_error(probabilities.max(axis=1), probabilities.argmax(axis=1) == labels, bins)


def binary_calibration_error(confidence: np.ndarray, correct: np.ndarray, bins: int = 15) -> float:
    """ECE of confidences in answers that were right (`correct`) or not."""
    edges = np.linspace(0.0, 1.0, bins + 1)
    error = 0.0
    for low, high in zip(edges[:-1], edges[1:]):
        in_bin = (confidence > low) & (confidence <= high)
        if in_bin.any():
            error += in_bin.mean() * abs(correct[in_bin].mean() - confidence[in_bin].mean())
    return float(error)


def review_threshold(probabilities: np.ndarray, labels: np.ndarray, max_flagged: float = 0.05) -> dict:
    """Confidence below which an answer goes to a person, flagging at most `max_flagged` of images."""
    confidence = probabilities.max(axis=1)
    wrong = probabilities.argmax(axis=1) != labels
    threshold = float(np.quantile(confidence, max_flagged, method="lower"))
    flagged = confidence < threshold
    return {
        "threshold": threshold,
        "flagged_fraction": float(flagged.mean()),
        "errors": int(wrong.sum()),
        "errors_caught_fraction": float((flagged & wrong).sum() / wrong.sum()) if wrong.any() else 1.0,
    }
