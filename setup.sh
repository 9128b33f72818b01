#!/usr/bin/env bash
# Gradescope image set-up (runs once, as root, from /autograder/source on Ubuntu 22.04).
# Installs the engine and the packages students may import (assignment.yaml), every
# package pinned by constraints.txt, into the system Python, so the worker's
# unprivileged user can run them, and creates that user.
set -euo pipefail
cd "$(dirname "$0")"

if ! python3 -m pip --version >/dev/null 2>&1; then
    apt-get update
    apt-get install -y --no-install-recommends python3 python3-pip
fi
# --break-system-packages only where the image marks its Python as externally managed (PEP 668).
pip_install() {
    python3 -m pip install --no-cache-dir -c constraints.txt "$@" || \
        python3 -m pip install --no-cache-dir --break-system-packages -c constraints.txt "$@"
}
pip_install .
(cd / && python3 -m autograder packages --problems "$OLDPWD/problems") > /tmp/autograder-student-packages.txt
pip_install -r /tmp/autograder-student-packages.txt
rm -f /tmp/autograder-student-packages.txt

# Student code runs as this user: no home, no shell, no groups, no files of its own.
if ! id autograder-worker >/dev/null 2>&1; then
    useradd --system --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin autograder-worker
fi

# Student code must never run as root: a root grader that cannot switch to this user refuses to
# run it at all. So check now, at image build time, that the user can run Python with the engine,
# and then that a worker runs as it must: the installed engine grades a small submission that
# imports every student package, as that user, through the real sandbox. (From /, so that the
# unpacked source folder cannot stand in for the installed engine.)
fail() {
    echo "setup.sh: $1" >&2
    echo "Fix: install Python and the engine where every user can read them (the system python3, or a" >&2
    echo "virtual environment outside any private home: chmod -R o+rX it and each folder above it)." >&2
    echo "Until then the autograder refuses to run any submission." >&2
    exit 1
}
(cd / && setpriv --reuid=autograder-worker --regid=autograder-worker --clear-groups -- \
    python3 -c "import autograder, numpy" </dev/null) || fail "the user autograder-worker cannot run python3 -c 'import autograder, numpy' (above: why)"
(cd / && python3 -m autograder selfcheck --problems "$OLDPWD/problems" </dev/null) || fail "a worker cannot grade on this image (above: why)"
