"""Retraining as a background job: queued by an admin, run by one bot process, followed from any.

An admin presses "Træn en ny model" in one process; the page that shows the progress may be served by
another, and the process that trains may be a third. So a job is a row in `nlu_jobs` (status, progress,
the step it is at, its report), and every process's delivery worker looks for a queued one each tick
(`ModelJobs.tick`); a claim is one conditional UPDATE, so exactly one process takes it.

The steps, each visible as progress: take a snapshot of the training phrases' working copy → train →
cross-validate (k folds) → score the new and the active model on the development set and the labelled inbox
messages → the evaluation gate (bot/nlu/gate.py) → keep the model as a version and, if the gate let it
through, activate it (bot/nlu/registry.py: every process swaps it in within seconds).

Training and scoring run in a child process, not a thread: they are seconds of pure-Python and NumPy work
that, in a thread, hold the interpreter lock often enough to stretch citizens' turns (measured: a turn's
p99 went from 6 ms to 44–54 ms while training in a thread, and stayed at 5 ms with a child process).

A process that dies mid-job stops its heartbeat; after `stale_after` another process takes the job over
and starts it again, once; a job that loses its process twice is marked failed.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import multiprocessing
from collections.abc import Awaitable, Callable
from concurrent.futures import ProcessPoolExecutor
from datetime import datetime, timedelta
from typing import Any, TypedDict, TypeVar, cast

from bot.config import Settings
from bot.core.clock import Clock
from bot.core.ports import ConversationStore, Tx
from bot.core.statuses import JobStatus
from bot.nlu import gate, phrases, registry
from bot.nlu.classifier import IntentModel, Thresholds
from bot.nlu.model_store import model_to_bytes
from bot.nlu.training_data import TrainingDataError, load_training_data

log = logging.getLogger(__name__)
T = TypeVar("T")
TRAIN = "train"
HEARTBEAT_SECONDS = 5.0
STALE_AFTER = timedelta(seconds=60)  # a running job without a heartbeat this long lost its process
MAX_ATTEMPTS = 2  # a job whose process died this many times is failed, not started again
MAX_ERROR = 500
_OPEN = (JobStatus.QUEUED.value, JobStatus.RUNNING.value)

# the steps, in order, with the progress (percent) at which each starts; `message` holds the step's key
STEPS = {"queued": 0, "snapshot": 2, "train": 10, "cross_validate": 35, "score": 80, "gate": 95, "done": 100}

Examples = Callable[[Tx, datetime], Awaitable[list[gate.Pair]]]
Audit = Callable[[Tx, datetime, int | None, str, str, dict[str, Any]], Awaitable[None]]


class JobRow(TypedDict):
    id: int
    kind: str
    status: str  # a JobStatus
    progress: int  # 0-100
    message: str  # the step it is at (STEPS), or "failed"
    created_by: int | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    heartbeat_at: datetime | None
    model_id: int | None  # the version it made
    detail: dict[str, Any]  # the gate's report when done; {"error": …} when failed; {"attempts": n}


_COLUMNS = ", ".join(JobRow.__annotations__)


class LostJob(Exception):
    """The job is no longer this process's: it was taken over after a long pause (its heartbeat lapsed)."""


def _row(raw: dict[str, Any]) -> JobRow:
    return cast(JobRow, {**raw, "detail": json.loads(raw["detail"] or "{}")})


# ---- the jobs table ------------------------------------------------------------------------------------------


async def queue_training(tx: Tx, now: datetime, created_by: int | None) -> tuple[int, bool]:
    """Queue a training job; (its id, whether it is new). One training at a time: while one is queued or
    running, that one's id is returned (pressing the button twice does not train twice)."""
    rows = await tx.fetch(
        "SELECT id FROM nlu_jobs WHERE kind = :kind AND status IN (:queued, :running) ORDER BY id LIMIT 1",
        kind=TRAIN,
        queued=_OPEN[0],
        running=_OPEN[1],
    )
    if rows:
        return int(rows[0]["id"]), False
    rows = await tx.fetch(
        "INSERT INTO nlu_jobs (kind, status, progress, message, created_by, created_at, detail)"
        " VALUES (:kind, :queued, 0, 'queued', :by, :now, '{}') RETURNING id",
        kind=TRAIN,
        queued=JobStatus.QUEUED.value,
        by=created_by,
        now=now,
    )
    return int(rows[0]["id"]), True


async def job(tx: Tx, job_id: int) -> JobRow | None:
    rows = await tx.fetch(f"SELECT {_COLUMNS} FROM nlu_jobs WHERE id = :id", id=job_id)
    return _row(rows[0]) if rows else None


