"""Both catalogs say the same things, with the same placeholders."""

from __future__ import annotations

import string

import pytest

from bot.i18n import CATALOGS, normalize_language, t, tn


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


@pytest.mark.parametrize(
    ("count", "lang", "expected"),
    [
        (1, "en", "1 new item for you"),
        (12, "en", "12 new items for you"),
        (0, "en", "0 new items for you"),
        (1, "fr", "1 nouvel élément pour vous"),
        (12, "fr", "12 nouveaux éléments pour vous"),
        (0, "fr", "0 nouvel élément pour vous"),  # French counts zero as singular
        (2, "de", "2 new items for you"),
    ],
)
def test_tn_picks_the_languages_plural_form(count: int, lang: str, expected: str) -> None:
    assert tn("digest.title", count, lang) == expected


def test_every_plural_key_tn_uses_has_both_forms() -> None:
    for catalog in CATALOGS.values():
        stems = {key.rsplit("_", 1)[0] for key in catalog if key.endswith("_other")}
        assert stems, "tn's strings are gone"
        for stem in stems:
            assert f"{stem}_one" in catalog, stem
