"""python -m ml {train, evaluate, predict}."""

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

    evaluate_parser = commands.add_parser("evaluate", help="write the model card")
    evaluate_parser.add_argument("--dataset", type=Path, default=None)
    evaluate_parser.add_argument("--artifacts", type=Path, default=None)

    predict_parser = commands.add_parser("predict", help="classify image files, one JSON line each")
    predict_parser.add_argument("paths", nargs="+", type=Path)
    predict_parser.add_argument("--model", type=Path, default=None)
    predict_parser.add_argument(
        "--mode",
        choices=["digit", "number"],
        default="digit",
        help="digit: one digit per image (default); number: the line of digits in each image",
    )

    args = parser.parse_args(argv)
    {"train": run_train, "evaluate": run_evaluate, "predict": run_predict}[args.command](args)


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


def run_evaluate(args) -> None:
    from ml.evaluate import evaluate

    kwargs = {key: value for key, value in (("dataset_dir", args.dataset), ("artifacts_dir", args.artifacts)) if value}
    print(json.dumps(evaluate(**kwargs), indent=2))


def run_predict(args) -> None:
    from ml.predict import predict_files, predict_numbers

    predict = predict_numbers if args.mode == "number" else predict_files
    for line in predict(args.paths, args.model):
        print(json.dumps(line))
        sys.stdout.flush()


if __name__ == "__main__":
    main()
