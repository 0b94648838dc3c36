"""The interpreter runs the tutorial subset of Python exactly as CPython and torch do.

Python's own ``exec`` appears here only as the test's oracle, on trusted test programs: the
interpreter itself never compiles or executes program text.
"""

from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path
from typing import Any

import pytest
import torch

from gradviz.errors import LimitExceeded, ProgramError, ProgramSyntaxError, RefusedError
from gradviz.interpreter import Execution, InterpreterHooks, interpret
from gradviz.limits import Limits

TUTORIALS = Path(__file__).parent / "programs" / "tutorials"


def tutorial(name: str) -> str:
    return (TUTORIALS / name).read_text()


def tensor(namespace: dict[str, object], name: str) -> torch.Tensor:
    value = namespace[name]
    assert isinstance(value, torch.Tensor), f"{name} is {type(value).__name__}"
    return value


def grad(namespace: dict[str, object], name: str) -> torch.Tensor:
    value = tensor(namespace, name).grad
    assert value is not None, f"{name}.grad is None"
    return value


def run_python(source: str, seed: int | None = None) -> tuple[str, dict[str, Any]]:
    """The oracle: CPython itself runs the (trusted) test program."""
    if seed is not None:
        torch.manual_seed(seed)
    namespace: dict[str, Any] = {}
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(source, namespace)
    return out.getvalue(), namespace


def run_both(source: str, seed: int = 0) -> tuple[Execution, str, dict[str, Any]]:
    torch.manual_seed(seed)
    result = interpret(source)
    stdout, namespace = run_python(source, seed)
    return result, stdout, namespace


