"""The real thing: ``streamlit run app.py`` in a subprocess, driven by headless Chromium.

The server is started once per session on a free port and waited for on
``/_stcore/health``; each test gets a fresh browser context. The suite is skipped (with the
reason) only when Debian's Chromium is not installed: ``make test`` installs it.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect, sync_playwright

# The first run of a fresh server imports torch; assertions wait, they never sleep.
expect.set_options(timeout=60_000)

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = Path(
    os.environ.get("GRADVIZ_SCREENSHOTS") or tempfile.mkdtemp(prefix="gradviz-screenshots-")
)
"""Where the tests save their screenshots: a temporary folder, so a test run leaves the work
tree clean; ``make screenshots`` points it at assets/ to refresh the README's pictures."""
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
START_TIMEOUT = 90.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
            return bool(response.status == 200)
    except (urllib.error.URLError, OSError):
        return False


class Server:
    """A running ``streamlit run app.py``; ``stop()`` ends it."""

    def __init__(self) -> None:
        self.port = free_port()
        self.url = f"http://localhost:{self.port}"
        self.log = tempfile.NamedTemporaryFile(  # closed in stop()
            prefix="gradviz-e2e-", suffix=".log", delete=False
        )
        command = [sys.executable, "-m", "streamlit", "run", "app.py"]
        command += ["--server.port", str(self.port), "--server.headless", "true"]
        command += ["--browser.gatherUsageStats", "false"]
        self.process = subprocess.Popen(
            command,
            cwd=ROOT,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )

    def wait(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"streamlit exited early:\n{self.output()}")
            if _healthy(self.url):
                return
            time.sleep(0.2)
        raise RuntimeError(f"streamlit not healthy after {START_TIMEOUT:.0f} s:\n{self.output()}")

    def output(self) -> str:
        self.log.flush()
        return Path(self.log.name).read_text(errors="replace")[-4000:]

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.log.close()
        Path(self.log.name).unlink(missing_ok=True)


def require_chromium() -> None:
    if not Path(CHROMIUM).exists():
        pytest.skip(
            f"end-to-end tests need Debian's Chromium at {CHROMIUM} "
            "(apt-get install -y chromium, or `make browser`)"
        )


@pytest.fixture(scope="session")
def app_url() -> Iterator[str]:
    """The base URL of a running app."""
    require_chromium()
    server = Server()
    try:
        server.wait()
        yield server.url
    finally:
        server.stop()


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """Headless Chromium (Debian's build; Playwright's own browsers are not downloaded)."""
    require_chromium()
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True
        )
        yield chromium
        chromium.close()


@pytest.fixture(scope="session")
def context(browser: Any) -> Iterator[Any]:
    """One browser context for the run: its HTTP cache keeps Streamlit's scripts loaded."""
    context = browser.new_context(viewport={"width": 1440, "height": 1000}, accept_downloads=True)
    context.set_default_timeout(60_000)
    yield context
    context.close()


@pytest.fixture
def page(context: Any, app_url: str) -> Iterator[Any]:
    """A fresh page: a new Streamlit session (its own session state) at a laptop-sized size."""
    page = context.new_page()
    yield page
    page.close()
