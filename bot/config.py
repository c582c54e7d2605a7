"""Settings: `config.yml`, overridden by `EMENTOR_*` environment variables, checked once at start-up.

Every setting has a dotted path (``nlu.fallback.threshold``) and an environment name derived from it
(``EMENTOR_NLU_FALLBACK_THRESHOLD``). A wrong value stops start-up with one line naming the setting,
because an operator reading a stack trace at 7 in the morning is the wrong user experience.
Secrets (tokens, passwords) are never read from `config.yml`: only from the environment.
"""

from __future__ import annotations

import dataclasses
import os
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml

ENV_PREFIX = "EMENTOR_"
CONFIG_VERSION = 1
SECRET_ENV = {
    "telegram_token": "EMENTOR_TELEGRAM_TOKEN",
    "telegram_webhook_secret": "EMENTOR_TELEGRAM_WEBHOOK_SECRET",
}


class ConfigError(Exception):
    """A setting is missing or wrong; the message is one line naming it."""


@dataclass(frozen=True)
class ServerSettings:
    host: str = "127.0.0.1"
    port: int = 8080


@dataclass(frozen=True)
class DatabaseSettings:
    url: str = "sqlite+aiosqlite:///var/ementor.db"


@dataclass(frozen=True)
class FallbackSettings:
    """Like Rasa's FallbackClassifier: below `threshold`, or with the top two closer than
    `ambiguity_threshold`, the intent becomes `nlu_fallback` (the ranking is kept)."""

    threshold: float = 0.8
    ambiguity_threshold: float = 0.0


@dataclass(frozen=True)
class ClassifierSettings:
    word_ngrams: int = 2
    char_ngram_min: int = 2
    char_ngram_max: int = 5
    embedding_weight: float = 1.0
    c: float = 0.5
    temperature: float = 3.0


@dataclass(frozen=True)
class NluSettings:
    backend: Literal["builtin", "rasa"] = "builtin"
    data: str = "nlu_data"
    model: str = "var/models/intent_model.npz"
    rasa_url: str = "http://127.0.0.1:5005"
    rasa_timeout: float = 2.0
    fallback: FallbackSettings = field(default_factory=FallbackSettings)
    classifier: ClassifierSettings = field(default_factory=ClassifierSettings)


@dataclass(frozen=True)
class ConversationSettings:
    flows: str = "flows"
    session_timeout_minutes: int = 30


@dataclass(frozen=True)
class TelegramSettings:
    base_url: str = "https://api.telegram.org/bot"


@dataclass(frozen=True)
class SocketIOSettings:
    """The socket.io channel (rasa-webchat). `cors_allowed_origins`: `*` lets a widget on any web page
    connect; otherwise the origins of the pages that embed it, separated by commas."""

    cors_allowed_origins: str = "*"


@dataclass(frozen=True)
class Settings:
    version: int = CONFIG_VERSION
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    server: ServerSettings = field(default_factory=ServerSettings)
    database: DatabaseSettings = field(default_factory=DatabaseSettings)
    nlu: NluSettings = field(default_factory=NluSettings)
    conversation: ConversationSettings = field(default_factory=ConversationSettings)
    telegram: TelegramSettings = field(default_factory=TelegramSettings)
    socketio: SocketIOSettings = field(default_factory=SocketIOSettings)
    telegram_token: str | None = field(default=None, metadata={"secret": True})
    telegram_webhook_secret: str | None = field(default=None, metadata={"secret": True})


_KIND_NAMES: dict[Any, str] = {int: "a whole number", float: "a number", str: "a text", bool: "true or false"}
_RANGES: dict[str, tuple[float, float]] = {
    "server.port": (1, 65535),
    "conversation.session_timeout_minutes": (1, 7 * 24 * 60),
    "nlu.fallback.threshold": (0.0, 1.0),
    "nlu.fallback.ambiguity_threshold": (0.0, 1.0),
    "nlu.rasa_timeout": (0.05, 60.0),
    "nlu.classifier.word_ngrams": (1, 3),
    "nlu.classifier.char_ngram_min": (1, 6),
    "nlu.classifier.char_ngram_max": (1, 8),
    "nlu.classifier.c": (1e-4, 1e4),
    "nlu.classifier.embedding_weight": (0.0, 10.0),
    "nlu.classifier.temperature": (0.1, 100.0),
}


def load_settings(path: str | Path | None = None, environ: Mapping[str, str] | None = None) -> Settings:
    """Read `path` (default: $EMENTOR_CONFIG or ./config.yml when present) and the environment."""
    env = dict(os.environ if environ is None else environ)
    raw: dict[str, Any] = {}
    chosen = Path(path) if path else Path(env.get("EMENTOR_CONFIG", "config.yml"))
    if chosen.exists():
        try:
            loaded = yaml.safe_load(chosen.read_text(encoding="utf-8"))
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            where = f":{mark.line + 1}" if mark is not None else ""
            raise ConfigError(f"{chosen}{where}: not valid YAML") from None
        if loaded is not None and not isinstance(loaded, dict):
            raise ConfigError(f"{chosen}: must be a mapping of settings")
        raw = loaded or {}
    elif path is not None or "EMENTOR_CONFIG" in env:
        raise ConfigError(f"config file {chosen} not found (EMENTOR_CONFIG)")
    settings = _build(Settings, raw, "", str(chosen))
    settings = _apply_env(settings, env)
    if settings.version != CONFIG_VERSION:
        raise ConfigError(f"version: this bot reads config version {CONFIG_VERSION}, got {settings.version}")
    settings = _resolve_paths(settings, chosen.resolve().parent if chosen.exists() else Path.cwd())
    cls = settings.nlu.classifier
    if cls.char_ngram_min > cls.char_ngram_max:
        raise ConfigError("nlu.classifier.char_ngram_min must not exceed nlu.classifier.char_ngram_max")
    return settings


