"""Log lines an operator can follow: one per event, each with the request it belongs to.

`REQUEST_ID` is set by the HTTP layer for each request (bot/web/requests.py) and copied into every task the
request starts, so a turn's lines, the database's complaint and the answer share one id. Every record is
redacted on its way out (bot/core/privacy.py): a CPR number, code, phone number or e-mail that reaches a
message or a traceback is masked. `configure`
installs one handler on the root logger: "text" (a readable line) or "json" (one JSON object per line:
time, level, logger, message, request_id; a traceback goes in "error" as one string). Log calls never pass
request bodies; what a citizen typed is kept out of the logs by the code that logs.
"""

from __future__ import annotations

import json
import logging
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import TextIO

from bot.core.privacy import RedactingFilter

REQUEST_ID: ContextVar[str] = ContextVar("request_id", default="-")
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(request_id)s]: %(message)s"


class RequestIdFilter(logging.Filter):
    """Puts the current request id on every record (a handler filter, so records from any logger get it)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = REQUEST_ID.get()
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per record, on one line (json.dumps escapes the newlines of a traceback)."""

    def format(self, record: logging.LogRecord) -> str:
        line = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", REQUEST_ID.get()),
        }
        if record.exc_info:
            line["error"] = record.exc_text or self.formatException(record.exc_info)  # redacted by the filter
        return json.dumps(line, ensure_ascii=False)


def handler(kind: str, stream: TextIO | None = None) -> logging.Handler:
    """A handler (stderr, or `stream`) in the chosen format ("text" or "json"), carrying request ids."""
    out = logging.StreamHandler(stream)
    out.addFilter(RequestIdFilter())
    out.addFilter(RedactingFilter())
    out.setFormatter(JsonFormatter() if kind == "json" else logging.Formatter(TEXT_FORMAT))
    return out


def configure(level: str, kind: str) -> None:
    """The root logger's one handler, in `kind` format, at `level` (config.yml `log_level`, `logging.format`).
    Like `logging.basicConfig`, nothing changes when the root logger has handlers already: whoever runs the
    command in-process (a test runner) keeps its own logging."""
    root = logging.getLogger()
    if root.handlers:
        return
    root.addHandler(handler(kind))
    root.setLevel(level)
