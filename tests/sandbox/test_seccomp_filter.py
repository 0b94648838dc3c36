"""The seccomp filter on its own, in a forked child: no sockets, exec, processes or writes."""

from __future__ import annotations

import ctypes
import errno
import mmap
import os
import platform
import resource
import socket
import subprocess
import threading
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from gradviz.sandbox import seccomp_filter
from tests.sandbox.forked import ok, run

X86_64 = platform.machine() == "x86_64"


def _errno(action: Any) -> int | str:
    try:
        action()
    except OSError as e:
        return e.errno or -1
    return "allowed"


def _libc() -> ctypes.CDLL:
    libc = ctypes.CDLL(None, use_errno=True)
    libc.syscall.restype = ctypes.c_long
    return libc


def _c_errno(result: int) -> int | str:
    return ctypes.get_errno() if result == -1 else "allowed"


def child_network(port: int) -> dict[str, Any]:
    early = socket.socket()  # made before the filter: its connect must fail too
    seccomp_filter.install()
    return {
        "socket": _errno(socket.socket),
        "socketpair": _errno(socket.socketpair),
        "connect": _errno(lambda: socket.create_connection(("127.0.0.1", port), timeout=1)),
        "inherited_connect": _errno(lambda: early.connect(("127.0.0.1", port))),
        "inherited_bind": _errno(lambda: early.bind(("127.0.0.1", 0))),
        "libc_socket": _c_errno(_libc().socket(socket.AF_INET, socket.SOCK_STREAM, 0)),
    }


def test_no_sockets_and_no_connection_arrives() -> None:
    with socket.create_server(("127.0.0.1", 0)) as listener:
        got = ok(run(child_network, listener.getsockname()[1]))
        listener.settimeout(0.3)
        with pytest.raises(TimeoutError):
            listener.accept()
    assert set(got.values()) == {errno.EPERM}, got


def child_processes(tmp: str) -> dict[str, Any]:
    seccomp_filter.install()
    libc = _libc()
    argv = (ctypes.c_char_p * 2)(b"/bin/true", None)
    limit = (ctypes.c_ulong * 2)()
    libc.getrlimit(resource.RLIMIT_NOFILE, limit)  # setting it again, even unchanged, is refused
    return {
        "execv": _errno(lambda: os.execv("/bin/true", ["true"])),
        "fork": _errno(os.fork),
        "subprocess": _errno(lambda: subprocess.run(["/bin/true"], check=False)),
        "posix_spawn": _errno(lambda: os.posix_spawn("/bin/true", ["true"], {})),
        "libc_execve": _c_errno(libc.execve(b"/bin/true", argv, None)),
        "libc_fork": _c_errno(libc.fork()),
        "clone3": _c_errno(libc.syscall(435, None, 0)),
        "unshare": _c_errno(libc.unshare(0x40000000)),  # CLONE_NEWNET
        "kill_parent": _errno(lambda: os.kill(os.getppid(), 0)),
        "kill_group": _errno(lambda: os.kill(0, 0)),
        "kill_self": _errno(lambda: os.kill(os.getpid(), 0)),
        "ptrace": _c_errno(libc.ptrace(16, os.getppid(), None, None)),  # PTRACE_ATTACH
        "same_limit": _c_errno(libc.setrlimit(resource.RLIMIT_NOFILE, limit)),
        "read_limit": resource.getrlimit(resource.RLIMIT_NOFILE)[0] > 0,
        "io_uring": _c_errno(libc.syscall(425, 8, ctypes.create_string_buffer(120))),
    }


def test_no_exec_and_no_new_processes(tmp_path: Path) -> None:
    got = ok(run(child_processes, str(tmp_path)))
    assert got.pop("clone3") == errno.ENOSYS  # so glibc falls back to clone, which is filtered
    assert got.pop("kill_self") == "allowed"
    assert got.pop("read_limit") is True
    assert set(got.values()) == {errno.EPERM}, got