# -- plain Python, compared with CPython ----------------------------------------------------------
PYTHON_PROGRAMS = {
    "arithmetic": "print(7 + 3, 7 - 3, 7 * 3, 7 / 2, 7 // 2, -7 // 2, 7 % 3, -7 % 3, 2 ** 10,"
    " 2 ** -1, 1 << 5, 256 >> 2, 6 & 3, 6 | 3, 6 ^ 3, ~5, -(-4), +3)",
    "floats": "print(0.1 + 0.2, 1e300 * 10, 3.0 // 2, 2 ** 0.5, round(2.675, 2), abs(-2.5))",
    "comparisons": "print(1 < 2 < 3, 1 < 3 < 2, 2 == 2.0, 'a' != 'b', None is None, [] is not [],"
    " 2 in [1, 2], 3 not in (1, 2), 'ab' in 'cabd')",
    "boolean_short_circuit": "x = []\nprint(x and x[0], x or 'empty', not x, 0 or None,"
    " 1 and 2, None or 0 or '')",
    "conditional_expression": "for v in range(4):\n    print('even' if v % 2 == 0 else 'odd')",
    "strings": "s = 'Hello, World'\nprint(s.lower(), s.upper(), s.split(', '), s[::-1],"
    " s[1:5], s.find('o'), s.replace('l', 'L'), s.startswith('He'), len(s), s * 2 + '!')",
    "fstrings": "x, name = 3.14159, 'pi'\nprint(f'{name}={x:.3f} {x!r} {name!r:>6} {42:05d}"
    " {1e6:,.0f} {255:#x} {0.5:%} {x:{3+5}.{2}f} {{braces}}')",
    "percent_format": "print('%s is %d years, %.2f m, %5s|%-5s|%x %r %%' % ('Al', 30, 1.8,"
    " 'r', 'l', 255, 'q'))\nprint('%(a)s-%(b)s' % {'a': 1, 'b': 2})",
    "str_format": "print('{} + {} = {}'.format(1, 2, 3), '{0}{1}{0}'.format('a', 'b'),"
    " '{x:>4}|{y:<4}|'.format(x=1, y=2), '{:^9.2f}'.format(3.14159),"
    " '{a}'.format_map({'a': 5}), format(3.5, '08.3f'), format(12, 'b'))",
    "lists": "l = [3, 1, 2]\nl.append(5)\nl.extend([9, 0])\nl.insert(0, 7)\nl.sort()\n"
    "l.reverse()\nprint(l, l.pop(), l.index(3), l.count(1), l[1:-1], l[::2], sorted(l), len(l))\n"
    "l[1:3] = ['a', 'b', 'c']\ndel l[0]\nl[0] = 'z'\nprint(l, l + [1], [0] * 3, l.copy())",
    "tuples_sets_dicts": "t = (1, 2, 3)\ns = {3, 1, 2}\nd = {'a': 1, 'b': 2}\n"
    "d['c'] = 3\ndel d['a']\ns.add(4)\nprint(t, t[1:], sorted(s), s | {9}, s & {1, 4}, d,"
    " list(d.items()), d.get('z', 0), {**d, 'e': 5}, dict(zip('xy', [1, 2])), set('aab'),"
    " d.pop('b'), d)",
    "unpacking": "a, b = 1, 2\na, b = b, a\n(c, d), e = (3, 4), 5\nf, *g, h = range(6)\n"
    "*i, j = 'xyz'\n[k, l] = [7, 8]\nprint(a, b, c, d, e, f, g, h, i, j, k, l)",
    "augmented": "x = 10\nx += 5\nx -= 3\nx *= 2\nx /= 4\nx //= 2\nx **= 3\nx %= 7\n"
    "y = [1]\ny += [2]\ny *= 2\nz = 'ab'\nz += 'c'\nd = {'k': 1}\nd['k'] += 4\nprint(x, y, z, d)",
    "comprehensions": "print([i * i for i in range(6) if i % 2], {i: i * i for i in range(3)},"
    " {c for c in 'banana'}, [(i, j) for i in range(3) for j in range(i)],"
    " sum(i for i in range(10)), [[j for j in range(i)] for i in range(3)], list(x for x in 'ab'))",
    "comprehension_scope": "i = 'outer'\nsquares = [i * i for i in range(3)]\nprint(i, squares)",
    "builtins": "print(abs(-3), all([1, 0]), any([0, 1]), bool([]), divmod(17, 5), float('2.5'),"
    " int('42'), int(3.9), len('abc'), max(3, 7, 2), min([4, 1]), max([], default=-1),"
    " pow(2, 10), pow(3, 4, 5), repr('x'), round(3.14159, 3), str(12), sum([1, 2, 3], 10),"
    " list(range(2, 11, 3)), tuple('ab'), sorted('bca', reverse=True),"
    " list(reversed([1, 2, 3])), list(enumerate('ab', 1)), list(zip('ab', 'cd')),"
    " list(map(abs, [-1, -2])), list(filter(None, [0, 1, 2])), isinstance(3, (int, str)),"
    " chr(97), ord('a'), hex(255), bin(5), oct(8), min('bca', key=ord), callable(len),"
    " complex(1, 2), frozenset([1, 1]), slice(1, 5, 2), divmod(-7, 2))",
    "if_elif_else": "for v in [-5, 0, 5]:\n    if v < 0:\n        print('neg')\n"
    "    elif v == 0:\n        print('zero')\n    else:\n        print('pos')",
    "for_break_continue_else": "for i in range(10):\n    if i == 2:\n        continue\n"
    "    if i == 5:\n        break\n    print(i)\nelse:\n    print('not reached')\n"
    "for i in range(2):\n    pass\nelse:\n    print('else ran', i)",
    "while_loop": "n, steps = 27, 0\nwhile n != 1:\n    n = n // 2 if n % 2 == 0 else 3 * n + 1\n"
    "    steps += 1\nelse:\n    print('done')\nprint(steps)",
    "for_over_dict_items": "d = {'a': 1, 'b': 2}\nfor k, v in d.items():\n    print(k, v)\n"
    "for k in d:\n    print(k)",
    "functions": "def f(a, b=2, *args, c=3, **kw):\n    return (a, b, args, c, kw)\n"
    "print(f(1), f(1, 5), f(1, 2, 3, 4, c=0, z=9), f(b=7, a=0), f(*[1, 2, 3], **{'c': 4}))\n"
    "def g(x, /, y, *, z):\n    return x + y + z\nprint(g(1, y=2, z=3))\n"
    "def h():\n    pass\nprint(h())",
    "recursion": "def fib(n):\n    return n if n < 2 else fib(n - 1) + fib(n - 2)\n"
    "print([fib(i) for i in range(15)])",
    "closures": "def make(n):\n    def add(k):\n        return n + k\n    return add\n"
    "adders = [make(i) for i in range(3)]\nprint([a(10) for a in adders])\n"
    "def counter():\n    total = []\n    def inc():\n        total.append(1)\n"
    "        return len(total)\n    return inc\nc = counter()\nc()\nprint(c())",
    "lambdas": "sq = lambda x: x * x\nprint(sq(4), (lambda *a, **k: (a, k))(1, z=2),"
    " sorted(['bb', 'a', 'ccc'], key=lambda s: -len(s)), (lambda x=5: x)())",
    "walrus": "data = [1, 5, 9]\nif (n := len(data)) > 2:\n    print(n)\n"
    "print([y for x in data if (y := x * 2) > 5], y)",
    "try_except": "try:\n    1 / 0\nexcept ZeroDivisionError as e:\n    print('caught', e)\n"
    "else:\n    print('no')\nfinally:\n    print('finally')\n"
    "try:\n    [][1]\nexcept (KeyError, IndexError) as e:\n"
    "    print(isinstance(e, IndexError), e.args)\n"
    "try:\n    pass\nexcept Exception:\n    pass\nelse:\n    print('else')\n"
    "def f():\n    try:\n        return 1\n    finally:\n        print('cleanup')\nprint(f())\n"
    "try:\n    try:\n        raise ValueError('inner')\n    except ValueError:\n        raise\n"
    "except ValueError as e:\n    print('reraised', e)",
    "raise_and_assert_caught": "try:\n    assert 1 > 2, 'math'\nexcept AssertionError as e:\n"
    "    print('assert', e)\ntry:\n    raise KeyError('k')\nexcept LookupError as e:\n"
    "    print('lookup', e)",
    "del_and_pass": "a = 1\nb = [1, 2, 3]\ndel a\ndel b[0]\npass\nprint(b)",
    "annotated": "x: int = 5\ny: list\nprint(x)",
    "slices_ellipsis": "l = list(range(10))\nprint(l[2:8:2], l[::-3], l[-2:], l[slice(1, 3)], ...)",
    "nested_data": "m = [[1, 2], [3, 4]]\nm[1][0] = 9\nprint(m, [r[::-1] for r in m],"
    " [v for r in m for v in r])",
    "big_ints_within_limits": "print(2 ** 4000 % 1000007, 3 ** 500 // 3 ** 499, 10 ** 100)",
    "print_sep_end": "print(1, 2, sep='-', end='!\\n')\nprint()\nprint('a', 'b', sep='')",
    "string_methods": "s = '  a,b  '\n"
    "print(s.strip(), s.lstrip(), s.rstrip(), ','.join(['x', 'y']),"
    " 'ab'.center(6, '*'), '5'.zfill(3), 'a\\tb'.expandtabs(4), 'x'.ljust(3) + '|',"
    " 'Title me'.title(), 'abc'.partition('b'))",
}


