"""Outsider submissions for 01_sequence_models, 03_bptt and 04_numpy_two_step.

Written from the exercise contract (EXERCISES.md) only, without looking at the reference
solutions. For each assignment:

- ``"alternative"``: a correct implementation of every graded name, in another style than the
  obvious one (stride tricks, preallocated buffers, einsum, forward-mode gradients, ...). It must
  get full marks.
- ``"buggy"``: ``student_id -> (function name, code of that one cell, what is wrong)``; each entry
  replaces one solution cell of the reference and should lose points on that function's tests.
  For ``03_bptt`` the cache passed from ``rnn_forward`` to ``rnn_backward`` is private to an
  implementation, so a buggy ``rnn_forward`` or ``rnn_backward`` comes with a fourth element: the
  code of the other function (correct, with the matching cache) to put in the other cell.

Every code string is the whole content of a solution cell: plain Python with ``np`` (numpy)
already imported by the notebook. Each cell is self-contained (its helpers sit in the cell).
The buggy cells are edits of the alternative's cells (``_edit`` checks that each edit applies),
so they are correct except for the one mistake they are named after.

The buggy ``rnn_forward`` cells change only ``Y``, not the hidden states in the cache, so
``rnn_backward`` (which the tests can only run on the student's own cache) keeps its points.
"""

from __future__ import annotations


def _edit(code: str, old: str, new: str) -> str:
    """``code`` with its one occurrence of ``old`` replaced by ``new``."""
    assert code.count(old) == 1, f"edit does not apply exactly once: {old!r}"
    return code.replace(old, new)


# ---------------------------------------------------------------------------------------------
# 01_sequence_models
# ---------------------------------------------------------------------------------------------

DATASET_01 = '''
def make_autoregressive_dataset(x, tau):
    """Sliding windows of length tau over x, each labelled with the value that follows it."""
    series = np.asarray(x, dtype=np.float64)
    if series.ndim != 1:
        raise ValueError(f"x should be a one-dimensional series, not shape {series.shape}")
    if isinstance(tau, (bool, np.bool_)) or not isinstance(tau, (int, np.integer)):
        raise ValueError(f"tau should be an integer window length, not {tau!r}")
    count = series.shape[0]
    if tau < 1 or tau >= count:
        raise ValueError(f"tau={tau} is outside 1 <= tau < len(x) = {count}")
    windows = np.lib.stride_tricks.sliding_window_view(series, window_shape=tau)
    features = np.array(windows[: count - tau])  # a writable copy, not a view
    labels = np.array(series[tau:])
    return features, labels
'''

MULTISTEP_01 = '''
def multistep_predict(predict_fn, history, tau, steps):
    """Feed the model its own predictions: steps values after the end of history."""
    if not callable(predict_fn):
        raise ValueError("predict_fn should be a function of a (1, tau) window")
    past = np.asarray(history, dtype=np.float64)
    if past.ndim != 1:
        raise ValueError(f"history should be one-dimensional, not shape {past.shape}")
    known = past.shape[0]
    if isinstance(tau, (bool, np.bool_)) or not isinstance(tau, (int, np.integer)):
        raise ValueError(f"tau should be an integer, not {tau!r}")
    if tau < 1 or tau > known:
        raise ValueError(f"tau={tau} is outside 1 <= tau <= len(history) = {known}")
    if isinstance(steps, (bool, np.bool_)) or not isinstance(steps, (int, np.integer)):
        raise ValueError(f"steps should be an integer, not {steps!r}")
    if steps < 0:
        raise ValueError(f"steps={steps} is negative")
    buffer = np.zeros(known + steps)
    buffer[:known] = past
    for position in range(known, known + steps):
        window = buffer[position - tau : position].reshape(1, tau).copy()
        guess = np.asarray(predict_fn(window), dtype=np.float64)
        if guess.size != 1:
            raise ValueError(f"predict_fn returned shape {guess.shape}, not one value")
        buffer[position] = guess.reshape(-1)[0]
    return buffer[known:].copy()
'''

