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

# Still over the limit (lines today); issue 15 takes them down one by one.
MODULES_STILL_OVER: dict[str, int] = {}
FUNCTIONS_STILL_OVER: dict[str, int] = {}
# Modules that still start work when imported (issue 15).
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


def test_no_module_is_over_the_limit_unless_listed_and_none_grows():
    sizes = module_sizes()
    over = {name: lines for name, lines in sizes.items() if lines > MODULE_LINES}
    new = {name: lines for name, lines in over.items() if name not in MODULES_STILL_OVER}
    assert not new, f"modules over {MODULE_LINES} lines: {new}; split them by concern"
    grown = {
        name: (MODULES_STILL_OVER[name], lines)
        for name, lines in over.items()
        if lines > MODULES_STILL_OVER[name]
    }
    assert not grown, f"listed modules that grew (listed, now): {grown}"
    done = sorted(name for name in MODULES_STILL_OVER if sizes.get(name, 0) <= MODULE_LINES)
    assert not done, f"now within the limit or gone, take them off MODULES_STILL_OVER: {done}"


def test_no_function_is_over_the_limit_unless_listed_and_none_grows():
    sizes = {}
    for key, lines in function_sizes().items():
        name = _without_line(key)
        sizes[name] = max(sizes.get(name, 0), lines)
    over = {name: lines for name, lines in sizes.items() if lines > FUNCTION_LINES}
    new = {name: lines for name, lines in over.items() if name not in FUNCTIONS_STILL_OVER}
    assert not new, f"functions over {FUNCTION_LINES} lines: {new}"
    grown = {
        name: (FUNCTIONS_STILL_OVER[name], lines)
        for name, lines in over.items()
        if lines > FUNCTIONS_STILL_OVER[name]
    }
    assert not grown, f"listed functions that grew (listed, now): {grown}"
    done = sorted(name for name in FUNCTIONS_STILL_OVER if sizes.get(name, 0) <= FUNCTION_LINES)
    assert not done, f"now within the limit or gone, take them off FUNCTIONS_STILL_OVER: {done}"


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
