"""The Rasa backend: parses through a Rasa server, and falls back to the built-in model when it is down."""

from __future__ import annotations

import logging
import os
import socket

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from bot.nlu.backends import BuiltinBackend, RasaBackend
from bot.nlu.classifier import IntentModel, Thresholds


def fake_rasa_app(intent: str) -> web.Application:
    async def parse(request: web.Request) -> web.Response:
        text = (await request.json())["text"]
        ranking = [{"name": intent, "confidence": 0.9}]
        return web.json_response({"text": text, "intent": ranking[0], "intent_ranking": ranking, "entities": []})

    app = web.Application()
    app.router.add_post("/model/parse", parse)
    return app


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_answers_come_from_rasa(project_model: IntentModel) -> None:
    async with TestServer(fake_rasa_app("workshops")) as server:
        backend = RasaBackend(str(server.make_url("/")), 2.0, BuiltinBackend(project_model, Thresholds()))
        result = await backend.parse("hvordan bestiller jeg straffeattest")
        await backend.close()
    assert result["intent"]["name"] == "workshops"  # not what the built-in model would say
    assert result["language"] == "da"


async def test_rasas_out_of_scope_intent_is_reported_as_fallback(project_model: IntentModel) -> None:
    async with TestServer(fake_rasa_app("out_of_scope")) as server:
        backend = RasaBackend(str(server.make_url("/")), 2.0, BuiltinBackend(project_model, Thresholds()))
        result = await backend.parse("hvad bliver vejret")
        await backend.close()
    assert result["intent"]["name"] == "nlu_fallback"


async def test_down_server_falls_back_with_one_log_line(
    project_model: IntentModel, caplog: pytest.LogCaptureFixture
) -> None:
    backend = RasaBackend(f"http://127.0.0.1:{free_port()}", 0.5, BuiltinBackend(project_model, Thresholds()))
    with caplog.at_level(logging.WARNING):
        first = await backend.parse("hvordan bestiller jeg straffeattest")
        second = await backend.parse("straffeattest")
    await backend.close()
    assert first["intent"]["name"] == second["intent"]["name"] == "criminal_record"
    assert [r.message for r in caplog.records if "unavailable" in r.message] == [
        f"Rasa server {backend.url} unavailable (ClientConnectorError); parsing with the built-in model"
    ]


@pytest.mark.rasa
@pytest.mark.skipif("RASA_URL" not in os.environ, reason="set RASA_URL to a Rasa server built by `make rasa`")
async def test_real_rasa_server_understands_our_data(project_model: IntentModel) -> None:
    backend = RasaBackend(os.environ["RASA_URL"], 30.0, BuiltinBackend(project_model, Thresholds()))
    result = await backend.parse("hvordan bestiller jeg en straffeattest")
    await backend.close()
    assert backend.healthy, "the Rasa server did not answer"
    assert result["intent"]["name"] == "criminal_record"
    assert {"intent_ranking", "entities", "text"} <= set(result)
