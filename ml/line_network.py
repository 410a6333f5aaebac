"""The line reader: a convolutional network trained with CTC (keras-io's captcha OCR, with 1-D
convolutions for context instead of the recurrent layers, which LiteRT runs slower).

A (32, 256) line goes through 2-D convolutions that halve it to (4, 64); each of the 64 columns
becomes one time step that sees about 40 pixels of the line, and 1-D convolutions give each step
its neighbours' context. Every step gives logits over the blank and the alphabet; CTC aligns them
with the text during training, and `ml.lines` decodes them.
"""

from __future__ import annotations

import keras
from keras import layers

from ml.lines import ALPHABET, MAX_TEXT
from ml.preprocess import LINE_HEIGHT, LINE_WIDTH

CLASSES = len(ALPHABET) + 1
TIME_STEPS = LINE_WIDTH // 4


def encode_text(text: str) -> list[int]:
    """A line's text as CTC class indices, padded with the blank to MAX_TEXT."""
    indices = [ALPHABET.index(character) + 1 for character in text]
    return indices + [0] * (MAX_TEXT - len(indices))


def conv_block(x, filters: int):
    x = layers.Conv2D(filters, 3, padding="same", use_bias=False)(x)
    x = layers.BatchNormalization()(x)
    return layers.Activation("relu")(x)


def context_block(x, filters: int):
    x = layers.Conv1D(filters, 5, padding="same", use_bias=False)(x)
    x = layers.BatchNormalization()(x)
    return layers.Activation("relu")(x)


def build_line_model() -> keras.Model:
    """(32, 256, 1) line in [0, 1] -> (64, CLASSES) logits per time step."""
    inputs = keras.Input(shape=(LINE_HEIGHT, LINE_WIDTH, 1), name="line")
    x = conv_block(inputs, 16)
    x = layers.MaxPooling2D()(x)  # 16 x 128
    x = conv_block(x, 32)
    x = layers.MaxPooling2D()(x)  # 8 x 64
    x = conv_block(x, 64)
    x = layers.MaxPooling2D(pool_size=(2, 1))(x)  # 4 x 64
    x = conv_block(x, 64)
    x = layers.Permute((2, 1, 3))(x)  # columns first: 64 x 4 x 64
    x = layers.Reshape((TIME_STEPS, (LINE_HEIGHT // 8) * 64))(x)
    x = layers.Dense(160, activation="relu")(x)
    x = layers.Dropout(0.2)(x)
    x = context_block(x, 128)
    x = context_block(x, 128)
    logits = layers.Dense(CLASSES, name="logits")(x)
    return keras.Model(inputs, logits, name="lines")


def with_calibrated_softmax(model: keras.Model, temperature: float) -> keras.Model:
    inputs = keras.Input(shape=(LINE_HEIGHT, LINE_WIDTH, 1), name="line")
    scaled = layers.Rescaling(1.0 / temperature, name="temperature")(model(inputs))
    return keras.Model(inputs, layers.Softmax(name="probabilities")(scaled), name="lines_calibrated")