def _resolve_paths(settings: Settings, base: Path) -> Settings:
    """Relative paths (and a relative SQLite file) are relative to the config file, not to the shell's cwd."""

    def absolute(value: str) -> str:
        return value if Path(value).is_absolute() else str(base / value)

    nlu = dataclasses.replace(settings.nlu, data=absolute(settings.nlu.data), model=absolute(settings.nlu.model))
    conversation = dataclasses.replace(settings.conversation, flows=absolute(settings.conversation.flows))
    url = settings.database.url
    prefix, sep, path = url.partition(":///")
    if sep and prefix.startswith("sqlite") and path and path != ":memory:" and not path.startswith("/"):
        url = f"{prefix}:///{absolute(path)}"
    database = dataclasses.replace(settings.database, url=url)
    return dataclasses.replace(settings, nlu=nlu, conversation=conversation, database=database)


def env_name(dotted: str) -> str:
    return ENV_PREFIX + dotted.upper().replace(".", "_")


def _build(cls: type[Any], raw: Mapping[str, Any], prefix: str, source: str) -> Any:
    if not isinstance(raw, Mapping):
        raise ConfigError(f"{prefix.rstrip('.')}: must be a mapping ({source})")
    known = {f.name: f for f in dataclasses.fields(cls)}
    for key in raw:
        if key not in known:
            raise ConfigError(f"{prefix}{key}: unknown setting ({source})")
        if known[key].metadata.get("secret"):
            raise ConfigError(f"{prefix}{key}: secrets come from the environment only ({SECRET_ENV[key]})")
    values: dict[str, Any] = {}
    hints = typing.get_type_hints(cls)
    for name in known:
        if name not in raw:
            continue
        dotted = prefix + name
        tp = hints[name]
        if dataclasses.is_dataclass(tp):
            values[name] = _build(typing.cast(type[Any], tp), raw[name] or {}, dotted + ".", source)
        else:
            values[name] = _coerce(tp, raw[name], dotted, source)
    return cls(**values)


def _apply_env(settings: Settings, env: Mapping[str, str]) -> Settings:
    paths = dict(_leaf_paths(Settings, ""))
    by_env = {env_name(p): p for p in paths if p not in SECRET_ENV}
    by_env.update({v: k for k, v in SECRET_ENV.items()})
    for name in sorted(env):
        if not name.startswith(ENV_PREFIX) or name == "EMENTOR_CONFIG":
            continue
        if name not in by_env:
            raise ConfigError(f"{name}: unknown setting in the environment")
        dotted = by_env[name]
        value = _coerce(paths[dotted], env[name], dotted, name)
        settings = _replace_path(settings, dotted.split("."), value)
    return settings


def _leaf_paths(cls: type[Any], prefix: str) -> list[tuple[str, Any]]:
    out: list[tuple[str, Any]] = []
    for name, tp in typing.get_type_hints(cls).items():
        if dataclasses.is_dataclass(tp):
            out += _leaf_paths(typing.cast(type[Any], tp), prefix + name + ".")
        else:
            out.append((prefix + name, tp))
    return out


def _replace_path(obj: Any, parts: list[str], value: Any) -> Any:
    if len(parts) == 1:
        return dataclasses.replace(obj, **{parts[0]: value})
    child = _replace_path(getattr(obj, parts[0]), parts[1:], value)
    return dataclasses.replace(obj, **{parts[0]: child})


def _coerce(tp: Any, value: Any, dotted: str, source: str) -> Any:
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin in (typing.Union, types.UnionType) and type(None) in args:
        if value is None or value == "":
            return None
        tp = next(a for a in args if a is not type(None))
        origin, args = typing.get_origin(tp), typing.get_args(tp)
    bad = f"{dotted}: {{}} (got {value!r} from {source})"
    if origin is Literal:
        if value not in args:
            raise ConfigError(bad.format("must be one of " + ", ".join(map(str, args))))
        return value
    try:
        if tp is bool:
            if isinstance(value, bool):
                return value
            if str(value).lower() in ("1", "true", "yes", "on"):
                return True
            if str(value).lower() in ("0", "false", "no", "off"):
                return False
            raise ValueError
        if tp is int:
            if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
                raise ValueError
            number: float = int(value)
        elif tp is float:
            if isinstance(value, bool):
                raise ValueError
            number = float(value)
        elif tp is str:
            if not isinstance(value, str | int | float) or str(value).strip() == "":
                raise ValueError
            return str(value)
        else:  # pragma: no cover - a new field type must be taught here
            raise TypeError(f"unsupported setting type {tp}")
    except (TypeError, ValueError):
        raise ConfigError(bad.format(f"must be {_KIND_NAMES.get(tp, tp)}")) from None
    low, high = _RANGES.get(dotted, (float("-inf"), float("inf")))
    if not low <= number <= high:
        raise ConfigError(bad.format(f"must be between {low:g} and {high:g}"))
    return number