@pytest.mark.parametrize("name", sorted(PYTHON_PROGRAMS))
def test_plain_python_prints_as_cpython(name: str) -> None:
    source = PYTHON_PROGRAMS[name]
    assert interpret(source).stdout == run_python(source)[0]


def test_namespace_holds_final_names_but_not_modules() -> None:
    result = interpret("import math\nimport torch\nx = 2\ndef f():\n    return 1\ny = f() + x")
    assert result.namespace["x"] == 2 and result.namespace["y"] == 3
    assert "math" not in result.namespace and "torch" not in result.namespace


# -- echoes and the last value --------------------------------------------------------------------
def test_echoes_every_top_level_expression_but_not_none() -> None:
    result = interpret("x = 3\nx\nprint('hi')\nNone\nx + 1\n[x]\n")
    assert result.echoes == [(2, "3"), (5, "4"), (6, "[3]")]
    assert result.last_value == [3] and result.has_last_value


def test_a_value_whose_repr_is_only_an_address_is_not_echoed() -> None:
    result = interpret("import torch\ntorch.manual_seed(0)\ntorch.ones(1)\n")
    assert result.echoes == [(3, repr(torch.ones(1)))]


def test_last_value_only_for_a_final_bare_expression() -> None:
    assert not interpret("x = 1").has_last_value
    assert interpret("x = 1").last_value is None
    assert not interpret("print(1)").has_last_value
    result = interpret("import torch\ntorch.ones(2) * 2")
    assert result.has_last_value
    torch.testing.assert_close(result.last_value, torch.full((2,), 2.0))


