"""Many users at once: 10, 20 and 40 real browser pages against one Streamlit server.

Starts ``streamlit run app.py`` on a free port of 127.0.0.1 (nothing else is contacted) and
one headless Chromium. For each load level, that many pages (a few per browser context) open
the app and wait for its first graph, untimed; then every page at once puts its own program
in the editor and presses Run. Each program is the gallery's polynomial at its own x (never
2, the page's default, and different on every page and level, so no run is served from the
app's cache), and the run counts as done when the page's graph shows that x, that y and that
gradient, computed here with torch. Each user's time, from the click on Run to the graph
drawn, is measured in the page (``performance.now()`` in a capture-phase click listener and
a MutationObserver), so the driver's own delays do not count. A user is lost if its graph is
not drawn before the level's deadline.

The app also starts the curve's runs (about 27 sandboxed runs per Run) once the graph is
sent: they load the server too, as they would with a real class. The server's memory is
sampled from /proc four times a second: the resident set (RSS) of the Streamlit process plus
its descendants (the fork server and the children running programs), and the same as PSS
(shared pages counted once; a forked child shares most of the fork server's pages, so the
RSS sum counts them again for every child).

Everything is bounded: START_SECONDS for the server, LOAD_SECONDS per page load,
RUN_SECONDS per level, GLOBAL_SECONDS for the whole script. Run:
``python benchmarks/load.py [--users 10 20 40]``.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _app import CHROMIUM, CHROMIUM_ARGS, RUN_BUTTON, SET_PROGRAM, free_port, start_server
from _bench import table

LEVELS = (10, 20, 40)
PAGES_PER_CONTEXT = 5
"""Pages sharing one browser context (one renderer set, one HTTP cache)."""
LOADING_AT_ONCE = 4
"""Pages opened at the same time before a level starts (the opening is not measured)."""
LOAD_SECONDS = 240.0
RUN_SECONDS = 300.0
IDLE_SECONDS = 120.0
"""How long to wait, between levels, for the previous level's curve runs to end."""
GLOBAL_SECONDS = 40 * 60.0
HEADER = (
    "users",
    "done",
    "lost",
    "p50 s",
    "p95 s",
    "max s",
    "level s",
    "peak RSS MB",
    "peak PSS MB",
    "processes",
)
POLYNOMIAL = """\
import torch

# y = 2x^4 + x^3 + 3x^2 + 5x + 1, differentiated at x = {x}
x = torch.tensor({x}, requires_grad=True)
y = 2*x**4 + x**3 + 3*x**2 + 5*x + 1
y.backward()
print("y =", y)
print("dy/dx =", x.grad)
"""
DEFAULT_SHOWN = ["value 2", "value 63", "grad 93"]
"""What the page's default program (the polynomial at x = 2) draws."""
WATCH = """(want) => {
  const gv = window.__gradviz_load = {clicked: null, drawn: null};
  const shown = () => {
    const svg = document.querySelector('.gv-canvas svg');
    if (!svg) return false;
    const texts = new Set([...svg.querySelectorAll('text')].map(t => t.textContent.trim()));
    return want.every(w => texts.has(w));
  };
  const observer = new MutationObserver(() => {
    if (gv.clicked !== null && gv.drawn === null && shown()) {
      gv.drawn = performance.now();
      observer.disconnect();
    }
  });
  observer.observe(document.body, {childList: true, subtree: true, characterData: true});
  document.addEventListener('click', (event) => {
    if (gv.clicked === null && event.target.closest('[data-testid="stButton"]')) {
      gv.clicked = performance.now();
    }
  }, true);
}"""
SHOWS = """(want) => {
  const svg = document.querySelector('.gv-canvas svg');
  if (!svg) return false;
  const texts = new Set([...svg.querySelectorAll('text')].map(t => t.textContent.trim()));
  return want.every(w => texts.has(w));
}"""


def program(k: int) -> tuple[str, list[str]]:
    """User k's program and the texts its graph must show (x, y and dy/dx, from torch)."""
    import torch

    from gradviz.model.format import number

    x_value = (33 + 2 * k) / 32  # an odd number of 32nds: never 2, exact in float32
    x = torch.tensor(x_value, requires_grad=True)
    y = 2 * x**4 + x**3 + 3 * x**2 + 5 * x + 1
    y.backward()
    assert x.grad is not None
    want = [f"value {number(x.item())}", f"value {number(y.item())}"]
    want.append(f"grad {number(x.grad.item())}")
    return POLYNOMIAL.format(x=x_value), want


# --- the server and its memory --------------------------------------------------------------


