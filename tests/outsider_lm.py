"""Outsider submissions for 08_language_model and 05_mytorch.

Written from the exercise contract (EXERCISES.md) only, without looking at the reference
solutions. For each assignment:

- ``"alternative"``: a correct implementation of every graded name, in another style than the
  obvious one. It must get full marks.
- ``"buggy"``: ``student_id -> (function name, code of that one cell, what is wrong)``; each entry
  replaces one solution cell and should lose points on that function's tests (the student's
  other cells hold the alternative's code).

Every code string is the whole content of a solution cell. For ``08_language_model`` the notebook
has already imported ``numpy as np`` and ``torch``; for ``05_mytorch`` only ``numpy as np`` is
assumed, each cell imports what it needs from ``mytorch``. Each cell is self-contained: its
helpers are nested in it. The buggy cells are edits of the alternative's cells (``_edit`` checks
that each edit applies), so they are correct except for the one mistake they are named after.

A ``ValueError`` names the offending argument before any other parameter of the function.
"""

from __future__ import annotations


def _edit(code: str, old: str, new: str) -> str:
    """``code`` with its one occurrence of ``old`` replaced by ``new``."""
    assert code.count(old) == 1, f"edit does not apply exactly once: {old!r}"
    return code.replace(old, new)


# ---------------------------------------------------------------------------------------------
# 08_language_model
# ---------------------------------------------------------------------------------------------

VOCAB_08 = '''
class Vocab:
    """Token <-> index table: "<unk>" at 0, the reserved tokens, then the tokens by frequency."""

    def __init__(self, tokens=None, min_freq=0, reserved_tokens=None):
        if tokens is None:
            tokens = []
        flat = []
        for item in tokens:  # a list of tokens, or a list of lines of tokens
            if isinstance(item, (list, tuple)):
                flat.extend(item)
            else:
                flat.append(item)
        counts = {}
        for token in flat:
            counts[token] = counts.get(token, 0) + 1
        self.token_freqs = sorted(counts.items(), key=lambda pair: (-pair[1], pair[0]))
        reserved = list(reserved_tokens) if reserved_tokens is not None else []
        frequent = [token for token, count in self.token_freqs if count >= min_freq]
        ordered = ["<unk>", *reserved, *frequent]
        self.idx_to_token = []
        self.token_to_idx = {}
        for token in ordered:
            if token not in self.token_to_idx:
                self.token_to_idx[token] = len(self.idx_to_token)
                self.idx_to_token.append(token)
        self.unk = self.token_to_idx["<unk>"]

    def __len__(self):
        return len(self.idx_to_token)

    def __getitem__(self, tokens):
        if isinstance(tokens, (list, tuple)):
            return [self[token] for token in tokens]
        return self.token_to_idx.get(tokens, self.unk)

    def to_tokens(self, indices):
        if isinstance(indices, (list, tuple)):
            return [self.to_tokens(index) for index in indices]
        if getattr(indices, "ndim", 0) > 0:  # numpy arrays and torch tensors
            return [self.to_tokens(index) for index in indices.tolist()]
        return self.idx_to_token[int(indices)]
'''

ONE_HOT_08 = '''
def one_hot(indices, vocab_size):
    """Rows of the identity picked by the indices: float32, shape (*indices.shape, vocab_size)."""
    if isinstance(vocab_size, bool) or not isinstance(vocab_size, (int, np.integer)):
        raise ValueError(f"vocab_size must be a whole number, not {vocab_size!r}")
    if vocab_size < 1:
        raise ValueError(f"vocab_size must be at least 1, not {vocab_size}")
    idx = torch.as_tensor(indices)
    if idx.is_floating_point() or idx.is_complex() or idx.dtype == torch.bool:
        if not bool(torch.all(idx == torch.round(idx.real.double()))):
            raise ValueError("indices must be whole numbers")
    idx = idx.long()
    if idx.numel() and (int(idx.min()) < 0 or int(idx.max()) >= vocab_size):
        raise ValueError(f"indices must lie in [0, {vocab_size}) for vocab_size {vocab_size}")
    table = torch.eye(int(vocab_size), dtype=torch.float32, device=idx.device)
    return table[idx]
'''

