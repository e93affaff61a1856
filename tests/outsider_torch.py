"""Outsider submissions for 06_torch_rnn and 07_lstm_gru.

Written from the exercise contract (EXERCISES.md) only, without looking at the reference
solutions. For each assignment:

- ``"alternative"``: a correct implementation of every graded name, in another style than the
  obvious one (``F.linear`` over the whole sequence then ``torch.addmm`` per step, ``einsum``,
  ``torch.flip``, the weights split per gate instead of the gates, ``n + z * (h - n)``, ...).
  It must get full marks: it matches ``nn.RNN`` / ``nn.LSTM`` / ``nn.GRU`` / ``nn.LSTMCell`` /
  ``nn.GRUCell`` to about 1e-15 in float64 and keeps the dtype of its inputs.
- ``"buggy"``: ``student_id -> (function name, code of that one cell, what is wrong)``; each entry
  replaces one solution cell and should lose points on that function's tests.

Every code string is the whole content of a solution cell: plain Python with ``np`` (numpy) and
``torch`` already imported by the notebook. Each cell is self-contained: its helpers are nested in
the function (no module-level helper that another cell could redefine). The buggy cells are
edits of the alternative's cells (``_edit`` checks that each edit applies), so they are correct
except for the one mistake they are named after.

Shape errors raise ``ValueError`` whose message starts with the offending argument's name. The
sizes come from the weights (``H`` from ``W_hh``, ``D`` from ``W_ih``) and the data arguments are
checked against them, so a sequence with the wrong number of features blames ``input`` (or
``x``), and a state of the wrong shape blames ``h_prev`` / ``h0`` / ``c0`` / ``h`` / ``c``.
"""

from __future__ import annotations


def _edit(code: str, old: str, new: str) -> str:
    """``code`` with its one occurrence of ``old`` replaced by ``new``."""
    assert code.count(old) == 1, f"edit does not apply exactly once: {old!r}"
    return code.replace(old, new)


# ---------------------------------------------------------------------------------------------
# 06_torch_rnn
# ---------------------------------------------------------------------------------------------

RNN_06 = '''
from torch.nn import functional as F


def rnn_forward(input, W_ih, W_hh, b_ih, b_hh, h_prev):
    """tanh RNN over a batch_first sequence, equal to nn.RNN(D, H, batch_first=True)."""
    if input.dim() != 3 or input.shape[1] == 0:
        raise ValueError(f"input must have shape (B, T, D) with T >= 1, got {tuple(input.shape)}")
    batch, _, features = input.shape
    if W_hh.dim() != 2 or W_hh.shape[0] != W_hh.shape[1]:
        raise ValueError(f"W_hh must be a square (H, H) matrix, got {tuple(W_hh.shape)}")
    hidden = W_hh.shape[0]
    if W_ih.dim() != 2 or W_ih.shape[0] != hidden:
        raise ValueError(f"W_ih must have shape (H, D) with H = {hidden}, got {tuple(W_ih.shape)}")
    if W_ih.shape[1] != features:
        raise ValueError(f"input has {features} features, the weights expect {W_ih.shape[1]}")
    for name, bias in (("b_ih", b_ih), ("b_hh", b_hh)):
        if bias is not None and tuple(bias.shape) != (hidden,):
            raise ValueError(f"{name} must have shape ({hidden},), got {tuple(bias.shape)}")
    if h_prev is None:
        h_prev = input.new_zeros(batch, hidden)
    if tuple(h_prev.shape) != (batch, hidden):
        raise ValueError(
            f"h_prev must have shape (B, H) = {(batch, hidden)}, got {tuple(h_prev.shape)}"
        )
    # all input projections at once; only the recurrent product stays inside the loop
    projected = F.linear(input, W_ih, b_ih)
    if b_hh is not None:
        projected = projected + b_hh
    state = h_prev
    states = []
    for drive in projected.unbind(dim=1):
        state = torch.tanh(torch.addmm(drive, state, W_hh.t()))
        states.append(state)
    return torch.stack(states, dim=1), state.unsqueeze(0)
'''

