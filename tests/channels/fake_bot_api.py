"""A local stand-in for the Telegram Bot API, for driving the real python-telegram-bot stack in tests.

It serves `POST /bot<token>/<method>` on 127.0.0.1 like api.telegram.org does, records every call with
its parameters decoded, answers the methods the bot uses with minimal but valid results, and hands out
queued updates to getUpdates (long polling, with the timeout capped so a test never hangs).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import time
from dataclasses import dataclass
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestServer

TOKEN = "123456:TEST-token_for-the-fake-api"
BOT_USER = {"id": 123456, "is_bot": True, "first_name": "eMentor", "username": "ementor_test_bot"}
TEXT_FIELDS = {"text", "caption", "callback_query_id", "url", "secret_token", "photo", "document"}
MAX_LONG_POLL = 2.0


@dataclass(frozen=True)
class Call:
    method: str
    params: dict[str, Any]


def decode(form: dict[str, str]) -> dict[str, Any]:
    """PTB sends each parameter form-encoded, non-strings as JSON."""
    out: dict[str, Any] = {}
    for key, value in form.items():
        if key in TEXT_FIELDS:
            out[key] = value
            continue
        try:
            out[key] = json.loads(value)
        except json.JSONDecodeError:
            out[key] = value
    return out


class FakeBotApi:
    def __init__(self, token: str = TOKEN) -> None:
        self.token = token
        self.calls: list[Call] = []
        self.updates: list[dict[str, Any]] = []
        self.refuse: dict[str, tuple[int, str]] = {}  # method -> (error code, description) to answer with
        self.retry_after = 5  # seconds, in a 429 (flood control) answer
        self._changed = asyncio.Condition()
        self._ids = itertools.count(1)
        app = web.Application()
        app.router.add_post("/bot{token}/{method}", self._handle)
        self.server = TestServer(app, host="127.0.0.1")

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server.port}/bot"

    async def __aenter__(self) -> FakeBotApi:
        await self.server.start_server()
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.server.close()

    def sent(self, method: str) -> list[dict[str, Any]]:
        return [c.params for c in self.calls if c.method == method]

    async def wait_for(self, method: str, count: int = 1, timeout: float = 15.0) -> list[dict[str, Any]]:
        """The parameters of the first `count` calls of `method`, once that many arrived."""
        async with self._changed:
            await asyncio.wait_for(self._changed.wait_for(lambda: len(self.sent(method)) >= count), timeout)
        return self.sent(method)[:count]

    async def queue_update(self, update: dict[str, Any]) -> None:
        async with self._changed:
            self.updates.append(update)
            self._changed.notify_all()

    async def _handle(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            return web.json_response({"ok": False, "error_code": 401, "description": "Unauthorized"}, status=401)
        method = request.match_info["method"]
        form = await request.post()
        params = decode({k: v for k, v in form.items() if isinstance(v, str)})
        for key, value in form.items():  # an uploaded file (sendDocument with the file itself)
            if isinstance(value, web.FileField):
                params[key] = {"filename": value.filename, "content": value.file.read().decode("utf-8", "replace")}
        async with self._changed:
            self.calls.append(Call(method, params))
            self._changed.notify_all()
        if method in self.refuse:
            code, description = self.refuse[method]
            body: dict[str, Any] = {"ok": False, "error_code": code, "description": description}
            if code == 429:
                body["parameters"] = {"retry_after": self.retry_after}
            return web.json_response(body, status=code)
        answer = getattr(self, f"_{method}", None)
        if answer is None:
            return web.json_response({"ok": False, "error_code": 404, "description": "Not Found"}, status=404)
        return web.json_response({"ok": True, "result": await answer(params)})

    def _message(self, params: dict[str, Any], **content: Any) -> dict[str, Any]:
        chat = {"id": params["chat_id"], "type": "private", "first_name": "Citizen"}
        return {"message_id": next(self._ids), "date": int(time.time()), "chat": chat, "from": BOT_USER, **content}

    async def _getMe(self, params: dict[str, Any]) -> Any:
        return BOT_USER

    async def _sendMessage(self, params: dict[str, Any]) -> Any:
        return self._message(params, text=params["text"])

    async def _sendPhoto(self, params: dict[str, Any]) -> Any:
        return self._message(params, photo=[{"file_id": "p", "file_unique_id": "p", "width": 1, "height": 1}])

    async def _sendDocument(self, params: dict[str, Any]) -> Any:
        return self._message(params, document={"file_id": "d", "file_unique_id": "d"})

    async def _answerCallbackQuery(self, params: dict[str, Any]) -> Any:
        return True

    async def _setWebhook(self, params: dict[str, Any]) -> Any:
        return True

    async def _deleteWebhook(self, params: dict[str, Any]) -> Any:
        return True

    async def _getUpdates(self, params: dict[str, Any]) -> Any:
        offset = int(params.get("offset") or 0)
        wait = min(float(params.get("timeout") or 0), MAX_LONG_POLL)

        def pending() -> list[dict[str, Any]]:
            return [u for u in self.updates if u["update_id"] >= offset]

        async with self._changed:
            self.updates = pending()  # an offset confirms every update before it, as Telegram does
            if not self.updates and wait > 0:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._changed.wait_for(lambda: bool(pending())), wait)
            return pending()
