"""`make bench`: latency, throughput, memory and training time of the assistant on this machine.

Starts its own action server and Rasa server (REST channel, SQLite tracker store in a temporary
folder) on free loopback ports, so it never touches a running `make run`. Results are printed and
written to var/bench/latest.json.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import aiohttp
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.db.migrate import upgrade  # noqa: E402
from bot.models.store import latest_model  # noqa: E402
from bot.ops.runner import Supervisor, child_environment, process_specs  # noqa: E402
from bot.settings import PROJECT_ROOT, settings_from_env  # noqa: E402
from tests.project_copies import copy_project  # noqa: E402

QUESTIONS = PROJECT_ROOT / "tests" / "eval" / "questions.yml"
# Every simulated visitor comes from this one machine: the per-client limits
# (bot/protection/rate_limits.py)
# are off here, and measured under attack in bench_attack.py.
NO_RATE_LIMITS = {"RATE_LIMIT_PER_ADDRESS": "10000000", "RATE_LIMIT_PER_CONVERSATION": "10000000"}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(pct / 100 * len(ordered)) - 1))
    return ordered[index]


def rss_mb(pid: int) -> float:
    """Resident memory of a process and its children, in MB (from /proc)."""
    total_kb = 0
    pids = [pid]
    children = Path(f"/proc/{pid}/task/{pid}/children")
    if children.exists():
        pids += [int(p) for p in children.read_text().split()]
    for each in pids:
        try:
            for line in Path(f"/proc/{each}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total_kb += int(line.split()[1])
        except FileNotFoundError:
            pass
    return total_kb / 1024


async def send(session: aiohttp.ClientSession, url: str, sender: str, text: str) -> float:
    started = time.perf_counter()
    async with session.post(url, json={"sender": sender, "message": text}) as response:
        await response.read()
        if response.status != 200:
            raise RuntimeError(f"HTTP {response.status} for {text!r}")
    return (time.perf_counter() - started) * 1000


async def sequential(url: str, texts: list[str], turns: int) -> list[tuple[str, float]]:
    """(text, latency in ms) of each turn, in the order sent."""
    timed = []
    async with aiohttp.ClientSession() as session:
        for i in range(turns):
            text = texts[i % len(texts)]
            # 10 turns per conversation, so trackers grow as in real chats.
            timed.append((text, await send(session, url, f"bench-seq-{i // 10}", text)))
    return timed


async def concurrent(url: str, texts: list[str], conversations: int, turns_each: int):
    latencies: list[float] = []

    async def visitor(n: int, session: aiohttp.ClientSession) -> None:
        for turn in range(turns_each):
            text = texts[(n * turns_each + turn) % len(texts)]
            latencies.append(await send(session, url, f"bench-conc-{n}", text))

    started = time.perf_counter()
    async with aiohttp.ClientSession() as session:
        await asyncio.gather(*(visitor(n, session) for n in range(conversations)))
    elapsed = time.perf_counter() - started
    return latencies, len(latencies) / elapsed


def time_training() -> float:
    with tempfile.TemporaryDirectory() as out:
        started = time.perf_counter()
        subprocess.run(
            [sys.executable, "-m", "rasa", "train", "--config", "config.yml",
             "--domain", "domain.yml", "--data", "bot/data", "--out", out, "--force"],
            cwd=PROJECT_ROOT,
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "RASA_TELEMETRY_ENABLED": "false"},
        )  # fmt: skip
        return time.perf_counter() - started


@contextlib.contextmanager
def running_assistant(env: dict[str, str]):
    """An action server and a Rasa server of their own (SQLite in a temporary folder), with
    `env` over the usual environment; yields (REST webhook URL, their supervisor)."""
    model = latest_model()
    with tempfile.TemporaryDirectory() as var_dir:
        settings = settings_from_env(
            {
                "KAPBOT_VAR_DIR": var_dir,
                "MODEL_DIR": str(model.parent),
                "RASA_PORT": str(free_port()),
                "ACTIONS_PORT": str(free_port()),
            }
        )
        # Crisis and eligibility questions reach the handoff actions, which need the tables.
        upgrade(settings.database_url)
        specs = [s for s in process_specs(settings) if s.name in ("actions", "rasa")]
        # As at a clinic whose clinician approved every answer, so that answers are given.
        signed_off = {"KAPBOT_CONTENT_ROOT": str(copy_project(Path(var_dir) / "project"))}
        supervisor = Supervisor(specs, {**child_environment(settings), **signed_off, **env})
        print(f"Starting Rasa with {model.name}…", flush=True)
        supervisor.start()
        try:
            problem = supervisor.wait_until_ready()
            if problem:
                raise SystemExit(f"error: {problem} did not start")
            yield f"{settings.rasa_url}/webhooks/rest/webhook", supervisor
        finally:
            supervisor.stop()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--turns", type=int, default=500)
    parser.add_argument("--conversations", type=int, default=20)
    parser.add_argument("--turns-each", type=int, default=25)
    parser.add_argument("--skip-training", action="store_true")
    args = parser.parse_args()

    texts = [item["text"] for item in yaml.safe_load(QUESTIONS.read_text())]
    model = latest_model()
    with running_assistant(NO_RATE_LIMITS) as (url, supervisor):
        asyncio.run(sequential(url, texts, 20))  # warm-up
        timed = asyncio.run(sequential(url, texts, args.turns))
        seq = [ms for _, ms in timed]
        conc, throughput = asyncio.run(concurrent(url, texts, args.conversations, args.turns_each))
        memory = rss_mb(supervisor.children["rasa"].pid)

    results = {
        "machine": f"{os.cpu_count()} cores",
        "model": model.name,
        "sequential_turns": len(seq),
        "sequential_p50_ms": round(statistics.median(seq), 1),
        "sequential_p95_ms": round(percentile(seq, 95), 1),
        "concurrent_conversations": args.conversations,
        "concurrent_messages": len(conc),
        "concurrent_throughput_msg_per_s": round(throughput, 1),
        "concurrent_p50_ms": round(statistics.median(conc), 1),
        "concurrent_p95_ms": round(percentile(conc, 95), 1),
        "rasa_server_rss_mb": round(memory, 1),
    }
    if not args.skip_training:
        print("Timing a full training run…", flush=True)
        results["training_seconds"] = round(time_training(), 1)

    out = PROJECT_ROOT / "var" / "bench" / "latest.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2))
    for key, value in results.items():
        print(f"{key:34} {value}")
    # The slowest turns say where the tail comes from (e.g. turns that call the action server).
    print("slowest sequential turns:")
    for text, ms in sorted(timed, key=lambda item: -item[1])[:12]:
        print(f"  {ms:7.1f} ms  {text[:70]}")
    print(f"(written to {out.relative_to(PROJECT_ROOT)})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
