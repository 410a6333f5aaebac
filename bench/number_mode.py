"""Number mode's speed: `python -m ml predict --mode number` on generated line files, as a user runs it
(start-up included), against the line network alone measured in the same run.

Writes --lines pictures of `dataset.lines.random_line` (seed 4242) as PNG files, reads them --repeats
times with the command, and times the line network alone as the line reader's card does (2 threads,
`ml.line_card.network_speed`). The machine's speed varies severalfold from one day to another here, so the
command's lines/s is reported beside the network's and as a share of it. Writes
bench/results/number_mode.json.
Usage: python -m bench.number_mode [--lines 2000] [--repeats 3] [--seed 4242] [--line-model PATH]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from dataset.lines import random_line
from ml.line_card import network_speed
from ml.lines import LineReader

REPO_ROOT = Path(__file__).resolve().parents[1]
RESULTS = REPO_ROOT / "bench" / "results" / "number_mode.json"
TARGET_LINES_PER_SECOND = 500


def write_line_files(folder: Path, count: int, seed: int) -> list[Path]:
    rng = np.random.default_rng(seed)
    paths = [folder / f"{index:04d}.png" for index in range(count)]
    for path in paths:
        random_line(rng)[0].save(path)
    return paths


def command_seconds(paths: list[Path], line_model: Path | None) -> float:
    """Wall time of one `python -m ml predict --mode number` over the files; it must answer every one."""
    command = [sys.executable, "-m", "ml", "predict", "--mode", "number", *map(str, paths)]
    if line_model is not None:
        command += ["--model", str(line_model)]
    started = time.perf_counter()
    output = subprocess.run(command, cwd=REPO_ROOT, capture_output=True, text=True, check=True).stdout
    seconds = time.perf_counter() - started
    answered = [json.loads(line)["path"] for line in output.splitlines()]
    if answered != list(map(str, paths)):
        raise RuntimeError(f"the command answered {len(answered)} of {len(paths)} files, or out of order")
    return seconds


def measure(count: int, repeats: int, seed: int, line_model: Path | None) -> dict:
    network = network_speed(LineReader.load(line_model, num_threads=2))
    with tempfile.TemporaryDirectory() as folder:
        paths = write_line_files(Path(folder), count, seed)
        seconds = [command_seconds(paths, line_model) for _ in range(repeats)]
    speeds = [count / value for value in seconds]
    return {
        "lines": count,
        "seed": seed,
        "command_seconds": [round(value, 2) for value in seconds],
        "command_lines_per_second": [round(value) for value in speeds],
        "network_alone_lines_per_second": round(network),
        "command_share_of_network": [round(value / network, 3) for value in speeds],
        "target_lines_per_second": TARGET_LINES_PER_SECOND,
    }


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=2000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--seed", type=int, default=4242)
    parser.add_argument("--line-model", type=Path, default=None, help="the line reader's .tflite")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    results = measure(args.lines, args.repeats, args.seed, args.line_model)
    print(
        f"python -m ml predict --mode number, {args.lines} generated lines with start-up: "
        f"{', '.join(map(str, results['command_lines_per_second']))} lines/s "
        f"(target {TARGET_LINES_PER_SECOND}); the line network alone {results['network_alone_lines_per_second']} "
        f"lines/s; the command at {', '.join(map(str, results['command_share_of_network']))} of it"
    )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2) + "\n")
    print(f"written {args.out}")
    return results


if __name__ == "__main__":
    main()
