"""The "not understood" inbox through the REST channel (real app, model and database, SQLite and PostgreSQL):
which messages a citizen sends end up there and why, which never do, and what of them is kept."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import AsyncIterator
from typing import Any

import numpy as np
import pytest
from aiohttp.test_utils import TestClient, TestServer

from bot.app import build_app
from bot.config import InboxSettings, Settings
from bot.nlu import inbox
from bot.nlu.classifier import IntentModel
from bot.storage.store import Store
from tests.conftest import app_settings

Client = TestClient[Any, Any]
JOBLOG = "hvordan udfylder jeg min joblog"  # starts jobnet_joblog, whose first step asks "did it work?"


def with_low_confidence(value: float) -> Settings:
    settings = app_settings()
    nlu = dataclasses.replace(settings.nlu, inbox=InboxSettings(low_confidence=value))
    return dataclasses.replace(settings, nlu=nlu)


@pytest.fixture
async def client(project_model: IntentModel, store: Store) -> AsyncIterator[Client]:
    async with TestClient(TestServer(build_app(app_settings(), project_model, store))) as test_client:
        yield test_client


async def say(client: Client, sender: str, message: str) -> list[dict[str, Any]]:
    response = await client.post("/webhooks/rest/webhook", json={"sender": sender, "message": message})
    assert response.status == 200, await response.text()
    body: list[dict[str, Any]] = await response.json()
    return body


async def kept(store: Store) -> list[dict[str, Any]]:
    rows = await store.transaction(lambda tx: tx.fetch("SELECT * FROM inbox_items ORDER BY id"))
    return [{**r, "guesses": json.loads(r["guesses"])} for r in rows]


def button(replies: list[dict[str, Any]], *payload_starts: str) -> str:
    for reply in reversed(replies):
        for b in reply.get("buttons") or []:
            if b["payload"].startswith(payload_starts):
                return str(b["payload"])
    raise AssertionError(f"no {payload_starts} button in {replies}")


async def test_a_message_the_model_fell_back_on_is_kept_with_its_guesses(client: Client, store: Store) -> None:
    await say(client, "anna", "jeg skal bruge hjælp til noget med min telefon")
    [item] = await kept(store)
    assert (item["reason"], item["status"], item["channel"], item["language"]) == ("fallback", "open", "rest", "da")
    assert item["text"] == "jeg skal bruge hjælp til noget med min telefon"
    assert [g["intent"] for g in item["guesses"]][:1] == ["mitid_new_phone"] and len(item["guesses"]) == 3
    assert all(0 < g["confidence"] < 1 for g in item["guesses"])


async def test_low_confidence_follows_the_setting(project_model: IntentModel, store: Store) -> None:
    text = "kan i hjælpe med min skattekort ting"  # the model: tax_forms, 0.955
    async with TestClient(TestServer(build_app(app_settings(), project_model, store))) as default:
        await say(default, "bo", text)
    assert await kept(store) == []  # 0.955 is sure enough for the default 0.9
    async with TestClient(TestServer(build_app(with_low_confidence(0.99), project_model, store))) as strict:
        await say(strict, "bo2", text)
    [item] = await kept(store)
    assert (item["reason"], item["text"], item["guesses"][0]["intent"]) == ("low_confidence", text, "tax_forms")


async def test_did_not_work_on_the_first_step_keeps_the_message_that_started_the_flow(
    client: Client, store: Store
) -> None:
    first = await say(client, "carl", JOBLOG)
    assert await kept(store) == []  # the model was sure
    await say(client, "carl", button(first, "/deny"))
    [item] = await kept(store)
    assert (item["reason"], item["text"]) == ("did_not_work", JOBLOG)
    assert item["guesses"][0]["intent"] == "jobnet_joblog"


async def test_did_not_work_typed_as_an_answer_counts_too(client: Client, store: Store) -> None:
    await say(client, "dina", JOBLOG)
    await say(client, "dina", "det virker ikke")
    assert [(i["reason"], i["text"]) for i in await kept(store)] == [("did_not_work", JOBLOG)]


async def test_did_not_work_on_a_later_step_is_not_about_the_topic(client: Client, store: Store) -> None:
    replies = await say(client, "emil", JOBLOG)
    replies = await say(client, "emil", button(replies, "/affirm"))  # the first step worked
    for _ in range(5):  # on through the flow's choices to a step that asks "did it work?"
        if any(b["payload"].startswith("/deny") for r in replies for b in r.get("buttons") or []):
            break
        replies = await say(client, "emil", button(replies, "/choose", "/next"))
    await say(client, "emil", button(replies, "/deny"))
    assert await kept(store) == []


async def test_asking_for_a_person_right_after_keeps_the_message_before(client: Client, store: Store) -> None:
    first = await say(client, "fie", JOBLOG)
    await say(client, "fie", button(first, "/talk_to_human"))
    assert [(i["reason"], i["text"]) for i in await kept(store)] == [("to_person", JOBLOG)]


async def test_asking_for_a_person_after_small_talk_or_a_button_keeps_nothing(client: Client, store: Store) -> None:
    await say(client, "gus", "hej")
    await say(client, "gus", "/talk_to_human")
    await say(client, "hal", "/jobnet_joblog")
    await say(client, "hal", "/talk_to_human")
    assert await kept(store) == []


@pytest.mark.parametrize(
    "message",
    [
        "/mitid_get",  # a button's payload
        "mit cpr er 010190-1234",  # a secret: refused and never kept
        "😀😀😀",  # nothing to read
        "   ",
        "?",
        "start forfra",  # a command
        JOBLOG,  # understood
    ],
)
async def test_what_is_never_kept(client: Client, store: Store, message: str) -> None:
    await say(client, "ida", message)
    assert await kept(store) == []


async def test_a_typed_answer_to_the_question_on_screen_is_not_kept(client: Client, store: Store) -> None:
    await say(client, "jon", JOBLOG)
    await say(client, "jon", "ja det virkede")  # the "Det virkede" button, typed
    await say(client, "jon", "jeg vil skrive noget andet")  # "Noget andet, jeg har gjort", in other words
    assert await kept(store) == []
    await say(client, "jon", "hvordan laver man lasagne")  # mid-flow, a question nobody taught the model
    assert [(i["reason"], i["text"]) for i in await kept(store)] == [("fallback", "hvordan laver man lasagne")]


async def test_the_same_message_twice_in_one_conversation_is_kept_once(client: Client, store: Store) -> None:
    for sender in ("kim", "kim", "lis"):
        await say(client, sender, "hvordan laver man lasagne")
    assert len(await kept(store)) == 2  # once per conversation


@pytest.mark.parametrize(
    ("message", "leaked"),
    [
        ("hvordan laver jeg lasagne med 22 33 44 55", "22 33 44 55"),
        ("min telefon 22334455 virker ikke med lasagne", "22334455"),
        ("lasagne +45 22-33-44-55 opskrift", "22-33-44-55"),
        ("lasagne opskrift til ida@example.dk", "ida@example.dk"),
    ],
)
async def test_phone_numbers_and_e_mails_are_masked(client: Client, store: Store, message: str, leaked: str) -> None:
    await say(client, "max", message)
    [item] = await kept(store)
    assert leaked not in item["text"] and ("[telefon]" in item["text"] or "[e-mail]" in item["text"])


@pytest.mark.parametrize("message", ["koden er hest123", "min adgangskode: Sommer2024!"])
async def test_a_message_that_is_only_a_code_is_never_kept(client: Client, store: Store, message: str) -> None:
    await say(client, "nor", message)
    assert await kept(store) == []


@pytest.mark.parametrize(
    ("message", "secret", "shown"),
    [
        ("cpr 01.01.90-1234 lasagne", "01.01.90-1234", "cpr [cpr-nummer] lasagne"),
        ("pin: 4821 til lasagne", "4821", "pin: [kode] til lasagne"),
    ],
)
async def test_codes_and_cpr_numbers_beside_a_question_are_kept_masked(
    client: Client, store: Store, message: str, secret: str, shown: str
) -> None:
    await say(client, "nor", message)
    [item] = await kept(store)
    assert secret not in item["text"] and item["text"] == shown


# ---- grouping (pure) -----------------------------------------------------------------------------------------
def test_similarity_groups_by_the_threshold_in_input_order() -> None:
    unit = np.array([[1.0, 0.0], [0.0, 1.0], [0.8, 0.6], [0.0, 0.0], [0.6, 0.8]])
    assert inbox.similarity_groups(unit, 0.75) == [[0, 2], [1, 4], [3]]
    assert inbox.similarity_groups(unit, 0.99) == [[0], [1], [2], [3], [4]]


def test_the_models_features_group_similar_messages(project_model: IntentModel) -> None:
    texts = [
        "hvordan laver jeg lasagne",
        "min printer siger en mærkelig lyd",
        "hvordan laver man lasagne",
        "printeren laver mærkelig lyd",
        "hvad koster en bus til aarhus",
    ]
    groups = inbox.similarity_groups(inbox.vectors(project_model, texts), 0.6)
    assert sorted(groups) == [[0, 2], [1, 3], [4]]