def child_files(tmp: str) -> dict[str, Any]:
    base = Path(tmp)
    seccomp_filter.install()
    libc = _libc()
    flags = os.O_CREAT | os.O_WRONLY
    return {
        "read": (base / "canary.txt").read_text(),
        "write": _errno(lambda: open(base / "new.txt", "w").close()),
        "append": _errno(lambda: open(base / "canary.txt", "a").close()),
        "update": _errno(lambda: open(base / "canary.txt", "r+").close()),
        "trunc": _errno(lambda: os.open(base / "canary.txt", os.O_RDONLY | os.O_TRUNC)),
        "libc_open": _c_errno(libc.open(str(base / "c.txt").encode(), flags, 0o600)),
        "openat2": _c_errno(libc.syscall(437, -100, b"/etc/hostname", None, 0)),
        "mkdir": _errno(lambda: os.mkdir(base / "d")),
        "unlink": _errno(lambda: os.unlink(base / "canary.txt")),
        "rename": _errno(lambda: os.rename(base / "canary.txt", base / "moved.txt")),
        "link": _errno(lambda: os.link(base / "canary.txt", base / "hard.txt")),
        "symlink": _errno(lambda: os.symlink("canary.txt", base / "soft.txt")),
        "chmod": _errno(lambda: os.chmod(base / "canary.txt", 0o777)),
        "chown": _errno(lambda: os.chown(base / "canary.txt", 1, 1)),
        "utime": _errno(lambda: os.utime(base / "canary.txt", (0, 0))),
        "truncate": _errno(lambda: os.truncate(base / "canary.txt", 0)),
        "setxattr": _errno(lambda: os.setxattr(base / "canary.txt", "user.x", b"1")),
        "memfd": _errno(lambda: os.memfd_create("x")),
        "mknod": _errno(lambda: os.mkfifo(base / "fifo")),
    }


def test_no_file_is_created_or_changed(tmp_path: Path) -> None:
    canary = tmp_path / "canary.txt"
    canary.write_text("kept")
    canary.chmod(0o644)
    before = canary.stat()
    got = ok(run(child_files, str(tmp_path)))
    assert got.pop("read") == "kept"
    assert got.pop("openat2") == errno.ENOSYS  # its flags hide in a struct: refused whole
    assert set(got.values()) == {errno.EPERM}, got
    assert sorted(p.name for p in tmp_path.iterdir()) == ["canary.txt"]
    after = canary.stat()
    assert canary.read_text() == "kept"
    assert (after.st_mode, after.st_mtime_ns, after.st_uid) == (
        before.st_mode,
        before.st_mtime_ns,
        before.st_uid,
    )


def child_threads() -> dict[str, Any]:
    seccomp_filter.install()
    box: list[int] = []
    thread = threading.Thread(target=lambda: box.append(sum(range(1000))))
    thread.start()
    thread.join()
    torch.set_num_threads(4)
    torch.manual_seed(0)
    a = torch.randn(512, 512, dtype=torch.float64)
    product = a @ a
    expected = a.numpy() @ a.numpy()
    return {
        "thread": box,
        "torch_threads": torch.get_num_threads(),
        "matmul_ok": bool(np.allclose(product.numpy(), expected)),
        "os_threads": len(os.listdir("/proc/self/task")),
    }


def test_threads_and_parallel_torch_work() -> None:
    got = ok(run(child_threads))
    assert got["thread"] == [499500]
    assert got["torch_threads"] == 4
    assert got["matmul_ok"] is True
    assert got["os_threads"] > 1  # OpenMP started its threads under the filter


def child_other_abi(kind: str) -> str:
    seccomp_filter.install()
    libc = _libc()
    if kind == "x32":
        libc.syscall(0x40000000 | 39)  # x32 getpid
    else:  # ia32 getpid through int 0x80: mov eax, 20; int 0x80; ret
        code = b"\xb8\x14\x00\x00\x00\xcd\x80\xc3"
        page = mmap.mmap(-1, mmap.PAGESIZE, prot=mmap.PROT_READ | mmap.PROT_WRITE | 4)
        page.write(code)
        address = ctypes.addressof(ctypes.c_char.from_buffer(page))
        ctypes.CFUNCTYPE(ctypes.c_int)(address)()
    return "survived"


@pytest.mark.skipif(not X86_64, reason="x32 and ia32 are x86_64's other syscall ABIs")
@pytest.mark.parametrize("kind", ["x32", "ia32"])
def test_other_syscall_abis_kill_the_process(kind: str) -> None:
    import signal

    assert run(child_other_abi, kind) == {"signal": signal.SIGSYS}


def test_the_filter_is_built_for_the_native_abi_only(tmp_path: Path) -> None:
    assert {"socket", "execve", "fork", "ptrace", "mount", "io_uring_setup", "bpf"} <= set(
        seccomp_filter.DENIED
    )
    with open(tmp_path / "filter.pfc", "w") as f:
        seccomp_filter.build(4242).export_pfc(f)  # built here, never loaded
    text = (tmp_path / "filter.pfc").read_text()
    assert text.count("filter for arch") == 1
    assert "if ($a0.lo32 == 4242)" in text  # kill, tgkill: only to the pid it was built for
    assert "action KILL_PROCESS;" in text.split("invalid architecture action")[1]
