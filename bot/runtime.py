"""The one composition path: settings → store → intent model → flows → dispatcher → delivery worker.

`ementor run` (bot/app.py puts the channels on an aiohttp app around a runtime), `ementor telegram
--polling`, `ementor chat` and every CLI command that needs the database build what they need here, so
there is one way to open and upgrade the store, one clock, and one place that decides which implementation
stands behind each of the core's interfaces.
"""

from __future__ import annotations

import asyncio
import ctypes
import functools
import logging
from collections.abc import Awaitable, Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

from bot.booking import audit
from bot.booking.places import validate as validate_booking
from bot.booking.texts import check as check_booking_phrases
from bot.channels.telegram.sender import TelegramSender
from bot.config import ConfigError, Settings
from bot.consoles import content as content_store
from bot.core import live
from bot.core.clock import Clock, utc_now
from bot.core.ports import Tx
from bot.delivery.jobs import Job
from bot.delivery.outbox import OutboxMailbox
from bot.delivery.sender import Sender
from bot.delivery.worker import DeliveryWorker
from bot.dialogue.dispatcher import Dispatcher
from bot.escalation.desk import Desk
from bot.escalation.handover import check as check_handover_phrases
from bot.escalation.timeouts import escalation_jobs
from bot.flows.content import Content, Shelf, apply, load_files, restock, signature
from bot.flows.content import shelf as shelf_of
from bot.flows.engine import Engine
from bot.nlu import registry
from bot.nlu.backends import NluBackend, make_backend
from bot.nlu.catalogue import catalogue
from bot.nlu.classifier import IntentModel
from bot.nlu.jobs import ModelJobs, working_copy
from bot.nlu.model_store import load_model
from bot.nlu.trainer import ensure_model
from bot.privacy.retention import RetentionJob
from bot.storage.listen import Listener
from bot.storage.migrate import upgrade
from bot.storage.store import Store
from bot.storage.turn_paths import Bounds
from handlers import build as build_handlers

log = logging.getLogger(__name__)
T = TypeVar("T")


def give_back_memory() -> None:
    """Hand memory the allocator holds free back to the system (glibc's malloc_trim; elsewhere nothing).

    A swapped-out model's arrays and vocabulary are freed at once, but glibc keeps freed heap pages for
    reuse; measured without this, resident memory rose 14-23 MB over 20 swaps of a 24,000-term model and
    stayed there. The call takes about half a millisecond and runs on the loader thread, off the turns."""
    trim = _malloc_trim()
    if trim is not None:
        trim(0)


@functools.cache
def _malloc_trim() -> Callable[[int], int] | None:
    try:
        return getattr(ctypes.CDLL(None), "malloc_trim", None)  # the C library the process already runs on
    except OSError:
        return None


def prepare_model(settings: Settings) -> IntentModel:
    """The configured model, trained first when it is missing or its data changed."""
    ensure_model(settings.nlu.model, [settings.nlu.data], settings.nlu.classifier)
    return load_model(settings.nlu.model)


def open_store(settings: Settings) -> Store:
    """The database, migrated to the newest schema first: the one way every command opens it. Call it
    before the event loop runs (Alembic runs one of its own)."""
    upgrade(settings.database.url)
    return Store(settings.database.url, bounds=bounds_of(settings))


def bounds_of(settings: Settings) -> Bounds:
    """config.yml `database:` timeouts, as the store keeps them."""
    db = settings.database
    return Bounds(db.connect_timeout_seconds, db.statement_timeout_seconds, db.turn_deadline_seconds)


def in_transaction(settings: Settings, work: Callable[[Tx], Awaitable[T]]) -> T:
    """`work(tx)` in one transaction on the configured database, for a command run from the shell (with the
    answer texts admins edited, so a citizen told something by a command reads what the bot says now)."""
    store = open_store(settings)

    async def main() -> T:
        try:
            await serve_edits(store, Path(settings.conversation.flows))
            return await store.transaction(work)
        finally:
            await store.close()

    return asyncio.run(main())


def check_content(content: Content, folder: Path) -> Content:
    """Every catalogue intent has a flow, and every phrase file has every key its code speaks: checked at
    start-up and before a reload swaps new texts in (a failed reload keeps the old ones answering)."""
    missing = [intent for intent in catalogue() if intent not in content.flows]
    if missing:
        raise ConfigError(f"conversation.flows: no flow for {', '.join(missing)} in {folder}")
    check_booking_phrases(content.phrases["booking"])
    check_handover_phrases(content.phrases["handover"])
    return content


