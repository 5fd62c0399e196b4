"""Themes: an area's items of a period grouped by what they are about, with the similarity
engine's encodings (bot/similar/engine.py), and labelled by their most characteristic words.

How (pure functions, numpy and scipy imported on first use):

1. **Neighbours.** Each item's CANDIDATES nearest items by the engine's semantic vectors
   (WordLlama, cosine), then each candidate pair scored as the engine scores a match:
   BLEND_LEXICAL · lexical cosine (character n-grams, TF-IDF weighted over the area's items)
   + the rest · semantic cosine. Pairs at THRESHOLD or more are neighbours (both ways). Only
   candidate pairs are scored, so 10 000 items cost 300 000 pairs, not 50 million.
2. **Themes** (community detection, as sentence-transformers does it): the item with the
   most neighbours not yet in a theme starts one with those neighbours; then the next; a
   group smaller than MIN_SIZE (MIN_SIZE_SMALL for an area of under SMALL_AREA items) is no
   theme: its items stay unthemed rather than make noise. A theme never chains through
   loosely related items (single linkage would: A~B~C~D with A and D unrelated).
3. **Labels**: the words most characteristic of the theme against its area (share of the
   theme's items using the word × log inverse document frequency over the area), stop words
   of English and French left out, each shown as the items mostly write it; three at most,
   so a label reads in the items' own language.
4. **Trend**: each item of the previous period joins the theme whose centroid it is closest
   to, when at least PREVIOUS_THRESHOLD (semantic cosine): how many it had then.
5. **Edits** (`apply_edits`): a lead's rename, merge or "move out", each anchored on the
   items the theme held when they made it: the recomputed theme holding most of them takes
   it, so edits survive recomputation and new items.

THRESHOLD and the sizes were chosen on the labelled set (bench/similar_set.yml: its groups
are themes, its unrelated texts must stay apart) and the tests' texts; see BENCHMARKS.md.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from bot.folding import fold

if TYPE_CHECKING:
    import numpy as np

CANDIDATES = 30
THRESHOLD = 0.40
PREVIOUS_THRESHOLD = 0.55
MIN_SIZE = 3
MIN_SIZE_SMALL = 2
SMALL_AREA = 30
LABEL_WORDS = 3
EXAMPLES = 3
_WORD = re.compile(r"[^\W\d_]{3,}", re.UNICODE)
FRENCH_STOP_WORDS = frozenset(
    """
    les des une dans pour pas par sur avec est sont ont aux ses mes tes nos vos leur leurs
    qui que quoi dont mais donc car cette ces cet celle celui ceux elle elles ils nous vous
    tout tous toute toutes plus moins tres trop peu bien mal aussi alors encore deja jamais
    toujours quand comme comment pourquoi avant apres depuis pendant sans sous entre chez
    vers etre avoir fait faire peut peuvent doit doivent faut etait ete sera seront avait
    quelque quelques chaque autre autres meme memes lui moi toi son sur notre votre cela
    ceci ici voila oui non ete est-ce puis lorsque parce afin ainsi selon
    """.split()  # noqa: SIM905 (a word list reads better as words)
)


def stop_words() -> frozenset[str]:
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

    return frozenset(ENGLISH_STOP_WORDS) | FRENCH_STOP_WORDS


@dataclass(frozen=True)
class ThemeInput:
    """One item as the clustering reads it (its encoding from the similarity index)."""

    item_id: int
    text: str  # as stored (Slack-formatted)
    vector: Any  # np.ndarray, float, SEARCH_DIM
    terms: Any  # np.ndarray of uint32 n-gram buckets
    counts: Any  # np.ndarray of their counts


@dataclass
class Cluster:
    members: list[int]  # item ids, the most central first
    label: str
    examples: list[tuple[int, str]]
    centroid: Any = None  # np.ndarray
    custom_label: str | None = None
    previous: int = 0


@dataclass(frozen=True)
class Edit:
    kind: str  # rename | merge | move_out
    members: tuple[int, ...]
    other: tuple[int, ...] = ()
    item_id: int | None = None
    label: str | None = None


@dataclass
class _Lexical:
    matrix: Any  # scipy csr (items × n-gram buckets), rows unit length


def _lexical(items: Sequence[ThemeInput]) -> _Lexical:
    import numpy as np
    from scipy import sparse

    from bot.similar.engine import HASH_BITS

    rows, cols, data = [], [], []
    for row, item in enumerate(items):
        rows.append(np.full(len(item.terms), row, dtype=np.int64))
        cols.append(np.asarray(item.terms, dtype=np.int64))
        data.append(1.0 + np.log(np.asarray(item.counts, dtype=np.float32)))
    shape = (len(items), 1 << HASH_BITS)
    if not items:
        return _Lexical(sparse.csr_matrix(shape, dtype=np.float32))
    matrix = sparse.csr_matrix(
        (np.concatenate(data), (np.concatenate(rows), np.concatenate(cols))), shape=shape
    )
    doc_freq = np.bincount(matrix.indices, minlength=shape[1])
    idf = np.log((1.0 + len(items)) / (1.0 + doc_freq)) + 1.0
    matrix = matrix.multiply(idf.astype(np.float32)).tocsr()
    norms = np.sqrt(np.asarray(matrix.multiply(matrix).sum(axis=1)).ravel())
    norms[norms == 0] = 1.0
    return _Lexical(sparse.diags(1.0 / norms).dot(matrix).tocsr())


def _vectors(items: Sequence[ThemeInput]) -> np.ndarray:
    import numpy as np

    from bot.similar.engine import SEARCH_DIM

    if not items:
        return np.zeros((0, SEARCH_DIM), dtype=np.float32)
    vectors = np.stack([np.asarray(i.vector[:SEARCH_DIM], dtype=np.float32) for i in items])
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors / np.where(norms == 0, 1, norms)


def neighbours(items: Sequence[ThemeInput], threshold: float = THRESHOLD) -> list[set[int]]:
    """Each item's neighbours (indexes), scored as the engine scores a match."""
    import numpy as np

    from bot.similar.engine import BLEND_LEXICAL

    n = len(items)
    found: list[set[int]] = [set() for _ in range(n)]
    if n < 2:
        return found
    vectors = _vectors(items)
    lexical = _lexical(items).matrix
    k = min(CANDIDATES, n - 1)
    for start in range(0, n, 1024):
        block = vectors[start : start + 1024] @ vectors.T
        for offset in range(block.shape[0]):
            block[offset, start + offset] = -np.inf
        candidates = np.argpartition(-block, k - 1, axis=1)[:, :k]
        left = np.repeat(np.arange(start, start + block.shape[0]), k)
        right = candidates.ravel()
        semantic = block[np.arange(block.shape[0]).repeat(k), right]
        lex = np.asarray(lexical[left].multiply(lexical[right]).sum(axis=1)).ravel()
        score = BLEND_LEXICAL * lex + (1 - BLEND_LEXICAL) * np.maximum(semantic, 0)
        for a, b, s in zip(left.tolist(), right.tolist(), score.tolist(), strict=True):
            if s >= threshold:
                found[a].add(b)
                found[b].add(a)
    return found


