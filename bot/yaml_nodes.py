"""Reading YAML through PyYAML's node tree, so every error can name the file and the line.

Content editors write training data and flows by hand; "line 48: unknown key `exampels`" lets them fix a
mistake alone. Both readers (`nlu/training_data.py`, `flows/loader.py`) use this one helper.
"""

from __future__ import annotations

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode


class YamlError(ValueError):
    """A data file is malformed; the message starts with ``file:line:``."""


def compose(text: str, source: str, error: type[YamlError] = YamlError) -> Node | None:
    try:
        return yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else 1
        raise error(f"{source}:{line}: YAML syntax error: {exc.problem}") from None
    except yaml.YAMLError as exc:
        raise error(f"{source}:1: YAML error: {exc}") from None


class NodeReader:
    """Turns nodes into values, or raises `error` with ``file:line``."""

    def __init__(self, source: str, error: type[YamlError] = YamlError) -> None:
        self.source = source
        self.error = error

    def at(self, node: Node) -> str:
        return f"{self.source}:{node.start_mark.line + 1}"

    def fail(self, node: Node, message: str) -> YamlError:
        return self.error(f"{self.at(node)}: {message}")

    def mapping(self, node: Node, what: str) -> dict[str, tuple[Node, Node]]:
        if not isinstance(node, MappingNode):
            raise self.fail(node, f"{what} must be a mapping")
        out: dict[str, tuple[Node, Node]] = {}
        for key_node, value_node in node.value:
            key = self.scalar(key_node, "a key")
            if key in out:
                raise self.fail(key_node, f"duplicate key `{key}`")
            out[key] = (key_node, value_node)
        return out

    def only_keys(self, fields: dict[str, tuple[Node, Node]], allowed: set[str], where: str) -> None:
        for key, (key_node, _) in fields.items():
            if key not in allowed:
                raise self.fail(key_node, f"unknown key `{key}` in {where} (expected {', '.join(sorted(allowed))})")

    def sequence(self, node: Node, what: str) -> list[Node]:
        if not isinstance(node, SequenceNode):
            raise self.fail(node, f"{what} must be a list")
        return list(node.value)

    def scalar(self, node: Node, what: str) -> str:
        if not isinstance(node, ScalarNode) or not str(node.value).strip():
            raise self.fail(node, f"{what} must be a non-empty text")
        return str(node.value).strip()
