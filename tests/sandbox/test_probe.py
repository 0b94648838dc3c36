"""probe() finds what this kernel offers without changing the calling process."""

from __future__ import annotations

import resource
import socket

from gradviz.sandbox import landlock
from gradviz.sandbox.layers import Layers
from gradviz.sandbox.probe import complete, describe, probe


def test_probe_reports_this_kernel_and_leaves_the_caller_alone() -> None:
    limits = resource.getrlimit(resource.RLIMIT_AS), resource.getrlimit(resource.RLIMIT_FSIZE)
    report = probe()
    abi = landlock.abi()
    assert report.landlock == (abi or None)
    assert report.seccomp and report.rlimits and report.audit
    assert complete(report) is (abi > 0)
    socket.socket().close()  # no filter here
    with open("/proc/self/status", "rb"):  # no Landlock here
        pass
    assert (resource.getrlimit(resource.RLIMIT_AS), resource.getrlimit(resource.RLIMIT_FSIZE)) == (
        limits
    )


def test_describe_names_each_layer() -> None:
    full = Layers(landlock=7, seccomp=True, rlimits=True, audit=True)
    lines = describe(full, readable=["/usr/lib", "/opt/python"])
    assert lines[0] == (
        "Landlock ABI 7: files readable only under /usr/lib, /opt/python, writable nowhere; "
        "no TCP bind or connect; no signals or abstract unix sockets outside the sandbox"
    )
    assert lines[1].startswith("seccomp: no sockets, no exec, no new processes")
    assert not any(line.startswith("missing") for line in lines)
    assert complete(full)


def test_describe_says_what_is_missing() -> None:
    old = Layers(landlock=3, seccomp=False, rlimits=True, audit=True)
    lines = describe(old, readable=["/usr/lib"])
    assert lines[0] == "Landlock ABI 3: files readable only under /usr/lib, writable nowhere"
    assert lines[-1].startswith("missing: seccomp")
    assert not complete(old)
    bare = describe(Layers(landlock=None, seccomp=False, rlimits=False, audit=False))
    assert bare == [
        "missing: Landlock (files outside the Python installation can be read); "
        "seccomp (sockets, exec and new processes are not stopped by the kernel); "
        "rlimits (memory and CPU time are not bounded); "
        "audit hook (refusals show as bare PermissionErrors)"
    ]