NGRAM_01 = '''
def _positive_count(value, name):
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise ValueError(f"{name} should be a whole number, not {value!r}")
    if value < 1:
        raise ValueError(f"{name} should be at least 1, not {value}")
    return int(value)


def ngram_table_size(vocab_size, n):
    """Entries in a table of n-gram probabilities: one per sequence of n tokens."""
    base = _positive_count(vocab_size, "vocab_size")
    entries = 1
    for _ in range(_positive_count(n, "n")):
        entries *= base  # Python ints never overflow
    return entries
'''

BUGGY_01 = {
    "a01_window_includes_label": (
        "make_autoregressive_dataset",
        _edit(DATASET_01, "windows[: count - tau]", "windows[1:]"),
        "row t is x[t+1:t+tau+1] (off by one: the window ends on its own label)",
    ),
    "a01_labels_off_by_one": (
        "make_autoregressive_dataset",
        _edit(DATASET_01, "np.array(series[tau:])", "np.array(series[tau - 1 : -1])"),
        "labels are x[tau-1:-1], the last value of each window instead of the next one",
    ),
    "a01_tau_equal_len_allowed": (
        "make_autoregressive_dataset",
        _edit(DATASET_01, "tau >= count", "tau > count"),
        "tau == len(x) is accepted and gives empty arrays instead of a ValueError",
    ),
    "a01_error_does_not_name_tau": (
        "make_autoregressive_dataset",
        _edit(
            DATASET_01,
            'f"tau={tau} is outside 1 <= tau < len(x) = {count}"',
            '"the window length must be positive and shorter than the series"',
        ),
        "the ValueError for a bad tau does not name tau",
    ),
    "a01_predictions_not_fed_back": (
        "multistep_predict",
        _edit(
            MULTISTEP_01,
            "buffer[position - tau : position]",
            "buffer[known - tau : known]",
        ),
        "every step uses the last tau values of history: predictions are never fed back",
    ),
    "a01_predictions_column": (
        "multistep_predict",
        _edit(MULTISTEP_01, "return buffer[known:].copy()", "return buffer[known:].reshape(-1, 1)"),
        "returns shape (steps, 1) instead of (steps,)",
    ),
    "a01_first_window_from_start": (
        "multistep_predict",
        _edit(
            _edit(MULTISTEP_01, "buffer[position - tau : position]", "window_values"),
            "        window = window_values",
            "        window_values = np.concatenate([buffer[:tau], buffer[known:position]])"
            "[-tau:]\n        window = window_values",
        ),
        "the first window is the first tau values of history, not the last tau",
    ),
    "a01_ngram_float": (
        "ngram_table_size",
        _edit(NGRAM_01, "entries = 1\n", "entries = 1.0\n"),
        "returns a float (inexact for large tables) instead of an int",
    ),
    "a01_ngram_int64_overflow": (
        "ngram_table_size",
        _edit(NGRAM_01, "entries = 1\n", "entries = np.int64(1)\n"),
        "computes in np.int64: returns np.int64 and wraps around past 2**63",
    ),
    "a01_ngram_contexts_only": (
        "ngram_table_size",
        _edit(NGRAM_01, 'range(_positive_count(n, "n"))', 'range(_positive_count(n, "n") - 1)'),
        "counts only the contexts, vocab_size**(n-1)",
    ),
}


# ---------------------------------------------------------------------------------------------
# 03_bptt
# ---------------------------------------------------------------------------------------------

