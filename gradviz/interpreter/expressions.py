"""Evaluation of expression nodes."""

from __future__ import annotations

import ast
from collections.abc import Callable
from typing import Any

from gradviz.errors import ProgramSyntaxError, RefusedError
from gradviz.interpreter import formatting
from gradviz.interpreter.builtins import materialize
from gradviz.interpreter.calls import Calls
from gradviz.interpreter.operators import COMPARE, UNARY
from gradviz.interpreter.scope import Scope, UserFunction, local_names

_CONVERSIONS: dict[int, Callable[[Any], str]] = {115: str, 114: repr, 97: ascii}


class Expressions(Calls):
    """Handlers for every supported expression node; registered in ``expression_table``."""

    def expression_table(self) -> dict[type[ast.AST], Callable[[Any], Any]]:
        return {
            ast.Constant: self.eval_constant,
            ast.Name: self.eval_name,
            ast.Attribute: self.eval_attribute,
            ast.Subscript: self.eval_subscript,
            ast.Slice: self.eval_slice,
            ast.BinOp: self.eval_binop,
            ast.UnaryOp: self.eval_unaryop,
            ast.BoolOp: self.eval_boolop,
            ast.Compare: self.eval_compare,
            ast.IfExp: self.eval_ifexp,
            ast.Call: self.eval_call,
            ast.List: self.eval_list,
            ast.Tuple: self.eval_tuple,
            ast.Set: self.eval_set,
            ast.Dict: self.eval_dict,
            ast.ListComp: self.eval_listcomp,
            ast.SetComp: self.eval_setcomp,
            ast.DictComp: self.eval_dictcomp,
            ast.GeneratorExp: self.eval_genexp,
            ast.Lambda: self.eval_lambda,
            ast.JoinedStr: self.eval_joinedstr,
            ast.FormattedValue: self.eval_formatted,
            ast.NamedExpr: self.eval_namedexpr,
            ast.Starred: self.eval_starred,
        }

    def eval_constant(self, node: ast.Constant) -> Any:
        return node.value

    def eval_name(self, node: ast.Name) -> Any:
        try:
            return self.scope.lookup(node.id, self.builtins)
        except NameError as e:
            why = self.safe.refusal(node.id) if type(e) is NameError else None
            if why is not None:
                raise RefusedError(why) from None
            raise

    def eval_attribute(self, node: ast.Attribute) -> Any:
        return self.get_attribute(self.eval(node.value), node.attr)

    def eval_subscript(self, node: ast.Subscript) -> Any:
        obj = self.eval(node.value)
        return self.get_item(obj, self.eval(node.slice))

    def eval_slice(self, node: ast.Slice) -> slice:
        lower = self.eval(node.lower) if node.lower else None
        upper = self.eval(node.upper) if node.upper else None
        step = self.eval(node.step) if node.step else None
        return slice(lower, upper, step)

    def eval_binop(self, node: ast.BinOp) -> Any:
        left = self.eval(node.left)
        return self.ops.binary(type(node.op), left, self.eval(node.right))

    def eval_unaryop(self, node: ast.UnaryOp) -> Any:
        return UNARY[type(node.op)](self.eval(node.operand))

    def eval_boolop(self, node: ast.BoolOp) -> Any:
        is_and = isinstance(node.op, ast.And)
        value: Any = None
        for expr in node.values:
            value = self.eval(expr)
            if (not value) if is_and else value:
                return value
        return value

    def eval_compare(self, node: ast.Compare) -> Any:
        left = self.eval(node.left)
        result: Any = True
        for op, expr in zip(node.ops, node.comparators, strict=True):
            right = self.eval(expr)
            symbol, fn = COMPARE[type(op)]
            result = self.ops.compare(symbol, fn, left, right)
            if len(node.ops) > 1 and not result:
                return result
            left = right
        return result

    def eval_ifexp(self, node: ast.IfExp) -> Any:
        return self.eval(node.body) if self.eval(node.test) else self.eval(node.orelse)

    def eval_call(self, node: ast.Call) -> Any:
        func = node.func
        if type(func) is ast.Attribute:
            self.budget.tick()
            fn = self.get_attribute(self.eval(func.value), func.attr)
        else:
            fn = self.eval(func)
        args = tuple(self.elements(node.args))
        kwargs: dict[str, Any] = {}
        for kw in node.keywords:
            value = self.eval(kw.value)
            if kw.arg is not None:
                kwargs[kw.arg] = value
                continue
            mapping = dict(value)  # ** unpacking: keys must be str, as in Python
            self.budget.check_length(len(mapping), "dict")
            for key in mapping:
                if not isinstance(key, str):
                    raise TypeError("keywords must be strings")
                if key in kwargs:
                    raise TypeError(f"got multiple values for keyword argument '{key}'")
            kwargs.update(mapping)
        return self.call(fn, args, kwargs)

    def elements(self, nodes: list[ast.expr]) -> list[Any]:
        """Values of a display or argument list, expanding ``*iterable`` with its checks."""
        out: list[Any] = []
        for n in nodes:
            if type(n) is ast.Starred:
                out.extend(materialize(self.eval(n.value), self.budget))
                self.budget.check_length(len(out), "list", charge=False)
            else:
                out.append(self.eval(n))
        return out

    def eval_list(self, node: ast.List) -> list[Any]:
        return self.elements(node.elts)

    def eval_tuple(self, node: ast.Tuple) -> tuple[Any, ...]:
        return tuple(self.elements(node.elts))

    def eval_set(self, node: ast.Set) -> set[Any]:
        return set(self.elements(node.elts))

    def eval_dict(self, node: ast.Dict) -> dict[Any, Any]:
        out: dict[Any, Any] = {}
        for key, value in zip(node.keys, node.values, strict=True):
            if key is None:
                mapping = self.eval(value)
                self.budget.check_length(len(out) + len(mapping), "dict")
                out.update(mapping)
            else:
                k = self.eval(key)
                out[k] = self.eval(value)
        return out

    # -- comprehensions ---------------------------------------------------------------------------
    def _comprehend(self, node: Any, emit: Callable[[], int]) -> None:
        """Run the generators of a comprehension in its own scope, calling ``emit`` per item."""
        first = self.eval(node.generators[0].iter)
        outer = self.scope
        self.scope = Scope("comprehension", {}, outer)
        try:
            self._loop(node.generators, 0, first, emit)
        finally:
            self.scope = outer

    def _loop(
        self, gens: list[ast.comprehension], i: int, items: Any, emit: Callable[[], int]
    ) -> None:
        gen = gens[i]
        count = 0
        for item in items:
            count += 1
            self.loop_limit(count)
            self.assign(gen.target, item)
            if all(self.eval(cond) for cond in gen.ifs):
                if i + 1 < len(gens):
                    self._loop(gens, i + 1, self.eval(gens[i + 1].iter), emit)
                else:
                    self.budget.check_length(emit(), "comprehension", charge=False)

    def _collect(self, node: ast.ListComp | ast.GeneratorExp | ast.SetComp) -> list[Any]:
        out: list[Any] = []

        def emit() -> int:
            out.append(self.eval(node.elt))
            return len(out)

        self._comprehend(node, emit)
        return out

    def eval_listcomp(self, node: ast.ListComp) -> list[Any]:
        return self._collect(node)

    def eval_genexp(self, node: ast.GeneratorExp) -> Any:
        # Evaluated eagerly: no generator object (with a frame) is ever created.
        return iter(self._collect(node))

    def eval_setcomp(self, node: ast.SetComp) -> set[Any]:
        return set(self._collect(node))

    def eval_dictcomp(self, node: ast.DictComp) -> dict[Any, Any]:
        out: dict[Any, Any] = {}

        def emit() -> int:
            key = self.eval(node.key)
            out[key] = self.eval(node.value)
            return len(out)

        self._comprehend(node, emit)
        return out

    # -- functions and strings --------------------------------------------------------------------
    def make_function(self, name: str, node: ast.FunctionDef | ast.Lambda) -> UserFunction:
        a = node.args
        defaults = [self.eval(d) for d in a.defaults]
        kw_defaults = {
            p.arg: self.eval(d) for p, d in zip(a.kwonlyargs, a.kw_defaults, strict=True) if d
        }
        names = self.local_names.get(id(node))
        if names is None:
            names = self.local_names[id(node)] = local_names(node)
        return UserFunction(name, node, defaults, kw_defaults, self.scope, self, names)

    def eval_lambda(self, node: ast.Lambda) -> UserFunction:
        return self.make_function("<lambda>", node)

    def eval_joinedstr(self, node: ast.JoinedStr) -> str:
        parts: list[str] = []
        length = 0
        for value in node.values:
            text = str(value.value) if isinstance(value, ast.Constant) else self.eval(value)
            length += len(text)
            self.budget.check_length(length, "str", charge=False)
            parts.append(text)
        return "".join(parts)

    def eval_formatted(self, node: ast.FormattedValue) -> str:
        value = self.eval(node.value)
        if node.conversion in _CONVERSIONS:
            value = _CONVERSIONS[node.conversion](value)
        spec = self.eval(node.format_spec) if node.format_spec else ""
        return formatting.format_value(value, spec, self.budget)

    def eval_namedexpr(self, node: ast.NamedExpr) -> Any:
        value = self.eval(node.value)
        self.bind(node.target.id, value, self.scope.binding_scope())
        return value

    def eval_starred(self, node: ast.Starred) -> Any:
        raise ProgramSyntaxError("SyntaxError: can't use starred expression here")