def build_engine(settings: Settings) -> Engine:
    """Flows and UI texts, checked: every catalogue intent must have a flow; the booking settings and every
    phrase file are checked too, so a mistake stops start-up naming the file and key. The engine serves the
    folder's shelf (bot/flows/content.py), read afresh from the files here; the texts edited in the admin
    console are applied by the content watcher (`content_reloader`) on the worker's first tick."""
    folder = Path(settings.conversation.flows)
    validate_booking(settings.booking)
    shelf = restock(folder)
    check_content(shelf.base, folder)
    return Engine.serving(shelf)


async def serve_edits(store: Store, folder: Path) -> None:
    """The admins' edited texts applied once, for a process without a content watcher (a command, `ementor
    chat`); the files are read only when there are edits."""
    if await store.transaction(content_store.overrides):
        await content_reloader(store, shelf_of(folder))()


def content_reloader(store: Store, shelf: Shelf) -> Callable[[], Awaitable[None]]:
    """The reload for `live.CONTENT`: the edits from the database applied to the files' texts (parsed again,
    in a thread, only when the files changed — after `ementor flows export`), checked, then swapped in with
    one assignment. It runs beside the turns; a turn in progress ends with the texts it started with. One
    reload at a time, each reading the newest edits, so the last one to finish is the newest."""
    lock = asyncio.Lock()

    async def reload() -> None:
        async with lock:
            edits = await store.transaction(content_store.overrides)
            base, files = shelf.base, shelf.files
            now_files = await asyncio.to_thread(signature, shelf.folder)
            if now_files != files:
                base = check_content(await asyncio.to_thread(load_files, shelf.folder), shelf.folder)
            shelf.swap(check_content(apply(base, edits), shelf.folder), base, now_files)

    return reload