def _label(
    members: list[int],
    items: Sequence[ThemeInput],
    doc_freq: Counter[str],
    surface: dict[str, Counter[str]],
    total: int,
    stops: frozenset[str],
) -> str:
    import math

    in_theme: Counter[str] = Counter()
    for index in members:
        in_theme.update(set(_words(items[index].text, stops)))
    need = 2 if len(members) >= 3 else 1
    scored = sorted(
        (
            (count / len(members)) * math.log((1 + total) / (1 + doc_freq[word])),
            word,
        )
        for word, count in in_theme.items()
        if count >= need
    )
    best: list[str] = []
    for _, word in reversed(scored):
        # "invoice" and "invoices", "commande" and "commandes": one word for the label.
        if any(_stem(word) == _stem(chosen) for chosen in best):
            continue
        best.append(word)
        if len(best) == LABEL_WORDS:
            break
    return " · ".join(surface[word].most_common(1)[0][0] for word in best)


def _stem(word: str) -> str:
    return word[:-1] if len(word) > 4 and word.endswith(("s", "x")) else word


def _words(text: str, stops: frozenset[str]) -> list[str]:
    return [w for w in fold(text).split() if len(w) >= 3 and not w.isdigit() and w not in stops]


def _surfaces(text: str) -> list[tuple[str, str]]:
    """(folded word, as written in lower case) for each word of a text."""
    pairs = []
    for word in _WORD.findall(text.replace("&amp;", "&").replace("&lt;", "<").replace("&gt;", ">")):
        folded = fold(word)
        if folded:
            pairs.append((folded, word.lower()))
    return pairs


