"""A lost answer in the web chat: the server answered, the answer never reached the phone, and the citizen
presses "Prøv igen". The retry sends the same message id, so the bot does not run the turn again; it hands
back the answer it gave, and the chat shows its text and its buttons (issue 14: "no reply appears and the
choice buttons drop to 0")."""

from __future__ import annotations

import json
from typing import Any

from bot.storage.store import Store
from tests.channels.test_webchat import Problems, ask, bot_messages, choices, expect, opened

QUESTION = "hvordan bestiller jeg straffeattest"


async def test_try_again_after_a_lost_answer_shows_the_answer_and_its_buttons(
    page: tuple[Any, Problems],
    store: Store,
) -> None:
    tab, problems = page
    await opened(tab)
    sender = await tab.evaluate("() => JSON.parse(localStorage.getItem('ementor-webchat-v1')).sender")
    lost: list[dict[str, Any]] = []

    async def lose_the_first_answer(route: Any) -> None:
        body = json.loads(route.request.post_data or "{}")
        if body.get("message") == QUESTION and not lost:
            answered = await route.fetch()  # the server runs the turn and answers...
            assert answered.status == 200
            lost.append({"message_id": body["message_id"], "answer": await answered.json()})
            await route.abort("connectionreset")  # ...and the answer is lost on the way
            return
        await route.continue_()

    await tab.route("**/webhooks/rest/webhook", lose_the_first_answer)
    await ask(tab, QUESTION)
    await expect(tab.get_by_role("button", name="Prøv igen")).to_be_visible()
    await expect(tab.locator("#input")).to_have_value(QUESTION)
    assert lost and lost[0]["answer"][-1]["buttons"]

    await tab.get_by_role("button", name="Prøv igen").click()
    await expect(bot_messages(tab).last).to_contain_text("Har du MitID?")
    await expect(choices(tab)).to_have_text(["Ja", "Nej", "Tal med en eMentor"])
    await expect(tab.locator("#notice")).to_be_hidden()
    await expect(tab.locator("#log .msg.user p").last).to_have_text(QUESTION)

    conversation = sender.split(".")[0]  # a signed id's conversation is kept under its unsigned part
    turns = [t for t in await store.recent_turns("rest", conversation) if t["text"] == QUESTION]
    assert len(turns) == 1  # answered twice, run once
    await choices(tab).first.click()  # the conversation goes on from the replayed question
    await expect(bot_messages(tab).last).to_contain_text("Log ind med MitID")
    problems[:] = [p for p in problems if "ERR_CONNECTION_RESET" not in p and "Failed to load" not in p]
    assert not problems, problems