SEQ_08 = '''
def seq_data_iter_sequential(corpus, batch_size, num_steps, offset):
    """Consecutive (X, Y) windows of batch_size parallel streams, Y shifted by one token."""
    for name, value, least in (("batch_size", batch_size, 1), ("num_steps", num_steps, 1),
                               ("offset", offset, 0)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
            raise ValueError(f"{name} must be a whole number, not {value!r}")
        if value < least:
            raise ValueError(f"{name} must be at least {least}, not {value}")
    tokens = torch.as_tensor(np.asarray(corpus).reshape(-1), dtype=torch.int64)
    n = ((tokens.shape[0] - offset - 1) // batch_size) * batch_size
    if n <= 0:
        return []
    Xs = tokens[offset : offset + n].reshape(batch_size, -1)
    Ys = tokens[offset + 1 : offset + 1 + n].reshape(batch_size, -1)
    width = (Xs.shape[1] // num_steps) * num_steps
    # (batch_size, k * num_steps) -> (k, batch_size, num_steps): window i along the first axis
    Xw = Xs[:, :width].reshape(batch_size, -1, num_steps).permute(1, 0, 2)
    Yw = Ys[:, :width].reshape(batch_size, -1, num_steps).permute(1, 0, 2)
    return [(x.contiguous(), y.contiguous()) for x, y in zip(Xw, Yw)]
'''

PERPLEXITY_08 = '''
def perplexity(logits, targets):
    """exp(mean cross-entropy), with a log-sum-exp shifted by the row maximum, in float64."""
    z = torch.as_tensor(logits).detach().to(torch.float64)
    if z.dim() != 2 or z.shape[0] == 0 or z.shape[1] == 0:
        raise ValueError(f"logits must have shape (N, V) with N, V >= 1, got {tuple(z.shape)}")
    y = torch.as_tensor(targets).detach()
    if y.is_floating_point():
        y = y.round()
    y = y.long().reshape(-1)
    if y.shape[0] != z.shape[0]:
        raise ValueError(f"targets must hold {z.shape[0]} class indices, got {y.shape[0]}")
    if int(y.min()) < 0 or int(y.max()) >= z.shape[1]:
        raise ValueError(f"targets must lie in [0, {z.shape[1]})")
    peak = z.max(dim=1, keepdim=True).values
    log_norm = peak.squeeze(1) + torch.log(torch.exp(z - peak).sum(dim=1))
    nll = log_norm - z.gather(1, y.unsqueeze(1)).squeeze(1)
    return float(torch.exp(nll.mean()))
'''

CLIP_08 = '''
import math


def grad_clipping(parameters, theta):
    """Scale all gradients in place so their global L2 norm is at most theta; old norm back."""
    if isinstance(parameters, torch.nn.Module):
        params = list(parameters.parameters())
    elif isinstance(parameters, torch.Tensor):
        params = [parameters]
    else:
        params = list(parameters)
    theta = float(theta)
    if not theta >= 0:
        raise ValueError(f"theta must be a non-negative number, not {theta}")
    grads = [p.grad for p in params if p.grad is not None]
    squares = [float(torch.sum(g.detach().to(torch.float64) ** 2)) for g in grads]
    norm = math.sqrt(math.fsum(squares))
    if norm > theta:
        scale = theta / norm
        for g in grads:
            g.mul_(scale)
    return norm
'''

