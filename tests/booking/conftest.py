"""A REST client on the real app with booking settings and a clock the test controls."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from aiohttp.test_utils import TestClient, TestServer

from bot.app import build_app
from bot.nlu.classifier import IntentModel
from bot.storage.store import Store
from tests.booking.helpers import Client, Clock, booking_settings


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def client(project_model: IntentModel, store: Store, clock: Clock) -> AsyncIterator[Client]:
    app = build_app(booking_settings(), project_model, store, clock)
    async with TestClient(TestServer(app)) as test_client:
        yield test_client
