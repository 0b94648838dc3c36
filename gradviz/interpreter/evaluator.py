"""The interpreter: walks a checked syntax tree and runs it on real torch and numpy objects.

Nothing of the program is ever given to ``exec``, ``eval`` or ``compile``: each node is
evaluated here, with the policy deciding what may be reached and the guards checking sizes
and counting steps before any work is done.
"""

from __future__ import annotations

import ast
import re
import types
from dataclasses import dataclass
from typing import Any

import torch

from gradviz.errors import GradvizError
from gradviz.interpreter.core import InterpreterHooks, mark, program_error
from gradviz.interpreter.parsing import parse_program
from gradviz.interpreter.statements import Statements
from gradviz.limits import Limits

_NO_TF = torch._C.DisableTorchFunction
_ADDRESS_ONLY = re.compile(r"^<[^<>]* at 0x[0-9a-fA-F]+>$")
"""A default repr (``<torch._C.Generator object at 0x7f…>``): says nothing, differs every run,
so a value like ``torch.manual_seed(0)``'s is not echoed."""
DEFAULT_LIMITS = Limits()


@dataclass
class Execution:
    """What a run produced."""

    stdout: str
    """Everything print() wrote, exactly as Python would format it."""
    namespace: dict[str, object]
    """The final module-level names (imported modules left out)."""
    last_value: object | None
    """Value of the last statement if it is a bare expression, else None."""
    has_last_value: bool
    """True iff the last statement is a bare expression whose value is not None."""
    echoes: list[tuple[int, str]]
    """(line, repr) of every top-level bare expression whose value is not None."""


class Interpreter(Statements):
    """One run of one program."""

    def __init__(self, limits: Limits, hooks: InterpreterHooks | None) -> None:
        super().__init__(limits, hooks)
        self.expressions = self.expression_table()
        self.statements = self.statement_table()

    def run(self, tree: ast.Module) -> Execution:
        grad_enabled = torch.is_grad_enabled()
        echoes: list[tuple[int, str]] = []
        last: Any = None
        body = tree.body
        place = (1, 1)
        self.running = True
        try:
            for i, stmt in enumerate(body):
                place = (stmt.lineno, stmt.col_offset + 1)
                if type(stmt) is not ast.Expr:
                    self.exec(stmt)
                    continue
                value = self._top_expression(stmt)
                text = None if value is None else self.safe_repr(value)
                if text is not None and not _ADDRESS_ONLY.search(text):
                    echoes.append((stmt.lineno, text))
                if i == len(body) - 1:
                    last = value
        except GradvizError as e:
            raise e.located(*place) from None
        except Exception as e:
            raise program_error(e).located(*place) from None
        finally:
            self.running = False
            self.pending = None
            torch._C._set_grad_enabled(grad_enabled)
        namespace = {
            k: v for k, v in self.module_scope.vars.items() if not isinstance(v, types.ModuleType)
        }
        return Execution(
            stdout=self.safe.stdout.getvalue(),
            namespace=namespace,
            last_value=last,
            has_last_value=last is not None,
            echoes=echoes,
        )

    def _top_expression(self, stmt: ast.Expr) -> Any:
        """A bare expression at the top: run like any statement, but keep its value."""
        try:
            self.budget.tick()
            if self.on_line is not None:
                self.on_line(stmt.lineno)
            return self.eval(stmt.value)
        except Exception as e:  # a GradvizError too: mark gives it its place
            mark(e, stmt)
            raise

    def safe_repr(self, value: object) -> str:
        """repr for the page: unseen by torch function modes, never raising, bounded."""
        try:
            with _NO_TF():
                text = repr(value)
        except Exception as e:  # a broken repr must not fail the run
            text = f"<{type(value).__name__} object: repr failed with {type(e).__name__}>"
        limit = self.limits.max_sequence_length
        return text if len(text) <= limit else text[:limit] + "..."


def interpret(
    source: str, *, limits: Limits = DEFAULT_LIMITS, hooks: InterpreterHooks | None = None
) -> Execution:
    """Run ``source`` in the sandbox and return its output, names and values.

    Raises:
        ProgramSyntaxError: The program is not valid Python.
        RefusedError: It uses something gradviz does not allow.
        LimitExceeded: It went past one of ``limits``.
        ProgramError: Python or torch raised an error while it ran.
    """
    try:
        tree = parse_program(source, limits)
        return Interpreter(limits, hooks).run(tree)
    except GradvizError:
        raise
    except (RecursionError, MemoryError) as e:
        raise program_error(e) from None
    except Exception as e:
        raise program_error(e) from None
