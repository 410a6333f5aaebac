import hashlib
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from ml.inference import DEFAULT_ARTIFACT, DigitClassifier, top_k
from tests.ml.test_preprocess import dark_on_light

REPO_ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def classifier() -> DigitClassifier:
    return DigitClassifier.load()


def test_version_is_the_artifact_hash(classifier):
    assert classifier.version == hashlib.sha256(DEFAULT_ARTIFACT.read_bytes()).hexdigest()[:12]


def test_probabilities_are_a_distribution_for_any_batch_size(classifier):
    inputs = np.random.default_rng(0).random((600, 28, 28), dtype=np.float32)
    everything = classifier.predict_all(inputs)
    assert everything.shape == (600, 11) and everything.dtype == np.float32
    assert np.allclose(everything.sum(axis=1), 1, atol=1e-5)
    probabilities = classifier.predict_proba(inputs)  # the digits alone, given the picture is one
    assert np.allclose(probabilities, everything[:, :10] / everything[:, :10].sum(axis=1, keepdims=True), atol=1e-6)
    assert np.allclose(probabilities.sum(axis=1), 1, atol=1e-5)
    one_by_one = np.concatenate([classifier.predict_all(inputs[i : i + 1]) for i in (0, 299, 599)])
    assert np.allclose(one_by_one, everything[[0, 299, 599]], atol=1e-5)
    assert classifier.predict_proba(np.zeros((0, 28, 28), np.float32)).shape == (0, 10)


def test_wrong_input_shape_is_refused(classifier):
    with pytest.raises(ValueError):
        classifier.predict_proba(np.zeros((2, 32, 32), np.float32))


def test_top_k_sorted_descending():
    row = np.array([0.01, 0.6, 0.05, 0.3, 0.04, 0, 0, 0, 0, 0], np.float32)
    assert top_k(row, 3) == [
        {"digit": 1, "probability": pytest.approx(0.6)},
        {"digit": 3, "probability": pytest.approx(0.3)},
        {"digit": 2, "probability": pytest.approx(0.05)},
    ]


def test_runtime_modules_do_not_import_tensorflow():
    code = "import sys, ml.inference, ml.preprocess, ml.predict; bad = {'tensorflow', 'keras', 'django'} & {m.split('.')[0] for m in sys.modules}; print(sorted(bad))"
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"


def test_predict_command_prints_json_lines(tmp_path):
    good, bad = tmp_path / "seven.png", tmp_path / "broken.png"
    dark_on_light("7", size=(120, 160)).save(good)
    bad.write_bytes(b"not an image")
    result = subprocess.run(
        [sys.executable, "-m", "ml", "predict", str(good), str(bad)],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    first, second = (json.loads(line) for line in result.stdout.strip().splitlines())
    assert first["path"] == str(good) and first["digit"] == 7 and 0 < first["confidence"] <= 1
    assert [entry["digit"] for entry in first["top"]][0] == 7 and len(first["top"]) == 3
    assert second == {"path": str(bad), "error": "not an image: cannot identify image file"}
