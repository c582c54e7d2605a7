"""The texts edited in the admin console, written back into the flow and phrase files (`ementor flows export`).

Why in place: the files are the repository's source of truth, written and reviewed by people, with comments
that name the pages each fact was checked on. An export changes exactly the edited texts and nothing else:
each text's scalar is found through PyYAML's node tree (its start and end in the file) and only those
characters are replaced, so comments, order, flow mappings and line breaks elsewhere stay byte for byte.
The new scalar keeps its quoting where it can (single quotes stay single, a text with double quotes gets
single quotes as flows/README.md asks, a line break or a control character needs double quotes). Before a
file is written, the whole folder is tried in a copy: every file must load, pass the checker, and give back
exactly the edited texts; otherwise nothing is written.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from yaml.nodes import MappingNode, Node, ScalarNode

from bot.core.text import LANGUAGES
from bot.flows.check import text_problems
from bot.flows.content import PHRASE_FILES, Content, Override, load_files, problems
from bot.flows.loader import FlowError
from bot.yaml_nodes import compose

NodePath = tuple[str, ...]


@dataclass
class Exported:
    """What an export did: the files it changed, the edits now in them, and edits it could not place (their
    step or phrase is gone from the files)."""

    files: list[Path] = field(default_factory=list)
    written: list[Override] = field(default_factory=list)
    unplaced: list[Override] = field(default_factory=list)


def locate(base: Content, folder: Path, edit: Override) -> tuple[Path, NodePath] | None:
    """The file and the keys leading to an edit's {da, en} mapping, or None when it has no place."""
    if base.text_of(edit.kind, edit.key) is None:
        return None
    if edit.kind == "step":
        intent, _, step_id = edit.key.partition(".")
        source = base.flows[intent].steps[step_id].source
        return Path(source.rsplit(":", 1)[0]), ("flows", intent, "steps", step_id, "text")
    file, _, rest = edit.key.partition(".")
    if file == "texts":
        section, _, name = rest.partition(".")
        return folder / "ui" / "texts.yml", (section, name)
    if file in PHRASE_FILES:
        return folder / "ui" / f"{file}.yml", ("phrases", rest)
    return None


def _find(root: Node, path: NodePath, source: str) -> Node:
    node = root
    for name in path:
        if not isinstance(node, MappingNode):
            raise FlowError(f"{source}:{node.start_mark.line + 1}: expected a mapping at `{name}`")
        found = [value for key, value in node.value if isinstance(key, ScalarNode) and key.value == name]
        if not found:
            raise FlowError(f"{source}:{node.start_mark.line + 1}: no `{name}` here")
        node = found[0]
    return node


def replace_scalars(text: str, source: str, changes: Mapping[NodePath, str]) -> str:
    """`text` (a YAML file) with the scalar at each path holding its new value; every other character kept."""
    root = compose(text, source, FlowError)
    if root is None:
        raise FlowError(f"{source}:1: empty file")
    spans: list[tuple[int, int, str]] = []
    for path, value in changes.items():
        node = _find(root, path, source)
        if not isinstance(node, ScalarNode):
            raise FlowError(f"{source}:{node.start_mark.line + 1}: `{'.'.join(path)}` is not a text")
        start, end = node.start_mark.index, node.end_mark.index
        written = scalar(value, node.style)
        if text[start:end].endswith("\n") and not written.endswith("\n"):  # a block scalar takes its line end
            written += "\n"
        spans.append((start, end, written))
    for start, end, written in sorted(spans, reverse=True):
        text = text[:start] + written + text[end:]
    check = compose(text, source, FlowError)
    assert check is not None
    for path, value in changes.items():
        node = _find(check, path, source)
        if not isinstance(node, ScalarNode) or node.value != value:
            raise FlowError(f"{source}: `{'.'.join(path)}` would not read back as written")
    return text


def _needs_double(value: str) -> bool:
    return any(ch in "\n\r\t\\" or _control(ch) for ch in value) or value != value.strip()


def _control(ch: str) -> bool:
    return unicodedata.category(ch) in ("Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp")


def scalar(value: str, style: str | None) -> str:
    """`value` as a YAML scalar: single quotes where the original had them or the text holds double quotes;
    double quotes otherwise, and whenever a line break or a control character must be escaped."""
    if not _needs_double(value) and (style == "'" or '"' in value):
        return "'" + value.replace("'", "''") + "'"
    out: list[str] = []
    for ch in value:
        if ch == "\\":
            out.append("\\\\")
        elif ch == '"':
            out.append('\\"')
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\t":
            out.append("\\t")
        elif _control(ch):
            out.append(f"\\u{ord(ch):04x}" if ord(ch) <= 0xFFFF else f"\\U{ord(ch):08x}")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def export(folder: str | Path, edits: Iterable[Override]) -> Exported:
    """Write `edits` into the files of `folder`; tried in a copy of the folder first (see the module)."""
    root = Path(folder)
    base = load_files(root)
    done = Exported()
    changes: dict[Path, dict[NodePath, str]] = {}
    for edit in edits:
        place = locate(base, root, edit)
        if place is None:
            done.unplaced.append(edit)
            continue
        path, keys = place
        refused = problems(base, edit.kind, edit.key, edit.text)
        if refused:  # the file changed since the edit was saved (a placeholder renamed, a link moved)
            raise FlowError("; ".join(refused))
        if base.text_of(edit.kind, edit.key) == edit.text:
            done.written.append(edit)  # the file says it already
            continue
        for language in LANGUAGES:
            changes.setdefault(path, {})[(*keys, language)] = getattr(edit.text, language)
        done.written.append(edit)
    new_texts = {
        path: replace_scalars(path.read_text(encoding="utf-8"), str(path), table) for path, table in changes.items()
    }
    _try_in_a_copy(root, new_texts, done.written)
    for path, text in new_texts.items():
        temporary = path.with_name(f".{path.name}.export")
        temporary.write_text(text, encoding="utf-8")
        os.replace(temporary, path)
        done.files.append(path)
    return done


def _try_in_a_copy(root: Path, new_texts: Mapping[Path, str], edits: list[Override]) -> None:
    with tempfile.TemporaryDirectory() as scratch:
        copy = Path(scratch) / "flows"
        shutil.copytree(root, copy)
        for path, text in new_texts.items():
            (copy / path.resolve().relative_to(root.resolve())).write_text(text, encoding="utf-8")
        tried = load_files(copy)
        problems = text_problems(tried.flows.values())
        if problems:
            raise FlowError("; ".join(p.replace(str(copy), str(root)) for p in problems))
        for edit in edits:
            if tried.text_of(edit.kind, edit.key) != edit.text:
                raise FlowError(f"{edit.key}: the file would not say the edited text")
