"""Character-level language models for chapter 8: the models, a training loop, sampling.

- ``RNNLMScratch``: a one-layer tanh RNN language model written with plain tensor operations
  (parameters, ``begin_state``, the loop over time), in the style of the d2l book.
- ``RNNLM``: the same interface around PyTorch's ``nn.RNN``, ``nn.GRU`` or ``nn.LSTM``.
- ``train_language_model``: minibatch training with gradient clipping by the global norm,
  a ``tqdm`` progress bar, optional carrying of the hidden state between minibatches, and the
  training and validation perplexity after each epoch.
- ``evaluate_perplexity``, ``detach_state``, ``sample_token``.

Both models take ``X`` of shape (batch, time) holding token indices and a state, and return
``(logits, state)`` with logits of shape (time * batch, vocabulary): time-major, so row
``t * batch + b`` belongs to time step ``t`` of sequence ``b``. The targets ``Y`` (batch, time)
line up with ``Y.T.reshape(-1)``.

The graded functions of the exercise (``Vocab``, ``one_hot``, ``seq_data_iter_sequential``,
``perplexity``, ``grad_clipping``, ``predict``) are deliberately *not* here: students write them,
and the chapter writes them in its own cells. The training loop takes its minibatches from the
caller for that reason.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterable

import torch
import torch.nn.functional as F
from torch import nn
from tqdm import tqdm

__all__ = [
    "RNNLM",
    "RNNLMScratch",
    "detach_state",
    "evaluate_perplexity",
    "sample_token",
    "train_language_model",
]

State = torch.Tensor | tuple[torch.Tensor, ...]
Batches = Iterable[tuple[torch.Tensor, torch.Tensor]]


class RNNLMScratch(nn.Module):
    """A tanh RNN language model from scratch: one-hot input, one hidden layer, linear output.

    ``H_t = tanh(X_t W_xh + H_{t-1} W_hh + b_h)`` and ``O_t = H_t W_hq + b_q``, where ``X_t`` is
    the one-hot encoding (batch, vocab_size) of the tokens at step ``t``. The weights start as
    ``0.01`` times standard normal draws from ``torch.Generator().manual_seed(seed)``, the biases
    at zero. The state is a tuple holding one (batch, num_hiddens) tensor.
    """

    def __init__(self, vocab_size: int, num_hiddens: int, seed: int = 0):
        super().__init__()
        self.vocab_size, self.num_hiddens = vocab_size, num_hiddens
        gen = torch.Generator().manual_seed(seed)

        def normal(*shape):
            return nn.Parameter(torch.randn(*shape, generator=gen) * 0.01)

        self.W_xh = normal(vocab_size, num_hiddens)
        self.W_hh = normal(num_hiddens, num_hiddens)
        self.b_h = nn.Parameter(torch.zeros(num_hiddens))
        self.W_hq = normal(num_hiddens, vocab_size)
        self.b_q = nn.Parameter(torch.zeros(vocab_size))

    def begin_state(self, batch_size: int = 1, device=None) -> tuple[torch.Tensor]:
        return (torch.zeros(batch_size, self.num_hiddens, device=device),)

    def forward(self, X: torch.Tensor, state: tuple[torch.Tensor]):
        inputs = F.one_hot(X.T.long(), self.vocab_size).to(self.W_xh.dtype)  # (T, B, V)
        (H,) = state
        outputs = []
        for X_t in inputs:  # one time step: X_t is (batch, vocab_size)
            H = torch.tanh(X_t @ self.W_xh + H @ self.W_hh + self.b_h)
            outputs.append(H @ self.W_hq + self.b_q)
        return torch.cat(outputs, dim=0), (H,)  # (T * B, V), state


class RNNLM(nn.Module):
    """A language model around a PyTorch recurrent layer (``nn.RNN``, ``nn.GRU``, ``nn.LSTM``).

    The layer must be time-major (``batch_first=False``, PyTorch's default) and take
    ``vocab_size`` input features; a linear layer maps its hidden units to the vocabulary.
    """

    def __init__(self, rnn: nn.RNNBase, vocab_size: int):
        super().__init__()
        if rnn.batch_first:
            raise ValueError("rnn must be time-major (batch_first=False)")
        if rnn.input_size != vocab_size:
            raise ValueError(f"rnn must take {vocab_size} input features, got {rnn.input_size}")
        self.rnn, self.vocab_size = rnn, vocab_size
        directions = 2 if rnn.bidirectional else 1
        self.linear = nn.Linear(directions * rnn.hidden_size, vocab_size)

    def begin_state(self, batch_size: int = 1, device=None) -> State:
        layers = self.rnn.num_layers * (2 if self.rnn.bidirectional else 1)
        zeros = torch.zeros(layers, batch_size, self.rnn.hidden_size, device=device)
        return (zeros, zeros.clone()) if isinstance(self.rnn, nn.LSTM) else zeros

    def forward(self, X: torch.Tensor, state: State):
        inputs = F.one_hot(X.T.long(), self.vocab_size).to(self.linear.weight.dtype)
        Y, state = self.rnn(inputs, state)  # Y: (T, B, hidden)
        return self.linear(Y.reshape(-1, Y.shape[-1])), state


def detach_state(state: State) -> State:
    """The state cut from the graph that produced it (a tensor or a tuple of tensors)."""
    if isinstance(state, tuple):
        return tuple(s.detach() for s in state)
    return state.detach()


def sample_token(
    logits: torch.Tensor, temperature: float = 0.0, generator: torch.Generator | None = None
) -> int:
    """One token index drawn from ``softmax(logits / temperature)`` (logits of shape (V,) or
    (1, V)); ``temperature == 0`` means greedy: the index of the largest logit."""
    logits = logits.reshape(-1)
    if temperature < 0:
        raise ValueError(f"temperature must be non-negative, got {temperature}")
    if temperature == 0:
        return int(logits.argmax())
    probs = torch.softmax(logits.double() / temperature, dim=0)
    return int(torch.multinomial(probs, 1, generator=generator))


@torch.no_grad()
def evaluate_perplexity(model: nn.Module, batches: Batches, device=None) -> float:
    """``exp`` of the mean cross-entropy per token over ``batches``, carrying the state from
    one minibatch to the next (the batches must be sequential windows)."""
    was_training = model.training
    model.eval()
    total, count, state = 0.0, 0, None
    for X, Y in batches:
        X, Y = X.to(device), Y.to(device)
        if state is None:
            state = model.begin_state(batch_size=X.shape[0], device=device)
        logits, state = model(X, state)
        y = Y.T.reshape(-1)
        total += float(F.cross_entropy(logits, y, reduction="sum"))
        count += y.numel()
    model.train(was_training)
    return math.exp(total / count)


def train_language_model(
    model: nn.Module,
    make_batches: Callable[[int], Batches],
    valid_batches: Batches | None = None,
    *,
    num_epochs: int,
    lr: float,
    theta: float = 1.0,
    carry_state: bool = True,
    optimizer: str = "adam",
    callback: Callable[[int, nn.Module], None] | None = None,
    progress: bool | float = True,
    device=None,
) -> dict[str, list[float]]:
    """Train ``model`` to predict the next token; return the history of one entry per epoch.

    ``make_batches(epoch)`` gives the minibatches ``(X, Y)`` of one epoch, each (batch, time)
    with ``Y`` the inputs shifted by one token. With ``carry_state`` (sequential minibatches) the
    final state of a minibatch starts the next one, detached so that backpropagation stops at
    the minibatch boundary; without it (random minibatches) every minibatch starts from
    ``begin_state``. Each update clips the gradient to global norm ``theta``
    (``torch.nn.utils.clip_grad_norm_``, the same operation as the chapter's ``grad_clipping``).
    ``optimizer`` is ``"adam"`` or ``"sgd"``. After every epoch ``callback(epoch, model)`` runs,
    if given (the chapter prints samples there). ``progress`` is ``True`` for a progress bar over
    the epochs, ``False`` for none, or a number of seconds: the least time between two refreshes
    of the bar (``math.inf`` shows only its first and its final state, which suits logs and
    built web pages, where every refresh would become a new line).

    The history holds ``epoch`` (1, 2, ...), ``train_perplexity`` (over the epoch's minibatches,
    measured while training), ``valid_perplexity`` (if ``valid_batches`` is given) and
    ``seconds`` (training time so far, without the validation and the callback).
    """
    if optimizer == "adam":
        updater = torch.optim.Adam(model.parameters(), lr=lr)
    elif optimizer == "sgd":
        updater = torch.optim.SGD(model.parameters(), lr=lr)
    else:
        raise ValueError(f"optimizer must be 'adam' or 'sgd', got {optimizer!r}")
    history: dict[str, list[float]] = {
        "epoch": [],
        "train_perplexity": [],
        "valid_perplexity": [],
        "seconds": [],
    }
    seconds = 0.0
    interval = 0.1 if progress is True else float(progress)
    bar = tqdm(
        range(1, num_epochs + 1),
        desc="epochs",
        disable=progress is False,
        ascii=True,
        mininterval=interval,
        maxinterval=max(interval, 10.0),
    )
    for epoch in bar:
        start = time.perf_counter()
        model.train()
        total, count, state = 0.0, 0, None
        for X, Y in make_batches(epoch):
            X, Y = X.to(device), Y.to(device)
            if state is None or not carry_state:
                state = model.begin_state(batch_size=X.shape[0], device=device)
            else:
                state = detach_state(state)
            logits, state = model(X, state)
            y = Y.T.reshape(-1)
            loss = F.cross_entropy(logits, y)
            updater.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), theta)
            updater.step()
            total += loss.item() * y.numel()
            count += y.numel()
        seconds += time.perf_counter() - start
        history["epoch"].append(epoch)
        history["train_perplexity"].append(math.exp(total / count))
        history["seconds"].append(seconds)
        postfix = {"train ppl": f"{history['train_perplexity'][-1]:.2f}"}
        if valid_batches is not None:
            history["valid_perplexity"].append(evaluate_perplexity(model, valid_batches, device))
            postfix["valid ppl"] = f"{history['valid_perplexity'][-1]:.2f}"
        bar.set_postfix(postfix, refresh=False)
        if callback is not None:
            callback(epoch, model)
    bar.close()
    return history
