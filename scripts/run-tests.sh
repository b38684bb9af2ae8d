#!/usr/bin/env bash
# `make test`: the tests that need no trained model (tests marked `slow` aside: tests/unit and
# most of tests/integration) run while the model trains; then the ones that need it, in two
# processes. On 2 cores the training (TensorFlow) and those tests (one process, mostly waiting
# on databases) overlap well. PYTEST_ARGS is passed to every run.
set -uo pipefail
cd "$(dirname "$0")/.."

# pytest_run NAME ARGS...: each run leaves var/log/tests-NAME.xml, for scripts/test_times.py.
pytest_run() {
    local name=$1
    shift
    .venv/bin/python -m pytest -p no:cacheprovider --junitxml="var/log/tests-$name.xml" \
        "$@" ${PYTEST_ARGS:-}
}
# pytest exits 5 when a run selects no test: with PYTEST_ARGS naming a few, one run may have none.
passed() { [ "$1" -eq 0 ] || [ "$1" -eq 5 ]; }

mkdir -p var/log
rm -f var/log/tests-*.xml  # an earlier run's timings must not add to this one's
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
pytest_run fast -m "not slow"
fast=$?

if [ -n "$training" ]; then
    echo "==> Waiting for the model"
    if ! wait "$training"; then
        tail -n 30 "$training_log" >&2
        echo "error: training the model failed (whole output: $training_log)" >&2
        exit 1
    fi
fi

# Two processes side by side: one kept about one of the two cores busy (it waits on servers
# starting, on timeouts it provokes, on the browser, and each training in it uses about one
# core); two keep about 1.9 busy and take half the time (docs/benchmarks.md).
browser_log=var/log/test-browser-and-model.log
echo "==> Tests with the trained model, servers and the browser, in two processes:"
echo "    browser/ and model/ (shown when they end; log: $browser_log) beside the others"
pytest_run browser-and-model -m "slow and (browser or model)" >"$browser_log" 2>&1 &
browser_run=$!
pytest_run servers -m "slow and not (browser or model)"
servers=$?
wait "$browser_run"
browser=$?
echo "==> browser/ and model/"
cat "$browser_log"

for code in "$fast" "$servers" "$browser"; do
    if ! passed "$code"; then
        echo "error: tests failed (needing no model: exit $fast; servers: exit $servers;" \
            "browser and model: exit $browser)" >&2
        exit "$code"
    fi
done
if [ "$fast" -eq 5 ] && [ "$servers" -eq 5 ] && [ "$browser" -eq 5 ]; then
    echo "error: no test was selected" >&2
    exit 5
fi