def test_echo_in_function_or_loop_is_not_top_level() -> None:
    assert interpret("for i in range(3):\n    i\ndef f():\n    5\nf()").echoes == []


# -- hooks ----------------------------------------------------------------------------------------
def test_on_bind_once_per_name_with_new_values() -> None:
    bound: list[tuple[str, object]] = []
    hooks = InterpreterHooks(on_bind=lambda n, v: bound.append((n, v)))
    interpret("a, (b, c) = 1, (2, 3)\na += 10\nfor i in range(2):\n    pass\n", hooks=hooks)
    assert bound == [("a", 1), ("b", 2), ("c", 3), ("a", 11), ("i", 0), ("i", 1)]


def test_on_bind_sees_imports_defs_parameters_and_with_targets() -> None:
    names: list[str] = []
    hooks = InterpreterHooks(on_bind=lambda n, v: names.append(n))
    interpret(
        "import torch.nn as nn\nimport torch\ndef f(x):\n    y = x\n    return y\nf(1)\n"
        "with torch.no_grad() as g:\n    pass\n",
        hooks=hooks,
    )
    assert names == ["nn", "torch", "f", "x", "y", "g"]


def test_on_line_before_each_statement() -> None:
    lines: list[int] = []
    interpret(
        "x = 0\nfor i in range(2):\n    x += i\nprint(x)",
        hooks=InterpreterHooks(on_line=lines.append),
    )
    assert lines == [1, 2, 3, 3, 4]


def test_substitutions_replace_allowed_callables() -> None:
    calls: list[object] = []
    generator = torch.Generator().manual_seed(5)

    def reseed(seed: object) -> torch.Generator:
        calls.append(seed)
        return generator

    hooks = InterpreterHooks(substitutions={torch.manual_seed: reseed})
    result = interpret("import torch\ng = torch.manual_seed(42)", hooks=hooks)
    assert calls == [42] and result.namespace["g"] is generator


