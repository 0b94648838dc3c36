"""The host's pool: parallel runs with a bound, a queue, abandoned runs killed, a dead worker
replaced, results bounded. Every graph checked against plain torch."""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Iterator

import pytest
import torch

import gradviz
from gradviz.model.errors import LimitExceeded, RunCancelled
from gradviz.sandbox.limits import Limits
from gradviz.sandbox.pool import Pool


def polynomial(x: float) -> str:
    return (
        "import torch\n"
        f"x = torch.tensor({x}, requires_grad=True)\n"
        "y = 2*x**4 + x**3 + 3*x**2 + 5*x + 1\n"
        "y.backward()\n"
    )


def torch_grad(x: float) -> float:
    t = torch.tensor(x, requires_grad=True)
    (2 * t**4 + t**3 + 3 * t**2 + 5 * t + 1).backward()
    assert t.grad is not None
    return float(t.grad)


@pytest.fixture(scope="module")
def pool() -> Iterator[Pool]:
    pool = Pool(workers=2)
    pool.warm()
    yield pool
    pool.close()


def test_twenty_runs_from_twenty_threads_all_complete_within_the_bound(pool: Pool) -> None:
    xs = [0.5 * i - 3 for i in range(20)]
    grads: dict[float, float] = {}
    queued: list[float] = []

    def one(x: float) -> None:
        def waiting(state: str, seconds: float) -> None:
            if state == "queued":
                queued.append(x)

        # Each run lasts at least 0.2 s, so that twenty of them in two places surely queue
        # (a run is told it is queued once it has waited WAIT_TICK, 0.25 s, for a place).
        slow = polynomial(x) + "import time\ntime.sleep(0.2)\n"
        graph = gradviz.run(slow, pool=pool, on_wait=waiting)
        node = graph.find("x")[0]
        assert node.grad is not None and node.grad.data is not None
        grads[x] = float(node.grad.data)

    pool.most_running = 0
    threads = [threading.Thread(target=one, args=(x,)) for x in xs]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert sorted(grads) == sorted(xs)  # none lost
    for x in xs:
        assert grads[x] == pytest.approx(torch_grad(x))
    assert pool.most_running == 2  # the bound held, and was used
    assert queued  # some had to wait
    assert pool.running == 0


def test_an_exception_from_on_wait_abandons_the_run_and_kills_it(pool: Pool) -> None:
    started = time.monotonic()

    def impatient(state: str, seconds: float) -> None:
        if seconds > 0.5:
            raise KeyboardInterrupt  # what a page that moved on raises, in spirit

    with pytest.raises(KeyboardInterrupt):
        gradviz.run("while True:\n    pass\n", pool=pool, on_wait=impatient)
    assert time.monotonic() - started < 3
    assert pool.running == 0
    # The child is gone: the worker's only process left is the fork server itself.
    server = pool.server()
    children = _children(server.process.pid)
    deadline = time.monotonic() + 5
    while children and time.monotonic() < deadline:
        time.sleep(0.1)
        children = _children(server.process.pid)
    assert children == []


def test_a_cancelled_run_says_so(pool: Pool) -> None:
    cancel = threading.Event()
    threading.Timer(0.5, cancel.set).start()
    with pytest.raises(RunCancelled):
        gradviz.run("while True:\n    pass\n", pool=pool, cancelled=cancel)


def test_a_dead_worker_is_replaced(pool: Pool) -> None:
    os.kill(pool.server().process.pid, signal.SIGKILL)
    pool.server().process.wait(timeout=10)
    graph = gradviz.run(polynomial(2.0), pool=pool)
    grad = graph.find("x")[0].grad
    assert grad is not None and grad.data == 93.0


def test_closing_a_pool_ends_its_fork_server_at_once() -> None:
    """The server sees the host's end of input and exits on its own (0), without being
    killed (-9) after the host's wait for it runs out."""
    fresh = Pool(workers=1)
    fresh.warm()
    server = fresh._server
    assert server is not None
    fresh.close()
    assert server.process.returncode == 0


def test_a_result_past_its_bound_is_summarized_then_refused(pool: Pool) -> None:
    source = "import torch\nx = torch.ones(50, 50, requires_grad=True)\n(x * 2).sum().backward()\n"
    (x,) = gradviz.run(source, pool=pool).find("x")
    assert x.value is not None and x.value.data is not None  # 2,500 elements in full
    # Within 20 kB the child sends the values summarized (the JSON in full is ~60 kB).
    (small,) = gradviz.run(source, limits=Limits(result_bytes=20_000), pool=pool).find("x")
    assert small.value is not None and small.value.data is None and small.value.summary
    with pytest.raises(LimitExceeded, match="result_bytes"):
        gradviz.run(source, limits=Limits(result_bytes=1_000), pool=pool)


def _children(pid: int) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    fields = f.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid and fields[0] != "Z":
                found.append(int(entry))
    return found


def test_a_run_someone_waits_for_overtakes_queued_background_runs(pool: Pool) -> None:
    finished: list[str] = []
    lock = threading.Lock()

    def one(name: str, x: float, background: bool) -> None:
        slow = "import time\ntime.sleep(0.4)\n" if background else ""  # keeps the queue full
        graph = gradviz.run(polynomial(x) + slow, pool=pool, background=background)
        node = graph.find("x")[0]
        assert node.grad is not None and node.grad.data is not None
        assert float(node.grad.data) == torch_grad(x)
        with lock:
            finished.append(name)

    threads = [threading.Thread(target=one, args=(f"curve {i}", 0.1 * i, True)) for i in range(8)]
    for thread in threads:
        thread.start()
    time.sleep(0.2)  # two curve runs are running, six queued
    main = threading.Thread(target=one, args=("graph", 2.0, False))
    main.start()
    for thread in [*threads, main]:
        thread.join(60)
    assert len(finished) == 9
    assert finished.index("graph") <= 2, finished  # after the two running at most
