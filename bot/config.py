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

from bot.core.text import Text

ENV_PREFIX = "EMENTOR_"
CONFIG_VERSION = 1
SECRET_ENV = {
    "telegram_token": "EMENTOR_TELEGRAM_TOKEN",
    "telegram_webhook_secret": "EMENTOR_TELEGRAM_WEBHOOK_SECRET",
    "console_secret": "EMENTOR_CONSOLE_SECRET",
    "sender_secret": "EMENTOR_SENDER_SECRET",
}


# EMENTOR_* names that are not settings: which file to read, and a command's input (`ementor user add`)
NOT_SETTINGS = frozenset({"EMENTOR_CONFIG", "EMENTOR_NEW_PASSWORD"})


class ConfigError(Exception):
    """A setting is missing or wrong; the message is one line naming it."""


@dataclass(frozen=True)
class ServerSettings:
    """`public_url`: the bot's address as citizens reach it (behind a proxy: https://chat.example.dk); files
    the bot makes (calendar entries) are linked from it in channels outside the bot's own page."""

    host: str = "127.0.0.1"
    port: int = field(default=8080, metadata={"range": (1, 65535)})
    public_url: str | None = None

    def base_url(self) -> str:
        return (self.public_url or f"http://{self.host}:{self.port}").rstrip("/")


@dataclass(frozen=True)
class DatabaseSettings:
    """Bounds that keep a database fault (a hung or refused PostgreSQL, a SQLite file locked by another
    process) from hanging a citizen's request: `connect_timeout_seconds` to get a connection,
    `statement_timeout_seconds` for one statement (PostgreSQL's statement_timeout and the driver's own; on
    SQLite how long to wait for another process's write lock), and `turn_deadline_seconds` for a whole
    database call with its retries. Past them the citizen is asked to try again in a moment."""

    url: str = "sqlite+aiosqlite:///var/ementor.db"
    connect_timeout_seconds: float = field(default=5.0, metadata={"range": (0.1, 120.0)})
    statement_timeout_seconds: float = field(default=10.0, metadata={"range": (0.1, 600.0)})
    turn_deadline_seconds: float = field(default=15.0, metadata={"range": (0.2, 600.0)})


@dataclass(frozen=True)
class LoggingSettings:
    """`format`: "text" (one readable line per event) or "json" (one JSON object per line, for a log
    collector), both carrying the request id."""

    format: Literal["text", "json"] = "text"


@dataclass(frozen=True)
class FallbackSettings:
    """Like Rasa's FallbackClassifier: below `threshold`, or with the top two closer than
    `ambiguity_threshold`, the intent becomes `nlu_fallback` (the ranking is kept)."""

    threshold: float = field(default=0.8, metadata={"range": (0.0, 1.0)})
    ambiguity_threshold: float = field(default=0.0, metadata={"range": (0.0, 1.0)})


@dataclass(frozen=True)
class ClassifierSettings:
    word_ngrams: int = field(default=2, metadata={"range": (1, 3)})
    char_ngram_min: int = field(default=2, metadata={"range": (1, 6)})
    char_ngram_max: int = field(default=5, metadata={"range": (1, 8)})
    embedding_weight: float = field(default=1.0, metadata={"range": (0.0, 10.0)})
    c: float = field(default=0.5, metadata={"range": (1e-4, 1e4)})
    temperature: float = field(default=3.0, metadata={"range": (0.1, 100.0)})


@dataclass(frozen=True)
class InboxSettings:
    """The "not understood" inbox (bot/nlu/inbox.py). A typed message the model answered with less than
    `low_confidence` is kept for an admin to teach, as is one it fell back on; messages whose feature vectors
    are at least `group_similarity` alike (cosine) are shown as one group."""

    low_confidence: float = field(default=0.9, metadata={"range": (0.0, 1.0)})
    group_similarity: float = field(default=0.6, metadata={"range": (0.05, 1.0)})


@dataclass(frozen=True)
class GateSettings:
    """The evaluation gate a retrained model passes before it answers citizens (bot/nlu/jobs.py): scored
    on the development set and on the inbox messages an admin labelled, beside the active model, it is not
    activated when its accuracy or its out-of-scope recall on either falls by more than these margins
    (fractions: 0.01 is one percentage point). `folds`: the k of the cross-validation shown beside."""

    max_accuracy_drop: float = field(default=0.01, metadata={"range": (0.0, 1.0)})
    max_oos_recall_drop: float = field(default=0.02, metadata={"range": (0.0, 1.0)})
    folds: int = field(default=5, metadata={"range": (2, 20)})
    dev_set: str = "nlu_eval/dev.yml"  # held-out examples, never trained on