def _children() -> dict[int, list[int]]:
    """Every process's children, from /proc (one pass)."""
    tree: dict[int, list[int]] = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat", "rb") as f:
                ppid = int(f.read().rsplit(b")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        tree.setdefault(ppid, []).append(int(name))
    return tree


def descendants(pid: int) -> list[int]:
    """pid and every process below it."""
    tree, found, todo = _children(), [], [pid]
    while todo:
        p = todo.pop()
        found.append(p)
        todo.extend(tree.get(p, []))
    return found


def _kilobytes(path: str, key: bytes) -> int:
    try:
        with open(path, "rb") as f:
            for line in f:
                if line.startswith(key):
                    return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return 0


class MemorySampler:
    """Samples the RSS and PSS of a process tree in a thread; keeps the peaks."""

    def __init__(self, pid: int, interval: float = 0.25) -> None:
        self.pid, self.interval = pid, interval
        self.stop_event = threading.Event()
        self.peak_rss = self.peak_pss = 0
        self.most_processes = 0
        self.thread = threading.Thread(target=self._loop, daemon=True)

    def sample(self) -> tuple[int, int, int]:
        """(RSS kB, PSS kB, processes) of the tree now."""
        pids = descendants(self.pid)
        rss = sum(_kilobytes(f"/proc/{p}/status", b"VmRSS:") for p in pids)
        pss = sum(_kilobytes(f"/proc/{p}/smaps_rollup", b"Pss:") for p in pids)
        return rss, pss, len(pids)

    def _loop(self) -> None:
        while not self.stop_event.wait(self.interval):
            rss, pss, count = self.sample()
            self.peak_rss = max(self.peak_rss, rss)
            self.peak_pss = max(self.peak_pss, pss)
            self.most_processes = max(self.most_processes, count)

    def __enter__(self) -> MemorySampler:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop_event.set()
        self.thread.join()


def running_programs(server_pid: int) -> int:
    """Processes two levels or more below the server: the fork server's children."""
    tree = _children()
    below = [c for child in tree.get(server_pid, []) for c in tree.get(child, [])]
    return len(below)


def fork_servers(server_pid: int) -> int:
    """The app's fork servers (its children running gradviz.sandbox.server)."""
    count = 0
    for pid in _children().get(server_pid, []):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                count += b"gradviz.sandbox.server" in f.read()
        except OSError:
            pass
    return count


def wait_idle(server_pid: int, seconds: float) -> None:
    """Until no program runs under the server (the previous level's curve runs are over)
    for a second."""
    deadline = time.monotonic() + seconds
    quiet_since: float | None = None
    while time.monotonic() < deadline:
        now = time.monotonic()
        if running_programs(server_pid):
            quiet_since = None
        elif quiet_since is None:
            quiet_since = now
        elif now - quiet_since >= 1.0:
            return
        time.sleep(0.2)


# --- the users ------------------------------------------------------------------------------


@dataclass
class User:
    k: int
    code: str
    want: list[str]
    page: Any = None
    seconds: float | None = None
    problem: str = ""
    errors: list[str] = field(default_factory=list)


async def open_page(context: Any, url: str, user: User, gate: asyncio.Semaphore) -> None:
    async with gate:
        page = await context.new_page()
        user.page = page
        page.on("pageerror", lambda e: user.errors.append(str(e)[:200]))
        page.set_default_timeout(LOAD_SECONDS * 1000)
        await page.goto(url)
        await page.wait_for_function(SHOWS, arg=DEFAULT_SHOWN, polling=250)


async def run_user(user: User, deadline: float) -> None:
    page = user.page
    try:
        button = page.locator(RUN_BUTTON)
        await page.evaluate(WATCH, user.want)
        await button.click(timeout=max(1.0, deadline - time.monotonic()) * 1000)
        remaining = max(1.0, deadline - time.monotonic()) * 1000
        await page.wait_for_function(
            "() => window.__gradviz_load.drawn !== null", polling=250, timeout=remaining
        )
        times = await page.evaluate("() => window.__gradviz_load")
        user.seconds = (times["drawn"] - times["clicked"]) / 1000
    except Exception as e:  # a lost user: say why, keep measuring the others
        user.problem = f"{type(e).__name__}: {str(e).splitlines()[0][:160]}"


async def level(browser: Any, url: str, users: list[User]) -> float:
    """Open the pages, fill the editors, then press Run on every page at once; returns the
    seconds from the first click until the last graph (or the deadline)."""
    contexts = []
    gate = asyncio.Semaphore(LOADING_AT_ONCE)
    opening = []
    for i, user in enumerate(users):
        if i % PAGES_PER_CONTEXT == 0:
            contexts.append(await browser.new_context(viewport={"width": 1280, "height": 900}))
        opening.append(open_page(contexts[-1], url, user, gate))
    results = await asyncio.gather(*opening, return_exceptions=True)
    for user, result in zip(users, results, strict=True):
        if isinstance(result, BaseException):
            user.problem = f"page did not load: {type(result).__name__}: {result}"[:200]
    ready = [u for u in users if not u.problem]
    for user in ready:
        await user.page.evaluate(SET_PROGRAM, user.code)
    start = time.monotonic()
    await asyncio.gather(*(run_user(u, start + RUN_SECONDS) for u in ready))
    elapsed = time.monotonic() - start
    for context in contexts:
        await context.close()
    return elapsed


def _quantile(values: list[float], q: float) -> float:
    """Nearest-rank quantile (q in [0, 1]) of a non-empty list."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * len(ordered) + 0.5) - 1))]


async def measure(levels: tuple[int, ...]) -> tuple[list[list[object]], list[str]]:
    from playwright.async_api import async_playwright

    port = free_port()
    url = f"http://127.0.0.1:{port}/"
    notes: list[str] = []
    rows: list[list[object]] = []
    log_path = Path(tempfile.gettempdir()) / f"gradviz-load-{port}.log"
    notes.append(f"server log: {log_path}")
    with log_path.open("wb") as log:
        server = start_server(port, log)
        try:
            async with async_playwright() as playwright:
                browser = await playwright.chromium.launch(
                    executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True
                )
                # One page first: the first run pays the fork server's start (untimed).
                await level(browser, url, [User(0, *program(0))])
                wait_idle(server.pid, IDLE_SECONDS)
                base = MemorySampler(server.pid).sample()
                notes.append(
                    f"server at rest: RSS {base[0] / 1024:.0f} MB, PSS {base[1] / 1024:.0f} MB, "
                    f"{base[2]} processes"
                )
                first = 1
                for n in levels:
                    users = [User(first + i, *program(first + i)) for i in range(n)]
                    first += n
                    with MemorySampler(server.pid) as memory:
                        elapsed = await level(browser, url, users)
                        wait_idle(server.pid, IDLE_SECONDS)
                    rows.append(_row(n, users, elapsed, memory))
                    print(f"{n} users: {rows[-1]}", file=sys.stderr, flush=True)
                    for user in users:
                        if user.problem:
                            notes.append(f"{n} users: user {user.k} lost: {user.problem}")
                        for error in user.errors[:2]:
                            notes.append(f"{n} users: user {user.k} page error: {error}")
                await browser.close()
                servers = fork_servers(server.pid)
                if servers != 1:
                    notes.append(f"the app ended with {servers} fork servers (1 expected)")
        finally:
            server.terminate()
            try:
                server.wait(timeout=20)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()
            log.flush()
            errors = [
                line
                for line in log_path.read_text(errors="replace").splitlines()
                if "Traceback" in line or "Error" in line
            ]
            notes += [f"server log: {line[:200]}" for line in errors[:10]]
    return rows, notes


def _row(n: int, users: list[User], elapsed: float, memory: MemorySampler) -> list[object]:
    times = [u.seconds for u in users if u.seconds is not None]
    done = len(times)
    if times:
        p50, p95, worst = statistics.median(times), _quantile(times, 0.95), max(times)
    else:
        p50 = p95 = worst = float("nan")
    return [
        n,
        done,
        n - done,
        p50,
        p95,
        worst,
        elapsed,
        memory.peak_rss / 1024,
        memory.peak_pss / 1024,
        memory.most_processes,
    ]


def rows(levels: tuple[int, ...] = LEVELS) -> list[list[object]]:
    if not Path(CHROMIUM).exists():
        raise SystemExit(f"needs Chromium at {CHROMIUM} (apt-get install -y chromium)")
    result, notes = asyncio.run(asyncio.wait_for(measure(levels), GLOBAL_SECONDS))
    for note in notes:
        print(note)
    return result


def summary(result: list[list[object]]) -> list[list[object]]:
    """run_all's rows: p95 per level; the target is that no user is lost."""
    out: list[list[object]] = []
    for row in result:
        verdict = "ok" if row[2] == 0 else f"{row[2]} lost"
        what = f"load, {row[0]} users at once: Run to graph drawn p95 (p50 {row[3]:.2f} s)"
        out.append([what, f"{row[4]:.2f} s", "none lost", verdict])
        out.append([f"load, {row[0]} users: server+children peak RSS", f"{row[7]:.0f} MB", "", ""])
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", nargs="*", type=int, default=list(LEVELS))
    options = parser.parse_args()
    levels = tuple(options.users)
    result = rows(levels)
    title = "concurrent users, Run to graph drawn, one Streamlit server (times in s)"
    print(table(title, HEADER, result))


if __name__ == "__main__":
    main()
