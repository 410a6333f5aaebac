"""The line reader's card: measured on the committed reader, and kept in step with it."""

import json

import pytest

from dataset.lines import STYLES
from ml import line_card
from ml.lines import DEFAULT_LINE_ARTIFACT, LineReader
from ml.preprocess import LINE_HEIGHT, LINE_WIDTH


@pytest.fixture(scope="module")
def small_card() -> dict:
    return line_card.measure(per_style=3)


def test_the_committed_card_is_the_committed_readers():
    card = DEFAULT_LINE_ARTIFACT.with_name("LINES_MODEL_CARD.md").read_text()
    recorded = json.loads(DEFAULT_LINE_ARTIFACT.with_name("lines_metrics.json").read_text())
    assert f"version {LineReader.load().version})" in card.splitlines()[0]
    generated = recorded["validation_generated"]
    assert f"| validation_generated | {generated['lines']:,} | {100 * generated['string_accuracy']:.2f}% |" in card


def test_each_style_and_the_real_captchas_are_measured(small_card):
    assert list(small_card["styles"]) == list(STYLES)
    assert all(report["lines"] == 3 for report in small_card["styles"].values())
    assert small_card["all_styles"]["lines"] == 3 * len(STYLES)
    assert small_card["captcha_test_part"]["lines"] == 600
    assert small_card["captcha_test_part"]["string_accuracy"] >= 0.86
    assert small_card["lines_per_second"] > 0
    markdown = line_card.render(small_card)
    assert "| generated, wheels | 3 |" in markdown and "| real: captchas, test part | 600 |" in markdown


def test_styled_lines_are_drawn_in_their_style():
    inputs, texts = line_card.styled_lines("single", 4)
    assert inputs.shape == (4, LINE_HEIGHT, LINE_WIDTH) and all(len(text) == 1 for text in texts)
    _, counters = line_card.styled_lines("wheels", 4)
    assert all(text.isdigit() for text in counters)


def test_benchmarks_of_another_reader_are_left_out(tmp_path, monkeypatch, small_card):
    monkeypatch.setattr(line_card, "RESULTS", tmp_path)
    row = {"images": 10, "string_accuracy": 0.5}
    (tmp_path / "ocr_numbers.json").write_text(
        json.dumps({"line_model_version": "another", "sets": {"printed": {"ours": row, "tesseract": row}}})
    )
    assert line_card._benchmarks(small_card["version"]) == {}
    (tmp_path / "ocr_numbers.json").write_text(
        json.dumps({"line_model_version": small_card["version"], "sets": {"printed": {"ours": row, "tesseract": row}}})
    )
    found = line_card._benchmarks(small_card["version"])
    assert "| generated numbers: printed | 10 | 50.00% | >= 98.50% | 50.00% |" in line_card.render(
        small_card | {"benchmarks": found}
    )
