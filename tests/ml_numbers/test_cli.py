import json
import subprocess
import sys

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
