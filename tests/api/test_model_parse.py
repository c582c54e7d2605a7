"""`POST /model/parse` answers Rasa's JSON; bad requests get Rasa's error shape, not a crash."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from aiohttp.test_utils import TestClient, TestServer

from bot.app import build_app
from bot.nlu.catalogue import catalogue
from bot.nlu.classifier import IntentModel
from bot.storage.store import Store
from tests.conftest import app_settings


@pytest.fixture
async def client(project_model: IntentModel, store: Store) -> AsyncIterator[TestClient[object, object]]:
    async with TestClient(TestServer(build_app(app_settings(), project_model, store))) as test_client:
        yield test_client


async def test_parse_answers_like_rasa(client: TestClient[object, object]) -> None:
    response = await client.post("/model/parse", json={"text": "jeg har faaet nyt job hvordan afmelder jeg mig"})
    assert response.status == 200
    body = await response.json()
    assert body["intent"]["name"] == "jobnet_deregister"
    assert body["text"] == "jeg har faaet nyt job hvordan afmelder jeg mig"
    assert body["entities"] == [] and body["language"] == "da"
    assert len(body["intent_ranking"]) == 10


async def test_english_is_detected(client: TestClient[object, object]) -> None:
    body = await (await client.post("/model/parse", json={"text": "how do i order a criminal record"})).json()
    assert (body["intent"]["name"], body["language"]) == ("criminal_record", "en")


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        (b"{not json", "not valid JSON"),
        (b'{"message": "hej"}', '"text" field'),
        (b'["hej"]', '"text" field'),
        (b'{"text": 42}', "must be a string"),
        (b"\xff\xfe\x00\x80", "not valid JSON"),
    ],
)
async def test_bad_requests_get_rasas_error_shape(
    client: TestClient[object, object], payload: bytes, message: str
) -> None:
    response = await client.post("/model/parse", data=payload, headers={"Content-Type": "application/json"})
    assert response.status == 400
    body = await response.json()
    assert body["status"] == "failure" and body["code"] == 400 and message in body["message"]


async def test_odd_texts_parse_to_fallback(client: TestClient[object, object]) -> None:
    for text in ["", "🤷‍♀️🤷‍♀️", "\u0000\u0007", "x" * 100_000]:
        response = await client.post("/model/parse", json={"text": text})
        assert response.status == 200
        assert (await response.json())["intent"]["name"] == "nlu_fallback"


async def test_status_names_the_model(client: TestClient[object, object]) -> None:
    body = await (await client.get("/status")).json()
    assert body["backend"] == "builtin" and body["intents"] == len(catalogue())


async def test_front_page_is_served(client: TestClient[object, object]) -> None:
    response = await client.get("/")
    assert response.status == 200 and 'lang="da"' in await response.text()
