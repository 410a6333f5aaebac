"""python -m ml {train, train-lines, export-lines, evaluate, line-card, predict}."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m ml")
    commands = parser.add_subparsers(dest="command", required=True)

    train_parser = commands.add_parser("train", help="train and export ml/artifacts/digits.tflite")
    train_parser.add_argument("--dataset", type=Path, default=None, help="built dataset folder")
    train_parser.add_argument("--extra", type=Path, default=None, help="extra labelled images DIR/<digit>/*.png")
    train_parser.add_argument("--epochs", type=int, default=None)
    train_parser.add_argument("--seed", type=int, default=0)
    train_parser.add_argument("--artifacts", type=Path, default=None)

    lines_parser = commands.add_parser("train-lines", help="train and export ml/artifacts/lines.tflite")
    lines_parser.add_argument("--lines", type=int, default=None, help="generated training lines")
    lines_parser.add_argument("--epochs", type=int, default=None)
    lines_parser.add_argument("--artifact", type=Path, default=None)
    lines_parser.add_argument("--learning-rate", type=float, default=None)
    lines_parser.add_argument(
        "--seed", type=int, default=None, help="of the generated lines (a continuation takes new ones)"
    )
    lines_parser.add_argument(
        "--real-copies", type=int, default=None, help="augmented copies of each real training line, besides it"
    )
    lines_parser.add_argument(
        "--start-from", type=Path, default=None, help="continue from these weights (e.g. ml/artifacts/lines.weights.h5)"
    )

    export_parser = commands.add_parser(
        "export-lines", help="export the line reader's kept weights (lines.weights.h5) to its .tflite again"
    )
    export_parser.add_argument("--artifact", type=Path, default=None, help="the line reader's .tflite")

    evaluate_parser = commands.add_parser("evaluate", help="write the model card")
    evaluate_parser.add_argument("--dataset", type=Path, default=None)
    evaluate_parser.add_argument("--artifacts", type=Path, default=None)

    card_parser = commands.add_parser("line-card", help="measure the line reader and write its card")
    card_parser.add_argument("--artifact", type=Path, default=None, help="the line reader's .tflite")
    card_parser.add_argument("--per-style", type=int, default=250, help="fresh generated lines per style")

    predict_parser = commands.add_parser("predict", help="classify image files, one JSON line each")
    predict_parser.add_argument("paths", nargs="+", type=Path)
    predict_parser.add_argument(
        "--model", type=Path, default=None, help="the .tflite to read with (digits.tflite; lines.tflite in number mode)"
    )
    predict_parser.add_argument(
        "--mode",
        choices=["digit", "number"],
        default="digit",
        help="digit: one digit per image (default); number: the line of digits in each image (the line reader)",
    )

    args = parser.parse_args(argv)
    commands_run = {
        "train": run_train,
        "train-lines": run_train_lines,
        "export-lines": run_export_lines,
        "evaluate": run_evaluate,
        "line-card": run_line_card,
        "predict": run_predict,
    }
    commands_run[args.command](args)


def run_train(args) -> None:
    from ml.train import TrainConfig, train

    config = TrainConfig(seed=args.seed, extra_dir=args.extra)
    if args.dataset is not None:
        config.dataset_dir = args.dataset
    if args.artifacts is not None:
        config.artifacts_dir = args.artifacts
    if args.epochs is not None:
        config.epochs = args.epochs
    print(json.dumps(train(config), indent=2))


def run_train_lines(args) -> None:
    from ml.train_lines import LineTrainConfig, train_lines

    config = LineTrainConfig()
    options = {
        "lines": args.lines,
        "epochs": args.epochs,
        "artifact": args.artifact,
        "learning_rate": args.learning_rate,
        "start_from": args.start_from,
        "seed": args.seed,
        "real_copies": args.real_copies,
    }
    for field, value in options.items():
        if value is not None:
            setattr(config, field, value)
    print(json.dumps(train_lines(config), indent=2))


def run_export_lines(args) -> None:
    from ml.lines import DEFAULT_LINE_ARTIFACT
    from ml.train_lines import export_again

    print(f"written {export_again(args.artifact or DEFAULT_LINE_ARTIFACT)}")


def run_evaluate(args) -> None:
    from ml.evaluate import evaluate

    kwargs = {key: value for key, value in (("dataset_dir", args.dataset), ("artifacts_dir", args.artifacts)) if value}
    print(json.dumps(evaluate(**kwargs), indent=2))


def run_line_card(args) -> None:
    from ml.line_card import measure, write
    from ml.lines import DEFAULT_LINE_ARTIFACT

    artifact = args.artifact or DEFAULT_LINE_ARTIFACT
    print(f"written {write(measure(artifact, args.per_style), artifact)}")


def run_predict(args) -> None:
    from ml.predict import predict_files, predict_numbers

    predict = predict_numbers if args.mode == "number" else predict_files
    for line in predict(args.paths, args.model):
        print(json.dumps(line))
        sys.stdout.flush()


if __name__ == "__main__":
    main()
