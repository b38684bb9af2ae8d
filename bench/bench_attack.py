"""`make bench`: a normal visitor's latency while two clients flood the REST channel (issue 14).

Starts its own action server and Rasa server (default per-client limits, SQLite in a temporary
folder) and measures, in the same run, a visitor asking "is ketamine addictive?":

1. unattacked;
2. while two attackers each send, back to back, "my" and 199 made-up words of 8-9 letters, each
   in one conversation (the attack of issue 14);
3. the same, but with a new conversation id for every message (only the address limit holds).

Clients are told apart by the address in X-Forwarded-For, as nginx tells them apart. Target:
the visitor's p95 under attack at most 2x its unattacked p95. Also times the two functions that
were quadratic or unbounded on hostile text: the email mask and the eligibility check.
Results are printed and written to var/bench/attack.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import re
import statistics
import string
import sys
import time
from pathlib import Path

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench import percentile, running_assistant  # noqa: E402
from bot.desk.masking import mask  # noqa: E402
from bot.nlu.eligibility_patterns import looks_like_eligibility  # noqa: E402
from bot.settings import PROJECT_ROOT, Settings  # noqa: E402

QUESTION = "is ketamine addictive?"
SLOW_DOWN = "You're sending messages faster than I can take them"
# What the masking did before (bot/desk/masking.py): quadratic on a long run without an "@".
OLD_EMAIL = re.compile(r"[\w.+\-']+@[\w\-]+(?:\.[\w\-]+)+")


def attack_message(rng: random.Random) -> str:
    words = (
        "".join(rng.choice(string.ascii_lowercase) for _ in range(rng.choice((8, 9))))
        for _ in range(199)
    )
    return "my " + " ".join(words)


async def post(session, url: str, sender: str, text: str, address: str) -> tuple[float, str]:
    """(latency in ms, reply text)."""
    started = time.perf_counter()
    headers = {"X-Forwarded-For": address}
    async with session.post(url, json={"sender": sender, "message": text}, headers=headers) as r:
        body = await r.json()
        if r.status != 200:
            raise RuntimeError(f"HTTP {r.status}")
    elapsed = (time.perf_counter() - started) * 1000
    return elapsed, " ".join(m.get("text", "") for m in body)


async def visitor(session, url: str, samples: int, phase: str) -> list[float]:
    """Latencies of a visitor's question; ten turns per conversation, each conversation from
    its own address, so the visitor stays within its own limits."""
    latencies = []
    for n in range(samples):
        conversation = f"visitor-{phase}-{n // 10}"
        address = f"198.51.100.{n // 10 % 250 + 1}"
        ms, text = await post(session, url, conversation, QUESTION, address)
        if SLOW_DOWN in text:
            raise RuntimeError("the visitor itself was limited")
        latencies.append(ms)
    return latencies


async def under_attack(url: str, samples: int, phase: str, rotate: bool) -> dict:
    counts = {"sent": 0, "answered": 0}
    done = asyncio.Event()

    async def attacker(number: int, session) -> None:
        rng = random.Random(f"{phase}-{number}")
        # Addresses of their own in each phase, so no phase starts with limits used up.
        address = f"203.0.113.{number + (10 if rotate else 0)}"
        while not done.is_set():
            sender = f"attacker-{phase}-{number}-{counts['sent'] if rotate else 0}"
            _, text = await post(session, url, sender, attack_message(rng), address)
            counts["sent"] += 1
            counts["answered"] += SLOW_DOWN not in text

    async with aiohttp.ClientSession() as session:
        attackers = [asyncio.create_task(attacker(n, session)) for n in (1, 2)]
        await asyncio.sleep(1)  # the flood is under way before the visitor asks
        latencies = await visitor(session, url, samples, phase)
        done.set()
        await asyncio.gather(*attackers)
    return {"latencies": latencies, **counts}


async def unattacked(url: str, samples: int) -> list[float]:
    async with aiohttp.ClientSession() as session:
        await visitor(session, url, 10, "warm-up")
        return await visitor(session, url, samples, "calm")


def best_of(function, argument, times: int = 5) -> float:
    """The fastest of `times` runs, in ms."""
    fastest = float("inf")
    for _ in range(times):
        started = time.perf_counter()
        function(argument)
        fastest = min(fastest, time.perf_counter() - started)
    return round(fastest * 1000, 2)


def hostile_text_timings() -> dict[str, float]:
    run = "a" * 16_000
    long_word = "my " + "".join(random.Random(1).choice(string.ascii_lowercase) for _ in range(590))
    return {
        "mask_16000_chars_no_at_ms": best_of(mask, run),
        "old_email_pattern_16000_chars_ms": best_of(lambda t: OLD_EMAIL.sub("EMAIL", t), run, 1),
        "eligibility_attack_message_ms": best_of(
            looks_like_eligibility, attack_message(random.Random(7))
        ),
        "eligibility_590_letter_word_ms": best_of(looks_like_eligibility, long_word),
    }


def summary(latencies: list[float]) -> dict[str, float]:
    return {
        "p50_ms": round(statistics.median(latencies), 1),
        "p95_ms": round(percentile(latencies, 95), 1),
    }


def measure(url: str, samples: int) -> dict:
    calm = summary(asyncio.run(unattacked(url, samples)))
    results = {"visitor_unattacked": calm}
    for phase, rotate in (("one_conversation_each", False), ("new_conversation_each", True)):
        found = asyncio.run(under_attack(url, samples, phase, rotate))
        attacked = summary(found["latencies"])
        results[f"attack_{phase}"] = {
            **attacked,
            "p95_ratio": round(attacked["p95_ms"] / calm["p95_ms"], 2),
            "attack_messages_sent": found["sent"],
            "attack_messages_answered": found["answered"],
        }
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--samples", type=int, default=200)
    args = parser.parse_args()

    # The default limits, whatever .env says.
    limits = {
        "RATE_LIMIT_PER_ADDRESS": str(Settings.rate_limit_per_address),
        "RATE_LIMIT_PER_CONVERSATION": str(Settings.rate_limit_per_conversation),
        "RATE_LIMIT_WINDOW_SECONDS": str(Settings.rate_limit_window_seconds),
    }
    with running_assistant(limits) as (url, _):
        results = measure(url, args.samples)
    results["hostile_text"] = hostile_text_timings()

    out = PROJECT_ROOT / "var" / "bench" / "attack.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2))
    print(json.dumps(results, indent=2))
    print(f"(written to {out.relative_to(PROJECT_ROOT)})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
