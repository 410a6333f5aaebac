"""Recover the line reader's Keras weights from its LiteRT artifact, for a reader trained before
`python -m ml train-lines` kept them (the fourth, b46697cb94a8).

    PYTHONPATH=. .venv/bin/python scripts/recover_line_weights.py ml/artifacts/lines.tflite

The converter folded each batch normalisation into its convolution's kernel and bias. The recovered
network keeps the folded kernels; each BatchNormalization first adds the bias (the artifact's function
exactly), then takes the mean m and variance v of its convolution's output on generated lines, so that
both inference (moving statistics) and training (batch statistics) give back that function:
moving mean m, moving variance v, gamma sqrt(v + epsilon), beta bias + m.
"""

import sys
from pathlib import Path

import keras
import numpy as np
from ai_edge_litert.interpreter import Interpreter

from ml import calibration
from ml.line_network import build_line_model
from ml.lines import LineReader
from ml.train_lines import as_line_batch, generated_lines, weights_path

STATISTICS_SEED, CHECK_SEED = 55555, 66666


def recovered_model(artifact: Path) -> tuple[keras.Model, float]:
    interpreter = Interpreter(model_path=str(artifact))
    interpreter.allocate_tensors()
    ops = interpreter._get_ops_details()
    value = interpreter.get_tensor

    def inputs_of(name: str) -> list[list[int]]:
        return [list(op["inputs"]) for op in ops if op["op_name"] == name]

    model = build_line_model()
    convolutions = [layer for layer in model.layers if isinstance(layer, keras.layers.Conv2D | keras.layers.Conv1D)]
    biases = []
    for layer, (_, kernel, bias) in zip(convolutions, inputs_of("CONV_2D"), strict=True):
        kernel = value(kernel)  # out, height, width, in
        two_d = isinstance(layer, keras.layers.Conv2D)
        layer.kernel.assign(kernel.transpose(1, 2, 3, 0) if two_d else kernel[:, 0].transpose(1, 2, 0))
        biases.append(value(bias))
    denses = [layer for layer in model.layers if isinstance(layer, keras.layers.Dense)]
    for layer, (_, kernel, _), (_, bias) in zip(denses, inputs_of("FULLY_CONNECTED"), inputs_of("ADD"), strict=True):
        layer.kernel.assign(value(kernel).T)
        layer.bias.assign(value(bias))
    norms = [layer for layer in model.layers if isinstance(layer, keras.layers.BatchNormalization)]
    epsilon = norms[0].epsilon
    for norm, bias in zip(norms, biases):
        norm.set_weights([np.ones_like(bias), bias, np.zeros_like(bias), np.full_like(bias, 1 - epsilon)])
    lines, _ = generated_lines(STATISTICS_SEED, 9, 2000, workers=2)
    probe = keras.Model(model.input, [layer.output for layer in convolutions])
    for norm, bias, output in zip(norms, biases, probe.predict(as_line_batch(lines), batch_size=256, verbose=0)):
        axes = tuple(range(output.ndim - 1))
        mean, variance = output.mean(axis=axes), output.var(axis=axes)
        norm.set_weights([np.sqrt(variance + epsilon), bias + mean, mean, variance])
    temperature = 1 / float(value(inputs_of("MUL")[0][1]))
    return model, temperature


def main(artifact: Path) -> None:
    model, temperature = recovered_model(artifact)
    lines, _ = generated_lines(CHECK_SEED, 9, 300, workers=2)
    original = LineReader.load(artifact).step_probabilities(lines / 255.0)
    recovered = calibration.softmax(model.predict(as_line_batch(lines), verbose=0), temperature)
    difference = float(np.abs(original - recovered).max())
    if difference > 1e-4:
        raise SystemExit(f"the recovered network differs from the artifact by {difference}")
    model.save_weights(weights_path(artifact))
    print(f"{weights_path(artifact)}: the artifact's probabilities within {difference:.1e} on 300 fresh lines")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
