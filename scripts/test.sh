#!/usr/bin/env bash
# The test command: install, start real Kafka and Elasticsearch, run pytest, stop them.
# Exits with pytest's verdict. Extra arguments go to pytest (e.g. -m "not integration").
set -uo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup.sh || exit 1
bash scripts/test-deps.sh || exit 1
export PATH="$PWD/.venv/bin:$PATH"
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1
# Tests index under random prefixes t<hex>: the roles `up` writes must cover them too.
export FEEDBACK_ES_ACCESS_PREFIXES="${FEEDBACK_ES_ACCESS_PREFIXES:-[\"t*\"]}"

feedback up || { echo "test: feedback up failed" >&2; exit 1; }
mkdir -p test-artifacts
python -m pytest "$@"
verdict=$?
feedback down || echo "test: feedback down failed" >&2
exit $verdict
