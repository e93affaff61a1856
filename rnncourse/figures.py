"""Figures drawn by code and shared by several chapters.

``unrolled_rnn_figure`` draws the computational graph of a recurrent neural network unrolled
over a few time steps: inputs ``x_t`` at the bottom, hidden states ``h_t`` in the middle (each
fed by the input of its step and by the previous hidden state), outputs ``o_t`` above them and,
optionally, the losses ``L_t`` on top. Every label is matplotlib mathtext, so no LaTeX
installation is needed.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import matplotlib.pyplot as plt
from matplotlib.figure import Figure
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch

__all__ = ["unrolled_rnn_figure"]

# One colour per kind of node; arrows are dark grey, the backward pass red.
_COLOURS = {
    "x": "#dbe9f6",
    "h": "#fde2c4",
    "h0": "#eeeeee",
    "o": "#d9f0d3",
    "L": "#f6d5e5",
    "y": "#ffffff",
    "total": "#e8dcf4",
}
_BOX_W = 0.62
_BOX_H = 0.42
_ARROW = "#333333"
_BACKWARD = "#c0392b"


def _box(ax, x, y, label, kind, *, fontsize=13, dashed=False):
    """Draw a rounded box centred at (x, y) holding ``label``."""
    patch = FancyBboxPatch(
        (x - _BOX_W / 2, y - _BOX_H / 2),
        _BOX_W,
        _BOX_H,
        boxstyle="round,pad=0.02,rounding_size=0.08",
        facecolor=_COLOURS[kind],
        edgecolor="#444444",
        linewidth=1.2,
        linestyle="--" if dashed else "-",
        zorder=3,
    )
    ax.add_patch(patch)
    ax.text(x, y, label, ha="center", va="center", fontsize=fontsize, zorder=4)


def _arrow(
    ax,
    start,
    end,
    *,
    label=None,
    colour=_ARROW,
    style="-|>",
    dashed=False,
    rad=0.0,
    label_offset=(0.0, 0.0),
    fontsize=10,
):
    """Draw an arrow between two box centres, stopping at the box borders."""
    (x0, y0), (x1, y1) = start, end
    # Shorten the arrow so that it starts and ends on the box borders.
    dx, dy = x1 - x0, y1 - y0
    if abs(dx) * _BOX_H >= abs(dy) * _BOX_W:  # leaves through the left/right side
        sx = (_BOX_W / 2 + 0.03) / abs(dx) if dx else 0.0
    else:  # leaves through the top/bottom
        sx = (_BOX_H / 2 + 0.03) / abs(dy) if dy else 0.0
    p0 = (x0 + sx * dx, y0 + sx * dy)
    p1 = (x1 - sx * dx, y1 - sx * dy)
    arrow = FancyArrowPatch(
        p0,
        p1,
        arrowstyle=style,
        mutation_scale=14,
        color=colour,
        linewidth=1.4,
        linestyle="--" if dashed else "-",
        connectionstyle=f"arc3,rad={rad}",
        zorder=2,
    )
    ax.add_patch(arrow)
    if label:
        mx, my = (p0[0] + p1[0]) / 2 + label_offset[0], (p0[1] + p1[1]) / 2 + label_offset[1]
        ax.text(
            mx,
            my,
            label,
            ha="center",
            va="center",
            fontsize=fontsize,
            color=colour,
            zorder=5,
            bbox={"facecolor": "white", "edgecolor": "none", "pad": 0.5, "alpha": 0.85},
        )


def _previous_label(label: str) -> str:
    """The time index before ``label``: "1" -> "0", "t" -> "t-1", "t-1" -> "t-2", "t+1" -> "t"."""
    match = re.fullmatch(r"\s*(.*?)\s*([+-])\s*(\d+)\s*", label)
    if re.fullmatch(r"\s*-?\d+\s*", label):
        return str(int(label) - 1)
    if match and match.group(1):
        base, sign, number = match.groups()
        offset = (int(number) if sign == "+" else -int(number)) - 1
        if offset == 0:
            return base
        return f"{base}{'+' if offset > 0 else '-'}{abs(offset)}"
    return f"{label}-1"


def unrolled_rnn_figure(
    steps: int = 3,
    show_outputs: bool = True,
    show_losses: bool = False,
    *,
    time_labels: Sequence[str] | None = None,
    show_h0: bool = True,
    show_weights: bool = True,
    show_targets: bool | None = None,
    show_total_loss: bool | None = None,
    show_backward: bool = False,
    title: str | None = None,
    figsize: tuple[float, float] | None = None,
) -> Figure:
    """Draw an RNN unrolled over ``steps`` time steps and return the matplotlib ``Figure``.

    Parameters
    ----------
    steps:
        Number of time steps drawn (columns), at least 1.
    show_outputs:
        Draw the outputs ``o_t`` computed from each hidden state.
    show_losses:
        Draw a loss ``L_t`` on top of each output (needs ``show_outputs``).
    time_labels:
        The subscripts of the columns, e.g. ``["t-1", "t", "t+1"]``; default ``"1"``, ...,
        ``str(steps)``. The initial state is labelled with the index before the first one
        (``0`` by default, ``"<first>-1"`` otherwise) unless ``time_labels`` starts with a
        number.
    show_h0:
        Draw the initial hidden state ``h_0`` to the left of the first step.
    show_weights:
        Write the weight matrices (``W_xh``, ``W_hh``, ``W_hq``) on the arrows.
    show_targets:
        With losses, draw the targets ``y_t`` that enter each loss (default: same as
        ``show_losses``).
    show_total_loss:
        With losses, draw the total loss ``L = sum_t L_t`` above them (default: same as
        ``show_losses``).
    show_backward:
        Add red dashed arrows for the gradient flowing backwards through the hidden states,
        ``dL/dh_t -> dL/dh_{t-1}``.
    title:
        Optional title of the figure.
    figsize:
        Size in inches; by default it grows with the number of steps and rows.
    """
    if steps < 1:
        raise ValueError(f"steps must be at least 1, got {steps}")
    if show_losses and not show_outputs:
        raise ValueError("show_losses needs show_outputs=True")
    if time_labels is None:
        time_labels = [str(t) for t in range(1, steps + 1)]
        first = "0"
    else:
        time_labels = [str(label) for label in time_labels]
        if len(time_labels) != steps:
            raise ValueError(f"time_labels must have {steps} entries, got {len(time_labels)}")
        first = _previous_label(time_labels[0])
    if show_targets is None:
        show_targets = show_losses
    if show_total_loss is None:
        show_total_loss = show_losses

    # Grid: column 0 holds h_0, columns 1..steps the time steps; rows from the bottom.
    dx = 1.45
    row_x, row_h, row_o, row_l, row_total = 0.0, 1.0, 2.0, 3.0, 4.0
    top = row_h
    if show_outputs:
        top = row_o
    if show_losses:
        top = row_l
    if show_losses and show_total_loss:
        top = row_total
    left = 0.0 if show_h0 else dx
    right = steps * dx + (0.55 if show_targets else 0.0)
    bottom = row_x - (0.95 if show_backward else 0.45)
    if figsize is None:
        figsize = (max(3.2, 1.15 * (right - left) + 1.6), 1.05 * (top - bottom) + 1.0)

    fig, ax = plt.subplots(figsize=figsize)
    ax.set_xlim(left - 0.6, right + 0.6)
    ax.set_ylim(bottom, top + 0.45)
    ax.set_aspect("equal")
    ax.axis("off")

    def xcol(i):
        return i * dx

    def wlabel(name):
        return rf"$\mathbf{{W}}_{{\mathrm{{{name}}}}}$" if show_weights else None

    h0_label = rf"$\mathbf{{h}}_{{{first}}}$"
    if show_h0:
        _box(ax, xcol(0), row_h, h0_label, "h0")
    for i, sub in enumerate(time_labels, start=1):
        x = xcol(i)
        _box(ax, x, row_x, rf"$\mathbf{{x}}_{{{sub}}}$", "x")
        _box(ax, x, row_h, rf"$\mathbf{{h}}_{{{sub}}}$", "h")
        _arrow(ax, (x, row_x), (x, row_h), label=wlabel("xh"), label_offset=(0.27, 0.0))
        if i > 1 or show_h0:
            _arrow(
                ax, (xcol(i - 1), row_h), (x, row_h), label=wlabel("hh"), label_offset=(0.0, 0.16)
            )
            if show_backward:
                _arrow(
                    ax,
                    (x, row_h - 0.1),
                    (xcol(i - 1), row_h - 0.1),
                    colour=_BACKWARD,
                    dashed=True,
                    rad=-0.35,
                )
        if show_outputs:
            _box(ax, x, row_o, rf"$\mathbf{{o}}_{{{sub}}}$", "o")
            _arrow(ax, (x, row_h), (x, row_o), label=wlabel("hq"), label_offset=(0.27, 0.0))
        if show_losses:
            _box(ax, x, row_l, rf"$L_{{{sub}}}$", "L")
            _arrow(ax, (x, row_o), (x, row_l))
            if show_targets:
                ax.annotate(
                    "",
                    xy=(x + _BOX_W / 2 + 0.02, row_l),
                    xytext=(x + _BOX_W / 2 + 0.4, row_l),
                    arrowprops={
                        "arrowstyle": "-|>",
                        "color": _ARROW,
                        "lw": 1.4,
                        "mutation_scale": 14,
                    },
                    zorder=2,
                )
                ax.text(
                    x + _BOX_W / 2 + 0.55,
                    row_l,
                    rf"$\mathbf{{y}}_{{{sub}}}$",
                    ha="center",
                    va="center",
                    fontsize=12,
                    zorder=4,
                )
    if show_losses and show_total_loss:
        centre = xcol((1 + steps) / 2)
        _box(ax, centre, row_total, r"$L$", "total")
        for i in range(1, steps + 1):
            _arrow(ax, (xcol(i), row_l), (centre, row_total))
    if show_backward:
        ax.text(
            (left + right) / 2,
            row_x - 0.65,
            r"backward: $\partial L/\partial \mathbf{h}_t \rightarrow "
            r"\partial L/\partial \mathbf{h}_{t-1}$",
            ha="center",
            va="center",
            fontsize=11,
            color=_BACKWARD,
        )
    if title:
        ax.set_title(title)
    fig.tight_layout()
    return fig
