"""confine() with every layer, in a forked child; and what default_readable() leaves out."""

from __future__ import annotations

import contextlib
import dataclasses
import errno
import io
import os
import socket
import threading
import time
from pathlib import Path
from typing import Any

import pytest
import torch

from gradviz.sandbox import landlock
from gradviz.sandbox.audit import Refused
from gradviz.sandbox.confine import Confinement, confine, default_readable
from gradviz.sandbox.errors import SandboxUnavailable
from gradviz.sandbox.layers import Layers
from tests.sandbox import forked
from tests.sandbox.forked import CANARY, ok, run

REPO = Path(__file__).resolve().parents[2]
ABI = landlock.abi()
needs_landlock = pytest.mark.skipif(ABI == 0, reason="this kernel offers no Landlock")


def _inside(path: Path, root: Path) -> bool:
    return path == root or root in path.parents


def test_default_readable_leaves_out_the_repo_and_home() -> None:
    readable = [Path(p).resolve() for p in default_readable()]
    home = Path.home().resolve()
    for path in readable:
        assert not _inside(REPO, path) and not _inside(path, REPO), path
        assert not _inside(home, path), path
        assert not _inside(Path("/etc"), path) and not _inside(path, Path("/etc")), path
        assert path != Path("/proc") and path != Path("/home")
    assert any(_inside(Path(torch.__file__).resolve(), p) for p in readable)
    assert any(_inside(Path(os.__file__).resolve(), p) for p in readable)
    assert Path("/dev/null") in readable


def test_confinement_defaults() -> None:
    c = Confinement()
    assert (c.memory_bytes, c.cpu_seconds, c.open_files) == (2 * 2**30, 30, 64)
    assert c.landlock and c.seccomp and c.rlimits and c.audit
    assert c.readable == default_readable()
    with pytest.raises(dataclasses.FrozenInstanceError):
        c.cpu_seconds = 1  # type: ignore[misc]


def _errno(action: Any) -> int | str:
    try:
        action()
    except Refused as e:
        return f"refused: {e}"
    except OSError as e:
        return e.errno or -1
    return "allowed"


def child_everything(workdir: str) -> dict[str, Any]:
    canary_before = os.environ.get(CANARY)
    extra = os.open(os.devnull, os.O_RDONLY)
    layers = confine(Confinement(), keep_fds=[forked.RESULT_FD], workdir=workdir)
    x = torch.tensor([2.0, 3.0], requires_grad=True)
    y = (x**2 * torch.sin(x)).sum()
    y.backward()
    expected = 2 * x.detach() * torch.sin(x.detach()) + x.detach() ** 2 * torch.cos(x.detach())
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        print(x.grad, y)
    return {
        "layers": dataclasses.asdict(layers),
        "canary_before": canary_before,
        "environ": dict(os.environ),
        "extra_fd": _errno(lambda: os.fstat(extra)),
        "cwd": os.getcwd(),
        "grad_ok": bool(torch.allclose(x.grad, expected)) if x.grad is not None else False,
        "printed": printed.getvalue(),
        "write": _errno(lambda: open("out.txt", "w")),
        "socket": _errno(socket.socket),
        "passwd": _errno(lambda: open("/etc/passwd")),
    }


@needs_landlock
def test_confine_scrubs_and_keeps_torch_working(tmp_path: Path) -> None:
    got = ok(run(child_everything, str(tmp_path)))
    assert got["layers"] == {"landlock": ABI, "seccomp": True, "rlimits": True, "audit": True}
    assert got["canary_before"] == "secret-value"
    assert got["environ"] == {"LANG": "C.UTF-8"}
    assert got["extra_fd"] == errno.EBADF
    assert got["cwd"] == str(tmp_path)
    assert got["grad_ok"] is True
    assert got["printed"].startswith("tensor([") and "grad_fn=<SumBackward0>" in got["printed"]
    assert got["write"].startswith("refused: writing files is not allowed in gradviz")
    assert got["socket"] == "refused: network access is not allowed in gradviz (socket)"
    assert got["passwd"].startswith("refused: reading files is not allowed in gradviz")
    assert list(tmp_path.iterdir()) == []


def child_kernel_only(workdir: str) -> dict[str, Any]:
    confine(Confinement(audit=False), keep_fds=[forked.RESULT_FD], workdir=workdir)
    return {
        "write": _errno(lambda: open("out.txt", "w")),
        "socket": _errno(socket.socket),
        "passwd": _errno(lambda: open("/etc/passwd")),
        "fork": _errno(os.fork),
    }


@needs_landlock
def test_without_the_audit_hook_the_kernel_still_refuses(tmp_path: Path) -> None:
    got = ok(run(child_kernel_only, str(tmp_path)))
    assert got == {
        "write": errno.EPERM,  # seccomp sees the flags before Landlock sees the path
        "socket": errno.EPERM,
        "passwd": errno.EACCES,
        "fork": errno.EPERM,
    }
    assert list(tmp_path.iterdir()) == []


def child_initial_environment(workdir: str) -> dict[str, Any]:
    config = Confinement(landlock=False, audit=False)
    layers = confine(config, keep_fds=[forked.RESULT_FD], workdir=workdir)
    with open("/proc/self/environ", "rb") as f:
        initial = f.read()
    return {"canary_left": CANARY.encode() in initial, "layers": dataclasses.asdict(layers)}


def test_the_initial_environment_block_is_wiped(tmp_path: Path) -> None:
    got = ok(run(child_initial_environment, str(tmp_path)))
    assert got["canary_left"] is False
    assert got["layers"] == {"landlock": None, "seccomp": True, "rlimits": True, "audit": False}


def child_threaded(workdir: str) -> str:
    threading.Thread(target=time.sleep, args=(2,), daemon=True).start()
    try:
        confine(Confinement(), keep_fds=[forked.RESULT_FD], workdir=workdir)
    except SandboxUnavailable as e:
        return str(e)
    return "confined"


def test_a_process_with_threads_is_not_confined(tmp_path: Path) -> None:
    assert "one thread" in ok(run(child_threaded, str(tmp_path)))


def test_layers_is_plain_frozen_data() -> None:
    layers = Layers(landlock=7, seccomp=True, rlimits=True, audit=True)
    assert dataclasses.asdict(layers) == {
        "landlock": 7,
        "seccomp": True,
        "rlimits": True,
        "audit": True,
    }
