"""Reads flow YAML (`flows/*.yml`, format in flows/README.md) into `Flow`s, refusing mistakes with file and line.

Checked here, at start-up: the schema, both languages present, every target a step of the same flow or
an ending, no step that nothing leads to, no intent with two flows. Readability and length are checked by
`bot.flows.check` and the tests, so an editor's long sentence never stops a running service.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from yaml.nodes import Node

from bot.core.text import LANGUAGES, Text
from bot.flows.model import ENDS, Choice, Flow, Link, Step, Synonyms
from bot.yaml_nodes import NodeReader, YamlError, compose

FORMAT_VERSION = "1"
MAX_BUTTON_CHARS = 30
_STEP_KINDS = ("choices", "check", "next", "end")


class FlowError(YamlError):
    """A flow file is malformed; the message starts with ``file:line:``."""


def flow_files(paths: Iterable[str | Path]) -> list[Path]:
    out: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            out += sorted(p for p in path.glob("*.yml") if p.is_file())
        elif path.is_file():
            out.append(path)
        else:
            raise FlowError(f"{path}: no such file or folder")
    return out


def load_flows(paths: Iterable[str | Path]) -> dict[str, Flow]:
    flows: dict[str, Flow] = {}
    for path in flow_files(paths):
        for flow in read_flow_file(path.read_text(encoding="utf-8"), str(path)):
            if flow.intent in flows:
                raise FlowError(f"{flow.source}: flow `{flow.intent}` is also in {flows[flow.intent].source}")
            flows[flow.intent] = flow
    return flows


def read_flow_file(text: str, source: str) -> list[Flow]:
    root = compose(text, source, FlowError)
    reader = NodeReader(source, FlowError)
    if root is None:
        raise FlowError(f"{source}:1: empty file")
    top = reader.mapping(root, "the file")
    reader.only_keys(top, {"version", "flows"}, "the file")
    if "version" not in top or reader.scalar(top["version"][1], "version") != FORMAT_VERSION:
        raise FlowError(f"{source}:1: `version: {FORMAT_VERSION}` is required")
    if "flows" not in top:
        raise FlowError(f"{source}:1: missing `flows`")
    return [
        _flow(reader.scalar(key, "a flow name"), value, reader)
        for key, value in reader.mapping(top["flows"][1], "`flows`").values()
    ]


def read_mapping_file(path: str | Path, keys: set[str]) -> tuple[NodeReader, dict[str, tuple[Node, Node]]]:
    """A YAML file whose top level is a mapping with only `keys`: the reader (for file:line errors) and it."""
    source = str(path)
    root = compose(Path(path).read_text(encoding="utf-8"), source, FlowError)
    reader = NodeReader(source, FlowError)
    if root is None:
        raise FlowError(f"{source}:1: empty file")
    top = reader.mapping(root, "the file")
    reader.only_keys(top, keys, "the file")
    return reader, top


def read_text(node: Node, reader: NodeReader, what: str, limit: int | None = None) -> Text:
    fields = reader.mapping(node, what)
    reader.only_keys(fields, set(LANGUAGES), what)
    values: dict[str, str] = {}
    for language in LANGUAGES:
        if language not in fields:
            raise reader.fail(node, f"{what} has no `{language}` translation")
        values[language] = reader.scalar(fields[language][1], f"{what} ({language})")
        if limit is not None and len(values[language]) > limit:
            raise reader.fail(fields[language][1], f"{what} ({language}) is longer than {limit} characters")
    return Text(**values)


def _flow(intent: str, node: Node, reader: NodeReader) -> Flow:
    fields = reader.mapping(node, f"flow `{intent}`")
    reader.only_keys(fields, {"title", "intro", "start", "steps"}, f"flow `{intent}`")
    for key in ("title", "start", "steps"):
        if key not in fields:
            raise reader.fail(node, f"flow `{intent}` has no `{key}`")
    title = read_text(fields["title"][1], reader, "title", MAX_BUTTON_CHARS)
    intro = read_text(fields["intro"][1], reader, "intro") if "intro" in fields else None
    start_node = fields["start"][1]
    start = reader.scalar(start_node, "start")
    steps = {
        name: _step(name, key, value, reader)
        for name, (key, value) in reader.mapping(fields["steps"][1], "`steps`").items()
    }
    if start not in steps:
        raise reader.fail(start_node, f"flow `{intent}` starts at unknown step `{start}`")
    for step in steps.values():
        for target in step.targets():
            if target not in steps and target not in ENDS:
                raise FlowError(f"{step.source}: step `{step.id}` leads to unknown step `{target}`")
    reachable = _reachable(start, steps)
    for step in steps.values():
        if step.id not in reachable:
            raise FlowError(f"{step.source}: step `{step.id}` of flow `{intent}` is never reached")
    return Flow(intent, title, start, steps, reader.at(node), intro)


def _step(step_id: str, key: Node, node: Node, reader: NodeReader) -> Step:
    fields = reader.mapping(node, f"step `{step_id}`")
    reader.only_keys(fields, {"text", "links", *_STEP_KINDS}, f"step `{step_id}`")
    if "text" not in fields:
        raise reader.fail(key, f"step `{step_id}` has no `text`")
    kinds = [k for k in _STEP_KINDS if k in fields]
    if len(kinds) != 1:
        raise reader.fail(key, f"step `{step_id}` needs exactly one of {', '.join(_STEP_KINDS)}")
    kind = kinds[0]
    value = fields[kind][1]
    links = (
        tuple(_link(item, reader) for item in reader.sequence(fields["links"][1], "links")) if "links" in fields else ()
    )
    common = {
        "id": step_id,
        "text": read_text(fields["text"][1], reader, "text"),
        "links": links,
        "source": reader.at(key),
    }
    if kind == "choices":
        items = reader.sequence(value, "choices")
        if not items:
            raise reader.fail(value, f"step `{step_id}` has an empty list of choices")
        return Step(kind="choices", choices=tuple(_choice(item, reader) for item in items), **common)  # type: ignore[arg-type]
    if kind == "check":
        check = reader.mapping(value, "check")
        reader.only_keys(check, {"ok", "fail"}, "check")
        if set(check) != {"ok", "fail"}:
            raise reader.fail(value, "check needs both `ok` and `fail`")
        ok, fail = (reader.scalar(check[k][1], k) for k in ("ok", "fail"))
        return Step(kind="check", ok=ok, fail=fail, **common)  # type: ignore[arg-type]
    target = reader.scalar(value, kind)
    if kind == "end":
        if target not in ENDS:
            raise reader.fail(value, f"`end` must be one of {', '.join(ENDS)}")
        return Step(kind="end", end=target, **common)  # type: ignore[arg-type]
    return Step(kind="next", next=target, **common)  # type: ignore[arg-type]


def _choice(node: Node, reader: NodeReader) -> Choice:
    fields = reader.mapping(node, "a choice")
    reader.only_keys(fields, {"title", "next", "words"}, "a choice")
    if not {"title", "next"} <= set(fields):
        raise reader.fail(node, "a choice needs `title` and `next`")
    return Choice(
        read_text(fields["title"][1], reader, "choice title", MAX_BUTTON_CHARS),
        reader.scalar(fields["next"][1], "next"),
        _words(fields["words"][1], reader) if "words" in fields else Synonyms(),
    )


def _words(node: Node, reader: NodeReader) -> Synonyms:
    """`words: {da: [android, mobil], en: [android, phone]}`: what a citizen may type for the choice."""
    fields = reader.mapping(node, "words")
    reader.only_keys(fields, set(LANGUAGES), "words")
    found: dict[str, tuple[str, ...]] = {}
    for language, (_, value) in fields.items():
        items = reader.sequence(value, f"words ({language})")
        found[language] = tuple(reader.scalar(item, f"a word ({language})") for item in items)
    return Synonyms(**found)


def _link(node: Node, reader: NodeReader) -> Link:
    fields = reader.mapping(node, "a link")
    reader.only_keys(fields, {"title", "url"}, "a link")
    if set(fields) != {"title", "url"}:
        raise reader.fail(node, "a link needs `title` and `url`")
    url = reader.scalar(fields["url"][1], "url")
    if not url.startswith("https://"):
        raise reader.fail(fields["url"][1], "links must be https:// addresses")
    return Link(read_text(fields["title"][1], reader, "link title"), url)


def _reachable(start: str, steps: dict[str, Step]) -> set[str]:
    seen: set[str] = set()
    todo = [start]
    while todo:
        current = todo.pop()
        if current in seen or current not in steps:
            continue
        seen.add(current)
        todo += steps[current].targets()
    return seen
