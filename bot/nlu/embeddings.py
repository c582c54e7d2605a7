"""Static sentence vectors from distilled word-piece vectors (see tools/distill_word_vectors.py).

They add what n-grams cannot know: that "salary" is near "pay" and "car" near "vehicle". A message's
vector is the mean of its word pieces' vectors, found with BERT's own WordPiece rules, so any word,
misspelt or Danish, maps to something. The vectors ship with the package: nothing is downloaded.
"""

from __future__ import annotations

import hashlib
import unicodedata
from functools import cache
from importlib import resources
from typing import Any

import numpy as np
from numpy.typing import NDArray

MAX_PIECES = 64
_MAX_WORD = 40


class WordVectors:
    def __init__(self, vocab: list[str], vectors: NDArray[np.float32]) -> None:
        self.index = {piece: i for i, piece in enumerate(vocab)}
        self.vectors = vectors
        self.dims = vectors.shape[1]
        self.unknown = self.index.get("[UNK]", 0)

    def pieces(self, text: str) -> list[int]:
        ids: list[int] = []
        for word in _basic_tokens(text):
            ids += self._wordpiece(word)
            if len(ids) >= MAX_PIECES:
                return ids[:MAX_PIECES]
        return ids

    def _wordpiece(self, word: str) -> list[int]:
        if len(word) > _MAX_WORD:
            return [self.unknown]
        ids: list[int] = []
        start = 0
        while start < len(word):
            end = len(word)
            while end > start:
                piece = word[start:end] if start == 0 else "##" + word[start:end]
                if piece in self.index:
                    ids.append(self.index[piece])
                    break
                end -= 1
            else:
                return [self.unknown]
            start = end
        return ids

    def embed(self, text: str) -> NDArray[np.float32]:
        ids = self.pieces(text)
        if not ids:
            return np.zeros(self.dims, dtype=np.float32)
        vector: NDArray[np.float32] = self.vectors[ids].mean(axis=0)
        norm = float(np.linalg.norm(vector))
        return vector / np.float32(norm) if norm > 0 else vector


def _basic_tokens(text: str) -> list[str]:
    """BERT's uncased basic tokenizer: lower-case, strip accents, split off punctuation."""
    text = unicodedata.normalize("NFD", text[:2000].casefold())
    out: list[str] = []
    current: list[str] = []
    for ch in text:
        category = unicodedata.category(ch)
        if category == "Mn" or category.startswith("C"):
            continue
        if ch.isspace() or category.startswith(("P", "S")):
            if current:
                out.append("".join(current))
                current = []
            if not ch.isspace():
                out.append(ch)
            continue
        current.append(ch)
    if current:
        out.append("".join(current))
    return out


def _vectors_file() -> Any:
    return resources.files("bot.nlu").joinpath("data/word_vectors.npz")


@cache
def vectors_fingerprint() -> str:
    return hashlib.sha256(_vectors_file().read_bytes()).hexdigest()[:12]


@cache
def builtin_vectors() -> WordVectors:
    with _vectors_file().open("rb") as handle:
        archive = np.load(handle, allow_pickle=False)
        return WordVectors(archive["vocab"].tolist(), archive["vectors"].astype(np.float32))