@dataclass(frozen=True)
class NluSettings:
    backend: Literal["builtin", "rasa"] = "builtin"
    data: str = "nlu_data"
    model: str = "var/models/intent_model.npz"
    rasa_url: str = "http://127.0.0.1:5005"
    rasa_timeout: float = field(default=2.0, metadata={"range": (0.05, 60.0)})
    fallback: FallbackSettings = field(default_factory=FallbackSettings)
    classifier: ClassifierSettings = field(default_factory=ClassifierSettings)
    gate: GateSettings = field(default_factory=GateSettings)
    inbox: InboxSettings = field(default_factory=InboxSettings)


@dataclass(frozen=True)
class ConversationSettings:
    flows: str = "flows"
    session_timeout_minutes: int = field(default=30, metadata={"range": (1, 7 * 24 * 60)})
    # mid-flow, a typed message that fits no answer starts another topic only when the model is this sure;
    # below it, the bot stays on the step and helps (offering the other topic as a button)
    switch_threshold: float = field(default=0.95, metadata={"range": (0.0, 1.0)})


@dataclass(frozen=True)
class TelegramSettings:
    base_url: str = "https://api.telegram.org/bot"


@dataclass(frozen=True)
class SocketIOSettings:
    """The socket.io channel (rasa-webchat). `cors_allowed_origins`: `self` (the bot's own site,
    `server.public_url`, always allowed) and the origins of other pages that embed the widget, separated by
    commas; `*` lets a widget on any web page connect."""

    cors_allowed_origins: str = "self"


@dataclass(frozen=True)
class ChannelSettings:
    """The REST and socket.io channels. The server hands out sender ids of its own (random, with an HMAC
    signature: bot/core/senders.py); `require_signed_sender: true` refuses every other sender id, so knowing a
    citizen's id in the database is not enough to read their messages or act for them."""

    require_signed_sender: bool = False


@dataclass(frozen=True)
class LimitSettings:
    """Rate limits and timeouts at the edge (bot/web/guard.py): token buckets refilled at `*_per_minute`
    holding `*_burst`, kept in each bot process — per sender (REST and socket.io messages), per client address
    (every request but static files; a job centre's citizens may share one address, hence the generous
    default; the machine's own address, a local proxy, is not counted unless `console.trust_forwarded_for`
    gives the real one) and per eMentor/admin account on the JSON APIs. Wrong API tokens are counted in the
    database per address, so every process agrees: `token_max_failures` of them pause that address for
    `token_lock_minutes`. A request body not arrived after `body_timeout_seconds`, and a connection idle (or
    with half a request head) for `keepalive_seconds`, are closed."""

    sender_per_minute: int = field(default=60, metadata={"range": (1, 100_000)})
    sender_burst: int = field(default=30, metadata={"range": (1, 10_000)})
    address_per_minute: int = field(default=3000, metadata={"range": (1, 1_000_000)})
    address_burst: int = field(default=600, metadata={"range": (1, 100_000)})
    account_per_minute: int = field(default=600, metadata={"range": (1, 1_000_000)})
    account_burst: int = field(default=120, metadata={"range": (1, 100_000)})
    token_max_failures: int = field(default=10, metadata={"range": (1, 1000)})
    token_lock_minutes: int = field(default=15, metadata={"range": (1, 24 * 60)})
    body_timeout_seconds: float = field(default=20.0, metadata={"range": (0.1, 600.0)})
    keepalive_seconds: float = field(default=75.0, metadata={"range": (0.1, 3600.0)})


@dataclass(frozen=True)
class WeekHours:
    """Opening hours per weekday, e.g. ``"9.00-12.00, 13.00-15.00"``; empty: closed that day."""

    monday: str = ""
    tuesday: str = ""
    wednesday: str = ""
    thursday: str = ""
    friday: str = ""
    saturday: str = ""
    sunday: str = ""


@dataclass(frozen=True)
class LocationSettings:
    """A place where eMentors help (`kind: workshop`), or eMentors calling citizens back (`kind: phone`)."""

    id: str
    name: Text
    kind: Literal["workshop", "phone"] = "workshop"
    address: str = ""
    map_url: str = ""
    bring: Text = field(default_factory=lambda: Text(""))
    hours: WeekHours = field(default_factory=WeekHours)
    slot_minutes: int = field(default=30, metadata={"range": (5, 480)})
    places: int = field(default=1, metadata={"range": (1, 100)})  # eMentors serving in parallel
    closed: tuple[str, ...] = ()  # ISO dates; Danish public holidays are closed anyway


@dataclass(frozen=True)
class WorkshopSettings:
    """A group session: weekly (`weekday` + `starts`) or on the listed `dates`, at a location."""

    id: str
    title: Text
    location: str
    description: Text = field(default_factory=lambda: Text(""))
    language: Literal["da", "en"] = "da"
    places: int = field(default=10, metadata={"range": (1, 1000)})
    weekday: str = ""
    dates: tuple[str, ...] = ()
    starts: str = "13.00"
    minutes: int = field(default=90, metadata={"range": (5, 600)})


