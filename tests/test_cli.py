"""The command line: trace to JSON/DOT/SVG, and one clear line on stderr for a bad program."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from gradviz.render.svg import NO_ENGINE_MESSAGE, svg_engine

POLY = (
    "import torch\nx = torch.tensor(2.0, requires_grad=True)\n"
    "y = 2*x**4 + x**3 + 3*x**2 + 5*x + 1\ny.backward()\n"
)


def gradviz_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "gradviz", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )


@pytest.fixture
def poly(tmp_path: Path) -> Path:
    path = tmp_path / "poly.py"
    path.write_text(POLY)
    return path


def test_trace_json(poly: Path) -> None:
    done = gradviz_cli("trace", str(poly), "--format", "json")
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    x = next(n for n in data["nodes"] if n["name"] == "x")
    assert x["grad"] == 93.0


def test_trace_dot_to_file(poly: Path, tmp_path: Path) -> None:
    out = tmp_path / "g.dot"
    done = gradviz_cli("trace", str(poly), "--format", "dot", "-o", str(out), "--direction", "LR")
    assert done.returncode == 0, done.stderr
    text = out.read_text()
    assert text.startswith("digraph gradviz {") and "rankdir=LR" in text and "grad 93<" in text


def test_trace_svg(poly: Path, tmp_path: Path) -> None:
    if svg_engine() is None:
        pytest.skip("no layout engine installed")
    out = tmp_path / "g.svg"
    done = gradviz_cli("trace", str(poly), "--format", "svg", "-o", str(out))
    assert done.returncode == 0, done.stderr
    assert out.read_bytes().lstrip().startswith(b"<?xml") or b"<svg" in out.read_bytes()


def test_svg_without_an_engine_says_what_it_needs(poly: Path, tmp_path: Path) -> None:
    env = {"PATH": str(tmp_path), "HOME": str(tmp_path)}  # no dot, no graphviz-pure
    done = gradviz_cli("trace", str(poly), "--format", "svg", env=env)
    assert done.returncode == 2
    assert NO_ENGINE_MESSAGE in done.stderr and "Traceback" not in done.stderr


@pytest.mark.parametrize(
    ("source", "where", "words"),
    [
        ("import torch\nx = (1\n", ":2:", "syntax"),
        ("import torch\nimport os\n", ":2:1:", "os"),
        ("import torch\nx = torch.ones(2)\ny = x @ torch.ones(3)\n", ":3:", "Error"),
    ],
)
def test_a_bad_program_is_one_line_exit_2(
    tmp_path: Path, source: str, where: str, words: str
) -> None:
    path = tmp_path / "bad.py"
    path.write_text(source)
    done = gradviz_cli("trace", str(path))
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in done.stderr
    assert lines[0].startswith(f"{path}{where}") and words.lower() in lines[0].lower()
