"""nginx in front of bot processes, from the deployment's own files (deploy/nginx/), for the load test and
the test that checks the site.

deploy/nginx/upstream.conf names the processes (one `server 127.0.0.1:PORT ...;` line each) and
deploy/nginx/proxy.conf says how requests are passed to them; the site, deploy/nginx/ementor.conf, includes
both from /etc/nginx/ementor/. Here the same files are written into a folder of their own with other ports
(`upstream`) and the paths pointed there (`site`), so what is load-tested is what is deployed. nginx runs as
a child process in the foreground (`daemon off`), with its pid, logs and temporary files in that folder.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import time
from collections import Counter
from pathlib import Path

from bench.common import ROOT

DEPLOY = ROOT / "deploy" / "nginx"
INSTALLED = "/etc/nginx/ementor/"  # where the site includes upstream.conf and proxy.conf from
_SERVER = re.compile(r"^(\s*)server 127\.0\.0\.1:\d+(.*)$")
START_TIMEOUT = 10.0


def binary() -> str | None:
    """The nginx program (Debian puts it in /usr/sbin, often not on a user's PATH), or None."""
    return shutil.which("nginx") or shutil.which("nginx", path="/usr/sbin:/sbin")


def upstream(ports: list[int]) -> str:
    """deploy/nginx/upstream.conf with each upstream block's server lines replaced by one per port (each
    keeping the first line's parameters)."""
    out: list[str] = []
    written = False
    for line in (DEPLOY / "upstream.conf").read_text("utf-8").splitlines():
        match = _SERVER.match(line)
        if match is None:
            written = False
            out.append(line)
        elif not written:
            indent, parameters = match.groups()
            out += [f"{indent}server 127.0.0.1:{port}{parameters}" for port in ports]
            written = True
    return "\n".join(out) + "\n"


def install(folder: Path, ports: list[int]) -> Path:
    """upstream.conf (for `ports`) and proxy.conf in `folder`/ementor/, as the site expects them in
    /etc/nginx/ementor/; that folder."""
    target = folder / "ementor"
    target.mkdir(parents=True, exist_ok=True)
    (target / "upstream.conf").write_text(upstream(ports), "utf-8")
    shutil.copyfile(DEPLOY / "proxy.conf", target / "proxy.conf")
    return target


def main_config(folder: Path, http: str) -> Path:
    """nginx.conf in `folder`: foreground, one worker, pid, error log and temporary files in `folder`;
    `http` is what goes inside the http block."""
    temp = "\n".join(
        f"    {kind}_temp_path {folder / 'tmp' / kind};"
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    # started by root, the workers would run as nobody, who may not enter a private temporary folder
    user = "user root;\n" if os.geteuid() == 0 else ""
    path = folder / "nginx.conf"
    path.write_text(
        f"{user}daemon off;\nworker_processes 1;\npid {folder / 'nginx.pid'};\nerror_log {folder / 'error.log'} warn;\n"
        f"events {{\n    worker_connections 4096;\n}}\nhttp {{\n    access_log off;\n{temp}\n{http}\n}}\n",
        "utf-8",
    )
    (folder / "tmp").mkdir(exist_ok=True)
    return path


def site(folder: Path, certificate: Path, key: Path, ports: tuple[int, int] | None = None) -> Path:
    """The deployed site (deploy/nginx/ementor.conf) pointed at `folder`: its includes, its certificate and
    key, its logs. With `ports` (http, https) it listens on 127.0.0.1 there instead of 80 and 443, so it can
    run without root; without, ports stay as deployed (`nginx -t` checks without listening)."""
    text = (DEPLOY / "ementor.conf").read_text("utf-8").replace(INSTALLED, f"{folder / 'ementor'}/")
    text = text.replace("/etc/ssl/ementor/fullchain.pem", str(certificate))
    text = text.replace("/etc/ssl/ementor/privkey.pem", str(key))
    text = text.replace("/var/log/nginx/", f"{folder}/")
    if ports is not None:
        text = re.sub(r"^\s*listen \[::\]:.*\n", "", text, flags=re.MULTILINE)
        text = text.replace("listen 80;", f"listen 127.0.0.1:{ports[0]};")
        text = text.replace("listen 443 ", f"listen 127.0.0.1:{ports[1]} ")
    path = folder / "site.conf"
    path.write_text(text, "utf-8")
    return path


def loopback_config(folder: Path, listen: int, ports: list[int]) -> Path:
    """A config that listens on 127.0.0.1:`listen` (plain HTTP: the load test measures the proxying, not
    TLS) and passes to `ports` through the deployment's upstream.conf and proxy.conf."""
    included = install(folder, ports)
    http = (
        f"    include {included / 'upstream.conf'};\n"
        f"    server {{\n        listen 127.0.0.1:{listen};\n        include {included / 'proxy.conf'};\n    }}"
    )
    return main_config(folder, http)


def start(config: Path, listen: int) -> subprocess.Popen[bytes]:
    """nginx with `config` in the foreground, once it accepts connections on 127.0.0.1:`listen`."""
    program = binary()
    if program is None:
        raise RuntimeError("nginx is not installed: apt-get install -y nginx")
    folder = config.parent
    proc = subprocess.Popen(
        [program, "-c", str(config), "-p", f"{folder}/", "-e", str(folder / "error.log")],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"nginx stopped (exit code {proc.returncode}):\n{errors(proc, folder)}")
        try:
            with socket.create_connection(("127.0.0.1", listen), timeout=0.2):
                return proc
        except OSError:
            time.sleep(0.05)
    stop(proc)
    raise RuntimeError(f"nginx did not listen on port {listen} within {START_TIMEOUT:.0f} s")


def errors(proc: subprocess.Popen[bytes], folder: Path) -> str:
    said = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
    log = folder / "error.log"
    return said + (log.read_text(errors="replace") if log.exists() else "")


def error_summary(folder: Path) -> Counter[str]:
    """nginx's error log in `folder`, counted by kind (the message without the connection's details)."""
    log = folder / "error.log"
    kinds: Counter[str] = Counter()
    for line in log.read_text(errors="replace").splitlines() if log.exists() else []:
        match = re.search(r"\[(warn|error|crit|alert|emerg)\] [\d#]+: (?:\*\d+ )?([^,(]+)", line)
        if match:
            upstream = re.search(r'upstream: "http://([\d.:]+)', line)
            where = f" ({upstream.group(1)})" if upstream else ""
            kinds[f"{match.group(1)}: {match.group(2).strip()}{where}"] += 1
    return kinds


def stop(proc: subprocess.Popen[bytes]) -> None:
    """SIGQUIT (nginx's graceful stop), then kill after 5 s."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGQUIT)
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    if proc.stderr:
        proc.stderr.close()


def check(config: Path) -> subprocess.CompletedProcess[str]:
    """`nginx -t` on `config`: the syntax, every include and the certificates, without listening."""
    program = binary()
    if program is None:
        raise RuntimeError("nginx is not installed")
    folder = config.parent
    return subprocess.run(
        [program, "-t", "-c", str(config), "-p", f"{folder}/", "-e", str(folder / "error.log")],
        capture_output=True,
        text=True,
        check=False,
    )