@dataclass(frozen=True)
class BookingSettings:
    days_ahead: int = field(default=21, metadata={"range": (1, 366)})
    slots_per_page: int = field(default=4, metadata={"range": (1, 8)})
    # the earliest bookable slot starts at least this far ahead
    min_notice_minutes: int = field(default=30, metadata={"range": (0, 7 * 24 * 60)})
    remind_day_before: bool = True
    remind_hours_before: int = field(default=2, metadata={"range": (0, 48)})  # 0: no second reminder
    locations: tuple[LocationSettings, ...] = ()
    workshops: tuple[WorkshopSettings, ...] = ()


@dataclass(frozen=True)
class HandoverSettings:
    """Live hand-over to an eMentor. `telegram_group_chat_id`: the eMentors' Telegram group (0: none)."""

    # a citizen waiting longer is offered a booking
    wait_limit_minutes: int = field(default=15, metadata={"range": (1, 24 * 60)})
    # a taken conversation where nobody writes this long ends; the bot is back
    idle_end_minutes: int = field(default=30, metadata={"range": (1, 24 * 60)})
    # for the expected wait told to a queued citizen
    minutes_per_citizen: int = field(default=10, metadata={"range": (1, 240)})
    # how long an eMentor counts as online after saying so
    online_hours: int = field(default=4, metadata={"range": (1, 24)})
    telegram_group_chat_id: int = 0


@dataclass(frozen=True)
class DeliverySettings:
    """The outbox worker: reminders, eMentor replies and notices are sent from the database."""

    poll_seconds: float = field(default=1.0, metadata={"range": (0.05, 60.0)})
    max_attempts: int = field(default=5, metadata={"range": (1, 100)})
    # first retry after this long, doubling each time
    retry_seconds: float = field(default=30.0, metadata={"range": (0.01, 3600.0)})


@dataclass(frozen=True)
class ConsoleSettings:
    """The eMentor and admin consoles: how long a login lasts, and how failed logins are throttled.
    `secure_cookies`: "auto" marks the session cookie Secure when the request came over https (directly or
    through a proxy that says so in X-Forwarded-Proto)."""

    session_idle_minutes: int = field(default=30, metadata={"range": (5, 24 * 60)})
    session_max_hours: int = field(default=12, metadata={"range": (1, 7 * 24)})
    login_max_failures: int = field(default=5, metadata={"range": (1, 100)})
    login_lock_minutes: int = field(default=15, metadata={"range": (1, 24 * 60)})
    secure_cookies: Literal["auto", "always", "never"] = "auto"
    # behind a reverse proxy every request comes from the proxy: true reads the citizen's or eMentor's address
    # from the last X-Forwarded-For entry (which the proxy sets), for login throttling. Only behind a proxy!
    trust_forwarded_for: bool = False


@dataclass(frozen=True)
class PrivacySettings:
    """How long personal data is kept (README, "Personal data"): after these days the retention job deletes
    or anonymises it. Turns keep their counts for the statistics (text, reply and sender removed)."""

    turns_days: int = field(default=90, metadata={"range": (1, 3650)})
    handover_messages_days: int = field(default=30, metadata={"range": (1, 3650)})
    inbox_items_days: int = field(default=90, metadata={"range": (1, 3650)})
    outbox_days: int = field(default=14, metadata={"range": (1, 3650)})  # sent, cancelled or failed rows
    notices_days: int = field(default=30, metadata={"range": (1, 3650)})
    booking_personal_days: int = field(default=7, metadata={"range": (0, 3650)})  # name, phone after the time
    retention_every_minutes: int = field(default=60, metadata={"range": (1, 24 * 60)})


@dataclass(frozen=True)
class Settings:
    version: int = CONFIG_VERSION
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    logging: LoggingSettings = field(default_factory=LoggingSettings)
    server: ServerSettings = field(default_factory=ServerSettings)
    database: DatabaseSettings = field(default_factory=DatabaseSettings)
    nlu: NluSettings = field(default_factory=NluSettings)
    conversation: ConversationSettings = field(default_factory=ConversationSettings)
    telegram: TelegramSettings = field(default_factory=TelegramSettings)
    socketio: SocketIOSettings = field(default_factory=SocketIOSettings)
    channels: ChannelSettings = field(default_factory=ChannelSettings)
    limits: LimitSettings = field(default_factory=LimitSettings)
    booking: BookingSettings = field(default_factory=BookingSettings)
    handover: HandoverSettings = field(default_factory=HandoverSettings)
    delivery: DeliverySettings = field(default_factory=DeliverySettings)
    console: ConsoleSettings = field(default_factory=ConsoleSettings)
    privacy: PrivacySettings = field(default_factory=PrivacySettings)
    telegram_token: str | None = field(default=None, metadata={"secret": True})
    telegram_webhook_secret: str | None = field(default=None, metadata={"secret": True})
    # keys the hash of a console login's address (login throttling): the same in every bot process
    console_secret: str | None = field(default=None, metadata={"secret": True})
    # signs the sender ids the server hands out (REST, socket.io); unset: a key kept once in the database
    sender_secret: str | None = field(default=None, metadata={"secret": True})


