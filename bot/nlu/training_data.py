"""Reader for Rasa 3.x NLU YAML training data (``version: "3.1"``, ``nlu:`` blocks).

The reader walks PyYAML's node tree rather than the loaded Python objects so that every error names the
file and the line: a content editor must be able to find the mistake without a developer. It accepts
what Rasa accepts for NLU (intents, synonyms, regexes, lookup tables, examples as a ``|`` block or as a
list of ``text:`` items, entity markup) and refuses unknown keys, which Rasa would silently ignore.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from bot.yaml_nodes import NodeReader, YamlError, compose

OUT_OF_SCOPE_LABELS = frozenset({"nlu_fallback", "out_of_scope"})
FALLBACK_INTENT = "nlu_fallback"
LANGUAGE_DIRS = frozenset({"da", "en"})

_TOP_KEYS = frozenset({"version", "nlu"})
_RASA_NON_NLU_KEYS = frozenset({"stories", "rules", "responses"})  # Rasa's own; not ours to read
_BLOCK_KINDS = ("intent", "synonym", "regex", "lookup")
_ENTITY = re.compile(r"\[(?P<text>[^\]]+)\](?:\((?P<name>[^)]+)\)|\{[^}]*\}|\[[^\]]*\])")


class TrainingDataError(YamlError):
    """A training file is malformed; the message starts with ``file:line:``."""


@dataclass(frozen=True)
class Example:
    text: str
    intent: str
    source: str
    line: int
    language: str | None = None

    @property
    def out_of_scope(self) -> bool:
        return self.intent in OUT_OF_SCOPE_LABELS


@dataclass
class TrainingData:
    examples: list[Example] = field(default_factory=list)
    synonyms: dict[str, str] = field(default_factory=dict)  # variant -> canonical value
    regexes: dict[str, list[str]] = field(default_factory=dict)
    lookups: dict[str, list[str]] = field(default_factory=dict)
    files: list[str] = field(default_factory=list)

    def extend(self, other: TrainingData) -> None:
        self.examples += other.examples
        self.synonyms.update(other.synonyms)
        for name, patterns in other.regexes.items():
            self.regexes.setdefault(name, []).extend(patterns)
        for name, values in other.lookups.items():
            self.lookups.setdefault(name, []).extend(values)
        self.files += other.files

    @property
    def intents(self) -> list[str]:
        return sorted({e.intent for e in self.examples})


def strip_entity_markup(text: str) -> str:
    """``[Roskilde](city)`` -> ``Roskilde``; brackets not followed by ``(``, ``{`` or ``[`` stay text."""
    return _ENTITY.sub(lambda m: m.group("text"), text)


def yaml_files(paths: Iterable[str | Path]) -> list[Path]:
    """Expand files and folders (recursively, sorted) into YAML files; a missing path is an error."""
    out: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            out += sorted(p for p in path.rglob("*") if p.suffix in (".yml", ".yaml") and p.is_file())
        elif path.is_file():
            out.append(path)
        else:
            raise TrainingDataError(f"{path}: no such file or folder")
    return out


def load_training_data(paths: Iterable[str | Path]) -> TrainingData:
    data = TrainingData()
    for path in yaml_files(paths):
        data.extend(read_file(path))
    return data


def read_file(path: Path) -> TrainingData:
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise TrainingDataError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    language = next((part for part in reversed(path.parts[:-1]) if part in LANGUAGE_DIRS), None)
    return parse_document(text, str(path), language)


def parse_document(text: str, source: str, language: str | None = None) -> TrainingData:
    root = compose(text, source, TrainingDataError)
    data = TrainingData(files=[source])
    if root is None:
        return data
    where = NodeReader(source, TrainingDataError)
    top = where.mapping(root, "the file")
    if "version" not in top:
        raise TrainingDataError(f'{source}:1: missing `version` (Rasa 3.x NLU files start with version: "3.1")')
    for key, (key_node, _) in top.items():
        if key in _RASA_NON_NLU_KEYS:
            continue
        if key not in _TOP_KEYS:
            raise TrainingDataError(f"{where.at(key_node)}: unknown key `{key}` (expected version, nlu)")
    version = where.scalar(top["version"][1], "version")
    if not re.fullmatch(r"[23]\.\d+", version):
        raise TrainingDataError(f'{where.at(top["version"][1])}: unsupported version {version!r} (use "3.1")')
    if "nlu" in top:
        blocks = top["nlu"][1]
        if not isinstance(blocks, SequenceNode):
            raise TrainingDataError(f"{where.at(blocks)}: `nlu` must be a list of blocks")
        for block in blocks.value:
            _read_block(block, where, data, language)
    return data


def _read_block(block: Node, where: NodeReader, data: TrainingData, language: str | None) -> None:
    fields = where.mapping(block, "an nlu block")
    kinds = [k for k in _BLOCK_KINDS if k in fields]
    if len(kinds) != 1:
        raise TrainingDataError(f"{where.at(block)}: a block needs exactly one of {', '.join(_BLOCK_KINDS)}")
    kind = kinds[0]
    allowed = {kind, "examples", "metadata"} | ({"elements"} if kind == "lookup" else set())
    for key, (key_node, _) in fields.items():
        if key not in allowed:
            raise TrainingDataError(f"{where.at(key_node)}: unknown key `{key}` in a {kind} block")
    name = where.scalar(fields[kind][1], kind)
    body_key = "examples" if "examples" in fields else "elements" if "elements" in fields else None
    if body_key is None:
        raise TrainingDataError(f"{where.at(block)}: {kind} `{name}` has no examples")
    items = list(_examples(fields[body_key][1], where))
    if not items:
        raise TrainingDataError(f"{where.at(fields[body_key][1])}: {kind} `{name}` has no examples")
    block_language = _metadata_language(fields, where) or language
    if kind == "intent":
        for text, line in items:
            clean = strip_entity_markup(text)
            data.examples.append(Example(clean, name, where.source, line, block_language))
    elif kind == "synonym":
        for text, _ in items:
            data.synonyms[text.lower()] = name
    elif kind == "regex":
        for text, line in items:
            try:
                re.compile(text)
            except re.error as exc:
                raise TrainingDataError(f"{where.source}:{line}: bad regex for `{name}`: {exc}") from None
            data.regexes.setdefault(name, []).append(text)
    else:
        data.lookups.setdefault(name, []).extend(text for text, _ in items)


def _metadata_language(fields: dict[str, tuple[Node, Node]], where: NodeReader) -> str | None:
    if "metadata" not in fields or not isinstance(fields["metadata"][1], MappingNode):
        return None
    meta = where.mapping(fields["metadata"][1], "metadata")
    return where.scalar(meta["language"][1], "language") if "language" in meta else None


def _examples(node: Node, where: NodeReader) -> Iterator[tuple[str, int]]:
    """Yield (text, line) from a ``|`` block of ``- text`` lines or a list of texts / ``text:`` items."""
    if isinstance(node, ScalarNode):
        first = node.start_mark.line + (1 if node.style in ("|", ">") else 0)
        for offset, raw in enumerate(str(node.value).splitlines()):
            line = first + offset + 1
            if not raw.strip():
                continue
            if not raw.lstrip().startswith("-"):
                raise TrainingDataError(f"{where.source}:{line}: an example line must start with '- '")
            text = raw.lstrip()[1:].strip()
            if not text:
                raise TrainingDataError(f"{where.source}:{line}: empty example")
            yield text, line
        return
    if not isinstance(node, SequenceNode):
        raise TrainingDataError(f"{where.at(node)}: examples must be a `|` block or a list")
    for item in node.value:
        if isinstance(item, MappingNode):
            item_fields = where.mapping(item, "an example")
            for key, (key_node, _) in item_fields.items():
                if key not in ("text", "metadata"):
                    raise TrainingDataError(f"{where.at(key_node)}: unknown key `{key}` in an example")
            if "text" not in item_fields:
                raise TrainingDataError(f"{where.at(item)}: an example needs `text`")
            yield where.scalar(item_fields["text"][1], "text"), item.start_mark.line + 1
        else:
            yield where.scalar(item, "an example"), item.start_mark.line + 1
