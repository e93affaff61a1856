"""Functions of tensors used as layers: activations, softmax, dropout and losses.

Each is written with the `Tensor` operations, so its gradient comes for free from
theirs; only `dropout` needs its own rule (multiply by a random mask).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

# The elementwise activations are the ones of mytorch.tensor, as in torch.nn.functional.
from ..tensor import Tensor, as_rng, relu, sigmoid, tanh

__all__ = [
    "cross_entropy",
    "dropout",
    "log_softmax",
    "mse_loss",
    "relu",
    "sigmoid",
    "softmax",
    "tanh",
]


def softmax(x: Tensor, dim: int = -1) -> Tensor:
    """exp(x) / sum(exp(x)) along `dim`: positive entries that sum to one.

    Subtracting the maximum first changes nothing mathematically (it cancels in the
    ratio) but keeps exp from overflowing; the maximum is a constant, not a graph node.
    """
    shifted = x - x.data.max(axis=dim, keepdims=True)
    e = shifted.exp()
    return e / e.sum(axis=dim, keepdims=True)


def log_softmax(x: Tensor, dim: int = -1) -> Tensor:
    """log(softmax(x)) computed as x - max - log(sum(exp(x - max))): no log of 0."""
    shifted = x - x.data.max(axis=dim, keepdims=True)
    return shifted - shifted.exp().sum(axis=dim, keepdims=True).log()


def dropout(
    x: Tensor,
    p: float = 0.5,
    training: bool = True,
    rng: np.random.Generator | None = None,
) -> Tensor:
    """Inverted dropout: zero each entry with probability p, scale the rest by 1/(1-p).

    Scaling during training keeps every entry's expected value unchanged, so at test
    time (`training=False`) the layer is simply the identity. The backward pass sends
    the gradient through the same mask: dropped entries get none. With p == 1 all
    entries are dropped (and nothing is divided by zero). `rng` is a numpy Generator
    (default: the one `mytorch.manual_seed` seeds).
    """
    if not 0 <= p <= 1:
        raise ValueError(f"p must satisfy 0 <= p <= 1, got {p}")
    if not training or p == 0:
        return x
    if p == 1:
        return x * np.zeros_like(x.data)
    keep = as_rng(rng).random(x.data.shape) >= p  # True with probability 1 - p
    mask = keep / (1.0 - p)
    out = Tensor(x.data * mask, (x,), "dropout")

    def _backward() -> None:
        x.grad += out.grad * mask

    out._backward = _backward
    return out


def mse_loss(pred: Tensor, target: Tensor | npt.ArrayLike) -> Tensor:
    """Mean squared error mean((pred - target)**2): a scalar that back-propagates.

    The target is data: the loss is built from tensor operations on `pred`, so the
    graph from the loss back to the model stays connected. (Rebuilding a Tensor from
    `pred.data` would cut it, and nothing would learn.)
    """
    target_shape = target.shape if isinstance(target, Tensor) else np.shape(target)
    if tuple(target_shape) != pred.shape:
        raise ValueError(
            f"target must have the shape of pred {pred.shape}, got {target_shape}"
        )
    diff = pred - target
    return (diff * diff).mean()


def cross_entropy(logits: Tensor, targets: npt.ArrayLike) -> Tensor:
    """Mean negative log-probability of the correct classes.

    logits (N, C) are unnormalised scores; targets (N,) hold class indices in [0, C).
    """
    targets = np.asarray(targets)
    if logits.ndim != 2:
        raise ValueError(f"logits must have shape (N, C), got {logits.shape}")
    if targets.shape != (logits.shape[0],) or targets.dtype.kind not in "iu":
        raise ValueError(
            f"targets must be integer class indices of shape ({logits.shape[0]},), "
            f"got {targets.dtype} {targets.shape}"
        )
    log_probs = log_softmax(logits, dim=1)
    return -log_probs[np.arange(len(targets)), targets].mean()
