"""Resource limits on their own, in a forked child: memory, CPU time, file size, open files."""

from __future__ import annotations

import errno
import os
import resource
import signal
from pathlib import Path
from typing import Any

import torch

from gradviz.sandbox import rlimits
from tests.sandbox.forked import ok, run

GIB = 2**30


def child_memory() -> dict[str, Any]:
    before = rlimits.mapped_bytes()
    rlimits.apply(memory_bytes=2 * GIB, cpu_seconds=30, open_files=64)  # the default budget
    try:
        torch.empty(3 * GIB // 4, dtype=torch.float32).fill_(1)
        big = "allocated"
    except (RuntimeError, MemoryError) as e:
        big = type(e).__name__
    small = float(torch.ones(1000, 1000).sum())  # the budget is still there for normal work
    return {"before": before, "big": big, "small": small}


def test_memory_beyond_the_budget_fails_and_the_child_survives() -> None:
    got = ok(run(child_memory))
    assert got["before"] > 100 * 2**20  # a torch process maps a lot before it does anything
    assert got["big"] in ("RuntimeError", "MemoryError")
    assert got["small"] == 1_000_000.0


def child_files(tmp: str) -> dict[str, Any]:
    path = Path(tmp) / "out.bin"
    f = open(path, "wb", buffering=0)
    rlimits.apply(memory_bytes=GIB, cpu_seconds=30, open_files=16)
    try:
        f.write(b"x")
        write: int | str = "written"
    except OSError as e:  # CPython ignores SIGXFSZ, so the write fails with EFBIG
        write = e.errno or -1
    opened = []
    try:
        for _ in range(32):
            opened.append(os.open(os.devnull, os.O_RDONLY))
        many: int | str = "all opened"
    except OSError as e:
        many = e.errno or -1
    limits = {
        name: resource.getrlimit(getattr(resource, name))
        for name in ("RLIMIT_FSIZE", "RLIMIT_CORE", "RLIMIT_NOFILE", "RLIMIT_CPU")
    }
    return {"write": write, "many": many, "limits": limits}


def test_no_file_output_and_few_descriptors(tmp_path: Path) -> None:
    got = ok(run(child_files, str(tmp_path)))
    assert got["write"] == errno.EFBIG
    assert (tmp_path / "out.bin").stat().st_size == 0
    assert got["many"] == errno.EMFILE
    assert got["limits"]["RLIMIT_FSIZE"] == [0, 0]
    assert got["limits"]["RLIMIT_CORE"] == [0, 0]
    assert got["limits"]["RLIMIT_NOFILE"] == [16, 16]
    assert got["limits"]["RLIMIT_CPU"] == [30, 31]


def child_spin() -> str:
    rlimits.apply(memory_bytes=GIB, cpu_seconds=1, open_files=64)
    while True:
        pass


def test_cpu_time_ends_the_child() -> None:
    assert run(child_spin, timeout=20) == {"signal": signal.SIGXCPU}
