"""French text as Jerry's catalog types it, for tests that compare whole French strings."""

from __future__ import annotations

import re

NBSP = "\u00a0"


def spaced(text: str) -> str:
    """`text` with French spacing: a no-break space before : ; ! ? » % and after «
    ("Question 1 : 7" → "Question 1\u00a0: 7")."""
    return re.sub(r" (?=[:;!?»%])", NBSP, text).replace("« ", "«" + NBSP)
