"""Tests of mytorch, the course's teaching autograd library, with PyTorch as the oracle.

Every operation's value and gradient is compared with torch autograd in float64 on
shapes drawn by hypothesis (broadcasting included); the layers, losses and optimizers
are compared with their torch counterparts; and the library is checked on what the
course uses it for: long sequences, a training run and the benchmark.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import mytorch
import mytorch.nn.functional as F
from mytorch import Tensor, nn, optim
from mytorch.bench import run_benchmark

torch.set_num_threads(1)

RTOL, ATOL = 1e-10, 1e-12  # float64: only rounding differences are allowed

# ---------------------------------------------------------------- shared strategies
# Values of moderate size (no subnormals: 1 / 5e-324 is inf in both libraries).
VALUES = st.floats(-3, 3, allow_nan=False, allow_subnormal=False)
POSITIVE = st.floats(0.2, 3, allow_nan=False)
AWAY_FROM_ZERO = st.one_of(st.floats(-3, -0.5), st.floats(0.5, 3))
SHAPES = hnp.array_shapes(min_dims=0, max_dims=3, min_side=1, max_side=4)
FAST = settings(max_examples=25, deadline=None, database=None)  # no .hypothesis/ folder


def arrays(shape: tuple[int, ...], elements: st.SearchStrategy = VALUES):
    """float64 arrays of `shape` with the given elements."""
    return hnp.arrays(np.float64, shape, elements=elements)


@st.composite
def broadcast_pairs(draw, first=VALUES, second=VALUES):
    """Two arrays whose shapes broadcast together (possibly different ranks)."""
    shapes = draw(hnp.mutually_broadcastable_shapes(num_shapes=2, max_dims=3, max_side=4))
    a_shape, b_shape = shapes.input_shapes
    return draw(arrays(a_shape, first)), draw(arrays(b_shape, second))


@st.composite
def arrays_and_axis(draw, min_dims=1):
    """An array and an axis argument: None, an int (maybe negative) or a tuple."""
    x = draw(arrays(draw(hnp.array_shapes(min_dims=min_dims, max_dims=3, max_side=4))))
    axis = draw(
        st.none() | st.integers(-x.ndim, x.ndim - 1) | hnp.valid_tuple_axes(x.ndim, min_size=1)
    )
    return x, axis


# ---------------------------------------------------------------- the oracle
def assert_close(mine, theirs, rtol: float = RTOL, atol: float = ATOL) -> None:
    if isinstance(theirs, torch.Tensor):
        theirs = theirs.detach().numpy()
    np.testing.assert_allclose(mine, theirs, rtol=rtol, atol=atol)


def check_against_torch(op: Callable, *inputs: np.ndarray, torch_op=None, seed=0):
    """Run `op` on mytorch tensors and `torch_op` (default: `op`) on torch tensors.

    Compares the outputs, then back-propagates the same random upstream gradient
    through both and compares the gradients of every input.
    """
    mine = [Tensor(x.copy()) for x in inputs]
    theirs = [torch.tensor(x, requires_grad=True) for x in inputs]
    out = op(*mine)
    ref = (torch_op or op)(*theirs)
    assert out.shape == tuple(ref.shape)
    assert out.data.dtype == np.float64
    assert_close(out.data, ref)
    upstream = np.random.default_rng(seed).standard_normal(out.shape)
    out.backward(upstream)
    ref.backward(torch.from_numpy(upstream))
    for m, t in zip(mine, theirs, strict=True):
        assert m.grad.shape == m.shape
        assert_close(m.grad, t.grad if t.grad is not None else torch.zeros_like(t))


# ---------------------------------------------------------------- elementwise operations
BINARY = {
    "add": lambda a, b: a + b,
    "sub": lambda a, b: a - b,
    "mul": lambda a, b: a * b,
}


@pytest.mark.parametrize("name", list(BINARY))
@FAST
@given(pair=broadcast_pairs())
def test_binary_operations_broadcast(name, pair):
    check_against_torch(BINARY[name], *pair)


@FAST
@given(pair=broadcast_pairs(second=AWAY_FROM_ZERO))
def test_division_broadcasts(pair):
    check_against_torch(lambda a, b: a / b, *pair)


@FAST
@given(pair=broadcast_pairs(first=POSITIVE))
def test_power_with_tensor_exponent(pair):
    check_against_torch(lambda a, b: a**b, *pair)


@FAST
@given(x=SHAPES.flatmap(lambda s: arrays(s, POSITIVE)), e=st.sampled_from([2, 3, -1, 0.5, 1.7]))
def test_power_with_number_exponent(x, e):
    check_against_torch(lambda a: a**e, x)


REFLECTED = {
    "radd": lambda a: 2.5 + a,
    "rsub": lambda a: 2.5 - a,
    "rmul": lambda a: -1.5 * a,
    "rtruediv": lambda a: 2.0 / a,
    "rpow": lambda a: 1.5**a,
    "neg": lambda a: -a,
}


@pytest.mark.parametrize("name", list(REFLECTED))
@FAST
@given(x=SHAPES.flatmap(lambda s: arrays(s, AWAY_FROM_ZERO)))
def test_operations_with_numbers(name, x):
    check_against_torch(REFLECTED[name], x)


@FAST
@given(pair=broadcast_pairs())
def test_operations_with_numpy_arrays_on_the_left(pair):
    a, b = pair
    # numpy must hand `array op tensor` to the tensor's reflected method
    at = torch.from_numpy(a)
    check_against_torch(lambda x: a + x, b, torch_op=lambda x: at + x)
    check_against_torch(lambda x: a - x, b, torch_op=lambda x: at - x)
    check_against_torch(lambda x: a * x, b, torch_op=lambda x: at * x)
    assert isinstance(a + Tensor(b), Tensor)


UNARY = {
    "exp": (Tensor.exp, torch.exp, VALUES),
    "log": (Tensor.log, torch.log, POSITIVE),
    "tanh": (Tensor.tanh, torch.tanh, VALUES),
    "sigmoid": (Tensor.sigmoid, torch.sigmoid, VALUES),
    "relu": (Tensor.relu, torch.relu, VALUES),
}


@pytest.mark.parametrize("name", list(UNARY))
@FAST
@given(data=st.data())
def test_unary_operations(name, data):
    mine, theirs, elements = UNARY[name]
    x = data.draw(SHAPES.flatmap(lambda s: arrays(s, elements)))
    check_against_torch(mine, x, torch_op=theirs)


def test_module_level_functions_match_methods():
    x = Tensor(np.linspace(-2, 2, 7))
    for name in ("exp", "tanh", "sigmoid", "relu"):
        assert np.array_equal(getattr(mytorch, name)(x).data, getattr(x, name)().data)
    for name in ("tanh", "sigmoid", "relu"):
        assert np.array_equal(getattr(F, name)(x).data, getattr(x, name)().data)
    assert_close(mytorch.log(x.exp()).data, x.data)


def test_sigmoid_is_finite_for_large_inputs():
    x = Tensor([-1000.0, -40.0, 0.0, 40.0, 1000.0])
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        s = x.sigmoid()
    assert_close(s.data, torch.sigmoid(torch.tensor(x.data)))


def test_relu_has_zero_gradient_at_zero():
    x = Tensor([-1.0, 0.0, 2.0])
    x.relu().sum().backward()
    assert np.array_equal(x.grad, [0.0, 0.0, 1.0])


# ---------------------------------------------------------------- matrix product
MATMUL_CASES = {  # name: (shape of a, shape of b) as functions of three sizes
    "matrix @ matrix": lambda n, k, m: ((n, k), (k, m)),
    "vector @ matrix": lambda n, k, m: ((k,), (k, m)),
    "matrix @ vector": lambda n, k, m: ((n, k), (k,)),
    "vector @ vector": lambda n, k, m: ((k,), (k,)),
    "batch @ matrix": lambda n, k, m: ((2, n, k), (k, m)),
    "batch @ batch": lambda n, k, m: ((3, 1, n, k), (2, k, m)),
}


@pytest.mark.parametrize("case", list(MATMUL_CASES))
@FAST
@given(data=st.data(), sizes=st.tuples(*[st.integers(1, 4)] * 3))
def test_matmul(case, data, sizes):
    a_shape, b_shape = MATMUL_CASES[case](*sizes)
    a, b = data.draw(arrays(a_shape)), data.draw(arrays(b_shape))
    check_against_torch(lambda x, y: x @ y, a, b)
    check_against_torch(lambda y: a @ y, b, torch_op=lambda y: torch.from_numpy(a) @ y)


# ---------------------------------------------------------------- reductions and shapes
@pytest.mark.parametrize("reduction", ["sum", "mean"])
@FAST
@given(case=arrays_and_axis(), keepdims=st.booleans())
def test_reductions_over_axes(reduction, case, keepdims):
    x, axis = case

    def torch_op(t):
        if axis is None:  # torch reduces everything when no dim is given
            out = getattr(t, reduction)()
            return out.reshape((1,) * t.ndim) if keepdims else out
        return getattr(t, reduction)(dim=axis, keepdim=keepdims)

    check_against_torch(
        lambda t: getattr(t, reduction)(axis=axis, keepdims=keepdims), x, torch_op=torch_op
    )


@FAST
@given(x=SHAPES.flatmap(arrays), target=st.sampled_from(["flat", "row", "reversed"]))
def test_reshape(x, target):
    shape = {"flat": (x.size,), "row": (1, x.size), "reversed": x.shape[::-1]}[target]
    check_against_torch(lambda t: t.reshape(shape), x)
    check_against_torch(lambda t: t.reshape(*shape), x, torch_op=lambda t: t.reshape(shape))


@FAST
@given(x=hnp.array_shapes(min_dims=1, max_dims=4, max_side=3).flatmap(arrays), data=st.data())
def test_transpose(x, data):
    perm = tuple(data.draw(st.permutations(range(x.ndim))))
    check_against_torch(lambda t: t.transpose(perm), x, torch_op=lambda t: t.permute(perm))
    reverse = tuple(range(x.ndim))[::-1]
    check_against_torch(lambda t: t.transpose(), x, torch_op=lambda t: t.permute(reverse))


def test_T_transposes_a_matrix():
    check_against_torch(lambda t: t.T, np.arange(6.0).reshape(2, 3))


INDICES = {
    "int": 1,
    "negative int": -1,
    "slice": slice(1, 3),
    "slice with step": slice(None, None, 2),
    "int and slice": (2, slice(0, 4)),
    "slice and int": (slice(None), -2),
    "new axis": (None, slice(1, 3)),
    "ellipsis": (Ellipsis, 0),
    "array with repeats": np.array([0, 2, 2, 3, 0]),
    "two arrays": (np.array([0, 1, 1]), np.array([4, 4, 0])),
    "boolean mask": np.array([True, False, True, True]),
}


@pytest.mark.parametrize("name", list(INDICES))
def test_indexing_values_and_gradients(name):
    index = INDICES[name]

    def torch_index(i):
        return torch.from_numpy(i) if isinstance(i, np.ndarray) else i

    torch_idx = tuple(map(torch_index, index)) if isinstance(index, tuple) else torch_index(index)
    x = np.random.default_rng(0).standard_normal((4, 5))
    check_against_torch(lambda t: t[index], x, torch_op=lambda t: t[torch_idx])


def test_repeated_index_accumulates_gradient():
    x = Tensor([1.0, 2.0, 3.0])
    x[np.array([0, 0, 2, 0])].sum().backward()
    assert np.array_equal(x.grad, [3.0, 0.0, 1.0])


# ---------------------------------------------------------------- cat and stack
@st.composite
def tensors_to_cat(draw):
    shape = draw(hnp.array_shapes(min_dims=1, max_dims=3, max_side=3))
    dim = draw(st.integers(-len(shape), len(shape) - 1))
    sizes = draw(st.lists(st.integers(1, 3), min_size=1, max_size=4))
    axis = dim % len(shape)
    shapes = [(*shape[:axis], n, *shape[axis + 1 :]) for n in sizes]
    return [draw(arrays(s)) for s in shapes], dim


@FAST
@given(case=tensors_to_cat())
def test_cat_splits_the_gradient(case):
    xs, dim = case
    check_against_torch(
        lambda *ts: mytorch.cat(ts, dim), *xs, torch_op=lambda *ts: torch.cat(ts, dim)
    )


@FAST
@given(shape=SHAPES, count=st.integers(1, 4), data=st.data())
def test_stack(shape, count, data):
    xs = [data.draw(arrays(shape)) for _ in range(count)]
    dim = data.draw(st.integers(-len(shape) - 1, len(shape)))
    check_against_torch(
        lambda *ts: mytorch.stack(ts, dim), *xs, torch_op=lambda *ts: torch.stack(ts, dim)
    )


def test_cat_of_the_seed_example():
    a, b = Tensor([[1, 2, 3]]), Tensor([[4, 5, 6]])
    assert mytorch.cat((a, b)).shape == (2, 3)
    c = mytorch.cat((a, b), 1)
    assert np.array_equal(c.data, [[1, 2, 3, 4, 5, 6]])
    c.backward(np.arange(6.0).reshape(1, 6))
    assert np.array_equal(a.grad, [[0, 1, 2]]) and np.array_equal(b.grad, [[3, 4, 5]])


@pytest.mark.parametrize("function", [mytorch.cat, mytorch.stack])
def test_cat_and_stack_refuse_an_empty_list(function):
    with pytest.raises(ValueError, match="tensors"):
        function([])


# ---------------------------------------------------------------- the backward pass
def test_tensor_used_twice_receives_the_sum_of_gradients():
    x = Tensor([2.0])
    y = x * x + x  # dy/dx = 2x + 1 = 5
    y.backward()
    assert np.array_equal(x.grad, [5.0])


def test_gradient_arrays_are_not_shared_between_tensors():
    # a + b hands the same upstream array to both inputs; a closure that then adds
    # in place into a.grad (as user-written operations do) must not change b.grad.
    a, b = Tensor(np.ones(3)), Tensor(np.ones(3))
    s = a + b

    def double(t: Tensor) -> Tensor:
        out = Tensor(2 * t.data, (t,), "double")

        def _backward() -> None:
            t.grad += 2 * out.grad

        out._backward = _backward
        return out

    (double(a) + s).sum().backward()
    assert np.array_equal(a.grad, [3.0, 3.0, 3.0])
    assert np.array_equal(b.grad, [1.0, 1.0, 1.0])
    assert np.array_equal(s.grad, [1.0, 1.0, 1.0])


def test_backward_twice_accumulates_in_leaves_like_torch():
    w = Tensor([1.5, -2.0])
    wt = torch.tensor(w.data, requires_grad=True)
    for _ in range(2):
        (w.tanh() * w).sum().backward()
        (wt.tanh() * wt).sum().backward()
    assert_close(w.grad, wt.grad)


def test_grad_is_zeros_until_backward_and_settable():
    x = Tensor([[1.0, 2.0]])
    assert x.grad.shape == (1, 2) and not x.grad.any()
    x.grad = None
    assert not x.grad.any()
    x.grad += 1.0  # the seeds' closures add in place like this
    assert np.array_equal(x.grad, [[1.0, 1.0]])


def test_backward_of_a_thousand_step_chain_needs_no_recursion():
    limit = sys.getrecursionlimit()
    x = Tensor([0.5])
    y = x
    for _ in range(5000):  # a graph far deeper than the recursion limit
        y = y * 0.999 + 0.001
    y.backward()
    assert_close(x.grad, [0.999**5000], rtol=1e-9)
    assert sys.getrecursionlimit() == limit


def test_thousand_step_rnn_backward():
    rnn = nn.RNN(1, 4, 1, rng=0)
    x = np.sin(np.arange(1000.0) / 10).reshape(-1, 1)
    outputs, _ = rnn(x)
    F.mse_loss(outputs, np.zeros((1000, 1))).backward()
    assert all(np.isfinite(p.grad).all() and p.grad.any() for p in rnn.parameters())


# ---------------------------------------------------------------- small helpers
def test_information_and_creation_helpers():
    x = Tensor([[1, 2, 3, 4], [5, 6, 7, 8]])
    assert x.data.dtype == np.float64 and x.shape == (2, 4) and x.ndim == 2
    assert x.size() == (2, 4) and x.size(0) == 2 and x.size(-1) == 4 and len(x) == 2
    assert mytorch.zeros(x.size()).shape == (2, 4) and not mytorch.zeros(2, 4).data.any()
    assert np.array_equal(mytorch.ones((3,)).data, np.ones(3))
    assert Tensor(3).item() == 3.0 and isinstance(Tensor([2.5]).item(), float)
    assert x.numpy() is x.data
    y = (x * 2).detach()
    assert y._prev == () and np.array_equal(y.data, 2 * x.data)
    assert "Tensor(data=" in repr(x) and "grad=" in repr(x) and "op='*'" in repr(x * 2)


def test_numpy_conversion_and_backward_arguments():
    x = Tensor([1.0, 2.0])
    assert np.asarray(x) is x.data and np.array(x, dtype=np.float32).dtype == np.float32
    with pytest.raises(ValueError, match=r"^gradient"):
        (x * 2).backward(np.ones(3))
    x.backward()  # a leaf as the root: its gradient accumulates like any leaf
    x.backward()
    assert np.array_equal(x.grad, [2.0, 2.0])


def test_randn_is_reproducible():
    a = mytorch.randn(3, 2, rng=7)
    b = mytorch.randn((3, 2), rng=np.random.default_rng(7))
    assert a.shape == (3, 2) and np.array_equal(a.data, b.data)
    mytorch.manual_seed(1)
    c = mytorch.randn(4)
    mytorch.manual_seed(1)
    assert np.array_equal(c.data, mytorch.randn(4).data)


# ---------------------------------------------------------------- nn.functional
@st.composite
def arrays_and_dim(draw):
    x = draw(arrays(draw(hnp.array_shapes(min_dims=1, max_dims=3, max_side=4))))
    return x, draw(st.integers(-x.ndim, x.ndim - 1))


@FAST
@given(case=arrays_and_dim())
def test_softmax_and_log_softmax(case):
    x, dim = case
    check_against_torch(lambda t: F.softmax(t, dim), x, torch_op=lambda t: torch.softmax(t, dim))
    check_against_torch(
        lambda t: F.log_softmax(t, dim), x, torch_op=lambda t: torch.log_softmax(t, dim)
    )


def test_softmax_is_stable_for_large_inputs():
    x = Tensor([[1e4, 0.0, -1e4]])
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        assert (
            np.isfinite(F.softmax(x, 1).data).all() and np.isfinite(F.log_softmax(x, 1).data).all()
        )


@FAST
@given(n=st.integers(1, 5), c=st.integers(1, 5), data=st.data())
def test_cross_entropy(n, c, data):
    logits = data.draw(arrays((n, c)))
    targets = np.array(data.draw(st.lists(st.integers(0, c - 1), min_size=n, max_size=n)))
    check_against_torch(
        lambda t: F.cross_entropy(t, targets),
        logits,
        torch_op=lambda t: torch.nn.functional.cross_entropy(t, torch.from_numpy(targets)),
    )


def test_cross_entropy_checks_its_targets():
    with pytest.raises(ValueError, match="targets"):
        F.cross_entropy(Tensor(np.zeros((2, 3))), np.array([0.5, 1.0]))
    with pytest.raises(ValueError, match="logits"):
        F.cross_entropy(Tensor(np.zeros(3)), np.array([0]))


@FAST
@given(x=SHAPES.flatmap(arrays), data=st.data())
def test_mse_loss_matches_torch_and_back_propagates(x, data):
    target = data.draw(arrays(x.shape))
    check_against_torch(
        lambda p: F.mse_loss(p, target),
        x,
        torch_op=lambda p: torch.nn.functional.mse_loss(p, torch.from_numpy(target)),
    )


def test_mse_loss_keeps_the_graph():
    # The original notes rebuilt a Tensor from pred.data: the loss had no graph.
    pred = Tensor([[1.0], [2.0]])
    loss = F.mse_loss(pred * 1.0, Tensor([[0.0], [0.0]]))
    assert loss.shape == () and loss._prev
    loss.backward()
    assert np.array_equal(pred.grad, [[1.0], [2.0]])


def test_mse_loss_refuses_mismatched_shapes():
    with pytest.raises(ValueError, match="target"):
        F.mse_loss(Tensor(np.zeros((6, 1))), np.zeros(6))  # would broadcast to (6, 6)


# ---------------------------------------------------------------- dropout
def test_dropout_is_the_identity_when_not_training_or_p_is_zero():
    x = Tensor(np.arange(1.0, 11.0))
    assert F.dropout(x, 0.5, training=False) is x
    assert F.dropout(x, 0.0) is x


def test_dropout_with_p_one_drops_everything():
    x = Tensor(np.arange(1.0, 11.0))
    with np.errstate(over="raise", invalid="raise", divide="raise"):  # no 1 / (1 - p) by 1 - p = 0
        y = F.dropout(x, 1.0, rng=np.random.default_rng(0))
    assert not y.data.any()
    y.sum().backward()
    assert np.array_equal(x.grad, np.zeros(10))


@FAST
@given(p=st.floats(0.05, 0.95), seed=st.integers(0, 2**32 - 1), shape=SHAPES)
def test_dropout_scales_kept_values_and_masks_the_gradient(p, seed, shape):
    x = Tensor(np.random.default_rng(seed).uniform(1, 2, shape))  # no zeros in x
    y = F.dropout(x, p, rng=np.random.default_rng(seed))
    kept = y.data != 0
    assert_close(y.data[kept], x.data[kept] / (1 - p))
    upstream = np.random.default_rng(seed + 1).standard_normal(shape)
    y.backward(upstream)
    assert_close(x.grad, np.where(kept, upstream / (1 - p), 0.0))


def test_dropout_keeps_about_one_minus_p_and_preserves_the_mean():
    x = Tensor(np.ones(200_000))
    y = F.dropout(x, 0.3, rng=np.random.default_rng(0))
    assert abs((y.data != 0).mean() - 0.7) < 0.01
    assert abs(y.data.mean() - 1.0) < 0.01


def test_dropout_is_reproducible_with_a_generator():
    x = Tensor(np.ones((4, 5)))
    a = F.dropout(x, 0.5, rng=np.random.default_rng(3)).data
    b = F.dropout(x, 0.5, rng=np.random.default_rng(3)).data
    assert np.array_equal(a, b)


@pytest.mark.parametrize("p", [-0.1, 1.5, float("nan")])
def test_dropout_refuses_p_outside_zero_one(p):
    with pytest.raises(ValueError, match=r"^p must"):
        F.dropout(Tensor(np.ones(3)), p)


# ---------------------------------------------------------------- Module and Linear
def test_linear_initialisation_and_parameters():
    layer = nn.Linear(4, 3, rng=0)
    assert layer.weight.shape == (4, 3) and layer.bias.shape == (3,)
    bound = 1 / np.sqrt(4)
    assert np.abs(layer.weight.data).max() <= bound and np.abs(layer.bias.data).max() <= bound
    assert layer.parameters() == [layer.weight, layer.bias]
    assert np.array_equal(nn.Linear(4, 3, rng=0).weight.data, layer.weight.data)
    assert nn.Linear(4, 3, bias=False).parameters()[0].shape == (4, 3)
    assert len(nn.Linear(4, 3, bias=False).parameters()) == 1
    assert repr(layer) == "Linear(in_features=4, out_features=3, bias=True)"
    with pytest.raises(ValueError, match=r"^in_features"):
        nn.Linear(0, 3)


@pytest.mark.parametrize("bias", [True, False])
def test_linear_matches_torch(bias):
    layer = nn.Linear(3, 2, bias=bias, rng=1)
    ref = torch.nn.Linear(3, 2, bias=bias, dtype=torch.float64)
    with torch.no_grad():
        ref.weight.copy_(torch.from_numpy(layer.weight.data.T))
        if bias:
            ref.bias.copy_(torch.from_numpy(layer.bias.data))
    x = np.random.default_rng(2).standard_normal((5, 3))
    check_against_torch(layer, x, torch_op=ref)
    assert_close(layer.weight.grad, ref.weight.grad.T)
    if bias:
        assert_close(layer.bias.grad, ref.bias.grad)


class Tower(nn.Module):
    """A module with parameters in every kind of place parameters() must look."""

    def __init__(self) -> None:
        super().__init__()
        self.first = nn.Linear(2, 3, rng=0)
        self.scale = nn.Parameter(np.ones(3))
        self.constant = Tensor(np.ones(3))  # a plain tensor: not a parameter
        self.blocks = [nn.Linear(3, 3, rng=1), (nn.Linear(3, 3, rng=2),)]
        self.heads = {"a": nn.Linear(3, 1, rng=3), "b": nn.Parameter(np.zeros(1))}
        self.shared = self.first  # the same module twice: its parameters count once

    def forward(self, x):
        return self.heads["a"](self.blocks[0](self.first(x) * self.scale)) + self.heads["b"]


def test_module_finds_parameters_in_a_fixed_order():
    model = Tower()
    names = [name for name, _ in model.named_parameters()]
    assert names == [
        "first.weight",
        "first.bias",
        "scale",
        "blocks.0.weight",
        "blocks.0.bias",
        "blocks.1.0.weight",
        "blocks.1.0.bias",
        "heads.a.weight",
        "heads.a.bias",
        "heads.b",
    ]
    assert [name for name, _ in Tower().named_parameters()] == names  # every run
    assert len({id(p) for p in model.parameters()}) == len(names)


def test_train_eval_and_zero_grad_reach_every_submodule():
    model = Tower()
    modules = [model.first, model.blocks[0], model.blocks[1][0], model.heads["a"]]
    assert model.eval() is model
    assert not model.training and not any(m.training for m in modules)
    model.train()
    assert model.training and all(m.training for m in modules)
    model(Tensor(np.ones((1, 2)))).sum().backward()
    assert model.first.weight.grad.any()
    model.zero_grad()
    assert not any(p.grad.any() for p in model.parameters())


def test_module_call_runs_forward_and_base_forward_is_abstract():
    with pytest.raises(NotImplementedError):
        nn.Module()(1)


# ---------------------------------------------------------------- RNNs against torch.nn.RNN
def torch_rnn_like(model: nn.RNN) -> tuple[torch.nn.RNN, torch.nn.Linear]:
    """torch.nn.RNN + nn.Linear with the weights of a mytorch RNN.

    A mytorch layer's weight stacks W_ih.T over W_hh.T; its bias is b_ih + b_hh,
    so torch gets b_hh = 0.
    """
    hidden = model.hidden_size
    bias = model.output_layer.bias is not None
    rnn = torch.nn.RNN(
        model.input_size,
        hidden,
        num_layers=model.num_layers,
        nonlinearity=model.nonlinearity,
        bias=bias,
        dtype=torch.float64,
    )
    head = torch.nn.Linear(hidden, model.output_size, bias=bias, dtype=torch.float64)
    with torch.no_grad():
        for i, layer in enumerate(model.layers):
            w = torch.from_numpy(layer.weight.data)
            getattr(rnn, f"weight_ih_l{i}").copy_(w[:-hidden].T)
            getattr(rnn, f"weight_hh_l{i}").copy_(w[-hidden:].T)
            if bias:
                getattr(rnn, f"bias_ih_l{i}").copy_(torch.from_numpy(layer.bias.data))
                getattr(rnn, f"bias_hh_l{i}").zero_()
        head.weight.copy_(torch.from_numpy(model.output_layer.weight.data.T))
        if bias:
            head.bias.copy_(torch.from_numpy(model.output_layer.bias.data))
    return rnn, head


def compare_rnn_with_torch(model: nn.RNN, forward: Callable, x: np.ndarray, seed: int = 0):
    """Outputs to 1e-10, final states, and gradients of weights and input to 1e-8."""
    rnn, head = torch_rnn_like(model)
    x_mine, x_torch = Tensor(x.copy()), torch.tensor(x, requires_grad=True)
    outputs, states = forward(x_mine)
    states_torch, h_n = rnn(x_torch)  # unbatched input (T, D)
    outputs_torch = head(states_torch)
    assert outputs.shape == tuple(outputs_torch.shape)
    assert_close(outputs.data, outputs_torch, rtol=1e-10, atol=1e-12)
    assert len(states) == model.num_layers
    for i, state in enumerate(states):
        assert state.shape == (1, model.hidden_size)
        assert_close(state.data[0], h_n[i], rtol=1e-10, atol=1e-12)

    upstream = np.random.default_rng(seed).standard_normal(outputs.shape)
    outputs.backward(upstream)
    outputs_torch.backward(torch.from_numpy(upstream))
    tol = {"rtol": 1e-8, "atol": 1e-10}
    hidden = model.hidden_size
    for i, layer in enumerate(model.layers):
        assert_close(layer.weight.grad[:-hidden], getattr(rnn, f"weight_ih_l{i}").grad.T, **tol)
        assert_close(layer.weight.grad[-hidden:], getattr(rnn, f"weight_hh_l{i}").grad.T, **tol)
        if layer.bias is not None:
            assert_close(layer.bias.grad, getattr(rnn, f"bias_ih_l{i}").grad, **tol)
    assert_close(model.output_layer.weight.grad, head.weight.grad.T, **tol)
    assert_close(x_mine.grad, x_torch.grad, **tol)


def rnn_by_hand(model: nn.RNN, x: Tensor) -> tuple[Tensor, list[Tensor]]:
    """An independent multi-layer RNN from Tensor operations and the model's Linear layers.

    Instead of cat([input, h]) @ W it splits W into its input and state rows and
    adds two products; the states start at zero and the output layer is applied to
    all states at once.
    """
    hidden = model.hidden_size
    phi = Tensor.tanh if model.nonlinearity == "tanh" else Tensor.relu
    layer_inputs = [x[t].reshape(1, -1) for t in range(x.shape[0])]
    finals = []
    for layer in model.layers:
        w_x, w_h = layer.weight[:-hidden], layer.weight[-hidden:]
        h = mytorch.zeros(1, hidden)
        states = []
        for inp in layer_inputs:
            z = inp @ w_x + h @ w_h
            h = phi(z + layer.bias if layer.bias is not None else z)
            states.append(h)
        finals.append(h)
        layer_inputs = states
    return model.output_layer(mytorch.cat(layer_inputs, 0)), finals


RNN_CASES = [  # (input size, hidden size, output size, layers, nonlinearity, bias, T)
    (1, 10, 1, 1, "tanh", True, 6),
    (3, 4, 2, 2, "tanh", True, 5),
    (2, 5, 3, 3, "tanh", True, 7),
    (1, 10, 1, 3, "relu", True, 6),
    (2, 3, 2, 2, "relu", True, 4),
    (2, 4, 1, 1, "relu", True, 3),
    (2, 4, 2, 2, "tanh", False, 4),
]


@pytest.mark.parametrize("case", RNN_CASES)
def test_rnn_by_hand_matches_torch(case):
    d, h, q, layers, phi, bias, steps = case
    model = nn.RNN(d, h, q, num_layers=layers, nonlinearity=phi, bias=bias, rng=layers)
    x = np.random.default_rng(1).standard_normal((steps, d))
    compare_rnn_with_torch(model, lambda xt: rnn_by_hand(model, xt), x)


@pytest.mark.parametrize("case", RNN_CASES)
def test_mytorch_rnn_matches_torch(case):
    d, h, q, layers, phi, bias, steps = case
    model = nn.RNN(d, h, q, num_layers=layers, nonlinearity=phi, bias=bias, rng=layers)
    x = np.random.default_rng(2).standard_normal((steps, d))
    compare_rnn_with_torch(model, model, x)


def test_rnn_structure_and_array_input():
    model = nn.RNN(1, 10, 1, num_layers=3, nonlinearity="relu", rng=0)
    assert [layer.weight.shape for layer in model.layers] == [(11, 10), (20, 10), (20, 10)]
    assert model.output_layer.weight.shape == (10, 1)
    assert len(model.parameters()) == 8
    x = np.arange(1.0, 7.0).reshape(6, 1)
    outputs, states = model(x)  # a numpy array works as well as a Tensor
    again, _ = model(Tensor(x))
    assert outputs.shape == (6, 1) and [s.shape for s in states] == [(1, 10)] * 3
    assert np.array_equal(outputs.data, again.data)  # the state restarts at zero
    assert "num_layers=3" in repr(model)


def test_rnn_validates_its_arguments():
    with pytest.raises(ValueError, match=r"^nonlinearity"):
        nn.RNN(1, 2, 1, nonlinearity="sigmoid")
    with pytest.raises(ValueError, match=r"^x"):
        nn.RNN(2, 3, 1)(np.zeros((4, 3)))


# ---------------------------------------------------------------- optimizers
def make_problem(seed: int = 0):
    """A small regression with a parameter that never gets a gradient."""
    rng = np.random.default_rng(seed)
    x, y = rng.standard_normal((8, 3)), rng.standard_normal((8, 2))
    weight, bias, unused = (
        rng.standard_normal((3, 2)),
        rng.standard_normal(2),
        rng.standard_normal(4),
    )
    return x, y, [weight, bias, unused]


def train_both(make_mine: Callable, make_torch: Callable, steps: int = 6):
    x, y, initial = make_problem()
    mine = [nn.Parameter(p.copy()) for p in initial]
    theirs = [torch.tensor(p, requires_grad=True) for p in initial]
    opt_mine, opt_torch = make_mine(mine), make_torch(theirs)
    for step in range(steps):
        scale = 1.0 + step  # the loss changes from step to step
        opt_mine.zero_grad()
        loss = (((Tensor(x) @ mine[0] + mine[1]).tanh() * scale - y) ** 2).mean()
        loss.backward()
        opt_mine.step()
        opt_torch.zero_grad()
        ref = (
            ((torch.from_numpy(x) @ theirs[0] + theirs[1]).tanh() * scale - torch.from_numpy(y))
            ** 2
        ).mean()
        ref.backward()
        opt_torch.step()
        assert_close(loss.data, ref)
        for p, t in zip(mine, theirs, strict=True):
            assert_close(p.data, t, rtol=1e-10, atol=1e-12)
    assert np.array_equal(mine[2].data, initial[2])  # no gradient: left alone


@pytest.mark.parametrize("momentum", [0.0, 0.9])
def test_sgd_matches_torch_step_for_step(momentum):
    train_both(
        lambda ps: optim.SGD(ps, lr=0.1, momentum=momentum),
        lambda ps: torch.optim.SGD(ps, lr=0.1, momentum=momentum),
    )


@pytest.mark.parametrize(
    "options",
    [{}, {"lr": 0.05}, {"lr": 0.01, "betas": (0.8, 0.99), "eps": 1e-6}],
)
def test_adam_matches_torch_step_for_step(options):
    train_both(lambda ps: optim.Adam(ps, **options), lambda ps: torch.optim.Adam(ps, **options))


def test_optimizers_validate_their_arguments():
    p = [nn.Parameter(np.zeros(2))]
    with pytest.raises(ValueError, match=r"^lr"):
        optim.SGD(p, lr=-1)
    with pytest.raises(ValueError, match=r"^betas"):
        optim.Adam(p, betas=(0.9, 1.0))
    with pytest.raises(ValueError, match=r"^params"):
        optim.Adam([])


# ---------------------------------------------------------------- end to end
def cumulative_sum_data(samples: int, seq_len: int, rng: np.random.Generator):
    """The original notes' task: inputs 1..9 (scaled by 1/10), target the running sum."""
    inputs = rng.integers(1, 10, size=(samples, seq_len, 1)) / 10.0
    return inputs, np.cumsum(inputs, axis=1)


