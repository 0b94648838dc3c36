"""Any tensor torch can make is snapshotted without raising, and a legal program that makes
one runs through ``gradviz trace``: its JSON and DOT parse, stderr is empty or one line."""

from __future__ import annotations

import json
import subprocess
import warnings
from collections.abc import Callable
from pathlib import Path

import pytest
import torch

from gradviz import cli
from gradviz.capture.snapshot import READABLE_DTYPES, snapshot
from gradviz.render.svg import svg_engine

Make = Callable[[], torch.Tensor]


def _quiet(make: Make) -> torch.Tensor:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch's beta-state and deprecation warnings
        return make()


SHELLS = [getattr(torch, f"uint{n}") for n in range(1, 8)] + [torch.bits8]
"""dtypes without kernels: made by viewing bytes; their raw bits are shown."""
CONVERTED = [
    *(torch.float8_e4m3fn, torch.float8_e4m3fnuz, torch.float8_e5m2, torch.float8_e5m2fnuz),
    torch.float8_e8m0fnu,
]


@pytest.mark.parametrize("dtype", sorted(READABLE_DTYPES, key=str))
def test_readable_dtypes_are_carried_as_torch_reads_them(dtype: torch.dtype) -> None:
    t = torch.tensor([0, 1, 1], dtype=dtype)
    value = snapshot(t)
    assert value.data == t.tolist() and value.note is None


@pytest.mark.parametrize("dtype", CONVERTED, ids=str)
def test_float8_values_are_the_float32_torch_converts_them_to(dtype: torch.dtype) -> None:
    t = torch.tensor([0.5, 1.0, 2.0]).to(dtype)
    value = snapshot(t)
    assert value.dtype == str(dtype).removeprefix("torch.")
    assert value.data == t.float().tolist()


@pytest.mark.parametrize("dtype", SHELLS, ids=str)
def test_a_dtype_without_kernels_shows_its_raw_bits(dtype: torch.dtype) -> None:
    t = torch.tensor([1, 2, 3], dtype=torch.uint8).view(dtype)
    value = snapshot(t)
    assert value.data == [1, 2, 3]
    assert value.note is not None and "raw bits" in value.note


def test_complex_quantized_and_float4_values() -> None:
    z = torch.tensor([1 + 2j, -3 + 0j])
    assert snapshot(z).data == [1.0, -3.0] and "real parts" in str(snapshot(z).note)
    half = _quiet(lambda: torch.ones(2, dtype=torch.complex32))
    assert snapshot(half).data == [1.0, 1.0]
    q = _quiet(lambda: torch.quantize_per_tensor(torch.tensor([0.5, 1.0]), 0.1, 0, torch.qint8))
    assert snapshot(q).data == q.dequantize().tolist() and "dequantized" in str(snapshot(q).note)
    f4 = torch.tensor([7], dtype=torch.uint8).view(torch.float4_e2m1fn_x2)
    assert snapshot(f4).data == [7]


LAYOUTS: dict[str, Make] = {
    "coo": lambda: torch.eye(3).to_sparse(),
    "csr": lambda: torch.eye(3).to_sparse_csr(),
    "csc": lambda: torch.eye(3).to_sparse_csc(),
    "bsr": lambda: torch.eye(4).to_sparse_bsr((2, 2)),
    "bsc": lambda: torch.eye(4).to_sparse_bsc((2, 2)),
    "mkldnn": lambda: torch.eye(3).to_mkldnn(),
}


@pytest.mark.parametrize("layout", LAYOUTS)
def test_other_layouts_are_shown_dense(layout: str) -> None:
    t = _quiet(LAYOUTS[layout])
    value = snapshot(t)
    assert value.data == t.to_dense().tolist()
    assert value.note is not None and "dense" in value.note


def test_a_big_sparse_tensor_is_summarized_from_its_stored_elements() -> None:
    t = (torch.eye(1000) * 3).to_sparse()  # a million elements, a thousand stored
    value = snapshot(t)
    assert value.data is None and value.summary is not None
    assert value.summary.min == value.summary.max == 3.0
    assert "1,000 stored" in str(value.note)


def test_strided_views_and_expanded_tensors() -> None:
    base = torch.arange(12.0).reshape(3, 4)
    view = base.t()[1:]
    assert snapshot(view).data == view.tolist()
    huge = torch.ones(1).expand(10**8)  # 4 bytes of storage, a hundred million elements
    summary = snapshot(huge).summary
    assert summary is not None and summary.head == (1.0,) * 8 and summary.mean == 1.0


