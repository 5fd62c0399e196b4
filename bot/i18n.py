"""The one translation function every user-facing string goes through.

Catalogs live in `bot/locales/<lang>.py` as flat dicts of key → str.format template.
A missing key in French falls back to English; a key missing everywhere is a bug and
raises, so tests catch it.
"""

from __future__ import annotations

from collections.abc import Mapping

from bot.locales import en, fr

LANGUAGES = ("en", "fr")
CATALOGS: Mapping[str, Mapping[str, str]] = {"en": en.MESSAGES, "fr": fr.MESSAGES}
DEFAULT_LANGUAGE = "en"


def normalize_language(value: str | None, default: str = DEFAULT_LANGUAGE) -> str:
    """Slack locales look like "fr-FR"; anything Jerry does not speak falls back."""
    if value:
        short = value.replace("_", "-").split("-")[0].lower()
        if short in CATALOGS:
            return short
    return default


def t(key: str, lang: str | None = DEFAULT_LANGUAGE, /, **params: object) -> str:
    catalog = CATALOGS.get(lang or DEFAULT_LANGUAGE, CATALOGS[DEFAULT_LANGUAGE])
    template = catalog.get(key)
    if template is None:
        template = CATALOGS[DEFAULT_LANGUAGE][key]
    return template.format(**params) if params else template
