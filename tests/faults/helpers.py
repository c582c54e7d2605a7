"""What the fault tests share: citizens who write and press "Prøv igen" until answered, a pausable TCP
proxy in front of PostgreSQL, and the tally a fault run ends with."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from aiohttp.test_utils import TestClient

from bot.config import Settings
from bot.storage.turn_paths import Bounds
from tests.conftest import app_settings

Client = TestClient[Any, Any]
BOUNDS = Bounds(connect=1.0, statement=1.0, deadline=3.0)
HANG = 3 * BOUNDS.deadline  # an answer slower than this is a hang (generous: a hang detector, not a speed test)
MESSAGES = ("hej", "hvordan bestiller jeg straffeattest", "tak", "hvad er mitid", "farvel")


def fault_settings() -> Settings:
    """The app's settings with the per-sender and per-address pace raised: citizens here press "Prøv igen"
    every 0.1 s, faster than a citizen may (limits.*), and the faults, not the rate limit, are measured."""
    settings = app_settings()
    limits = dataclasses.replace(
        settings.limits, sender_per_minute=100_000, sender_burst=10_000, address_per_minute=1_000_000,
        address_burst=100_000,
    )  # fmt: skip
    return dataclasses.replace(settings, limits=limits)


@dataclass
class Tally:
    """Requests tried and how each ended, over a fault run."""

    tried: int = 0
    answered: int = 0
    apologies: int = 0
    errors: int = 0  # 500s and anything not a reply or the apology
    hangs: int = 0
    slowest: float = 0.0
    odd: list[str] = field(default_factory=list)

    def line(self, name: str) -> str:
        return (
            f"{name}: {self.tried} requests, {self.answered} answered, {self.apologies} apologies (503), "
            f"{self.errors} errors, {self.hangs} hangs, slowest {self.slowest:.2f} s"
        )


async def post(client: Client, tally: Tally, apology: str, sender: str, text: str, message_id: str) -> bool:
    """One try: True when answered with a real reply; the apology and errors are counted."""
    tally.tried += 1
    started = time.perf_counter()
    try:
        async with asyncio.timeout(HANG):
            response = await client.post(
                "/webhooks/rest/webhook", json={"sender": sender, "message": text, "message_id": message_id}
            )
            body = await response.json(content_type=None)
    except TimeoutError:
        tally.hangs += 1
        return False
    finally:
        tally.slowest = max(tally.slowest, time.perf_counter() - started)
    if response.status == 200 and body and body[0].get("text") and body[0]["text"] != apology:
        tally.answered += 1
        return True
    if response.status == 503 and body and body[0].get("text") == apology:
        tally.apologies += 1
        return False
    tally.errors += 1
    tally.odd.append(f"{response.status} {str(body)[:200]}")
    return False


async def citizen(client: Client, tally: Tally, apology: str, sender: str, rounds: int) -> list[int]:
    """Writes MESSAGES `rounds` times; after an apology presses "Prøv igen" (the same message id) until
    answered. Returns how many tries each message took."""
    tries: list[int] = []
    for n in range(rounds * len(MESSAGES)):
        text, message_id = MESSAGES[n % len(MESSAGES)], f"{sender}-{n}"
        attempt = 1
        while not await post(client, tally, apology, sender, text, message_id):
            attempt += 1
            if attempt > 100:
                raise AssertionError(f"{sender}: message {n} never answered")
            await asyncio.sleep(0.1)
        tries.append(attempt)
    return tries


class PausableProxy:
    """A TCP proxy on 127.0.0.1 in front of `target`: `pause()` stops forwarding bytes both ways (a hung
    server, a dead network path: connections stay open and nothing comes back), `resume()` carries on."""

    def __init__(self, host: str, port: int) -> None:
        self.target = (host, port)
        self.flowing = asyncio.Event()
        self.flowing.set()
        self.port = 0
        self._server: asyncio.Server | None = None
        self._pipes: set[asyncio.Task[None]] = set()

    def pause(self) -> None:
        self.flowing.clear()

    def resume(self) -> None:
        self.flowing.set()

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(65536):
                await self.flowing.wait()
                writer.write(data)
                await writer.drain()
        except (ConnectionError, OSError):
            pass
        finally:
            writer.close()

    async def _accept(self, client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter) -> None:
        await self.flowing.wait()
        try:
            server_reader, server_writer = await asyncio.open_connection(*self.target)
        except OSError:
            client_writer.close()
            return
        for reader, writer in ((client_reader, server_writer), (server_reader, client_writer)):
            task = asyncio.create_task(self._pipe(reader, writer))
            self._pipes.add(task)
            task.add_done_callback(self._pipes.discard)

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[PausableProxy]:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        try:
            yield self
        finally:
            self.resume()
            self._server.close()
            for task in list(self._pipes):
                task.cancel()
            await asyncio.gather(*self._pipes, return_exceptions=True)
            await self._server.wait_closed()