def test_rnn_learns_the_cumulative_sum():
    rng = np.random.default_rng(0)
    inputs, targets = cumulative_sum_data(20, 6, rng)
    model = nn.RNN(1, 10, 1, num_layers=2, rng=rng)
    optimizer = optim.Adam(model.parameters(), lr=0.01)

    def epoch_loss(train: bool) -> float:
        total = 0.0
        for x, y in zip(inputs, targets, strict=True):
            optimizer.zero_grad()
            loss = F.mse_loss(model(x)[0], y)
            if train:
                loss.backward()
                optimizer.step()
            total += loss.item()
        return total / len(inputs)

    before = epoch_loss(train=False)
    for _ in range(40):
        epoch_loss(train=True)
    after = epoch_loss(train=False)
    assert after < before / 50, (before, after)


# ---------------------------------------------------------------- the benchmark
def test_benchmark_produces_a_ratio():
    result = run_benchmark(repeats=3, warmup=1)
    assert set(result) == {"mytorch", "torch", "ratio"}
    assert all(np.isfinite(v) and v > 0 for v in result.values())


def test_benchmark_runs_as_a_module():
    done = subprocess.run(
        [sys.executable, "-m", "mytorch.bench", "--repeats", "2", "--warmup", "1"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "ratio mytorch / torch" in done.stdout
