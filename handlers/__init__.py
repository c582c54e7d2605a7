"""Intent handlers that need more than a guided flow, one module per family, registered explicitly here.

May import: core, config, flows, booking, escalation (never the dialogue, storage or channels).
"""

from __future__ import annotations

from bot.config import Settings
from bot.core.turn import Handlers, Hook
from bot.flows.engine import Engine
from handlers import booking, handover, my_bookings, privacy, smalltalk, workshops
from handlers.context import bind

FAMILIES = (
    smalltalk.ACTIONS,
    handover.ACTIONS,
    booking.ACTIONS,
    my_bookings.ACTIONS,
    workshops.ACTIONS,
    privacy.ACTIONS,
)


def build(engine: Engine, settings: Settings) -> Handlers:
    """The actions by intent, and the hooks that run before any intent, in this order: a citizen in a
    hand-over, then a booking waiting for typed input."""
    actions = {intent: bind(fn, engine, settings) for family in FAMILIES for intent, fn in family.items()}
    hooks: tuple[Hook, ...] = (bind(handover.in_handover, engine, settings), bind(booking.details, engine, settings))
    return Handlers(actions, hooks)
