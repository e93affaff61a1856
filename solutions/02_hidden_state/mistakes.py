"""Likely mistakes in 02_hidden_state, each an edit of the reference solution (see
autograder/mistakes.py). Reference generation records what each one produces; the grader and
the student's visible checks name a mistake when a wrong value matches it."""

from autograder.mistakes import Mistake

MISTAKES = [
    Mistake(
        id="rnn_step_transposed_w_hh",
        function="rnn_step",
        what="W_hh transposed (H @ W_hh.T)",
        advice="The recurrent product is H @ W_hh, (batch, hidden) times (hidden, hidden); "
        "W_hh is square, so H @ W_hh.T has the right shape but the wrong value.",
        replace=(("H @ W_hh +", "H @ W_hh.T +"),),
    ),
    Mistake(
        id="rnn_step_always_tanh",
        function="rnn_step",
        what="activation ignored: tanh always",
        advice='Apply np.maximum(z, 0) when activation == "relu" and np.tanh only for "tanh".',
        replace=(
            (
                'if activation == "tanh":\n        return np.tanh(pre_activation)\n'
                "    return np.maximum(pre_activation, 0.0)",
                "return np.tanh(pre_activation)",
            ),
        ),
    ),
    Mistake(
        id="rnn_step_no_activation",
        function="rnn_step",
        what="no tanh: the pre-activation returned as it is",
        advice="The new state is phi(X @ W_xh + H @ W_hh + b_h): apply the activation last.",
        replace=(
            (
                '    if activation == "tanh":\n        return np.tanh(pre_activation)',
                '    if activation == "tanh":\n        return pre_activation',
            ),
        ),
    ),
    Mistake(
        id="rnn_step_bias_row_only",
        function="rnn_step",
        what="only the first entry of b_h added",
        advice="Add the whole bias vector to every row: reshape b_h to (1, H) so it broadcasts "
        "over the batch.",
        replace=(("H @ W_hh + np.reshape(b_h, (1, -1))", "H @ W_hh + b_h[0]"),),
    ),
    Mistake(
        id="rnn_step_no_validation",
        function="rnn_step",
        what="no input validation",
        advice="Check the shapes of X, H, W_xh, W_hh, b_h and the activation before computing, "
        "and raise ValueError naming the first wrong argument.",
        replace=(
            (
                "    check_step_inputs(X, H, W_xh, W_hh, b_h, activation)\n    pre_activation",
                "    pre_activation",
            ),
        ),
    ),
    Mistake(
        id="rnn_step_messages_without_names",
        function="rnn_step",
        what="error message does not name the argument",
        advice="Start the message with the argument's name, e.g. "
        '"W_hh must have shape (4, 4), got (4, 3)".',
        replace=(('raise ValueError(f"W_hh must', 'raise ValueError(f"the recurrent weights must'),),
        affects=("rnn_step_concat",),
    ),
    Mistake(
        id="rnn_step_no_h_check",
        function="rnn_step",
        what="H not validated (a one-row H broadcasts silently)",
        advice="H must be 2-D with one row per row of X; check it and raise ValueError naming H.",
        replace=(
            (
                "    if np.ndim(H) != 2 or np.shape(H)[0] != batch:\n"
                '        raise ValueError(f"H must have shape ({batch}, hidden), got {np.shape(H)}")\n',
                "",
            ),
        ),
        affects=("rnn_step_concat",),
    ),
    Mistake(
        id="concat_swapped_order",
        function="rnn_step_concat",
        what="[H, X] concatenated in the wrong order",
        advice="Concatenate [X, H] along the features to match the stack [W_xh; W_hh]: the order "
        "of the blocks must agree.",
        replace=(("np.concatenate([X, H], axis=1)", "np.concatenate([H, X], axis=1)"),),
    ),
    Mistake(
        id="concat_always_relu",
        function="rnn_step_concat",
        what="activation ignored: ReLU always",
        advice='Use np.tanh for activation="tanh" and the ReLU only for "relu".',
        replace=(('np.tanh(pre_activation) if activation == "tanh" else ', ""),),
    ),
    Mistake(
        id="softmax_unstable",
        function="softmax",
        what="no shift before exp (overflows)",
        advice="Subtract the maximum along axis (keepdims=True) before np.exp, so no exponent is "
        "positive.",
        replace=(("O - np.max(O, axis=axis, keepdims=True)", "O"),),
        affects=("rnn_output",),
    ),
    Mistake(
        id="softmax_global_max",
        function="softmax",
        what="one global maximum subtracted instead of one per row",
        advice="Take the maximum along axis with keepdims=True: a global maximum underflows rows "
        "whose values are far below it.",
        replace=(("np.max(O, axis=axis, keepdims=True)", "np.max(O)"),),
        affects=("rnn_output",),
    ),
    Mistake(
        id="softmax_shift_by_min",
        function="softmax",
        what="minimum subtracted instead of the maximum",
        advice="Only the maximum is a safe shift: after subtracting it every exponent is <= 0.",
        replace=(("np.max(O, axis=axis, keepdims=True)", "np.min(O, axis=axis, keepdims=True)"),),
        affects=("rnn_output",),
    ),
    Mistake(
        id="softmax_shift_by_mean",
        function="softmax",
        what="mean subtracted instead of the maximum",
        advice="Only the maximum is a safe shift: after subtracting it every exponent is <= 0.",
        replace=(("np.max(O, axis=axis, keepdims=True)", "np.mean(O, axis=axis, keepdims=True)"),),
        affects=("rnn_output",),
    ),
    Mistake(
        id="softmax_ignores_axis",
        function="softmax",
        what="axis ignored: always the last axis",
        advice="Pass axis to both np.max and np.sum (with keepdims=True).",
        replace=(("axis=axis", "axis=-1"),),
    ),
    Mistake(
        id="output_returns_logits",
        function="rnn_output",
        what="logits returned without softmax",
        advice="rnn_output returns probabilities: apply your softmax to H @ W_hq + b_q.",
        replace=(
            (
                "return softmax(H @ W_hq + np.reshape(b_q, (1, -1)), axis=-1)",
                "return H @ W_hq + np.reshape(b_q, (1, -1))",
            ),
        ),
    ),
    Mistake(
        id="output_softmax_over_batch",
        function="rnn_output",
        what="softmax over the batch (axis 0)",
        advice="Each row (one example) is a distribution over the outputs: normalise along the "
        "last axis.",
        replace=(("(1, -1)), axis=-1)", "(1, -1)), axis=0)"),),
    ),
    Mistake(
        id="output_no_bias",
        function="rnn_output",
        what="output bias b_q left out",
        advice="The logits are H @ W_hq + b_q.",
        replace=(("H @ W_hq + np.reshape(b_q, (1, -1))", "H @ W_hq"),),
    ),
    Mistake(
        id="output_naive_softmax",
        function="rnn_output",
        what="a naive softmax inside rnn_output (overflows)",
        advice="Large logits overflow np.exp: call your stable softmax instead of a new one.",
        replace=(
            (
                "return softmax(H @ W_hq + np.reshape(b_q, (1, -1)), axis=-1)",
                "e = np.exp(H @ W_hq + np.reshape(b_q, (1, -1)))\n"
                "    return e / e.sum(axis=1, keepdims=True)",
            ),
        ),
    ),
]
