"""The `Tensor`: a numpy array that remembers how it was made, to differentiate it.

Every operation on tensors returns a new `Tensor` that records

* `_prev`: the tensors it was computed from (its inputs in the computation graph),
* `_op`: a short name of the operation (only for printing), and
* `_backward`: a closure that applies the chain rule for this one operation. It reads
  the gradient of the loss with respect to the output (`out.grad`) and ADDS the
  gradient with respect to each input into that input's `.grad`.

`loss.backward()` then visits the graph from the loss back to the leaves (reverse
topological order) and calls every closure once. Adding (never overwriting) is what
makes a tensor used twice, such as a hidden state feeding two layers, receive the sum
of the gradients along all paths: the multivariate chain rule.

One graph node is made per tensor operation, never per number, so a matrix product
of any size costs one Python call forward and one backward.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeAlias

import numpy as np
import numpy.typing as npt

Operand: TypeAlias = "Tensor | npt.ArrayLike"
Index: TypeAlias = Any  # whatever numpy accepts in a[index]
Axis: TypeAlias = "int | tuple[int, ...] | None"


def _no_backward() -> None:
    """The backward of a leaf: nothing to pass on."""


class Tensor:
    """A float numpy array (`.data`), its gradient (`.grad`) and the graph that made it.

    `Tensor(data)` makes a leaf: an input or a parameter. Operations make the inner
    nodes and fill in `_prev`, `_op` and `_backward`. `data` is stored as float64
    unless it already is a floating-point numpy array, which is used as is (no copy).
    """

    # __slots__ makes tensors small and attribute access fast: at the sizes of the
    # course's RNNs the time goes into Python overhead per operation, not arithmetic.
    __slots__ = ("_backward", "_grad", "_op", "_prev", "data")

    # Let numpy hand `array + tensor` over to Tensor.__radd__ instead of
    # broadcasting over the tensor object itself.
    __array_ufunc__ = None

    def __init__(
        self, data: npt.ArrayLike, _prev: Sequence[Tensor] = (), _op: str = ""
    ) -> None:
        if type(data) is not np.ndarray or data.dtype.kind != "f":
            data = np.asarray(data, dtype=np.float64)
        self.data: np.ndarray = data
        self._grad: np.ndarray | None = None  # allocated on first use, see `grad`
        self._backward: Callable[[], None] = _no_backward
        self._prev: tuple[Tensor, ...] = tuple(_prev)
        self._op: str = _op

    # ------------------------------------------------------------------ gradient
    @property
    def grad(self) -> np.ndarray:
        """d(loss)/d(self), shaped like `data`; zeros until a backward pass reaches it.

        The array is only allocated when it is first needed: most tensors in a graph
        receive their gradient from `backward()` and never need the zeros. (The
        library's own closures read `_grad`, the attribute behind this property,
        which saves a function call per read.)
        """
        if self._grad is None:
            self._grad = np.zeros_like(self.data)
        return self._grad

    @grad.setter
    def grad(self, value: npt.ArrayLike | None) -> None:
        # `None` means "zero" (what `zero_grad()` sets); anything else becomes an array.
        self._grad = None if value is None else np.asarray(value, dtype=self.data.dtype)

    def backward(self, gradient: npt.ArrayLike | None = None) -> None:
        """Fill `.grad` of every tensor this one depends on with d(self)/d(tensor).

        `gradient` is d(loss)/d(self) to start from; by default ones, which for a
        scalar loss means d(loss)/d(loss) = 1. Leaves (parameters, inputs) accumulate
        over several calls, as in PyTorch; call `zero_grad()` between steps.
        """
        seed = np.ones_like(self.data) if gradient is None else np.asarray(gradient)
        if seed.shape != self.data.shape:
            raise ValueError(f"gradient must have shape {self.shape}, got {seed.shape}")
        order = _topological_order(self)
        for node in order:
            if node._prev:  # inner nodes start from zero on every pass
                node._grad = None
        _add_grad(self, seed)
        for node in reversed(order):  # outputs before the inputs they were made from
            if node._grad is not None:  # nothing reached it: nothing to pass on
                node._backward()

    # ------------------------------------------------------------------ arithmetic
    def __add__(self, other: Operand) -> Tensor:
        other = _lift(other)
        out = Tensor(self.data + other.data, (self, other), "+")

        def _backward() -> None:
            # d(a + b)/da = 1: the gradient passes through, summed over broadcast axes.
            _add_grad(self, _unbroadcast(out._grad, self.data.shape))
            _add_grad(other, _unbroadcast(out._grad, other.data.shape))

        out._backward = _backward
        return out

    def __mul__(self, other: Operand) -> Tensor:
        other = _lift(other)
        out = Tensor(self.data * other.data, (self, other), "*")

        def _backward() -> None:
            # d(a * b)/da = b and d(a * b)/db = a.
            _add_grad(self, _unbroadcast(out._grad * other.data, self.data.shape))
            _add_grad(other, _unbroadcast(out._grad * self.data, other.data.shape))

        out._backward = _backward
        return out

    def __truediv__(self, other: Operand) -> Tensor:
        other = _lift(other)
        out = Tensor(self.data / other.data, (self, other), "/")

        def _backward() -> None:
            # d(a / b)/da = 1 / b and d(a / b)/db = -a / b**2 = -(a / b) / b.
            grad_self = out._grad / other.data
            _add_grad(self, _unbroadcast(grad_self, self.data.shape))
            _add_grad(other, _unbroadcast(-grad_self * out.data, other.data.shape))

        out._backward = _backward
        return out

    def __pow__(self, exponent: Operand) -> Tensor:
        if isinstance(exponent, Tensor):
            return _tensor_power(self, exponent)
        e = float(exponent)  # type: ignore[arg-type]
        out = Tensor(self.data**e, (self,), f"**{e:g}")

        def _backward() -> None:
            # d(x**e)/dx = e * x**(e - 1).
            _add_grad(self, out._grad * e * self.data ** (e - 1))

        out._backward = _backward
        return out

    def __matmul__(self, other: Operand) -> Tensor:
        other = _lift(other)
        out = Tensor(self.data @ other.data, (self, other), "@")

        def _backward() -> None:
            # For C = A @ B: dL/dA = dL/dC @ B.T and dL/dB = A.T @ dL/dC.
            grad_a, grad_b = _matmul_grads(self.data, other.data, out._grad)
            _add_grad(self, grad_a)
            _add_grad(other, grad_b)

        out._backward = _backward
        return out

    def __neg__(self) -> Tensor:
        out = Tensor(-self.data, (self,), "neg")

        def _backward() -> None:
            _add_grad(self, -out._grad)

        out._backward = _backward
        return out

    def __sub__(self, other: Operand) -> Tensor:
        other = _lift(other)
        out = Tensor(self.data - other.data, (self, other), "-")

        def _backward() -> None:
            _add_grad(self, _unbroadcast(out._grad, self.data.shape))
            _add_grad(other, _unbroadcast(-out._grad, other.data.shape))

        out._backward = _backward
        return out

    # The reflected operators (number + tensor, array @ tensor) reuse those above.

    def __radd__(self, other: Operand) -> Tensor:
        return _lift(other) + self

    def __rsub__(self, other: Operand) -> Tensor:
        return _lift(other) - self

    def __rmul__(self, other: Operand) -> Tensor:
        return _lift(other) * self

    def __rtruediv__(self, other: Operand) -> Tensor:
        return _lift(other) / self

    def __rmatmul__(self, other: Operand) -> Tensor:
        return _lift(other) @ self

    def __rpow__(self, base: Operand) -> Tensor:
        return _tensor_power(_lift(base), self)

    # ------------------------------------------------------------------ elementwise
    def exp(self) -> Tensor:
        """e ** self, elementwise; its derivative is itself."""
        out = Tensor(np.exp(self.data), (self,), "exp")

        def _backward() -> None:
            _add_grad(self, out._grad * out.data)

        out._backward = _backward
        return out

    def log(self) -> Tensor:
        """Natural logarithm, elementwise; d log(x)/dx = 1 / x."""
        out = Tensor(np.log(self.data), (self,), "log")

        def _backward() -> None:
            _add_grad(self, out._grad / self.data)

        out._backward = _backward
        return out

    def tanh(self) -> Tensor:
        """Hyperbolic tangent, elementwise; d tanh(x)/dx = 1 - tanh(x)**2."""
        out = Tensor(np.tanh(self.data), (self,), "tanh")

        def _backward() -> None:
            _add_grad(self, out._grad * (1.0 - out.data * out.data))

        out._backward = _backward
        return out

    def sigmoid(self) -> Tensor:
        """1 / (1 + e**-x), elementwise; its derivative is s * (1 - s)."""
        # e**-|x| never overflows; the two branches give the same value.
        e = np.exp(-np.abs(self.data))
        s = np.where(self.data >= 0, 1.0 / (1.0 + e), e / (1.0 + e))
        out = Tensor(s, (self,), "sigmoid")

        def _backward() -> None:
            _add_grad(self, out._grad * out.data * (1.0 - out.data))

        out._backward = _backward
        return out

    def relu(self) -> Tensor:
        """max(x, 0), elementwise; the gradient passes where x > 0."""
        mask = self.data > 0
        out = Tensor(np.maximum(self.data, 0.0), (self,), "relu")

        def _backward() -> None:
            _add_grad(self, out._grad * mask)

        out._backward = _backward
        return out

    # ------------------------------------------------------------------ reductions
    def sum(self, axis: Axis = None, keepdims: bool = False) -> Tensor:
        """Sum over `axis` (None: all); each summed entry gets the output's gradient."""
        out = Tensor(self.data.sum(axis=axis, keepdims=keepdims), (self,), "sum")

        def _backward() -> None:
            _add_grad(self, _expand_reduced(out._grad, self.data.shape, axis, keepdims))

        out._backward = _backward
        return out

    def mean(self, axis: Axis = None, keepdims: bool = False) -> Tensor:
        """Mean over `axis` (None: all): the sum divided by the number of entries."""
        out = Tensor(self.data.mean(axis=axis, keepdims=keepdims), (self,), "mean")
        count = self.data.size // max(out.data.size, 1)

        def _backward() -> None:
            grad = _expand_reduced(out._grad, self.data.shape, axis, keepdims)
            _add_grad(self, grad / count)

        out._backward = _backward
        return out

    # ------------------------------------------------------------------ shape
    def reshape(self, *shape: int | tuple[int, ...]) -> Tensor:
        """The same entries in a new shape: `reshape(2, 3)` or `reshape((2, 3))`."""
        new_shape = (
            shape[0] if len(shape) == 1 and isinstance(shape[0], tuple) else shape
        )
        out = Tensor(self.data.reshape(new_shape), (self,), "reshape")

        def _backward() -> None:
            _add_grad(self, out._grad.reshape(self.data.shape))

        out._backward = _backward
        return out

    def transpose(self, *axes: int | tuple[int, ...]) -> Tensor:
        """Permute axes like numpy: reversed by default, or `transpose((1, 0, 2))`."""
        perm = axes[0] if len(axes) == 1 and isinstance(axes[0], tuple) else axes
        perm = tuple(range(self.data.ndim))[::-1] if not perm else tuple(perm)
        out = Tensor(self.data.transpose(perm), (self,), "transpose")

        def _backward() -> None:
            # Undo the permutation: input axis perm[i] became output axis i.
            _add_grad(self, out._grad.transpose(np.argsort(perm)))

        out._backward = _backward
        return out

    @property
    def T(self) -> Tensor:
        """The transpose (all axes reversed)."""
        return self.transpose()

    def __getitem__(self, index: Index) -> Tensor:
        if isinstance(index, Tensor):
            index = index.data.astype(np.intp)
        out = Tensor(self.data[index], (self,), "[]")
        basic = _is_basic_index(index)

        def _backward() -> None:
            grad = np.zeros_like(self.data)
            if basic:  # ints and slices pick every entry at most once
                grad[index] = out._grad
            else:  # an index array may pick one entry twice: add, don't overwrite
                np.add.at(grad, index, out._grad)
            _add_grad(self, grad)

        out._backward = _backward
        return out

    # ------------------------------------------------------------------ information
    @property
    def shape(self) -> tuple[int, ...]:
        """The shape of `data`."""
        return self.data.shape

    @property
    def ndim(self) -> int:
        """The number of axes of `data`."""
        return self.data.ndim

    def size(self, dim: int | None = None) -> tuple[int, ...] | int:
        """Like torch: the shape, or with `dim` the length of that axis."""
        return self.data.shape if dim is None else self.data.shape[dim]

    def __len__(self) -> int:
        return len(self.data)

    def detach(self) -> Tensor:
        """A leaf with the same data (shared, not copied) and no graph behind it."""
        return Tensor(self.data)

    def item(self) -> float:
        """The value of a one-element tensor as a Python float."""
        return float(self.data.item())

    def numpy(self) -> np.ndarray:
        """The data as a numpy array (shared, not copied)."""
        return self.data

    def __array__(self, dtype: npt.DTypeLike = None, copy: bool | None = None):
        """`np.asarray(tensor)` gives the data (no graph), like `tensor.numpy()`."""
        data = self.data if dtype is None else self.data.astype(dtype, copy=False)
        return data.copy() if copy else data

    def __repr__(self) -> str:
        grad = np.zeros_like(self.data) if self._grad is None else self._grad
        data_text = np.array2string(self.data, prefix="Tensor(data=")
        grad_text = np.array2string(grad, prefix="       grad=")
        separator = ",\n       " if "\n" in data_text + grad_text else ", "
        op = f", op={self._op!r}" if self._op else ""
        return f"Tensor(data={data_text}{separator}grad={grad_text}{op})"