def cluster(
    items: Sequence[ThemeInput],
    previous: Sequence[ThemeInput] = (),
    *,
    threshold: float = THRESHOLD,
) -> list[Cluster]:
    """The themes of `items` (largest first), each with its label, examples and how many of
    the `previous` period's items it would have held."""
    import numpy as np

    n = len(items)
    if n == 0:
        return []
    links = neighbours(items, threshold)
    min_size = MIN_SIZE_SMALL if n < SMALL_AREA else MIN_SIZE
    order = sorted(range(n), key=lambda i: (-len(links[i]), items[i].item_id))
    taken: set[int] = set()
    groups: list[list[int]] = []
    for leader in order:
        if leader in taken:
            continue
        group = [leader, *sorted(j for j in links[leader] if j not in taken)]
        if len(group) < min_size:
            continue
        groups.append(group)
        taken.update(group)
    stops = stop_words()
    doc_freq: Counter[str] = Counter()
    surface: dict[str, Counter[str]] = {}
    for item in items:
        doc_freq.update(set(_words(item.text, stops)))
        for folded, written in _surfaces(item.text):
            surface.setdefault(folded, Counter())[written] += 1
    vectors = _vectors(items)
    clusters = []
    for group in groups:
        centroid = vectors[group].mean(axis=0)
        norm = float(np.linalg.norm(centroid))
        centroid = centroid / norm if norm else centroid
        closeness = vectors[group] @ centroid
        ordered = [group[i] for i in np.argsort(-closeness, kind="stable")]
        clusters.append(
            Cluster(
                members=[items[i].item_id for i in ordered],
                label=_label(group, items, doc_freq, surface, n, stops) or _fallback(items, group),
                examples=[(items[i].item_id, items[i].text) for i in ordered[:EXAMPLES]],
                centroid=centroid,
            )
        )
    if previous and clusters:
        earlier = _vectors(previous)
        centroids = np.stack([c.centroid for c in clusters])
        sims = earlier @ centroids.T
        best = sims.argmax(axis=1)
        for row, index in enumerate(best.tolist()):
            if sims[row, index] >= PREVIOUS_THRESHOLD:
                clusters[index].previous += 1
    clusters.sort(key=lambda c: (-len(c.members), c.members[0]))
    return clusters


def _fallback(items: Sequence[ThemeInput], group: list[int]) -> str:
    """No word is shared often enough: the most central item's first words."""
    words = items[group[0]].text.split()
    return " ".join(words[:6])


def _best(clusters: list[Cluster], anchor: Sequence[int]) -> Cluster | None:
    wanted = set(anchor)
    scored = [(len(wanted & set(c.members)), -i, c) for i, c in enumerate(clusters)]
    best = max(scored, default=None, key=lambda s: (s[0], s[1]))
    return best[2] if best is not None and best[0] > 0 else None


def apply_edits(clusters: list[Cluster], edits: Sequence[Edit]) -> list[Cluster]:
    """The leads' edits, oldest first, on freshly computed themes (see the module's doc)."""
    for edit in edits:
        if edit.kind == "move_out" and edit.item_id is not None:
            for found in clusters:
                if edit.item_id in found.members:
                    found.members.remove(edit.item_id)
                    found.examples = [e for e in found.examples if e[0] != edit.item_id]
        elif edit.kind == "rename" and edit.label:
            target = _best(clusters, edit.members)
            if target is not None:
                target.custom_label = edit.label
        elif edit.kind == "merge":
            into, merged = _best(clusters, edit.members), _best(clusters, edit.other)
            if into is not None and merged is not None and into is not merged:
                into.members += [m for m in merged.members if m not in into.members]
                into.previous += merged.previous
                into.examples = (into.examples + merged.examples)[:EXAMPLES]
                clusters.remove(merged)
    kept = [c for c in clusters if c.members]
    kept.sort(key=lambda c: (-len(c.members), c.members[0]))
    return kept


@dataclass
class AreaThemes:
    area_id: int
    clusters: list[Cluster] = field(default_factory=list)
