"""The one timeline syntax read by the Speech tab and ``python -m expclip animate --timeline``."""

from __future__ import annotations

import pytest

from expclip.timeline import parse_timeline


def test_a_string_and_cli_entries_read_the_same() -> None:
    expected = [(0.0, "calm"), (4.5, "quietly furious")]
    assert parse_timeline("0: calm; 4.5s : quietly furious") == expected
    assert parse_timeline("0:calm\n4.5:quietly furious\n") == expected
    assert parse_timeline(["0:calm", "4.5:quietly furious"]) == expected
    assert parse_timeline(["0:calm; 4.5:quietly furious"]) == expected
    assert parse_timeline("2: a: strange: prompt") == [(2.0, "a: strange: prompt")]  # only the first colon splits


@pytest.mark.parametrize("text", ["calm then furious", "soon:calm", "3:", "-1: calm", ":calm"])
def test_entries_that_are_not_seconds_and_a_prompt_are_named(text: str) -> None:
    with pytest.raises(ValueError, match="is not SECONDS:PROMPT") as caught:
        parse_timeline(text)
    assert repr(text.strip()) in str(caught.value) and "seconds: prompt" in str(caught.value)
