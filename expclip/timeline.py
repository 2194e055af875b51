"""The one emotion-timeline syntax, shared by the Speech tab and ``python -m expclip animate --timeline``.

A timeline is a list of ``SECONDS:PROMPT`` entries separated by ``;`` or new lines, e.g.
``"0: calm; 4.5: quietly furious"``; an ``s`` after the seconds is allowed (``"4.5s: furious"``). The
CLI's ``--timeline 0:calm "4.5:quietly furious"`` gives its entries as separate arguments, which are
read exactly as if they were joined with ``;``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

_ENTRY = re.compile(r"(\d+(?:\.\d+)?)\s*s?\s*:\s*(.*\S)", re.DOTALL)


def parse_timeline(text: str | Sequence[str]) -> list[tuple[float, str]]:
    """``"0:calm; 4.5 : furious"`` (or ``["0:calm", "4.5:furious"]``) → ``[(0.0, "calm"), (4.5, "furious")]``.

    Raises ``ValueError`` with one sentence naming the first entry that is not ``SECONDS:PROMPT``. The
    animator sorts the entries and refuses an empty timeline.
    """
    joined = text if isinstance(text, str) else ";".join(text)
    entries: list[tuple[float, str]] = []
    for part in (p.strip() for p in re.split(r"[;\n]", joined)):
        if not part:
            continue
        match = _ENTRY.fullmatch(part)
        if not match:
            raise ValueError(f"Timeline entry {part!r} is not SECONDS:PROMPT; write e.g. '0: calm; 4.5: furious' "
                             "(seconds: prompt, entries separated by ';').")
        entries.append((float(match.group(1)), match.group(2).strip()))
    return entries
