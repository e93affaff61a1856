"""Likely mistakes in 01_sequence_models, each an edit of the reference solution (see
autograder/mistakes.py). Reference generation records what each one produces; the grader and
the student's visible checks name a mistake when a wrong value matches it."""

from autograder.mistakes import Mistake

# A plausible multistep_predict that appends predict_fn's output as it comes: with a (1,) or
# (1, 1) output the result has shape (steps, 1) or (steps, 1, 1) instead of (steps,).
MULTISTEP_NOT_FLATTENED = '''
def multistep_predict(predict_fn, history, tau, steps):
    """Predict `steps` values after `history`, each from the last `tau` values (true or
    predicted); returns an array of shape (steps,)."""
    if tau < 1:
        raise ValueError(f"tau must be at least 1, got {tau}")
    history = np.asarray(history, dtype=float)
    if history.ndim != 1 or len(history) < tau:
        raise ValueError(
            f"history must be 1-D with at least tau = {tau} values, got shape {history.shape}"
        )
    if steps < 0:
        raise ValueError(f"steps must be at least 0, got {steps}")
    window = history[-tau:].copy()
    predictions = []
    for _ in range(steps):
        output = predict_fn(window.reshape(1, tau))
        if np.size(output) != 1:
            raise ValueError(f"predict_fn must return one value, got {np.shape(output)}")
        predictions.append(output)
        window = np.append(window[1:], output)
    return np.array(predictions, dtype=float)
'''.strip()

MISTAKES = [
    Mistake(
        id="ar_label_in_window",
        function="make_autoregressive_dataset",
        what="window shifted by one: the label is inside the features",
        advice="Row t of the features is x[t : t + tau]; its label x[t + tau] is the value "
        "right after the window and must not be one of the features.",
        replace=(("x[t : t + tau] for t", "x[t + 1 : t + tau + 1] for t"),),
    ),
    Mistake(
        id="ar_one_row_too_many",
        function="make_autoregressive_dataset",
        what="one window too many (the last window has no label)",
        advice="A series of length n gives n - tau examples, for t = 0, ..., n - tau - 1: "
        "the last window x[n - tau :] has no value after it.",
        replace=(("range(n - tau)", "range(n - tau + 1)"),),
    ),
    Mistake(
        id="ar_labels_off_by_one",
        function="make_autoregressive_dataset",
        what="labels start one step too early (x[tau - 1:])",
        advice="The labels are x[tau:]: the first label is the value right after the first "
        "window x[0 : tau].",
        replace=(("labels = x[tau:].copy()", "labels = x[tau - 1 :].copy()"),),
    ),
    Mistake(
        id="ar_tau_equal_len_accepted",
        function="make_autoregressive_dataset",
        what="tau == len(x) accepted",
        advice="With tau == len(x) there is no example at all: require 1 <= tau < len(x) and "
        "raise ValueError naming tau otherwise.",
        replace=(("if not 1 <= tau < n:", "if not 1 <= tau <= n:"),),
    ),
    Mistake(
        id="multistep_window_from_start",
        function="multistep_predict",
        what="first window taken from the start of history",
        advice="Prediction continues the series where it ends: start from the last tau "
        "values, history[-tau:].",
        replace=(("window = history[-tau:].copy()", "window = history[:tau].copy()"),),
    ),
    Mistake(
        id="multistep_no_feedback",
        function="multistep_predict",
        what="predictions not fed back: the window never moves",
        advice="After each step, drop the oldest value of the window and append the "
        "prediction, so the next step predicts from it.",
        replace=(("        window = np.append(window[1:], prediction)\n", ""),),
    ),
    Mistake(
        id="multistep_not_flattened",
        function="multistep_predict",
        what="predictions of shape (1,) or (1, 1) not flattened",
        advice="predict_fn returns an array with one value: take that value (e.g. "
        "np.reshape(output, -1)[0]) so the result has shape (steps,).",
        code=MULTISTEP_NOT_FLATTENED,
    ),
    Mistake(
        id="multistep_returns_list",
        function="multistep_predict",
        what="a list returned instead of a numpy array",
        advice="Return the predictions as a numpy array of shape (steps,), e.g. "
        "np.array(predictions, dtype=float).",
        replace=(("return np.array(predictions, dtype=float)", "return predictions"),),
    ),
    Mistake(
        id="ngram_numpy_power",
        function="ngram_table_size",
        what="np.power: a 64-bit integer that overflows",
        advice="numpy integers wrap around beyond 2**63 - 1: compute int(vocab_size) ** int(n) "
        "with Python integers, which are exact at any size.",
        replace=(("return int(vocab_size) ** int(n)", "return np.power(vocab_size, n)"),),
    ),
    Mistake(
        id="ngram_float_result",
        function="ngram_table_size",
        what="a float instead of an exact int",
        advice="A float has 53 bits of precision and prints as 21952.0: return the Python int "
        "int(vocab_size) ** int(n).",
        replace=(("return int(vocab_size) ** int(n)", "return float(vocab_size) ** n"),),
    ),
]
