"""Neural-network building blocks: `Module`, `Parameter`, `Linear` and `RNN`.

A `Module` is a container of parameters and sub-modules with a `forward` method.
It finds its parameters by looking through its own attributes, so a model is
written as plain Python: assign layers and parameters to `self`, and
`parameters()` hands all of them to an optimizer.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import numpy.typing as npt

from ..tensor import Tensor, as_rng, cat, zeros
from . import functional

__all__ = ["RNN", "Linear", "Module", "Parameter", "functional"]


class Parameter(Tensor):
    """A tensor that a `Module` reports in `parameters()`: something to train.

    Ordinary tensors stored on a module (constants, cached inputs) are not parameters.
    """

    __slots__ = ()


class Module:
    """Base class of every layer and model; subclasses define `forward`.

    Calling the module (`model(x)`) runs `forward(x)`. Parameters are found through
    attributes, including lists, tuples and dicts of modules and parameters, in the
    order the attributes were assigned, so the order is the same on every run.
    """

    training: bool = (
        True  # a class default, so forgetting super().__init__() is harmless
    )

    def __init__(self) -> None:
        self.training = True

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        """The computation; every subclass defines its own."""
        raise NotImplementedError(f"{type(self).__name__} must define forward()")

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.forward(*args, **kwargs)

    def named_parameters(self, prefix: str = "") -> Iterator[tuple[str, Parameter]]:
        """(name, parameter) pairs such as ("layers.0.weight", W), each one once."""
        seen: set[int] = set()
        for name, value in vars(self).items():
            for full_name, param in _find_parameters(value, prefix + name):
                if id(param) not in seen:  # a shared parameter is trained once
                    seen.add(id(param))
                    yield full_name, param

    def parameters(self) -> list[Parameter]:
        """Every parameter of this module and its sub-modules, in a fixed order."""
        return [param for _, param in self.named_parameters()]

    def children(self) -> Iterator[Module]:
        """The sub-modules held directly in attributes (or in their lists and dicts)."""
        for value in vars(self).values():
            yield from _find_modules(value)

    def train(self, mode: bool = True) -> Module:
        """Switch this module and its sub-modules to training (False: evaluation)."""
        self.training = mode
        for child in self.children():
            child.train(mode)
        return self

    def eval(self) -> Module:
        """Switch to evaluation mode (dropout off); same as `train(False)`."""
        return self.train(False)

    def zero_grad(self) -> None:
        """Reset every parameter's gradient to zero before the next backward pass."""
        for param in self.parameters():
            param.grad = None


def _find_parameters(value: object, name: str) -> Iterator[tuple[str, Parameter]]:
    """Parameters in an attribute's value: itself, a sub-module's, or in a container."""
    if isinstance(value, Parameter):
        yield name, value
    elif isinstance(value, Module):
        yield from value.named_parameters(prefix=name + ".")
    elif isinstance(value, (list, tuple)):
        for i, item in enumerate(value):
            yield from _find_parameters(item, f"{name}.{i}")
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _find_parameters(item, f"{name}.{key}")


def _find_modules(value: object) -> Iterator[Module]:
    """Modules in an attribute's value: itself, or inside lists, tuples and dicts."""
    if isinstance(value, Module):
        yield value
    elif isinstance(value, (list, tuple)):
        for item in value:
            yield from _find_modules(item)
    elif isinstance(value, dict):
        for item in value.values():
            yield from _find_modules(item)


