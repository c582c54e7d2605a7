"""Intent handlers that need more than a guided flow, one module per family, registered explicitly here."""

from __future__ import annotations

from bot.flows.engine import Handler
from handlers import smalltalk

HANDLERS: dict[str, Handler] = {**smalltalk.HANDLERS}
