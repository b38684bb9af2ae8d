"""Seconds per test folder (setup, call and teardown summed) from the JUnit files `make test`
leaves in var/log/ (scripts/run-tests.sh): where the suite's time goes.

    .venv/bin/python scripts/test_times.py [FILE ...]
"""

from __future__ import annotations

import sys
import xml.etree.ElementTree as ET
from collections import Counter
from pathlib import Path

LOG_FOLDER = Path(__file__).resolve().parent.parent / "var" / "log"


def seconds_per_folder(paths: list[Path]) -> tuple[Counter, Counter]:
    """(seconds, tests) per folder under tests/ ("unit", "system", …)."""
    seconds: Counter = Counter()
    tests: Counter = Counter()
    for path in paths:
        for case in ET.parse(path).iter("testcase"):  # noqa: S314 - pytest's own output
            parts = case.get("classname", "").split(".")
            folder = parts[1] if len(parts) > 2 and parts[0] == "tests" else "other"
            seconds[folder] += float(case.get("time") or 0)
            tests[folder] += 1
    return seconds, tests


def main(arguments: list[str]) -> int:
    paths = [Path(argument) for argument in arguments] or sorted(LOG_FOLDER.glob("tests-*.xml"))
    if not paths:
        print("No var/log/tests-*.xml: run `make test` first.", file=sys.stderr)
        return 1
    seconds, tests = seconds_per_folder(paths)
    print(f"{'folder':<12} {'tests':>6} {'seconds':>8}")
    for folder, total in seconds.most_common():
        print(f"{folder:<12} {tests[folder]:>6} {total:>8.0f}")
    print(f"{'total':<12} {sum(tests.values()):>6} {sum(seconds.values()):>8.0f}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
