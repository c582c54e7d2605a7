"""`make audit`: the locked dependencies (requirements.lock) checked for known vulnerabilities with pip-audit.

Where the advisory service (PyPI's JSON API, pip-audit's default) cannot be reached — an offline machine, a
closed CI — or pip-audit is not installed, it prints one line and succeeds: it never fails a build over a
network it cannot see. When it can look, pip-audit's own verdict (and exit code) stands.

    python tools/audit.py            # pip-audit --requirement requirements.lock --no-deps --disable-pip
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
import urllib.request
from pathlib import Path

LOCK = Path(__file__).resolve().parent.parent / "requirements.lock"
SERVICE = "https://pypi.org/pypi/pip/json"  # what pip-audit asks (per package) when it audits


def reachable(timeout: float = 5.0) -> bool:
    try:
        with urllib.request.urlopen(SERVICE, timeout=timeout) as response:
            return bool(response.status == 200)
    except OSError:
        return False


def main() -> int:
    if importlib.util.find_spec("pip_audit") is None:
        print("audit skipped: pip-audit is not installed (pip install pip-audit)")
        return 0
    if not reachable():
        print(f"audit skipped: the advisory service ({SERVICE}) cannot be reached from here")
        return 0
    command = [sys.executable, "-m", "pip_audit", "--requirement", str(LOCK), "--no-deps", "--disable-pip"]
    return subprocess.run(command, check=False).returncode


if __name__ == "__main__":
    sys.exit(main())
