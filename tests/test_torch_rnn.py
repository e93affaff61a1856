"""Oracle tests of the 06_torch_rnn reference solution, and unit tests of rnncourse.torch_training.

The reference code is taken from the source notebook (solution cells, markers removed) and
executed; each function is compared with ``torch.nn.RNN`` holding the same weights (one layer,
bidirectional, stacked) in float64, on varied shapes including D == H, B == 1 and T == 1, and
RNNClassifier with a hand-written forward pass of nn.RNN + nn.Linear."""

import matplotlib
import numpy as np
import pytest
import torch
from torch import nn

from rnncourse.torch_training import (
    TASKS,
    SequenceTask,
    evaluate,
    fit,
    make_sequence_task,
    plot_history,
)
from tests.conftest import reference_code

matplotlib.use("Agg")

RTOL, ATOL = 1e-10, 1e-12

# (B, T, D, H): D == H, a batch of one, one step, a longer sequence
SHAPES = [(2, 3, 2, 3), (3, 5, 4, 4), (1, 6, 3, 5), (4, 1, 2, 3), (2, 17, 3, 2)]


@pytest.fixture(scope="module")
def ref():
    return reference_code("06_torch_rnn", np=np, torch=torch, nn=nn)


def make_rnn(seed, D, H, **kwargs):
    torch.manual_seed(seed)
    return nn.RNN(D, H, batch_first=True, **kwargs).double()


def weights(rnn, suffix):
    """(W_ih, W_hh, b_ih, b_hh) of nn.RNN for a suffix like 'l0' or 'l0_reverse', detached."""
    return tuple(
        getattr(rnn, f"{kind}_{suffix}").detach()
        for kind in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")
    )


def inputs(seed, B, T, D, H, layers):
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn(B, T, D, generator=gen, dtype=torch.float64)
    h0 = torch.randn(layers, B, H, generator=gen, dtype=torch.float64)
    return x, h0


def assert_same(actual, expected):
    assert actual.dtype == torch.float64
    assert actual.shape == expected.shape
    torch.testing.assert_close(actual, expected.detach(), rtol=RTOL, atol=ATOL)


@pytest.mark.parametrize("shape", SHAPES)
def test_rnn_forward_matches_nn_rnn(ref, shape):
    B, T, D, H = shape
    rnn = make_rnn(sum(shape), D, H)
    x, h0 = inputs(1, B, T, D, H, 1)
    expected_out, expected_hn = rnn(x, h0)
    output, h_n = ref["rnn_forward"](x, *weights(rnn, "l0"), h0[0])
    assert_same(output, expected_out)
    assert_same(h_n, expected_hn)
    # output[:, t] is the state of step t, h_n the last one
    assert_same(h_n[0], output[:, -1])


@pytest.mark.parametrize("shape", SHAPES)
def test_bidirectional_matches_nn_rnn(ref, shape):
    B, T, D, H = shape
    rnn = make_rnn(sum(shape) + 1, D, H, bidirectional=True)
    x, h0 = inputs(2, B, T, D, H, 2)
    expected_out, expected_hn = rnn(x, h0)
    output, h_n = ref["bidirectional_rnn_forward"](
        x, weights(rnn, "l0"), weights(rnn, "l0_reverse"), h0
    )
    assert_same(output, expected_out)
    assert_same(h_n, expected_hn)
    assert_same(h_n[1], output[:, 0, H:])  # the backward direction ends at the first step


@pytest.mark.parametrize("layers", [1, 2, 3])
@pytest.mark.parametrize("shape", SHAPES)
def test_stacked_matches_nn_rnn(ref, shape, layers):
    B, T, D, H = shape
    rnn = make_rnn(sum(shape) + layers, D, H, num_layers=layers)
    x, h0 = inputs(3, B, T, D, H, layers)
    expected_out, expected_hn = rnn(x, h0)
    stack = [weights(rnn, f"l{i}") for i in range(layers)]
    output, h_n = ref["stacked_rnn_forward"](x, stack, h0)
    assert_same(output, expected_out)
    assert_same(h_n, expected_hn)