# -- tensors, compared with torch -----------------------------------------------------------------
TENSOR_PROGRAMS = {
    "autograd_basics": "import torch\nx = torch.tensor([1.0, 2.0, 3.0], requires_grad=True)\n"
    "y = (x ** 2 + 3 * x).sum()\ny.backward()\nprint(y, x.grad, x.grad_fn, y.grad_fn.name())",
    "matmul_chain": "import torch\ntorch.manual_seed(1)\n"
    "W = torch.randn(4, 3, requires_grad=True)\n"
    "b = torch.zeros(3, requires_grad=True)\nh = torch.randn(5, 4)\nfor i in range(3):\n"
    "    h = torch.tanh(h @ W + b) @ W.T\nloss = h.pow(2).mean()\nloss.backward()\n"
    "print(loss, W.grad, b.grad)",
    "nn_training": "import torch\nimport torch.nn as nn\nimport torch.nn.functional as F\n"
    "torch.manual_seed(0)\nmodel = nn.Sequential(nn.Linear(2, 4), nn.Tanh(), nn.Linear(4, 1))\n"
    "opt = torch.optim.Adam(model.parameters(), lr=0.05)\nx = torch.randn(8, 2)\n"
    "y = x[:, :1] * 2 - x[:, 1:]\nfor step in range(20):\n    opt.zero_grad()\n"
    "    loss = F.mse_loss(model(x), y)\n    loss.backward()\n    opt.step()\nprint(loss)\n"
    "for name, p in model.named_parameters():\n    print(name, p.shape, p.grad.norm())",
    "manual_sgd_no_grad": "import torch\nw = torch.tensor([2.0, -1.0], requires_grad=True)\n"
    "for i in range(5):\n    loss = ((w - 1) ** 2).sum()\n    loss.backward()\n"
    "    with torch.no_grad():\n        w -= 0.1 * w.grad\n    w.grad.zero_()\nprint(w, loss)",
    "hooks_and_callbacks": "import torch\nx = torch.ones(3, requires_grad=True)\n"
    "x.register_hook(lambda g: g * 10)\nseen = []\nlin = torch.nn.Linear(3, 2)\n"
    "h = lin.register_forward_hook(lambda m, i, o: seen.append(o.shape))\n"
    "torch.nn.init.constant_(lin.weight, 0.5)\ntorch.nn.init.zeros_(lin.bias)\n"
    "lin(x).sum().backward()\nh.remove()\nprint(x.grad, seen)",
    "jacobian_hessian_user_functions": "import torch\n"
    "from torch.autograd.functional import jacobian, hessian\n"
    "def f(v):\n    return v ** 3\ndef s(v):\n    return (v ** 3).sum()\n"
    "x = torch.tensor([1.0, 2.0])\nprint(jacobian(f, x), hessian(s, x),"
    " torch.autograd.functional.vjp(f, x, torch.ones(2)))",
    "grad_create_graph": "import torch\nx = torch.tensor(2.0, requires_grad=True)\ny = x ** 3\n"
    "(g,) = torch.autograd.grad(y, x, create_graph=True)\n(g2,) = torch.autograd.grad(g, x)\n"
    "print(g, g2)",
    "context_managers": "import torch\nx = torch.ones(2, requires_grad=True)\n"
    "with torch.no_grad():\n    a = x * 2\nwith torch.set_grad_enabled(False):\n    b = x * 2\n"
    "with torch.enable_grad():\n    c = x * 2\nwith torch.inference_mode():\n    d = x * 2\n"
    "print(a.requires_grad, b.requires_grad, c.requires_grad, d.requires_grad,"
    " torch.is_grad_enabled())",
    "indexing_and_assignment": "import torch\nt = torch.zeros(3, 4)\nt[0] = 1.0\n"
    "t[:, 1:3] = torch.ones(3, 2) * 2\nt[t > 1] = 5\nt[[0, 2], 0] = -1\n"
    "print(t, t[..., -1], t[None].shape, t[1:, ::2], t.T[0])",
    "tensor_attributes": "import torch\nx = torch.arange(6.0).reshape(2, 3)\n"
    "print(x.shape, x.dtype, x.device, x.ndim, x.T.shape, x.mT.shape, x.is_leaf, x.numel(),"
    " x.size(1), x.requires_grad, x.data, x.sum(dim=0), x.mean().item(), x.max(dim=1).values,"
    " x.tolist(), isinstance(x, torch.Tensor))",
    "attribute_assignment": "import torch\nimport torch.nn as nn\nx = torch.ones(2)\n"
    "x.requires_grad = True\n(x * 3).sum().backward()\nprint(x.grad)\nx.grad = None\n"
    "print(x.grad)\nx.data = torch.zeros(2)\nlayer = nn.Linear(2, 2)\n"
    "layer.weight = nn.Parameter(torch.eye(2))\nlayer.bias.data.fill_(1.0)\n"
    "print(x, layer(torch.ones(2)), list(layer.parameters())[0].shape)",
    "numpy_interop": "import numpy as np\nimport torch\na = np.arange(1, 4, 1)\n"
    "t = torch.from_numpy(a).float().reshape(3, 1)\nb = np.linspace(0, 1, 5)\n"
    "print(a, t, b.mean(), np.sin(b).round(3), b.shape, np.dot(b, b), np.zeros((2, 2)),"
    " t.numpy().sum(), np.pi)",
    "legacy_constructors": "import torch\nprint(torch.Tensor([1.0, 1.0]), torch.Tensor(2, 3).shape,"
    " torch.FloatTensor([1, 2]), torch.LongTensor([3]), torch.autograd.Variable(torch.ones(1)))",
    "optim_scheduler": "import torch\nw = torch.nn.Parameter(torch.tensor([1.0]))\n"
    "opt = torch.optim.SGD([w], lr=1.0, momentum=0.9)\n"
    "sched = torch.optim.lr_scheduler.StepLR(opt, step_size=1, gamma=0.5)\nfor i in range(3):\n"
    "    opt.zero_grad()\n    (w * w).sum().backward()\n    opt.step()\n    sched.step()\n"
    "print(w, sched.get_last_lr(), opt.param_groups[0]['lr'])",
    "decorated_no_grad": "import torch\n@torch.no_grad()\ndef double(t):\n    return t * 2\n"
    "x = torch.ones(2, requires_grad=True)\nprint(double(x), double(x).requires_grad)",
    "python_sum_of_tensor": "import torch\nw = torch.tensor([1.0, 2.0, 3.0], requires_grad=True)\n"
    "s = sum(w)\nprint(s, torch.autograd.grad(s, w))",
    "fstring_tensor": "import torch\nx = torch.tensor([1.5, 2.5])\nprint(f'{x}', f'{x[0]:.3f}',"
    " f'{x.sum().item():>8.2f}', '%s' % x, '{}'.format(x))",
}


