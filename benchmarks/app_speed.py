"""Run-to-drawn time of the app in a real browser, for every gallery example.

Starts ``streamlit run app.py`` on a free port, opens it in headless Chromium, and for each
example (several repetitions) types the program, presses Run and waits until the graph's SVG
holds exactly the nodes ``gradviz.run`` gives for it. Each repetition adds a comment line so
the run is not served from the cache: the time includes running the program, laying the
graph out on the server, sending the SVG and drawing it.

A graph above the node budget is drawn as its collapsed view, so for the big examples (a
trained MLP, a CNN, a transformer block, the 2,000-layer chain) the wait is for the view's
nodes. Prints the median per example and overall (target: median <= 1 s for the lecture
examples; the big ones are reported apart). Not a test.

    python benchmarks/app_speed.py [--repeat 5] [--only deep_chain small_cnn groups ...]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from _app import CHROMIUM, CHROMIUM_ARGS, RUN_BUTTON, SET_PROGRAM, free_port, settle, start_server

import gradviz
from gradviz.gallery import DEFAULT, EXAMPLES, by_key
from gradviz.views.budget import DEFAULT_BUDGET, budget_view
from gradviz.views.iterations import last_iteration

RESET = "import torch\nreset = torch.ones(1, requires_grad=True)\n"
"""A one-node program run between measurements, so the next graph is surely new."""
DRAWN = """() => new Set([...document.querySelectorAll('.gv-canvas svg g.node')]
  .map(g => g.dataset.gvId)).size"""
"""Nodes the graph drawn has (a tensor drawn again at each of its uses counts once)."""
COUNT_NODES = f"(want) => ({DRAWN})() === want"
"""True once the graph drawn has ``want`` nodes (``want`` >= 1: no graph has none)."""
REDRAWN = f"(before) => ({DRAWN})() !== before"
"""True once the graph drawn has another number of nodes than ``before`` (a new drawing)."""

CURRENT_ID = """() => {
  const node = document.querySelector('.gv-canvas g.node.gv-current');
  return node ? node.dataset.gvId : '';
}"""
CURRENT = f"(before) => {{ const now = ({CURRENT_ID})(); return now !== '' && now !== before; }}"
"""True once a node other than ``before`` is marked as the step's."""


def drawn_count(code: str) -> int:
    """Nodes the app draws for the program at the default node budget (a loop's last
    iteration, as the page shows it by default)."""
    graph = gradviz.run(code)
    loop = last_iteration(graph)
    return len(budget_view(loop.graph if loop else graph, DEFAULT_BUDGET).graph.nodes)


