"""Helpers for benchmarks: where the public data lives, running the CLI as a user would, peak memory."""

from __future__ import annotations

import os
import re
import resource
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SHARED_BENCH = Path(os.environ.get("BENCH_DATA", ROOT.parent / "shared" / "bench"))
EMENTOR = [sys.executable, "-m", "bot"]


@dataclass
class Run:
    output: str
    seconds: float
    peak_mb: float


def ementor(*args: str) -> Run:
    """Run `ementor ARGS` in a child process; report its wall time and peak resident memory."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    started = time.perf_counter()
    done = subprocess.run([*EMENTOR, *args], cwd=ROOT, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"ementor {' '.join(args)} failed:\n{done.stderr}")
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return Run(done.stdout, seconds, max(peak, before) / 1024)


def figure(output: str, label: str) -> float | None:
    match = re.search(rf"{re.escape(label)}:\s*([\d.]+) %", output)
    return float(match.group(1)) if match else None


def require(path: Path) -> Path:
    if not path.exists():
        raise SystemExit(f"{path} not found: set BENCH_DATA to the folder with clinc150/, xsid-da/")
    return path
