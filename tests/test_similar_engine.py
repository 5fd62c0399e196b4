"""The similarity engine without a database: folding, encoding, the blend, the index, and the
settings' thresholds (issue 12, "The engine")."""

from __future__ import annotations

import numpy as np
import pytest

from bot.config import Settings
from bot.folding import fold
from bot.similar import engine
from bot.similar.engine import Encoded, Encoder, Entry, MemoryIndex

ENCODER = Encoder()


def encode(text: str) -> Encoded:
    [one] = ENCODER.encode([fold(text)])
    return one


def entry(item_id: int, text: str, *, kind: str = "painpoint", area: int | None = None) -> Entry:
    return Entry(item_id, kind, area, encode(text))


# --- folding


@pytest.mark.parametrize(
    ("text", "folded"),
    [
        ("L’écran de connexion PLANTE !", "l ecran de connexion plante"),
        (
            "Les relances de paiement partent le dimanche",
            "les relances de paiement partent le dimanche",
        ),
        ("Ça bloque la facturation à Noël", "ca bloque la facturation a noel"),
        ("Le cœur du problème, ex æquo", "le coeur du probleme ex aequo"),
        ("Straße naïve CAFÉ", "strasse naive cafe"),
        (
            "The export button is greyed out for admins!!",
            "the export button is greyed out for admins",
        ),
        ("Dupont &amp; Fils &lt;3", "dupont fils 3"),
    ],
)
def test_fold_drops_accents_case_ligatures_and_punctuation(text: str, folded: str) -> None:
    assert fold(text) == folded


def test_fold_keeps_link_labels_and_drops_mentions() -> None:
    text = "<@U0ALICE> says <https://example.com/p|the pricing page> is down, <!here> <#C1|sales>"
    assert fold(text) == "says the pricing page is down sales"
    assert fold("see <https://status.example.com>") == "see https status example com"


def test_french_and_english_spellings_fold_together() -> None:
    assert fold("Où trouver la feuille de route ?") == fold("ou trouver la FEUILLE de route")
    assert fold("E-mails to CUSTOMERS") == fold("e mails to customers")


# --- encoding


def test_an_encoding_survives_its_bytes() -> None:
    one = encode("Invoices show the wrong VAT rate")
    again = Encoded.from_bytes(one.lexical_bytes(), one.vector_bytes())
    assert np.array_equal(again.terms, one.terms)
    assert np.array_equal(again.counts, one.counts)
    assert np.array_equal(again.vector, one.vector)
    assert len(one.vector_bytes()) == engine.MODEL_DIM * 2  # float16
    assert (np.diff(one.terms.astype(np.int64)) > 0).all()  # ascending, each n-gram once


def test_accents_and_case_make_no_difference_to_the_encoding() -> None:
    a, b = encode("Le bouton d’export est grisé"), encode("LE BOUTON D'EXPORT EST GRISE")
    assert np.array_equal(a.terms, b.terms) and np.array_equal(a.vector, b.vector)


def test_a_text_with_no_word_encodes_to_nothing() -> None:
    empty = encode("!!! ???")
    assert len(empty.terms) == 0 and not empty.vector.any()


# --- the blend and the index


def test_the_score_blends_lexical_and_semantic_cosines_with_the_measured_weight() -> None:
    index = MemoryIndex()
    index.replace_all([entry(1, "Invoices show the wrong VAT rate for German customers")])
    [hit] = index.search(encode("The VAT percentage on German invoices is incorrect"), limit=3)
    blend = engine.BLEND_LEXICAL
    assert hit.score == pytest.approx(blend * hit.lexical + (1 - blend) * hit.semantic, abs=1e-5)
    assert 0 < hit.lexical < 1 and 0 < hit.semantic < 1
    lexical_only = MemoryIndex(blend_lexical=1.0)
    lexical_only.replace_all([entry(1, "Invoices show the wrong VAT rate for German customers")])
    [lexical_hit] = lexical_only.search(encode("The VAT percentage on German invoices"), limit=1)
    assert lexical_hit.score == pytest.approx(lexical_hit.lexical, abs=1e-6)


def test_the_same_text_scores_one() -> None:
    index = MemoryIndex()
    index.replace_all([entry(7, "Dark mode for the dashboard"), entry(8, "Export to Excel")])
    [best, _other] = index.search(encode("dark MODE for the dashboard!"), limit=2)
    assert best.item_id == 7 and best.score == pytest.approx(1.0, abs=1e-3)


TEXTS = {
    1: "Invoices show the wrong VAT rate for German customers",
    2: "The dashboard takes forever to load in the morning",
    3: "Customers cannot reset their password, the email never arrives",
    4: "Le taux de TVA est faux sur les factures",
    5: "L’application mobile plante à l’ouverture sur iPhone",
    6: "Can we export the report to Excel?",
}


