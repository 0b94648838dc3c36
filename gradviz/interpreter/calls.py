"""Calls, attribute and item access: where the policy and the size guards are applied."""

from __future__ import annotations

import ast
import types
from typing import Any

import torch
from torch.overrides import TorchFunctionMode

from gradviz.errors import GradvizError, LimitExceeded, RefusedError
from gradviz.interpreter import callguard
from gradviz.interpreter.attributes import attribute_refusal, set_refusal
from gradviz.interpreter.builtins import materialize
from gradviz.interpreter.callguard import CallGuard
from gradviz.interpreter.core import Core, program_error
from gradviz.interpreter.methods import guarded_method
from gradviz.interpreter.policy import SUBSTITUTION_ONLY
from gradviz.interpreter.scope import Scope, UserFunction

_NO_TF = torch._C.DisableTorchFunction
_RUNS_CALLBACKS = frozenset({"jacobian", "hessian", "vjp", "jvp", "hvp", "vhp"})


class GuardMode(TorchFunctionMode):
    """Checks every torch call made inside torch's own Python code (nn.Module.forward,
    optimizers, autograd.functional) with the same guards, one step each, so those calls
    are bounded in size and time too."""

    def __init__(self, guard: CallGuard) -> None:
        super().__init__()
        self.guard = guard

    def __torch_function__(
        self,
        func: Any,
        types: Any,
        args: tuple[Any, ...] = (),
        kwargs: dict[str, Any] | None = None,
    ) -> Any:
        kwargs = kwargs or {}
        name = getattr(func, "__name__", "")
        if name in ("__get__", "__set__"):
            return func(*args, **kwargs)
        self.guard.budget.tick()
        self.guard.torch_call(name, func, args, kwargs)
        out = func(*args, **kwargs)
        self.guard.account(out, args)
        return out


