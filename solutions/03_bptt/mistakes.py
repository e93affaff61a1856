"""Likely mistakes in 03_bptt, each an edit of the reference solution (see
autograder/mistakes.py). Reference generation records what each one produces; the grader and
the student's visible checks name a mistake when a wrong value matches it."""

from autograder.mistakes import Mistake

MISTAKES = [
    Mistake(
        id="forward_relu",
        function="rnn_forward",
        what="ReLU instead of tanh in the hidden state",
        advice="The hidden state of this network is tanh(X_t @ W_xh + H_{t-1} @ W_hh + b_h).",
        replace=(
            (
                "np.tanh(X[t] @ W_xh + states[t] @ W_hh + b_h)",
                "np.maximum(X[t] @ W_xh + states[t] @ W_hh + b_h, 0.0)",
            ),
        ),
        affects=("rnn_backward",),
    ),
    Mistake(
        id="forward_returns_states",
        function="rnn_forward",
        what="the hidden states returned instead of the outputs",
        advice="Return the outputs Y_t = H_t @ W_hq + b_q stacked over time, shape (T, B, Q); "
        "keep the hidden states in the cache.",
        replace=(("    return Y, cache", "    return states[1:], cache"),),
    ),
    Mistake(
        id="backward_overwrites",
        function="rnn_backward",
        what="gradients overwritten at each step instead of accumulated over time",
        advice="The weights are shared by all time steps: add each step's contribution (+=) "
        "to the gradient instead of replacing it.",
        replace=(("] += ", "] = "),),
    ),
    Mistake(
        id="backward_no_recursion",
        function="rnn_backward",
        what="gradient truncated to one step (nothing flows back through W_hh)",
        advice="The gradient of H_t also receives dA_{t+1} @ W_hh.T from the next step: add it "
        "before multiplying by the tanh derivative.",
        replace=(("dh = dY[t] @ W_hq.T + dh_next", "dh = dY[t] @ W_hq.T"),),
    ),
    Mistake(
        id="backward_w_hh_not_transposed",
        function="rnn_backward",
        what="W_hh instead of W_hh.T in the recursion",
        advice="With H_t = tanh(... + H_{t-1} @ W_hh ...), the gradient flows back as "
        "dA_t @ W_hh.T; W_hh is square, so the untransposed product has the right shape.",
        replace=(("dh_next = da @ W_hh.T", "dh_next = da @ W_hh"),),
    ),
    Mistake(
        id="backward_derivative_at_previous_state",
        function="rnn_backward",
        what="tanh derivative taken at H_{t-1} instead of H_t",
        advice="The derivative of H_t = tanh(A_t) is 1 - H_t**2, the square of the state that "
        "step t produced, not the one it received.",
        replace=(("da = dh * (1.0 - h**2)", "da = dh * (1.0 - h_prev**2)"),),
    ),
    Mistake(
        id="backward_no_tanh_derivative",
        function="rnn_backward",
        what="tanh derivative left out",
        advice="Multiply the gradient of H_t elementwise by 1 - H_t**2 before passing it to the "
        "weights and to the previous step.",
        replace=(("da = dh * (1.0 - h**2)", "da = dh"),),
    ),
    Mistake(
        id="backward_relu_derivative",
        function="rnn_backward",
        what="ReLU derivative used for a tanh network",
        advice="The hidden activation is tanh, whose derivative is 1 - H_t**2.",
        replace=(("da = dh * (1.0 - h**2)", "da = dh * (h > 0)"),),
    ),
    Mistake(
        id="backward_no_h0_gradient",
        function="rnn_backward",
        what="gradient of h0 missing (zeros)",
        advice="After the last backward step the gradient that would flow to H_0 is "
        "dA_1 @ W_hh.T: return it as grads['h0'].",
        replace=(('grads["h0"] = dh_next', 'grads["h0"] = np.zeros_like(states[0])'),),
    ),
    Mistake(
        id="backward_w_hh_with_current_state",
        function="rnn_backward",
        what="dW_hh computed with H_t instead of H_{t-1}",
        advice="W_hh multiplies the previous state in step t, so its gradient is H_{t-1}.T @ dA_t.",
        replace=(('grads["W_hh"] += h_prev.T @ da', 'grads["W_hh"] += h.T @ da'),),
    ),
    Mistake(
        id="backward_b_h_mean_over_batch",
        function="rnn_backward",
        what="b_h gradient averaged over the batch instead of summed",
        advice="The loss is a sum over the batch, and b_h is added to every row: sum dA_t over "
        "the batch axis.",
        replace=(('grads["b_h"] += da.sum(axis=0)', 'grads["b_h"] += da.mean(axis=0)'),),
    ),
    Mistake(
        id="clip_per_tensor",
        function="clip_gradients",
        what="each array clipped by its own norm instead of the global norm",
        advice="Compute one norm over all the arrays together and scale every array by the same "
        "factor min(1, theta / g).",
        code="""def clip_gradients(grads, theta):
    if not theta > 0:
        raise ValueError(f"theta must be positive, got {theta}")
    clipped = {}
    for name, g in grads.items():
        norm = np.sqrt(np.sum(np.square(g)))
        scale = theta / norm if norm > theta else 1.0
        clipped[name] = np.asarray(g, dtype=np.float64) * scale
    return clipped
""",
    ),
    Mistake(
        id="clip_in_place",
        function="clip_gradients",
        what="the input arrays modified in place",
        advice="Return new arrays (g * scale) in a new dict; an in-place *= changes the "
        "caller's gradients.",
        code="""def clip_gradients(grads, theta):
    if not theta > 0:
        raise ValueError(f"theta must be positive, got {theta}")
    norm = np.sqrt(sum(np.sum(np.square(g)) for g in grads.values()))
    scale = theta / norm if norm > theta else 1.0
    for g in grads.values():
        g *= scale
    return grads
""",
    ),
    Mistake(
        id="clip_always_scales",
        function="clip_gradients",
        what="always scaled by theta / g, even below the threshold",
        advice="The factor is min(1, theta / g): gradients whose norm is already at most theta "
        "stay as they are.",
        replace=(("scale = theta / norm if norm > theta else 1.0", "scale = theta / norm"),),
    ),
]
