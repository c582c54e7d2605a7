"""What Prometheus reads at GET /metrics: counters and a latency histogram kept by this process.

Counted where the event happens, at the edges: a channel's turn (`Channel.answer`: how many, how long, how
it ended), the store (a turn the model did not understand, the database away), the HTTP layer (an
unexpected error). Figures that live in the database (bookings, hand-overs, the outbox backlog) are read
when Prometheus scrapes (bot/web/health.py), so every process reports the same totals. prometheus-client's
default registry also carries the process's memory, CPU and open files.
"""

from __future__ import annotations

import time

from prometheus_client import Counter, Gauge, Histogram

TURNS = Counter("ementor_turns", "Citizen messages answered, by channel and result", ["channel", "result"])
TURN_SECONDS = Histogram(
    "ementor_turn_seconds",
    "Time from a citizen's message to the bot's answer, by channel",
    ["channel"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0),
)
FALLBACKS = Counter("ementor_fallbacks", "Turns the intent model did not understand (nlu_fallback)", ["channel"])
ERRORS = Counter("ementor_errors", "Unexpected errors (a turn or an HTTP request that failed)", ["where"])
STORAGE_UNAVAILABLE = Counter(
    "ementor_storage_unavailable", "Database calls given up after retries (the citizen was asked to try again)"
)
BOOKINGS = Gauge("ementor_bookings", "Bookings in the database, by status (read at scrape)", ["status"])
HANDOVERS = Gauge("ementor_handovers", "Hand-overs in the database, by status (read at scrape)", ["status"])
OUTBOX_BACKLOG = Gauge("ementor_outbox_backlog", "Outbox messages due and not yet sent (read at scrape)")
DATABASE_UP = Gauge("ementor_database_up", "1 when the scrape's database read answered in time, else 0")


def turn_done(channel: str, result: str, started: float) -> None:
    """One answered message: `result` is "answered", "unavailable" (the apology) or "failed"."""
    TURNS.labels(channel, result).inc()
    TURN_SECONDS.labels(channel).observe(time.perf_counter() - started)
