#!/usr/bin/env bash
# Install everything the project needs on a fresh machine of this kind (idempotent):
# a virtual environment in .venv with the locked Python packages and this project.
# Java 17+ (Kafka), Java 21+ (Elasticsearch) and Maven are found on the machine;
# `feedback up` downloads Kafka and Elasticsearch from Maven Central on first use.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON="${PYTHON:-python3.11}"
command -v "$PYTHON" >/dev/null 2>&1 || PYTHON=python3

if [ ! -x .venv/bin/python ]; then
    "$PYTHON" -m venv .venv
fi
stamp=.venv/.feedback-lock
if [ ! -f "$stamp" ] || ! cmp -s requirements.lock "$stamp"; then
    .venv/bin/pip install --quiet --upgrade pip
    .venv/bin/pip install --quiet -r requirements.lock
    cp requirements.lock "$stamp"
fi
.venv/bin/pip install --quiet --no-deps -e .
echo "setup: .venv ready ($(.venv/bin/python -c 'import torch; print("torch", torch.__version__)'))" >&2