FORWARD_03 = '''
def rnn_forward(X, h0, params):
    """Time-major tanh RNN, linear read-out; hs[0] is h0, hs[t + 1] the state after X[t]."""
    X = np.asarray(X, dtype=np.float64)
    if X.ndim != 3:
        raise ValueError(f"X must be time-major (T, B, D), got shape {X.shape}")
    steps, batch, features = X.shape
    if not hasattr(params, "keys"):
        raise ValueError("params must be a dict of arrays")
    names = ("W_xh", "W_hh", "b_h", "W_hq", "b_q")
    absent = [name for name in names if name not in params]
    if absent:
        raise ValueError(f"params lacks the entries {absent}")
    p = {name: np.asarray(params[name], dtype=np.float64) for name in names}
    if p["W_hh"].ndim != 2 or p["W_hh"].shape[0] != p["W_hh"].shape[1]:
        raise ValueError(f"params['W_hh'] must be square (H, H), got {p['W_hh'].shape}")
    hidden = p["W_hh"].shape[0]
    if p["W_xh"].shape != (features, hidden):
        raise ValueError(f"params['W_xh'] must be {(features, hidden)}, got {p['W_xh'].shape}")
    if p["b_h"].shape not in [(hidden,), (1, hidden)]:
        raise ValueError(f"params['b_h'] must be ({hidden},), got {p['b_h'].shape}")
    if p["W_hq"].ndim != 2 or p["W_hq"].shape[0] != hidden:
        raise ValueError(f"params['W_hq'] must be ({hidden}, Q), got {p['W_hq'].shape}")
    outputs = p["W_hq"].shape[1]
    if p["b_q"].shape not in [(outputs,), (1, outputs)]:
        raise ValueError(f"params['b_q'] must be ({outputs},), got {p['b_q'].shape}")
    h0 = np.asarray(h0, dtype=np.float64)
    if h0.shape != (batch, hidden):
        raise ValueError(f"h0 must have shape {(batch, hidden)}, got {h0.shape}")
    hs = np.empty((steps + 1, batch, hidden))
    hs[0] = h0
    for t in range(steps):
        pre = np.einsum("bd,dh->bh", X[t], p["W_xh"]) + hs[t] @ p["W_hh"]
        hs[t + 1] = np.tanh(pre + p["b_h"].reshape(-1))
    Y = np.einsum("tbh,hq->tbq", hs[1:], p["W_hq"]) + p["b_q"].reshape(-1)
    shapes = {name: np.shape(params[name]) for name in names}
    return Y, {"X": X, "hs": hs, "p": p, "shapes": shapes}
'''

BACKWARD_03 = '''
def rnn_backward(dY, cache):
    """Gradients of sum(Y * dY) by back-propagation through time (uses rnn_forward's cache)."""
    X, hs, p, shapes = cache["X"], cache["hs"], cache["p"], cache["shapes"]
    steps, batch = X.shape[0], X.shape[1]
    hidden, outputs = p["W_hq"].shape
    dY = np.asarray(dY, dtype=np.float64)
    if dY.shape != (steps, batch, outputs):
        raise ValueError(f"dY must have shape {(steps, batch, outputs)}, got {dY.shape}")
    d = {name: np.zeros(p[name].shape) for name in p}
    d["W_hq"] = np.einsum("tbh,tbq->hq", hs[1:], dY)
    d["b_q"] = dY.sum(axis=(0, 1)).reshape(p["b_q"].shape)
    carry = np.zeros((batch, hidden))  # gradient reaching hs[t + 1] from later steps
    for t in range(steps - 1, -1, -1):
        through_state = carry + dY[t] @ p["W_hq"].T
        d_pre = through_state * (1.0 - hs[t + 1] ** 2)
        d["W_xh"] += X[t].T @ d_pre
        d["W_hh"] += hs[t].T @ d_pre
        d["b_h"] += d_pre.sum(axis=0).reshape(p["b_h"].shape)
        carry = d_pre @ p["W_hh"].T
    grads = {name: d[name].reshape(shapes[name]) for name in shapes}
    grads["h0"] = carry
    return grads
'''

CLIP_03 = '''
import math


def clip_gradients(grads, theta):
    """A new dict: all gradients scaled by min(1, theta / global L2 norm)."""
    if not hasattr(grads, "items"):
        raise ValueError("grads must be a dict of arrays")
    try:
        limit = float(theta)
    except (TypeError, ValueError):
        raise ValueError(f"theta must be a positive number, got {theta!r}") from None
    if not limit > 0:
        raise ValueError(f"theta must be a positive number, got {theta!r}")
    squares = 0.0
    for value in grads.values():
        flat = np.asarray(value, dtype=np.float64).ravel()
        squares += float(np.dot(flat, flat))
    norm = math.sqrt(squares)
    factor = limit / norm if norm > limit else 1.0
    clipped = {}
    for key, value in grads.items():
        clipped[key] = np.array(value, dtype=np.float64, copy=True) * factor
    return clipped
'''