BIDIRECTIONAL_06 = '''
def bidirectional_rnn_forward(input, fwd, bwd, h0):
    """Two tanh RNNs over one sequence, the second read from the end (nn.RNN bidirectional)."""
    if input.dim() != 3 or input.shape[1] == 0:
        raise ValueError(f"input must have shape (B, T, D) with T >= 1, got {tuple(input.shape)}")
    batch, _, features = input.shape

    def unpack(weights, name):
        if not isinstance(weights, (tuple, list)) or len(weights) != 4:
            raise ValueError(f"{name} must be a tuple (W_ih, W_hh, b_ih, b_hh)")
        w_ih, w_hh, b_ih, b_hh = weights
        if w_hh.dim() != 2 or w_hh.shape[0] != w_hh.shape[1]:
            raise ValueError(f"{name}: W_hh must be square (H, H), got {tuple(w_hh.shape)}")
        size = w_hh.shape[0]
        if w_ih.dim() != 2 or w_ih.shape[0] != size:
            raise ValueError(f"{name}: W_ih must have {size} rows, got {tuple(w_ih.shape)}")
        if w_ih.shape[1] != features:
            raise ValueError(f"input has {features} features, {name} expects {w_ih.shape[1]}")
        for label, bias in (("b_ih", b_ih), ("b_hh", b_hh)):
            if bias is not None and tuple(bias.shape) != (size,):
                raise ValueError(f"{name}: {label} must have shape ({size},)")
        return w_ih, w_hh, b_ih, b_hh

    def run(sequence, weights, state):
        w_ih, w_hh, b_ih, b_hh = weights
        drives = torch.einsum("btd,hd->bth", sequence, w_ih)
        for bias in (b_ih, b_hh):
            if bias is not None:
                drives = drives + bias
        states = []
        for t in range(sequence.shape[1]):
            state = torch.tanh(drives[:, t] + state @ w_hh.T)
            states.append(state)
        return torch.stack(states, dim=1), state

    forward_weights = unpack(fwd, "fwd")
    backward_weights = unpack(bwd, "bwd")
    hidden = forward_weights[1].shape[0]
    if backward_weights[1].shape[0] != hidden:
        raise ValueError(f"bwd must have the hidden size of fwd, {hidden}")
    if h0 is None:
        h0 = input.new_zeros(2, batch, hidden)
    if tuple(h0.shape) != (2, batch, hidden):
        raise ValueError(
            f"h0 must have shape (2, B, H) = {(2, batch, hidden)}, not {list(h0.shape)}"
        )
    out_f, last_f = run(input, forward_weights, h0[0])
    flipped, last_b = run(torch.flip(input, dims=(1,)), backward_weights, h0[1])
    out_b = torch.flip(flipped, dims=(1,))
    return torch.cat((out_f, out_b), dim=2), torch.stack((last_f, last_b))
'''

STACKED_06 = '''
def stacked_rnn_forward(input, layers, h0):
    """L tanh RNN layers, each reading the output sequence of the one below (nn.RNN num_layers)."""
    if input.dim() != 3 or input.shape[1] == 0:
        raise ValueError(f"input must have shape (B, T, D) with T >= 1, got {tuple(input.shape)}")
    batch, steps, features = input.shape
    if not isinstance(layers, (list, tuple)) or len(layers) == 0:
        raise ValueError("layers must be a non-empty list of (W_ih, W_hh, b_ih, b_hh) tuples")
    hidden = None
    for index, weights in enumerate(layers):
        if not isinstance(weights, (tuple, list)) or len(weights) != 4:
            raise ValueError(f"layers[{index}] must be a tuple (W_ih, W_hh, b_ih, b_hh)")
        w_ih, w_hh, b_ih, b_hh = weights
        if hidden is None and w_hh.dim() == 2:
            hidden = w_hh.shape[0]
        if tuple(w_hh.shape) != (hidden, hidden):
            raise ValueError(
                f"layers[{index}]: W_hh must be ({hidden}, {hidden}), not {list(w_hh.shape)}"
            )
        if w_ih.dim() != 2 or w_ih.shape[0] != hidden:
            raise ValueError(
                f"layers[{index}]: W_ih must have {hidden} rows, not {list(w_ih.shape)}"
            )
        if index == 0 and w_ih.shape[1] != features:
            raise ValueError(f"input has {features} features, layers[0] expects {w_ih.shape[1]}")
        if index > 0 and w_ih.shape[1] != hidden:
            raise ValueError(
                f"layers[{index}]: W_ih must be ({hidden}, {hidden}), not {list(w_ih.shape)}"
            )
        for label, bias in (("b_ih", b_ih), ("b_hh", b_hh)):
            if bias is not None and tuple(bias.shape) != (hidden,):
                raise ValueError(f"layers[{index}]: {label} must have shape ({hidden},)")
    depth = len(layers)
    if h0 is None:
        h0 = input.new_zeros(depth, batch, hidden)
    if tuple(h0.shape) != (depth, batch, hidden):
        raise ValueError(
            f"h0 must have shape (L, B, H) = {(depth, batch, hidden)}, not {list(h0.shape)}"
        )
    sequence = input
    finals = []
    for level, (w_ih, w_hh, b_ih, b_hh) in enumerate(layers):
        state = h0[level]
        drives = torch.matmul(sequence, w_ih.transpose(0, 1))
        for bias in (b_ih, b_hh):
            if bias is not None:
                drives = drives + bias
        states = []
        for t in range(steps):
            state = torch.tanh(drives[:, t, :] + torch.mm(state, w_hh.t()))
            states.append(state)
        sequence = torch.stack(states, dim=1)
        finals.append(state)
    return sequence, torch.stack(finals, dim=0)
'''

