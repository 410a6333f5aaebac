"""Training smoke run and Keras-vs-LiteRT agreement (these import TensorFlow)."""

import json

import numpy as np
import pytest
from PIL import Image

from dataset import handwritten, not_digits
from dataset.build import network_input_uint8
from ml.inference import DigitClassifier
from ml.train import ARTIFACTS, TrainConfig, as_network_batch, train
from tests.ml.test_preprocess import dark_on_light


@pytest.fixture(scope="module")
def tiny_dataset(tmp_path_factory):
    folder = tmp_path_factory.mktemp("tiny-dataset")
    images, labels = handwritten.mnist_split()["validation"]
    for name, rows in (
        ("train", slice(0, 512)),
        ("val_printed", slice(512, 640)),
        ("val_handwritten", slice(640, 768)),
        ("val_captures", slice(768, 832)),
        ("val_real", slice(832, 896)),
    ):
        np.savez_compressed(
            folder / f"{name}.npz", images=images[rows], labels=labels[rows], source=np.full(len(labels[rows]), "mnist")
        )
    rng = np.random.default_rng(0)
    for name, count in (("train_not_digit", 64), ("val_not_digit", 32)):
        pieces = [network_input_uint8(not_digits.random_handwritten_not_digit(rng, images[:100])) for _ in range(count)]
        np.savez_compressed(
            folder / f"{name}.npz",
            images=np.stack(pieces),
            labels=np.full(count, not_digits.NOT_A_DIGIT, np.uint8),
            source=np.full(count, "not_digit"),
        )
    return folder


def test_one_epoch_training_run_writes_the_artifacts(tiny_dataset, tmp_path):
    extra = tmp_path / "extra"
    (extra / "3").mkdir(parents=True)
    dark_on_light("3").save(extra / "3" / "correction.png")
    config = TrainConfig(dataset_dir=tiny_dataset, artifacts_dir=tmp_path / "artifacts", extra_dir=extra, epochs=1)
    metrics = train(config)
    assert metrics["training_data"] == {"extra": 1, "mnist": 512, "not_digit": 64}
    assert metrics["validation"]["val_not_digit"]["images"] == 32
    assert (tmp_path / "artifacts" / "digits.tflite").exists()
    assert (
        json.loads((tmp_path / "artifacts" / "metrics.json").read_text())["artifact_version"]
        == metrics["artifact_version"]
    )
    classifier = DigitClassifier.load(tmp_path / "artifacts" / "digits.tflite")
    assert classifier.predict_proba(np.zeros((3, 28, 28), np.float32)).shape == (3, 10)
    assert classifier.predict_all(np.zeros((3, 28, 28), np.float32)).shape == (3, 11)


def test_exported_tflite_agrees_with_keras():
    import keras

    from ml.network import with_calibrated_softmax

    temperature = json.loads((ARTIFACTS / "metrics.json").read_text())["temperature"]
    model = with_calibrated_softmax(keras.models.load_model(ARTIFACTS / "digits.keras"), temperature)
    images = handwritten.mnist_split()["validation"][0][:200]
    stored = np.stack([network_input_uint8(Image.fromarray(image)) for image in images])  # as the dataset stores them
    keras_probabilities = model.predict(as_network_batch(stored), verbose=0)
    litert_probabilities = DigitClassifier.load().predict_all(stored.astype(np.float32) / 255)
    assert (keras_probabilities.argmax(1) == litert_probabilities.argmax(1)).all()
    assert np.abs(keras_probabilities - litert_probabilities).max() < 1e-3