BUGGY_03 = {
    "a03_forward_no_output_bias": (
        "rnn_forward",
        _edit(FORWARD_03, ' + p["b_q"].reshape(-1)', ""),
        "forgets the output bias b_q",
        BACKWARD_03,
    ),
    "a03_forward_output_from_previous_state": (
        "rnn_forward",
        _edit(FORWARD_03, 'np.einsum("tbh,hq->tbq", hs[1:]', 'np.einsum("tbh,hq->tbq", hs[:-1]'),
        "Y[t] is read out from the state before X[t] (h_{t-1}) instead of after it",
        BACKWARD_03,
    ),
    "a03_backward_truncated": (
        "rnn_backward",
        _edit(BACKWARD_03, "through_state = carry + dY[t]", "through_state = dY[t]"),
        "truncated backprop: the gradient does not flow back through the hidden state",
        FORWARD_03,
    ),
    "a03_backward_no_h0_grad": (
        "rnn_backward",
        _edit(BACKWARD_03, 'grads["h0"] = carry', 'grads["h0"] = np.zeros_like(carry)'),
        "forgets the gradient of the initial state (returns zeros for h0)",
        FORWARD_03,
    ),
    "a03_backward_tanh_derivative_of_output": (
        "rnn_backward",
        _edit(BACKWARD_03, "(1.0 - hs[t + 1] ** 2)", "(1.0 - np.tanh(hs[t + 1]) ** 2)"),
        "applies 1 - tanh(.)**2 to the state, which is already a tanh",
        FORWARD_03,
    ),
    "a03_backward_whh_with_current_state": (
        "rnn_backward",
        _edit(BACKWARD_03, 'd["W_hh"] += hs[t].T', 'd["W_hh"] += hs[t + 1].T'),
        "dW_hh uses h_t instead of h_{t-1}",
        FORWARD_03,
    ),
    "a03_backward_whh_not_transposed": (
        "rnn_backward",
        _edit(BACKWARD_03, 'carry = d_pre @ p["W_hh"].T', 'carry = d_pre @ p["W_hh"]'),
        "back-propagates to the previous state with W_hh instead of W_hh.T",
        FORWARD_03,
    ),
    "a03_clip_per_tensor": (
        "clip_gradients",
        _edit(
            _edit(
                CLIP_03,
                "        clipped[key] = np.array(",
                "        own = float(np.linalg.norm(np.ravel(value)))\n"
                "        factor = limit / own if own > limit else 1.0\n"
                "        clipped[key] = np.array(",
            ),
            "    factor = limit / norm if norm > limit else 1.0\n",
            "",
        ),
        "clips each gradient by its own norm instead of the global norm",
    ),
    "a03_clip_mutates_inputs": (
        "clip_gradients",
        _edit(
            CLIP_03,
            "        clipped[key] = np.array(value, dtype=np.float64, copy=True) * factor",
            "        value *= factor\n        clipped[key] = value",
        ),
        "scales the caller's arrays in place (right values, but the inputs are changed)",
    ),
    "a03_clip_always_rescales": (
        "clip_gradients",
        _edit(CLIP_03, "factor = limit / norm if norm > limit else 1.0", "factor = limit / norm"),
        "always scales to norm theta, also blowing up gradients smaller than theta",
    ),
}


# ---------------------------------------------------------------------------------------------
# 04_numpy_two_step
# ---------------------------------------------------------------------------------------------

# The same argument checks open both cells (each cell stands alone).
CHECK_04 = """
def {helper}(X, state, w_cell_state, b_cell, w_output, b_output):
    xs = np.asarray(X, dtype=np.float64)
    if xs.ndim != 1:
        raise ValueError(f"X must be a 1-D sequence of scalars, got shape {{xs.shape}}")
    h = np.asarray(state, dtype=np.float64)
    if h.ndim != 1:
        raise ValueError(f"state must be a vector (H,), got shape {{h.shape}}")
    size = h.shape[0]
    w = np.asarray(w_cell_state, dtype=np.float64)
    if w.shape != (size + 1, size):
        raise ValueError(f"w_cell_state must have shape {{(size + 1, size)}}, got {{w.shape}}")
    b = np.asarray(b_cell, dtype=np.float64)
    if b.shape not in [(size,), (1, size)]:
        raise ValueError(f"b_cell must have shape {{(size,)}}, got {{b.shape}}")
    v = np.asarray(w_output, dtype=np.float64)
    if v.shape not in [(size, 1), (size,)]:
        raise ValueError(f"w_output must have shape {{(size, 1)}}, got {{v.shape}}")
    c = np.asarray(b_output, dtype=np.float64)
    if c.size != 1 or c.ndim > 2:
        raise ValueError(f"b_output must be a single number, got shape {{c.shape}}")
    return xs, h, w, b.reshape(-1), v.reshape(-1), float(c.reshape(-1)[0])
"""

