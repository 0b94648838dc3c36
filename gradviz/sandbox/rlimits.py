"""Resource limits for the confined child: memory it may add, CPU time, open files.

Soft and hard limits are both lowered: an unprivileged process cannot raise a hard limit, and
the seccomp filter keeps a privileged one (root in a container) from doing so.
"""

from __future__ import annotations

import os
import resource


def mapped_bytes() -> int:
    """The address space this process maps right now (VmSize), in bytes."""
    with open("/proc/self/statm", "rb") as f:
        pages = int(f.read().split()[0])
    return pages * os.sysconf("SC_PAGE_SIZE")


def _lower(which: int, value: int) -> None:
    _, hard = resource.getrlimit(which)
    if hard != resource.RLIM_INFINITY:
        value = min(value, hard)
    resource.setrlimit(which, (value, value))


def apply(memory_bytes: int, cpu_seconds: int, open_files: int) -> None:
    """Lowers this process's limits for good.

    Args:
        memory_bytes: Address space the program may ADD to what is mapped now. A warm worker
            that has imported torch already maps about 630 MB (libraries, arenas, thread
            stacks), so RLIMIT_AS is set to that plus this budget. Address space is not memory
            used: torch's allocator and every new thread's stack (8 MB) count in full.
        cpu_seconds: CPU time of the whole process, all threads together (OpenMP threads that
            spin while waiting count too). The kernel sends SIGXCPU at this many seconds, and
            SIGKILL one second later.
        open_files: RLIMIT_NOFILE: new descriptors must be below this number.

    RLIMIT_FSIZE is 0 (a write to a regular file raises SIGXFSZ; pipes, sockets and /dev/null
    are not files, so results must go back through a pipe) and RLIMIT_CORE is 0. RLIMIT_NPROC
    is left alone: the seccomp filter refuses new processes.
    """
    _lower(resource.RLIMIT_AS, mapped_bytes() + memory_bytes)
    _, hard = resource.getrlimit(resource.RLIMIT_CPU)
    ceiling = cpu_seconds + 1 if hard == resource.RLIM_INFINITY else min(hard, cpu_seconds + 1)
    resource.setrlimit(resource.RLIMIT_CPU, (min(cpu_seconds, ceiling), ceiling))
    _lower(resource.RLIMIT_FSIZE, 0)
    _lower(resource.RLIMIT_NOFILE, open_files)
    _lower(resource.RLIMIT_CORE, 0)
