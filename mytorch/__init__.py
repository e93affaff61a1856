"""mytorch: the small teaching autograd library this course builds by hand (chapter 05).

    from mytorch import Tensor, nn, optim
    import mytorch.nn.functional as F

`Tensor` (mytorch.tensor) records the graph of operations and back-propagates
through it; `nn` has `Module`, `Linear` and `RNN`; `nn.functional` activations,
dropout and losses; `optim` SGD and Adam. Run `python -m mytorch.bench` to time
a small RNN against PyTorch.
"""

from . import nn, optim
from .tensor import (
    Tensor,
    cat,
    exp,
    log,
    manual_seed,
    ones,
    randn,
    relu,
    sigmoid,
    stack,
    tanh,
    zeros,
)

__all__ = [
    "Tensor",
    "cat",
    "exp",
    "log",
    "manual_seed",
    "nn",
    "ones",
    "optim",
    "randn",
    "relu",
    "sigmoid",
    "stack",
    "tanh",
    "zeros",
]
