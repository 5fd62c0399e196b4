"""The similarity engine: how a text becomes numbers, and the in-memory index searched with them.

Two views of a folded text (bot/similar/folding.py), blended:

- lexical: character n-grams (3 to 5 letters, inside word boundaries) hashed into 2^20
  buckets by scikit-learn's HashingVectorizer, weighted by sublinear TF-IDF. Hashing needs
  no vocabulary, so an item's n-grams stored once stay valid; the IDF comes from the
  document frequencies of the items indexed, kept up to date as items are added. It finds
  near-verbatim repeats, typos and shared names ("SSO", "Salesforce") in any language.
- semantic: WordLlama's static token embeddings (the 16 MB l2_supercat model inside its
  PyPI wheel, loaded from the package folder: no download, no network), mean-pooled. It
  finds paraphrases that share few letters ("VAT is wrong on invoices" / "invoices show
  the wrong tax rate").

score = BLEND_LEXICAL · lexical cosine + (1 − BLEND_LEXICAL) · semantic cosine, both in
[0, 1] for what matters. BLEND_LEXICAL and the dimensions were measured on the labelled set
by bench/similar.py (BENCHMARKS.md), not guessed.

Numpy, SciPy, scikit-learn and WordLlama are imported when the first text is encoded or the
first index built, never when Jerry starts (tests/test_lazy_imports.py).
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np
    from scipy import sparse

# The format of what is stored per item: an entry of another encoding is re-encoded by
# `jerry items reindex` (and ignored by the index until then).
ENCODING = "char3-5h20+wordllama-l2sc256/v1"
HASH_BITS = 20
NGRAM_RANGE = (3, 5)
# WordLlama's l2_supercat model: 256 dimensions stored per item (float16, 512 bytes); the
# search uses the first SEARCH_DIM (its Matryoshka training makes prefixes embeddings too):
# 128 found as many duplicates as 256 on the labelled set, in half the memory and time.
MODEL_CONFIG = "l2_supercat"
MODEL_DIM = 256
SEARCH_DIM = 128
# The lexical share of the blend: the best same-language top-3 recall on the labelled set,
# then the most duplicates suggested at the threshold (bench/similar.py, BENCHMARKS.md).
BLEND_LEXICAL = 0.55
# New entries are scored one by one until this many (or 2 % of the index) wait; then they
# are folded into the matrices (a copy of the index: rare, so lookups stay quick).
FOLD_AT_LEAST = 64
FOLD_SHARE = 0.02


@dataclass(frozen=True)
class Encoded:
    """One text as the index keeps it: its hashed n-gram counts and its embedding."""

    terms: np.ndarray  # uint32 bucket numbers, ascending
    counts: np.ndarray  # uint16 how often each n-gram occurs
    vector: np.ndarray  # float16, MODEL_DIM, unit length (zeros for a text with no token)

    def lexical_bytes(self) -> bytes:
        return self.terms.astype("<u4").tobytes() + self.counts.astype("<u2").tobytes()

    def vector_bytes(self) -> bytes:
        return self.vector.astype("<f2").tobytes()

    @classmethod
    def from_bytes(cls, lexical: bytes, vector: bytes) -> Encoded:
        import numpy as np

        size = len(lexical) // 6
        terms = np.frombuffer(lexical, dtype="<u4", count=size)
        counts = np.frombuffer(lexical, dtype="<u2", offset=size * 4, count=size)
        return cls(terms, counts, np.frombuffer(vector, dtype="<f2"))


class Encoder:
    """Turns folded texts into `Encoded`; loads the model on first use (about half a second)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._model: Any = None
        self._hasher: Any = None

    def _load(self) -> tuple[Any, Any]:
        with self._lock:
            if self._model is None:
                from sklearn.feature_extraction.text import HashingVectorizer

                self._hasher = HashingVectorizer(
                    analyzer="char_wb",
                    ngram_range=NGRAM_RANGE,
                    n_features=2**HASH_BITS,
                    alternate_sign=False,
                    norm=None,
                    lowercase=False,
                    dtype=_float32(),
                )
                self._model = load_wordllama()
            return self._hasher, self._model

    def encode(self, folded: Sequence[str]) -> list[Encoded]:
        import numpy as np

        if not folded:
            return []
        hasher, model = self._load()
        counts = hasher.transform(folded).tocsr()
        counts.sort_indices()
        pooled = np.asarray(model.embed(list(folded)), dtype=np.float32)
        norms = np.linalg.norm(pooled, axis=1, keepdims=True)
        # A text with no token has no direction: its vector stays zero.
        vectors = (pooled / np.where(norms == 0, 1, norms)).astype(np.float16)
        encoded = []
        for row, vector in enumerate(vectors):
            start, end = counts.indptr[row], counts.indptr[row + 1]
            encoded.append(
                Encoded(
                    counts.indices[start:end].astype(np.uint32),
                    np.minimum(counts.data[start:end], 65535).astype(np.uint16),
                    vector,
                )
            )
        return encoded


def _float32() -> Any:
    import numpy as np

    return np.float32


