"""The deployment in deploy/: nginx accepts the site and passes requests as the bot expects them (forwarded
headers, the socket.io upgrade, the body limit, HTTP sent to HTTPS), the systemd unit's and the secrets
file's variables are settings the bot accepts, and every environment variable the code reads is named in
deploy/env.md."""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import WSMsgType, web
from aiohttp.test_utils import TestServer

from bench import nginx
from bench.processes import free_port
from bot.config import NOT_SETTINGS, SECRET_ENV, ConfigError, Settings, _leaf_paths, env_name, load_settings
from tests.conftest import ROOT

DEPLOY = ROOT / "deploy"
NUMBER = web.AppKey("number", int)
APP_BODY_LIMIT = 256 * 1024  # bot/app.py: web.Application(client_max_size=...)

needs_nginx = pytest.mark.skipif(
    nginx.binary() is None or shutil.which("openssl") is None,
    reason="nginx or openssl is not installed (apt-get install -y nginx openssl; .ci/run installs nginx)",
)


@pytest.fixture
def certificate(tmp_path: Path) -> tuple[Path, Path]:
    """A self-signed certificate and its key, as the site's placeholders expect them."""
    cert, key = tmp_path / "fullchain.pem", tmp_path / "privkey.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=chat.example.dk",
         "-keyout", str(key), "-out", str(cert)],
        check=True,
        capture_output=True,
    )  # fmt: skip
    return cert, key


