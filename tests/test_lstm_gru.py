"""Oracle tests of the 07_lstm_gru reference solution.

The reference code is taken from the source notebook (solution cells, markers removed) and
executed; its cells and forward functions are compared with PyTorch's nn.LSTMCell, nn.GRUCell,
nn.LSTM and nn.GRU holding the same weights, in float64.
"""

from __future__ import annotations

import pytest
import torch
from torch import nn

from tests.conftest import reference_code

RTOL, ATOL = 1e-10, 1e-12

# (B, T, D, H): square (D == H), a batch of one, a single step, one hidden unit, longer.
SHAPES = [(2, 5, 3, 4), (3, 4, 4, 4), (1, 6, 3, 5), (2, 1, 2, 3), (4, 3, 2, 1), (2, 25, 3, 6)]


@pytest.fixture(scope="module")
def ref():
    return reference_code("07_lstm_gru", torch=torch)


def layer(kind, D, H, seed):
    """An nn.LSTM / nn.GRU (batch_first, float64) with random weights and biases."""
    torch.manual_seed(seed)
    module = {"lstm": nn.LSTM, "gru": nn.GRU}[kind](D, H, batch_first=True).double()
    with torch.no_grad():
        for p in module.parameters():
            p.normal_(0.0, 0.6)
    return module


def weights(module):
    return (module.weight_ih_l0, module.weight_hh_l0, module.bias_ih_l0, module.bias_hh_l0)


def close(actual, expected):
    assert actual.shape == expected.shape
    assert actual.dtype == expected.dtype
    torch.testing.assert_close(actual, expected, rtol=RTOL, atol=ATOL)


@pytest.mark.parametrize("B, T, D, H", SHAPES)
def test_lstm_cell_equals_nn_lstmcell(ref, B, T, D, H):
    lstm = layer("lstm", D, H, seed=B + 10 * D + 100 * H)
    cell = nn.LSTMCell(D, H).double()
    with torch.no_grad():
        for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
            getattr(cell, name).copy_(getattr(lstm, f"{name}_l0"))
    gen = torch.Generator().manual_seed(T)
    x, h, c = (torch.randn(B, n, generator=gen, dtype=torch.float64) for n in (D, H, H))
    with torch.no_grad():
        h_new, c_new = ref["lstm_cell"](x, h, c, *weights(lstm))
        h_ref, c_ref = cell(x, (h, c))
    close(h_new, h_ref)
    close(c_new, c_ref)


@pytest.mark.parametrize("B, T, D, H", SHAPES)
def test_gru_cell_equals_nn_grucell(ref, B, T, D, H):
    gru = layer("gru", D, H, seed=B + 10 * D + 100 * H)
    cell = nn.GRUCell(D, H).double()
    with torch.no_grad():
        for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
            getattr(cell, name).copy_(getattr(gru, f"{name}_l0"))
    gen = torch.Generator().manual_seed(T)
    x, h = (
        torch.randn(B, D, generator=gen, dtype=torch.float64),
        torch.randn(B, H, generator=gen, dtype=torch.float64),
    )
    with torch.no_grad():
        close(ref["gru_cell"](x, h, *weights(gru)), cell(x, h))


@pytest.mark.parametrize("B, T, D, H", SHAPES)
def test_lstm_forward_equals_nn_lstm(ref, B, T, D, H):
    lstm = layer("lstm", D, H, seed=7 * T + H)
    gen = torch.Generator().manual_seed(B)
    x = torch.randn(B, T, D, generator=gen, dtype=torch.float64)
    h0, c0 = (torch.randn(B, H, generator=gen, dtype=torch.float64) for _ in range(2))
    with torch.no_grad():
        output, (h_n, c_n) = ref["lstm_forward"](x, *weights(lstm), h0, c0)
        out_ref, (h_ref, c_ref) = lstm(x, (h0[None], c0[None]))
    close(output, out_ref)
    close(h_n, h_ref)
    close(c_n, c_ref)


