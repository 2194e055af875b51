"""``python -m train.tead build|stats``: build TEAD offline or with an LLM, and summarise a build.

    python -m train.tead build --annotator offline --size 50000 --seed 0 --out data/tead
    python -m train.tead build --annotator llm --corpus tweets.txt --out data/tead-llm \\
        --base-url http://localhost:8000/v1 --model my-model
    python -m train.tead stats data/tead
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import os
import sys
from pathlib import Path

from expclip.facs import FACSError
from expclip.tead import TeadFormatError
from expclip.tead_offline import OfflineConfig, build_offline
from train.config import CONFIG_DIR, ConfigError, load_config
from train.tead.llm import LLMConfig, LLMError, annotate
from train.tead.stats import format_stats, load_stats, save_heatmap


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m train.tead", description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)

    build = commands.add_parser("build", help="build a TEAD directory")
    build.add_argument("--annotator", choices=("offline", "llm"), required=True)
    build.add_argument("--out", type=Path, required=True, help="output directory")
    build.add_argument("--seed", type=int, default=None, help="seed for sampling and the train/test split")
    build.add_argument("--quiet", action="store_true", help="no progress bar")
    offline = build.add_argument_group("offline annotator")
    offline.add_argument("--size", type=int, default=None, help="number of samples (default from the config)")
    offline.add_argument("--config", type=Path, default=CONFIG_DIR / "tead_offline.yaml")
    offline.add_argument("--overwrite", action="store_true", help="replace an existing build in --out")
    llm = build.add_argument_group("LLM annotator (any OpenAI-compatible chat-completions endpoint)")
    llm.add_argument("--corpus", type=Path, help="UTF-8 text file, one transcript per line")
    llm.add_argument("--column", type=int, default=None, help="take this tab-separated field (WASSA-2017: 1)")
    llm.add_argument("--base-url", default=os.environ.get("OPENAI_BASE_URL"),
                     help="endpoint up to /chat/completions, e.g. http://localhost:8000/v1 (env OPENAI_BASE_URL)")
    llm.add_argument("--model", default=os.environ.get("EXPCLIP_LLM_MODEL"), help="model name (env EXPCLIP_LLM_MODEL)")
    llm.add_argument("--api-key", default=os.environ.get("OPENAI_API_KEY"), help="key (env OPENAI_API_KEY)")
    llm.add_argument("--concurrency", type=int, default=4, help="requests in flight")
    llm.add_argument("--timeout", type=float, default=60.0, help="seconds per request")
    llm.add_argument("--max-retries", type=int, default=5, help="retries on 429, 5xx and timeouts")
    llm.add_argument("--backoff", type=float, default=1.0, help="seconds before the first retry, doubled each time")
    llm.add_argument("--examples", type=int, default=3, help="in-context examples, 0 to 3")
    llm.add_argument("--json-mode", action="store_true", help="send response_format json_object")

    stats = commands.add_parser("stats", help="tag counts, AU frequencies and mean blendshapes per emotion")
    stats.add_argument("path", type=Path, help="TEAD directory or .jsonl/.csv file")
    stats.add_argument("--png", type=Path, default=None, help="heat map path (default: PATH/stats.png)")
    stats.add_argument("--top", type=int, default=25, help="how many tags to list")
    return parser


def _build_offline(args: argparse.Namespace) -> None:
    config = load_config(OfflineConfig, args.config)
    overrides = {k: v for k, v in (("size", args.size), ("seed", args.seed)) if v is not None}
    config = dataclasses.replace(config, **overrides)
    meta = build_offline(config, args.out, overwrite=args.overwrite, progress=not args.quiet)
    print(f"Wrote {meta['counts']['train']} train and {meta['counts']['test']} test samples to {args.out}")


def _build_llm(args: argparse.Namespace) -> None:
    missing = [flag for flag, value in (("--corpus", args.corpus), ("--base-url", args.base_url),
                                        ("--model", args.model)) if not value]
    if missing:
        raise LLMError(f"The LLM annotator needs {', '.join(missing)} (or OPENAI_BASE_URL / EXPCLIP_LLM_MODEL).")
    config = LLMConfig(base_url=args.base_url, model=args.model, api_key=args.api_key, concurrency=args.concurrency,
                       timeout=args.timeout, max_retries=args.max_retries, backoff=args.backoff,
                       examples=args.examples, json_mode=args.json_mode, seed=args.seed or 0)
    try:
        summary = annotate(args.corpus, args.out, config, column=args.column, progress=not args.quiet)
    except KeyboardInterrupt:
        print(f"\nInterrupted; every answer so far is in {args.out / 'annotations.jsonl'}. "
              "Run the same command again to resume.", file=sys.stderr)
        raise SystemExit(130) from None
    skipped = ", ".join(f"{k} {v}" for k, v in sorted(summary.skipped.items())) or "none"
    print(f"Annotated {summary.annotated} new lines ({summary.already_done} were already done) of "
          f"{summary.corpus_lines}; skipped: {skipped}; unknown AU ids dropped: {summary.unknown_aus}; "
          f"retries: {summary.retries}; tokens: {summary.prompt_tokens} prompt + {summary.completion_tokens} completion.")
    print(f"TEAD written to {args.out} (train.jsonl, test.jsonl, meta.json); skipped lines are in "
          f"{args.out / 'skipped.jsonl'}.")


def _stats(args: argparse.Namespace) -> None:
    stats = load_stats(args.path)
    print(format_stats(stats, top=args.top))
    png = args.png or ((args.path if args.path.is_dir() else args.path.parent) / "stats.png")
    print(f"Heat map: {save_heatmap(stats, png)}")


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        if args.command == "stats":
            _stats(args)
        elif args.annotator == "offline":
            _build_offline(args)
        else:
            _build_llm(args)
    except (ConfigError, FACSError, TeadFormatError, LLMError, FileExistsError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
