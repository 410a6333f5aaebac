"""`python -m bench.real` reads labelled real sets laid out as in shared/datasets/real/, set by set, and
skips cleanly when that optional input is absent. The sets here are made on the spot."""

import json

import pytest

from bench import real
from dataset import real as real_sets
from ml.lines import LineReading
from tests.factories import digit_png, number_png


@pytest.fixture
def results_path(tmp_path, monkeypatch):
    path = tmp_path / "real.json"
    monkeypatch.setattr(real, "RESULTS", path)
    return path


def test_without_the_real_sets_it_says_so_and_writes_nothing(tmp_path, results_path, capsys):
    real.main(["--data", str(tmp_path / "absent")])
    assert "skipped" in capsys.readouterr().out
    assert not results_path.exists()


def test_it_reads_digit_and_line_sets_with_both_engines(tmp_path, results_path):
    folder = tmp_path / "printed_meter"
    folder.mkdir()
    rows = ["file,label,kind"]
    for digit in range(10):
        (folder / f"d{digit}.png").write_bytes(digit_png(digit, size=64))
        rows.append(f"d{digit}.png,{digit},meter_digit")
    (folder / "line.png").write_bytes(number_png("4071", height=64))
    rows.append("line.png,4071,meter_string")
    (folder / "labels.csv").write_text("\n".join(rows) + "\n")

    real.main(["--data", str(tmp_path)])

    sets = json.loads(results_path.read_text())["sets"]
    digits, lines = sets["printed_meter (digits)"], sets["printed_meter (lines)"]
    assert (digits["images"], lines["images"]) == (10, 1)
    assert digits["digit-ocr"]["accuracy"] >= 0.9, "clean printed digits"
    assert lines["digit-ocr"]["string_accuracy"] == 1.0
    assert {"tesseract --psm 10", "tesseract --psm 7"} <= set(digits) | set(lines)


def test_a_set_the_network_trained_on_is_read_on_its_test_part_only():
    test_part = real_sets.labelled_files("lcd_7seg_digit", "test")[:3]
    train_part = real_sets.labelled_files("lcd_7seg_digit", "train")[:3]
    items = [(path, str(label)) for path, label in test_part + train_part]
    chosen = real.untrained_part({"lcd_7seg_digit (digits)": items, "other (digits)": items}, {"lcd_7seg_digit"})
    assert chosen == {"lcd_7seg_digit (digits) test part": items[:3], "other (digits)": items}


def test_lines_of_a_set_whose_labels_leave_separators_out_are_compared_by_their_digits(tmp_path, monkeypatch):
    read = LineReading.of([{"character": character, "confidence": 0.9} for character in "013414,9"])
    monkeypatch.setattr(real.ocr_numbers, "our_line", lambda data, reader, classifier: read)
    monkeypatch.setattr(real.ocr_numbers, "tesseract_reading", lambda data: "0134 149")
    picture = tmp_path / "strip.png"
    picture.write_bytes(number_png("0134149", height=32))

    without_separators = real.read_lines([(picture, "0134149")], reader=None, classifier=None)
    with_separators = real.read_lines([(picture, "0134149"), (picture, "4824.0")], reader=None, classifier=None)

    assert without_separators["digit-ocr"]["string_accuracy"] == 1.0
    assert without_separators["tesseract --psm 7"]["string_accuracy"] == 1.0
    assert with_separators["digit-ocr"]["string_accuracy"] == 0.0, "where labels write separators, they count"