@pytest.mark.parametrize("name", sorted(TENSOR_PROGRAMS))
def test_tensor_programs_print_as_torch(name: str) -> None:
    result, stdout, _ = run_both(TENSOR_PROGRAMS[name])
    assert result.stdout == stdout


def test_tensor_namespace_equals_torch() -> None:
    result, _, namespace = run_both(TENSOR_PROGRAMS["matmul_chain"])
    for key in ("W", "b", "h", "loss"):
        torch.testing.assert_close(result.namespace[key], namespace[key])
    torch.testing.assert_close(grad(result.namespace, "W"), namespace["W"].grad)


def test_deep_tanh_chain_equals_torch() -> None:
    source = (
        "import torch\ntorch.manual_seed(0)\nW = torch.randn(32, 32) * 0.2\nb = torch.zeros(32)\n"
        "y = torch.randn(1, 32)\nfor i in range(2000):\n    y = torch.tanh(y @ W + b)\n"
    )
    result, _, namespace = run_both(source)
    torch.testing.assert_close(result.namespace["y"], namespace["y"])


def test_hook_registered_by_program_runs_after_the_run() -> None:
    result = interpret(
        "import torch\nx = torch.ones(2, requires_grad=True)\nx.register_hook(lambda g: g * 3)\n"
        "y = (x * 2).sum()"
    )
    tensor(result.namespace, "y").backward()
    torch.testing.assert_close(grad(result.namespace, "x"), torch.full((2,), 6.0))


