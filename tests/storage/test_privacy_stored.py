"""End to end through REST and the eMentor API, on SQLite and PostgreSQL: citizens write CPR numbers, codes,
phone numbers and e-mail addresses in the forms people use, in a normal conversation and in a live hand-over,
and an eMentor writes a CPR number back. Then every text column of every table (found by SQLAlchemy's
inspection, so a new table is searched too) and the log are searched: not one secret is found."""

from __future__ import annotations

import io
import logging
import re
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import String, inspect
from sqlalchemy.ext.asyncio import create_async_engine

from bot.app import build_app
from bot.core import logs
from bot.core.clock import utc_now
from bot.core.privacy import fold
from bot.escalation import accounts
from bot.nlu.classifier import IntentModel
from bot.storage.store import Store
from tests.channels.fake_bot_api import FakeBotApi
from tests.channels.test_socketio import Webchat, serve
from tests.channels.test_telegram import CHAT, deliver, message_update, telegram_settings
from tests.conftest import app_settings

Client = TestClient[Any, Any]
API = "/api/ementor"

# (what a citizen writes, the secret in it)
CONVERSATION = [
    ("mit cpr er 010190-1234 og jeg kan ikke logge på mitid", "010190-1234"),
    ("cpr 01/01/90-1234 hjælp", "01/01/90-1234"),
    ("personnummer 10.10.90-1243 til jobnet", "10.10.90-1243"),
    ("min cpr 15 08 75 3312 virker ikke på borger.dk", "15 08 75 3312"),
    ("cpr‑nummer 150875‑3312 jobnet", "150875‑3312"),
    ("cpr 220865–4321 e-boks", "220865–4321"),
    ("mit cpr ０３１２８５－１１２２ jeg har glemt min kode", "０３１２８５－１１２２"),
    ("adgangskoden er Hest1234 og jeg kan ikke komme ind", "Hest1234"),
    ("koden er 4711 men mitid siger nej", "4711"),
    ("kode: Abc987 til jobnet", "Abc987"),
    ("password Solskin99 virker ikke", "Solskin99"),
    ("min pinkode 0912 er spærret", "0912"),  # a leading 0: no response size or port looks like it
    ("brugernavn peter og kode Hest12 til e-boks", "Hest12"),
    ("min kode til mitid er Hund1234 hjælp", "Hund1234"),
    ("adgangskoden til jobnet: Solskin77 hvad gør jeg", "Solskin77"),
    ("my password is hunter22 and mitid fails", "hunter22"),
    ("ring til mig på 22 33 44 55 om mitid", "22 33 44 55"),
    ("min mail er anne.hansen@gmail.com, kan i skrive", "anne.hansen@gmail.com"),
    ("tlf +45 61234567 jobnet virker ikke", "61234567"),
]
ALONE = [  # nothing but the secret: only the warning, never a hand-over
    ("personnummer 101090 - 1243", "101090 - 1243"),
    ("0101901234", "0101901234"),
]
IN_HANDOVER = [
    ("mit cpr er 300145-1118 og appen lukker", "300145-1118"),
    ("min mitid kode er 931755 og den virker ikke", "931755"),
    ("skriv til fatima.ali@live.dk", "fatima.ali@live.dk"),
    ("nummeret er 71 82 93 04", "71 82 93 04"),
]
FROM_EMENTOR = [("Dit cpr 121290-3311 er registreret", "121290-3311"), ("Din kode er Lampe44 nu", "Lampe44")]


@pytest.fixture
async def client(project_model: IntentModel, store: Store) -> AsyncIterator[Client]:
    async with TestClient(TestServer(build_app(app_settings(), project_model, store))) as test_client:
        yield test_client


@pytest.fixture
def log() -> AsyncIterator[io.StringIO]:
    """The log as the bot writes it: the root logger's own handler (bot/core/logs.py), at DEBUG."""
    buffer = io.StringIO()
    handler = logs.handler("text")
    handler.setStream(buffer)
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    yield buffer  # type: ignore[misc]
    root.removeHandler(handler)
    root.setLevel(level)


async def say(client: Client, sender: str, text: str) -> list[dict[str, Any]]:
    response = await client.post("/webhooks/rest/webhook", json={"sender": sender, "message": text})
    assert response.status == 200, await response.text()
    body: list[dict[str, Any]] = await response.json()
    return body


async def api(client: Client, method: str, path: str, auth: dict[str, str], **kw: Any) -> Any:
    response = await client.request(method, API + path, headers=auth, **kw)
    assert response.status in (200, 201), await response.text()
    return await response.json()


async def every_text(store: Store) -> dict[str, list[str]]:
    """Each table's string columns, every row: {"table.column": [values]}."""
    engine = create_async_engine(store.url)
    try:
        async with engine.connect() as conn:
            tables = await conn.run_sync(
                lambda sync: {
                    t: [c["name"] for c in inspect(sync).get_columns(t, schema=store.schema)
                        if isinstance(c["type"], String)]
                    for t in inspect(sync).get_table_names(schema=store.schema)
                }
            )  # fmt: skip
    finally:
        await engine.dispose()
    found: dict[str, list[str]] = {}
    for table, columns in tables.items():
        if not columns:
            continue
        rows = await store.transaction(
            lambda tx, table=table, columns=columns: tx.fetch(f"SELECT {', '.join(columns)} FROM {table}")
        )
        for column in columns:
            found[f"{table}.{column}"] = [str(r[column]) for r in rows if r[column] is not None]
    return found