PREDICT_08 = '''
def predict(prefix, num_preds, model, vocab):
    """Warm the state up on prefix, then append num_preds greedy (argmax) characters."""
    if not isinstance(prefix, str) or len(prefix) == 0:
        raise ValueError(f"prefix must be a non-empty string, not {prefix!r}")
    if isinstance(num_preds, bool) or not isinstance(num_preds, (int, np.integer)):
        raise ValueError(f"num_preds must be a whole number, not {num_preds!r}")
    if num_preds < 0:
        raise ValueError(f"num_preds must be at least 0, not {num_preds}")
    device = torch.device("cpu")
    try:
        device = next(iter(model.parameters())).device
    except (AttributeError, StopIteration, TypeError):
        pass

    def feed(index, state):
        return model(torch.tensor([[index]], dtype=torch.long, device=device), state)

    state = model.begin_state(batch_size=1)
    produced = []
    with torch.no_grad():
        for char in prefix:
            logits, state = feed(vocab[char], state)
        for k in range(int(num_preds)):
            choice = int(torch.argmax(logits.reshape(-1)))
            produced.append(choice)
            if k + 1 < num_preds:
                logits, state = feed(choice, state)
    return prefix + "".join(vocab.to_tokens(produced))
'''

BUGGY_08 = {
    "a08_vocab_ties_first_seen": (
        "Vocab",
        _edit(VOCAB_08, "key=lambda pair: (-pair[1], pair[0])", "key=lambda pair: -pair[1]"),
        "tokens with equal counts keep their first-seen order instead of alphabetical order",
    ),
    "a08_vocab_unk_last": (
        "Vocab",
        _edit(
            VOCAB_08,
            'ordered = ["<unk>", *reserved, *frequent]',
            'ordered = [*reserved, *frequent, "<unk>"]',
        ),
        '"<unk>" is the last index instead of 0 (unknown tokens map to it)',
    ),
    "a08_vocab_min_freq_strict": (
        "Vocab",
        _edit(VOCAB_08, "if count >= min_freq]", "if count > min_freq]"),
        "keeps tokens with count > min_freq instead of >= min_freq",
    ),
    "a08_one_hot_int64": (
        "one_hot",
        _edit(ONE_HOT_08, "dtype=torch.float32, device", "dtype=torch.int64, device"),
        "returns an int64 tensor instead of float32",
    ),
    "a08_seq_targets_not_shifted": (
        "seq_data_iter_sequential",
        _edit(SEQ_08, "tokens[offset + 1 : offset + 1 + n]", "tokens[offset : offset + n]"),
        "Y equals X: the targets are not shifted by one token",
    ),
    "a08_seq_offset_ignored": (
        "seq_data_iter_sequential",
        _edit(
            SEQ_08,
            "    tokens = torch.as_tensor(",
            "    offset = 0  # the offset is never used\n    tokens = torch.as_tensor(",
        ),
        "ignores offset: always starts at the first token",
    ),
    "a08_perplexity_summed": (
        "perplexity",
        _edit(PERPLEXITY_08, "torch.exp(nll.mean())", "torch.exp(nll.sum())"),
        "exp of the summed cross-entropy instead of the mean",
    ),
    "a08_perplexity_no_exp": (
        "perplexity",
        _edit(PERPLEXITY_08, "torch.exp(nll.mean())", "nll.mean()"),
        "returns the mean cross-entropy, forgetting the exp",
    ),
    "a08_clip_per_parameter": (
        "grad_clipping",
        _edit(
            CLIP_08,
            "            g.mul_(scale)",
            "            own = float(torch.linalg.vector_norm(g.detach().double()))\n"
            "            if own > theta:\n"
            "                g.mul_(theta / own)",
        ),
        "clips each parameter's gradient by its own norm instead of the global norm",
    ),
    "a08_clip_returns_after": (
        "grad_clipping",
        _edit(CLIP_08, "    return norm\n", "    return min(norm, theta)\n"),
        "returns the norm after clipping instead of before",
    ),
    "a08_predict_no_warmup": (
        "predict",
        _edit(PREDICT_08, "for char in prefix:", "for char in prefix[-1:]:"),
        "no warm-up: only the last character of the prefix reaches the state",
    ),
    "a08_predict_only_new": (
        "predict",
        _edit(PREDICT_08, 'return prefix + "".join(', 'return "".join('),
        "returns only the predicted characters, without the prefix",
    ),
}

OUTSIDER_08 = {
    "alternative": {
        "Vocab": VOCAB_08,
        "one_hot": ONE_HOT_08,
        "seq_data_iter_sequential": SEQ_08,
        "perplexity": PERPLEXITY_08,
        "grad_clipping": CLIP_08,
        "predict": PREDICT_08,
    },
    "buggy": BUGGY_08,
}