async def recent(tx: Tx, limit: int = 10) -> list[JobRow]:
    """The newest jobs first, without their reports (the models page lists them)."""
    columns = _COLUMNS.replace("detail", "'{}' AS detail")
    return [_row(r) for r in await tx.fetch(f"SELECT {columns} FROM nlu_jobs ORDER BY id DESC LIMIT :n", n=limit)]


async def waiting(tx: Tx, now: datetime, stale_after: timedelta = STALE_AFTER) -> bool:
    """Whether a job is queued, or running without a heartbeat for `stale_after` (its process died)."""
    rows = await tx.fetch(
        "SELECT 1 FROM nlu_jobs WHERE status = :queued OR (status = :running AND heartbeat_at < :stale) LIMIT 1",
        queued=JobStatus.QUEUED.value,
        running=JobStatus.RUNNING.value,
        stale=now - stale_after,
    )
    return bool(rows)


async def claim(tx: Tx, now: datetime, stale_after: timedelta = STALE_AFTER) -> JobRow | None:
    """Take the oldest queued job, or one whose process died, for this process: its row, now `running` with
    `started_at` = now (the claim's identity: every later write names it, so a process that lost the job
    writes nothing). A job taken over for the MAX_ATTEMPTS-th time is failed instead. None: nothing to do."""
    lock = " FOR UPDATE SKIP LOCKED" if tx.dialect == "postgresql" else ""
    rows = await tx.fetch(
        f"SELECT {_COLUMNS} FROM nlu_jobs WHERE status = :queued OR (status = :running AND heartbeat_at < :stale)"
        f" ORDER BY id LIMIT 1{lock}",
        queued=JobStatus.QUEUED.value,
        running=JobStatus.RUNNING.value,
        stale=now - stale_after,
    )
    if not rows:
        return None
    found = _row(rows[0])
    attempts = int(found["detail"].get("attempts", 0)) + 1
    if attempts > MAX_ATTEMPTS:
        await tx.execute(
            "UPDATE nlu_jobs SET status = :failed, message = 'failed', finished_at = :now, detail = :detail"
            " WHERE id = :id",
            failed=JobStatus.FAILED.value,
            now=now,
            detail=json.dumps({"attempts": attempts - 1, "error": "lost"}),
            id=found["id"],
        )
        log.error("training job %d failed: the process running it stopped %d times", found["id"], attempts - 1)
        return None
    await tx.execute(
        "UPDATE nlu_jobs SET status = :running, started_at = :now, heartbeat_at = :now, progress = :progress,"
        " message = 'snapshot', detail = :detail WHERE id = :id",
        running=JobStatus.RUNNING.value,
        now=now,
        progress=STEPS["snapshot"],
        detail=json.dumps({"attempts": attempts}),
        id=found["id"],
    )
    claimed = await job(tx, found["id"])
    assert claimed is not None
    return claimed


async def _write(tx: Tx, claimed: JobRow, changes: str, **params: Any) -> bool:
    """Change the job if it is still this claim's (running, same start); whether it was."""
    changed = await tx.execute(
        f"UPDATE nlu_jobs SET {changes} WHERE id = :id AND status = :running AND started_at = :started",
        id=claimed["id"],
        running=JobStatus.RUNNING.value,
        started=claimed["started_at"],
        **params,
    )
    return changed > 0


# ---- the training phrases --------------------------------------------------------------------------------------


def working_copy(settings: Settings) -> Examples:
    """The training phrases' working copy (bot/nlu/phrases.py), seeded from `nlu.data` the first time."""

    async def read(tx: Tx, now: datetime) -> list[gate.Pair]:
        await phrases.ensure_seeded(tx, [settings.nlu.data], now)
        return await phrases.training_examples(tx)

    return read


async def labelled_inbox(tx: Tx) -> list[gate.Pair]:
    """Inbox messages an admin gave an intent ("added") or marked out of scope: (text, intent)."""
    rows = await tx.fetch(
        "SELECT text, status, resolved_intent FROM inbox_items WHERE status IN ('added', 'out_of_scope') ORDER BY id"
    )
    return [
        (str(r["text"]), "out_of_scope" if r["status"] == "out_of_scope" else str(r["resolved_intent"]))
        for r in rows
        if r["status"] == "out_of_scope" or r["resolved_intent"]
    ]


def dev_set(path: str) -> list[gate.Pair]:
    """The development set's (text, intent); empty (the report says so) when the file is missing."""
    try:
        return [(e.text, e.intent) for e in load_training_data([path]).examples]
    except TrainingDataError as exc:
        log.warning("no development set for the evaluation gate: %s", exc)
        return []


