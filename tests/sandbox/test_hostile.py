"""Hostile programs, run through the same path as the app (``gradviz.run``): each case checks
what it did, not only what it was told.

- No file is created or changed outside a folder the test owns, and that folder's canary is
  neither read nor removed.
- Secrets of the host (a canary file, a canary environment variable, other processes' /proc)
  never appear in the result or the output.
- No connection reaches a listener the test opens on 127.0.0.1; no process is started.
- Loops, single long C-level calls and memory bombs stop at their limits; a crash of PyTorch
  is reported; the host stays alive and runs the next program.

The second half runs with the audit hook turned off, to show that the kernel layers
(Landlock, seccomp, rlimits) hold on their own against ctypes and raw os calls.
"""

from __future__ import annotations

import json
import os
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

import gradviz
from gradviz.model.errors import (
    GradvizError,
    LimitExceeded,
    ProgramCrashed,
    ProgramError,
    ProgramSyntaxError,
    RefusedError,
)
from gradviz.model.graph import Graph
from gradviz.sandbox.limits import Limits
from gradviz.sandbox.pool import Pool

CANARY_TEXT = "canary-file-7f3a9"
CANARY_ENV = "canary-env-51c2e"
FAST = Limits(seconds=3.0)
POLY = (
    "import torch\nx = torch.tensor(2.0, requires_grad=True)\n"
    "y = 2*x**4 + x**3 + 3*x**2 + 5*x + 1\ny.backward()\n"
)


@pytest.fixture
def owned(tmp_path: Path) -> Iterator[Path]:
    """A folder the test owns, holding a canary file; checked unchanged afterwards."""
    (tmp_path / "secret.txt").write_text(CANARY_TEXT)
    yield tmp_path
    assert sorted(p.name for p in tmp_path.iterdir()) == ["secret.txt"]
    assert (tmp_path / "secret.txt").read_text() == CANARY_TEXT


