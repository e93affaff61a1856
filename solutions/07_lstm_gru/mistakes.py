"""Likely mistakes in 07_lstm_gru, each an edit of the reference solution (see
autograder/mistakes.py). Reference generation records what each one produces; the grader and
the student's visible checks name a mistake when a wrong value matches it.

The reference lstm_forward and gru_forward call lstm_cell and gru_cell (and their size checks),
so a mistake in a cell also changes the values of the forward function built on it."""

from autograder.mistakes import Mistake

MISTAKES = [
    Mistake(
        id="lstm_gates_ifog",
        function="lstm_cell",
        what="LSTM gates read in the order i, f, o, g",
        advice="PyTorch stacks the LSTM gates as input, forget, candidate, output (i, f, g, o): "
        "the third block of 4H rows is the tanh candidate g.",
        replace=(("i, f, g, o = gates.chunk(4, dim=1)", "i, f, o, g = gates.chunk(4, dim=1)"),),
        affects=("lstm_forward",),
    ),
    Mistake(
        id="lstm_shared_gate",
        function="lstm_cell",
        what="one shared block of weights for every gate",
        advice="Each gate has its own H rows of W_ih, W_hh and the biases: split the (B, 4H) "
        "product into four blocks instead of using the same block for all of them.",
        replace=(("i, f, g, o = gates.chunk(4, dim=1)", "i = f = g = o = gates[:, :H]"),),
        affects=("lstm_forward",),
    ),
    Mistake(
        id="lstm_forget_on_candidate",
        function="lstm_cell",
        what="forget gate applied to the new candidate instead of the old cell",
        advice="The forget gate decides how much of the old cell state to keep: "
        "c_new = f * c + i * g.",
        replace=(("c_new = f * c + i * g", "c_new = i * c + f * g"),),
        affects=("lstm_forward",),
    ),
    Mistake(
        id="lstm_no_tanh_on_cell",
        function="lstm_cell",
        what="h_new = o * c_new without the tanh",
        advice="The hidden state squashes the new cell state first: h_new = o * tanh(c_new).",
        replace=(("h_new = o * torch.tanh(c_new)", "h_new = o * c_new"),),
        affects=("lstm_forward",),
    ),
    Mistake(
        id="lstm_returns_old_cell",
        function="lstm_cell",
        what="the old cell state returned instead of the updated one",
        advice="Return the cell state after the update, c_new = f * c + i * g, together with "
        "h_new.",
        replace=(("return h_new, c_new", "return h_new, c"),),
        affects=("lstm_forward",),
    ),
    Mistake(
        id="lstm_sigmoid_candidate",
        function="lstm_cell",
        what="sigmoid instead of tanh on the candidate g",
        advice="The gates i, f, o are sigmoids (between 0 and 1), but the candidate g is a tanh, "
        "so that it can add negative values to the cell.",
        replace=(("g = torch.tanh(g)", "g = torch.sigmoid(g)"),),
        affects=("lstm_forward",),
    ),
    Mistake(
        id="gru_textbook_reset",
        function="gru_cell",
        what="textbook GRU: r applied to h before the product with W_hn",
        advice="PyTorch's GRU multiplies the reset gate with the whole product including its "
        "bias: n = tanh(a_n + r * (h @ W_hn.T + b_hn)).",
        replace=(
            (
                "n = torch.tanh(a_n + r * s_n)",
                "n = torch.tanh(a_n + (r * h) @ W_hh[2 * H :].T + b_hh[2 * H :])",
            ),
        ),
        affects=("gru_forward",),
    ),
    Mistake(
        id="gru_b_hn_outside_reset",
        function="gru_cell",
        what="b_hn added outside the reset gate",
        advice="In PyTorch's GRU the bias b_hn sits inside the reset gate's product: "
        "n = tanh(a_n + r * (h @ W_hn.T + b_hn)).",
        replace=(
            (
                "n = torch.tanh(a_n + r * s_n)",
                "n = torch.tanh(a_n + r * (h @ W_hh[2 * H :].T) + b_hh[2 * H :])",
            ),
        ),
        affects=("gru_forward",),
    ),
    Mistake(
        id="gru_z_swapped",
        function="gru_cell",
        what="z and 1 - z swapped in the update",
        advice="In PyTorch's GRU a large update gate keeps the old state: "
        "h_new = (1 - z) * n + z * h.",
        replace=(("return (1 - z) * n + z * h", "return z * n + (1 - z) * h"),),
        affects=("gru_forward",),
    ),
    Mistake(
        id="gru_one_bias",
        function="gru_cell",
        what="only one of the two biases used",
        advice="PyTorch's layers have two biases, b_ih added to the input's product and b_hh to "
        "the state's product; both are needed (b_hn inside the reset gate).",
        replace=(("(h @ W_hh.T + b_hh).chunk(3, dim=1)", "(h @ W_hh.T).chunk(3, dim=1)"),),
        affects=("gru_forward",),
    ),
    Mistake(
        id="lstm_forward_h_n_first_step",
        function="lstm_forward",
        what="h_n taken after the first time step instead of the last",
        advice="h_n is the hidden state after the last time step, which is also output[:, -1].",
        replace=(
            (
                "(h.unsqueeze(0), c.unsqueeze(0))",
                "(outputs[0].unsqueeze(0), c.unsqueeze(0))",
            ),
        ),
    ),
    Mistake(
        id="gru_forward_reversed",
        function="gru_forward",
        what="output not in time order",
        advice="output[:, t] is the hidden state after step t: append each new state at the end.",
        replace=(("outputs.append(h)", "outputs.insert(0, h)"),),
    ),
    Mistake(
        id="gru_forward_ignores_h0",
        function="gru_forward",
        what="the sequence started from zeros instead of h0",
        advice="The first step updates the given initial state h0, not a zero state.",
        replace=(("    h = h0\n", "    h = torch.zeros_like(h0)\n"),),
    ),
]
