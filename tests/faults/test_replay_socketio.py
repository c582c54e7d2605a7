"""socket.io: a `user_uttered` sent again with the same `message_id` (a client's retry after a dropped
connection) is answered with the reply given the first time, and the turn runs once."""

from __future__ import annotations

from typing import Any

from bot.storage.store import Store
from tests.channels.test_socketio import CRIMINAL_RECORD, kept_under


async def test_a_repeated_message_id_gets_the_first_reply_again(webchat: Any, store: Store) -> None:
    client = await webchat()
    session_id = await client.request_session()
    said = {"message": CRIMINAL_RECORD, "session_id": session_id, "message_id": "w-1"}
    first = [payload for _, payload in await client.utter(said)]
    assert first and first[-1]["quick_replies"]
    again = [payload for _, payload in await client.utter(said)]
    assert again == first  # text and quick replies, as the first time
    in_custom_data = {"message": "hej", "session_id": session_id, "customData": {"message_id": "w-2"}}
    hello = [payload for _, payload in await client.utter(in_custom_data)]
    assert [payload for _, payload in await client.utter(in_custom_data)] == hello
    assert len(await store.recent_turns("socketio", kept_under(session_id))) == 2