def test_user_function_called_by_torch_counts_steps() -> None:
    source = (
        "import torch\ndef hook(g):\n    total = 0\n    for i in range(1000):\n"
        "        total += i\n    return g\nx = torch.ones(2, requires_grad=True)\n"
        "x.register_hook(hook)\nx.sum().backward()\n"
    )
    interpret(source)
    with pytest.raises(LimitExceeded, match="max_steps"):
        interpret(source, limits=Limits(max_steps=500))


# -- the tutorials --------------------------------------------------------------------------------
RUNNABLE = sorted(p.name for p in TUTORIALS.glob("*.py") if "typo" not in p.name)


def test_all_thirteen_tutorials_are_here() -> None:
    assert len(list(TUTORIALS.glob("*.py"))) == 13


@pytest.mark.parametrize("name", RUNNABLE)
def test_tutorial_prints_exactly_what_python_prints(name: str) -> None:
    result, stdout, _ = run_both(tutorial(name), seed=3)
    assert result.stdout == stdout


def test_t000_gradients() -> None:
    ns = interpret(tutorial("t000_gradients.py")).namespace
    assert tensor(ns, "o").item() == 20.0
    assert grad(ns, "x").tolist() == [10.0, 10.0]


def test_t001a_polynomial() -> None:
    result = interpret(tutorial("t001a_polynomial.py"))
    assert tensor(result.namespace, "y").item() == 63.0
    assert grad(result.namespace, "x").item() == 93.0
    assert "tensor(63., grad_fn=<AddBackward0>)" in result.stdout
    assert "tensor(93.)" in result.stdout


def test_t001b_multistep() -> None:
    ns = interpret(tutorial("t001b_multistep.py")).namespace
    assert tensor(ns, "out").item() == 140.0
    assert grad(ns, "x").tolist() == [[10, 16, 22], [22, 16, 10]]


def test_t002a_gradients_accumulate_then_zero() -> None:
    lines = interpret(tutorial("t002a_accumulate.py")).stdout.splitlines()
    grads = lines[2:7]
    assert grads == [f"tensor([{k}., {k}., {k}., {k}., {k}.])" for k in (1, 2, 3, 4, 0)]


def test_t002b_autograd_grad_is_ones() -> None:
    result = interpret(tutorial("t002b_autograd_grad.py"))
    assert isinstance(result.last_value, tuple)
    (gradient,) = result.last_value
    torch.testing.assert_close(gradient, torch.ones(5))
    assert result.echoes == [(4, repr(result.last_value))]


def test_t002c_jacobian_and_hessian_match_torch() -> None:
    torch.manual_seed(11)
    result = interpret(tutorial("t002c_jacobian_hessian.py"))
    torch.manual_seed(11)
    first, second = torch.rand(2, 2), torch.rand(2, 2)
    jac = torch.autograd.functional.jacobian(lambda x: x.log(), first)
    hes = torch.autograd.functional.hessian(lambda x: torch.sqrt(x).sum(), second)
    assert [line for line, _ in result.echoes] == [6, 11]
    assert result.echoes[0][1] == repr(jac)
    assert result.echoes[1][1] == repr(hes)
    expected_jac = torch.diag((1 / first).flatten()).reshape(2, 2, 2, 2)
    torch.testing.assert_close(jac, expected_jac)
    expected_hes = torch.diag((-(second**-1.5) / 4).flatten()).reshape(2, 2, 2, 2)
    torch.testing.assert_close(hes, expected_hes)
    torch.testing.assert_close(result.last_value, hes)


def test_t002d_typo_is_a_syntax_error_on_line_5() -> None:
    with pytest.raises(ProgramSyntaxError) as info:
        interpret(tutorial("t002d_jacobian_columns_typo.py"))
    assert info.value.line == 5 and info.value.col is not None