def load_wordllama() -> Any:
    """WordLlama's model from the files its wheel ships, never from the network.

    `WordLlama.load(disable_download=True)` looks for the tokenizer in a folder the wheel
    does not have (`tokenizer/`, the wheel's is `tokenizers/`), so the two files are opened
    here directly: nothing can fall back to a download.
    """
    from pathlib import Path

    import wordllama
    from safetensors import safe_open
    from tokenizers import Tokenizer
    from wordllama.inference import WordLlamaInference

    package = Path(wordllama.__file__).parent
    tokenizer = Tokenizer.from_file(
        str(package / "tokenizers" / f"{MODEL_CONFIG}_tokenizer_config.json")
    )
    weights = package / "weights" / f"{MODEL_CONFIG}_{MODEL_DIM}.safetensors"
    with safe_open(str(weights), framework="np", device="cpu") as tensors:
        embedding = tensors.get_tensor("embedding.weight")
    return WordLlamaInference(embedding, tokenizer)


@dataclass(frozen=True)
class Entry:
    """An indexed item: what the filters need, and its encoding."""

    item_id: int
    kind: str
    area_id: int | None
    encoded: Encoded


@dataclass(frozen=True)
class Hit:
    item_id: int
    score: float
    lexical: float
    semantic: float


@dataclass
class _Block:
    """Entries in matrix form: lexical rows transposed (n-gram × entry, so a query touches
    only the postings of its own n-grams) and embeddings (entry × SEARCH_DIM)."""

    ids: np.ndarray
    kinds: np.ndarray
    areas: np.ndarray
    alive: np.ndarray
    postings: sparse.csr_matrix
    vectors: np.ndarray