CLASSIFIER_06 = '''
from torch import nn


class RNNClassifier(nn.Module):
    """A stacked tanh RNN read out by a linear layer at the last time step."""

    def __init__(self, input_size, hidden_size, num_layers, num_classes):
        super().__init__()
        self.rnn = nn.RNN(
            input_size=input_size,
            hidden_size=hidden_size,
            num_layers=num_layers,
            batch_first=True,
        )
        self.fc = nn.Linear(in_features=hidden_size, out_features=num_classes)

    def forward(self, x):
        # the top layer's final state is the output at the last time step
        _, h_n = self.rnn(x)
        return self.fc(h_n[-1])
'''

BUGGY_06 = {
    "a06_one_bias": (
        "rnn_forward",
        _edit(RNN_06, "    if b_hh is not None:\n        projected = projected + b_hh\n", ""),
        "uses only b_ih: the recurrent bias b_hh is dropped",
    ),
    "a06_hn_first_step": (
        "rnn_forward",
        _edit(RNN_06, "state.unsqueeze(0)", "states[0].unsqueeze(0)"),
        "h_n is the state after the first time step instead of the last",
    ),
    "a06_relu": (
        "rnn_forward",
        _edit(RNN_06, "torch.tanh(torch.addmm(", "torch.relu(torch.addmm("),
        "relu instead of tanh (nn.RNN's default nonlinearity is tanh)",
    ),
    "a06_w_ih_not_transposed": (
        "rnn_forward",
        _edit(RNN_06, "F.linear(input, W_ih, b_ih)", "input @ W_ih + b_ih"),
        "input @ W_ih instead of input @ W_ih.T: wrong values when D == H, a crash otherwise",
    ),
    "a06_bidir_backward_not_reversed": (
        "bidirectional_rnn_forward",
        _edit(BIDIRECTIONAL_06, "out_b = torch.flip(flipped, dims=(1,))", "out_b = flipped"),
        "the backward direction's outputs are not flipped back to forward time order",
    ),
    "a06_bidir_hn_swapped": (
        "bidirectional_rnn_forward",
        _edit(BIDIRECTIONAL_06, "torch.stack((last_f, last_b))", "torch.stack((last_b, last_f))"),
        "h_n holds the backward direction first and the forward direction second",
    ),
    "a06_bidir_reverse_from_h0_0": (
        "bidirectional_rnn_forward",
        _edit(BIDIRECTIONAL_06, "backward_weights, h0[1])", "backward_weights, h0[0])"),
        "the backward direction starts from h0[0] instead of h0[1]",
    ),
    "a06_stacked_all_original_input": (
        "stacked_rnn_forward",
        _edit(STACKED_06, "torch.matmul(sequence, w_ih", "torch.matmul(input, w_ih"),
        "every layer reads the original input, not the outputs of the layer below "
        "(wrong values when D == H, a crash otherwise)",
    ),
    "a06_stacked_h0_first_layer": (
        "stacked_rnn_forward",
        _edit(STACKED_06, "state = h0[level]", "state = h0[0]"),
        "every layer starts from h0[0] instead of its own h0[l]",
    ),
    "a06_classifier_first_step": (
        "RNNClassifier",
        _edit(
            CLASSIFIER_06,
            "_, h_n = self.rnn(x)\n        return self.fc(h_n[-1])",
            "output, _ = self.rnn(x)\n        return self.fc(output[:, 0])",
        ),
        "classifies from output[:, 0], the first time step, instead of the last",
    ),
}


