"""The command line: trace to JSON/DOT/SVG, and one clear line on stderr for a bad program.

``cli.main`` runs in this process (its programs still run in the sandbox); one test starts
``python -m gradviz`` for real.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from gradviz import cli
from gradviz.render.svg import NO_ENGINE_MESSAGE, svg_engine
from gradviz.sandbox.probe import complete
from gradviz.sandbox.run import sandbox_report

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


def trace(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    """``gradviz trace ARGS`` in this process: exit status, stdout, stderr."""
    code = cli.main(["trace", *args])
    out, err = capsys.readouterr()
    return code, out, err


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


def test_trace_dot_to_file(poly: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "g.dot"
    code, _, err = trace(capsys, str(poly), "--format", "dot", "-o", str(out), "--direction", "LR")
    assert code == 0, err
    text = out.read_text()
    assert text.startswith("digraph gradviz {") and "rankdir=LR" in text and "grad 93<" in text


def test_trace_svg(poly: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    if svg_engine() is None:
        pytest.skip("no layout engine installed")
    out = tmp_path / "g.svg"
    code, _, err = trace(capsys, str(poly), "--format", "svg", "-o", str(out))
    assert code == 0, err
    assert out.read_bytes().lstrip().startswith(b"<?xml") or b"<svg" in out.read_bytes()


def test_svg_without_an_engine_says_what_it_needs(
    poly: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # no dot, no graphviz-pure on PATH
    monkeypatch.setattr("sys.executable", str(tmp_path / "python"))  # nor beside Python
    code, _, err = trace(capsys, str(poly), "--format", "svg")
    assert code == 2
    assert NO_ENGINE_MESSAGE in err and "Traceback" not in err


@pytest.mark.parametrize(
    ("source", "where", "words"),
    [
        ("import torch\nx = (1\n", ":2:", "syntax"),
        ("import torch\nopen('out.txt', 'w')\n", ":2:1:", "writing files is not allowed"),
        ("import torch\nx = 1\nprint(y)\n", ":3:7:", "NameError: name 'y' is not defined"),
        ("import torch\nx = torch.ones(2)\ny = x @ torch.ones(3)\n", ":3:", "Error"),
    ],
)
def test_a_bad_program_is_one_line_exit_2(
    tmp_path: Path, source: str, where: str, words: str, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "bad.py"
    path.write_text(source)
    code, _, err = trace(capsys, str(path))
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in err
    assert not (tmp_path / "out.txt").exists()
    assert lines[0].startswith(f"{path}{where}") and words.lower() in lines[0].lower()


def test_doctor_reports_the_layers_the_children_apply(capsys: pytest.CaptureFixture[str]) -> None:
    report = sandbox_report()
    code = cli.main(["doctor"])
    out = capsys.readouterr().out
    assert code == (0 if complete(report.layers) else 1)
    assert ("seccomp: no sockets" in out) == report.layers.seccomp
    assert (f"Landlock ABI {report.layers.landlock}" in out) == (report.layers.landlock is not None)
    assert ("complete:" in out) == complete(report.layers)
