"""Intent handlers that need more than a guided flow, one module per family, registered explicitly here."""

from __future__ import annotations

from bot.core.actions import Action
from bot.flows.engine import Handler
from handlers import booking, handover, my_bookings, smalltalk, workshops

# pure handlers, run by the flow engine
HANDLERS: dict[str, Handler] = {**smalltalk.HANDLERS}
# actions that read or write bookings and hand-overs, run by the dispatcher inside the turn's transaction
ACTIONS: dict[str, Action] = {**handover.ACTIONS, **booking.ACTIONS, **my_bookings.ACTIONS, **workshops.ACTIONS}
# run before any intent, in this order: a citizen in a hand-over, a booking waiting for typed input
HOOKS: tuple[Action, ...] = (*handover.HOOKS, booking.details)