RNN_04 = (
    CHECK_04.format(helper="_two_step_inputs")
    + '''

def two_step_rnn(X, state, w_cell_state, b_cell, w_output, b_output):
    """Scalar-input tanh RNN; the last row of w_cell_state multiplies the input x."""
    xs, h, w, b, v, c = _two_step_inputs(X, state, w_cell_state, b_cell, w_output, b_output)
    size = h.shape[0]
    from_state, from_input = w[:size], w[size]
    states = np.zeros((xs.shape[0], size))
    for t in range(xs.shape[0]):
        h = np.tanh(h @ from_state + xs[t] * from_input + b)
        states[t] = h
    outputs = (states @ v + c).reshape(-1, 1)
    return states, outputs
'''
)

GRAD_04 = (
    CHECK_04.format(helper="_grad_inputs")
    + '''

def two_step_grad(X, state, w_cell_state, b_cell, w_output, b_output):
    """Gradients of sum(outputs), forward mode: carry d state / d parameters along in time."""
    xs, h, w, b, v, c = _grad_inputs(X, state, w_cell_state, b_cell, w_output, b_output)
    size = h.shape[0]
    from_state = w[:size]
    eye = np.eye(size)
    dh_dw = np.zeros((size, size + 1, size))  # dh_dw[i, p, q] = d h[i] / d w_cell_state[p, q]
    dh_db = np.zeros((size, size))  # dh_db[i, q] = d h[i] / d b_cell[q]
    g_w, g_b, g_v = np.zeros((size + 1, size)), np.zeros(size), np.zeros(size)
    for x in xs:
        z = np.append(h, x)
        # a[i] = sum_p z[p] w[p, i] + b[i], and z[:size] = h depends on the parameters too
        da_dw = np.einsum("p,iq->ipq", z, eye) + np.einsum("ki,kpq->ipq", from_state, dh_dw)
        da_db = eye + np.einsum("ki,kq->iq", from_state, dh_db)
        h = np.tanh(z @ w + b)
        slope = 1.0 - h**2
        dh_dw = slope[:, None, None] * da_dw
        dh_db = slope[:, None] * da_db
        g_w += np.einsum("i,ipq->pq", v, dh_dw)
        g_b += v @ dh_db
        g_v += h
    return {
        "w_cell_state": g_w,
        "b_cell": g_b.reshape(np.shape(b_cell)),
        "w_output": g_v.reshape(np.shape(w_output)),
        "b_output": np.full(np.shape(b_output), float(len(xs))),
    }
'''
)

# A plain reverse-mode version, the base of the buggy two_step_grad cells (a student writes
# backprop through time, not forward mode).
BPTT_GRAD_04 = (
    CHECK_04.format(helper="_grad_inputs")
    + """

def two_step_grad(X, state, w_cell_state, b_cell, w_output, b_output):
    xs, h, w, b, v, c = _grad_inputs(X, state, w_cell_state, b_cell, w_output, b_output)
    size = h.shape[0]
    inputs, states = [], [h]
    for x in xs:
        inputs.append(np.concatenate([states[-1], [x]]))
        states.append(np.tanh(inputs[-1] @ w + b))
    dw, db, dv = np.zeros_like(w), np.zeros(size), np.zeros(size)
    dh_next = np.zeros(size)
    for t in reversed(range(len(xs))):
        dv += states[t + 1]
        dh = v + dh_next
        da = dh * (1.0 - states[t + 1] ** 2)
        dw += np.outer(inputs[t], da)
        db += da
        dh_next = w[:size] @ da
    return {
        "w_cell_state": dw,
        "b_cell": db.reshape(np.shape(b_cell)),
        "w_output": dv.reshape(np.shape(w_output)),
        "b_output": np.full(np.shape(b_output), float(len(xs))),
    }
"""
)

