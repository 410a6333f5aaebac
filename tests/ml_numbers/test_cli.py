import json
import subprocess
import sys

from ml.predict import PARALLEL_FROM, predict_numbers
from tests.factories import digit_png, number_png


def test_predict_prints_the_number_of_each_image(tmp_path):
    (tmp_path / "meter.png").write_bytes(number_png("40271"))
    (tmp_path / "one.png").write_bytes(digit_png(6, size=64))
    (tmp_path / "notes.txt").write_bytes(b"text")
    paths = [str(tmp_path / name) for name in ("meter.png", "one.png", "notes.txt")]
    output = subprocess.run(
        [sys.executable, "-m", "ml", "predict", "--mode", "number", *paths], capture_output=True, text=True, timeout=120
    )
    lines = [json.loads(line) for line in output.stdout.splitlines()]
    assert [line.get("text") for line in lines] == ["40271", "6", None]
    assert "not an image" in lines[2]["error"]
    assert len(lines[0]["digits"]) == 5 and 0 < lines[0]["confidence"] <= 1


def test_many_files_are_prepared_on_every_core_and_answered_in_order(tmp_path):
    numbers = [str(1000 + 37 * index) for index in range(PARALLEL_FROM + 6)]
    paths = []
    for index, number in enumerate(numbers):
        paths.append(tmp_path / f"{index:03d}.png")
        paths[-1].write_bytes(number_png(number))
    paths.insert(5, tmp_path / "missing.png")
    (tmp_path / "notes.txt").write_bytes(b"text")
    paths.insert(40, tmp_path / "notes.txt")
    together = list(predict_numbers(paths))
    one_by_one = [answer for path in paths for answer in predict_numbers([path])]
    assert together == one_by_one
    assert [answer["path"] for answer in together] == [str(path) for path in paths]
    assert "No such file" in together[5]["error"] and "not an image" in together[40]["error"]
