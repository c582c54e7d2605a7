"""Speed and memory of the built-in engine and the server.

    python -m bench.speed [--model FILE] [--seconds 10]

Prints: in-process parse p50/p99 (ms), model load time, peak memory of a server process holding the
model, and `/model/parse` throughput and latency with 8 concurrent clients over loopback. The load is
bounded in requests and time and only targets 127.0.0.1.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import aiohttp

from bench.common import ROOT
from bench.processes import free_port, start_bot, stop_bots, write_config
from bot.nlu.model_store import load_model
from bot.nlu.training_data import load_training_data

CLIENTS = 8


def texts() -> list[str]:
    return [e.text for e in load_training_data([ROOT / "nlu_eval" / "dev.yml"]).examples]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def in_process(model_path: Path) -> dict[str, float]:
    loads = []
    for _ in range(3):
        started = time.perf_counter()
        model = load_model(model_path)
        loads.append(time.perf_counter() - started)
    sample = texts()
    for text in sample:  # warm caches
        model.predict(text)
    timings = []
    for _ in range(5):
        for text in sample:
            started = time.perf_counter()
            model.predict(text)
            timings.append(time.perf_counter() - started)
    return {
        "load_s": min(loads),
        "p50_ms": 1000 * percentile(timings, 0.50),
        "p99_ms": 1000 * percentile(timings, 0.99),
    }


async def load_test(url: str, seconds: float, max_requests: int) -> dict[str, float]:
    sample = texts()
    latencies: list[float] = []
    deadline = time.perf_counter() + seconds

    async def client(session: aiohttp.ClientSession, offset: int) -> None:
        i = offset
        while time.perf_counter() < deadline and len(latencies) < max_requests:
            started = time.perf_counter()
            async with session.post(url, json={"text": sample[i % len(sample)]}) as response:
                await response.read()
                if response.status != 200:
                    raise RuntimeError(f"HTTP {response.status}")
            latencies.append(time.perf_counter() - started)
            i += CLIENTS

    started = time.perf_counter()
    async with aiohttp.ClientSession() as session:
        await asyncio.gather(*(client(session, i) for i in range(CLIENTS)))
    elapsed = time.perf_counter() - started
    return {
        "rps": len(latencies) / elapsed,
        "http_p50_ms": 1000 * statistics.median(latencies),
        "http_p99_ms": 1000 * percentile(latencies, 0.99),
        "requests": float(len(latencies)),
    }


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def server(model_path: Path, seconds: float) -> dict[str, float]:
    port = free_port()
    with tempfile.TemporaryDirectory() as tmp:
        config = write_config(Path(tmp) / "config.yml", port, f"sqlite+aiosqlite:///{tmp}/speed.db", model_path)
        proc = start_bot(config, port)
        try:
            url = f"http://127.0.0.1:{port}/model/parse"
            result = asyncio.run(load_test(url, seconds, max_requests=200_000))
            result["server_peak_mb"] = peak_rss_mb(proc.pid)
            return result
        finally:
            stop_bots([proc])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", default=str(ROOT / "var" / "models" / "intent_model.npz"))
    parser.add_argument("--seconds", type=float, default=10.0)
    args = parser.parse_args()
    model_path = Path(args.model).resolve()
    if not model_path.exists():
        subprocess.run([sys.executable, "-m", "bot", "nlu", "train", "--out", str(model_path)], cwd=ROOT, check=True)
    figures = in_process(model_path) | server(model_path, args.seconds)
    print(f"model: {model_path}")
    print(f"parse in-process p50 / p99:   {figures['p50_ms']:.3f} / {figures['p99_ms']:.3f} ms")
    print(f"model load:                   {figures['load_s']:.3f} s")
    print(f"server peak memory (VmHWM):   {figures['server_peak_mb']:.0f} MB")
    print(
        f"/model/parse, {CLIENTS} clients:      {figures['rps']:.0f} requests/s "
        f"(p50 {figures['http_p50_ms']:.2f} ms, p99 {figures['http_p99_ms']:.2f} ms, "
        f"{figures['requests']:.0f} requests)"
    )


if __name__ == "__main__":
    main()