def group_actions(page: Any, port: int, repeat: int) -> None:
    """Collapse a module, fold repeated blocks, expand the 2,000-layer chain's group: the
    time from the click to the new graph drawn. Each repetition seeds the program anew, so
    its values, and so its layouts, are new to the server's layout cache."""
    run = page.locator(RUN_BUTTON)

    def load(key: str, rep: int) -> None:
        code = by_key(key).code.replace("manual_seed(0)", f"manual_seed({rep + 100})")
        page.goto(f"http://127.0.0.1:{port}/")
        page.wait_for_selector(RUN_BUTTON)
        page.evaluate(SET_PROGRAM, code)
        before = page.evaluate(DRAWN)
        run.click()
        page.wait_for_function(REDRAWN, arg=before, polling="raf")
        settle(page)  # the curve too: a rerun closes an open dropdown
        panel = page.get_by_test_id("stExpander").filter(has_text="Modules, groups and search")
        if panel.locator("details").get_attribute("open") is None:
            panel.locator("summary").click()  # within the budget it starts closed
            page.wait_for_timeout(1000)  # a click while it slides open opens no dropdown

    def timed(click: Callable[[], None]) -> float:
        before = page.evaluate(DRAWN)
        start = time.perf_counter()
        click()
        page.wait_for_function(REDRAWN, arg=before, polling="raf")
        return time.perf_counter() - start

    def choose(box: str, label: str, option: str | None) -> Callable[[], None]:
        """Open the widget labelled ``label`` and pick ``option`` (None: the first)."""

        def click() -> None:
            page.get_by_test_id(box).filter(has_text=label).click()
            options = page.get_by_role("option")
            (options.first if option is None else options.filter(has_text=option)).click()

        return click

    actions = (
        (
            "collapse block.attn (transformer)",
            "transformer_block",
            choose("stMultiSelect", "Collapse modules", "block.attn ("),
        ),
        (
            "fold 6 repeated blocks (×6)",
            "stacked_blocks",
            lambda: page.get_by_text("Fold repeated blocks").click(),
        ),
        (
            "expand the 2,000-layer chain's group",
            "deep_chain",
            choose("stSelectbox", "Expand a group", None),
        ),
    )
    for title, key, click in actions:
        times = []
        for rep in range(repeat):
            load(key, rep)
            times.append(timed(click))
        drawn = page.evaluate(DRAWN)
        print(
            f"{title:40s} median {statistics.median(times):.2f} s (min {min(times):.2f}, "
            f"max {max(times):.2f}; {drawn} nodes drawn; target <= 2 s, the chain 3 s)"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5, help="measurements per example")
    parser.add_argument("--only", nargs="*", default=None, help="example keys to measure")
    options = parser.parse_args()
    examples = [e for e in EXAMPLES if options.only is None or e.key in options.only]
    if not os.path.exists(CHROMIUM):
        raise SystemExit(f"needs Chromium at {CHROMIUM} (apt-get install -y chromium)")
    from playwright.sync_api import TimeoutError as PlaywrightTimeout
    from playwright.sync_api import sync_playwright

    port = free_port()
    log = (Path(tempfile.gettempdir()) / f"gradviz-bench-{port}.log").open("wb")
    server = start_server(port, log)
    results: dict[str, list[float]] = {}
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1440, "height": 1000})
            page.set_default_timeout(60_000)
            started = time.perf_counter()
            page.goto(f"http://127.0.0.1:{port}/")
            default_nodes = len(gradviz.run(DEFAULT.code).nodes)
            page.wait_for_function(COUNT_NODES, arg=default_nodes)
            cold = time.perf_counter() - started
            print(f"first load (server cold, torch import included): {cold:.2f} s")
            warm = []
            for _ in range(3):
                tab = browser.new_page(viewport={"width": 1440, "height": 1000})
                start = time.perf_counter()
                tab.goto(f"http://127.0.0.1:{port}/")
                tab.wait_for_function(COUNT_NODES, arg=default_nodes, polling="raf")
                warm.append(time.perf_counter() - start)
                tab.close()
            print(
                f"fresh tab, warm server, to the default graph: median "
                f"{statistics.median(warm):.2f} s (target <= 3 s)"
            )
            steps = []
            walk = browser.new_page(viewport={"width": 1440, "height": 1000})
            walk.goto(f"http://127.0.0.1:{port}/?walk=Backward%2C+step+by+step")
            walk.wait_for_function(CURRENT, arg="", polling="raf")
            for _ in range(4):
                before = walk.evaluate(CURRENT_ID)
                start = time.perf_counter()
                walk.get_by_role("button", name="Next").click()
                walk.wait_for_function(CURRENT, arg=before, polling="raf")
                steps.append(time.perf_counter() - start)
            walk.close()
            print(
                f"a backward step (Next to the next node marked): median "
                f"{statistics.median(steps):.3f} s (target <= 0.3 s)"
            )
            if options.only is None or "groups" in options.only:
                group_actions(page, port, repeat=3)
            run = page.locator(RUN_BUTTON)
            for example in examples:
                full = len(gradviz.run(example.code).nodes)
                want = drawn_count(example.code)
                times = []
                for rep in range(options.repeat):
                    page.evaluate(SET_PROGRAM, RESET)
                    run.click()
                    page.wait_for_function(COUNT_NODES, arg=1)
                    page.evaluate(
                        SET_PROGRAM, example.code + f"# measurement {rep} {time.time()}\n"
                    )
                    start = time.perf_counter()
                    run.click()
                    try:
                        page.wait_for_function(COUNT_NODES, arg=want, polling="raf")
                    except PlaywrightTimeout:
                        drawn = page.evaluate(DRAWN)
                        print(f"{example.key}: {want} nodes not drawn within 60 s ({drawn} are)")
                        page.screenshot(path=f"{tempfile.gettempdir()}/gradviz-{example.key}.png")
                        break
                    times.append(time.perf_counter() - start)
                if not times:
                    continue
                results[example.key] = times
                shown = f"{want:3d} nodes" + (f" of {full:,}" if want != full else "")
                print(
                    f"{example.key:18s} {shown:16s} median {statistics.median(times):.3f} s"
                    f"  (min {min(times):.3f}, max {max(times):.3f})"
                )
            browser.close()
    finally:
        server.terminate()
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:  # a run still going in a child: stop it all
            server.kill()
            server.wait()
        log.close()
    for title, keys in (
        ("lecture examples", [k for k in results if not by_key(k).big]),
        ("big examples", [k for k in results if by_key(k).big]),
    ):
        if keys:
            medians = [statistics.median(results[k]) for k in keys]
            every = [t for k in keys for t in results[k]]
            print(
                f"{title}: overall median {statistics.median(every):.3f} s over {len(every)} "
                f"runs; worst example median {max(medians):.3f} s"
                + (" (target <= 1 s)" if title == "lecture examples" else "")
            )


if __name__ == "__main__":
    main()
