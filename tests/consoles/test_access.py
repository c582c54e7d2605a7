"""Who reaches what: every console and eMentor API route walked with no session, an eMentor's and an admin's;
CSRF refusal; session expiry; login throttling; cookie flags. On SQLite and PostgreSQL."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest

from bot.config import ConsoleSettings
from bot.consoles.auth import COOKIE
from bot.core.clock import ManualClock
from bot.escalation import accounts
from bot.nlu.classifier import IntentModel
from bot.storage.store import Store
from tests.conftest import app_settings
from tests.consoles.helpers import NOW, PASSWORD, Client, add_user, console_client, logged_in, login

PROTECTED = ("/ementor", "/admin", "/api/ementor", "/api/admin", "/logout")
SAMPLE = {"id": "1", "ref": "ABCDEF", "day": "2026-12-03", "lang": "en", "intent": "mitid_get", "group": "booking",
          "kind": "step", "key": "mitid_get.which_way"}  # fmt: skip


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(NOW)


@pytest.fixture
async def client(project_model: IntentModel, store: Store, clock: ManualClock) -> AsyncIterator[Client]:
    await add_user(store, "anna", "ementor", "Anna Hansen")
    await add_user(store, "ada", "admin", "Ada Admin")
    async with console_client(project_model, store, clock) as test_client:
        yield test_client


def routes(client: Client) -> list[tuple[str, str]]:
    """Every (method, path) the app serves under the protected prefixes, with sample values for parameters."""
    found = []
    for route in client.server.app.router.routes():
        info = route.resource.get_info() if route.resource is not None else {}
        path = info.get("path") or info.get("formatter") or ""
        if route.method == "HEAD" or not path.startswith(PROTECTED):
            continue
        found.append((route.method, re.sub(r"\{(\w+)(:[^}]*)?\}", lambda m: SAMPLE[m.group(1)], path)))
    return sorted(set(found))


async def status_of(client: Client, method: str, path: str, csrf: str = "") -> int:
    headers = {"X-CSRF-Token": csrf} if csrf else {}
    data = {"csrf": csrf} if csrf and method == "POST" and not path.startswith("/api/") else None
    response = await client.request(method, path, allow_redirects=False, headers=headers, data=data)
    return response.status


async def test_every_route_is_closed_without_a_session(client: Client) -> None:
    walked = routes(client)
    assert len(walked) >= 30, walked  # the walk sees the console and the API, not a few routes
    for method, path in walked:
        status = await status_of(client, method, path)
        if path.startswith("/api/") or path == "/ementor/events":
            assert status == 401, (method, path, status)
        else:
            assert status == 303, (method, path, status)  # to the login page
    response = await client.get("/ementor/day/2026-12-03", allow_redirects=False)
    assert response.headers["Location"] == "/login?next=%2Fementor%2Fday%2F2026-12-03"


async def test_an_ementor_reaches_no_admin_route_and_an_admin_reaches_both(client: Client) -> None:
    csrf = await logged_in(client, "anna")
    for method, path in routes(client):
        if path == "/logout" or path == "/ementor/events":
            continue
        status = await status_of(client, method, path, csrf)
        if path.startswith(("/admin", "/api/admin")):
            assert status == 403, (method, path, status)
        else:
            assert status not in (401, 403, 500), (method, path, status)
    client.session.cookie_jar.clear()
    csrf = await logged_in(client, "ada")
    assert (await client.get("/admin/")).status == 200
    assert "Anna Hansen" in await (await client.get("/admin/accounts")).text()
    assert (await client.get("/ementor/")).status == 200  # an admin does what an eMentor does


async def test_a_form_without_the_csrf_token_changes_nothing(client: Client, store: Store) -> None:
    await logged_in(client, "anna")
    response = await client.post("/ementor/presence", data={"online": "1"}, allow_redirects=False)
    assert response.status == 403 and "Siden er forældet" in await response.text()
    anna = await store.transaction(lambda tx: accounts.by_username(tx, "anna"))
    assert anna is not None and anna["online_until"] is None
    api = await client.post("/api/ementor/presence", json={"online": True})
    assert api.status == 403  # the API on a session needs the token too
    wrong = await client.post("/ementor/presence", data={"online": "1", "csrf": "x" * 32}, allow_redirects=False)
    assert wrong.status == 403


async def test_the_csrf_token_lets_the_form_through(client: Client, store: Store) -> None:
    csrf = await logged_in(client, "anna")
    response = await client.post("/ementor/presence", data={"online": "1", "csrf": csrf}, allow_redirects=False)
    assert response.status == 303
    anna = await store.transaction(lambda tx: accounts.by_username(tx, "anna"))
    assert anna is not None and anna["online_until"] is not None and anna["online_until"] > NOW


async def test_an_idle_session_and_an_old_one_end(client: Client, clock: ManualClock) -> None:
    await logged_in(client, "anna")
    clock.advance(timedelta(minutes=29))
    assert (await client.get("/ementor/", allow_redirects=False)).status == 200  # used: idle time starts again
    clock.advance(timedelta(minutes=31))
    assert (await client.get("/ementor/", allow_redirects=False)).status == 303
    await logged_in(client, "anna")
    for _ in range(12 * 4):  # busy all day, never idle: still over after 12 hours
        clock.advance(timedelta(minutes=15))
        await client.get("/ementor/queue", allow_redirects=False)
    clock.advance(timedelta(minutes=1))  # 12 hours and a minute after logging in
    assert (await client.get("/ementor/", allow_redirects=False)).status == 303


async def test_logout_ends_the_session(client: Client) -> None:
    csrf = await logged_in(client, "anna")
    cookie = client.session.cookie_jar.filter_cookies(client.make_url("/"))[COOKIE].value
    response = await client.post("/logout", data={"csrf": csrf}, allow_redirects=False)
    assert response.status == 303 and response.headers["Location"] == "/login?out=1"
    # the old cookie, kept by someone, opens nothing
    again = await client.get("/ementor/", cookies={COOKIE: cookie}, allow_redirects=False)
    assert again.status == 303


async def test_wrong_passwords_pause_that_account_at_that_address(client: Client, clock: ManualClock) -> None:
    for _ in range(4):
        assert (await login(client, "anna", "forkert-kode-123")).status == 401
    paused = await login(client, "anna", "forkert-kode-123")
    assert paused.status == 429 and "For mange forkerte forsøg. Prøv igen kl. 10.15." in await paused.text()
    assert (await login(client, "anna", PASSWORD)).status == 429  # the right password waits too
    clock.advance(timedelta(minutes=16))
    assert (await login(client, "anna", PASSWORD)).status == 303


async def test_nobody_locks_an_ementor_out_from_somewhere_else(
    project_model: IntentModel, store: Store, clock: ManualClock
) -> None:
    """Wrong passwords for Anna's name from one place pause that place for her name — not Anna at her own desk
    — and many names tried from one place pause the place. (Behind a proxy: `console.trust_forwarded_for`.)"""
    await add_user(store, "anna", "ementor", "Anna Hansen")
    await add_user(store, "ada", "admin", "Ada Admin")
    settings = dataclasses.replace(app_settings(), console=ConsoleSettings(trust_forwarded_for=True))
    async with console_client(project_model, store, clock, settings) as client:
        attacker, desk = {"X-Forwarded-For": "203.0.113.9"}, {"X-Forwarded-For": "192.0.2.20"}
        for _ in range(6):
            await login(client, "anna", "forkert-kode-123", **attacker)
        assert (await login(client, "anna", PASSWORD, **attacker)).status == 429
        client.session.cookie_jar.clear()
        assert (await login(client, "anna", PASSWORD, **desk)).status == 303  # Anna at her desk gets in
        client.session.cookie_jar.clear()
        for number in range(20):  # guessing many names from one place
            await login(client, f"navn{number}", "forkert-kode-123", **attacker)
        assert (await login(client, "ada", PASSWORD, **attacker)).status == 429
        assert (await login(client, "ada", PASSWORD, **desk)).status == 303


async def test_the_wrong_name_and_the_wrong_password_say_the_same(client: Client) -> None:
    unknown = await login(client, "nobody", PASSWORD)
    wrong = await login(client, "anna", "forkert-kode-123")
    assert unknown.status == wrong.status == 401
    assert "Forkert brugernavn eller adgangskode." in await unknown.text()
    assert "Forkert brugernavn eller adgangskode." in await wrong.text()


async def test_a_disabled_account_is_out_at_once(client: Client, store: Store) -> None:
    await logged_in(client, "anna")
    anna = await store.transaction(lambda tx: accounts.by_username(tx, "anna"))
    assert anna is not None
    await store.transaction(lambda tx: accounts.set_active(tx, int(anna["id"]), False))
    assert (await client.get("/ementor/", allow_redirects=False)).status == 303
    client.session.cookie_jar.clear()
    assert (await login(client, "anna")).status == 401


async def test_the_session_cookie_is_http_only_strict_and_secure_over_https(client: Client) -> None:
    plain = await login(client, "anna")
    cookie = plain.cookies[COOKIE]
    assert cookie["httponly"] and cookie["samesite"] == "Strict" and not cookie["secure"]
    client.session.cookie_jar.clear()
    proxied = await login(client, "anna", **{"X-Forwarded-Proto": "https"})
    assert proxied.cookies[COOKIE]["secure"]


async def test_the_login_form_needs_its_own_token_and_never_sends_you_elsewhere(client: Client) -> None:
    forged = await client.post("/login", data={"username": "anna", "password": PASSWORD}, allow_redirects=False)
    assert forged.status == 403  # a login posted from another site
    page = await client.get("/login?next=//evil.example/x")
    token = re.search(r'name="login_csrf" value="([^"]+)"', await page.text())
    assert token is not None
    response = await client.post(
        "/login",
        data={"login_csrf": token.group(1), "username": "anna", "password": PASSWORD, "next": "//evil.example/x"},
        allow_redirects=False,
    )
    assert response.status == 303 and response.headers["Location"] == "/ementor/"


async def test_pages_forbid_inline_scripts_and_framing(client: Client) -> None:
    await logged_in(client, "anna")
    response = await client.get("/ementor/")
    policy = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "frame-ancestors 'none'" in policy
    assert response.headers["Cache-Control"] == "no-store"


async def test_english_is_one_click_away(client: Client) -> None:
    await logged_in(client, "anna")
    response = await client.get("/console/lang/en?next=/ementor/queue")
    assert (
        response.status == 200
        and "Queue" in await response.text()
        and "No citizens are waiting" in await response.text()
    )


@pytest.mark.parametrize(
    "target", ["/%09/evil.example/x", "//evil.example", "/\\evil.example", "https://evil.example", "/%0A/evil.example"]
)
async def test_a_link_never_sends_you_to_another_site(client: Client, target: str) -> None:
    response = await client.get(f"/console/lang/en?next={target}", allow_redirects=False)
    if "%09" in target or "%0A" in target:  # a control character in the query: refused at the edge, no redirect
        assert response.status == 400 and "Location" not in response.headers
    else:
        assert response.status == 303 and response.headers["Location"] == "/ementor/"


async def test_odd_addresses_get_the_consoles_own_pages(client: Client) -> None:
    await logged_in(client, "anna")
    for path in ("/ementor/day/9999-12-31", "/ementor/day/0001-01-01", "/ementor/day/2026-13-45", "/ementor/nope"):
        response = await client.get(path, allow_redirects=False)
        assert response.status == 404 and "Findes ikke" in await response.text(), path
    history = await client.get("/ementor/history?from=0001-01-01&to=9999-12-31")
    assert history.status == 200
    assert (await client.get("/logout", allow_redirects=False)).headers["Location"] == "/ementor/"
