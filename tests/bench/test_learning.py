"""`python -m bench.learning` fine-tunes the line reader on four fifths of real meter readings laid out as in
shared/datasets/real/ and reads the rest before and after; it skips cleanly when that optional input is
absent. The readings here are made on the spot, and the fine-tune is run tiny."""

import functools
import json

import pytest

from bench import learning
from ml import fine_tune_lines
from tests.factories import number_png


@pytest.fixture
def results_path(tmp_path):
    return tmp_path / "learning.json"


def test_without_the_real_sets_it_says_so_and_writes_nothing(tmp_path, results_path, capsys):
    learning.main(["--data", str(tmp_path / "absent"), "--out", str(results_path)])
    assert "skipped" in capsys.readouterr().out
    assert not results_path.exists()


def test_a_reading_photographed_twice_falls_on_one_side_and_a_fifth_is_kept_aside():
    readings = [f"{number:06d}.{number % 10}" for number in range(2000)]
    aside = [learning.is_kept_aside(text) for text in readings]
    assert 0.15 < sum(aside) / len(aside) < 0.25
    assert aside == [learning.is_kept_aside(text) for text in readings]


def test_it_fine_tunes_on_the_corrected_readings_and_reads_the_others_before_and_after(
    tmp_path, results_path, monkeypatch
):
    folder = tmp_path / learning.SET_NAME
    folder.mkdir()
    rows = ["file,text"]
    for index in range(20):
        text = f"{4000 + 37 * index}.{index % 10}"
        (folder / f"{index}.png").write_bytes(number_png(text, height=40))
        rows.append(f"{index}.png,{text}")
    (folder / "labels_with_point.csv").write_text("\n".join(rows) + "\n")
    tiny = functools.partial(fine_tune_lines.LineFineTuneConfig, epochs=1, replay=32, calibration=32)
    monkeypatch.setattr(fine_tune_lines, "LineFineTuneConfig", tiny)
    monkeypatch.setattr(learning, "BASE_LINES", 40)

    learning.main(["--data", str(tmp_path), "--out", str(results_path)])

    results = json.loads(results_path.read_text())
    kept_aside = sum(learning.is_kept_aside(row.split(",")[1]) for row in rows[1:])
    assert (results["corrected"], results["kept_aside"]) == (20 - kept_aside, kept_aside)
    assert results["training"]["training_lines"]["corrections"] == 20 - kept_aside
    assert results["kept_aside_readings"]["current"] >= 0.75, "clean printed readings, decimal point and all"
    for figures in (results["kept_aside_readings"], results["base_generated_lines"]):
        assert 0.0 <= figures["candidate"] <= 1.0