class Backend:
    """Two small aiohttp servers standing in for two bot processes: they tell what reached them."""

    def __init__(self) -> None:
        self.servers: list[TestServer] = []

    async def start(self) -> list[int]:
        for number in range(2):
            app = web.Application(client_max_size=APP_BODY_LIMIT)
            app[NUMBER] = number
            app.router.add_route("*", "/socket.io/", self.socket)
            app.router.add_post("/going-down", self.going_down)
            app.router.add_route("*", "/{tail:.*}", self.echo)
            server = TestServer(app, host="127.0.0.1", port=free_port())
            await server.start_server()
            self.servers.append(server)
        return [int(s.port) for s in self.servers if s.port is not None]

    @staticmethod
    async def echo(request: web.Request) -> web.Response:
        body = await request.read()
        seen = {k: request.headers.get(k, "") for k in ("Host", "X-Forwarded-For", "X-Forwarded-Proto")}
        process = request.app[NUMBER]
        return web.json_response({**seen, "path": request.path_qs, "bytes": len(body), "process": process})

    @classmethod
    async def going_down(cls, request: web.Request) -> web.Response:
        """The first process drops the connection unanswered, as one being restarted may."""
        if request.app[NUMBER] == 0 and request.transport is not None:
            request.transport.close()
        return await cls.echo(request)

    @staticmethod
    async def socket(request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        async for message in ws:
            if message.type == WSMsgType.TEXT:
                await ws.send_str(f"echo {message.data}")
        return ws

    async def close(self) -> None:
        for server in self.servers:
            await server.close()


@pytest.fixture
async def backend() -> AsyncIterator[list[int]]:
    servers = Backend()
    try:
        yield await servers.start()
    finally:
        await servers.close()


@pytest.fixture
def running(tmp_path: Path) -> Iterator[list[subprocess.Popen[bytes]]]:
    started: list[subprocess.Popen[bytes]] = []
    yield started
    for proc in started:
        nginx.stop(proc)


# ---- nginx ---------------------------------------------------------------------------------------------------


@needs_nginx
def test_the_deployed_site_passes_nginx_t_with_its_includes_and_a_certificate(
    tmp_path: Path, certificate: tuple[Path, Path]
) -> None:
    nginx.install(tmp_path, [8081, 8082])
    config = nginx.main_config(tmp_path, f"    include {nginx.site(tmp_path, *certificate)};")
    checked = nginx.check(config)
    assert checked.returncode == 0, checked.stderr
    assert "test is successful" in checked.stderr


@needs_nginx
def test_nginx_t_fails_on_a_broken_site(tmp_path: Path, certificate: tuple[Path, Path]) -> None:
    """The check above can fail: a site whose certificate is missing is refused."""
    nginx.install(tmp_path, [8081, 8082])
    site = nginx.site(tmp_path, tmp_path / "missing.pem", certificate[1])
    checked = nginx.check(nginx.main_config(tmp_path, f"    include {site};"))
    assert checked.returncode != 0 and "missing.pem" in checked.stderr


def test_the_load_test_and_the_site_share_one_upstream_file(tmp_path: Path) -> None:
    deployed = (DEPLOY / "nginx" / "upstream.conf").read_text("utf-8")
    rendered = nginx.upstream([40001, 40002, 40003])
    for block in ("upstream ementor {", "upstream ementor_socketio {"):
        assert block in deployed and block in rendered
    assert rendered.count("server 127.0.0.1:4000") == 2 * 3  # each upstream: every port, once
    assert "8081" not in rendered
    # everything but the server lines is the deployed file's
    assert [line for line in rendered.splitlines() if "server 127.0.0.1:" not in line] == [
        line for line in deployed.splitlines() if "server 127.0.0.1:" not in line
    ]
    site = (DEPLOY / "nginx" / "ementor.conf").read_text("utf-8")
    assert f"include {nginx.INSTALLED}upstream.conf;" in site and f"include {nginx.INSTALLED}proxy.conf;" in site


@needs_nginx
async def test_the_site_sends_http_to_https_and_passes_https_with_forwarded_headers(
    tmp_path: Path, certificate: tuple[Path, Path], backend: list[int], running: list[subprocess.Popen[bytes]]
) -> None:
    http, https = free_port(), free_port()
    nginx.install(tmp_path, backend)
    site = nginx.site(tmp_path, *certificate, ports=(http, https))
    running.append(nginx.start(nginx.main_config(tmp_path, f"    include {site};"), https))
    async with aiohttp.ClientSession() as session:
        async with session.get(f"http://127.0.0.1:{http}/ementor?day=1", allow_redirects=False) as response:
            assert response.status == 301
            assert response.headers["Location"] == "https://127.0.0.1/ementor?day=1"
        async with session.get(f"https://127.0.0.1:{https}/status", ssl=False) as response:
            assert response.status == 200
            seen: dict[str, Any] = await response.json()
    assert seen["X-Forwarded-Proto"] == "https"
    assert seen["X-Forwarded-For"].split(",")[-1].strip() == "127.0.0.1"  # the last entry: what the bot reads
    assert seen["path"] == "/status"


@needs_nginx
async def test_behind_nginx_turns_spread_socket_io_upgrades_the_body_limit_is_the_apps_metrics_stay_inside(
    tmp_path: Path, backend: list[int], running: list[subprocess.Popen[bytes]]
) -> None:
    listen = free_port()
    running.append(nginx.start(nginx.loopback_config(tmp_path, listen, backend), listen))
    base = f"http://127.0.0.1:{listen}"
    async with aiohttp.ClientSession() as session:
        async with session.post(f"{base}/webhooks/rest/webhook", data=b"x" * (APP_BODY_LIMIT - 1024)) as response:
            assert response.status == 200 and (await response.json())["bytes"] == APP_BODY_LIMIT - 1024
        async with session.post(f"{base}/webhooks/rest/webhook", data=b"x" * (APP_BODY_LIMIT + 1)) as response:
            assert response.status == 413  # refused by nginx, as the app would
        async with session.ws_connect(f"{base}/socket.io/?EIO=4&transport=websocket") as ws:
            await ws.send_str("hej")
            assert (await ws.receive_str()) == "echo hej"
        answered = []
        for _ in range(4):
            async with session.get(f"{base}/status") as response:
                answered.append((await response.json())["process"])
        async with session.get(f"{base}/metrics") as response:
            assert response.status == 403  # Prometheus scrapes each process's own port
    assert sorted(set(answered)) == [0, 1]  # both processes take turns


@needs_nginx
async def test_a_post_dropped_by_a_process_going_down_is_answered_by_the_other(
    tmp_path: Path, backend: list[int], running: list[subprocess.Popen[bytes]]
) -> None:
    listen = free_port()
    running.append(nginx.start(nginx.loopback_config(tmp_path, listen, backend), listen))
    async with aiohttp.ClientSession() as session:
        statuses, answered = [], []
        for n in range(4):
            body = {"sender": "s", "message": "hej", "message_id": f"m{n}"}
            async with session.post(f"http://127.0.0.1:{listen}/going-down", json=body) as response:
                statuses.append(response.status)
                answered.append((await response.json())["process"] if response.status == 200 else None)
    assert statuses == [200] * 4 and answered == [1] * 4


# ---- systemd and the environment ---------------------------------------------------------------------------


def _unit_environment(unit: str, instance: str) -> dict[str, str]:
    text = (DEPLOY / "systemd" / unit).read_text("utf-8").replace("%i", instance)
    return dict(re.findall(r"^Environment=([A-Z0-9_]+)=(.*)$", text, flags=re.MULTILINE))


def test_the_systemd_unit_runs_each_instance_on_its_own_port(tmp_path: Path) -> None:
    unit = (DEPLOY / "systemd" / "ementor@.service").read_text("utf-8")
    assert re.search(r"^ExecStart=/opt/ementor/venv/bin/ementor run$", unit, flags=re.MULTILINE)
    config = tmp_path / "config.yml"
    config.write_text("version: 1\n", "utf-8")
    environ = _unit_environment("ementor@.service", "8082")
    environ.pop("EMENTOR_CONFIG")
    settings = load_settings(config, environ)
    assert (settings.server.host, settings.server.port) == ("127.0.0.1", 8082)
    upstream = (DEPLOY / "nginx" / "upstream.conf").read_text("utf-8")
    assert "server 127.0.0.1:8082 " in upstream  # the port nginx sends to is an instance's


def test_the_secrets_file_example_holds_settings_the_bot_accepts(tmp_path: Path) -> None:
    config = tmp_path / "config.yml"
    config.write_text("version: 1\n", "utf-8")
    lines = (DEPLOY / "ementor.env.example").read_text("utf-8").splitlines()
    environ = dict(line.split("=", 1) for line in lines if re.match(r"^[A-Z0-9_]+=", line))
    settings = load_settings(config, environ)
    assert settings.database.url.startswith("postgresql+asyncpg://") and settings.console_secret == "CHANGE-ME"
    with pytest.raises(ConfigError, match="EMENTOR_DATABASE_ULR"):
        load_settings(config, {"EMENTOR_DATABASE_ULR": "x"})  # a misspelt one stops start-up


def _read_by_code() -> set[str]:
    """Every environment variable the code names: EMENTOR_* anywhere in bot/ and handlers/, any literal name
    read through os.environ / os.getenv (not a socket.io request's environ), and every setting's variable."""
    names: set[str] = set()
    reads = re.compile(r"""os\.(?:environ(?:\.get|\.setdefault|\.pop)?\(|environ\[|getenv\()\s*["']([A-Za-z0-9_]+)""")
    for folder in ("bot", "handlers"):
        for path in (ROOT / folder).rglob("*.py"):
            source = path.read_text("utf-8")
            names.update(re.findall(r"\bEMENTOR_[A-Z0-9_]*[A-Z0-9]", source))
            names.update(reads.findall(source))
    names.update(SECRET_ENV.get(dotted) or env_name(dotted) for dotted, _, _ in _leaf_paths(Settings, ""))
    names.update(NOT_SETTINGS)
    return names


def test_every_environment_variable_the_code_reads_is_in_env_md() -> None:
    documented = set(re.findall(r"`([A-Z][A-Z0-9_]*[A-Z0-9])`", (DEPLOY / "env.md").read_text("utf-8")))
    read = _read_by_code()
    assert {"EMENTOR_DATABASE_URL", "EMENTOR_TELEGRAM_TOKEN", "EMENTOR_CONFIG", "PTB_TIMEDELTA"} <= read
    assert sorted(read - documented) == []
    stale = {n for n in documented - read if n.startswith("EMENTOR_")}
    assert sorted(stale) == []  # nothing documented that the bot no longer reads