# ------------------------------------------------------------------ the backward pass
def _topological_order(root: Tensor) -> list[Tensor]:
    """The inner nodes behind `root` (and `root`), every node after all of its inputs.

    A depth-first search with an explicit stack instead of recursion: a 1000-step
    sequence makes a graph thousands of nodes deep, beyond Python's recursion limit.
    Each stack entry says whether the node's inputs have already been pushed; the node
    is emitted the second time it is popped, when all its inputs are done. Leaves are
    left out: their backward does nothing.
    """
    order: list[Tensor] = []
    visited: set[Tensor] = set()  # tensors hash by identity
    stack: list[tuple[Tensor, bool]] = [(root, False)]
    while stack:
        node, inputs_done = stack.pop()
        if inputs_done:
            order.append(node)
        elif node not in visited:
            visited.add(node)
            stack.append((node, True))  # come back to it after its inputs
            for child in node._prev:
                if child._prev and child not in visited:
                    stack.append((child, False))
    return order


def _add_grad(tensor: Tensor, grad: np.ndarray) -> None:
    """Add `grad` into `tensor`'s gradient: the chain rule sums over every path."""
    if tensor._grad is None:
        # Keep a private copy: `grad` may be shared (a + b hands the same array to
        # both inputs) or a read-only view, and later additions write in place.
        # (numpy returns a scalar, not an array, for some 0-d results.)
        tensor._grad = grad.copy() if type(grad) is np.ndarray else np.asarray(grad)
    else:
        tensor._grad += grad