@pytest.mark.parametrize("B, T, D, H", SHAPES)
def test_gru_forward_equals_nn_gru(ref, B, T, D, H):
    gru = layer("gru", D, H, seed=7 * T + H)
    gen = torch.Generator().manual_seed(B)
    x = torch.randn(B, T, D, generator=gen, dtype=torch.float64)
    h0 = torch.randn(B, H, generator=gen, dtype=torch.float64)
    with torch.no_grad():
        output, h_n = ref["gru_forward"](x, *weights(gru), h0)
        out_ref, h_ref = gru(x, h0[None])
    close(output, out_ref)
    close(h_n, h_ref)


def test_forward_functions_keep_float32(ref):
    lstm, gru = layer("lstm", 3, 4, seed=0).float(), layer("gru", 3, 4, seed=1).float()
    x, h0 = torch.randn(2, 5, 3), torch.randn(2, 4)
    with torch.no_grad():
        output, _ = ref["lstm_forward"](x, *weights(lstm), h0, h0)
        out_ref, _ = lstm(x, (h0[None], h0[None]))
        torch.testing.assert_close(output, out_ref)
        out_gru, _ = ref["gru_forward"](x, *weights(gru), h0)
        torch.testing.assert_close(out_gru, gru(x, h0[None])[0])
    assert output.dtype == out_gru.dtype == torch.float32


def test_gradients_flow_through_the_reference(ref):
    """The reference is differentiable and its gradients equal nn.LSTM's."""
    lstm = layer("lstm", 3, 4, seed=5)
    x = torch.randn(2, 6, 3, dtype=torch.float64)
    h0 = torch.zeros(2, 4, dtype=torch.float64)
    ref["lstm_forward"](x, *weights(lstm), h0, h0)[0].sum().backward()
    mine = [p.grad.clone() for p in weights(lstm)]
    lstm.zero_grad()
    lstm(x, (h0[None], h0[None]))[0].sum().backward()
    for g, p in zip(mine, weights(lstm), strict=True):
        torch.testing.assert_close(g, p.grad, rtol=1e-9, atol=1e-12)


def test_textbook_gru_differs_from_pytorch(ref):
    """The textbook update (r applied to h before W_hn) is not what nn.GRUCell computes."""
    gru = layer("gru", 3, 4, seed=3)
    W_ih, W_hh, b_ih, b_hh = weights(gru)
    x, h = torch.randn(2, 3, dtype=torch.float64), torch.randn(2, 4, dtype=torch.float64)
    a_r, a_z, a_n = (x @ W_ih.T + b_ih).chunk(3, dim=1)
    s_r, s_z, _ = (h @ W_hh.T + b_hh).chunk(3, dim=1)
    r, z = torch.sigmoid(a_r + s_r), torch.sigmoid(a_z + s_z)
    n = torch.tanh(a_n + (r * h) @ W_hh[8:].T + b_hh[8:])
    textbook = (1 - z) * n + z * h
    with torch.no_grad():
        assert (textbook - ref["gru_cell"](x, h, W_ih, W_hh, b_ih, b_hh)).abs().max() > 1e-3


@pytest.mark.parametrize(
    "call, argument",
    [
        (lambda f, w, x, h: f["lstm_cell"](x[:, 0], h, h[:, :3], *w), "c"),
        (lambda f, w, x, h: f["lstm_cell"](x[:, 0, :2], h, h, *w), "x"),
        (lambda f, w, x, h: f["lstm_cell"](x[:, 0], h, h, w[0][:12], *w[1:]), "W_ih"),
        (lambda f, w, x, h: f["lstm_forward"](x[:, :0], *w, h, h), "input"),
        (lambda f, w, x, h: f["lstm_forward"](x, *w, h[None], h), "h0"),
        (lambda f, w, x, h: f["lstm_forward"](x, *w, h, h[:1]), "c0"),
        (lambda f, w, x, h: f["lstm_forward"](x, *w[:3], w[3][:4], h, h), "b_hh"),
    ],
)
def test_shape_errors_name_the_argument(ref, call, argument):
    w = weights(layer("lstm", 3, 4, seed=0))
    x, h = torch.randn(2, 5, 3, dtype=torch.float64), torch.randn(2, 4, dtype=torch.float64)
    with pytest.raises(ValueError, match=rf"^{argument} "):
        call(ref, w, x, h)
