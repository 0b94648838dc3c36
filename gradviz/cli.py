"""The command line: ``gradviz trace PROGRAM.py --format json|dot|svg``, ``gradviz app`` and
``gradviz doctor``."""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

from gradviz.model.errors import GradvizError, SandboxError
from gradviz.model.graph import Graph
from gradviz.render.dot import RenderOptions, to_dot
from gradviz.render.svg import to_svg
from gradviz.sandbox.probe import complete, describe
from gradviz.sandbox.run import run, sandbox_report

APP = Path(__file__).with_name("app") / "streamlit_app.py"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="gradviz", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    trace = commands.add_parser("trace", help="run a program and export its autograd graph")
    trace.add_argument("program", type=Path, help="a PyTorch program (.py)")
    trace.add_argument("--format", choices=("json", "dot", "svg"), default="json")
    trace.add_argument("-o", "--output", type=Path, help="write here instead of stdout")
    trace.add_argument("--seed", type=int, default=0, help="seed of the program's randomness")
    trace.add_argument("--no-values", action="store_true", help="hide forward values")
    trace.add_argument("--no-grads", action="store_true", help="hide gradients")
    trace.add_argument("--no-shapes", action="store_true", help="hide shapes")
    trace.add_argument("--saved", action="store_true", help="show saved tensors")
    trace.add_argument("--precision", type=int, default=4, help="significant digits")
    trace.add_argument("--direction", choices=("TB", "LR"), default="TB")
    trace.add_argument("--theme", choices=("light", "dark", "projector"), default="light")

    commands.add_parser("app", help="start the Streamlit app (other options go to streamlit run)")
    commands.add_parser("doctor", help="which sandbox layers this machine's kernel offers")
    return parser


def _options(args: argparse.Namespace) -> RenderOptions:
    return RenderOptions(
        show_values=not args.no_values,
        show_grads=not args.no_grads,
        show_shapes=not args.no_shapes,
        show_saved=args.saved,
        precision=args.precision,
        direction=args.direction,
        theme=args.theme,
    )


def _fail(message: str) -> int:
    print(message, file=sys.stderr)
    return 2


def trace(args: argparse.Namespace) -> int:
    """Run PROGRAM and write its graph; a failing program is one line on stderr, exit 2."""
    try:
        source = args.program.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        return _fail(f"{args.program}: cannot read: {exc}")
    try:
        graph = run(source, seed=args.seed)
    except GradvizError as exc:
        return _fail(f"{args.program}:{exc.line or 1}:{exc.col or 1}: {_one_line(exc.message)}")
    except Exception as exc:  # gradviz's own bug: still one line, never a traceback
        return _fail(f"{args.program}:1:1: gradviz failed: {_one_line(repr(exc))[:500]}")
    try:
        data = _export(graph, args)
    except RuntimeError as exc:  # no layout engine, or it failed
        return _fail(f"{args.program}: {_one_line(str(exc))}")
    except Exception as exc:  # gradviz's own bug: still one line, never a traceback
        return _fail(f"{args.program}:1:1: gradviz could not export: {_one_line(repr(exc))[:500]}")
    try:
        if args.output:
            args.output.write_bytes(data)
        else:
            sys.stdout.buffer.write(data)
    except OSError as exc:
        return _fail(f"{args.output or 'stdout'}: cannot write: {exc}")
    return 0


def _export(graph: Graph, args: argparse.Namespace) -> bytes:
    if args.format == "json":
        return graph.to_json(indent=1).encode()
    # A name can hold a lone surrogate (a dict key): written as U+FFFD, not a failure.
    dot = to_dot(graph, _options(args)).encode(errors="replace")
    return dot if args.format == "dot" else to_svg(dot.decode())


def _one_line(message: str) -> str:
    """stderr gets exactly one line: a message's own line breaks become spaces."""
    return " ".join(message.split("\n"))


def doctor() -> int:
    """Print the sandbox's layers here; exit 0 if all hold (the app may serve other machines)."""
    try:
        report = sandbox_report()
    except SandboxError as exc:
        return _fail(f"gradviz doctor: {exc}")
    for line in describe(report.layers, report.readable):
        print(line)
    if complete(report.layers):
        print("complete: the app may serve other machines (a class)")
        return 0
    print("incomplete: the app runs programs only for a browser on this machine")
    return 1


def main(argv: list[str] | None = None) -> int:
    args, extra = _parser().parse_known_args(argv)
    if args.command in ("trace", "doctor") and extra:
        _parser().error(f"unrecognized arguments: {' '.join(extra)}")
    if args.command == "trace":
        return trace(args)
    if args.command == "doctor":
        return doctor()
    # Everything after `app` (e.g. --server.port 8600) goes to `streamlit run`. Without every
    # sandbox layer the app listens on this machine only, unless told otherwise.
    if not any(a.startswith("--server.address") for a in extra) and not _complete_here():
        print("gradviz: the sandbox is incomplete here (gradviz doctor): serving on localhost only")
        extra = ["--server.address", "127.0.0.1", *extra]
    command = [sys.executable, "-m", "streamlit", "run", str(APP), *extra]
    return subprocess.call(command)


def _complete_here() -> bool:
    try:
        return complete(sandbox_report().layers)
    except SandboxError:
        return False


if __name__ == "__main__":
    raise SystemExit(main())
