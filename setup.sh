#!/usr/bin/env bash
# Gradescope image set-up (runs once, as root, from /autograder/source on Ubuntu 22.04).
# Installs the engine and its pinned dependencies into the system Python, so the
# worker's unprivileged user can run it, and creates that user.
set -euo pipefail
cd "$(dirname "$0")"

if ! python3 -m pip --version >/dev/null 2>&1; then
    apt-get update
    apt-get install -y --no-install-recommends python3 python3-pip
fi
# --break-system-packages only where the image marks its Python as externally managed (PEP 668).
python3 -m pip install --no-cache-dir . || python3 -m pip install --no-cache-dir --break-system-packages .

# Student code runs as this user: no home, no shell, no groups, no files of its own.
if ! id autograder-worker >/dev/null 2>&1; then
    useradd --system --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin autograder-worker
fi
