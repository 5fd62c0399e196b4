"""How long the themes of one product area with 10 000 items take (issue 13: "themes for an
area with 10 000 items in ≤ 10 s in the background").

Items: --items texts written from 60 problems (each said in several ways, with customers,
numbers and noise words, in English and French), encoded as the similarity index stores them
(timed apart: that is intake's work, done once per item). Timed, --repeat times, median:

- **themes** (bot/insights/themes.py `cluster`): candidate neighbours, blended scores, the
  themes, their labels and examples, and the previous period's 2 000 items for the trend;
- **the reference**, in the same run: every pair's semantic similarity as one dense matrix
  product (10 000 × 10 000), the floor of any method that compares all pairs.

    .venv/bin/python bench/insights_themes.py [--items 10000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.folding import fold  # noqa: E402
from bot.insights.themes import ThemeInput, cluster  # noqa: E402
from bot.similar.engine import Encoder  # noqa: E402

SUBJECTS = [
    ("the invoice total", "is wrong when a discount applies"),
    ("the VAT rate", "is wrong on German invoices"),
    ("the CSV export", "misses the order dates"),
    ("SSO login with Okta", "fails for new users"),
    ("the iOS app", "crashes when opening a PDF"),
    ("the dashboard", "takes forever to load in the morning"),
    ("password reset emails", "never arrive"),
    ("the Salesforce sync", "duplicates contacts"),
    ("refunds over 500 euros", "are refused on the legacy plan"),
    ("the calendar view", "does not show recurring events"),
    ("l’export CSV", "ne contient pas les dates de commande"),
    ("la facture", "affiche un mauvais taux de TVA"),
    ("l’application Android", "plante au démarrage"),
    ("le tableau de bord", "est très lent le lundi matin"),
    ("la synchronisation Google Agenda", "ne fonctionne plus"),
]
OPENERS = ["", "Customer says ", "Again: ", "Urgent, ", "FYI ", "Client : ", "Since Tuesday "]
CLOSERS = ["", " for Acme", " on the EU cluster", " (ticket 4102)", " since the release", " !!"]


def texts(count: int, rng: random.Random) -> list[str]:
    made = []
    for n in range(count):
        subject, problem = SUBJECTS[n % len(SUBJECTS)]
        variant = n // len(SUBJECTS) % 4
        if variant == 1:
            line = f"{problem.capitalize()}: {subject}"
        elif variant == 2:
            line = f"Why {subject} {problem}?"
        else:
            line = f"{subject.capitalize()} {problem}"
        made.append(rng.choice(OPENERS) + line + rng.choice(CLOSERS) + f" #{n % 97}")
    return made


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    rng = random.Random(13)
    encoder = Encoder()
    now_texts, before_texts = texts(args.items, rng), texts(args.items // 5, rng)
    started = time.perf_counter()
    encoded = encoder.encode([fold(t) for t in now_texts + before_texts])
    encode_s = time.perf_counter() - started
    items = [
        ThemeInput(n, t, e.vector, e.terms, e.counts)
        for n, (t, e) in enumerate(zip(now_texts, encoded, strict=False))
    ]
    previous = [
        ThemeInput(args.items + n, t, e.vector, e.terms, e.counts)
        for n, (t, e) in enumerate(zip(before_texts, encoded[args.items :], strict=True))
    ]
    samples, found = [], []
    for _ in range(args.repeat):
        started = time.perf_counter()
        found = cluster(items, previous)
        samples.append(time.perf_counter() - started)
    themes_s = statistics.median(samples)

    import numpy as np

    vectors = np.stack([np.asarray(i.vector[:128], dtype=np.float32) for i in items])
    reference = []
    for _ in range(args.repeat):
        started = time.perf_counter()
        _ = vectors @ vectors.T
        reference.append(time.perf_counter() - started)
    ref_s = statistics.median(reference)
    themed = sum(len(c.members) for c in found)
    print(
        f"{args.items:,} items of one area (+{len(previous):,} the period before), "
        f"encoded in {encode_s:.1f} s (intake's work)"
    )
    print(
        f"  themes: {themes_s:.2f} s, {len(found)} themes holding {themed:,} items; "
        f"largest: {', '.join(c.label for c in found[:3])}"
    )
    print(f"  reference (all pairs, one dense product): {ref_s:.2f} s")
    print(f"  ratio themes / reference: {themes_s / ref_s:.1f}")


if __name__ == "__main__":
    main()