def _unbroadcast(grad: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """Sum `grad` down to `shape`, undoing numpy broadcasting.

    An input of shape (3,) added to a (2, 3) array was used once per row, so its
    gradient is the sum of the rows: broadcasting copies values forward, and the
    backward of a copy is a sum.
    """
    if grad.shape == shape:
        return grad
    extra = grad.ndim - len(shape)  # leading axes that broadcasting added
    if extra:
        grad = grad.sum(axis=tuple(range(extra)))
    stretched = tuple(i for i, n in enumerate(shape) if n == 1 and grad.shape[i] != 1)
    if stretched:  # axes of length 1 that were stretched
        grad = grad.sum(axis=stretched, keepdims=True)
    return grad


def _expand_reduced(
    grad: np.ndarray, shape: tuple[int, ...], axis: Axis, keepdims: bool
):
    """Broadcast the gradient of a sum/mean back over the axes that were reduced."""
    if axis is not None and not keepdims:
        axes = (axis,) if isinstance(axis, int) else axis
        grad = np.expand_dims(grad, tuple(a % len(shape) for a in axes))
    return np.broadcast_to(grad, shape)


def _matmul_grads(a: np.ndarray, b: np.ndarray, grad: np.ndarray):
    """Gradients of `a @ b` for 2-D, 1-D and batched (broadcast) operands."""
    if a.ndim == 2 and b.ndim == 2:  # the common case, kept short
        return grad @ b.T, a.T @ grad
    if a.ndim == 1 and b.ndim == 1:  # a dot product: a number
        return grad * b, grad * a
    # numpy treats a vector as a row (on the left) or a column (on the right):
    # do the same, then drop the added axis again.
    a2 = a[None, :] if a.ndim == 1 else a
    b2 = b[:, None] if b.ndim == 1 else b
    g2 = grad
    if a.ndim == 1:
        g2 = np.expand_dims(g2, -2)
    if b.ndim == 1:
        g2 = np.expand_dims(g2, -1)
    grad_a = g2 @ np.swapaxes(b2, -1, -2)
    grad_b = np.swapaxes(a2, -1, -2) @ g2
    if a.ndim == 1:
        grad_a = grad_a[..., 0, :]
    if b.ndim == 1:
        grad_b = grad_b[..., 0]
    return _unbroadcast(grad_a, a.shape), _unbroadcast(grad_b, b.shape)


def _tensor_power(base: Tensor, exponent: Tensor) -> Tensor:
    """base ** exponent with a tensor exponent: d/de b**e = b**e * log(b)."""
    out = Tensor(base.data**exponent.data, (base, exponent), "**")

    def _backward() -> None:
        grad_base = out._grad * exponent.data * base.data ** (exponent.data - 1)
        _add_grad(base, _unbroadcast(grad_base, base.data.shape))
        grad_exponent = out._grad * out.data * np.log(base.data)
        _add_grad(exponent, _unbroadcast(grad_exponent, exponent.data.shape))

    out._backward = _backward
    return out


def _is_basic_index(index: Index) -> bool:
    """True for ints, slices, None and Ellipsis (and tuples of them): no entry twice."""
    parts = index if isinstance(index, tuple) else (index,)
    return all(
        isinstance(p, (int, np.integer, slice)) or p is None or p is Ellipsis
        for p in parts
    )


def _lift(x: Operand) -> Tensor:
    """Wrap a number or array as a constant leaf so operators accept them too."""
    return x if isinstance(x, Tensor) else Tensor(x)


# ------------------------------------------------------------------ functions
def cat(tensors: Sequence[Tensor], dim: int = 0) -> Tensor:
    """Concatenate tensors along the existing axis `dim` (like torch.cat).

    Backward cuts the upstream gradient back into pieces of the inputs' sizes along
    `dim`: each input receives the gradient of the slice it became.
    """
    if len(tensors) == 0:
        raise ValueError("tensors must be a non-empty sequence of tensors")
    tensors = tuple(_lift(t) for t in tensors)
    out = Tensor(np.concatenate([t.data for t in tensors], axis=dim), tensors, "cat")

    axis = dim % out.data.ndim

    def _backward() -> None:
        start = 0
        for t in tensors:  # input t became the slice [start, stop) along `axis`
            stop = start + t.data.shape[axis]
            _add_grad(t, out._grad[(slice(None),) * axis + (slice(start, stop),)])
            start = stop

    out._backward = _backward
    return out


def stack(tensors: Sequence[Tensor], dim: int = 0) -> Tensor:
    """Stack equally shaped tensors along a new axis `dim` (like torch.stack)."""
    if len(tensors) == 0:
        raise ValueError("tensors must be a non-empty sequence of tensors")
    tensors = tuple(_lift(t) for t in tensors)
    out = Tensor(np.stack([t.data for t in tensors], axis=dim), tensors, "stack")
    axis = dim % out.data.ndim

    def _backward() -> None:
        for i, t in enumerate(tensors):  # input i is the slice i along the new axis
            _add_grad(t, out._grad[(slice(None),) * axis + (i,)])

    out._backward = _backward
    return out


def exp(x: Tensor) -> Tensor:
    """e ** x, elementwise (same as `x.exp()`)."""
    return x.exp()


def log(x: Tensor) -> Tensor:
    """Natural logarithm, elementwise (same as `x.log()`)."""
    return x.log()


def tanh(x: Tensor) -> Tensor:
    """Hyperbolic tangent, elementwise (same as `x.tanh()`)."""
    return x.tanh()


def sigmoid(x: Tensor) -> Tensor:
    """Logistic sigmoid, elementwise (same as `x.sigmoid()`)."""
    return x.sigmoid()


def relu(x: Tensor) -> Tensor:
    """max(x, 0), elementwise (same as `x.relu()`)."""
    return x.relu()


# ------------------------------------------------------------------ creation
_default_rng = np.random.default_rng()


def manual_seed(seed: int) -> None:
    """Seed the generator used when no `rng` is given (randn, nn.Linear, dropout)."""
    global _default_rng
    _default_rng = np.random.default_rng(seed)


def as_rng(rng: np.random.Generator | int | None) -> np.random.Generator:
    """A numpy Generator: `rng` itself, a new one seeded with it, or the default one."""
    if rng is None:
        return _default_rng
    if isinstance(rng, np.random.Generator):
        return rng
    return np.random.default_rng(rng)


def _shape_of(shape: tuple) -> tuple[int, ...]:
    # Accept zeros(2, 3) and zeros((2, 3)) like torch.
    return (
        tuple(shape[0])
        if len(shape) == 1 and isinstance(shape[0], (tuple, list))
        else shape
    )


def zeros(*shape: int | tuple[int, ...]) -> Tensor:
    """A leaf tensor of zeros: `zeros(2, 3)` or `zeros((2, 3))`."""
    return Tensor(np.zeros(_shape_of(shape)))


def ones(*shape: int | tuple[int, ...]) -> Tensor:
    """A leaf tensor of ones: `ones(2, 3)` or `ones((2, 3))`."""
    return Tensor(np.ones(_shape_of(shape)))


def randn(
    *shape: int | tuple[int, ...], rng: np.random.Generator | int | None = None
) -> Tensor:
    """Standard normal samples; `rng` is a numpy Generator or a seed."""
    return Tensor(as_rng(rng).standard_normal(_shape_of(shape)))
