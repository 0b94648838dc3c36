"""A program's exception as Python reports it, reduced to the user's own frames.

Runs in the child: the result is plain data (kind, message, line, column and the user's part
of the traceback with its carets), never gradviz's own frames.
"""

from __future__ import annotations

import io
import sys
import traceback
from typing import Any

from gradviz.sandbox.audit import Refused
from gradviz.sandbox.instrument import FILENAME

MESSAGE_LINES = 3
"""Lines of an exception's message kept (torch's can run to a page of C++ context)."""
_CUT_AT = ("Exception raised from", "Traceback", "  File ")


def _message(e: BaseException) -> str:
    """``Type: message`` with Python's own "Did you mean" suggestion where it has one."""
    text = _formatted_last_line(e)
    lines: list[str] = []
    for line in text.splitlines():
        if line.startswith(_CUT_AT):
            break
        if line.strip():
            lines.append(line.rstrip())
        if len(lines) == MESSAGE_LINES:
            break
    return "\n".join(lines)[:2_000] or type(e).__name__


def _formatted_last_line(e: BaseException) -> str:
    """The exception's own lines as CPython's excepthook prints them: 3.11 computes the "Did
    you mean" suggestions of NameError and AttributeError only there (from the traceback's
    last frame), not in ``traceback``."""
    only = "".join(traceback.format_exception_only(type(e), e))
    buffer, stderr = io.StringIO(), sys.stderr
    sys.stderr = buffer
    try:
        sys.__excepthook__(type(e), e, e.__traceback__)
    except Exception:
        return only
    finally:
        sys.stderr = stderr
    lines = buffer.getvalue().splitlines()
    count = len(only.splitlines())
    return "\n".join(lines[-count:]) if count and len(lines) >= count else only


def _user_frames(e: BaseException) -> list[traceback.FrameSummary]:
    frames = traceback.extract_tb(e.__traceback__)
    return [f for f in frames if f.filename == FILENAME]


def _in_multiprocessing(e: BaseException) -> bool:
    return any("multiprocessing" in f.filename for f in traceback.extract_tb(e.__traceback__))


_KERNEL_REFUSALS = ("Operation not permitted", "Permission denied")
"""How the kernel's refusals (seccomp's EPERM, Landlock's EACCES) read once torch's C++ code
has turned them into a RuntimeError (``torch.save`` opens its file there)."""


def _kernel_refused(e: BaseException) -> bool:
    if isinstance(e, PermissionError):
        return True
    return isinstance(e, (OSError, RuntimeError)) and any(r in _text(e) for r in _KERNEL_REFUSALS)


def _kind(e: BaseException) -> str:
    if isinstance(e, SyntaxError):
        return "syntax error"
    if isinstance(e, Refused) or _kernel_refused(e):
        return "refused"
    if isinstance(e, (MemoryError, RecursionError)) or "can't allocate memory" in _text(e):
        return "limit reached"
    return "error"


def _limit_message(e: BaseException) -> str | None:
    if isinstance(e, RecursionError):
        return "the program nests calls too deeply for Python (RecursionError)"
    if isinstance(e, MemoryError) or "can't allocate memory" in _text(e):
        return "the program needed more memory than the sandbox allows"
    return None


def _text(e: BaseException) -> str:
    """``str(e)``, even for an exception of the program's whose ``__str__`` fails."""
    try:
        return str(e)
    except Exception:
        return ""


def describe(e: BaseException, step: str = "program", line: int | None = None) -> dict[str, Any]:
    """The failure as plain data: kind, message, line, col (1-based), detail (the user's
    frames as Python prints them) and the step of the run it happened in.

    Args:
        e: What was raised.
        step: "program", or the step of gradviz's after the program ran ("building the
            graph"), which the message names.
        line: The program line to report when no frame of the program's is in ``e``'s
            traceback (for a step after the program: the line that ran last).
    """
    col: int | None = None
    detail = ""
    if isinstance(e, SyntaxError) and e.filename == FILENAME:
        line, col = e.lineno, e.offset
        message = f"{type(e).__name__}: {e.msg}"
        detail = "".join(traceback.format_exception_only(type(e), e))
    else:
        frames = _user_frames(e)
        if frames:
            last = frames[-1]
            line = last.lineno
            col = (last.colno + 1) if last.colno is not None else None
            detail = "".join(traceback.format_list(frames))
        if isinstance(e, Refused):
            message = _text(e)
        else:
            message = _limit_message(e) or _message(e)
        if _kernel_refused(e) and not isinstance(e, Refused):
            message += " (the sandbox allows no files, processes or network)"
        if isinstance(e, PermissionError) and _in_multiprocessing(e):
            message = (
                "starting processes is not allowed in gradviz (multiprocessing): "
                "a DataLoader needs num_workers=0 here"
            )
    if step != "program":
        message = f"{step} (after the program ran) failed: {message}"
    return {
        "kind": _kind(e),
        "memory": isinstance(e, MemoryError) or "can't allocate memory" in _text(e),
        "message": message,
        "line": line,
        "col": col,
        "detail": detail[-4_000:],
        "step": step,
    }
