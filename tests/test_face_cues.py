"""Prompts that name no face get a near-neutral face and a note; prompts that name one never get the note."""

from __future__ import annotations

import numpy as np
import pytest

from expclip.face_cues import NOTE, names_a_face, no_cue_note, stem


@pytest.mark.parametrize("prompt", ["the quarterly report", "asdf", "qwfp", "the bus timetable",
                                    "I went to the shop", "a spreadsheet of sales figures"])
def test_prompts_without_a_face(prompt: str) -> None:
    assert not names_a_face(prompt)
    assert no_cue_note(prompt, np.full(52, 0.05)) == NOTE
    assert no_cue_note(prompt, np.eye(52)[0] * 0.5) is None  # a visible face: no note, whatever the words


@pytest.mark.parametrize("prompt", ["a proud, beaming smile", "giving a cheeky wink", "AU25 lips part", "12R",
                                    "poker face", "expressionless", "calm", "she rolls her eyes", "tongue out",
                                    "yawning widely", "screaming", "a blank stare"])
def test_prompts_that_name_a_face(prompt: str) -> None:
    assert names_a_face(prompt)
    assert no_cue_note(prompt, np.zeros(52)) is None  # "expressionless" is an answer, not a missing cue


def test_stems() -> None:
    assert [stem(w) for w in ("smiling", "winks", "frowned", "eye", "sadly")] == ["smil", "wink", "frown", "eye", "sad"]


def test_the_cli_says_so(tmp_path) -> None:
    import json
    import subprocess
    import sys

    out = tmp_path / "report.json"
    done = subprocess.run([sys.executable, "-m", "expclip", "text", "the quarterly report", "--json", str(out)],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    result = json.loads(out.read_text())
    assert max(result["blendshapes"].values()) < 0.2  # the released model gives a near-neutral face
    assert result["note"] == NOTE and NOTE in done.stderr