def test_a_paraphrase_finds_its_item_first_in_english_and_in_french() -> None:
    index = MemoryIndex()
    index.replace_all(entry(item_id, text) for item_id, text in TEXTS.items())
    assert index.search(encode("Password reset emails are not delivered"), limit=1)[0].item_id == 3
    assert (
        index.search(encode("Sur iPhone l’appli crashe dès qu’on l’ouvre"), limit=1)[0].item_id == 5
    )
    assert index.search(encode("Is there an Excel export of the report?"), limit=1)[0].item_id == 6


def test_filters_kind_area_and_exclusions() -> None:
    index = MemoryIndex()
    index.replace_all(
        [
            entry(1, "Invoices show the wrong VAT rate", kind="painpoint", area=10),
            entry(2, "Invoices show the wrong VAT rate?", kind="question", area=10),
            entry(3, "Invoices show a wrong VAT rate", kind="painpoint", area=20),
        ]
    )
    query = encode("Invoices show the wrong VAT rate")
    assert [hit.item_id for hit in index.search(query, limit=5, kind="question")] == [2]
    assert [hit.item_id for hit in index.search(query, limit=5, area_id=20)] == [3]
    assert {hit.item_id for hit in index.search(query, limit=5, exclude=[1])} == {2, 3}
    assert index.search(query, limit=5, kind="unknown") == []


def test_new_entries_score_the_same_before_and_after_they_are_folded_in() -> None:
    folded, pending = MemoryIndex(), MemoryIndex()
    entries = [entry(item_id, text) for item_id, text in TEXTS.items()]
    folded.replace_all(entries)
    pending.replace_all([])
    pending.upsert(entries)  # fewer than FOLD_AT_LEAST: scored one by one
    assert pending._pending and not folded._pending
    query = encode("wrong tax rate on the invoices")
    assert [(h.item_id, round(h.score, 4)) for h in folded.search(query, limit=4)] == [
        (h.item_id, round(h.score, 4)) for h in pending.search(query, limit=4)
    ]


def test_reindexing_an_item_replaces_it_and_removing_forgets_it() -> None:
    index = MemoryIndex()
    index.replace_all([entry(1, "Dark mode please"), entry(2, "Excel export of the report")])
    index.upsert([entry(1, "Invoices show the wrong VAT rate")])
    assert len(index) == 2
    [best] = index.search(encode("wrong VAT rate on invoices"), limit=1)
    assert best.item_id == 1 and best.score > 0.6
    assert all(h.item_id != 1 for h in index.search(encode("dark mode"), limit=2) if h.score > 0.5)
    index.remove([1])
    assert [hit.item_id for hit in index.search(encode("wrong VAT rate"), limit=5)] == [2]


def test_many_upserts_fold_into_the_matrices() -> None:
    index = MemoryIndex()
    index.replace_all([])
    index.upsert(
        entry(n, f"item number {n} about invoices") for n in range(1, engine.FOLD_AT_LEAST + 2)
    )
    assert not index._pending and len(index) == engine.FOLD_AT_LEAST + 1
    [best] = index.search(encode("item number 42 about invoices"), limit=1)
    assert best.item_id == 42


# --- thresholds (measured by bench/similar.py)


def test_threshold_settings_default_to_the_measured_values_and_read_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in (
        "JERRY_SIMILAR",
        "JERRY_SIMILAR_SUGGEST_THRESHOLD",
        "JERRY_SIMILAR_ANSWER_THRESHOLD",
    ):
        monkeypatch.delenv(name, raising=False)
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    assert settings.similar_enabled
    assert settings.jerry_similar_suggest_threshold == 0.48
    assert settings.jerry_similar_answer_threshold == 0.49
    monkeypatch.setenv("JERRY_SIMILAR", "off")
    monkeypatch.setenv("JERRY_SIMILAR_SUGGEST_THRESHOLD", "0.6")
    changed = Settings(_env_file=None)  # type: ignore[call-arg]
    assert not changed.similar_enabled and changed.jerry_similar_suggest_threshold == 0.6
    monkeypatch.setenv("JERRY_SIMILAR_SUGGEST_THRESHOLD", "1.5")
    with pytest.raises(ValueError):
        Settings(_env_file=None)  # type: ignore[call-arg]


def test_the_default_suggestion_threshold_splits_a_repeat_from_a_neighbour() -> None:
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    index = MemoryIndex()
    index.replace_all(entry(item_id, text) for item_id, text in TEXTS.items())
    repeat = index.search(encode("invoices show the wrong VAT rate for german customers!"), limit=1)
    assert repeat[0].item_id == 1
    assert repeat[0].score >= settings.jerry_similar_answer_threshold
    # Same screen, same words, another problem: not "the same problem".
    neighbour = index.search(encode("The invoice numbering restarts every January"), limit=1)
    assert neighbour[0].score < settings.jerry_similar_suggest_threshold
