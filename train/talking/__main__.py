"""``python -m train.talking <source>``: talking clips (speech + per-frame ARKit weights) for the generator.

    python -m train.talking build --size 3000 --seed 0 --out data/talking [--tead data/tead]
    python -m train.talking beat --source ~/data/beat_english_v0.2.1 --out data/talking-beat
    python -m train.talking videos --source ~/MEAD --out data/talking-videos

Every source writes the one clips format of :mod:`expclip.clips` and resumes an interrupted build when
run again with the same arguments. A source is a module of this package with ``add_cli(subparsers)``,
which registers its subcommand with ``func(args) -> meta dict`` (see :data:`SOURCES`).
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys

SOURCES = ("train.talking.corpus", "train.talking.beat", "train.talking.videos")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m train.talking", description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    for name in SOURCES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as error:  # a source not written yet is not offered
            if error.name != name:
                raise
            continue
        module.add_cli(commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        meta = args.func(args)
    except (ValueError, OSError, RuntimeError) as error:  # each builder's errors are one sentence
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(json.dumps(meta, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