@pytest.fixture
def listener() -> Iterator[tuple[int, list[socket.socket]]]:
    """A TCP listener on 127.0.0.1; the list collects every connection it accepts."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    server.settimeout(0.2)
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        while not stop.is_set():
            try:
                accepted.append(server.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield server.getsockname()[1], accepted
    stop.set()
    thread.join()
    server.close()


def outcome(source: str, limits: Limits = FAST, pool: Pool | None = None) -> str:
    """Everything a run sent back, as one text to search for leaked secrets."""
    try:
        graph = gradviz.run(source, limits=limits, pool=pool)
    except GradvizError as e:
        return f"{type(e).__name__}: {e}\n{e.detail}"
    return graph.to_json()


def refused(source: str, pool: Pool | None = None) -> GradvizError:
    with pytest.raises(GradvizError) as info:
        gradviz.run(source, limits=FAST, pool=pool)
    return info.value


def host_still_works() -> None:
    graph = gradviz.run(POLY)
    x = graph.find("x")[0]
    assert x.grad is not None and x.grad.data == 93.0


# -- files -----------------------------------------------------------------------------------
WRITES = {
    "open_write": "open({out!r}, 'w').write('x')",
    "open_append": "open({out!r}, 'a').write('x')",
    "pathlib": "import pathlib\npathlib.Path({out!r}).write_text('x')",
    "torch_save": "import torch\ntorch.save(torch.ones(2), {out!r})",
    "np_save": "import numpy as np\nnp.save({out!r}, np.ones(2))",
    "tofile": "import numpy as np\nnp.ones(2).tofile({out!r})",
    "memmap": "import numpy as np\nnp.memmap({out!r}, mode='w+', shape=(2,))",
    "mkdir": "import os\nos.mkdir({out!r})",
    "remove_canary": "import os\nos.remove({secret!r})",
    "rename_canary": "import os\nos.rename({secret!r}, {out!r})",
    "shutil_copy": "import shutil\nshutil.copy({secret!r}, {out!r})",
    "os_open": "import os\nos.open({out!r}, os.O_CREAT | os.O_WRONLY)",
    "truncate_canary": "import os\nos.truncate({secret!r}, 0)",
}


@pytest.mark.parametrize("source", WRITES.values(), ids=WRITES.keys())
def test_no_file_is_written_or_changed(source: str, owned: Path) -> None:
    program = source.format(out=str(owned / "out"), secret=str(owned / "secret.txt"))
    error = refused(program)
    assert isinstance(error, RefusedError), error
    assert error.line is not None and error.col is not None


READS = {
    "canary_file": "print(open({secret!r}).read())",
    "canary_os_open": "import os\nprint(os.read(os.open({secret!r}, os.O_RDONLY), 100))",
    "host_environ": "print(open('/proc/{host}/environ', 'rb').read())",
    "host_cmdline": "print(open('/proc/{host}/cmdline', 'rb').read())",
    "list_owned_folder": "import os\nprint(os.listdir({folder!r}))",
    "list_home": "import os\nprint(os.listdir(os.path.expanduser('~')))",
    "project_folder": "import os\nprint(os.listdir({project!r}))",
    "etc_passwd": "print(open('/etc/passwd').read())",
    "environment": "import os\nprint(dict(os.environ))",
    "own_environ": "print(open('/proc/self/environ', 'rb').read())",
}


@pytest.mark.parametrize("source", READS.values(), ids=READS.keys())
def test_secrets_of_the_host_never_reach_the_result(
    source: str, owned: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GRADVIZ_TEST_CANARY", CANARY_ENV)
    project = Path(gradviz.__file__).resolve().parents[1]
    program = source.format(
        secret=str(owned / "secret.txt"), host=os.getpid(), folder=str(owned), project=project
    )
    text = outcome(program)
    assert CANARY_TEXT not in text and CANARY_ENV not in text
    assert "root:" not in text and "pyproject" not in text and "README" not in text
    if "secret.txt" not in program:  # a listing would name it
        assert "secret.txt" not in text


# -- processes and network -------------------------------------------------------------------
SPAWNS = {
    "os_system": "import os\nos.system('touch {out}')",
    "subprocess": "import subprocess\nsubprocess.run(['touch', '{out}'])",
    "popen": "import os\nos.popen('touch {out}')",
    "fork": "import os\nif os.fork() == 0:\n    open('{out}', 'w')",
    "execv": "import os\nos.execv('/usr/bin/touch', ['touch', '{out}'])",
    "multiprocessing": (
        "import multiprocessing\n"
        "p = multiprocessing.Process(target=open, args=('{out}', 'w'))\np.start()\np.join()"
    ),
    "pty": "import pty\npty.spawn(['touch', '{out}'])",
}


@pytest.mark.parametrize("source", SPAWNS.values(), ids=SPAWNS.keys())
def test_no_process_is_started(source: str, owned: Path) -> None:
    error = refused(source.format(out=owned / "out"))
    assert isinstance(error, RefusedError), error


CONNECTS = {
    "socket": "import socket\nsocket.create_connection(('127.0.0.1', {port}), timeout=1)",
    "urllib": "import urllib.request\nurllib.request.urlopen('http://127.0.0.1:{port}', timeout=1)",
    "udp": "import socket\nsocket.socket(socket.AF_INET, socket.SOCK_DGRAM)",
    "unix": "import socket\nsocket.socket(socket.AF_UNIX).connect('/tmp/x')",
}


@pytest.mark.parametrize("source", CONNECTS.values(), ids=CONNECTS.keys())
def test_no_connection_reaches_a_listener(
    source: str, listener: tuple[int, list[socket.socket]]
) -> None:
    port, accepted = listener
    error = refused(source.format(port=port))
    assert isinstance(error, (RefusedError, ProgramError)), error
    time.sleep(0.3)
    assert accepted == []


# -- limits and crashes ----------------------------------------------------------------------
def test_an_infinite_loop_is_killed_at_the_deadline() -> None:
    start = time.monotonic()
    error = refused("x = 0\nwhile True:\n    x += 1\n")
    assert isinstance(error, LimitExceeded)
    assert "ran longer than 3 s" in error.message and error.line in (2, 3)
    assert time.monotonic() - start < 10


def test_a_single_long_c_call_is_killed_at_the_deadline_and_others_still_run() -> None:
    done: list[GradvizError | Graph] = []

    def long_call() -> None:
        source = "import torch\na = torch.ones(4000, 4000)\nfor i in range(1000):\n    a = a @ a\n"
        try:
            done.append(gradviz.run(source, limits=FAST))
        except GradvizError as e:
            done.append(e)

    thread = threading.Thread(target=long_call)
    start = time.monotonic()
    thread.start()
    time.sleep(0.5)
    host_still_works()  # another run completes while the long one holds its own process
    answered = time.monotonic() - start
    thread.join()
    (error,) = done
    assert isinstance(error, LimitExceeded) and "ran longer than" in error.message
    assert error.line == 4
    assert answered < 3.0


@pytest.mark.parametrize(
    "source",
    [
        "import torch\nx = torch.zeros(10**6, 10**6)",
        "import numpy as np\nx = np.ones((10**5, 10**5))",
        "x = [0] * 10**10",
        "import torch\nxs = [torch.empty(10**8) for i in range(10)]",
    ],
    ids=["torch_zeros", "numpy_ones", "list", "many_tensors"],
)
def test_a_memory_bomb_stops_at_the_limit(source: str) -> None:
    error = refused(source)
    assert isinstance(error, LimitExceeded), error
    assert "needed more than 2 GiB of memory" in error.message
    assert error.line is not None


def test_the_memory_limit_is_configurable() -> None:
    small = Limits(seconds=5.0, memory_bytes=200 * 2**20)
    with pytest.raises(LimitExceeded, match="more than 200 MB"):
        gradviz.run("import torch\nx = torch.ones(10**8)\n", limits=small)
    gradviz.run("import torch\nx = torch.ones(10**6)\n", limits=small)


def test_a_crash_of_pytorch_is_reported_and_the_host_goes_on() -> None:
    source = (
        "import torch\n"
        "i = torch.tensor([[10**9]])\n"
        "s = torch.sparse_coo_tensor(i, torch.tensor([1.0]), (2,), check_invariants=False)\n"
        "print(s.to_dense())\n"
    )
    error = refused(source)
    assert isinstance(error, ProgramCrashed), error
    assert error.line == 4 and "crashed PyTorch at line 4" in error.message
    host_still_works()


# -- the program's own mistakes --------------------------------------------------------------
def test_syntax_error_keeps_its_place() -> None:
    error = refused("import torch\nx = (1\n")
    assert isinstance(error, ProgramSyntaxError) and error.line == 2


def test_a_program_error_is_shown_as_python_says_it() -> None:
    error = refused("import torch\na = torch.ones(2, 3)\nb = a @ torch.ones(2, 2)\n")
    assert isinstance(error, ProgramError) and (error.line, error.col) == (3, 5)
    assert error.message.startswith("RuntimeError: mat1 and mat2 shapes cannot be multiplied")
    assert "b = a @ torch.ones(2, 2)" in error.detail and "^" in error.detail
    assert "gradviz" not in error.detail  # only the user's own frames


def test_a_typo_gets_pythons_suggestion() -> None:
    error = refused("import torch\nweight = torch.ones(2)\nprint(wieght)\n")
    assert error.message == "NameError: name 'wieght' is not defined. Did you mean: 'weight'?"
    error = refused("import torch\nx = torch.ones(2)\nx.bacward()\n")
    assert "Did you mean: 'backward'?" in error.message and error.line == 3


def test_a_program_cannot_catch_the_deadline() -> None:
    error = refused("try:\n    while True:\n        pass\nexcept BaseException:\n    pass\n")
    assert isinstance(error, LimitExceeded)


# -- the kernel alone ------------------------------------------------------------------------
@pytest.fixture(scope="module")
def kernel_only() -> Iterator[Pool]:
    """A pool whose children have no audit hook: only Landlock, seccomp and rlimits. Started
    with a canary in this process's environment, which must never reach a child."""
    os.environ["GRADVIZ_TEST_CANARY"] = CANARY_ENV
    pool = Pool(workers=2, audit=False)
    try:
        pool.warm()
        yield pool
    finally:
        pool.close()
        del os.environ["GRADVIZ_TEST_CANARY"]


