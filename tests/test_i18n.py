"""Both catalogs say the same things, with the same placeholders."""

from __future__ import annotations

import string

import pytest

from bot.i18n import CATALOGS, normalize_language, t


def placeholders(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


def test_catalogs_have_the_same_keys() -> None:
    assert set(CATALOGS["en"]) == set(CATALOGS["fr"])


@pytest.mark.parametrize("key", sorted(CATALOGS["en"]))
def test_french_uses_no_placeholder_english_lacks(key: str) -> None:
    assert placeholders(CATALOGS["fr"][key]) <= placeholders(CATALOGS["en"][key])
    assert CATALOGS["fr"][key].strip()


def test_t_formats_and_falls_back() -> None:
    assert t("status.by", "fr", who="X") == "par X"
    assert t("status.by", "de", who="X") == "by X"
    with pytest.raises(KeyError):
        t("no.such.key", "en")


@pytest.mark.parametrize(
    ("locale", "expected"),
    [("fr-FR", "fr"), ("fr_CA", "fr"), ("en-US", "en"), ("de-DE", "en"), (None, "en"), ("", "en")],
)
def test_normalize_language(locale: str | None, expected: str) -> None:
    assert normalize_language(locale) == expected