class Linear(Module):
    """An affine layer `x @ weight + bias` with `weight` (in_features, out_features).

    Initialised like torch.nn.Linear: every entry uniform in (-k, k) with
    k = 1 / sqrt(in_features), which keeps the output's scale near the input's.
    (torch stores the weight transposed, (out, in), and computes x @ W.T + b.)
    `rng` (a numpy Generator or a seed) makes the initial values reproducible.
    """

    def __init__(
        self,
        in_features: int,
        out_features: int,
        bias: bool = True,
        rng: np.random.Generator | int | None = None,
    ) -> None:
        super().__init__()
        if in_features < 1:
            raise ValueError(
                f"in_features must be a positive integer, got {in_features}"
            )
        if out_features < 1:
            raise ValueError(
                f"out_features must be a positive integer, got {out_features}"
            )
        self.in_features = in_features
        self.out_features = out_features
        generator = as_rng(rng)
        k = 1.0 / np.sqrt(in_features)
        self.weight = Parameter(
            generator.uniform(-k, k, size=(in_features, out_features))
        )
        self.bias = (
            Parameter(generator.uniform(-k, k, size=out_features)) if bias else None
        )

    def forward(self, x: Tensor | npt.ArrayLike) -> Tensor:
        """x of shape (batch, in_features) -> (batch, out_features)."""
        out = x @ self.weight  # an array on the left works too (Tensor.__rmatmul__)
        return out if self.bias is None else out + self.bias

    def __repr__(self) -> str:
        return (
            f"Linear(in_features={self.in_features}, out_features={self.out_features}, "
            f"bias={self.bias is not None})"
        )


class RNN(Module):
    """A multi-layer Elman RNN with a linear output layer, one sequence at a time.

    At every time step t, layer i computes

        h_i = phi(cat([input_i, h_i], 1) @ W_i + b_i)

    where input_0 is x[t] and input_i = h_(i-1) (the new state of the layer below),
    and the output is y_t = h_last @ W_out + b_out. Concatenating the input with the
    state lets one `Linear(in_i + H, H)` hold both W_xh and W_hh (stacked as rows).
    """

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        output_size: int,
        num_layers: int = 1,
        nonlinearity: str = "tanh",
        bias: bool = True,
        rng: np.random.Generator | int | None = None,
    ) -> None:
        super().__init__()
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(
                f"nonlinearity must be 'tanh' or 'relu', got {nonlinearity!r}"
            )
        if num_layers < 1:
            raise ValueError(f"num_layers must be at least 1, got {num_layers}")
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.output_size = output_size
        self.num_layers = num_layers
        self.nonlinearity = nonlinearity
        generator = as_rng(rng)
        self.layers: list[Linear] = []
        for i in range(num_layers):
            layer_input_size = input_size if i == 0 else hidden_size
            self.layers.append(
                Linear(layer_input_size + hidden_size, hidden_size, bias, generator)
            )
        self.output_layer = Linear(hidden_size, output_size, bias, generator)

    def init_hidden(self) -> list[Tensor]:
        """One zero state of shape (1, hidden_size) per layer."""
        return [zeros(1, self.hidden_size) for _ in range(self.num_layers)]

    def forward(self, x: Tensor | npt.ArrayLike) -> tuple[Tensor, list[Tensor]]:
        """x (T, input_size) -> (outputs (T, output_size), last state per layer)."""
        if not isinstance(x, Tensor):  # data, not a graph node: wrap the rows once
            x = np.asarray(x, dtype=np.float64)
        if x.ndim != 2 or x.shape[1] != self.input_size:
            raise ValueError(f"x must have shape (T, {self.input_size}), got {x.shape}")
        phi = functional.tanh if self.nonlinearity == "tanh" else functional.relu
        hidden = self.init_hidden()
        outputs = []
        for t in range(len(x)):
            layer_input = x[t : t + 1]  # keep the row 2-D: (1, input_size)
            for i, layer in enumerate(self.layers):
                hidden[i] = phi(layer(cat((layer_input, hidden[i]), 1)))
                layer_input = hidden[i]
            outputs.append(self.output_layer(layer_input))
        return cat(outputs, 0), hidden

    def __repr__(self) -> str:
        return (
            f"RNN(input_size={self.input_size}, hidden_size={self.hidden_size}, "
            f"output_size={self.output_size}, num_layers={self.num_layers}, "
            f"nonlinearity={self.nonlinearity!r})"
        )
