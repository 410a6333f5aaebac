"""Keras -> LiteRT flatbuffer (float32, dynamic batch), probabilities already calibrated."""

from __future__ import annotations

from pathlib import Path

import keras
import tensorflow as tf

from ml.network import with_calibrated_softmax


def to_tflite(model: keras.Model, temperature: float) -> bytes:
    # from_keras_model is the path that freezes the Keras 3 variables correctly
    # (from_concrete_functions produced NaNs).
    converter = tf.lite.TFLiteConverter.from_keras_model(with_calibrated_softmax(model, temperature))
    return converter.convert()


def write_tflite(model: keras.Model, temperature: float, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(to_tflite(model, temperature))
