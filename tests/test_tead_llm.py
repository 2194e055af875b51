"""The LLM annotator end to end against a real chat-completions server on loopback."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from chat_server import ChatServer

from expclip import facs
from expclip.tead import read_meta, read_samples
from train.tead.llm import AnswerError, LLMConfig, LLMError, annotate, parse_answer, read_corpus

REPO = Path(__file__).resolve().parents[1]

GOOD = [
    "so happy my brother finally came home",
    "I am furious that they cancelled my flight again",
    "honestly disgusted by the state of this kitchen",
    "just did the laundry and made tea",
]
TRICKY = [
    "[429] a bit anxious about the exam tomorrow",
    "[500] really proud of my little sister",
    "[fenced] ugh, so sad the café closed",
    "[unknown-au] totally surprised by the party",
    "[malformed] excited for the trip",
    "[only-unknown] bored out of my mind",
    "[always-500] grateful for my friends",
]


def _write_corpus(path: Path) -> Path:
    lines = [line.encode() for line in GOOD + TRICKY]
    lines += [b"", b"\xff\xfe not utf-8 \xc3\x28", GOOD[0].encode()]  # empty, non-UTF-8, repeated
    path.write_bytes(b"\n".join(lines) + b"\n")
    return path


def _config(server: ChatServer, **overrides) -> LLMConfig:
    values = dict(base_url=server.url, model="test-model", api_key="test-key", concurrency=3, timeout=10,
                  max_retries=2, backoff=0.01, seed=1)
    values.update(overrides)
    return LLMConfig(**values)


def test_annotate_end_to_end_with_misbehaving_server(tmp_path: Path) -> None:
    corpus = _write_corpus(tmp_path / "corpus.txt")
    out = tmp_path / "tead-llm"
    with ChatServer() as server:
        summary = annotate(corpus, out, _config(server), progress=False)
        assert server.models == {"test-model"}
        assert all(h.get("Authorization") == "Bearer test-key" for h in server.headers_seen)
        assert server.attempts["[429] a bit anxious about the exam tomorrow"] == 2
        assert server.attempts["[always-500] grateful for my friends"] == 3  # first try + 2 retries

        assert summary.annotated == len(GOOD) + 4
        assert summary.skipped == {"empty_line": 1, "non_utf8_line": 1, "duplicate_line": 1,
                                   "malformed_answer": 1, "no_valid_aus": 1, "gave_up_after_retries": 1}
        assert summary.unknown_aus == 1
        assert summary.retries == 2 + 2  # one for [429], one for [500], two for [always-500]
        assert summary.prompt_tokens == 100 * summary.annotated + 100 * 2  # malformed/only-unknown answers count too
        assert summary.corpus_lines == 14

        samples = read_samples(out, "train") + read_samples(out, "test")
        assert sorted(s.transcript for s in samples) == sorted(GOOD + TRICKY[:4])
        meta = read_meta(out)
        assert meta["annotator"] == "llm" and meta["model"] == "test-model" and "test-key" not in json.dumps(meta)
        assert meta["counts"]["train"] + meta["counts"]["test"] == 8
        furious = next(s for s in samples if "furious" in s.transcript)
        assert furious.aus["4"] > 0.5
        np.testing.assert_allclose(furious.blendshapes, facs.aus_to_blendshapes(furious.aus), atol=1e-4)
        assert furious.au_text == facs.describe(furious.aus)
        unknown = next(s for s in samples if "[unknown-au]" in s.transcript)
        assert "99" not in unknown.aus and unknown.aus
        skipped = [json.loads(line) for line in (out / "skipped.jsonl").read_text().splitlines()]
        assert {s["reason"] for s in skipped} == {"malformed_answer", "no_valid_aus", "gave_up_after_retries"}

        # A rerun asks only for the lines still missing.
        before = sum(server.attempts.values())
        again = annotate(corpus, out, _config(server), progress=False)
        assert again.already_done == 8 and again.annotated == 0
        assert sum(server.attempts.values()) - before == 1 + 1 + 3
        assert len((out / "annotations.jsonl").read_text().splitlines()) == 8


def test_refused_key_stops_the_run_with_a_clear_error(tmp_path: Path) -> None:
    corpus = _write_corpus(tmp_path / "corpus.txt")
    with ChatServer(status=401) as server, pytest.raises(LLMError, match="refused the key"):
        annotate(corpus, tmp_path / "out", _config(server), progress=False)
    with pytest.raises(LLMError, match="http:// or https://"):
        annotate(corpus, tmp_path / "out", LLMConfig(base_url="localhost:1", model="m"), progress=False)


def test_parse_answer_accepts_common_shapes_and_rejects_bad_ones() -> None:
    sample, unknown = parse_answer("t", '```json\n{"tags": "Happy, glad, happy, joy, cheer, bliss, up",'
                                        ' "aus": ["6", "R12D", "AU99"], "situation": "A person smiles."}\n```')
    assert sample.tags == ["happy", "glad", "joy", "cheer", "bliss"]
    assert sample.aus == {"6": 0.6, "R12": 0.8} and unknown == ["AU99"]
    sample, _ = parse_answer("t", '{"tags": ["calm"], "aus": {}, "situation": "Nothing happens."}')
    assert sample.aus == {} and sample.au_text == "relaxed, neutral face"
    for bad, reason in [("no json here", "malformed_answer"), ('{"tags": [], "aus": {}, "situation": "x"}', "malformed_answer"),
                        ('{"tags": ["a"], "aus": {}, "situation": ""}', "malformed_answer"),
                        ('{"tags": ["a"], "aus": {"0": "C"}, "situation": "x"}', "no_valid_aus"),
                        ('["a"]', "malformed_answer")]:
        with pytest.raises(AnswerError) as caught:
            parse_answer("t", bad)
        assert caught.value.reason == reason


def test_read_corpus_takes_a_tsv_column(tmp_path: Path) -> None:
    path = tmp_path / "wassa.txt"
    path.write_text("10001\tSo mad right now #angry\tanger\t0.8\n10002\n10003\tok then\tjoy\t0.2\n")
    lines, problems = read_corpus(path, column=1)
    assert [t for _, t in lines] == ["So mad right now #angry", "ok then"]
    assert problems == {"empty_line": 1}


def _annotation_count(path: Path) -> int:
    return path.read_bytes().count(b"\n") if path.exists() else 0


def test_kill_in_the_middle_loses_nothing_and_rerun_resumes(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus.txt"
    texts = [f"line {i}: so happy about thing number {i}" for i in range(30)]
    corpus.write_text("\n".join(texts) + "\n")
    out = tmp_path / "out"
    annotations = out / "annotations.jsonl"
    with ChatServer(delay=0.1) as server:
        command = [sys.executable, "-m", "train.tead", "build", "--annotator", "llm", "--corpus", str(corpus),
                   "--out", str(out), "--base-url", server.url, "--model", "m", "--concurrency", "2", "--quiet"]
        process = subprocess.Popen(command, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        deadline = time.time() + 60
        while _annotation_count(annotations) < 6 and time.time() < deadline and process.poll() is None:
            time.sleep(0.02)
        process.kill()
        process.wait()
        assert process.returncode == -signal.SIGKILL
        with annotations.open("ab") as handle:  # as if the kill had torn a line in half
            handle.write(b'{"line": 29, "transcript": "line 29: so ha')
        kept = _annotation_count(annotations)
        assert 6 <= kept < 30
        requests_before = sum(server.attempts.values())

        done = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr
        assert "cut off by an interrupted run" in done.stderr
        records = [json.loads(line) for line in annotations.read_text().splitlines()]
        assert sorted(r["transcript"] for r in records) == sorted(texts)
        assert sum(server.attempts.values()) - requests_before == 30 - kept
        assert read_meta(out)["counts"] == {"train": 27, "test": 3}


def test_ctrl_c_keeps_answers_and_says_how_to_resume(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus.txt"
    corpus.write_text("\n".join(f"calm evening number {i}" for i in range(40)) + "\n")
    out = tmp_path / "out"
    with ChatServer(delay=0.1) as server:
        command = [sys.executable, "-m", "train.tead", "build", "--annotator", "llm", "--corpus", str(corpus),
                   "--out", str(out), "--base-url", server.url, "--model", "m", "--concurrency", "2", "--quiet"]
        process = subprocess.Popen(command, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        deadline = time.time() + 60
        while _annotation_count(out / "annotations.jsonl") < 3 and time.time() < deadline:
            time.sleep(0.02)
        process.send_signal(signal.SIGINT)
        _, stderr = process.communicate(timeout=60)
    assert process.returncode == 130
    assert "Run the same command again to resume" in stderr
    lines = (out / "annotations.jsonl").read_text().splitlines()
    assert len(lines) >= 3 and all(json.loads(line)["transcript"] for line in lines)
    assert not (out / "meta.json").exists()


def test_cli_names_missing_llm_flags(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("OPENAI_BASE_URL", "EXPCLIP_LLM_MODEL")}
    result = subprocess.run([sys.executable, "-m", "train.tead", "build", "--annotator", "llm", "--out",
                             str(tmp_path / "o")], cwd=REPO, capture_output=True, text=True, env=env)
    assert result.returncode == 2
    assert "needs --corpus, --base-url, --model" in result.stderr
