"""Actions replayed after a program, as if it had one more line: backward again, zero grad.

The app's "backward again" and "zero grad" buttons never edit the program: the run is
repeated with the actions appended, inside the same recording, so each press is recorded as
one more backward call or zero_grad event (with no line, and ``origin="button"`` on calls).
When PyTorch refuses (the graph was freed by an earlier backward without retain_graph), the
run still succeeds: the gradients are left as they were and PyTorch's reason becomes a note.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal, get_args

import torch

from gradviz.capture import LiveCall, LiveEvent, Recording
from gradviz.model.graph import Note

Action = Literal["backward", "zero_grad"]
ACTIONS: tuple[str, ...] = get_args(Action)
MAX_ACTIONS = 100
"""Presses replayed at most: each one re-runs backward."""
_REFUSED = "backward again (button):"


def _last_backward(recording: Recording) -> LiveCall | None:
    """The last backward() the program (or gradviz's automatic backward) ran.

    autograd.grad calls are left out: they return gradients instead of adding to ``.grad``,
    so repeating one shows no accumulation.
    """
    for call in reversed(recording.calls):
        if call.kind == "backward" and call.origin in (None, "button"):
            return call
    return None


def _grads(recording: Recording) -> list[tuple[torch.Tensor, torch.Tensor | None]]:
    return [(r.tensor, r.tensor.grad) for r in recording.leaves()]


def _backward_again(recording: Recording) -> Note | None:
    """Repeat the last backward call on its roots with its gradients; a note if refused."""
    call = _last_backward(recording)
    if call is None:
        return Note("button", f"{_REFUSED} the program has no backward() call to repeat.")
    before_grads = [(t, None if g is None else g.clone()) for t, g in _grads(recording)]
    before_events, before_calls = len(recording.events), len(recording.calls)
    gradients = call.gradients if any(g is not None for g in call.gradients) else None
    try:
        torch.autograd.backward(call.roots, grad_tensors=gradients, retain_graph=True)
    except RuntimeError as err:
        # The engine may have added to some leaves before it stopped: put them back, and drop
        # whatever that restoring recorded, so the graph is the one before the press.
        with torch.no_grad():
            for tensor, grad in before_grads:
                tensor.grad = grad
        del recording.events[before_events:]
        del recording.calls[before_calls:]
        reason = str(err).strip().splitlines()[0]
        return Note("button", f"{_REFUSED} PyTorch refused, .grad is unchanged. {reason}")
    if len(recording.calls) > before_calls:
        recording.calls[-1].origin = "button"
    return None


def _zero_grad(recording: Recording) -> None:
    """``grad.zero_()`` on every leaf gradient, recorded as one event of its own."""
    # Its own row: add_event would merge it into a zero_grad event the program just made.
    event = LiveEvent(kind="zero_grad", line=None)
    recording.events.append(event)
    with torch.no_grad():
        for _, grad in _grads(recording):
            if grad is not None:
                grad.zero_()
    event.leaf_grads = recording.leaf_grads()
    event.leaf_values = recording.leaf_values()


def replay(recording: Recording, actions: Sequence[str]) -> list[Note]:
    """Run the actions in order after the program (inside its RecordingSession).

    Args:
        recording: The program's recording, its tensors still alive.
        actions: Among ``ACTIONS``; unknown ones are skipped, at most ``MAX_ACTIONS`` run.

    Returns:
        Notes for the user: each distinct reason an action could not run.
    """
    recording.line = None  # what the buttons do is on no line of the program
    notes: list[Note] = []
    for action in actions[:MAX_ACTIONS]:
        note = None
        if action == "backward":
            note = _backward_again(recording)
        elif action == "zero_grad":
            _zero_grad(recording)
        if note is not None and note not in notes:
            notes.append(note)
    return notes
