"""Landlock on its own, in a forked child: reads only beneath the given paths, writes nowhere."""

from __future__ import annotations

import errno
import os
import socket
import sys
from pathlib import Path
from typing import Any

import pytest
import torch

from gradviz.sandbox import landlock
from gradviz.sandbox.confine import default_readable
from gradviz.sandbox.errors import SandboxUnavailable
from tests.sandbox.forked import ok, run

ABI = landlock.abi()
pytestmark = pytest.mark.skipif(ABI == 0, reason="this kernel offers no Landlock")
TORCH_FILE = str(Path(torch.__file__).parent / "nn" / "modules" / "linear.py")


def _errno(action: Any) -> int | str:
    try:
        action()
    except OSError as e:
        return e.errno or -1
    return "allowed"


def _read(path: str) -> int | str:
    def action() -> None:
        with open(path, "rb") as f:
            f.read(1)

    return _errno(action)


def child_reads(canary: str) -> dict[str, Any]:
    applied = landlock.restrict(default_readable())
    return {
        "abi": applied,
        "passwd": _read("/etc/passwd"),
        "canary": _read(canary),
        "init_environ": _read("/proc/1/environ"),
        "self_environ": _read("/proc/self/environ"),
        "torch_file": _read(TORCH_FILE),
        "torch_dir": len(os.listdir(Path(TORCH_FILE).parent)),
        "create": _errno(lambda: open(Path(canary).parent / "new.txt", "x").close()),
        "lazy_import": __import__("xml.dom.minidom", fromlist=["_"]).__name__,
        "extension": __import__("_decimal").__file__,  # dlopen of a .so needs no exec right
    }


def test_reads_only_python_files_and_creates_nothing(tmp_path: Path) -> None:
    canary = tmp_path / "canary.txt"
    canary.write_text("secret")
    got = ok(run(child_reads, str(canary)))
    assert got["abi"] == ABI
    assert got["passwd"] == errno.EACCES
    assert got["canary"] == errno.EACCES
    assert got["init_environ"] == errno.EACCES
    assert got["self_environ"] == errno.EACCES
    assert got["torch_file"] == "allowed"
    assert got["torch_dir"] > 3
    assert got["create"] == errno.EACCES
    assert got["lazy_import"] == "xml.dom.minidom"
    assert got["extension"].endswith(".so")
    assert not (tmp_path / "new.txt").exists()
    assert canary.read_text() == "secret"


def child_read_only_tree(root: str) -> dict[str, Any]:
    tree = Path(root) / "ro"
    landlock.restrict([str(tree), "/does/not/exist"])
    return {
        "read": (tree / "a.txt").read_text(),
        "list": sorted(os.listdir(tree)),
        "append": _errno(lambda: open(tree / "a.txt", "a").close()),
        "truncate": _errno(lambda: os.truncate(tree / "a.txt", 0)),
        "create": _errno(lambda: open(tree / "b.txt", "x").close()),
        "mkdir": _errno(lambda: os.mkdir(tree / "d")),
        "unlink": _errno(lambda: os.unlink(tree / "a.txt")),
        "rename": _errno(lambda: os.rename(tree / "a.txt", tree / "c.txt")),
        "symlink": _errno(lambda: os.symlink("a.txt", tree / "s")),
        "fifo": _errno(lambda: os.mkfifo(tree / "f")),
        "exec": _errno(lambda: os.execv(sys.executable, [sys.executable, "-c", "pass"])),
        "outside": _errno(lambda: open(Path(root) / "outside.txt", "rb").close()),
    }


def test_a_readable_tree_is_read_only(tmp_path: Path) -> None:
    tree = tmp_path / "ro"
    tree.mkdir()
    (tree / "a.txt").write_text("kept")
    (tmp_path / "outside.txt").write_text("hidden")
    got = ok(run(child_read_only_tree, str(tmp_path)))
    assert got["read"] == "kept" and got["list"] == ["a.txt"]
    for action in ("append", "truncate", "create", "mkdir", "unlink", "rename", "symlink"):
        assert got[action] == errno.EACCES, action
    assert got["fifo"] == errno.EACCES
    assert got["exec"] == errno.EACCES  # readable is not executable
    assert got["outside"] == errno.EACCES
    assert sorted(p.name for p in tree.iterdir()) == ["a.txt"]
    assert (tree / "a.txt").read_text() == "kept"


def child_tcp(port: int) -> dict[str, Any]:
    landlock.restrict(default_readable())
    with socket.socket() as s:
        connect = _errno(lambda: s.connect(("127.0.0.1", port)))
    with socket.socket() as s:
        bind = _errno(lambda: s.bind(("127.0.0.1", 0)))
    return {"connect": connect, "bind": bind}


@pytest.mark.skipif(ABI < 4, reason="TCP rules need Landlock ABI 4")
def test_no_tcp_connect_or_bind() -> None:
    with socket.create_server(("127.0.0.1", 0)) as listener:
        got = ok(run(child_tcp, listener.getsockname()[1]))
        listener.settimeout(0.3)
        with pytest.raises(TimeoutError):
            listener.accept()
    assert got == {"connect": errno.EACCES, "bind": errno.EACCES}


def child_scoped(name: str) -> dict[str, Any]:
    landlock.restrict(default_readable())
    with socket.socket(socket.AF_UNIX) as s:
        unix = _errno(lambda: s.connect(name))
    return {
        "unix": unix,
        "kill_parent": _errno(lambda: os.kill(os.getppid(), 0)),
        "kill_self": _errno(lambda: os.kill(os.getpid(), 0)),
    }


@pytest.mark.skipif(ABI < 6, reason="scopes need Landlock ABI 6")
def test_abstract_unix_sockets_and_signals_stay_inside() -> None:
    name = f"\0gradviz-sandbox-test-{os.getpid()}"
    with socket.socket(socket.AF_UNIX) as listener:
        listener.bind(name)
        listener.listen()
        got = ok(run(child_scoped, name))
    assert got == {"unix": errno.EPERM, "kill_parent": errno.EPERM, "kill_self": "allowed"}


def test_restrict_raises_when_unavailable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(landlock, "abi", lambda: 0)
    with pytest.raises(SandboxUnavailable):
        landlock.restrict(["/usr/lib"])
