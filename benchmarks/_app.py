"""The app as the browser benchmarks run it: ``streamlit run app.py`` on a free port of
127.0.0.1, driven by the e2e suite's Chromium (``CHROMIUM``, ``CHROMIUM_ARGS``) and typing into the
editor as its tests do (``SET_PROGRAM``, ``RUN_BUTTON``)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import IO

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.e2e.conftest import CHROMIUM, CHROMIUM_ARGS  # noqa: E402
from tests.e2e.helpers import RUN_BUTTON, SET_PROGRAM, settle  # noqa: E402

__all__ = [
    "CHROMIUM",
    "CHROMIUM_ARGS",
    "RUN_BUTTON",
    "SET_PROGRAM",
    "free_port",
    "settle",
    "start_server",
]

START_SECONDS = 120.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(port: int, log: IO[bytes]) -> subprocess.Popen[bytes]:
    """The app's server, answering its health check; its output goes to ``log``."""
    command = [sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(port)]
    command += ["--server.address", "127.0.0.1", "--server.headless", "true"]
    command += ["--browser.gatherUsageStats", "false"]
    # No file watcher: a change to gradviz's files (a checkout being edited) would make
    # Streamlit re-import them mid-benchmark, a new Pool and fork server with them.
    command += ["--server.fileWatcherType", "none"]
    process = subprocess.Popen(
        command,
        cwd=ROOT,
        stdout=log,
        stderr=subprocess.STDOUT,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    deadline = time.monotonic() + START_SECONDS
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2):
                return process
        except (urllib.error.URLError, OSError):
            if process.poll() is not None:
                break
            time.sleep(0.2)
    process.kill()
    process.wait()
    raise SystemExit(f"streamlit did not start (see its log, {log.name})")
