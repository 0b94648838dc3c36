"""The audit hook on its own, in a forked child: clear refusals, ordinary reads untouched."""

from __future__ import annotations

import ctypes
import os
import socket
import subprocess
from pathlib import Path
from typing import Any

import pytest
import torch

from gradviz.sandbox import audit
from gradviz.sandbox.audit import Refused
from gradviz.sandbox.confine import default_readable
from tests.sandbox.forked import ok, run

TORCH_FILE = str(Path(torch.__file__).parent / "nn" / "modules" / "linear.py")


def _refusal(action: Any) -> str:
    try:
        action()
    except Refused as e:
        assert isinstance(e, PermissionError)
        return str(e)
    except OSError as e:
        return f"OSError {e.errno}"
    return "allowed"


def child_refusals(tmp: str) -> dict[str, Any]:
    os.chdir(tmp)
    audit.install(default_readable())
    caught = False
    try:
        open("y.txt", "w")
    except PermissionError:  # a program's own handler still works
        caught = True
    return {
        "write": _refusal(lambda: open("x.txt", "w")),
        "system": _refusal(lambda: os.system("true")),
        "popen": _refusal(lambda: subprocess.run(["true"], check=False)),
        "exec": _refusal(lambda: os.execv("/bin/true", ["true"])),
        "fork": _refusal(os.fork),
        "socket": _refusal(socket.socket),
        "resolve": _refusal(lambda: socket.getaddrinfo("example.com", 80)),
        "ctypes": _refusal(lambda: ctypes.CDLL("libc.so.6")),
        "memory": _refusal(lambda: ctypes.string_at(id(0), 8)),
        "remove": _refusal(lambda: os.remove("canary.txt")),
        "mkdir": _refusal(lambda: os.mkdir("d")),
        "outside": _refusal(lambda: open("canary.txt")),
        "passwd": _refusal(lambda: open("/etc/passwd", "rb")),
        "dotdot": _refusal(lambda: open(os.path.dirname(TORCH_FILE) + "/../" * 12 + "etc/passwd")),
        "kill_parent": _refusal(lambda: os.kill(os.getppid(), 0)),
        "kill_self": _refusal(lambda: os.kill(os.getpid(), 0)),
        "torch_file": _refusal(lambda: open(TORCH_FILE).close()),
        "fd": _refusal(lambda: open(os.dup(1), "w").close()),
        "lazy_import": __import__("xml.dom.minidom", fromlist=["_"]).__name__,
        "caught": caught,
    }


def test_forbidden_operations_are_refused_clearly(tmp_path: Path) -> None:
    (tmp_path / "canary.txt").write_text("kept")
    got = ok(run(child_refusals, str(tmp_path)))
    assert got["write"] == "writing files is not allowed in gradviz: open('x.txt', 'w')"
    assert got["system"] == "starting processes is not allowed in gradviz: os.system('true')"
    assert got["popen"] == "starting processes is not allowed in gradviz (subprocess.Popen)"
    assert got["exec"] == "starting processes is not allowed in gradviz (os.exec)"
    assert got["fork"] == "starting processes is not allowed in gradviz (os.fork)"
    assert got["socket"] == "network access is not allowed in gradviz (socket)"
    assert got["resolve"] == "network access is not allowed in gradviz (socket)"
    assert got["ctypes"].startswith("loading native code with ctypes is not allowed in gradviz")
    assert got["memory"].startswith("raw memory access with ctypes is not allowed in gradviz")
    assert got["remove"] == "changing files is not allowed in gradviz: os.remove('canary.txt')"
    assert got["mkdir"].startswith("changing files is not allowed in gradviz: os.mkdir")
    for read in ("outside", "passwd", "dotdot"):
        assert got[read].startswith("reading files is not allowed in gradviz"), read
    assert "signalling other processes is not allowed" in got["kill_parent"]
    assert got["kill_self"] == got["torch_file"] == got["fd"] == "allowed"
    assert got["lazy_import"] == "xml.dom.minidom"
    assert got["caught"] is True
    assert sorted(p.name for p in tmp_path.iterdir()) == ["canary.txt"]


@pytest.mark.parametrize("mode", ["w", "a", "x", "r+", "wb"])
def test_every_writing_mode_is_refused(mode: str) -> None:
    hook = audit._Hook(["/usr/lib"])
    with pytest.raises(Refused, match="writing files is not allowed"):
        hook("open", ("out.txt", mode, 0))
    with pytest.raises(Refused, match="writing files is not allowed"):
        hook("open", ("out.txt", None, os.O_WRONLY | os.O_CREAT))
    hook("open", ("/usr/lib/os-release", "r", os.O_RDONLY))
    hook("compile", (b"", "<x>"))  # events it does not know pass untouched
