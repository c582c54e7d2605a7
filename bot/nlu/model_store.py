"""Saving and loading trained models: one `.npz` file, arrays plus a JSON metadata record, no pickle.

No pickle means a model file cannot run code when loaded, and the file stays readable across library
versions. The metadata says which data the model was trained on (a hash of the training files and the
settings), when, and how well it did, so `ementor run` can tell a stale model from a current one.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import tempfile
import zipfile
from collections.abc import Iterable
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np

from bot.nlu.classifier import IntentModel
from bot.nlu.features import Block, FeatureSpec, Featurizer
from bot.nlu.training_data import yaml_files

FORMAT = "ementor-intent-model"
FORMAT_VERSION = 1


class ModelError(Exception):
    """The model file is missing, unreadable or of another format."""


def data_fingerprint(paths: Iterable[str | Path], settings: dict[str, Any]) -> str:
    """Hash of the training files' names and bytes plus the training settings."""
    digest = hashlib.sha256()
    for path in yaml_files(paths):
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    digest.update(json.dumps(settings, sort_keys=True).encode())
    return digest.hexdigest()[:16]


def _arrays(model: IntentModel) -> dict[str, Any]:
    metadata = {"format": FORMAT, "format_version": FORMAT_VERSION, **model.metadata}
    metadata["spec"] = asdict(model.featurizer.spec)
    metadata["temperature"] = model.temperature
    arrays: dict[str, Any] = {
        "metadata": np.asarray(json.dumps(metadata, ensure_ascii=False)),
        "labels": np.asarray(model.labels),
        "weights": model.weights,
        "bias": model.bias,
        "oos_bias": np.asarray(model.oos_bias, dtype=np.float32),
    }
    if model.oos_weights is not None:
        arrays["oos_weights"] = model.oos_weights
    for block in model.featurizer.blocks:
        arrays[f"vocab_{block.kind}"] = np.asarray(block.terms, dtype=str)
        arrays[f"idf_{block.kind}"] = block.idf
    return arrays


def save_model(model: IntentModel, path: str | Path) -> Path:
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    # write to a temporary file and rename: a server loading the model never sees half a file
    fd, tmp = tempfile.mkstemp(dir=target.parent, suffix=".npz")
    os.close(fd)
    try:
        np.savez_compressed(tmp, **_arrays(model))
        os.replace(tmp, target)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return target


def model_to_bytes(model: IntentModel) -> bytes:
    """The model file's bytes, for a model kept in the database (bot/nlu/registry.py) rather than on disk."""
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **_arrays(model))
    return buffer.getvalue()


def model_from_bytes(blob: bytes, name: str = "model version") -> IntentModel:
    """A model from the bytes `model_to_bytes` made; ModelError when they are not a model of this format."""
    return load_model(io.BytesIO(blob), name)


def read_metadata(path: str | Path) -> dict[str, Any]:
    try:
        with np.load(path, allow_pickle=False) as archive:
            return _metadata(archive, path)
    except (OSError, ValueError, KeyError) as exc:
        raise ModelError(f"{path}: not a readable model file ({exc})") from None


def load_model(path: str | Path | io.BytesIO, name: str | None = None) -> IntentModel:
    """A model from its file (or the file's bytes, with a `name` for the errors)."""
    label = name or str(path)
    try:
        with np.load(path, allow_pickle=False) as archive:
            metadata = _metadata(archive, label)
            spec = FeatureSpec(**metadata.pop("spec"))
            blocks: list[Block] = []
            offset = 0
            for kind in ("word", "char"):
                terms = archive[f"vocab_{kind}"].tolist()
                blocks.append(Block(kind, terms, archive[f"idf_{kind}"].astype(np.float32), offset))
                offset += len(terms)
            return IntentModel(
                featurizer=Featurizer(spec, blocks),
                labels=archive["labels"].tolist(),
                weights=np.ascontiguousarray(archive["weights"], dtype=np.float32),
                bias=archive["bias"].astype(np.float32),
                oos_weights=archive["oos_weights"].astype(np.float32) if "oos_weights" in archive else None,
                oos_bias=float(archive["oos_bias"]),
                temperature=float(metadata.pop("temperature")),
                metadata=metadata,
            )
    except FileNotFoundError:
        raise ModelError(f"{label}: no model file (train one with `ementor nlu train`)") from None
    except (OSError, ValueError, KeyError, TypeError, EOFError, zipfile.BadZipFile) as exc:
        raise ModelError(f"{label}: not a readable model file ({exc})") from None


def _metadata(archive: Any, path: str | Path) -> dict[str, Any]:
    metadata: dict[str, Any] = json.loads(str(archive["metadata"]))
    if metadata.get("format") != FORMAT or metadata.get("format_version") != FORMAT_VERSION:
        raise ModelError(f"{path}: model format {metadata.get('format_version')} is not {FORMAT_VERSION}")
    return metadata