# ---------------------------------------------------------------------------------------------
# 07_lstm_gru
# ---------------------------------------------------------------------------------------------

LSTM_CELL_07 = '''
def lstm_cell(x, h, c, W_ih, W_hh, b_ih, b_hh):
    """One LSTM step; the 4H rows of the weights are the gates i, f, g, o (PyTorch's order)."""
    if W_hh.dim() != 2 or W_hh.shape[0] != 4 * W_hh.shape[1]:
        raise ValueError(f"W_hh must have shape (4*H, H), got {tuple(W_hh.shape)}")
    hidden = W_hh.shape[1]
    if W_ih.dim() != 2 or W_ih.shape[0] != 4 * hidden:
        raise ValueError(f"W_ih must have shape (4*H, D) with H = {hidden}, not {list(W_ih.shape)}")
    features = W_ih.shape[1]
    for name, bias in (("b_ih", b_ih), ("b_hh", b_hh)):
        if bias is not None and tuple(bias.shape) != (4 * hidden,):
            raise ValueError(f"{name} must have shape ({4 * hidden},), got {tuple(bias.shape)}")
    if x.dim() != 2 or x.shape[1] != features:
        raise ValueError(f"x must have shape (B, D) with D = {features}, got {tuple(x.shape)}")
    batch = x.shape[0]
    if tuple(h.shape) != (batch, hidden):
        raise ValueError(f"h must have shape (B, H) = {(batch, hidden)}, got {tuple(h.shape)}")
    if tuple(c.shape) != (batch, hidden):
        raise ValueError(f"c must have shape (B, H) = {(batch, hidden)}, got {tuple(c.shape)}")
    gates = torch.einsum("bd,gd->bg", x, W_ih) + torch.einsum("bk,gk->bg", h, W_hh)
    for bias in (b_ih, b_hh):
        if bias is not None:
            gates = gates + bias
    i, f, g, o = gates.reshape(batch, 4, hidden).unbind(1)
    c_new = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
    h_new = torch.sigmoid(o) * torch.tanh(c_new)
    return h_new, c_new
'''

GRU_CELL_07 = '''
from torch.nn import functional as F


def gru_cell(x, h, W_ih, W_hh, b_ih, b_hh):
    """One GRU step; the 3H rows of the weights are r, z, n (PyTorch's order)."""
    if W_hh.dim() != 2 or W_hh.shape[0] != 3 * W_hh.shape[1]:
        raise ValueError(f"W_hh must have shape (3*H, H), got {tuple(W_hh.shape)}")
    hidden = W_hh.shape[1]
    if W_ih.dim() != 2 or W_ih.shape[0] != 3 * hidden:
        raise ValueError(f"W_ih must have shape (3*H, D) with H = {hidden}, not {list(W_ih.shape)}")
    for name, bias in (("b_ih", b_ih), ("b_hh", b_hh)):
        if bias is not None and tuple(bias.shape) != (3 * hidden,):
            raise ValueError(f"{name} must have shape ({3 * hidden},), got {tuple(bias.shape)}")
    if x.dim() != 2 or x.shape[1] != W_ih.shape[1]:
        raise ValueError(f"x must have shape (B, D) with D = {W_ih.shape[1]}, got {tuple(x.shape)}")
    if tuple(h.shape) != (x.shape[0], hidden):
        raise ValueError(f"h must have shape (B, H) = {(x.shape[0], hidden)}, got {tuple(h.shape)}")
    # split the weights per gate rather than the gate pre-activations
    W_ir, W_iz, W_in = torch.split(W_ih, hidden, dim=0)
    W_hr, W_hz, W_hn = torch.split(W_hh, hidden, dim=0)
    zeros = W_hh.new_zeros(3 * hidden)
    b_ir, b_iz, b_in = torch.split(zeros if b_ih is None else b_ih, hidden)
    b_hr, b_hz, b_hn = torch.split(zeros if b_hh is None else b_hh, hidden)
    r = torch.sigmoid(F.linear(x, W_ir, b_ir) + F.linear(h, W_hr, b_hr))
    z = torch.sigmoid(F.linear(x, W_iz, b_iz) + F.linear(h, W_hz, b_hz))
    n = torch.tanh(F.linear(x, W_in, b_in) + r * F.linear(h, W_hn, b_hn))
    return n + z * (h - n)  # (1 - z) * n + z * h
'''

