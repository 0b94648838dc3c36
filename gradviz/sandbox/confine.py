"""Confine a freshly forked child before a user's program runs in it.

``confine()`` scrubs what the child inherited (environment, file descriptors, working
directory), then applies the layers in order: resource limits, Landlock (files read-only under
the Python installation, no TCP), seccomp (no sockets, exec, processes or file writes) and the
audit hook (clear messages). Each step is for good: call it in the child, never in the worker.
"""

from __future__ import annotations

import ctypes
import functools
import os
import site
import sys
from collections.abc import Collection
from dataclasses import dataclass, field
from pathlib import Path

from gradviz.sandbox import audit, landlock, rlimits, seccomp_filter
from gradviz.sandbox.errors import SandboxUnavailable
from gradviz.sandbox.layers import Layers

_SYSTEM_LIBRARIES = ("/usr/lib", "/lib", "/lib64", "/usr/lib64", "/usr/local/lib")
_DEVICES = ("/dev/null", "/dev/urandom")
# CPU topology, read by torch's cpuinfo (NNPACK, thread counts); no process is described there.
_CPU_INFO = ("/proc/cpuinfo", "/sys/devices/system/cpu")
_LOCALE = {"LANG": "C.UTF-8"}


def _inside(path: Path, root: Path) -> bool:
    return path == root or root in path.parents


def _project_folder() -> Path | None:
    """The folder gradviz is run from (an editable install or a checkout), None if installed."""
    folder = Path(__file__).resolve().parents[2]
    prefixes = {Path(p).resolve() for p in (sys.prefix, sys.base_prefix)}
    return None if any(_inside(folder, p) for p in prefixes) else folder


@functools.cache
def default_readable() -> tuple[str, ...]:
    """Paths a program may read: Python's installation, its libraries, a few devices.

    Worked out once per process (10-30 ms in a fresh child): call it in the worker before
    forking so that children inherit the answer.

    That is the interpreter's prefix and base prefix, every existing site-packages and
    ``sys.path`` directory, the system library directories, /dev/null, /dev/urandom and the
    CPU description torch reads (/proc/cpuinfo, /sys/devices/system/cpu). Never the project
    folder gradviz runs from (an editable install), the current directory, the home directory
    or a folder holding one of them, nor /proc itself, /etc or /home. A prefix inside the home
    directory (pyenv, a virtualenv) is fine; a prefix holding it gives only its lib folders.
    """
    home, cwd, project = Path.home().resolve(), Path.cwd().resolve(), _project_folder()
    private = [p for p in (home, cwd, project) if p is not None]
    prefixes = [Path(p).resolve() for p in (sys.prefix, sys.base_prefix)]

    def allowed(path: Path) -> bool:
        if any(_inside(secret, path) for secret in private):
            return False  # path is one of them or holds one
        if project is not None and _inside(path, project):
            return any(_inside(path, p) for p in prefixes)  # a virtualenv inside the checkout
        return True

    found: list[str] = []

    def add(path: str | Path) -> None:
        text = os.path.normpath(os.path.abspath(path))
        real = Path(text).resolve()
        covered = any(_inside(Path(text), Path(f)) for f in found)
        if not covered and os.path.exists(text) and allowed(real) and allowed(Path(text)):
            found.append(text)

    for prefix in prefixes:
        if allowed(prefix):
            add(prefix)
        else:
            for lib in ("lib", "lib64"):
                add(prefix / lib)
    for entry in [*site.getsitepackages(), site.getusersitepackages(), *sys.path]:
        if entry and os.path.isdir(entry):
            add(entry)
    for system in (*_SYSTEM_LIBRARIES, *_DEVICES, *_CPU_INFO):
        add(system)
    return tuple(found)


@dataclass(frozen=True)
class Confinement:
    """What a confined child may use.

    Args:
        memory_bytes: Address space the program may add to what the warm child maps (2 GiB).
        cpu_seconds: CPU time of the whole child, all threads together (30 s).
        open_files: Highest number of file descriptors (64).
        readable: Paths readable beneath (``default_readable()``); nothing is writable.
        landlock, seccomp, rlimits, audit: Apply that layer (all on; tests turn one off to
            show the others hold on their own).
    """

    memory_bytes: int = 2 * 2**30
    cpu_seconds: int = 30
    open_files: int = 64
    readable: tuple[str, ...] = field(default_factory=default_readable)
    landlock: bool = True
    seccomp: bool = True
    rlimits: bool = True
    audit: bool = True


def _single_thread() -> None:
    threads = len(os.listdir("/proc/self/task"))
    if threads != 1:
        raise SandboxUnavailable(f"confine() needs a process of one thread, this one has {threads}")


def _wipe_initial_environment() -> None:
    """Zeroes the environment block the process was started with (/proc/self/environ and
    the bytes behind it), which clearing os.environ leaves in memory. Best effort."""
    try:
        with open("/proc/self/stat", "rb") as f:
            fields = f.read().rsplit(b")", 1)[1].split()
        start, end = int(fields[47]), int(fields[48])  # env_start, env_end (fields 50, 51)
        if 0 < start < end:
            ctypes.memset(start, 0, end - start)
    except (OSError, ValueError, IndexError):
        pass


def _scrub_environment() -> None:
    os.environ.clear()
    _wipe_initial_environment()
    os.environ.update(_LOCALE)


def _close_fds(keep: Collection[int]) -> None:
    """Closes every descriptor but ``keep``; 0, 1 and 2 not kept are re-opened on /dev/null."""
    kept = set(keep)
    for name in os.listdir("/proc/self/fd"):
        fd = int(name)
        if fd > 2 and fd not in kept:
            try:
                os.close(fd)
            except OSError:
                pass  # the listing's own descriptor, closed already
    null = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        if fd not in kept:
            os.dup2(null, fd)
    if null > 2:
        os.close(null)


def confine(config: Confinement, keep_fds: Collection[int], workdir: str) -> Layers:
    """Confines this (single-threaded, freshly forked) process for good.

    In order: the environment is emptied but for LANG, every descriptor but 0/1/2 and
    ``keep_fds`` is closed, the working directory becomes ``workdir``, then the resource
    limits, Landlock, the seccomp filter and the audit hook are applied as ``config`` asks.
    ``keep_fds`` should be pipes: RLIMIT_FSIZE is 0, a write to a regular file is refused.

    Returns:
        The layers applied.

    Raises:
        SandboxUnavailable: a requested layer could not be applied (the process is then
            partly confined: do not run the program, exit).
    """
    _single_thread()
    _scrub_environment()
    _close_fds(keep_fds)
    os.chdir(workdir)
    sys.dont_write_bytecode = True  # imports would try, and fail, to write .pyc files
    if config.rlimits:
        try:
            rlimits.apply(config.memory_bytes, config.cpu_seconds, config.open_files)
        except (OSError, ValueError) as exc:
            raise SandboxUnavailable(f"resource limits could not be set: {exc}") from exc
    abi = landlock.restrict(config.readable) if config.landlock else None
    if config.seccomp:
        seccomp_filter.install()
    if config.audit:
        audit.install(config.readable)
    return Layers(landlock=abi, seccomp=config.seccomp, rlimits=config.rlimits, audit=config.audit)