@pytest.mark.parametrize(
    ("make", "says"),
    [
        (lambda: torch.ones(3, device="meta", requires_grad=True), "meta tensor"),
        (lambda: torch.nested.nested_tensor([torch.ones(2, 3), torch.ones(4, 3)]), "2×3, 4×3"),
        (
            lambda: torch.nested.nested_tensor([torch.ones(2), torch.ones(5)], layout=torch.jagged),
            "nested tensor of 2",
        ),
    ],
    ids=["meta", "nested", "jagged"],
)
def test_what_cannot_be_read_is_said(make: Make, says: str) -> None:
    value = snapshot(_quiet(make))
    assert value.data is None and value.summary is None
    assert (
        value.note is not None
        and value.note.startswith("values not readable")
        and says in value.note
    )


# -- the programs of the review, through the CLI -------------------------------------------
PROGRAMS = {
    "sparse_leaf": "x = torch.eye(3).to_sparse().requires_grad_()\ny = (x * 2).sum()\n",
    "meta_leaf": "x = torch.ones(3, device='meta', requires_grad=True)\ny = (x * 2).sum()\n",
    "float8_uint3": (
        "a = torch.ones(3).to(torch.float8_e4m3fn)\n"
        "b = torch.tensor([1, 2], dtype=torch.uint8).view(torch.uint3)\n"
        "x = torch.ones(2, requires_grad=True)\ny = (x * 2).sum()\n"
    ),
    "hook_returns_int": (
        "x = torch.ones(2, requires_grad=True)\nx.register_hook(lambda g: 1)\ny = (x * 2).sum()\n"
    ),
    "extra_repr_is_len": (
        "class M(torch.nn.Linear):\n    extra_repr = len\n"
        "m = M(2, 1)\ny = m(torch.ones(2)).sum()\nm\n"
    ),
    "qint8_and_csr": (
        "q = torch.quantize_per_tensor(torch.ones(3), 0.1, 0, torch.qint8)\n"
        "c = torch.eye(3).to_sparse_csr()\n"
        "x = torch.ones(3, requires_grad=True)\ny = (c @ x).sum()\nq\n"
    ),
    "nested": (
        "n = torch.nested.nested_tensor([torch.ones(2, 3), torch.ones(4, 3)], requires_grad=True)\n"
        "y = n * 2\n"
    ),
    "complex_leaf": "z = torch.tensor([1+2j], requires_grad=True)\ny = z.abs().sum()\n",
}


def _trace(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, name: str, fmt: str
) -> tuple[int, str, str]:
    program = tmp_path / f"{name}.py"
    program.write_text("import torch\n" + PROGRAMS[name], encoding="utf-8")
    code = cli.main(["trace", str(program), "--format", fmt])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize("name", PROGRAMS)
def test_a_legal_program_runs_with_nothing_on_stderr(
    name: str, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code, out, err = _trace(capsys, tmp_path, name, "json")  # came through wire.from_wire
    assert (code, err) == (0, "")
    assert json.loads(out)["nodes"]
    code, dot, err = _trace(capsys, tmp_path, name, "dot")
    assert (code, err) == (0, "")
    _lays_out(dot)


def _lays_out(dot: str) -> None:
    engine = svg_engine()
    if engine is None:
        pytest.skip("no layout engine")
    done = subprocess.run([engine, "-Tsvg"], input=dot.encode(), capture_output=True, check=False)
    assert done.returncode == 0, done.stderr.decode()
    assert b"<svg" in done.stdout


def test_warnings_of_qint8_and_csr_become_notes(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code, out, err = _trace(capsys, tmp_path, "qint8_and_csr", "json")
    notes = [n["text"] for n in json.loads(out)["notes"]]
    assert (code, err) == (0, "")
    assert any("quantize" in n for n in notes), notes
    assert any("CSR" in n or "csr" in n.lower() for n in notes), notes


def test_a_hook_returning_an_int_is_a_note_and_the_graph_stays(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code, out, err = _trace(capsys, tmp_path, "hook_returns_int", "json")
    data = json.loads(out)
    assert (code, err) == (0, "")
    assert any(
        "hook returned 'int'" in n and n.startswith("line ")
        for n in (d["text"] for d in data["notes"])
    )
    assert [n["name"] for n in data["nodes"] if n["name"]] == ["x", "y"]
