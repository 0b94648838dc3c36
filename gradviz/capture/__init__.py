"""Recording what a program does with tensors and autograd (live objects, one run)."""

from gradviz.capture.recording import (
    LiveCall,
    LiveEvent,
    LiveFunctional,
    Recording,
    TensorRecord,
)
from gradviz.capture.session import RecordingSession

__all__ = [
    "LiveCall",
    "LiveEvent",
    "LiveFunctional",
    "Recording",
    "RecordingSession",
    "TensorRecord",
]