# ---------------------------------------------------------------------------------------------
# 05_mytorch
# ---------------------------------------------------------------------------------------------

CAT_05 = '''
from mytorch import Tensor


def cat(tensors, dim=0):
    """Join tensors along dim; backward hands each input its own slice of the gradient."""
    if isinstance(tensors, Tensor) or len(tensors) == 0:
        raise ValueError("tensors must be a non-empty list of Tensors")
    parts = [t if isinstance(t, Tensor) else Tensor(np.asarray(t, dtype=float)) for t in tensors]
    rank = parts[0].data.ndim
    if rank == 0:
        raise ValueError("tensors must have at least one dimension to be joined")
    if isinstance(dim, bool) or not isinstance(dim, (int, np.integer)) or not -rank <= dim < rank:
        raise ValueError(f"dim must be an integer in [{-rank}, {rank}), not {dim!r}")
    axis = int(dim) % rank
    for t in parts:
        other = t.data.shape[:axis] + t.data.shape[axis + 1 :]
        first = parts[0].data.shape[:axis] + parts[0].data.shape[axis + 1 :]
        if t.data.ndim != rank or other != first:
            raise ValueError(f"tensors must agree in every dimension but {dim}")
    sizes = [t.data.shape[axis] for t in parts]
    bounds = np.cumsum([0] + sizes)
    out = Tensor(np.concatenate([t.data for t in parts], axis=axis), _prev=tuple(parts), _op="cat")

    def _backward():
        for t, start, stop in zip(parts, bounds[:-1], bounds[1:]):
            window = [slice(None)] * rank
            window[axis] = slice(int(start), int(stop))
            t.grad = t.grad + out.grad[tuple(window)]

    out._backward = _backward
    return out
'''

DROPOUT_05 = '''
from mytorch import Tensor


def dropout(x, p=0.5, training=True, rng=None):
    """Inverted dropout: zero each entry with probability p and scale the rest by 1/(1-p)."""
    if isinstance(p, bool) or not isinstance(p, (int, float, np.integer, np.floating)):
        raise ValueError(f"p must be a number in [0, 1], not {p!r}")
    if not 0 <= p <= 1:
        raise ValueError(f"p must lie in [0, 1], got {p}")
    source = x if isinstance(x, Tensor) else Tensor(np.asarray(x, dtype=np.float64))
    if not training or p == 0:
        factor = np.ones_like(source.data)
    elif p == 1:
        factor = np.zeros_like(source.data)
    else:
        generator = np.random.default_rng() if rng is None else rng
        keep = generator.binomial(1, 1.0 - p, size=source.data.shape)
        factor = keep / (1.0 - p)
    out = Tensor(source.data * factor, _prev=(source,), _op="dropout")

    def _backward():
        source.grad = source.grad + out.grad * factor

    out._backward = _backward
    return out
'''

MSE_05 = '''
from mytorch import Tensor


def mse_loss(pred, target):
    """Mean of the squared differences, as a 0-d Tensor wired back to pred (and target)."""
    if not isinstance(pred, Tensor):
        raise ValueError(f"pred must be a mytorch Tensor, not {type(pred).__name__}")
    goal = target.data if isinstance(target, Tensor) else np.asarray(target, dtype=np.float64)
    if goal.shape != pred.data.shape:
        raise ValueError(f"target has shape {goal.shape}, pred has shape {pred.data.shape}")
    residual = pred.data - goal
    count = max(residual.size, 1)
    parents = (pred, target) if isinstance(target, Tensor) else (pred,)
    out = Tensor(np.array(np.vdot(residual, residual) / count), _prev=parents, _op="mse")

    def _backward():
        push = (2.0 / count) * residual * out.grad
        pred.grad = pred.grad + push
        if isinstance(target, Tensor):
            target.grad = target.grad - push

    out._backward = _backward
    return out
'''

