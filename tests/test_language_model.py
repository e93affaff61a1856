"""rnncourse.language_model (the models and the training loop of chapter 8) and oracle tests of
the 08_language_model reference solution.

The reference code is taken from the source notebook (solution cells, markers removed) and
executed; it is compared with PyTorch (one_hot, cross_entropy, clip_grad_norm_) and with the
exercise contract, written out independently here.
"""

from __future__ import annotations

import math
from collections import Counter

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from rnncourse.language_model import (
    RNNLM,
    RNNLMScratch,
    detach_state,
    evaluate_perplexity,
    sample_token,
    train_language_model,
)
from tests.conftest import reference_code


@pytest.fixture(scope="module")
def ref():
    return reference_code("08_language_model", math=math, torch=torch)


def windows(corpus, batch_size, num_steps):
    """Sequential minibatches, written independently of the reference (row by row)."""
    rows = (len(corpus) - 1) // batch_size
    X = [corpus[b * rows : (b + 1) * rows] for b in range(batch_size)]
    Y = [corpus[b * rows + 1 : (b + 1) * rows + 1] for b in range(batch_size)]
    return [
        (
            torch.tensor([x[i : i + num_steps] for x in X]),
            torch.tensor([y[i : i + num_steps] for y in Y]),
        )
        for i in range(0, rows - num_steps + 1, num_steps)
    ]


# --- the package -------------------------------------------------------------------------


def test_scratch_model_equals_nn_rnn_with_the_same_weights():
    torch.manual_seed(0)
    V, H = 7, 5
    scratch = RNNLMScratch(V, H, seed=3).double()
    with torch.no_grad():
        scratch.b_h.normal_()
        scratch.b_q.normal_()
    concise = RNNLM(nn.RNN(V, H), V).double()
    with torch.no_grad():
        concise.rnn.weight_ih_l0.copy_(scratch.W_xh.T)
        concise.rnn.weight_hh_l0.copy_(scratch.W_hh.T)
        concise.rnn.bias_ih_l0.copy_(scratch.b_h)
        concise.rnn.bias_hh_l0.zero_()
        concise.linear.weight.copy_(scratch.W_hq.T)
        concise.linear.bias.copy_(scratch.b_q)
    X = torch.randint(0, V, (3, 4))
    h0 = torch.randn(3, H, dtype=torch.float64)
    logits_s, (h_s,) = scratch(X, (h0,))
    logits_c, h_c = concise(X, h0[None])
    assert logits_s.shape == (4 * 3, V)
    torch.testing.assert_close(logits_s, logits_c)
    torch.testing.assert_close(h_s, h_c[0])


def test_scratch_model_is_seeded_and_time_major():
    a, b = RNNLMScratch(5, 4, seed=1), RNNLMScratch(5, 4, seed=1)
    assert all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters(), strict=True))
    X = torch.tensor([[1, 2, 3], [4, 0, 1]])
    logits, _ = a(X, a.begin_state(batch_size=2))
    first_step, _ = a(X[:, :1], a.begin_state(batch_size=2))
    torch.testing.assert_close(logits[:2], first_step)  # rows 0, 1: step 0 of both sequences


@pytest.mark.parametrize("layer", [nn.RNN, nn.GRU, nn.LSTM])
def test_rnnlm_states_and_shapes(layer):
    model = RNNLM(layer(6, 8, num_layers=2), 6)
    state = model.begin_state(batch_size=3)
    if layer is nn.LSTM:
        assert isinstance(state, tuple) and [s.shape for s in state] == [(2, 3, 8)] * 2
    else:
        assert state.shape == (2, 3, 8)
    logits, state = model(torch.randint(0, 6, (3, 5)), state)
    assert logits.shape == (15, 6)
    detached = detach_state(state)
    for s in detached if isinstance(detached, tuple) else (detached,):
        assert not s.requires_grad


def test_rnnlm_rejects_batch_first_and_wrong_inputs():
    with pytest.raises(ValueError, match="time-major"):
        RNNLM(nn.GRU(4, 3, batch_first=True), 4)
    with pytest.raises(ValueError, match="input features"):
        RNNLM(nn.GRU(5, 3), 4)


def test_sample_token_greedy_and_temperature():
    logits = torch.tensor([[0.0, 2.0, 1.0]])
    assert sample_token(logits) == 1
    gen = torch.Generator().manual_seed(0)
    draws = Counter(sample_token(logits, 1.0, gen) for _ in range(4000))
    expected = torch.softmax(logits[0], 0)
    for k in range(3):
        assert abs(draws[k] / 4000 - float(expected[k])) < 0.03
    cold = Counter(sample_token(logits, 0.05, gen) for _ in range(200))
    assert cold[1] == 200
    with pytest.raises(ValueError, match="temperature"):
        sample_token(logits, -1.0)


def test_untrained_model_with_zero_output_has_perplexity_v():
    model = RNNLMScratch(9, 4)
    with torch.no_grad():
        model.W_hq.zero_()
    corpus = torch.randint(0, 9, (200,), generator=torch.Generator().manual_seed(0)).tolist()
    assert evaluate_perplexity(model, windows(corpus, 2, 10)) == pytest.approx(9.0)


