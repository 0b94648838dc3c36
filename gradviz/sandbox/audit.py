"""An audit hook that refuses forbidden operations with a message a user understands.

This is the message layer: it names what was refused and why, in the frame that tried it.
The boundary is the kernel (Landlock, seccomp): Python-level hooks can be sidestepped by
native code, so nothing here is relied on for safety. The hook cannot be removed once added.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Sequence
from typing import Any

_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND | os.O_EXCL
_WRITE_MODES = frozenset("wax+")


class Refused(PermissionError):
    """An operation gradviz does not allow a program; the message says what and why."""


def _show(value: object) -> str:
    return repr(os.fsdecode(value)) if isinstance(value, (str, bytes)) else repr(value)


def _call(name: str, args: tuple[Any, ...], shown: int = 1) -> str:
    return f"{name}({', '.join(_show(a) for a in args[:shown])})"


_WRITES = (
    "os.remove", "os.rename", "os.mkdir", "os.rmdir", "os.chmod", "os.chown", "os.chflags",
    "os.lchflags", "os.link", "os.symlink", "os.truncate", "os.utime", "os.setxattr",
    "os.removexattr", "shutil.copyfile", "shutil.copymode", "shutil.copystat", "shutil.copytree",
    "shutil.rmtree", "shutil.move", "shutil.chown", "shutil.make_archive",
    "shutil.unpack_archive", "tempfile.mkstemp", "tempfile.mkdtemp",
)  # fmt: skip
_TWO_PATHS = frozenset(("os.rename", "os.link", "os.symlink", "shutil.copyfile", "shutil.move"))
_PROCESSES = (
    "os.system", "subprocess.Popen", "os.exec", "os.posix_spawn", "os.spawn", "os.fork",
    "os.forkpty", "pty.spawn", "os.startfile", "webbrowser.open",
)  # fmt: skip
_NETWORK = (
    "socket.__new__", "socket.bind", "socket.connect", "socket.getaddrinfo",
    "socket.gethostbyname", "socket.gethostbyaddr", "socket.getnameinfo", "socket.getservbyname",
    "socket.getservbyport", "socket.sendmsg", "socket.sendto", "socket.sethostname",
    "urllib.Request", "http.client.connect", "ftplib.connect", "smtplib.connect",
    "poplib.connect", "imaplib.open", "nntplib.connect", "telnetlib.Telnet.open",
)  # fmt: skip
_CTYPES_CODE = ("ctypes.dlopen", "ctypes.dlsym", "ctypes.dlsym/handle", "ctypes.call_function")
_CTYPES_MEMORY = (
    "ctypes.cdata", "ctypes.addressof", "ctypes.string_at", "ctypes.wstring_at",
    "ctypes.PyObj_FromPtr",
)  # fmt: skip


class _Hook:
    """The audit hook: one dict lookup per event, a prefix check for an ordinary read."""

    def __init__(self, readable: Sequence[str]) -> None:
        roots = [os.path.normpath(os.path.abspath(p)) for p in readable]
        self.exact = frozenset(roots)
        self.prefixes = tuple(r if r.endswith("/") else r + "/" for r in roots)
        self.pid = os.getpid()
        self.handlers: dict[str, Callable[[str, tuple[Any, ...]], None]] = {
            "open": self.open,
            "os.kill": self.kill,
            "os.killpg": self.kill,
            "resource.setrlimit": self.limits,
            "resource.prlimit": self.limits,
        }
        for events, handler in (
            (_WRITES, self.write),
            (_PROCESSES, self.process),
            (_NETWORK, self.network),
            (_CTYPES_CODE, self.native),
            (_CTYPES_MEMORY, self.memory),
        ):
            self.handlers.update(dict.fromkeys(events, handler))

    def __call__(self, event: str, args: tuple[Any, ...]) -> None:
        handler = self.handlers.get(event)
        if handler is not None:
            handler(event, args)

    def inside(self, path: str) -> bool:
        full = os.path.normpath(os.path.join(os.getcwd(), path) if path[:1] != "/" else path)
        return full in self.exact or full.startswith(self.prefixes)

    def open(self, event: str, args: tuple[Any, ...]) -> None:
        path, mode, flags = args
        if isinstance(path, int):
            return  # an fd the process already holds: no new file is reached
        if (
            type(path) is str
            and mode in (None, "r")
            and type(flags) is int
            and not flags & _WRITE_FLAGS
            and path.startswith(self.prefixes)
            and ".." not in path
        ):
            return  # the common case, kept cheap: Python reading its own files
        writing = (isinstance(flags, int) and bool(flags & _WRITE_FLAGS)) or (
            isinstance(mode, str) and bool(_WRITE_MODES & set(mode))
        )
        name = os.fsdecode(os.fspath(path))
        shown = f"open({name!r}, {mode!r})" if isinstance(mode, str) else f"os.open({name!r})"
        if writing:
            raise Refused(f"writing files is not allowed in gradviz: {shown}")
        if not self.inside(name) and not self.inside(os.path.realpath(name)):
            raise Refused(
                f"reading files is not allowed in gradviz (only Python's own files): {shown}"
            )

    def write(self, event: str, args: tuple[Any, ...]) -> None:
        shown = _call(event, args, 2 if event in _TWO_PATHS else 1)
        raise Refused(f"changing files is not allowed in gradviz: {shown}")

    def process(self, event: str, args: tuple[Any, ...]) -> None:
        if event == "os.system":
            raise Refused(f"starting processes is not allowed in gradviz: {_call(event, args)}")
        raise Refused(f"starting processes is not allowed in gradviz ({event})")

    def network(self, event: str, args: tuple[Any, ...]) -> None:
        raise Refused(f"network access is not allowed in gradviz ({event.split('.')[0]})")

    def native(self, event: str, args: tuple[Any, ...]) -> None:
        raise Refused(f"loading native code with ctypes is not allowed in gradviz ({event})")

    def memory(self, event: str, args: tuple[Any, ...]) -> None:
        raise Refused(f"raw memory access with ctypes is not allowed in gradviz ({event})")

    def kill(self, event: str, args: tuple[Any, ...]) -> None:
        if event == "os.kill" and args[0] == self.pid:
            return
        raise Refused(f"signalling other processes is not allowed in gradviz: {_call(event, args)}")

    def limits(self, event: str, args: tuple[Any, ...]) -> None:
        raise Refused(f"changing resource limits is not allowed in gradviz ({event})")


def install(readable: Sequence[str]) -> None:
    """Adds the hook to this process, for good.

    Args:
        readable: Paths whose files (beneath them, for directories) may be opened for reading;
            relative paths opened later are taken from the current directory.
    """
    sys.addaudithook(_Hook(readable))
