"""Likely mistakes in 05_mytorch, each an edit of the reference solution (see
autograder/mistakes.py). Reference generation records what each one produces; the grader and
the student's visible checks name a mistake when a wrong value matches it."""

from autograder.mistakes import Mistake

MISTAKES = [
    Mistake(
        id="cat_overwrites_grad",
        function="cat",
        what="cat overwrites the inputs' gradients instead of adding to them",
        advice="A Tensor may feed several operations (or appear twice in one cat): add each "
        "piece of the gradient with t.grad += piece.",
        replace=(("t.grad += piece", "t.grad = piece.copy()"),),
        affects=("RNN",),
    ),
    Mistake(
        id="cat_no_prev",
        function="cat",
        what="cat does not record its inputs in _prev",
        advice="Create the output with Tensor(data, _prev=tuple(tensors), _op='cat'): without "
        "_prev the backward pass never reaches what computed the inputs.",
        replace=(("_prev=tuple(tensors), ", ""),),
        affects=("RNN",),
    ),
    Mistake(
        id="dropout_no_rescale",
        function="dropout",
        what="kept values not scaled by 1/(1-p)",
        advice="Inverted dropout divides the kept values (and their gradients) by the keep "
        "probability 1 - p, so that the expected output equals the input.",
        replace=(
            (
                "mask = (rng.random(x.data.shape) < keep) / keep",
                "mask = (rng.random(x.data.shape) < keep) * 1.0",
            ),
        ),
    ),
    Mistake(
        id="dropout_fresh_mask_in_backward",
        function="dropout",
        what="a new random mask drawn in the backward pass",
        advice="The gradient must pass through the same mask as the forward pass: draw it once "
        "and use it in both.",
        replace=(
            (
                "x.grad += out.grad * mask",
                "x.grad += out.grad * (rng.random(x.data.shape) < 1 - p) / (1 - p)",
            ),
        ),
    ),
    Mistake(
        id="dropout_active_in_eval",
        function="dropout",
        what="dropout still applied when training is False",
        advice="When training is False (evaluation) dropout is the identity: return x unchanged.",
        replace=(("if not training or p == 0:", "if p == 0:"),),
    ),
    Mistake(
        id="dropout_p_as_keep_probability",
        function="dropout",
        what="p used as the probability of keeping an entry",
        advice="p is the probability of dropping an entry: keep each one with probability 1 - p.",
        replace=(("keep = 1.0 - p", "keep = p"),),
    ),
    Mistake(
        id="mse_cuts_graph",
        function="mse_loss",
        what="the loss built as a new Tensor from .data (the graph is cut)",
        advice="A Tensor built from .data has no inputs and no backward: connect the loss to pred "
        "(a _prev and a _backward closure, or Tensor operations on pred).",
        code="""def mse_loss(pred, target):
    pred = pred.data if isinstance(pred, Tensor) else pred
    target = target.data if isinstance(target, Tensor) else target
    return Tensor(np.mean((pred - target) ** 2))
""",
    ),
    Mistake(
        id="mse_sum_not_mean",
        function="mse_loss",
        what="squared errors summed instead of averaged",
        advice="The mean squared error divides the sum of squared errors by the number of "
        "entries, and so does its gradient.",
        replace=(
            ("np.mean(diff**2)", "np.sum(diff**2)"),
            ("2.0 * diff / diff.size", "2.0 * diff"),
        ),
    ),
    Mistake(
        id="mse_no_shape_check",
        function="mse_loss",
        what="pred and target of different shapes broadcast silently",
        advice="A (T, 1) prediction minus a (T,) target broadcasts to (T, T): compare the "
        "shapes first and raise ValueError when they differ.",
        code="""def mse_loss(pred, target):
    target_data = target.data if isinstance(target, Tensor) else np.asarray(target, float)
    diff = pred.data - target_data
    out = Tensor(np.mean(diff**2), _prev=(pred,), _op="mse_loss")

    def _backward():
        pred.grad += out.grad * 2.0 * diff / diff.size

    out._backward = _backward
    return out
""",
    ),
    Mistake(
        id="rnn_state_reset_each_step",
        function="RNN",
        what="the hidden state reset to zeros at every time step",
        advice="Create the zero states once, before the loop over time, and carry each layer's "
        "state from one step to the next.",
        replace=(
            (
                "        for t in range(x.data.shape[0]):\n",
                "        for t in range(x.data.shape[0]):\n"
                "            hidden = [Tensor(np.zeros((1, self.hidden_size)))"
                " for _ in range(self.num_layers)]\n",
            ),
        ),
    ),
    Mistake(
        id="rnn_state_before_input",
        function="RNN",
        what="state and input concatenated in the wrong order",
        advice="Each layer applies its Linear to cat([input, h], 1): the input comes first, "
        "then the previous state.",
        replace=(("cat([layer_input, hidden[i]], dim=1)", "cat([hidden[i], layer_input], dim=1)"),),
    ),
    Mistake(
        id="rnn_always_tanh",
        function="RNN",
        what="nonlinearity ignored: tanh always",
        advice='Apply .relu() when nonlinearity == "relu" and .tanh() only for "tanh".',
        replace=(
            (
                'hidden[i] = z.tanh() if self.nonlinearity == "tanh" else z.relu()',
                "hidden[i] = z.tanh()",
            ),
        ),
    ),
    Mistake(
        id="adam_no_bias_correction",
        function="Adam",
        what="no bias correction of m and v",
        advice="Divide m by 1 - beta1**t and v by 1 - beta2**t before the update: both start at "
        "zero and are too small in the first steps.",
        replace=(
            ("m_hat = m / (1 - self.beta1**self.t)", "m_hat = m"),
            ("v_hat = v / (1 - self.beta2**self.t)", "v_hat = v"),
        ),
    ),
    Mistake(
        id="adam_eps_inside_sqrt",
        function="Adam",
        what="eps added inside the square root",
        advice="The update divides by sqrt(v_hat) + eps, with eps outside the square root.",
        replace=(("np.sqrt(v_hat) + self.eps", "np.sqrt(v_hat + self.eps)"),),
    ),
    Mistake(
        id="adam_v_not_averaged",
        function="Adam",
        what="v replaced by the last squared gradient instead of a running average",
        advice="v is a running average too: v = beta2 * v + (1 - beta2) * grad**2.",
        replace=(
            (
                "v[...] = self.beta2 * v + (1 - self.beta2) * p.grad**2",
                "v[...] = (1 - self.beta2) * p.grad**2",
            ),
        ),
    ),
    Mistake(
        id="adam_params_iterator_consumed",
        function="Adam",
        what="params kept as the iterator it was given",
        advice="params may be a generator that can be read only once: store list(params).",
        replace=(("self.params = list(params)", "self.params = params"),),
    ),
]
