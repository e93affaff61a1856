"""Oracle tests of the 03_bptt reference solution, and a smoke test of rnncourse.figures.

The reference code is taken from the source notebook (solution cells, markers removed) and
executed; its forward and backward passes are compared with torch autograd in float64 and with
central finite differences, and clip_gradients with its contract."""

import matplotlib
import numpy as np
import pytest
import torch

from tests.conftest import reference_code

matplotlib.use("Agg")

NAMES = ("W_xh", "W_hh", "b_h", "W_hq", "b_q")


@pytest.fixture(scope="module")
def ref():
    return reference_code("03_bptt", np=np)


def make_case(seed, T, B, D, H, Q, scale=0.6):
    rng = np.random.default_rng(seed)
    X, h0 = rng.normal(size=(T, B, D)), rng.normal(size=(B, H))
    shapes = {"W_xh": (D, H), "W_hh": (H, H), "b_h": (H,), "W_hq": (H, Q), "b_q": (Q,)}
    params = {name: scale * rng.normal(size=shape) for name, shape in shapes.items()}
    dY = rng.normal(size=(T, B, Q))
    return X, h0, params, dY


def torch_reference(X, h0, params, dY):
    tp = {name: torch.tensor(params[name], requires_grad=True) for name in NAMES}
    th0 = torch.tensor(h0, requires_grad=True)
    h, outputs = th0, []
    for t in range(X.shape[0]):
        h = torch.tanh(torch.tensor(X[t]) @ tp["W_xh"] + h @ tp["W_hh"] + tp["b_h"])
        outputs.append(h @ tp["W_hq"] + tp["b_q"])
    Y = torch.stack(outputs)
    (Y * torch.tensor(dY)).sum().backward()
    grads = {name: tp[name].grad.numpy() for name in NAMES}
    grads["h0"] = th0.grad.numpy()
    return Y.detach().numpy(), grads


CASES = [
    (0, 4, 2, 3, 5, 2),
    (1, 1, 3, 2, 4, 2),  # one step
    (2, 6, 1, 3, 3, 2),  # batch of one
    (3, 12, 2, 3, 4, 4),  # longer sequence, Q == H
]


@pytest.mark.parametrize("case", CASES)
def test_forward_and_backward_match_torch(ref, case):
    X, h0, params, dY = make_case(*case)
    Y, cache = ref["rnn_forward"](X, h0, params)
    Y_torch, expected = torch_reference(X, h0, params, dY)
    assert Y.dtype == np.float64 and Y.shape == Y_torch.shape
    np.testing.assert_allclose(Y, Y_torch, rtol=1e-10, atol=1e-12)
    grads = ref["rnn_backward"](dY, cache)
    assert set(grads) == {*NAMES, "h0"}
    for name, value in expected.items():
        assert grads[name].shape == value.shape, name
        np.testing.assert_allclose(grads[name], value, rtol=1e-10, atol=1e-12, err_msg=name)


def test_backward_matches_central_differences(ref):
    X, h0, params, dY = make_case(5, 5, 2, 3, 4, 2)
    grads = ref["rnn_backward"](dY, ref["rnn_forward"](X, h0, params)[1])
    arrays = {**{name: params[name].copy() for name in NAMES}, "h0": h0.copy()}

    def loss():
        p = {name: arrays[name] for name in NAMES}
        return float(np.sum(ref["rnn_forward"](X, arrays["h0"], p)[0] * dY))

    eps = 1e-6
    for name, a in arrays.items():
        numerical = np.zeros_like(a)
        for i in np.ndindex(a.shape):
            saved = a[i]
            a[i] = saved + eps
            plus = loss()
            a[i] = saved - eps
            minus = loss()
            a[i] = saved
            numerical[i] = (plus - minus) / (2 * eps)
        np.testing.assert_allclose(grads[name], numerical, rtol=1e-6, atol=1e-7, err_msg=name)