@pytest.mark.parametrize("carry_state", [True, False])
def test_training_learns_a_periodic_text(carry_state):
    torch.manual_seed(0)
    corpus = [0, 1, 2, 3, 2, 1] * 100
    batches = windows(corpus, 4, 8)
    model = RNNLM(nn.GRU(4, 16), 4)
    calls = []
    history = train_language_model(
        model,
        lambda epoch: batches,
        batches,
        num_epochs=8,
        lr=0.05,
        carry_state=carry_state,
        callback=lambda e, m: calls.append(e),
        progress=False,
    )
    assert history["epoch"] == calls == list(range(1, 9))
    assert len(history["valid_perplexity"]) == len(history["seconds"]) == 8
    assert history["seconds"] == sorted(history["seconds"])
    assert history["train_perplexity"][0] > 1.5
    assert history["valid_perplexity"][-1] < 1.2  # the next token is nearly determined


def test_training_with_sgd_and_without_validation(capsys):
    torch.manual_seed(0)
    batches = windows([0, 1, 2] * 50, 2, 5)
    model = RNNLMScratch(3, 8)
    history = train_language_model(
        model, lambda epoch: batches, num_epochs=2, lr=1.0, optimizer="sgd", progress=math.inf
    )
    assert history["valid_perplexity"] == [] and len(history["train_perplexity"]) == 2
    assert "2/2" in capsys.readouterr().err  # the final state of the progress bar
    with pytest.raises(ValueError, match="optimizer"):
        train_language_model(model, lambda e: batches, num_epochs=1, lr=0.1, optimizer="rmsprop")


# --- the reference solution --------------------------------------------------------------


def test_vocab_follows_the_contract(ref):
    tokens = [*"mississippi river", "<eos>"]
    vocab = ref["Vocab"](tokens, min_freq=2, reserved_tokens=["<eos>", "<pad>"])
    counts = Counter(tokens)
    counted = sorted(
        (t for t in counts if counts[t] >= 2 and t != "<eos>"), key=lambda t: (-counts[t], t)
    )
    table = ["<unk>", "<eos>", "<pad>", *counted]
    assert vocab.to_tokens(list(range(len(vocab)))) == table
    assert vocab[list("sip?")] == [table.index("s"), table.index("i"), table.index("p"), 0]
    assert vocab.to_tokens(torch.tensor([2, 0])) == ["<pad>", "<unk>"]


def test_one_hot_equals_torch(ref):
    indices = torch.randint(0, 4, (2, 3, 5), generator=torch.Generator().manual_seed(1))
    out = ref["one_hot"](indices, 6)
    assert out.dtype == torch.float32
    assert torch.equal(out, F.one_hot(indices, 6).float())


@pytest.mark.parametrize(("batch_size", "num_steps"), [(1, 4), (3, 5), (4, 1), (5, 7)])
def test_sequential_batches_match_an_independent_version(ref, batch_size, num_steps):
    corpus = torch.randint(0, 30, (97,), generator=torch.Generator().manual_seed(2)).tolist()
    for offset in (0, 3):
        got = ref["seq_data_iter_sequential"](corpus, batch_size, num_steps, offset)
        expected = windows(corpus[offset:], batch_size, num_steps)
        assert len(got) == len(expected)
        for (X, Y), (X2, Y2) in zip(got, expected, strict=True):
            assert X.dtype == Y.dtype == torch.int64
            assert torch.equal(X, X2) and torch.equal(Y, Y2)


def test_perplexity_equals_torch_and_the_uniform_baseline(ref):
    gen = torch.Generator().manual_seed(3)
    logits = torch.randn(20, 9, generator=gen, dtype=torch.float64)
    targets = torch.randint(0, 9, (20,), generator=gen)
    manual = math.exp(-torch.log_softmax(logits, 1)[torch.arange(20), targets].mean().item())
    assert ref["perplexity"](logits, targets) == pytest.approx(manual, rel=1e-12)
    assert ref["perplexity"](torch.zeros(20, 9), targets) == pytest.approx(9.0)


def test_grad_clipping_equals_clip_grad_norm(ref):
    torch.manual_seed(4)
    a, b = nn.Linear(4, 3).double(), nn.Linear(4, 3).double()
    b.load_state_dict(a.state_dict())
    x = torch.randn(6, 4, dtype=torch.float64)
    for layer in (a, b):
        (layer(x) ** 3).sum().backward()
    norm = ref["grad_clipping"](a.parameters(), 0.5)
    expected = torch.nn.utils.clip_grad_norm_(b.parameters(), 0.5)
    assert norm == pytest.approx(float(expected), rel=1e-12)
    for p, q in zip(a.parameters(), b.parameters(), strict=True):
        torch.testing.assert_close(p.grad, q.grad)


def test_predict_warms_up_on_the_prefix(ref):
    class Echo:
        """Predicts (sum of all inputs so far) mod V: every prefix character matters."""

        def begin_state(self, batch_size=1):
            return torch.zeros(batch_size)

        def __call__(self, X, state):
            state = state + X.reshape(-1)
            return F.one_hot(state.long() % 5, 5).double(), state

    vocab = ref["Vocab"](list("abcde"))  # every count 1: alphabetical, "a" is 1, ..., "e" is 5
    out = ref["predict"]("bd", 3, Echo(), vocab)
    # inputs b(2), d(4): sums 2, 6 -> predicts 1 ("a"); then 7 -> 2 ("b"); then 9 -> 4 ("d")
    assert out == "bdabd"
    assert ref["predict"]("c", 0, Echo(), vocab) == "c"
