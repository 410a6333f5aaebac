import json
import re

from django.conf import settings

from ml import model_card
from ml.inference import DEFAULT_ARTIFACT


def test_the_review_threshold_comes_from_the_card_beside_the_artifact(tmp_path):
    (tmp_path / "model_card.json").write_text(json.dumps({"overall": {"review": {"threshold": 0.97}}}))
    assert model_card.review_threshold(tmp_path / "digits.tflite") == 0.97


def test_an_artifact_without_a_card_falls_back(tmp_path):
    assert model_card.review_threshold(tmp_path / "digits.tflite") == model_card.FALLBACK_REVIEW_THRESHOLD
    (tmp_path / "model_card.json").write_text("{not json")
    assert model_card.review_threshold(tmp_path / "digits.tflite") == model_card.FALLBACK_REVIEW_THRESHOLD


def test_the_service_flags_below_the_shipped_cards_threshold_unless_told_otherwise():
    card = json.loads(DEFAULT_ARTIFACT.with_name("model_card.json").read_text())
    fitted = card["overall"]["review"]["threshold"]
    assert 0.5 < fitted < 1
    assert settings.OCR_REVIEW_THRESHOLD == fitted, "the test stack sets no OCR_REVIEW_THRESHOLD"


def test_the_card_shows_tesseract_beside_its_own_network_only(tmp_path):
    from ml.evaluate import _tesseract_lines

    results = tmp_path / "ocr.json"
    results.write_text(
        json.dumps(
            {
                "model_version": "aaaaaaaaaaaa",
                "tesseract_version": "tesseract 5.3.0",
                "sets": {"printed": {"digit-ocr (LiteRT)": {"accuracy": 0.99, "images_per_second": 900.0}}},
            }
        )
    )
    assert "| printed | digit-ocr (LiteRT) | 99.00% | 900 |" in _tesseract_lines("aaaaaaaaaaaa", results)
    assert _tesseract_lines("bbbbbbbbbbbb", results) == [], "another network's figures would pass for this one's"


def test_the_shipped_cards_figures_name_its_own_network():
    card = DEFAULT_ARTIFACT.with_name("MODEL_CARD.md").read_text()
    version = json.loads(DEFAULT_ARTIFACT.with_name("model_card.json").read_text())["artifact_version"]
    named = re.findall(r"\bmodel ([0-9a-f]{12})\b", card)
    assert all(name == version for name in named), named
