#!/usr/bin/env bash
# `make test`: the tests that need no trained model (tests marked `slow` aside: tests/unit and
# most of tests/integration) run while the model trains; then the ones that need it. On 2 cores
# the training (TensorFlow) and those tests (one process, mostly waiting on databases) overlap
# well. PYTEST_ARGS is passed to both runs.
set -uo pipefail
cd "$(dirname "$0")/.."

pytest_run() { .venv/bin/python -m pytest -p no:cacheprovider "$@" ${PYTEST_ARGS:-}; }
# pytest exits 5 when a run selects no test: with PYTEST_ARGS naming a few, one run may have none.
passed() { [ "$1" -eq 0 ] || [ "$1" -eq 5 ]; }

mkdir -p var/log
training_log=var/log/make-model.log
if make -s -q model 2>/dev/null; then
    echo "==> The model is up to date"
    training=""
else
    echo "==> Training the model in the background while the fast tests run (log: $training_log)"
    make -s model >"$training_log" 2>&1 &
    training=$!
fi

echo "==> Tests that need no trained model"
pytest_run -m "not slow"
fast=$?

if [ -n "$training" ]; then
    echo "==> Waiting for the model"
    if ! wait "$training"; then
        tail -n 30 "$training_log" >&2
        echo "error: training the model failed (whole output: $training_log)" >&2
        exit 1
    fi
fi

echo "==> Tests with the trained model, servers and the browser"
pytest_run -m slow
slow=$?

if passed "$fast" && passed "$slow" && ! { [ "$fast" -eq 5 ] && [ "$slow" -eq 5 ]; }; then
    exit 0
fi
echo "error: tests failed (needing no model: exit $fast; with the model: exit $slow)" >&2
[ "$fast" -ne 0 ] && [ "$fast" -ne 5 ] && exit "$fast"
exit "$slow"
