"""`make bench`, production mode: throughput and latency with 1 and 2 Rasa instances behind nginx.

For each assistant (this project's, and as a baseline a plain `rasa init` assistant, trained once
and cached under var/bench/rasa-init/) and each number of Rasa instances (1, 2), it starts the
instances behind nginx exactly as `kapbot serve --prod` does (bot/ops/runner.py,
bot/ops/balancer.py),
with a PostgreSQL tracker store (a throwaway database on 127.0.0.1:5432) and the Redis lock
store (a Redis database of its own), then sends the questions of tests/eval/questions.yml from
1, 20 and 100 concurrent conversations (each conversation sends its messages one after the
other, 10 per conversation, as a visitor does) for a fixed time, and reports messages per second,
p50/p95/p99 latency and the resident memory of each process. Printed, and written to
var/bench/scale.json. A benchmark, not a test: nothing fails on a number.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import aiohttp
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench import NO_RATE_LIMITS, percentile, rss_mb  # noqa: E402
from bot.db.migrate import upgrade  # noqa: E402
from bot.models.store import latest_model  # noqa: E402
from bot.ops.balancer import write_nginx_config  # noqa: E402
from bot.ops.runner import ProcessSpec, Supervisor, child_environment, process_specs  # noqa: E402
from bot.settings import PROJECT_ROOT, settings_from_env  # noqa: E402
from tests.conftest import free_prod_mode_ports, throwaway_postgres_database  # noqa: E402
from tests.project_copies import copy_project  # noqa: E402

QUESTIONS = PROJECT_ROOT / "tests" / "eval" / "questions.yml"
BASELINE_DIR = PROJECT_ROOT / "var" / "bench" / "rasa-init"
REDIS_URL = "redis://127.0.0.1:6379/12"
TURNS_PER_CONVERSATION = 10


def baseline_model() -> Path:
    """The `rasa init` assistant's model, trained on first use and kept under var/bench/."""
    models = sorted((BASELINE_DIR / "models").glob("*.tar.gz"))
    if models:
        return models[-1]
    print("Training the rasa init baseline (once; cached in var/bench/rasa-init)…", flush=True)
    BASELINE_DIR.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [sys.executable, "-m", "rasa", "init", "--no-prompt", "--init-dir", str(BASELINE_DIR)],
        check=True,
        stdout=subprocess.DEVNULL,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "RASA_TELEMETRY_ENABLED": "false"},
    )
    return sorted((BASELINE_DIR / "models").glob("*.tar.gz"))[-1]


def baseline_specs(settings, model: Path, folder: Path) -> list[ProcessSpec]:
    """The baseline's Rasa instances, with the same tracker and lock stores as the project's,
    and nginx; rasa init's assistant has no custom actions to call."""
    endpoints = folder / "baseline-endpoints.yml"
    endpoints.write_text(
        "tracker_store:\n  type: SQL\n  url: ${DATABASE_URL}\n"
        "lock_store:\n  type: bot.stores.lock_store.ConfiguredLockStore\n"
    )
    credentials = folder / "baseline-credentials.yml"
    credentials.write_text("rest:\n")
    specs = []
    for spec in process_specs(settings):
        if spec.name.startswith("rasa-"):
            command = list(spec.command)
            command[command.index("--model") + 1] = str(model)
            command[command.index("--endpoints") + 1] = str(endpoints)
            command[command.index("--credentials") + 1] = str(credentials)
            specs.append(replace(spec, command=command))
        elif spec.name == "nginx":
            specs.append(spec)
    return specs


async def load(
    url: str, texts: list[str], conversations: int, seconds: float, tag: str, think: float = 0.0
):
    """`conversations` visitors sending one message after another for `seconds`. With `think`,
    each visitor pauses between a reply and its next message, 0.5 to 1.5 times `think` seconds
    (reading the answer and typing the next question); without it they send back to back, which
    is a stress test: every conversation always has a message waiting."""
    latencies: list[float] = []
    errors = 0
    until = time.monotonic() + seconds

    async def visitor(number: int, session: aiohttp.ClientSession) -> None:
        nonlocal errors
        turn = 0
        pauses = random.Random(number)  # the same pauses on every run
        if think:
            await asyncio.sleep(pauses.uniform(0, think))  # visitors do not all arrive at once
        while time.monotonic() < until:
            sender = f"bench-{tag}-{number}-{turn // TURNS_PER_CONVERSATION}"
            text = texts[(number * 7919 + turn) % len(texts)]
            started = time.perf_counter()
            async with session.post(url, json={"sender": sender, "message": text}) as response:
                await response.read()
                if response.status != 200:
                    errors += 1
            latencies.append((time.perf_counter() - started) * 1000)
            turn += 1
            if think:
                await asyncio.sleep(pauses.uniform(0.5 * think, 1.5 * think))

    started = time.perf_counter()
    timeout = aiohttp.ClientTimeout(total=120)
    connector = aiohttp.TCPConnector(limit=conversations)
    async with aiohttp.ClientSession(timeout=timeout, connector=connector) as session:
        await asyncio.gather(*(visitor(n, session) for n in range(conversations)))
    elapsed = time.perf_counter() - started
    return {
        "conversations": conversations,
        "think_s": think,
        "messages": len(latencies),
        "errors": errors,
        "msg_per_s": round(len(latencies) / elapsed, 1),
        "p50_ms": round(statistics.median(latencies), 1),
        "p95_ms": round(percentile(latencies, 95), 1),
        "p99_ms": round(percentile(latencies, 99), 1),
    }


