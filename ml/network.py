"""The digit classifier: a small VGG-style convnet (keras-io mnist_convnet, made stronger).

Channel widths grow 16-32-64-96: the full-resolution layers are the costly ones (32-32-64-64
ran at about half the LiteRT speed, batch 256, 2 threads), so the width goes where the maps are small.
"""

from __future__ import annotations

import keras
from keras import layers

from ml.inference import DIGITS

CLASSES = DIGITS + 1  # the ten digits, then "not a digit" (a wrong cut of a number, two digits in one piece)


def conv_block(x, filters: int):
    x = layers.Conv2D(filters, 3, use_bias=False)(x)
    x = layers.BatchNormalization()(x)
    return layers.Activation("relu")(x)


def build_model() -> keras.Model:
    """(28, 28, 1) image in [0, 1] -> 11 logits (softmax and temperature are added at export)."""
    inputs = keras.Input(shape=(28, 28, 1), name="image")
    x = conv_block(inputs, 16)  # 26x26
    x = conv_block(x, 32)  # 24x24
    x = layers.MaxPooling2D()(x)  # 12x12
    x = conv_block(x, 64)  # 10x10
    x = conv_block(x, 96)  # 8x8
    x = layers.MaxPooling2D()(x)  # 4x4
    x = layers.Flatten()(x)
    x = layers.Dropout(0.25)(x)
    x = layers.Dense(128, use_bias=False)(x)
    x = layers.BatchNormalization()(x)
    x = layers.Activation("relu")(x)
    x = layers.Dropout(0.4)(x)
    logits = layers.Dense(CLASSES, name="logits")(x)
    return keras.Model(inputs, logits, name="digits")


def with_calibrated_softmax(model: keras.Model, temperature: float) -> keras.Model:
    """Wrap the logits model so it outputs temperature-scaled probabilities."""
    inputs = keras.Input(shape=(28, 28, 1), name="image")
    scaled = layers.Rescaling(1.0 / temperature, name="temperature")(model(inputs))
    return keras.Model(inputs, layers.Softmax(name="probabilities")(scaled), name="digits_calibrated")