# ---- running a job ---------------------------------------------------------------------------------------------


class ModelJobs:
    """The training jobs of one bot process: `tick` is a job of its delivery worker (bot/runtime.py)."""

    def __init__(
        self,
        store: ConversationStore,
        settings: Settings,
        clock: Clock,
        current: Callable[[], IntentModel],
        examples: Examples,
        audit: Audit,
        *,
        heartbeat_seconds: float = HEARTBEAT_SECONDS,
        stale_after: timedelta = STALE_AFTER,
    ) -> None:
        """`current`: the model this process answers with (registered as the first version when none is);
        `examples`: the training phrases' working copy; `audit`: writes a line to the audit log."""
        self.store = store
        self.settings = settings
        self.clock = clock
        self.current = current
        self.examples = examples
        self.audit = audit
        self.heartbeat_seconds = heartbeat_seconds
        self.stale_after = stale_after
        self.task: asyncio.Task[JobRow | None] | None = None

    async def tick(self, tx: Tx, now: datetime) -> None:
        """A delivery worker job: when this process is not training and a job waits, start on it (the claim
        is made in the task's own transaction, which commits before any progress is written)."""
        if self.task is not None and not self.task.done():
            return
        if await waiting(tx, now, self.stale_after):
            self.task = asyncio.create_task(self.run_next(), name="training-job")

    async def run_next(self) -> JobRow | None:
        """Claim a waiting job and run it to its end; the job as it ended (None: another process took it)."""
        claimed = await self.store.transaction(lambda tx: claim(tx, self.clock(), self.stale_after))
        if claimed is None:
            return None
        log.info("training job %d started", claimed["id"])
        beat = asyncio.create_task(self._heartbeat(claimed))
        try:
            await self._run(claimed)
        except asyncio.CancelledError:
            raise  # the process is stopping: the heartbeat stops, and another process takes the job over
        except LostJob:
            log.warning("training job %d was taken over by another process; this one stops", claimed["id"])
        except Exception as exc:
            log.exception("training job %d failed", claimed["id"])
            error = f"{type(exc).__name__}: {exc}"[:MAX_ERROR]
            await self.store.transaction(
                lambda tx: _write(
                    tx,
                    claimed,
                    "status = :failed, message = 'failed', finished_at = :now, detail = :detail",
                    failed=JobStatus.FAILED.value,
                    now=self.clock(),
                    detail=json.dumps({"error": error}, ensure_ascii=False),
                )
            )
        finally:
            beat.cancel()
        return await self.store.transaction(lambda tx: job(tx, claimed["id"]), read_only=True)

    async def _heartbeat(self, claimed: JobRow) -> None:
        while True:
            await asyncio.sleep(self.heartbeat_seconds)
            with contextlib.suppress(Exception):  # a missed beat is not a failure; several are a takeover
                await self.store.transaction(lambda tx: _write(tx, claimed, "heartbeat_at = :now", now=self.clock()))

    async def _step(self, claimed: JobRow, step: str, progress: int | None = None) -> None:
        """Say which step the job is at (any process's page shows it); CancelledError when the job is no
        longer this process's (taken over after a long pause), so it stops instead of writing twice."""
        mine = await self.store.transaction(
            lambda tx: _write(
                tx,
                claimed,
                "message = :step, progress = :progress, heartbeat_at = :now",
                step=step,
                progress=STEPS[step] if progress is None else progress,
                now=self.clock(),
            )
        )
        if not mine:
            raise LostJob(claimed["id"])

    async def _run(self, claimed: JobRow) -> None:
        nlu = self.settings.nlu
        thresholds = Thresholds(nlu.fallback.threshold, nlu.fallback.ambiguity_threshold)
        pairs = await self.store.transaction(lambda tx: self.examples(tx, self.clock()))
        inbox = await self.store.transaction(labelled_inbox, read_only=True)
        dev = await asyncio.to_thread(dev_set, nlu.gate.dev_set)
        sets = {"dev": dev, "inbox": inbox}
        loop = asyncio.get_running_loop()
        pool = ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn"))
        finished = False
        try:

            def child(fn: Callable[..., T], *args: Any) -> asyncio.Future[T]:
                return loop.run_in_executor(pool, fn, *args)

            await self._step(claimed, "train")
            blob, metadata = await child(gate.train_blob, pairs, nlu.classifier)
            await self._step(claimed, "cross_validate")
            answers: list[str] = [""] * len(pairs)
            folds = min(nlu.gate.folds, len(pairs))
            span = STEPS["score"] - STEPS["cross_validate"]
            for fold in range(folds):
                for index, answer in await child(gate.fold_predictions, pairs, nlu.classifier, thresholds, folds, fold):
                    answers[index] = answer
                done = STEPS["cross_validate"] + span * (fold + 1) // folds
                await self._step(claimed, "cross_validate", done)
            cross_validation = {"folds": folds, **gate.figures([gate.gold(i) for _, i in pairs], answers)}
            await self._step(claimed, "score")
            active_id, active_blob, registered = await self._active()
            new_answers = await child(gate.predict_sets, blob, sets, thresholds)
            active_answers = await child(gate.predict_sets, active_blob, sets, thresholds)
            finished = True
        finally:
            await asyncio.to_thread(_stop, pool, finished)
        await self._step(claimed, "gate")
        report = gate.report(sets, new_answers, active_answers, cross_validation, nlu.gate)
        metrics = {
            "origin": "training",
            "job": claimed["id"],
            "compared_with": active_id,
            "examples": len(pairs),
            "intents": len(metadata.get("intents", [])),
            "train_seconds": metadata.get("train_seconds"),
            "scores": {
                **{name: figures["new"] for name, figures in report["sets"].items()},
                "cross_validation": cross_validation,
            },
            **report,
        }
        active_scores = {name: figures["active"] for name, figures in report["sets"].items()}

        async def finish(tx: Tx) -> None:
            now = self.clock()
            model_id = await registry.save_version(tx, blob, metrics, pairs, now, claimed["created_by"])
            if registered:  # the file model registered as the first version: its own figures too
                await _set_scores(tx, active_id, active_scores)
            if report["gate"]["passed"]:
                await registry.activate(tx, model_id, now, claimed["created_by"])
                await self.audit(
                    tx, now, claimed["created_by"], "model_activated", f"model:{model_id}",
                    {"by": "gate", "job": claimed["id"], "previous": active_id},
                )  # fmt: skip
            written = await _write(
                tx,
                claimed,
                "status = :done, message = 'done', progress = 100, finished_at = :now, model_id = :model,"
                " detail = :detail",
                done=JobStatus.DONE.value,
                now=now,
                model=model_id,
                detail=json.dumps({"model_id": model_id, "passed": report["gate"]["passed"]}),
            )
            if not written:
                raise LostJob(claimed["id"])  # rolls the version back too: the other process makes its own

        await self.store.transaction(finish)
        log.info("training job %d done (gate %s)", claimed["id"], "passed" if report["gate"]["passed"] else "failed")

    async def _active(self) -> tuple[int, bytes, bool]:
        """(id, bytes, registered now) of the active version. Before the first one is activated, the model
        this process answers with (the model file) is registered and activated as the first version, so the
        new model is compared with it and a roll back can return to it."""
        found = await self.store.transaction(registry.active_blob, read_only=True)
        if found is not None:
            return found[0], found[1], False
        model = self.current()
        blob = await asyncio.to_thread(model_to_bytes, model)
        metrics = {
            "origin": "file",
            "file": self.settings.nlu.model,
            "trained_at": model.metadata.get("trained_at"),
            "examples": model.metadata.get("n_examples"),
            "intents": len(model.labels),
        }

        async def register(tx: Tx) -> tuple[int, bytes, bool]:
            now = self.clock()
            again = await registry.active_blob(tx)
            if again is not None:  # another process registered it meanwhile
                return again[0], again[1], False
            model_id = await registry.save_version(tx, blob, metrics, [], now, None)
            await registry.activate(tx, model_id, now, None)
            return model_id, blob, True

        return await self.store.transaction(register)

    async def close(self) -> None:
        """Stop a job in progress (another process takes it over after `stale_after`)."""
        if self.task is not None and not self.task.done():
            self.task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self.task


def _stop(pool: ProcessPoolExecutor, finished: bool) -> None:
    """End the child process: it is idle when the job finished; otherwise (a failure, the bot stopping) it
    may be minutes into a training nobody will read, so it is terminated rather than waited for."""
    if not finished:
        for process in list((getattr(pool, "_processes", None) or {}).values()):
            process.terminate()
    pool.shutdown(wait=True, cancel_futures=True)


async def _set_scores(tx: Tx, model_id: int, scores: dict[str, Any]) -> None:
    row = await registry.version(tx, model_id)
    if row is None:
        return
    metrics = {**row["metrics"], "scores": scores}
    await tx.execute(
        "UPDATE nlu_models SET metrics = :metrics WHERE id = :id", metrics=json.dumps(metrics), id=model_id
    )
