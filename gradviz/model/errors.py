"""Errors a user's program can cause: each carries a message for that user and its place."""

from __future__ import annotations


class GradvizError(Exception):
    """A problem in the user's program, reported as ``line:col: message``.

    Args:
        message: What went wrong and why, in the user's terms.
        line: 1-based line in the program, when known.
        col: 1-based column in the program, when known.
    """

    kind = "error"

    def __init__(
        self, message: str, line: int | None = None, col: int | None = None, detail: str = ""
    ) -> None:
        super().__init__(message)
        self.message = message
        self.line = line
        self.col = col
        self.detail = detail
        """The program's own frames as Python prints them (source lines and carets)."""

    def located(self, line: int | None, col: int | None) -> GradvizError:
        """Fill in the place if it is not known yet; returns self."""
        if self.line is None:
            self.line, self.col = line, col
        return self

    def __str__(self) -> str:
        if self.line is None:
            return self.message
        return f"{self.line}:{self.col or 1}: {self.message}"


class ProgramSyntaxError(GradvizError):
    """The program is not valid Python."""

    kind = "syntax error"


class RefusedError(GradvizError):
    """The program asks for something gradviz does not allow (imports, dunders, files...)."""

    kind = "refused"


class LimitExceeded(GradvizError):
    """The program went past one of the limits (time, steps, tensor size...)."""

    kind = "limit reached"


class ProgramError(GradvizError):
    """The program raised an error while running (for example a shape mismatch in torch)."""

    kind = "error"


class ProgramCrashed(GradvizError):
    """The program crashed the process it ran in (a signal: PyTorch itself failed)."""

    kind = "crashed"


class RunCancelled(GradvizError):
    """The run was abandoned (a newer Run, a closed tab) and its process killed."""

    kind = "cancelled"


class SandboxError(GradvizError):
    """gradviz's sandbox could not run the program (its worker failed, not the program)."""

    kind = "internal error"