BUGGY_04 = {
    "a04_concat_input_first": (
        "two_step_rnn",
        _edit(
            RNN_04,
            "from_state, from_input = w[:size], w[size]",
            "from_state, from_input = w[1:], w[0]",
        ),
        "concatenates [x, state] instead of [state, x] (input row taken from the top)",
    ),
    "a04_no_cell_bias": (
        "two_step_rnn",
        _edit(RNN_04, " + xs[t] * from_input + b)", " + xs[t] * from_input)"),
        "forgets b_cell in the state update",
    ),
    "a04_outputs_flat": (
        "two_step_rnn",
        _edit(RNN_04, "outputs = (states @ v + c).reshape(-1, 1)", "outputs = states @ v + c"),
        "returns outputs of shape (len(X),) instead of (len(X), 1)",
    ),
    "a04_state_not_carried": (
        "two_step_rnn",
        _edit(
            _edit(RNN_04, "h = np.tanh(h @ from_state", "new = np.tanh(h @ from_state"),
            "states[t] = h",
            "states[t] = new",
        ),
        "every step starts again from the initial state",
    ),
    "a04_output_before_update": (
        "two_step_rnn",
        _edit(
            _edit(
                RNN_04,
                "    states = np.zeros((xs.shape[0], size))\n",
                "    states = np.zeros((xs.shape[0], size))\n"
                "    previous = np.zeros((xs.shape[0], size))\n",
            ),
            "        h = np.tanh(h @ from_state",
            "        previous[t] = h\n        h = np.tanh(h @ from_state",
        ).replace("outputs = (states @ v + c)", "outputs = (previous @ v + c)"),
        "each output is read from the state before the update instead of the new state",
    ),
    "a04_grad_tanh_of_tanh": (
        "two_step_grad",
        _edit(BPTT_GRAD_04, "(1.0 - states[t + 1] ** 2)", "(1.0 - np.tanh(states[t + 1]) ** 2)"),
        "tanh derivative 1 - tanh(h)**2 applied to h, which is already the tanh",
    ),
    "a04_grad_no_flow_through_time": (
        "two_step_grad",
        _edit(BPTT_GRAD_04, "dh = v + dh_next", "dh = v"),
        "the gradient does not flow back through the state (each step on its own)",
    ),
    "a04_grad_b_output_one": (
        "two_step_grad",
        _edit(
            BPTT_GRAD_04,
            "np.full(np.shape(b_output), float(len(xs)))",
            "np.ones(np.shape(b_output))",
        ),
        "d sum(outputs) / d b_output is 1 instead of len(X)",
    ),
    "a04_grad_outer_with_new_state": (
        "two_step_grad",
        _edit(
            BPTT_GRAD_04,
            "dw += np.outer(inputs[t], da)",
            "dw += np.outer(np.concatenate([states[t + 1], inputs[t][-1:]]), da)",
        ),
        "dw_cell_state uses the new state instead of the previous one in the outer product",
    ),
    "a04_grad_w_output_last_step_only": (
        "two_step_grad",
        _edit(BPTT_GRAD_04, "dv += states[t + 1]", "dv = states[-1].copy()"),
        "dw_output is the last state only, not summed over time",
    ),
}


OUTSIDER = {
    "01_sequence_models": {
        "alternative": {
            "make_autoregressive_dataset": DATASET_01,
            "multistep_predict": MULTISTEP_01,
            "ngram_table_size": NGRAM_01,
        },
        "buggy": BUGGY_01,
    },
    "03_bptt": {
        "alternative": {
            "rnn_forward": FORWARD_03,
            "rnn_backward": BACKWARD_03,
            "clip_gradients": CLIP_03,
        },
        "buggy": BUGGY_03,
    },
    "04_numpy_two_step": {
        "alternative": {"two_step_rnn": RNN_04, "two_step_grad": GRAD_04},
        "buggy": BUGGY_04,
    },
}
