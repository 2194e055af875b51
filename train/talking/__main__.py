"""``python -m train.talking <source>``: talking clips (speech + per-frame ARKit weights) for the generator.

    python -m train.talking build --size 3000 --seed 0 --out data/talking [--tead data/tead]
    python -m train.talking beat --source ~/data/beat_english_v0.2.1 --out data/talking-beat
    python -m train.talking videos --source ~/MEAD --out data/talking-videos

Every source writes the one clips format of :mod:`expclip.clips` and resumes an interrupted build when
run again with the same arguments. A source is a module of this package with ``add_cli(subparsers)``,
which registers its subcommand with ``func(args) -> meta dict`` (see :data:`SOURCES`); the command ends
with one line saying what it wrote.
"""

from __future__ import annotations

import argparse
import importlib
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
    print(summary(meta, args.out))
    return 0


def summary(meta: dict, out) -> str:
    """One line for a person about a finished clips build (``meta.json`` in ``out`` holds the rest)."""
    counts, run = meta.get("clips", {}), meta.get("this_run", {})
    about = [f"{meta['hours']:g} h of speech"] if "hours" in meta else []
    if "clips_made" in run:
        about.append(f"{run['clips_made']} made in this run")
    about = f" ({', '.join(about)})" if about else ""
    return (f"Wrote {counts.get('train', 0)} train and {counts.get('test', 0)} test clips{about} to {out}; "
            "details in meta.json.")


if __name__ == "__main__":
    sys.exit(main())
