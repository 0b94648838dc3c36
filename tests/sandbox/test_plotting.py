"""Leftover plotting lines do not kill a run: the graph is still torch's, and a note names them."""

from __future__ import annotations

import torch

import gradviz


def test_plotting_lines_are_skipped_with_a_note_and_the_graph_stays_true() -> None:
    graph = gradviz.run(
        "import torch\n"
        "import matplotlib.pyplot as plt\n"
        "x = torch.linspace(-2, 2, 5, requires_grad=True)\n"
        "y = (x**3).sum()\n"
        "y.backward()\n"
        "fig, (ax1, ax2) = plt.subplots(1, 2)\n"
        "ax1.plot(x.detach(), x.grad, label='grad')\n"
        "plt.legend()\n"
        "plt.show()\n"
    )
    (note,) = [n.text for n in graph.notes if n.text.startswith("Plotting skipped")]
    assert "lines 6, 7, 8, 9" in note
    x = torch.linspace(-2, 2, 5, requires_grad=True)
    (x**3).sum().backward()
    grad = graph.find("x")[0].grad
    assert grad is not None and x.grad is not None
    assert torch.allclose(torch.tensor(grad.data), x.grad)


def test_a_program_without_plots_has_no_such_note() -> None:
    graph = gradviz.run("import torch\nx = torch.ones(2, requires_grad=True)\nx.sum().backward()\n")
    assert not [n for n in graph.notes if "Plotting" in n.text]