LSTM_FORWARD_07 = '''
def lstm_forward(input, W_ih, W_hh, b_ih, b_hh, h0, c0):
    """LSTM over a batch_first sequence, equal to nn.LSTM(D, H, batch_first=True)."""
    if input.dim() != 3 or input.shape[1] == 0:
        raise ValueError(f"input must have shape (B, T, D) with T >= 1, got {tuple(input.shape)}")
    batch, steps, features = input.shape
    if W_hh.dim() != 2 or W_hh.shape[0] != 4 * W_hh.shape[1]:
        raise ValueError(f"W_hh must have shape (4*H, H), got {tuple(W_hh.shape)}")
    hidden = W_hh.shape[1]
    if W_ih.dim() != 2 or W_ih.shape[0] != 4 * hidden:
        raise ValueError(f"W_ih must have shape (4*H, D) with H = {hidden}, not {list(W_ih.shape)}")
    if W_ih.shape[1] != features:
        raise ValueError(f"input has {features} features, the weights expect {W_ih.shape[1]}")
    for name, bias in (("b_ih", b_ih), ("b_hh", b_hh)):
        if bias is not None and tuple(bias.shape) != (4 * hidden,):
            raise ValueError(f"{name} must have shape ({4 * hidden},), got {tuple(bias.shape)}")
    if h0 is None:
        h0 = input.new_zeros(batch, hidden)
    if tuple(h0.shape) != (batch, hidden):
        raise ValueError(f"h0 must have shape (B, H) = {(batch, hidden)}, got {tuple(h0.shape)}")
    if c0 is None:
        c0 = input.new_zeros(batch, hidden)
    if tuple(c0.shape) != (batch, hidden):
        raise ValueError(f"c0 must have shape (B, H) = {(batch, hidden)}, got {tuple(c0.shape)}")
    drives = torch.matmul(input, W_ih.t())
    for bias in (b_ih, b_hh):
        if bias is not None:
            drives = drives + bias
    h, c = h0, c0
    outputs = []
    for t in range(steps):
        gates = drives[:, t] + torch.mm(h, W_hh.t())
        i, f, g, o = torch.chunk(gates, 4, dim=1)
        c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
        h = torch.sigmoid(o) * torch.tanh(c)
        outputs.append(h)
    return torch.stack(outputs, dim=1), (h.unsqueeze(0), c.unsqueeze(0))
'''

GRU_FORWARD_07 = '''
from torch.nn import functional as F


def gru_forward(input, W_ih, W_hh, b_ih, b_hh, h0):
    """GRU over a batch_first sequence, equal to nn.GRU(D, H, batch_first=True)."""
    if input.dim() != 3 or input.shape[1] == 0:
        raise ValueError(f"input must have shape (B, T, D) with T >= 1, got {tuple(input.shape)}")
    batch, _, features = input.shape
    if W_hh.dim() != 2 or W_hh.shape[0] != 3 * W_hh.shape[1]:
        raise ValueError(f"W_hh must have shape (3*H, H), got {tuple(W_hh.shape)}")
    hidden = W_hh.shape[1]
    if W_ih.dim() != 2 or W_ih.shape[0] != 3 * hidden:
        raise ValueError(f"W_ih must have shape (3*H, D) with H = {hidden}, not {list(W_ih.shape)}")
    if W_ih.shape[1] != features:
        raise ValueError(f"input has {features} features, the weights expect {W_ih.shape[1]}")
    for name, bias in (("b_ih", b_ih), ("b_hh", b_hh)):
        if bias is not None and tuple(bias.shape) != (3 * hidden,):
            raise ValueError(f"{name} must have shape ({3 * hidden},), got {tuple(bias.shape)}")
    if h0 is None:
        h0 = input.new_zeros(batch, hidden)
    if tuple(h0.shape) != (batch, hidden):
        raise ValueError(f"h0 must have shape (B, H) = {(batch, hidden)}, got {tuple(h0.shape)}")
    h = h0
    outputs = []
    for x_t in input.unbind(dim=1):
        from_input = F.linear(x_t, W_ih, b_ih)
        from_state = F.linear(h, W_hh, b_hh)
        i_r, i_z, i_n = from_input.chunk(3, dim=1)
        s_r, s_z, s_n = from_state.chunk(3, dim=1)
        r = torch.sigmoid(i_r + s_r)
        z = torch.sigmoid(i_z + s_z)
        n = torch.tanh(i_n + r * s_n)
        h = (1 - z) * n + z * h
        outputs.append(h)
    return torch.stack(outputs, dim=1), h.unsqueeze(0)
'''

