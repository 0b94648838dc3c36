"""A sandboxed interpreter of the Python subset that PyTorch autograd tutorials use."""

from gradviz.interpreter.core import InterpreterHooks
from gradviz.interpreter.evaluator import Execution, interpret

__all__ = ["Execution", "InterpreterHooks", "interpret"]
