"""The house rules of docs/architecture.md that a reader would otherwise check by eye: no module
over 400 lines and no function over 60 (data tables and schema migrations excepted), and no
module that starts threads, makes directories or connects when it is imported.

What is still over a limit is listed below with its size today: it may shrink, never grow, and
a module or function that is split must leave the list (the test says so)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from bot.settings import PROJECT_ROOT

MODULE_LINES = 400
FUNCTION_LINES = 60
SOURCES = ("bot", "actions")
# Tables of patterns and words, read as data: their length is their content.
DATA_TABLES = {"bot/nlu/eligibility_patterns.py", "bot/nlu/crisis_patterns.py"}
# Alembic migrations are written once and never edited: a long upgrade() is a schema listing.
MIGRATIONS = "bot/db/migrations/"

# Over the limit for now, at their size when listed (a split in progress); empty today.
MODULES_STILL_OVER: dict[str, int] = {}
FUNCTIONS_STILL_OVER: dict[str, int] = {}
# Modules that still start work when imported; empty today.
STARTS_WORK_STILL: set[str] = set()


def _modules() -> list[Path]:
    found = []
    for source in SOURCES:
        found += sorted((PROJECT_ROOT / source).rglob("*.py"))
    return found


def _relative(path: Path) -> str:
    return path.relative_to(PROJECT_ROOT).as_posix()


def _functions(tree: ast.AST):
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            yield node


def module_sizes() -> dict[str, int]:
    return {
        _relative(path): len(path.read_text(encoding="utf-8").splitlines())
        for path in _modules()
        if _relative(path) not in DATA_TABLES and not _relative(path).startswith(MIGRATIONS)
    }


def function_sizes() -> dict[str, int]:
    sizes = {}
    for path in _modules():
        name = _relative(path)
        if name.startswith(MIGRATIONS):
            continue
        for node in _functions(ast.parse(path.read_text(encoding="utf-8"))):
            sizes[f"{name}:{node.name}:{node.lineno}"] = node.end_lineno - node.lineno + 1
    return sizes


def _without_line(key: str) -> str:
    return key.rsplit(":", 1)[0]


def _over_the_limit(sizes: dict[str, int], limit: int, still_over: dict[str, int]) -> list[str]:
    """What breaks the limit: over it and not listed, listed and grown, or listed and done."""
    problems = []
    for name, lines in sorted(sizes.items()):
        if lines > limit and name not in still_over:
            problems.append(f"{name}: {lines} lines (limit {limit}): split it by concern")
        elif name in still_over and lines > still_over[name]:
            problems.append(f"{name}: grew from {still_over[name]} to {lines} lines")
    for name in sorted(still_over):
        if sizes.get(name, 0) <= limit:
            problems.append(f"{name}: within the limit or gone now: take it off the list")
    return problems


def test_no_module_is_over_the_limit_unless_listed_and_none_grows():
    assert _over_the_limit(module_sizes(), MODULE_LINES, MODULES_STILL_OVER) == []


def test_no_function_is_over_the_limit_unless_listed_and_none_grows():
    longest: dict[str, int] = {}
    for key, lines in function_sizes().items():
        name = _without_line(key)
        longest[name] = max(longest.get(name, 0), lines)
    assert _over_the_limit(longest, FUNCTION_LINES, FUNCTIONS_STILL_OVER) == []


# Calls that start work, when made at a module's top level (at import time).
_STARTS_WORK = {"ThreadPoolExecutor", "ProcessPoolExecutor", "Thread", "start", "mkdir", "connect"}


def _top_level_calls(tree: ast.Module):
    for statement in tree.body:
        if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            continue
        for node in ast.walk(statement):
            if isinstance(node, ast.Call):
                function = node.func
                name = getattr(function, "attr", None) or getattr(function, "id", None)
                yield name, node.lineno


@pytest.mark.parametrize("path", _modules(), ids=_relative)
def test_importing_a_module_starts_no_work(path):
    tree = ast.parse(path.read_text(encoding="utf-8"))
    starts = [
        f"{name}() at line {line}" for name, line in _top_level_calls(tree) if name in _STARTS_WORK
    ]
    if _relative(path) in STARTS_WORK_STILL:
        assert starts, f"{_relative(path)} no longer starts work: take it off STARTS_WORK_STILL"
        return
    assert not starts, f"{_relative(path)} starts work when imported: {starts}"
