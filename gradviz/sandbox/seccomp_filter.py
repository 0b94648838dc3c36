"""A seccomp blocklist through pyseccomp: everything is allowed except what a program could
use to reach outside its process (sockets, exec, new processes, file writes, kernel knobs).

Blocked calls fail with EPERM (a Python PermissionError the program can catch), not a kill, so
the program's own error handling and gradviz's report keep working. Syscalls of another ABI
(ia32 ``int 0x80``, x32) kill the process: no Python program makes them by accident.
"""

from __future__ import annotations

import errno
import os
import platform

import pyseccomp as sc

from gradviz.sandbox.errors import SandboxUnavailable

_ARCHES = {"x86_64": sc.Arch.X86_64, "aarch64": sc.Arch.AARCH64, "arm64": sc.Arch.AARCH64}

CLONE_THREAD = 0x00010000
# Namespace flags: root in a container could otherwise make a thread in a new namespace.
_CLONE_NAMESPACES = (
    0x00020000,  # CLONE_NEWNS
    0x02000000,  # CLONE_NEWCGROUP
    0x04000000,  # CLONE_NEWUTS
    0x08000000,  # CLONE_NEWIPC
    0x10000000,  # CLONE_NEWUSER
    0x20000000,  # CLONE_NEWPID
    0x40000000,  # CLONE_NEWNET
    0x00000080,  # CLONE_NEWTIME
)
_OPEN_WRITE_FLAGS = (os.O_WRONLY, os.O_RDWR, os.O_CREAT, os.O_TRUNC)
_TIOCSTI = 0x5412  # pushes bytes into a terminal's input

DENIED: tuple[str, ...] = (
    # network: no sockets, and none of an inherited fd's connect/bind/listen/accept
    "socket", "socketpair", "connect", "bind", "listen", "accept", "accept4",
    # programs and other processes
    "execve", "execveat", "fork", "vfork", "ptrace", "process_vm_readv", "process_vm_writev",
    "kcmp", "pidfd_open", "pidfd_getfd", "pidfd_send_signal", "process_madvise",
    "process_mrelease", "tkill",
    # mounts and namespaces
    "mount", "umount2", "unshare", "setns", "pivot_root", "chroot", "open_tree", "move_mount",
    "fsopen", "fsconfig", "fsmount", "fspick", "mount_setattr", "open_tree_attr",
    # changing files (Landlock does not cover chmod, chown, utimes or xattrs)
    "creat", "mkdir", "mkdirat", "mknod", "mknodat", "unlink", "unlinkat", "rmdir", "rename",
    "renameat", "renameat2", "link", "linkat", "symlink", "symlinkat", "chmod", "fchmod",
    "fchmodat", "fchmodat2", "chown", "fchown", "lchown", "fchownat", "truncate", "ftruncate",
    "fallocate", "utime", "utimes", "utimensat", "futimesat", "setxattr", "lsetxattr",
    "fsetxattr", "setxattrat", "removexattr", "lremovexattr", "fremovexattr", "removexattrat",
    "file_setattr", "memfd_create", "memfd_secret", "name_to_handle_at", "open_by_handle_at",
    # kernel interfaces that bypass seccomp or are attack surface
    "io_uring_setup", "io_uring_enter", "io_uring_register", "bpf", "perf_event_open",
    "userfaultfd", "keyctl", "add_key", "request_key", "personality", "init_module",
    "finit_module", "delete_module", "kexec_load", "kexec_file_load", "reboot", "swapon",
    "swapoff", "acct", "quotactl", "quotactl_fd", "syslog", "sethostname", "setdomainname",
    "settimeofday", "clock_settime", "clock_adjtime", "adjtimex", "iopl", "ioperm",
    "lookup_dcookie", "uselib", "vhangup", "fanotify_init",
    # credentials, scheduling and limits (root here may raise them)
    "setuid", "setgid", "setreuid", "setregid", "setresuid", "setresgid", "setfsuid",
    "setfsgid", "setgroups", "capset", "setrlimit", "setpriority", "sched_setscheduler",
    "sched_setparam", "sched_setattr", "ioprio_set",
    # System V IPC and message queues reach other processes of the container
    "shmget", "shmat", "shmctl", "msgget", "msgsnd", "msgrcv", "msgctl", "semget", "semctl",
    "semop", "semtimedop", "mq_open", "mq_unlink",
)  # fmt: skip

# Calls newer than libseccomp 2.5.4 knows; numbers of the unified table (same on both arches).
_NEWER = {"setxattrat": 463, "removexattrat": 466, "open_tree_attr": 467, "file_setattr": 469}


def _number(name: str) -> int | None:
    """The native syscall number, None when this architecture has no such call."""
    nr = int(sc.resolve_syscall(sc.Arch.NATIVE, name))
    if nr < 0:
        return _NEWER.get(name)  # -1: unknown to libseccomp; other negatives: not native
    return nr


def build(pid: int) -> sc.SyscallFilter:
    """The filter for a process whose pid is ``pid`` (signals may only go to itself)."""
    arch = _ARCHES.get(platform.machine())
    if arch is None or sc.system_arch() != arch:
        raise SandboxUnavailable(f"seccomp filter: unsupported architecture {platform.machine()}")
    eperm, enosys = sc.ERRNO(errno.EPERM), sc.ERRNO(errno.ENOSYS)
    f = sc.SyscallFilter(sc.ALLOW)
    f.set_attr(sc.Attr.ACT_BADARCH, sc.KILL_PROCESS)  # only the native ABI is in the filter
    f.set_attr(sc.Attr.CTL_NNP, 1)

    def deny(name: str, *args: sc.Arg, action: int = eperm) -> None:
        nr = _number(name)
        if nr is not None:
            f.add_rule(action, nr, *args)

    for name in DENIED:
        deny(name)
    # glibc tries clone3 first and falls back to clone on ENOSYS, whose flags a filter can see.
    deny("clone3", action=enosys)
    deny("clone", sc.Arg(0, sc.MASKED_EQ, CLONE_THREAD, 0))  # a process, not a thread
    for flag in _CLONE_NAMESPACES:
        deny("clone", sc.Arg(0, sc.MASKED_EQ, flag, flag))
    # openat2 hides its flags in a struct; glibc and CPython do not use it.
    deny("openat2", action=enosys)
    for flag in _OPEN_WRITE_FLAGS:
        deny("open", sc.Arg(1, sc.MASKED_EQ, flag, flag))
        deny("openat", sc.Arg(2, sc.MASKED_EQ, flag, flag))
    for name in ("kill", "tgkill", "rt_sigqueueinfo", "rt_tgsigqueueinfo"):
        deny(name, sc.Arg(0, sc.NE, pid))  # only to itself (kill(0) and kill(-1) included)
    deny("prlimit64", sc.Arg(2, sc.NE, 0))  # reading limits is fine, setting them is not
    deny("ioctl", sc.Arg(1, sc.MASKED_EQ, 0xFFFFFFFF, _TIOCSTI))
    return f


def install() -> None:
    """Loads the filter into this thread and every thread or child it starts later.

    Raises:
        SandboxUnavailable: seccomp is not offered or the filter could not be loaded.
    """
    try:
        build(os.getpid()).load()
    except OSError as exc:
        raise SandboxUnavailable(f"seccomp filter could not be loaded: {exc}") from exc
