"""scripts/test_times.py: seconds per test folder from the JUnit files `make test` leaves."""

from __future__ import annotations

import importlib.util

from bot.settings import PROJECT_ROOT

JUNIT = """<?xml version="1.0" encoding="utf-8"?>
<testsuites><testsuite name="pytest">
<testcase classname="tests.system.test_serve" name="a" time="12.5"/>
<testcase classname="tests.system.test_access" name="b" time="2.5"/>
<testcase classname="tests.unit.test_cli" name="c" time="0.25"/>
<testcase classname="tests.unit.content.test_model" name="d" time="0.75"/>
</testsuite></testsuites>
"""


def load_script():
    spec = importlib.util.spec_from_file_location(
        "test_times", PROJECT_ROOT / "scripts" / "test_times.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_sums_seconds_and_tests_per_folder_across_files(tmp_path, capsys):
    script = load_script()
    first, second = tmp_path / "tests-fast.xml", tmp_path / "tests-servers.xml"
    first.write_text(JUNIT, encoding="utf-8")
    second.write_text(JUNIT, encoding="utf-8")

    seconds, tests = script.seconds_per_folder([first, second])

    assert seconds == {"system": 30.0, "unit": 2.0}
    assert tests == {"system": 4, "unit": 4}
    assert script.main([str(first)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[1].split() == ["system", "2", "15"]
    assert lines[-1].split() == ["total", "4", "16"]