def measure(
    assistant: str, instances: int, texts: list[str], levels, seconds: float, think: float = 0.0
) -> dict:
    with tempfile.TemporaryDirectory() as folder, throwaway_postgres_database() as database_url:
        ports = free_prod_mode_ports(instances)
        settings = settings_from_env(
            {
                "KAPBOT_VAR_DIR": folder,
                "MODEL_DIR": str(latest_model().parent),
                "KAPBOT_PROD_MODE": "true",
                "RASA_INSTANCES": str(instances),
                **ports,
                "DATABASE_URL": database_url,
                "REDIS_URL": REDIS_URL,
                "LOG_LEVEL": "WARNING",
            }
        )
        upgrade(database_url)
        write_nginx_config(settings)
        if assistant == "kapbot":
            specs = [s for s in process_specs(settings) if s.name != "web"]
        else:
            specs = baseline_specs(settings, baseline_model(), Path(folder))
        env = {
            **child_environment(settings),
            **NO_RATE_LIMITS,
            "PYTHONPATH": str(PROJECT_ROOT),
            # As at a clinic whose clinician approved every answer, so that answers are given.
            "KAPBOT_CONTENT_ROOT": str(copy_project(Path(folder) / "project")),
        }
        supervisor = Supervisor(specs, env)
        print(f"[{assistant}, {instances} instance(s)] starting…", flush=True)
        supervisor.start()
        try:
            problem = supervisor.wait_until_ready()
            if problem:
                raise RuntimeError(f"{problem} did not start")
            url = f"{settings.rasa_url}/webhooks/rest/webhook"
            asyncio.run(load(url, texts, 4, 5, "warmup"))
            results = []
            for conversations in levels:
                result = asyncio.run(
                    load(url, texts, conversations, seconds, f"c{conversations}", think)
                )
                print(f"[{assistant}, {instances} instance(s)] {result}", flush=True)
                results.append(result)
            memory = {
                name: round(rss_mb(child.pid), 1) for name, child in supervisor.children.items()
            }
        finally:
            supervisor.stop()
    return {"assistant": assistant, "instances": instances, "levels": results, "rss_mb": memory}


def markdown(runs: list[dict]) -> str:
    lines = [
        "| assistant | instances | conversations | pause s | messages/s | p50 ms | p95 ms "
        "| p99 ms | errors |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for run in runs:
        for level in run["levels"]:
            lines.append(
                f"| {run['assistant']} | {run['instances']} | {level['conversations']} | "
                f"{level.get('think_s', 0)} | {level['msg_per_s']} | {level['p50_ms']} | "
                f"{level['p95_ms']} | {level['p99_ms']} | {level['errors']} |"
            )
    lines += ["", "| assistant | instances | resident memory (MB) per process |", "|---|---|---|"]
    for run in runs:
        memory = ", ".join(f"{name} {mb:,.0f}" for name, mb in run["rss_mb"].items())
        lines.append(f"| {run['assistant']} | {run['instances']} | {memory} |")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=20, help="per concurrency level")
    parser.add_argument("--levels", default="1,20,100")
    parser.add_argument("--skip-baseline", action="store_true")
    parser.add_argument(
        "--think",
        type=float,
        default=0.0,
        help="seconds a visitor pauses between messages (0: back to back, a stress test)",
    )
    args = parser.parse_args()
    levels = [int(level) for level in args.levels.split(",")]
    texts = [item["text"] for item in yaml.safe_load(QUESTIONS.read_text())]
    with open("/proc/loadavg") as loadavg:
        load_before = loadavg.read().split()[:3]
    runs = []
    assistants = ["kapbot"] if args.skip_baseline else ["kapbot", "rasa-init"]
    for assistant in assistants:
        for instances in (1, 2):
            try:
                runs.append(measure(assistant, instances, texts, levels, args.seconds, args.think))
            except RuntimeError as error:
                # Free ports are taken at random; another program can take one meanwhile.
                print(f"{error}; once more, on other ports", flush=True)
                runs.append(measure(assistant, instances, texts, levels, args.seconds, args.think))
    results = {
        "machine": f"{os.cpu_count()} cores",
        "load_average_before": load_before,
        "seconds_per_level": args.seconds,
        "think_s": args.think,
        "runs": runs,
    }
    for assistant in assistants:
        one, two = (r for r in runs if r["assistant"] == assistant)
        for a, b in zip(one["levels"], two["levels"], strict=True):
            results.setdefault("speedup_2_over_1", {}).setdefault(assistant, {})[
                str(a["conversations"])
            ] = round(b["msg_per_s"] / a["msg_per_s"], 2)
    name = f"scale-think-{args.think:g}s.json" if args.think else "scale.json"
    out = PROJECT_ROOT / "var" / "bench" / name
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2))
    print(markdown(runs))
    print(f"load average before: {' '.join(load_before)}")
    print(f"throughput of 2 instances over 1: {results['speedup_2_over_1']}")
    print(f"(written to {out.relative_to(PROJECT_ROOT)})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
