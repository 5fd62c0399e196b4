"""The text both halves of the engine compare: Slack markup out, accents and case folded.

"Écran" and "ecran", "L’export" and "l'export", "VAT" and "vat" must meet; so must a text
typed in a form and the same text pasted from Slack with its markup (`<@U123>`, links,
`&amp;`). Pure functions, no heavy import: they run before the model is loaded.
"""

from __future__ import annotations

import html
import re
import unicodedata

# <@U123> and <!here>: people and broadcasts say nothing about the problem.
_MENTION = re.compile(r"<[@!][^>]*>")
# <#C123|general>, <https://x|label>: the label is what people read; a bare <https://x>
# keeps its address.
_LABELLED = re.compile(r"<[^>|]*\|([^>]*)>")
_BARE_LINK = re.compile(r"<([^>]*)>")
# Ligatures NFKD leaves whole in French words (cœur, ex æquo).
_LIGATURES = str.maketrans({"œ": "oe", "Œ": "oe", "æ": "ae", "Æ": "ae"})
_NOT_WORD = re.compile(r"[^0-9a-z]+")


def fold(text: str) -> str:
    """Lower case ASCII words separated by single spaces: markup, accents, ligatures,
    apostrophes and punctuation gone (`"L’écran <@U1> plante !"` → `"l ecran plante"`)."""
    text = _MENTION.sub(" ", text)
    text = _LABELLED.sub(r" \1 ", text)
    text = _BARE_LINK.sub(r" \1 ", text)
    text = html.unescape(text).translate(_LIGATURES)
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    ascii_only = "".join(char for char in decomposed if not unicodedata.combining(char))
    return _NOT_WORD.sub(" ", ascii_only).strip()
