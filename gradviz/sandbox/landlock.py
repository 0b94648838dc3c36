"""Landlock through libc's ``syscall``: read-only beneath a few paths, no writes, no TCP.

Landlock restricts the calling thread and everything it starts later, for good: apply it in a
single-threaded child right after fork. It applies to root too, which is why it is the file
boundary here (a container's root bypasses file permissions but not Landlock).
"""

from __future__ import annotations

import ctypes
import errno
import os
import stat
from collections.abc import Sequence

from gradviz.sandbox.errors import SandboxUnavailable

# Syscall numbers are the same on every architecture (the unified table from 5.13 on).
_CREATE_RULESET, _ADD_RULE, _RESTRICT_SELF = 444, 445, 446
_CREATE_RULESET_VERSION = 1 << 0
_RULE_PATH_BENEATH = 1
_PR_SET_NO_NEW_PRIVS = 38

# Filesystem access rights, by the ABI that introduced them.
FS_EXECUTE = 1 << 0
FS_WRITE_FILE = 1 << 1
FS_READ_FILE = 1 << 2
FS_READ_DIR = 1 << 3
FS_REMOVE_DIR = 1 << 4
FS_REMOVE_FILE = 1 << 5
FS_MAKE_CHAR = 1 << 6
FS_MAKE_DIR = 1 << 7
FS_MAKE_REG = 1 << 8
FS_MAKE_SOCK = 1 << 9
FS_MAKE_FIFO = 1 << 10
FS_MAKE_BLOCK = 1 << 11
FS_MAKE_SYM = 1 << 12
FS_REFER = 1 << 13  # ABI 2
FS_TRUNCATE = 1 << 14  # ABI 3
FS_IOCTL_DEV = 1 << 15  # ABI 5
NET_BIND_TCP = 1 << 0  # ABI 4
NET_CONNECT_TCP = 1 << 1  # ABI 4
SCOPE_ABSTRACT_UNIX_SOCKET = 1 << 0  # ABI 6
SCOPE_SIGNAL = 1 << 1  # ABI 6

_FS_ABI1 = (1 << 13) - 1
_FS_BY_ABI = {1: _FS_ABI1, 2: _FS_ABI1 | FS_REFER}
_FS_BY_ABI[3] = _FS_BY_ABI[2] | FS_TRUNCATE
_FS_BY_ABI[4] = _FS_BY_ABI[3]
_FS_BY_ABI[5] = _FS_BY_ABI[4] | FS_IOCTL_DEV
_KNOWN_ABI = 5  # ABI 6 adds scopes and ABI 7 audit logging, no new fs rights

_READ_DIR_RIGHTS = FS_READ_FILE | FS_READ_DIR
_READ_FILE_RIGHTS = FS_READ_FILE  # a rule on a file may only carry file rights


class _RulesetAttr(ctypes.Structure):
    _fields_ = (
        ("handled_access_fs", ctypes.c_uint64),
        ("handled_access_net", ctypes.c_uint64),  # ABI 4
        ("scoped", ctypes.c_uint64),  # ABI 6
    )


class _PathBeneathAttr(ctypes.Structure):
    _pack_ = 1  # the kernel's struct is __attribute__((packed))
    _fields_ = (("allowed_access", ctypes.c_uint64), ("parent_fd", ctypes.c_int32))


_libc = ctypes.CDLL(None, use_errno=True)
_syscall = _libc.syscall
_syscall.restype = ctypes.c_long
_prctl = _libc.prctl
_prctl.restype = ctypes.c_int
_prctl.argtypes = (ctypes.c_int, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong)


def abi() -> int:
    """The Landlock ABI version this kernel offers, 0 when Landlock is unavailable."""
    version = _syscall(
        ctypes.c_long(_CREATE_RULESET),
        ctypes.c_void_p(None),
        ctypes.c_size_t(0),
        ctypes.c_uint32(_CREATE_RULESET_VERSION),
    )
    return max(int(version), 0)


def _fail(what: str) -> SandboxUnavailable:
    err = ctypes.get_errno()
    return SandboxUnavailable(f"Landlock {what} failed: {os.strerror(err)} (errno {err})")


def _ruleset(version: int) -> int:
    """A ruleset fd handling every fs right of ``version``, TCP and scopes where known."""
    attr = _RulesetAttr(handled_access_fs=_FS_BY_ABI[min(version, _KNOWN_ABI)])
    size = 8  # ABI 1-3 know only handled_access_fs
    if version >= 4:
        attr.handled_access_net = NET_BIND_TCP | NET_CONNECT_TCP  # no rules: all denied
        size = 16
    if version >= 6:
        attr.scoped = SCOPE_ABSTRACT_UNIX_SOCKET | SCOPE_SIGNAL
        size = 24
    fd = _syscall(
        ctypes.c_long(_CREATE_RULESET),
        ctypes.byref(attr),
        ctypes.c_size_t(size),
        ctypes.c_uint32(0),
    )
    if fd < 0:
        raise _fail("create_ruleset")
    return int(fd)


def _allow_read(ruleset: int, path: str) -> bool:
    """Lets ``path`` (and, for a directory, everything beneath it) be read; False if missing."""
    try:
        fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
    except OSError:
        return False  # missing or unreachable: nothing to allow
    try:
        rights = _READ_DIR_RIGHTS if stat.S_ISDIR(os.fstat(fd).st_mode) else _READ_FILE_RIGHTS
        rule = _PathBeneathAttr(allowed_access=rights, parent_fd=fd)
        done = _syscall(
            ctypes.c_long(_ADD_RULE),
            ctypes.c_int(ruleset),
            ctypes.c_int(_RULE_PATH_BENEATH),
            ctypes.byref(rule),
            ctypes.c_uint32(0),
        )
        if done < 0:
            raise _fail(f"add_rule({path!r})")
    finally:
        os.close(fd)
    return True


def restrict(readable: Sequence[str]) -> int:
    """Confines this thread (and all it starts) to reading beneath ``readable``, for good.

    Files and directories beneath each existing path may be read and listed; nothing may be
    written, created, removed, renamed, linked, truncated or executed anywhere, device ioctls
    are denied, and where the ABI has them TCP bind/connect are denied and abstract unix sockets
    and signals cannot reach outside the sandbox. Paths that cannot be opened are skipped.
    Sets no_new_privs (Landlock requires it without CAP_SYS_ADMIN).

    Returns:
        The Landlock ABI version applied.

    Raises:
        SandboxUnavailable: the kernel offers no Landlock, or a step failed.
    """
    version = abi()
    if version <= 0:
        err = ctypes.get_errno() or errno.ENOSYS
        raise SandboxUnavailable(f"Landlock is not offered by this kernel: {os.strerror(err)}")
    ruleset = _ruleset(version)
    try:
        for path in readable:
            _allow_read(ruleset, path)
        if _prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
            raise _fail("prctl(PR_SET_NO_NEW_PRIVS)")
        if _syscall(ctypes.c_long(_RESTRICT_SELF), ctypes.c_int(ruleset), ctypes.c_uint32(0)) < 0:
            raise _fail("restrict_self")
    finally:
        os.close(ruleset)
    return version