RNN_05 = '''
from mytorch import Tensor
from mytorch import nn


class RNN(nn.Module):
    """Elman RNN: layer i reads cat([input, h_i], 1) through nn.Linear(in_i + H, H)."""

    def __init__(self, input_size, hidden_size, output_size, num_layers=1,
                 nonlinearity="tanh", bias=True):
        super().__init__()
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"nonlinearity must be 'tanh' or 'relu', not {nonlinearity!r}")
        for name, value in (("input_size", input_size), ("hidden_size", hidden_size),
                            ("output_size", output_size), ("num_layers", num_layers)):
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
                raise ValueError(f"{name} must be a positive integer, not {value!r}")
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.output_size = output_size
        self.num_layers = num_layers
        self.nonlinearity = nonlinearity
        widths = [input_size] + [hidden_size] * (num_layers - 1)
        self.layers = [nn.Linear(w + hidden_size, hidden_size, bias=bias) for w in widths]
        self.output_layer = nn.Linear(hidden_size, output_size, bias=bias)

    @staticmethod
    def _row(x, t):
        # row t of x as a (1, D) Tensor whose gradient flows back into x
        out = Tensor(x.data[t : t + 1], _prev=(x,), _op="row")

        def _backward():
            grad = np.zeros_like(x.data)
            grad[t : t + 1] = out.grad
            x.grad = x.grad + grad

        out._backward = _backward
        return out

    def _activate(self, z):
        if self.nonlinearity == "tanh":
            value = np.tanh(z.data)
            slope = 1.0 - value**2
        else:
            value = np.maximum(z.data, 0.0)
            slope = (z.data > 0).astype(np.float64)
        out = Tensor(value, _prev=(z,), _op=self.nonlinearity)

        def _backward():
            z.grad = z.grad + slope * out.grad

        out._backward = _backward
        return out

    def forward(self, x):
        seq = x if isinstance(x, Tensor) else Tensor(np.asarray(x, dtype=np.float64))
        if seq.data.ndim != 2 or seq.data.shape[1] != self.input_size:
            raise ValueError(f"x must have shape (T, {self.input_size}), got {seq.data.shape}")
        states = [Tensor(np.zeros((1, self.hidden_size))) for _ in self.layers]
        outputs = []
        for t in range(seq.data.shape[0]):
            signal = self._row(seq, t)
            for i, layer in enumerate(self.layers):
                states[i] = self._activate(layer(cat([signal, states[i]], 1)))
                signal = states[i]
            outputs.append(self.output_layer(signal))
        if not outputs:
            raise ValueError("x must hold at least one time step")
        return cat(outputs, 0), states
'''

ADAM_05 = '''
class Adam:
    """Adam with bias correction, in the order of operations of torch.optim.Adam's step.

    Like torch, the moments of a parameter are created at its first update, each parameter
    counts its own steps, and a parameter that has no gradient (zero_grad sets None and no
    backward pass reached it) is skipped.
    """

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8):
        self.params = list(params)
        if not self.params:
            raise ValueError("params is an empty list: nothing to optimise")
        if not lr >= 0:
            raise ValueError(f"lr must be non-negative, not {lr}")
        beta1, beta2 = betas
        if not (0 <= beta1 < 1 and 0 <= beta2 < 1):
            raise ValueError(f"betas must both lie in [0, 1), not {betas}")
        if not eps >= 0:
            raise ValueError(f"eps must be non-negative, not {eps}")
        self.lr, self.betas, self.eps = lr, (beta1, beta2), eps
        self.state = {}  # id(param) -> {"t": steps, "m": first moment, "v": second moment}

    def step(self):
        beta1, beta2 = self.betas
        for p in self.params:
            if getattr(p, "_grad", 0) is None:  # mytorch's "no gradient yet"
                continue
            g = np.asarray(p.grad, dtype=np.float64)
            slot = self.state.setdefault(id(p), {"t": 0, "m": 0.0 * g, "v": 0.0 * g})
            slot["t"] += 1
            slot["m"] = beta1 * slot["m"] + (1 - beta1) * g
            slot["v"] = beta2 * slot["v"] + (1 - beta2) * g * g
            first_fix = 1 - beta1 ** slot["t"]
            second_fix = 1 - beta2 ** slot["t"]
            denom = np.sqrt(slot["v"]) / np.sqrt(second_fix) + self.eps
            update = (self.lr / first_fix) * slot["m"] / denom
            p.data = (p.data - update).astype(p.data.dtype, copy=False)

    def zero_grad(self):
        for p in self.params:
            p.grad = None  # mytorch reads None as zeros; torch's default set_to_none
'''