def leaks(secret: str, haystack: str) -> bool:
    """The secret as written (folded: full-width digits, odd dashes; any case), or a number's digits with other
    separators ("0101901234" for "010190-1234") standing alone."""
    folded, kept = fold(secret).casefold(), fold(haystack).casefold()
    if folded in kept:
        return True
    if any(ch.isalpha() for ch in folded):
        return False
    digits = "".join(ch for ch in folded if ch.isdigit())
    joined = re.sub(r"(?<=\d)[ \-./]+(?=\d)", "", kept)
    return re.search(rf"(?<!\d){digits}(?!\d)", joined) is not None


async def test_no_secret_reaches_a_table_or_the_log(client: Client, store: Store, log: io.StringIO) -> None:
    _, token = await store.transaction(lambda tx: accounts.create_ementor(tx, "Anna Hansen", None, utc_now()))
    anna = {"Authorization": f"Bearer {token}"}
    await api(client, "POST", "/presence", anna, json={"online": True})

    for text, _ in CONVERSATION:
        await say(client, "ida", text)
    for text, _ in ALONE:
        replies = await say(client, "per", text)
        assert [r["text"][:20] for r in replies] == ["Send aldrig din kode"]

    await say(client, "hans", "jeg vil tale med et menneske")
    await say(client, "hans", IN_HANDOVER[0][0])  # while waiting
    [waiting] = await api(client, "GET", "/handovers?status=waiting", anna)
    handover = waiting["handover"]
    await api(client, "POST", f"/handovers/{handover}/take", anna)
    for text, _ in IN_HANDOVER[1:]:
        await say(client, "hans", text)
    for text, _ in FROM_EMENTOR:
        await api(client, "POST", f"/handovers/{handover}/messages", anna, json={"text": text})
    said = await api(client, "GET", f"/handovers/{handover}/messages", anna)
    assert any("[cpr-nummer] og appen lukker" in m["text"] for m in said)  # the eMentor sees the question
    pushed = await (await client.get("/webhooks/rest/messages", params={"sender": "hans"})).json()
    assert any("Dit cpr [cpr-nummer] er registreret" in m["text"] for m in pushed)  # the citizen gets it masked

    handovers = await store.transaction(lambda tx: tx.fetch("SELECT sender FROM handovers"))
    assert [h["sender"] for h in handovers] == ["hans"]  # "personnummer 101090 - 1243" queued nobody

    stored = await every_text(store)
    assert {"turns.text", "handover_messages.text", "inbox_items.text", "outbox.body", "notices.body"} <= set(stored)
    samples = CONVERSATION + ALONE + IN_HANDOVER + FROM_EMENTOR
    found = [
        (secret, where)
        for _, secret in samples
        for where, values in [*stored.items(), ("log", [log.getvalue()])]
        if any(leaks(secret, value) for value in values)
    ]
    figure = f"secret formats tried {len(samples)}, stored {len(found)}"
    print(f"\n{store.url.split(':')[0]}: {figure}")
    assert len(samples) >= 23 and not found, f"{figure}: {found}"
    assert "[cpr-nummer]" in " ".join(stored["turns.text"])  # the turns were kept, masked


async def test_telegram_keeps_no_secret_either(
    project_model: IntentModel, store: Store, fake: FakeBotApi, log: io.StringIO
) -> None:
    """The same citizen's samples as Telegram updates (a real python-telegram-bot against a fake Bot API)."""
    app = build_app(telegram_settings(fake), project_model, store)
    async with TestClient(TestServer(app)) as telegram:
        for text, _ in CONVERSATION + ALONE:
            assert await deliver(telegram, message_update(CHAT, text=text)) == 200
    stored = await every_text(store)
    assert any("[cpr-nummer]" in t for t in stored["turns.text"])
    samples = CONVERSATION + ALONE
    found = [
        (secret, where)
        for _, secret in samples
        for where, values in [*stored.items(), ("log", [log.getvalue()])]
        if any(leaks(secret, value) for value in values)
    ]
    figure = f"secret formats tried {len(samples)}, stored {len(found)}"
    print(f"\ntelegram {store.url.split(':')[0]}: {figure}")
    assert not found, f"{figure}: {found}"


async def test_socketio_keeps_no_secret_either(project_model: IntentModel, store: Store, log: io.StringIO) -> None:
    """The same samples from the web chat's socket.io client (a real python-socketio client)."""
    server = await serve(app_settings(), project_model, store)
    chat = Webchat()
    try:
        await chat.connect(f"http://127.0.0.1:{server.port}")
        await chat.request_session({"session_id": None})
        for text, _ in CONVERSATION + ALONE:
            await chat.say(text)
    finally:
        await chat.close()
        await server.close()
    stored = await every_text(store)
    assert any("[cpr-nummer]" in t for t in stored["turns.text"])
    samples = CONVERSATION + ALONE
    found = [
        (secret, where)
        for _, secret in samples
        for where, values in [*stored.items(), ("log", [log.getvalue()])]
        if any(leaks(secret, value) for value in values)
    ]
    figure = f"secret formats tried {len(samples)}, stored {len(found)}"
    print(f"\nsocket.io {store.url.split(':')[0]}: {figure}")
    assert not found, f"{figure}: {found}"