def test_float32_keeps_dtype(ref):
    torch.manual_seed(0)
    rnn = nn.RNN(3, 4, batch_first=True)
    x = torch.randn(2, 5, 3)
    output, _ = ref["rnn_forward"](x, *weights(rnn, "l0"), torch.zeros(2, 4))
    assert output.dtype == torch.float32
    torch.testing.assert_close(output, rnn(x)[0].detach(), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("layers", [1, 2, 3])
def test_classifier_structure_and_logits(ref, layers):
    torch.manual_seed(layers)
    model = ref["RNNClassifier"](3, 5, layers, 4).double()
    assert isinstance(model.rnn, nn.RNN) and isinstance(model.fc, nn.Linear)
    assert model.rnn.batch_first and model.rnn.num_layers == layers
    keys = [f"rnn.{k}_l{i}" for i in range(layers) for k in
            ("weight_ih", "weight_hh", "bias_ih", "bias_hh")]  # fmt: skip
    assert list(model.state_dict()) == [*keys, "fc.weight", "fc.bias"]
    x = torch.randn(2, 6, 3, dtype=torch.float64)
    # by hand: the stacked forward pass from zeros, then the linear layer on the last step
    stack = [weights(model.rnn, f"l{i}") for i in range(layers)]
    top, _ = ref["stacked_rnn_forward"](x, stack, torch.zeros(layers, 2, 5, dtype=torch.float64))
    expected = top[:, -1] @ model.fc.weight.T + model.fc.bias
    assert_same(model(x), expected)


@pytest.mark.parametrize(
    ("name", "make_args", "argument"),
    [
        ("rnn_forward", lambda x, w, h: (x[0], *w, h[0]), "input"),
        ("rnn_forward", lambda x, w, h: (x, *w, h), "h_prev"),  # (1, B, H) instead of (B, H)
        ("rnn_forward", lambda x, w, h: (x, w[0], w[1][:, :2], w[2], w[3], h[0]), "W_hh"),
        ("rnn_forward", lambda x, w, h: (x, *w[:2], w[2][:2], w[3], h[0]), "b_ih"),
        ("bidirectional_rnn_forward", lambda x, w, h: (x, w, w, h), "h0"),  # (1, B, H)
        ("bidirectional_rnn_forward", lambda x, w, h: (x, w[:3], w, h.repeat(2, 1, 1)), "fwd"),
        ("stacked_rnn_forward", lambda x, w, h: (x, [w, w], h), "layers"),  # 2 layers, 1 state
        ("stacked_rnn_forward", lambda x, w, h: (x[0], [w], h), "input"),
    ],
)
def test_errors_name_the_argument(ref, name, make_args, argument):
    rnn = make_rnn(0, 3, 3)
    x, h0 = inputs(0, 2, 4, 3, 3, 1)
    with pytest.raises(ValueError, match=f"^{argument}"):
        ref[name](*make_args(x, weights(rnn, "l0"), h0))


# ---------------------------------------------------------------------------------------------
# rnncourse.torch_training
# ---------------------------------------------------------------------------------------------


class LastStep(nn.Module):
    def __init__(self, D, H, C, cell=nn.RNN):
        super().__init__()
        self.rnn = cell(D, H, batch_first=True)
        self.fc = nn.Linear(H, C)

    def forward(self, x):
        return self.fc(self.rnn(x)[0][:, -1])


@pytest.mark.parametrize("task", sorted(TASKS))
def test_tasks_labels_follow_their_rule(task):
    data = make_sequence_task(task, 400, 7, seed=3)
    assert isinstance(data, SequenceTask)
    X, y, num_classes = data
    V = X.shape[-1]
    assert X.shape == (400, 7, V) and X.dtype == torch.float32
    assert y.shape == (400,) and y.dtype == torch.int64
    assert torch.equal(X.sum(dim=-1), torch.ones(400, 7))  # one-hot rows
    tokens = data.tokens
    counts = torch.stack([(tokens == v).sum(dim=1) for v in range(V)], dim=1)
    if task == "parity":
        expected = counts[:, 1] % 2
    elif task == "first_equals_last":
        expected = (tokens[:, 0] == tokens[:, -1]).long()
    elif task == "majority":
        expected = counts.argmax(dim=1)
        top = counts.max(dim=1, keepdim=True).values
        assert ((counts == top).sum(dim=1) == 1).all()  # no ties
    else:
        expected = tokens[:, 0]
    assert torch.equal(y, expected)
    assert set(y.tolist()) == set(range(num_classes))
    assert 1 / num_classes - 0.1 < 1 / num_classes <= data.chance < 1 / num_classes + 0.12


def test_tasks_are_seeded():
    a = make_sequence_task("majority", 50, 9, seed=1)
    b = make_sequence_task("majority", 50, 9, seed=1)
    c = make_sequence_task("majority", 50, 9, seed=2)
    assert torch.equal(a.X, b.X) and torch.equal(a.y, b.y)
    assert not torch.equal(a.X, c.X)
    assert make_sequence_task("first_token", 5, 4, dtype=torch.float64).X.dtype == torch.float64
    assert make_sequence_task("first_token", 5, 4, num_symbols=6).X.shape == (5, 4, 6)


@pytest.mark.parametrize(
    ("kwargs", "argument"),
    [
        ({"task": "nope"}, "task"),
        ({"num_samples": 0}, "num_samples"),
        ({"task": "first_equals_last", "seq_len": 1}, "seq_len"),
        ({"num_symbols": 1}, "num_symbols"),
    ],
)
def test_task_errors(kwargs, argument):
    args = {"task": "parity", "num_samples": 10, "seq_len": 5, **kwargs}
    with pytest.raises(ValueError, match=f"^{argument}"):
        make_sequence_task(**args)


def test_fit_learns_an_easy_task_and_records_history():
    train = make_sequence_task("first_token", 512, 5, seed=0)
    test = make_sequence_task("first_token", 256, 5, seed=1)
    torch.manual_seed(0)
    model = LastStep(4, 16, train.num_classes, cell=nn.GRU)
    history = fit(model, train, test, epochs=8, batch_size=32, lr=0.02, progress=False)
    assert set(history) == {
        "epoch", "train_loss", "train_accuracy", "test_loss", "test_accuracy", "seconds"
    }  # fmt: skip
    assert history["epoch"] == list(range(1, 9))
    assert all(len(v) == 8 for v in history.values())
    assert history["train_loss"][-1] < history["train_loss"][0]
    assert history["test_accuracy"][-1] > 0.95
    assert np.all(np.diff(history["seconds"]) > 0)
    loss, acc = evaluate(model, test)
    assert loss == pytest.approx(history["test_loss"][-1])
    assert acc == history["test_accuracy"][-1]
    assert not model.training


def test_fit_is_reproducible_and_model_agnostic():
    data = make_sequence_task("majority", 128, 6, seed=0)

    def run(cell):
        torch.manual_seed(1)
        model = LastStep(3, 8, 3, cell=cell).double()  # float64 model, float32 data: cast
        return fit(model, (data.X, data.y), epochs=2, batch_size=16, progress=False)

    first, second = run(nn.RNN), run(nn.RNN)
    assert first["train_loss"] == second["train_loss"]
    assert first["test_loss"] == [] and first["test_accuracy"] == []
    assert run(nn.LSTM)["train_loss"] != first["train_loss"]


def test_fit_without_clipping_with_sgd_and_zero_epochs():
    data = make_sequence_task("parity", 64, 4, seed=0)
    torch.manual_seed(0)
    model = LastStep(2, 4, 2)
    before = [p.detach().clone() for p in model.parameters()]
    assert fit(model, data, epochs=0, progress=False)["epoch"] == []
    assert all(torch.equal(a, b) for a, b in zip(before, model.parameters(), strict=True))
    history = fit(model, data, epochs=1, optimizer="sgd", clip=None, progress=False)
    assert len(history["train_loss"]) == 1


@pytest.mark.parametrize(
    ("kwargs", "argument"),
    [
        ({"optimizer": "rmsprop"}, "optimizer"),
        ({"epochs": -1}, "epochs"),
        ({"batch_size": 0}, "batch_size"),
    ],
)
def test_fit_errors(kwargs, argument):
    data = make_sequence_task("parity", 8, 3)
    with pytest.raises(ValueError, match=f"^{argument}"):
        fit(LastStep(2, 3, 2), data, progress=False, **kwargs)
    with pytest.raises(ValueError, match=r"^train"):
        fit(LastStep(2, 3, 2), (data.X[0], data.y), progress=False)


def test_plot_history_one_or_several():
    history = {
        "epoch": [1, 2], "train_loss": [1.0, 0.5], "train_accuracy": [0.5, 0.8],
        "test_loss": [1.1, 0.6], "test_accuracy": [0.4, 0.7], "seconds": [0.1, 0.2],
    }  # fmt: skip
    fig = plot_history(history, title="one")
    assert len(fig.axes) == 2 and len(fig.axes[0].lines) == 2
    fig = plot_history({"RNN": history, "GRU": {**history, "test_loss": [],
                                                "test_accuracy": []}})  # fmt: skip
    assert len(fig.axes[1].lines) == 3