LIBC = "import ctypes, os\nlibc = ctypes.CDLL(None, use_errno=True)\n"
RAW = {
    "libc_open_create": LIBC + "print('fd', libc.open({out!r}.encode(), 0o101, 0o644))",
    "libc_open_canary": LIBC + "print('fd', libc.open({secret!r}.encode(), 0))",
    "os_open_create": "import os\nos.open({out!r}, os.O_CREAT | os.O_WRONLY)",
    "builtin_open": "open({out!r}, 'w')",
    "libc_socket": LIBC + "print('socket', libc.socket(2, 1, 0))",
    "libc_execve": LIBC + "print('exec', libc.execve(b'/usr/bin/touch', None, None))",
    "libc_fork": LIBC + "print('fork', libc.fork())",
    "os_system": "import os\nprint('status', os.system('touch {out}'))",
    "dunder_import": "__import__('subprocess').run(['touch', {out!r}])",
    "kill_host": LIBC + "print('kill', libc.kill({host}, 9))",
    "read_canary": "print(open({secret!r}).read())",
    "environment": "import os\nprint(dict(os.environ))",
}


@pytest.mark.parametrize("source", RAW.values(), ids=RAW.keys())
def test_the_kernel_layers_hold_without_the_audit_hook(
    source: str, owned: Path, kernel_only: Pool
) -> None:
    program = source.format(
        out=str(owned / "out"), secret=str(owned / "secret.txt"), host=os.getpid()
    )
    text = outcome(program, pool=kernel_only)
    assert CANARY_TEXT not in text and CANARY_ENV not in text
    for success in ("'fd', 3", "socket 3", "fork 0"):
        assert success not in text
    # the owned fixture checks that no file appeared; this process is alive to check it


def test_a_segfault_without_the_audit_hook_is_a_crash_report(kernel_only: Pool) -> None:
    with pytest.raises(ProgramCrashed, match="at line 2"):
        gradviz.run("import ctypes\nctypes.string_at(0)\n", limits=FAST, pool=kernel_only)


def test_the_kernel_pool_still_records_graphs(kernel_only: Pool) -> None:
    graph = gradviz.run(POLY, pool=kernel_only)
    assert json.loads(graph.to_json())["nodes"]