def test_t002e_jacobian_columns_match_torch() -> None:
    result, _, namespace = run_both(tutorial("t002e_jacobian_columns.py"), seed=5)
    ns = result.namespace
    torch.testing.assert_close(ns["jacT"], namespace["jacT"])
    # Column i is grad(y, x, e_i) = w1^T e_i, i.e. row i of w1: jacT is w1 transposed.
    torch.testing.assert_close(tensor(ns, "jacT"), tensor(ns, "w1").T)


def test_t003a_accumulated_gradient_matches_torch() -> None:
    torch.manual_seed(2)
    ns = interpret(tutorial("t003a_vector_backward.py")).namespace
    torch.manual_seed(2)
    x = torch.randn(3, requires_grad=True)
    y = x + 2
    (y**2 * 2).mean().backward()
    (y**2 * 2).backward(torch.Tensor([1.0, 1.0, 1.0]))
    torch.testing.assert_close(grad(ns, "x"), x.grad)


def test_t003d_sgd_steps() -> None:
    stdout = interpret(tutorial("t003d_sgd.py")).stdout
    values = re.findall(r"x: tensor\(\[([0-9.]+),", stdout)
    assert values == ["1.", "0.9700", "0.9400", "0.9100"]


# -- errors ---------------------------------------------------------------------------------------
def test_program_error_carries_type_first_line_and_place() -> None:
    with pytest.raises(ProgramError) as info:
        interpret("x = [1, 2]\ny = 1\nz = x[5]")
    assert info.value.message == "IndexError: list index out of range"
    assert (info.value.line, info.value.col) == (3, 5)


def test_user_raise_and_assert_become_program_errors() -> None:
    with pytest.raises(ProgramError, match="ValueError: bad value"):
        interpret("raise ValueError('bad value')")
    with pytest.raises(ProgramError, match="AssertionError: sizes differ"):
        interpret("assert 1 == 2, 'sizes differ'")
    with pytest.raises(ProgramError, match="NameError: name 'nope' is not defined"):
        interpret("nope + 1")


def test_unbound_local_is_reported_as_in_python() -> None:
    with pytest.raises(ProgramError, match="UnboundLocalError"):
        interpret("x = 1\ndef f():\n    y = x\n    x = 2\nf()")


def test_wrong_arguments_are_type_errors() -> None:
    with pytest.raises(ProgramError, match="TypeError: f\\(\\) missing 1 required argument"):
        interpret("def f(a, b):\n    return a\nf(1)")
    with pytest.raises(ProgramError, match="unexpected keyword argument 'c'"):
        interpret("def f(a):\n    return a\nf(1, c=2)")


def test_syntax_errors_outside_the_parser() -> None:
    with pytest.raises(ProgramSyntaxError, match="'return' outside function"):
        interpret("return 1")
    with pytest.raises(ProgramSyntaxError, match="duplicate argument"):
        interpret("def f(a, a):\n    pass")


def test_with_only_for_grad_modes() -> None:
    with pytest.raises(RefusedError, match=r"torch\.no_grad"):
        interpret("import torch\nwith torch.ones(2):\n    pass")


def test_limits_are_configurable() -> None:
    with pytest.raises(LimitExceeded, match="max_loop_iterations"):
        interpret("for i in range(11):\n    pass", limits=Limits(max_loop_iterations=10))
    with pytest.raises(LimitExceeded, match="max_call_depth"):
        interpret(
            "def f(n):\n    return f(n - 1) if n else 0\nf(10)", limits=Limits(max_call_depth=5)
        )
    with pytest.raises(LimitExceeded, match="max_source_chars"):
        interpret("x = 1\n" * 10, limits=Limits(max_source_chars=20))
    with pytest.raises(LimitExceeded, match="max_nesting"):
        interpret("x = " + "[" * 30 + "]" * 30, limits=Limits(max_nesting=20))
    with pytest.raises(LimitExceeded, match="max_seconds"):
        interpret(
            "while True:\n    pass", limits=Limits(max_seconds=0.2, max_loop_iterations=10**9)
        )