BUGGY_05 = {
    "a05_cat_grad_offset_not_advanced": (
        "cat",
        _edit(
            CAT_05,
            "window[axis] = slice(int(start), int(stop))",
            "window[axis] = slice(0, int(stop - start))",
        ),
        "backward hands every input the leading slice of the gradient (the offset never moves)",
    ),
    "a05_dropout_no_rescale": (
        "dropout",
        _edit(DROPOUT_05, "factor = keep / (1.0 - p)", "factor = keep * 1.0"),
        "kept values are not scaled by 1/(1-p) (not inverted dropout)",
    ),
    "a05_dropout_fresh_mask_in_backward": (
        "dropout",
        _edit(
            DROPOUT_05,
            "        source.grad = source.grad + out.grad * factor\n",
            "        again = factor\n"
            "        if training and 0 < p < 1:\n"
            "            again = generator.binomial(1, 1.0 - p, size=factor.shape) / (1.0 - p)\n"
            "        source.grad = source.grad + out.grad * again\n",
        ),
        "backward draws a new mask instead of reusing the forward one",
    ),
    "a05_dropout_ignores_training": (
        "dropout",
        _edit(DROPOUT_05, "if not training or p == 0:", "if p == 0:"),
        "drops units even when training=False (evaluation mode)",
    ),
    "a05_mse_cuts_graph": (
        "mse_loss",
        _edit(
            MSE_05,
            "    return out\n",
            "    return Tensor(out.data)  # a fresh leaf: the graph back to pred is lost\n",
        ),
        "wraps the loss value in a new Tensor: backward never reaches pred",
    ),
    "a05_mse_sum": (
        "mse_loss",
        _edit(MSE_05, "count = max(residual.size, 1)", "count = 1"),
        "sum of squared errors instead of the mean",
    ),
    "a05_rnn_resets_state": (
        "RNN",
        _edit(
            RNN_05,
            "            signal = self._row(seq, t)\n",
            "            signal = self._row(seq, t)\n"
            "            states = [Tensor(np.zeros((1, self.hidden_size))) for _ in self.layers]\n",
        ),
        "the hidden state is reset to zeros at every time step (nothing is carried)",
    ),
    "a05_rnn_always_tanh": (
        "RNN",
        _edit(RNN_05, 'if self.nonlinearity == "tanh":', "if True:  # nonlinearity ignored"),
        'nonlinearity="relu" is accepted but tanh is always used',
    ),
    "a05_adam_no_bias_correction": (
        "Adam",
        _edit(
            _edit(ADAM_05, 'first_fix = 1 - beta1 ** slot["t"]', "first_fix = 1.0"),
            'second_fix = 1 - beta2 ** slot["t"]',
            "second_fix = 1.0",
        ),
        "no bias correction of the moment estimates",
    ),
    "a05_adam_eps_inside_sqrt": (
        "Adam",
        _edit(
            ADAM_05,
            'denom = np.sqrt(slot["v"]) / np.sqrt(second_fix) + self.eps',
            'denom = np.sqrt(slot["v"] / second_fix + self.eps)',
        ),
        "eps is added inside the square root",
    ),
}

OUTSIDER_05 = {
    "alternative": {
        "cat": CAT_05,
        "dropout": DROPOUT_05,
        "mse_loss": MSE_05,
        "RNN": RNN_05,
        "Adam": ADAM_05,
    },
    "buggy": BUGGY_05,
}

OUTSIDER = {"08_language_model": OUTSIDER_08, "05_mytorch": OUTSIDER_05}