@dataclass
class MemoryIndex:
    """Every indexed item in memory. Thread-safe: lookups run in worker threads."""

    blend_lexical: float = BLEND_LEXICAL
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _main: _Block | None = None
    _pending: dict[int, Entry] = field(default_factory=dict)
    _where: dict[int, int] = field(default_factory=dict)  # item id → column in _main
    _doc_freq: np.ndarray | None = None
    _docs: int = 0
    _kind_codes: dict[str, int] = field(default_factory=dict)

    def __len__(self) -> int:
        with self._lock:
            return len(self._where) + len(self._pending)

    def replace_all(self, entries: Iterable[Entry]) -> None:
        import numpy as np

        with self._lock:
            self._main = None
            self._pending = {}
            self._where = {}
            self._doc_freq = np.zeros(2**HASH_BITS, dtype=np.int32)
            self._docs = 0
            for entry in entries:
                self._add(entry)
            self._fold()

    def upsert(self, entries: Iterable[Entry]) -> None:
        with self._lock:
            for entry in entries:
                self._forget(entry.item_id)
                self._add(entry)
            if len(self._pending) >= max(FOLD_AT_LEAST, FOLD_SHARE * len(self._where)):
                self._fold()

    def remove(self, item_ids: Iterable[int]) -> None:
        with self._lock:
            for item_id in item_ids:
                self._forget(item_id)

    def _doc_freqs(self) -> np.ndarray:
        import numpy as np

        if self._doc_freq is None:
            self._doc_freq = np.zeros(2**HASH_BITS, dtype=np.int32)
        return self._doc_freq

    def _add(self, entry: Entry) -> None:
        self._pending[entry.item_id] = entry
        self._doc_freqs()[entry.encoded.terms] += 1
        self._docs += 1

    def _forget(self, item_id: int) -> None:
        old = self._pending.pop(item_id, None)
        if old is not None:
            self._doc_freqs()[old.encoded.terms] -= 1
            self._docs -= 1
        elif item_id in self._where and self._main is not None:
            # Its n-grams stay counted in the document frequencies until the index is next
            # loaded whole: finding them again would scan every posting, for one statistic.
            self._main.alive[self._where.pop(item_id)] = False

    def _idf(self, terms: np.ndarray) -> np.ndarray:
        import numpy as np

        freqs = self._doc_freqs()[terms]
        return (np.log((1.0 + self._docs) / (1.0 + freqs)) + 1.0).astype(np.float32)

    def _weights(self, encoded: Encoded) -> np.ndarray:
        import numpy as np

        weights = (1.0 + np.log(encoded.counts.astype(np.float32))) * self._idf(encoded.terms)
        norm = float(np.linalg.norm(weights))
        return weights / norm if norm else weights

    def _code(self, kind: str) -> int:
        return self._kind_codes.setdefault(kind, len(self._kind_codes))

    def _fold(self) -> None:
        """Move the pending entries into the matrices, with the IDF as it now stands."""
        import numpy as np
        from scipy import sparse

        entries = list(self._pending.values())
        if not entries and self._main is not None:
            return
        rows, columns, data = [], [], []
        for column, entry in enumerate(entries):
            rows.append(entry.encoded.terms.astype(np.int64))
            columns.append(np.full(len(entry.encoded.terms), column, dtype=np.int64))
            data.append(self._weights(entry.encoded))
        shape = (2**HASH_BITS, len(entries))
        new_postings = sparse.csr_matrix(
            (
                np.concatenate(data) if data else np.zeros(0, np.float32),
                (
                    np.concatenate(rows) if rows else np.zeros(0, np.int64),
                    np.concatenate(columns) if columns else np.zeros(0, np.int64),
                ),
            ),
            shape=shape,
            dtype=np.float32,
        )
        new = _Block(
            ids=np.array([entry.item_id for entry in entries], dtype=np.int64),
            kinds=np.array([self._code(entry.kind) for entry in entries], dtype=np.int16),
            areas=np.array(
                [-1 if entry.area_id is None else entry.area_id for entry in entries],
                dtype=np.int64,
            ),
            alive=np.ones(len(entries), dtype=bool),
            postings=new_postings,
            vectors=_vectors(entries),
        )
        main = self._main
        if main is not None:
            keep = main.alive
            new = _Block(
                ids=np.concatenate([main.ids[keep], new.ids]),
                kinds=np.concatenate([main.kinds[keep], new.kinds]),
                areas=np.concatenate([main.areas[keep], new.areas]),
                alive=np.ones(int(keep.sum()) + len(entries), dtype=bool),
                postings=sparse.hstack(
                    [main.postings[:, np.flatnonzero(keep)], new.postings], format="csr"
                ),
                vectors=np.concatenate([main.vectors[keep], new.vectors]),
            )
        self._main = new
        self._where = {int(item_id): column for column, item_id in enumerate(new.ids)}
        self._pending = {}

    def search(
        self,
        query: Encoded,
        *,
        limit: int,
        kind: str | None = None,
        area_id: int | None = None,
        exclude: Iterable[int] = (),
    ) -> list[Hit]:
        import numpy as np

        with self._lock:
            terms = query.terms.astype(np.int64)
            weights = self._weights(query)
            vector = query.vector[:SEARCH_DIM].astype(np.float32)
            norm = float(np.linalg.norm(vector))
            vector = vector / norm if norm else vector
            excluded = set(exclude)
            hits: list[Hit] = []
            main = self._main
            if main is not None and len(main.ids):
                # Only the postings of the query's own n-grams: the cost follows how common
                # they are, not how many items there are.
                lexical = np.asarray(main.postings[terms].T @ weights).ravel()
                semantic = main.vectors @ vector
                scores = self.blend_lexical * lexical + (1 - self.blend_lexical) * semantic
                # Masks only when something is left out: at 100k items each costs a pass.
                usable = None if main.alive.all() else main.alive.copy()
                if kind is not None:
                    same_kind = main.kinds == self._kind_codes.get(kind, -1)
                    usable = same_kind if usable is None else usable & same_kind
                if area_id is not None:
                    same_area = main.areas == area_id
                    usable = same_area if usable is None else usable & same_area
                if excluded:
                    kept = ~np.isin(main.ids, list(excluded))
                    usable = kept if usable is None else usable & kept
                if usable is not None:
                    scores[~usable] = -np.inf
                best = _top(scores, limit)
                hits.extend(
                    Hit(int(main.ids[i]), float(scores[i]), float(lexical[i]), float(semantic[i]))
                    for i in best
                )
            for entry in self._pending.values():
                if entry.item_id in excluded or (kind is not None and entry.kind != kind):
                    continue
                if area_id is not None and entry.area_id != area_id:
                    continue
                lexical_one = _sparse_dot(
                    terms, weights, entry.encoded.terms, self._weights(entry.encoded)
                )
                candidate = entry.encoded.vector[:SEARCH_DIM].astype(np.float32)
                size = float(np.linalg.norm(candidate))
                semantic_one = float(candidate @ vector / size) if size else 0.0
                score = self.blend_lexical * lexical_one + (1 - self.blend_lexical) * semantic_one
                hits.append(Hit(entry.item_id, score, lexical_one, semantic_one))
        hits.sort(key=lambda hit: (-hit.score, hit.item_id))
        return hits[:limit]


def _vectors(entries: Sequence[Entry]) -> np.ndarray:
    import numpy as np

    if not entries:
        return np.zeros((0, SEARCH_DIM), dtype=np.float32)
    vectors = np.stack([entry.encoded.vector[:SEARCH_DIM] for entry in entries]).astype(np.float32)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors / np.where(norms == 0, 1, norms)


def _top(scores: np.ndarray, limit: int) -> list[int]:
    import numpy as np

    finite = int(np.isfinite(scores).sum())
    count = min(limit, finite)
    if count <= 0:
        return []
    if count < len(scores):
        best = np.argpartition(-scores, count - 1)[:count]
    else:
        best = np.arange(len(scores))
    best = best[np.isfinite(scores[best])]
    return [int(i) for i in best[np.argsort(-scores[best], kind="stable")]]


def _sparse_dot(
    terms_a: np.ndarray, weights_a: np.ndarray, terms_b: np.ndarray, weights_b: np.ndarray
) -> float:
    import numpy as np

    common, in_a, in_b = np.intersect1d(terms_a, terms_b, assume_unique=True, return_indices=True)
    if not len(common):
        return 0.0
    return float(weights_a[in_a] @ weights_b[in_b])
