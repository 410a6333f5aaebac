"""Number mode's speed benchmark runs the command as a user does and measures the network beside it."""

import json

from bench import number_mode


def test_the_command_answers_every_generated_file_and_both_speeds_are_reported(tmp_path):
    out = tmp_path / "number_mode.json"
    results = number_mode.main(["--lines", "70", "--repeats", "1", "--out", str(out)])
    assert json.loads(out.read_text()) == results
    assert results["lines"] == 70 and len(results["command_seconds"]) == 1
    assert results["network_alone_lines_per_second"] > 0 and results["command_lines_per_second"][0] > 0