def bind_arguments(
    fn: UserFunction, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> dict[str, Any]:
    """Python's rules for matching call arguments to parameters."""
    a = fn.node.args
    positional = [p.arg for p in (*a.posonlyargs, *a.args)]
    n = len(positional)
    values: dict[str, Any] = dict(zip(positional, args, strict=False))
    if len(args) > n:
        if a.vararg is None:
            s = "" if n == 1 else "s"
            raise TypeError(
                f"{fn.name}() takes {n} positional argument{s} but {len(args)} were given"
            )
    if a.vararg is not None:
        values[a.vararg.arg] = tuple(args[n:])
    keyword_only = [p.arg for p in a.kwonlyargs]
    only_positional = {p.arg for p in a.posonlyargs}
    extra: dict[str, Any] = {}
    for key, value in kwargs.items():
        if key in only_positional or (key not in positional and key not in keyword_only):
            if a.kwarg is None:
                raise TypeError(f"{fn.name}() got an unexpected keyword argument '{key}'")
            extra[key] = value
        elif key in values:
            raise TypeError(f"{fn.name}() got multiple values for argument '{key}'")
        else:
            values[key] = value
    if a.kwarg is not None:
        values[a.kwarg.arg] = extra
    first_default = n - len(fn.defaults)
    missing = []
    for i, name in enumerate(positional):
        if name not in values:
            if i >= first_default:
                values[name] = fn.defaults[i - first_default]
            else:
                missing.append(name)
    for name in keyword_only:
        if name not in values:
            if name in fn.kw_defaults:
                values[name] = fn.kw_defaults[name]
            else:
                missing.append(name)
    if missing:
        names = " and ".join(f"'{m}'" for m in missing)
        s = "" if len(missing) == 1 else "s"
        raise TypeError(f"{fn.name}() missing {len(missing)} required argument{s}: {names}")
    return values


class Calls(Core):
    """Calling functions (the program's and torch's), reading and writing attributes/items."""

    def call(self, fn: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        if type(fn) is UserFunction:
            return self.call_user(fn, args, kwargs)
        if self.substitutions:
            try:
                substitute = self.substitutions.get(fn)
            except TypeError:  # unhashable callable: it cannot be a key
                substitute = None
            if substitute is not None:
                return substitute(*args, **kwargs)
        if any(fn is f for f in SUBSTITUTION_ONLY):
            raise RefusedError(
                f"'{getattr(fn, '__name__', 'this')}' is not available here: it would change the "
                "random generator shared by every program (use torch.manual_seed(n))"
            )
        family, name = callguard.identify(fn)
        if family == "other":
            return fn(*args, **kwargs)
        self.guard.before(family, name, fn, args, kwargs)
        try:
            if family == "opaque" or name in _RUNS_CALLBACKS:
                with GuardMode(self.guard):
                    result = fn(*args, **kwargs)
            else:
                result = fn(*args, **kwargs)
        except BaseException:
            self._raise_pending()
            raise
        self._raise_pending()
        owner = getattr(fn, "__self__", None)
        self.guard.account(result, (owner,) if family == "tensor" else args)
        self.guard.scrub(family, name, (owner, *args) if family == "tensor" else args, result)
        return result

    def _raise_pending(self) -> None:
        """A limit hit inside a callback that torch called: report it, whatever torch did."""
        pending, self.pending = self.pending, None
        if pending is not None:
            raise pending

    def call_user(self, fn: UserFunction, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        if self.depth >= self.limits.max_call_depth:
            raise LimitExceeded(
                f"calls of the program's own functions nest deeper than "
                f"{self.limits.max_call_depth} (limit max_call_depth)"
            )
        values = bind_arguments(fn, args, kwargs)
        scope = Scope("function", {}, fn.scope, fn.local_names)
        saved = self.scope
        self.scope = scope
        self.depth += 1
        try:
            for name, value in values.items():
                self.bind(name, value)
            node = fn.node
            if isinstance(node, ast.Lambda):
                return self.eval(node.body)
            for stmt in node.body:
                signal = self.exec(stmt)
                if signal is not None:
                    return signal.value
            return None
        finally:
            self.scope = saved
            self.depth -= 1

    def call_from_outside(
        self, fn: UserFunction, args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> Any:
        """torch (a hook, jacobian...) calls one of the program's functions."""
        if not self.running:
            return self._call_after_run(fn, args, kwargs)
        try:
            return self.call_user(fn, args, kwargs)
        except GradvizError as e:
            e.located(fn.node.lineno, fn.node.col_offset + 1)
            self.pending = e
            raise

    def _call_after_run(
        self, fn: UserFunction, args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> Any:
        """A hook registered by the program, run after it ended: a fresh allowance."""
        self.budget.restart()
        self.running = True
        try:
            return self.call_user(fn, args, kwargs)
        except Exception as e:
            raise program_error(e) from None
        finally:
            self.running = False

    def dry_run_user(self, fn: object, args: Any) -> object:
        """Run ``fn`` on meta tensors, quietly and unseen, to learn its output's shape."""
        saved = self.quiet, self.safe.quiet, self.guard.counting
        self.quiet = self.safe.quiet = True
        self.guard.counting = False
        try:
            with _NO_TF():
                if type(fn) is UserFunction:
                    return self.call_user(fn, tuple(args), {})
                if callable(fn) and callguard.identify(fn)[0] in ("torch", "tensor"):
                    return fn(*args)
                return None
        except GradvizError:
            raise
        except Exception:  # not runnable on meta tensors: no estimate
            return None
        finally:
            self.quiet, self.safe.quiet, self.guard.counting = saved

    # -- attributes and items ---------------------------------------------------------------------
    def get_attribute(self, obj: Any, name: str) -> Any:
        why = attribute_refusal(obj, name)
        if why is not None:
            raise RefusedError(why)
        if type(obj) in (str, list, dict, set, frozenset):
            wrapper = guarded_method(obj, name, self.budget)
            if wrapper is not None:
                return wrapper
        value = getattr(obj, name)
        if isinstance(obj, types.ModuleType) and obj.__name__ == "math":
            return self.module_wrappers.get(id(value), value)
        return value

    def set_attribute(self, obj: Any, name: str, value: Any) -> None:
        why = set_refusal(obj, name)
        if why is not None:
            raise RefusedError(why)
        setattr(obj, name, value)

    def get_item(self, obj: Any, key: Any) -> Any:
        self.guard.index(obj, key)
        result = obj[key]
        if isinstance(result, torch.Tensor):
            self.guard.account(result, (obj,))
        return result

    def set_item(self, obj: Any, key: Any, value: Any) -> None:
        if isinstance(obj, list) and isinstance(key, slice):
            if not isinstance(value, list | tuple | str):
                value = materialize(value, self.budget)
            removed = len(range(*key.indices(len(obj))))
            self.budget.check_length(len(obj) - removed + len(value), "list")
        obj[key] = value