@dataclass
class Runtime:
    """Everything a bot process runs on, built once (`build_runtime`) and closed once."""

    settings: Settings
    model: IntentModel
    store: Store
    nlu: NluBackend
    engine: Engine
    dispatcher: Dispatcher
    clock: Clock
    apology: str  # "try again in a moment", both languages: what a channel says when the database is away
    senders: dict[str, Sender] = field(default_factory=dict)
    owns_store: bool = True  # a store handed in (tests, a CLI command) is closed by whoever opened it
    # what to reload when another process announces a change (bot/core/live.py): name -> reload
    on_live: dict[str, Callable[[], Awaitable[None]]] = field(default_factory=dict)
    slow_down: str = ""  # "you are writing very fast", both languages: a citizen over limits.sender_*
    live_seen: dict[str, int] = field(default_factory=dict)
    _reloads: set[asyncio.Task[None]] = field(default_factory=set)
    # the model version answering (bot/nlu/registry.py); None while the model file answers
    model_id: int | None = None
    # what GET /status says about the model: kept current through every swap (one dict, changed in place)
    info: dict[str, Any] = field(default_factory=dict)
    _swap: asyncio.Lock = field(default_factory=asyncio.Lock)
    # models are loaded on one thread of their own: memory freed by a swapped-out model returns to that
    # thread's allocator arena and is handed back to the system there (see `give_back_memory`)
    _loader: ThreadPoolExecutor = field(
        default_factory=lambda: ThreadPoolExecutor(max_workers=1, thread_name_prefix="model-load")
    )

    def __post_init__(self) -> None:
        """Every process serves model versions: a newly activated one is swapped in (`reload_model`, on
        `live.MODEL`), and its worker takes training jobs (`trainer.tick`)."""
        self.on_live.setdefault(live.MODEL, self.reload_model)
        self.info.update(self.model_info())
        # on PostgreSQL a NOTIFY from live.announce wakes this process's worker at once (polling stays)
        self.listener = Listener(self.store.url, live.CHANNEL, lambda: None)
        self.trainer = ModelJobs(
            self.store, self.settings, self.clock, lambda: self.model, working_copy(self.settings), audit.record
        )

    @property
    def mailbox(self) -> OutboxMailbox:
        return OutboxMailbox(self.store, self.clock)

    def desk(self) -> Desk:
        """The eMentors' Telegram group's work (take, reply, end, attendance) over the store."""
        return Desk(self.store, self.settings, self.clock)

    def model_info(self) -> Mapping[str, Any]:
        return {
            "model_file": str(Path(self.settings.nlu.model)),
            "fingerprint": self.model.metadata.get("data_hash"),
            "trained_at": self.model.metadata.get("trained_at"),
            "intents": len(self.model.labels),
            "model_version": self.model_id,
        }

    def worker(self, extra: Mapping[str, Sender] | None = None) -> DeliveryWorker:
        """The delivery worker of this process: it sends through Telegram (with a token) and the channels
        this process serves (`extra`, e.g. socket.io), runs the hand-over timeouts, and watches the live
        versions (a new model, new answer texts) every tick."""
        senders = {**self.senders, **(extra or {})}
        jobs: list[Job] = [
            *escalation_jobs(self.settings),
            RetentionJob(self.settings.privacy),
            self.watch_live,
            self.trainer.tick,
        ]
        worker = DeliveryWorker(self.store, senders, self.settings.delivery, self.clock, jobs)
        self.listener.wake = worker.wake
        return worker

    async def watch_live(self, tx: Tx, now: datetime) -> None:
        """A job: reload what another process announced (and, on the first tick, whatever was announced
        before this process started). The reload runs beside the turns, never in their way: the old model
        or texts answer until the new ones are ready, then one reference changes."""
        await self.listener.ensure()
        for name, version in (await live.versions(tx)).items():
            if self.live_seen.get(name) == version or name not in self.on_live:
                continue
            self.live_seen[name] = version
            task = asyncio.create_task(self._reload(name, version))
            self._reloads.add(task)
            task.add_done_callback(self._reloads.discard)

    async def reload_model(self) -> None:
        """Serve the active model version, if it is not the one answering: its bytes are read and turned
        into a model beside the turns (a thread), then `use_model` swaps it in. One reload at a time, each
        reading the newest active version, so the last to finish is the newest. No version activated yet:
        the model file keeps answering."""
        async with self._swap:
            found = await self.store.transaction(registry.active_blob, read_only=True)
            if found is None or found[0] == self.model_id:
                return
            model_id, blob = found
            loop = asyncio.get_running_loop()
            model = await loop.run_in_executor(self._loader, registry.load_version, blob, model_id)
            del blob, found
            self.use_model(model, model_id)
            del model
            await loop.run_in_executor(self._loader, give_back_memory)

    def use_model(self, model: IntentModel, model_id: int | None) -> None:
        """The swap: every parse from now on uses `model`; a turn under way finishes with the one it had.
        Nothing else keeps the old model (no cache is keyed on a model; the word vectors and the lexicon
        are shared by all models), so it is freed when the last parse using it returns."""
        self.nlu.use(model)
        self.model, self.model_id = model, model_id
        self.info.update(self.model_info())

    async def _reload(self, name: str, version: int) -> None:
        try:
            await self.on_live[name]()
            log.info("reloaded %s (version %d)", name, version)
        except Exception:
            log.exception("reloading %s (version %d) failed; the previous one keeps answering", name, version)
            self.live_seen.pop(name, None)  # try again on the next tick

    async def close(self) -> None:
        for task in tuple(self._reloads):
            task.cancel()
        await self.trainer.close()
        await self.listener.close()
        self._loader.shutdown(wait=False, cancel_futures=True)
        telegram = self.senders.get("telegram")
        if isinstance(telegram, TelegramSender):
            await telegram.close()
        await self.nlu.close()
        if self.owns_store:
            await self.store.close()


def build_runtime(
    settings: Settings, model: IntentModel, store: Store | None = None, clock: Clock = utc_now
) -> Runtime:
    """Wire the implementations behind the core's interfaces. The store is opened (not migrated) when none
    is given: `prepare`/`open_store` migrate before a process starts serving."""
    owns_store = store is None
    store = store if store is not None else Store(settings.database.url, bounds=bounds_of(settings))
    nlu = make_backend(settings, model)
    engine = build_engine(settings)
    dispatcher = Dispatcher(
        engine,
        nlu,
        store,
        build_handlers(engine, settings),
        session_timeout=timedelta(minutes=settings.conversation.session_timeout_minutes),
        switch_threshold=settings.conversation.switch_threshold,
        clock=clock,
        low_confidence=settings.nlu.inbox.low_confidence,
    )
    ui = engine.ui
    on_live = {live.CONTENT: content_reloader(store, engine.shelf)}  # texts edited in the admin console
    apology = ui.text("unavailable", "da") + " / " + ui.text("unavailable", "en")
    slow_down = ui.text("slow_down", "da") + " / " + ui.text("slow_down", "en")
    senders: dict[str, Sender] = {}
    if settings.telegram_token:
        senders["telegram"] = TelegramSender.from_token(settings.telegram_token, settings.telegram.base_url, store)
    runtime = Runtime(settings, model, store, nlu, engine, dispatcher, clock, apology, senders, owns_store, on_live)
    runtime.slow_down = slow_down
    return runtime
