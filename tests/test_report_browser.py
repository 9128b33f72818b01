"""The batch report in a real browser: headless Chromium renders it, runs its sort script, and shows every student.

Needs Debian's ``chromium`` (``.ci/browser.sh`` installs it). Without it the
test skips on a workstation, and fails in CI (when ``CI`` is set), so a CI
image that lost the browser cannot pass silently.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from html import unescape
from pathlib import Path

import pytest
from helpers import IDS, make_export, run_batch

pytestmark = [pytest.mark.slow, pytest.mark.ps3]  # a browser, and the batch tests' PS3 class (tests/helpers.py): `make test-slow`

BROWSER_TIMEOUT = 90


def chromium() -> str:
    found = shutil.which("chromium") or ("/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None)
    if found is None:
        message = "headless Chromium is needed: run .ci/browser.sh (apt-get install chromium)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return found


def browse(url: str, profile: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    command = [
        chromium(),
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        f"--user-data-dir={profile}",
        "--enable-logging=stderr",
        "--v=0",
        *extra,
        url,
    ]
    return subprocess.run(command, capture_output=True, text=True, timeout=BROWSER_TIMEOUT, check=False)


def artifacts(tmp_path: Path) -> Path:
    folder = Path(os.environ["CI_ARTIFACTS"]) if os.environ.get("CI_ARTIFACTS") else tmp_path / "artifacts"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def test_report_renders_every_student_and_its_script_runs(tmp_path: Path) -> None:
    chromium()  # fail or skip before grading anything
    export, out = make_export(tmp_path / "export"), tmp_path / "out"
    assert run_batch(export, "--out", out, "--jobs", "2") == 0
    page = (out / "report.html").resolve()

    done = browse(page.as_uri() + "#sort=score-desc", tmp_path / "profile", "--dump-dom")
    assert done.returncode == 0, done.stderr[-2000:]
    dom = done.stdout
    assert "Uncaught" not in done.stderr, done.stderr[-2000:]
    body = re.search(r"<body[^>]*>", dom)
    assert body and 'data-sort-ready="yes"' in body.group(0), "the sort script did not run"
    assert 'data-sorted-by="score-desc"' in body.group(0)
    students = dom.split('id="students-table"')[1].split("</table>")[0]
    order = re.findall(r'<tr data-id="([^"]+)"', students)
    assert sorted(order) == sorted(IDS)  # every student's row is in the rendered page
    first_scores = [unescape(re.findall(r'data-v="([^"]*)"', row)[0]) for row in re.findall(r"<tr data-id=.*?</tr>", students, flags=re.S)]
    numbers = [float(v) for v in first_scores]  # the first data-v of a row is its score
    assert numbers == sorted(numbers, reverse=True), numbers
    assert "Zoë Ångström" in students and "&lt;script&gt;alert(1)&lt;/script&gt;" in students
    assert "<script>alert" not in dom

    screenshot = artifacts(tmp_path) / "batch-report.png"
    shot = browse(page.as_uri(), tmp_path / "profile-shot", f"--screenshot={screenshot}", "--window-size=1280,2400", "--hide-scrollbars")
    assert shot.returncode == 0 and screenshot.stat().st_size > 10_000, shot.stderr[-2000:]
    assert "Uncaught" not in shot.stderr

    feedback = browse((out / "102" / "feedback.html").resolve().as_uri(), tmp_path / "profile-feedback", "--dump-dom")
    assert feedback.returncode == 0 and "Autograded score" in feedback.stdout and "Staff only" in feedback.stdout
    assert "Uncaught" not in feedback.stderr
