"""python -m dataset build [--seed N] [--out DIR] [--printed N] ..."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from dataset.build import DEFAULT_OUT, BuildConfig, build


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m dataset")
    commands = parser.add_subparsers(dest="command", required=True)
    build_parser = commands.add_parser("build", help="render, augment and preprocess the digit sets")
    defaults = BuildConfig()
    build_parser.add_argument("--seed", type=int, default=defaults.seed)
    build_parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    build_parser.add_argument("--printed", type=int, default=defaults.printed_train, help="printed training images")
    build_parser.add_argument("--printed-validation", type=int, default=defaults.printed_validation)
    build_parser.add_argument("--mnist-copies", type=int, default=defaults.mnist_copies)
    build_parser.add_argument("--small-digits-copies", type=int, default=defaults.small_digits_copies)
    build_parser.add_argument("--capture", type=int, default=defaults.capture_train, help="per generated capture kind")
    build_parser.add_argument("--real-copies", type=int, default=defaults.real_copies)
    build_parser.add_argument(
        "--without-real", action="store_true", help="train on no real capture (the leave-one-source-out network)"
    )
    build_parser.add_argument("--not-digit", type=int, default=defaults.not_digit_train, help="not-a-digit pieces")
    build_parser.add_argument("--workers", type=int, default=defaults.workers)
    build_parser.add_argument("--only", nargs="+", default=(), metavar="SET", help="build just these sets")
    args = parser.parse_args(argv)
    config = BuildConfig(
        seed=args.seed,
        printed_train=args.printed,
        printed_validation=args.printed_validation,
        mnist_copies=args.mnist_copies,
        small_digits_copies=args.small_digits_copies,
        not_digit_train=args.not_digit,
        capture_train=args.capture,
        real_copies=args.real_copies,
        real_sets=() if args.without_real else defaults.real_sets,
        workers=args.workers,
        only=tuple(args.only),
        out=args.out,
    )
    print(json.dumps(build(config), indent=2))


if __name__ == "__main__":
    main()
