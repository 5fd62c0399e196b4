"""The one translation function every user-facing string goes through.

Catalogs live in `bot/locales/<lang>.py` as flat dicts of key → str.format template.
A missing key in French falls back to English; a key missing everywhere is a bug and
raises, so tests catch it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from bot.locales import en, fr

LANGUAGES = ("en", "fr")
CATALOGS: Mapping[str, Mapping[str, str]] = {"en": en.MESSAGES, "fr": fr.MESSAGES}
DEFAULT_LANGUAGE = "en"
# Which form a count takes (CLDR's cardinal rules, the two forms these languages use): French
# says "0 nouvelle demande" and "1,5 demande", English "0 new items".
SINGULAR: Mapping[str, Callable[[int], bool]] = {
    "en": lambda count: count == 1,
    "fr": lambda count: count in (0, 1),
}


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


def has_plural(key: str) -> bool:
    """Whether `key` is a stem tn() takes: the catalogs have `<key>_one` and `<key>_other`."""
    return f"{key}_other" in CATALOGS[DEFAULT_LANGUAGE]


def tn(key: str, count: int, lang: str | None = DEFAULT_LANGUAGE, /, **params: object) -> str:
    """A string about `count` things, in the language's form for that number: the catalog's
    `<key>_one` or `<key>_other`; `count` is among the template's parameters."""
    singular = SINGULAR.get(lang or DEFAULT_LANGUAGE, SINGULAR[DEFAULT_LANGUAGE])(count)
    return t(f"{key}_{'one' if singular else 'other'}", lang, count=count, **params)
