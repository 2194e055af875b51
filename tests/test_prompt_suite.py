"""The prompt suite: its file reads, conditions mean what they say, and `train.expclip eval --prompts` runs."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from head.arkit import INDEX
from train.expclip.prompt_suite import Condition, SuiteError, read_suite

REPO = Path(__file__).resolve().parents[1]
SUITE = REPO / "train" / "prompts" / "face-suite.jsonl"
FRESH = REPO / "train" / "prompts" / "face-fresh.jsonl"  # written after the suite, to check it carries over


def test_the_suite_covers_every_kind_with_150_prompts_or_more() -> None:
    suite = read_suite(SUITE)
    kinds = {p.kind for p in suite}
    assert len(suite) >= 150 and len({p.prompt for p in suite}) == len(suite)
    assert {"emotion", "action", "gaze", "one-sided", "strength", "au", "sentence", "no-face"} <= kinds
    fresh = read_suite(FRESH)
    assert {p.kind for p in fresh} == kinds and not {p.prompt.lower() for p in fresh} & {p.prompt.lower() for p in suite}


def test_conditions_read_names_sides_abs_and_max() -> None:
    w = np.zeros(52, np.float32)
    w[INDEX["mouthSmileLeft"]], w[INDEX["mouthSmileRight"]], w[INDEX["jawLeft"]] = 0.8, 0.2, 0.4
    assert Condition.parse("mouthSmile >= 0.5").holds(w) and not Condition.parse("mouthSmile >= 0.51").holds(w)
    assert Condition.parse("mouthSmileLeft - mouthSmileRight >= 0.6").holds(w)
    assert Condition.parse("abs(mouthSmileRight - mouthSmileLeft) + jawLeft >= 1.0").holds(w)
    assert Condition.parse("max <= 0.8").holds(w) and not Condition.parse("max <= 0.79").holds(w)


@pytest.mark.parametrize("text", ["mouthSmile > 0.5", "smiley >= 0.2", "mouthSmile jawOpen >= 0.1", ">= 0.3"])
def test_a_condition_that_cannot_be_read_is_named(text: str) -> None:
    with pytest.raises(SuiteError, match="condition"):
        Condition.parse(text)


def test_eval_prompts_reports_the_checkpoint_beside_the_zero_shot_baseline(tmp_path: Path) -> None:
    lines = SUITE.read_text().splitlines()
    small = tmp_path / "suite.jsonl"
    small.write_text("\n".join(lines[:6]) + "\n")
    result = subprocess.run([sys.executable, "-m", "train.expclip", "eval", "--checkpoint",
                             str(REPO / "checkpoints" / "expclip-small"), "--prompts", str(small)],
                            cwd=REPO, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    report = json.loads(result.stdout)["suite"]
    assert report["prompts"] == 6 and 0 <= report["expclip"]["pass_rate"] <= 1
    assert set(report["zero_shot_label"]["by_kind"]) == {"emotion"}
    assert "6-prompt suite" in result.stderr.strip().splitlines()[-1]
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"prompt": "joy", "kind": "emotion", "expect": ["smiles a lot"]}\n')
    refused = subprocess.run([sys.executable, "-m", "train.expclip", "eval", "--checkpoint",
                              str(REPO / "checkpoints" / "expclip-small"), "--prompts", str(bad)],
                             cwd=REPO, capture_output=True, text=True, timeout=300)
    assert refused.returncode != 0 and "bad.jsonl:1" in refused.stderr.strip().splitlines()[-1]