BUGGY_07 = {
    "a07_lstm_gates_ifog": (
        "lstm_cell",
        _edit(LSTM_CELL_07, "i, f, g, o = gates", "i, f, o, g = gates"),
        "reads the gates in the order i, f, o, g instead of PyTorch's i, f, g, o",
    ),
    "a07_lstm_tanh_output_gate": (
        "lstm_cell",
        _edit(LSTM_CELL_07, "h_new = torch.sigmoid(o)", "h_new = torch.tanh(o)"),
        "tanh instead of sigmoid on the output gate",
    ),
    "a07_lstm_no_forget_gate": (
        "lstm_cell",
        _edit(LSTM_CELL_07, "c_new = torch.sigmoid(f) * c + ", "c_new = c + "),
        "c_new = c + i * g: the forget gate is never applied",
    ),
    "a07_gru_reset_before_product": (
        "gru_cell",
        _edit(GRU_CELL_07, "r * F.linear(h, W_hn, b_hn)", "F.linear(r * h, W_hn, b_hn)"),
        "textbook GRU: r multiplies h before W_hn, not the product W_hn h + b_hn",
    ),
    "a07_gru_z_swapped": (
        "gru_cell",
        _edit(GRU_CELL_07, "return n + z * (h - n)", "return h + z * (n - h)"),
        "z and 1 - z swapped: z * n + (1 - z) * h",
    ),
    "a07_gru_bhn_outside_r": (
        "gru_cell",
        _edit(GRU_CELL_07, "r * F.linear(h, W_hn, b_hn)", "r * F.linear(h, W_hn) + b_hn"),
        "b_hn is added outside the reset gate: r * (W_hn h) + b_hn",
    ),
    "a07_lstm_forward_hn_first_step": (
        "lstm_forward",
        _edit(
            LSTM_FORWARD_07,
            "(h.unsqueeze(0), c.unsqueeze(0))",
            "(outputs[0].unsqueeze(0), c.unsqueeze(0))",
        ),
        "h_n is the hidden state after the first time step instead of the last",
    ),
    "a07_lstm_forward_cell_not_carried": (
        "lstm_forward",
        _edit(LSTM_FORWARD_07, "c = torch.sigmoid(f) * c + ", "c = torch.sigmoid(f) * c0 + "),
        "every step forgets from c0 instead of the previous cell state",
    ),
    "a07_gru_forward_reversed": (
        "gru_forward",
        _edit(GRU_FORWARD_07, "torch.stack(outputs, dim=1)", "torch.stack(outputs[::-1], dim=1)"),
        "output is reversed in time (h_n is right)",
    ),
    "a07_gru_forward_ignores_h0": (
        "gru_forward",
        _edit(GRU_FORWARD_07, "    h = h0\n", "    h = torch.zeros_like(h0)\n"),
        "starts from zeros instead of h0",
    ),
}


OUTSIDER = {
    "06_torch_rnn": {
        "alternative": {
            "rnn_forward": RNN_06,
            "bidirectional_rnn_forward": BIDIRECTIONAL_06,
            "stacked_rnn_forward": STACKED_06,
            "RNNClassifier": CLASSIFIER_06,
        },
        "buggy": BUGGY_06,
    },
    "07_lstm_gru": {
        "alternative": {
            "lstm_cell": LSTM_CELL_07,
            "gru_cell": GRU_CELL_07,
            "lstm_forward": LSTM_FORWARD_07,
            "gru_forward": GRU_FORWARD_07,
        },
        "buggy": BUGGY_07,
    },
}