Bounds = tuple[float, float]  # a number setting's range, kept on its own field: field(metadata={"range": …})
_KIND_NAMES: dict[Any, str] = {int: "a whole number", float: "a number", str: "a text", bool: "true or false"}


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

    gate = dataclasses.replace(settings.nlu.gate, dev_set=absolute(settings.nlu.gate.dev_set))
    nlu = dataclasses.replace(
        settings.nlu, data=absolute(settings.nlu.data), model=absolute(settings.nlu.model), gate=gate
    )
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
        item = _tuple_item(tp)
        if dataclasses.is_dataclass(tp):
            values[name] = _build(typing.cast(type[Any], tp), raw[name] or {}, dotted + ".", source)
        elif item is not None:
            values[name] = _build_list(item, raw[name], dotted, source)
        else:
            values[name] = _coerce(tp, raw[name], dotted, source, known[name].metadata.get("range"))
    missing = [f.name for f in dataclasses.fields(cls) if f.name not in values and _required(f)]
    if missing:
        raise ConfigError(f"{prefix}{missing[0]}: missing ({source})")
    return cls(**values)


def _required(f: dataclasses.Field[Any]) -> bool:
    return f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING


def _tuple_item(tp: Any) -> Any:
    """X for a `tuple[X, ...]` setting (a YAML list), else None."""
    if typing.get_origin(tp) is tuple:
        return typing.get_args(tp)[0]
    return None


def _build_list(item: Any, raw: Any, dotted: str, source: str) -> tuple[Any, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise ConfigError(f"{dotted}: must be a list ({source})")
    if dataclasses.is_dataclass(item):
        built = tuple(_build(typing.cast(type[Any], item), entry, f"{dotted}.", source) for entry in raw)
        ids = [getattr(b, "id", None) for b in built]
        if len(set(ids)) != len(ids):
            raise ConfigError(f"{dotted}: every id must be different ({source})")
        return built
    return tuple(_coerce(item, entry, dotted, source) for entry in raw)


def _apply_env(settings: Settings, env: Mapping[str, str]) -> Settings:
    paths = {path: (tp, bounds) for path, tp, bounds in _leaf_paths(Settings, "")}
    by_env = {env_name(p): p for p in paths if p not in SECRET_ENV}
    by_env.update({v: k for k, v in SECRET_ENV.items()})
    for name in sorted(env):
        if not name.startswith(ENV_PREFIX) or name in NOT_SETTINGS:
            continue
        if name not in by_env:
            raise ConfigError(f"{name}: unknown setting in the environment")
        dotted = by_env[name]
        tp, bounds = paths[dotted]
        value = _coerce(tp, env[name], dotted, name, bounds)
        settings = _replace_path(settings, dotted.split("."), value)
    return settings


def _leaf_paths(cls: type[Any], prefix: str) -> list[tuple[str, Any, Bounds | None]]:
    """Settings the environment can override, with their type and range: scalars, not lists (locations and
    workshops live in the file)."""
    out: list[tuple[str, Any, Bounds | None]] = []
    ranges = {f.name: f.metadata.get("range") for f in dataclasses.fields(cls)}
    for name, tp in typing.get_type_hints(cls).items():
        if _tuple_item(tp) is not None:
            continue
        if dataclasses.is_dataclass(tp):
            out += _leaf_paths(typing.cast(type[Any], tp), prefix + name + ".")
        else:
            out.append((prefix + name, tp, ranges.get(name)))
    return out


def _replace_path(obj: Any, parts: list[str], value: Any) -> Any:
    if len(parts) == 1:
        return dataclasses.replace(obj, **{parts[0]: value})
    child = _replace_path(getattr(obj, parts[0]), parts[1:], value)
    return dataclasses.replace(obj, **{parts[0]: child})


def _coerce(tp: Any, value: Any, dotted: str, source: str, bounds: Bounds | None = None) -> Any:
    """`value` as type `tp`, within `bounds` (a field's `metadata["range"]`), or ConfigError naming it."""
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
    low, high = bounds or (float("-inf"), float("inf"))
    if not low <= number <= high:
        raise ConfigError(bad.format(f"must be between {low:g} and {high:g}"))
    return number
