#!/usr/bin/env bash
# CI: headless Chromium for tests/test_report_browser.py (Debian's `chromium` package), installed if missing.
set -euo pipefail
if command -v chromium >/dev/null 2>&1 || [ -x /usr/bin/chromium ]; then
    exit 0
fi
if [ "$(id -u)" = 0 ]; then
    as_root=()
elif command -v sudo >/dev/null 2>&1; then
    as_root=(sudo)
else
    echo "chromium is missing and this user cannot install it (not root, no sudo): install Debian's chromium package" >&2
    exit 1
fi
export DEBIAN_FRONTEND=noninteractive
"${as_root[@]}" apt-get update -qq
"${as_root[@]}" apt-get install -y -qq --no-install-recommends chromium
command -v chromium >/dev/null
