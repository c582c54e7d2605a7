"""TF-IDF features over word n-grams and character n-grams, with one code path for training and predicting.

Word n-grams carry meaning ("aflys min tid"); character n-grams inside word boundaries carry typos,
inflections and compounds ("ansogning", "ansøgningen", "jobansøgning" share "nsog"). Each block is
weighted with sublinear TF × IDF and L2-normalised on its own, as scikit-learn's FeatureUnion of two
TfidfVectorizers would, but the vocabulary lives in plain arrays so a model file needs no pickle.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy.sparse import csr_matrix, hstack

from bot.nlu.embeddings import builtin_vectors
from bot.nlu.lexicon import builtin_lexicon
from bot.nlu.normalize import normalize, tokenize


@dataclass(frozen=True)
class FeatureSpec:
    word_ngrams: int = 2
    char_min: int = 2
    char_max: int = 5
    char_min_df: int = 2
    lexicon: bool = True
    embedding_weight: float = 1.0  # 0 turns the distilled word vectors off


def word_grams(tokens: Sequence[str], n: int) -> list[str]:
    grams = list(tokens)
    for size in range(2, n + 1):
        grams += [" ".join(tokens[i : i + size]) for i in range(len(tokens) - size + 1)]
    return grams


def char_grams(tokens: Sequence[str], low: int, high: int) -> list[str]:
    grams: list[str] = []
    for token in tokens:
        padded = f" {token} "
        for size in range(low, high + 1):
            if size > len(padded):
                break
            grams += [padded[i : i + size] for i in range(len(padded) - size + 1)]
    return grams


class Block:
    """One TF-IDF block: vocabulary, IDF weights and the analyser that produces its terms."""

    def __init__(self, kind: str, vocabulary: list[str], idf: NDArray[np.float32], offset: int) -> None:
        self.kind = kind
        self.terms = vocabulary
        self.index = {term: offset + i for i, term in enumerate(vocabulary)}
        self.idf = idf
        self.offset = offset

    def row(self, terms: list[str]) -> tuple[list[int], list[float]]:
        counts = Counter(t for t in terms if t in self.index)
        if not counts:
            return [], []
        cols = [self.index[t] for t in counts]
        vals = [(1.0 + math.log(c)) * float(self.idf[self.index[t] - self.offset]) for t, c in counts.items()]
        norm = math.sqrt(sum(v * v for v in vals))
        return cols, [v / norm for v in vals]


class Featurizer:
    """Turns texts into sparse TF-IDF rows; `fit` learns the vocabulary from training texts."""

    def __init__(self, spec: FeatureSpec, blocks: list[Block]) -> None:
        self.spec = spec
        self.blocks = blocks

    @property
    def sparse_size(self) -> int:
        return sum(len(b.terms) for b in self.blocks)

    @property
    def dense_size(self) -> int:
        return builtin_vectors().dims if self.spec.embedding_weight > 0 else 0

    @property
    def size(self) -> int:
        return self.sparse_size + self.dense_size

    def dense(self, text: str) -> NDArray[np.float32]:
        """The message's sentence vector, scaled by its weight (empty when turned off)."""
        if self.spec.embedding_weight <= 0:
            return np.zeros(0, dtype=np.float32)
        return builtin_vectors().embed(text) * np.float32(self.spec.embedding_weight)

    def analyze(self, text: str) -> dict[str, list[str]]:
        tokens = tokenize(normalize(text))
        concepts = builtin_lexicon().concepts(tokens) if self.spec.lexicon else []
        return {
            "word": word_grams(tokens, self.spec.word_ngrams) + concepts,
            "char": char_grams(tokens, self.spec.char_min, self.spec.char_max),
        }

    def transform_one(self, text: str) -> tuple[NDArray[np.int32], NDArray[np.float32]]:
        terms = self.analyze(text)
        cols: list[int] = []
        vals: list[float] = []
        for block in self.blocks:
            c, v = block.row(terms[block.kind])
            cols += c
            vals += v
        return np.asarray(cols, dtype=np.int32), np.asarray(vals, dtype=np.float32)

    def transform(self, texts: Sequence[str]) -> csr_matrix:
        """Rows of [sparse TF-IDF | dense sentence vector], for training and batch evaluation."""
        sparse = self._transform_sparse(texts)
        if not self.dense_size:
            return sparse
        dense = np.stack([self.dense(t) for t in texts]) if texts else np.zeros((0, self.dense_size), np.float32)
        return hstack([sparse, csr_matrix(dense)], format="csr")

    def _transform_sparse(self, texts: Sequence[str]) -> csr_matrix:
        indptr = [0]
        cols: list[NDArray[np.int32]] = []
        vals: list[NDArray[np.float32]] = []
        for text in texts:
            c, v = self.transform_one(text)
            cols.append(c)
            vals.append(v)
            indptr.append(indptr[-1] + len(c))
        data = np.concatenate(vals) if vals else np.zeros(0, np.float32)
        indices = np.concatenate(cols) if cols else np.zeros(0, np.int32)
        return csr_matrix((data, indices, np.asarray(indptr)), shape=(len(texts), self.sparse_size))

    @classmethod
    def fit(cls, texts: Sequence[str], spec: FeatureSpec) -> Featurizer:
        probe = cls(spec, [])
        analyzed = [probe.analyze(t) for t in texts]
        blocks: list[Block] = []
        offset = 0
        for kind, min_df in (("word", 1), ("char", spec.char_min_df)):
            df: Counter[str] = Counter()
            for terms in analyzed:
                df.update(set(terms[kind]))
            vocabulary = sorted(t for t, n in df.items() if n >= min_df)
            n_docs = len(texts)
            idf = np.asarray([math.log((1 + n_docs) / (1 + df[t])) + 1.0 for t in vocabulary], dtype=np.float32)
            blocks.append(Block(kind, vocabulary, idf, offset))
            offset += len(vocabulary)
        return cls(spec, blocks)
