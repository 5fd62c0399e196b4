"""Both catalogs say the same things, with the same placeholders, in real words: real plural
forms, one French term per concept (bot/locales/fr.py's glossary), French typography."""

from __future__ import annotations

import ast
import re
import string
from pathlib import Path

import pytest

from bot.i18n import CATALOGS, normalize_language, t, tn
from bot.locales import fr

ROOT = Path(__file__).resolve().parent.parent
SOURCES = sorted([*(ROOT / "bot").rglob("*.py"), *(ROOT / "handlers").rglob("*.py")])
FRENCH = sorted(CATALOGS["fr"])
ALL_VALUES = sorted((lang, key) for lang, catalog in CATALOGS.items() for key in catalog)


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
        (1, "fr", "1 nouvelle demande pour vous"),
        (12, "fr", "12 nouvelles demandes pour vous"),
        (0, "fr", "0 nouvelle demande pour vous"),  # French counts zero as singular
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


# --- real plural forms (issue 11: "1 question", never "question(s)") ---

# A "{count}" that is not a number of things a noun agrees with.
COUNT_NOT_A_NOUN = {
    "alert.outbox_backlog": "messages owed, said without a noun (“{count} owed”)",
    "alert.outbox_drained": "messages still owed, said without a noun",
    "alert.summary_reply_failed": "reply {part} of {count}: an ordinal",
    "survey_answers.problem.no_question": "“this survey has {count}”: no noun",
    "surveys.round.question": "“2/5”: a position",
}


@pytest.mark.parametrize(("lang", "key"), ALL_VALUES)
def test_no_parenthesised_plural(lang: str, key: str) -> None:
    """ "item(s)", "entry(ies)", "partagé(s)", "nouvelle(s)": never; tn() picks the form."""
    assert not re.search(r"[^\W\d_]\((?:s|es|x|ies|e|es)\)", CATALOGS[lang][key])


@pytest.mark.parametrize(("lang", "key"), ALL_VALUES)
def test_a_counted_string_has_both_plural_forms(lang: str, key: str) -> None:
    """A template with a `{count}` is a `_one`/`_other` pair that tn() chooses from."""
    catalog = CATALOGS[lang]
    if key.endswith(("_one", "_other")):
        stem = key.rsplit("_", 1)[0]
        assert f"{stem}_one" in catalog and f"{stem}_other" in catalog
    elif key not in COUNT_NOT_A_NOUN:
        assert "count" not in placeholders(catalog[key]), "use tn() with _one/_other forms"
    assert not key.endswith(("_many", ".one", ".many")), "plural forms are _one and _other"


def _call_keys(name: str) -> list[tuple[str, int, ast.expr]]:
    """Every `name(key, …)` call in bot/ and handlers/: (file, line, the key's expression)."""
    calls = []
    for path in SOURCES:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id == name
                and node.args
            ):
                calls.append((str(path.relative_to(ROOT)), node.lineno, node.args[0]))
    return calls


def _key_pattern(key: ast.expr) -> str | None:
    """The catalog keys a call's first argument can be, as a regex (None: not knowable)."""
    if isinstance(key, ast.Constant) and isinstance(key.value, str):
        return re.escape(key.value)
    if isinstance(key, ast.JoinedStr):
        return "".join(
            re.escape(part.value) if isinstance(part, ast.Constant) else r"[\w.]+"
            for part in key.values
        )
    return None


TN_CALLS = _call_keys("tn")


def test_the_source_calls_tn() -> None:
    assert len(TN_CALLS) > 30, "the scan below no longer finds tn()'s call sites"


@pytest.mark.parametrize(("where", "line", "key"), TN_CALLS)
def test_every_tn_key_has_both_forms_in_both_catalogs(where: str, line: int, key: ast.expr) -> None:
    pattern = _key_pattern(key)
    if pattern is None:  # a key chosen in code (e.g. `key = "…" if … else "…"`)
        return
    for lang, catalog in CATALOGS.items():
        stems = [k[: -len("_other")] for k in catalog if k.endswith("_other")]
        matching = [stem for stem in stems if re.fullmatch(pattern, stem)]
        assert matching, f"{where}:{line}: no {pattern}_one/_other in {lang}"
        for stem in matching:
            assert f"{stem}_one" in catalog, f"{where}:{line}: {stem}_one missing in {lang}"


@pytest.mark.parametrize(("where", "line", "key"), _call_keys("t"))
def test_t_is_never_given_a_plural_form(where: str, line: int, key: ast.expr) -> None:
    """Choosing `_one` or `_other` in code ("x_one" if n == 1 else …) is tn()'s job."""
    pattern = _key_pattern(key)
    if pattern is not None:
        assert not re.search(r"_(?:one|other|many)$", pattern), f"{where}:{line}: use tn()"


# --- French: "n° 8", one term per concept, typography ---


def _prose(text: str) -> str:
    """The text without its code in backticks (commands and examples keep their own marks)."""
    return re.sub(r"`[^`]*`", "", text)


@pytest.mark.parametrize("key", FRENCH)
def test_french_item_numbers_read_n_degree(key: str) -> None:
    """ "n° 8", never "#8" (a channel, <#C…>, is Slack's own syntax)."""
    assert not re.search(r"(?<!<)#\{", CATALOGS["fr"][key])


@pytest.mark.parametrize("key", FRENCH)
def test_french_prose_uses_the_typographic_apostrophe(key: str) -> None:
    assert "'" not in _prose(CATALOGS["fr"][key])


@pytest.mark.parametrize("key", FRENCH)
def test_french_quotes_and_spaces(key: str) -> None:
    """« » quotes, and a no-break space (U+00A0, the one the catalog uses) before : ; ! ? » %
    and after «; never a plain or a narrow one there."""
    prose = _prose(CATALOGS["fr"][key])
    assert not re.search(r"[“”\"]", prose)
    assert not re.search(r"[ \u202f](?:[;!?»%]|:(?![\w+-]+:))", prose)
    assert not re.search(r"«[ \u202f]", prose)
    assert not re.search(r"\w[;!?»]|\w:\s|«\w", re.sub(r":[\w+-]+:", "", prose))


# A synonym from fr.AVOID that is right in this value: the word names another concept here.
AVOID_ALLOWED = {
    ("survey_answering.closed", "clos"): "a survey round closes; an item is resolved",
    ("survey_results.status.closed", "clos"): "a survey round closes; an item is resolved",
}


@pytest.mark.parametrize("key", FRENCH)
def test_french_uses_the_glossary_term(key: str) -> None:
    value = CATALOGS["fr"][key]
    for concept, synonyms in fr.AVOID.items():
        for word in synonyms:
            found = re.search(rf"(?<!\w){re.escape(word)}(?!\w)", value, re.IGNORECASE)
            if found and (key, word) not in AVOID_ALLOWED:
                term = fr.GLOSSARY[concept]
                pytest.fail(f"{key}: « {word} » for {concept}: the glossary says « {term} »")


def test_the_glossary_covers_what_it_avoids_and_is_used() -> None:
    assert set(fr.AVOID) <= set(fr.GLOSSARY)
    values = " ".join(CATALOGS["fr"].values()).casefold()
    for concept, term in fr.GLOSSARY.items():
        shown = term.replace("{id}", "").replace("l’équipe ", "").casefold().strip()
        stem = shown[:-2] if shown.endswith(("er", "re", "ir")) else shown  # a verb's forms
        assert stem in values, f"{concept}: « {term} » is in no French string"
    for key, word in AVOID_ALLOWED:
        assert re.search(rf"(?<!\w){re.escape(word)}(?!\w)", CATALOGS["fr"][key], re.I), key
