"""String formatting without attribute access and without huge widths.

``str.format`` can read attributes and items of its arguments (``"{0.__class__}"``); the
formatter here refuses those fields. Widths and precisions are checked against
max_sequence_length before any padding is made.
"""

from __future__ import annotations

import re
import string
from collections.abc import Mapping, Sequence
from typing import Any

from gradviz.errors import LimitExceeded, RefusedError
from gradviz.interpreter.budget import Budget

_DIGITS = re.compile(r"\d+")
_PERCENT = re.compile(
    r"%(?:\((?P<key>[^)]*)\))?(?P<flags>[#0\- +]*)(?P<width>\*|\d+)?(?:\.(?P<prec>\*|\d+))?"
    r"[hlL]?(?P<type>.)",
    re.S,
)


def check_spec(spec: str, budget: Budget) -> None:
    """Refuse a format spec whose width or precision is past max_sequence_length."""
    limit = budget.limits.max_sequence_length
    for digits in _DIGITS.findall(spec):
        if len(digits) > 9 or int(digits) > limit:
            raise LimitExceeded(
                f"the format width or precision {digits[:12]} is larger than {limit} "
                "(limit max_sequence_length)"
            )


def format_value(value: object, spec: str, budget: Budget) -> str:
    """``format(value, spec)`` after checking the spec."""
    check_spec(spec, budget)
    text = format(value, spec)
    budget.charge_size(len(text))
    return text


class SafeFormatter(string.Formatter):
    """``str.format`` with plain fields only, and a running check of the output length."""

    def __init__(self, budget: Budget) -> None:
        super().__init__()
        self.budget = budget
        self.length = 0

    def get_field(self, field_name: str, args: Sequence[Any], kwargs: Mapping[str, Any]) -> Any:
        if "." in field_name or "[" in field_name:
            raise RefusedError(
                f"format field '{{{field_name}}}' is not allowed: fields may not read "
                "attributes or items (use an f-string with the value instead)"
            )
        return super().get_field(field_name, args, kwargs)

    def format_field(self, value: Any, format_spec: str) -> Any:
        text = format_value(value, format_spec, self.budget)
        self.length += len(text)
        self.budget.check_length(self.length, "formatted string", charge=False)
        return text


def safe_format(template: str, args: Sequence[Any], kwargs: Mapping[str, Any], b: Budget) -> str:
    """``template.format(*args, **kwargs)``, refusing attribute/index fields and huge widths."""
    for _, field, spec, _ in string.Formatter().parse(template):
        if field is not None and ("." in field or "[" in field):
            SafeFormatter(b).get_field(field, args, kwargs)  # raises with the message
        if spec:
            check_spec(spec, b)
    result = SafeFormatter(b).vformat(template, args, kwargs)
    b.check_length(len(result), "formatted string")
    return result


def percent_format(template: str, values: object, budget: Budget) -> str:
    """``template % values`` after estimating the result's length from its parts."""
    specs = list(_PERCENT.finditer(template))
    estimate = len(template)
    mapping = values if isinstance(values, Mapping) else None
    items = values if isinstance(values, tuple) else (values,)
    index = 0
    for m in specs:
        if "*" in (m.group("width") or "") + (m.group("prec") or ""):
            raise RefusedError("'*' widths in %-formatting are not supported: write the number")
        for digits in (m.group("width"), m.group("prec")):
            if digits:
                check_spec(digits, budget)
                estimate += int(digits)
        if m.group("type") == "%":
            continue
        key = m.group("key")
        if key is not None and mapping is not None:
            value = mapping.get(key)
        elif index < len(items):
            value, index = items[index], index + 1
        else:
            continue
        if isinstance(value, str | list | tuple | dict | set):
            estimate += max(len(str(value)), len(repr(value)))
        budget.check_length(estimate, "formatted string", charge=False)
    result = template % values
    budget.check_length(len(result), "formatted string")
    return result