def test_forward_does_not_modify_inputs(ref):
    X, h0, params, _ = make_case(6, 3, 2, 2, 3, 2)
    copies = (X.copy(), h0.copy(), {k: v.copy() for k, v in params.items()})
    ref["rnn_forward"](X, h0, params)
    np.testing.assert_array_equal(X, copies[0])
    np.testing.assert_array_equal(h0, copies[1])
    for name in NAMES:
        np.testing.assert_array_equal(params[name], copies[2][name])


@pytest.mark.parametrize(
    ("change", "argument"),
    [
        (lambda X, h0, p: (X[0], h0, p), "X"),
        (lambda X, h0, p: (X, h0[:1], p), "h0"),
        (lambda X, h0, p: (X, h0[0], p), "h0"),
        (lambda X, h0, p: (X, h0, {k: v for k, v in p.items() if k != "W_hh"}), "params"),
        (lambda X, h0, p: (X, h0, {**p, "W_xh": p["W_xh"].T}), "params"),
        (lambda X, h0, p: (X, h0, {**p, "b_q": np.zeros(5)}), "params"),
    ],
)
def test_forward_errors_name_the_argument(ref, change, argument):
    X, h0, params, _ = make_case(7, 3, 2, 4, 3, 2)
    with pytest.raises(ValueError, match=rf"^{argument}\b"):
        ref["rnn_forward"](*change(X, h0, params))


def test_backward_rejects_wrong_dY(ref):
    X, h0, params, dY = make_case(8, 3, 2, 4, 3, 2)
    cache = ref["rnn_forward"](X, h0, params)[1]
    with pytest.raises(ValueError, match=r"^dY\b"):
        ref["rnn_backward"](dY[:, :, :1], cache)


def _global_norm(grads):
    return np.sqrt(sum(np.sum(g**2) for g in grads.values()))


def test_clip_gradients_contract(ref):
    clip = ref["clip_gradients"]
    rng = np.random.default_rng(9)
    grads = {"a": 10 * rng.normal(size=(3, 4)), "b": 0.1 * rng.normal(size=(4,))}
    originals = {k: v.copy() for k, v in grads.items()}
    norm = _global_norm(grads)

    clipped = clip(grads, 2.0)
    assert clipped is not grads and set(clipped) == set(grads)
    for name in grads:
        np.testing.assert_array_equal(grads[name], originals[name])  # inputs untouched
        assert clipped[name] is not grads[name]
        np.testing.assert_allclose(clipped[name], grads[name] * (2.0 / norm), rtol=1e-12)
    assert _global_norm(clipped) == pytest.approx(2.0, rel=1e-12)

    below = clip(grads, 2 * norm)  # below the threshold: unchanged, still new arrays
    for name in grads:
        np.testing.assert_array_equal(below[name], grads[name])
        assert below[name] is not grads[name]

    zeros = clip({"z": np.zeros(3)}, 1.0)
    np.testing.assert_array_equal(zeros["z"], np.zeros(3))

    for theta in (0.0, -1.0):
        with pytest.raises(ValueError, match=r"^theta\b"):
            clip(grads, theta)


def test_unrolled_rnn_figure_smoke():
    import matplotlib.pyplot as plt
    from matplotlib.figure import Figure

    from rnncourse.figures import unrolled_rnn_figure

    for kwargs in (
        {},
        {"steps": 1, "show_outputs": False},
        {"steps": 4, "show_losses": True, "show_backward": True, "title": "t"},
        {"steps": 3, "time_labels": ["t-1", "t", "t+1"], "show_losses": False},
    ):
        fig = unrolled_rnn_figure(**kwargs)
        assert isinstance(fig, Figure)
        fig.canvas.draw()  # renders every mathtext label
        texts = [t.get_text() for t in fig.axes[0].texts]
        assert any("h" in t for t in texts)
        plt.close(fig)
    with pytest.raises(ValueError):
        unrolled_rnn_figure(0)
    with pytest.raises(ValueError):
        unrolled_rnn_figure(2, show_outputs=False, show_losses=True)
