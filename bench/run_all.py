"""Every benchmark in turn, each in a process of its own (`make bench`).

    python -m bench.run_all

bench.speed, bench.conversations and bench.booking need only this repository and a PostgreSQL server
(TEST_DATABASE_URL, or postgres@127.0.0.1:5432/test). bench.accuracy runs the suites whose data is present
in BENCH_DATA (default ../shared/bench), and is skipped with a note when none is.
"""

from __future__ import annotations

import subprocess
import sys
import time

from bench.accuracy import SUITES
from bench.common import ROOT, SHARED_BENCH

ALWAYS = ["bench.speed", "bench.conversations", "bench.booking", "bench.typed_answers"]


def accuracy_suites() -> list[str]:
    """The accuracy suites whose training and test files are all there (the dev set is always there)."""
    present = [
        name for name, (train, test) in SUITES.items() if all((SHARED_BENCH / p).exists() for p in [*train, test])
    ]
    return [*present, "dev"] if present else []


def main() -> None:
    runs = [[module] for module in ALWAYS]
    suites = accuracy_suites()
    if suites:
        runs.append(["bench.accuracy", *suites])
    failed = []
    for run in runs:
        print(f"\n== python -m {' '.join(run)}", flush=True)
        started = time.perf_counter()
        if subprocess.run([sys.executable, "-m", *run], cwd=ROOT, check=False).returncode != 0:
            failed.append(run[0])
        print(f"({time.perf_counter() - started:.0f} s)", flush=True)
    if not suites:
        print(f"\n== bench.accuracy skipped: no CLINC150 / xSID data in {SHARED_BENCH} (set BENCH_DATA)")
    if failed:
        raise SystemExit(f"failed: {', '.join(failed)}")


if __name__ == "__main__":
    main()
