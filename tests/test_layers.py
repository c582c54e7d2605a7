"""The house keeps its floors: each room imports only the rooms below it that its docstring names.

Read from the code's own imports (ast), so an import that runs back up or closes a circle fails here, with
the file and line, before anyone has to find it in a picture. Composition (runtime.py, app.py) and the
command line sit on top and may import anything.
"""

from __future__ import annotations

import ast
from pathlib import Path

from tests.conftest import ROOT

# room -> rooms it may import (besides itself)
ALLOWED: dict[str, set[str]] = {
    "core": set(),
    "yaml_nodes": set(),
    "config": {"core"},
    "storage": {"core", "config"},
    "nlu": {"core", "config", "yaml_nodes"},
    "flows": {"core", "yaml_nodes", "nlu"},
    "delivery": {"core", "config"},
    "booking": {"core", "config", "flows", "delivery"},
    "escalation": {"core", "config", "flows", "delivery", "booking"},
    "dialogue": {"core", "flows", "nlu"},
    "channels": {"core", "config", "delivery"},
    "privacy": {"core", "config", "flows", "delivery", "booking", "escalation"},
    "handlers": {"core", "config", "flows", "booking", "escalation", "privacy"},
    "api": {"core", "config", "nlu", "flows", "booking", "escalation", "delivery", "consoles", "privacy"},
    "web": {"core", "config", "booking"},
    "consoles": {"core", "config", "flows", "delivery", "booking", "escalation", "nlu", "privacy"},
}
TOP = {"runtime", "app", "cli", "__main__", "__init__"}


def room_of(module: str) -> str | None:
    """ "bot.booking.places" -> "booking", "handlers.booking" -> "handlers"; None for other packages."""
    parts = module.split(".")
    if parts[0] == "handlers":
        return "handlers"
    if parts[0] != "bot" or len(parts) < 2:
        return None
    return parts[1]


def imports(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text("utf-8"))
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.lineno, node.module))
        elif isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
    return found


def test_every_import_goes_down_to_a_room_that_is_allowed() -> None:
    wrong: list[str] = []
    files = sorted((ROOT / "bot").rglob("*.py")) + sorted((ROOT / "handlers").rglob("*.py"))
    for path in files:
        if "migrations" in path.parts:
            continue
        module = ".".join(path.relative_to(ROOT).with_suffix("").parts)
        room = room_of(module) if not module.startswith("bot.__") else "__init__"
        room = room.removesuffix(".py") if room else room
        if room is None or room in TOP:
            continue
        allowed = ALLOWED[room] | {room}
        for line, target in imports(path):
            target_room = room_of(target)
            if target_room is not None and target_room not in allowed:
                wrong.append(f"{path.relative_to(ROOT)}:{line}: {room} imports {target} ({target_room})")
    assert wrong == []


def test_the_allowed_imports_have_no_circle() -> None:
    """The rules themselves form floors: no room may (through others) import itself."""

    def reaches(start: str, goal: str, seen: frozenset[str] = frozenset()) -> bool:
        return any(nxt == goal or (nxt not in seen and reaches(nxt, goal, seen | {nxt})) for nxt in ALLOWED[start])

    assert [room for room in ALLOWED if reaches(room, room)] == []
