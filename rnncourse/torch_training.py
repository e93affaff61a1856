"""Synthetic sequence-classification tasks and a small training loop, shared by chapters 6 and 7.

- ``make_sequence_task``: a seeded data set of one-hot sequences whose label depends on the
  sequence as a whole (or on its two ends), so a model must carry information over time.
- ``fit``: minibatch training with the cross-entropy, Adam (or SGD), gradient clipping by the
  global norm, a ``tqdm`` progress bar over the epochs, and the loss and accuracy after each epoch.
- ``evaluate``: the mean loss and the accuracy of a model on a data set, without gradients.
- ``plot_history``: the loss and accuracy curves of one or several histories side by side.

Everything is model-agnostic: a model is any ``nn.Module`` mapping inputs of shape
(batch, time, features) to logits of shape (batch, classes). Everything is device-agnostic: the
model is trained where its parameters live (or on ``device`` when given) and each minibatch is
moved there. The graded names of the exercise (``rnn_forward``, ``RNNClassifier``, ...) are
deliberately *not* here: students write them.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import nn
from tqdm import tqdm

__all__ = [
    "TASKS",
    "SequenceTask",
    "evaluate",
    "fit",
    "make_sequence_task",
    "plot_history",
]

#: The tasks of :func:`make_sequence_task`, with the label of one sequence ``s_1 ... s_T``.
TASKS = {
    "parity": "(number of times symbol 1 occurs) mod 2; two classes",
    "first_equals_last": "1 if s_1 == s_T else 0; two classes, balanced by construction",
    "majority": "the symbol that occurs most often (sequences with a tie are redrawn)",
    "first_token": "s_1, followed by T - 1 random distractors; one class per symbol",
}

#: Number of symbols each task uses when ``num_symbols`` is not given.
DEFAULT_SYMBOLS = {"parity": 2, "first_equals_last": 4, "majority": 3, "first_token": 4}

History = dict[str, list[float]]


class SequenceTask(NamedTuple):
    """A data set of :func:`make_sequence_task`: ``X, y, num_classes = task`` also works.

    ``X`` (samples, time, symbols) holds one-hot rows, ``y`` (samples,) the int64 labels.
    """

    X: torch.Tensor
    y: torch.Tensor
    num_classes: int

    @property
    def tokens(self) -> torch.Tensor:
        """The symbols as integers, shape (samples, time)."""
        return self.X.argmax(dim=-1)

    @property
    def chance(self) -> float:
        """Accuracy of always answering the most frequent label."""
        counts = torch.bincount(self.y, minlength=self.num_classes)
        return counts.max().item() / len(self.y)


def make_sequence_task(
    task: str,
    num_samples: int,
    seq_len: int,
    *,
    num_symbols: int | None = None,
    seed: int = 0,
    dtype: torch.dtype = torch.float32,
) -> SequenceTask:
    """Draw ``num_samples`` one-hot sequences of ``seq_len`` symbols and their labels.

    ``task`` is one of :data:`TASKS`. The symbols are ``0 .. num_symbols - 1`` (default:
    :data:`DEFAULT_SYMBOLS` of the task), drawn uniformly from ``torch.Generator`` seeded with
    ``seed``: the same arguments give the same data, another seed gives an independent set
    (use one seed for training, another for testing). ``X`` has dtype ``dtype``.
    """
    if task not in TASKS:
        raise ValueError(f"task must be one of {sorted(TASKS)}, got {task!r}")
    if num_samples < 1:
        raise ValueError(f"num_samples must be >= 1, got {num_samples}")
    min_len = 2 if task == "first_equals_last" else 1
    if seq_len < min_len:
        raise ValueError(f"seq_len must be >= {min_len} for task {task!r}, got {seq_len}")
    V = DEFAULT_SYMBOLS[task] if num_symbols is None else int(num_symbols)
    if V < 2:
        raise ValueError(f"num_symbols must be >= 2, got {V}")
    gen = torch.Generator().manual_seed(seed)

    def draw(n: int) -> torch.Tensor:
        return torch.randint(V, (n, seq_len), generator=gen)

    if task == "parity":
        tokens = draw(num_samples)
        y = (tokens == 1).sum(dim=1) % 2
        num_classes = 2
    elif task == "first_equals_last":
        tokens = draw(num_samples)
        same = torch.rand(num_samples, generator=gen) < 0.5
        # a different last symbol: first + a shift in 1 .. V-1, modulo V
        shift = torch.randint(1, V, (num_samples,), generator=gen)
        other = (tokens[:, 0] + shift) % V
        tokens[:, -1] = torch.where(same, tokens[:, 0], other)
        y = same.long()
        num_classes = 2
    elif task == "majority":
        kept: list[torch.Tensor] = []
        count = 0
        while count < num_samples:
            batch = draw(2 * num_samples)
            counts = F.one_hot(batch, V).sum(dim=1)  # (n, V)
            top = counts.max(dim=1, keepdim=True).values
            unique = (counts == top).sum(dim=1) == 1
            kept.append(batch[unique])
            count += int(unique.sum())
        tokens = torch.cat(kept)[:num_samples]
        y = F.one_hot(tokens, V).sum(dim=1).argmax(dim=1)
        num_classes = V
    else:  # first_token
        tokens = draw(num_samples)
        y = tokens[:, 0].clone()
        num_classes = V
    X = F.one_hot(tokens, V).to(dtype)
    return SequenceTask(X, y.long(), num_classes)


def _device_and_dtype(model: nn.Module, device) -> tuple[torch.device, torch.dtype]:
    params = list(model.parameters())
    if device is None:
        device = params[0].device if params else torch.device("cpu")
    floats = [p.dtype for p in params if p.is_floating_point()]
    return torch.device(device), floats[0] if floats else torch.get_default_dtype()


@torch.no_grad()
def evaluate(model: nn.Module, data, *, batch_size: int = 1024, device=None) -> tuple[float, float]:
    """Return ``(mean cross-entropy, accuracy)`` of ``model`` on ``data = (X, y, ...)``.

    The model is put in evaluation mode (and left there); nothing is differentiated.
    """
    X, y = data[0], data[1]
    device, dtype = _device_and_dtype(model, device)
    model.to(device).eval()
    total_loss, correct = 0.0, 0
    for start in range(0, len(y), batch_size):
        xb = X[start : start + batch_size].to(device=device, dtype=dtype)
        yb = y[start : start + batch_size].to(device)
        logits = model(xb)
        total_loss += F.cross_entropy(logits, yb, reduction="sum").item()
        correct += (logits.argmax(dim=1) == yb).sum().item()
    return total_loss / len(y), correct / len(y)


def fit(
    model: nn.Module,
    train,
    test=None,
    *,
    epochs: int = 10,
    batch_size: int = 64,
    lr: float = 1e-2,
    optimizer: str = "adam",
    clip: float | None = 1.0,
    seed: int = 0,
    device=None,
    progress: bool | float = True,
    desc: str = "epochs",
) -> History:
    """Train ``model`` to classify sequences; return the history, one entry per epoch.

    ``train`` and ``test`` are ``(X, y)`` pairs (or :class:`SequenceTask`): ``X`` of shape
    (samples, time, features), ``y`` (samples,) int64 class indices; ``model(X_batch)`` must
    return logits (batch, classes). Each epoch visits the training set once in a random order
    (``torch.Generator`` seeded with ``seed``; initialise the model's weights yourself, e.g.
    after ``torch.manual_seed``) in minibatches of ``batch_size``; each step minimises the mean
    cross-entropy with ``optimizer`` (``"adam"`` or ``"sgd"``) at learning rate ``lr``, after
    clipping the gradient to global norm ``clip`` (no clipping when ``None``). Inputs are cast
    to the dtype of the model's parameters and moved to ``device`` (default: where the model's
    parameters are).

    ``progress`` is ``True`` for a progress bar over the epochs, ``False`` for none, or a number
    of seconds: the least time between two refreshes (``math.inf`` shows only the first and the
    final state, which suits logs and built web pages).

    The history holds ``epoch`` (1, 2, ...), ``train_loss`` and ``train_accuracy`` (averaged
    over the epoch's minibatches, measured while training), ``test_loss`` and ``test_accuracy``
    (after the epoch, in evaluation mode; empty lists without ``test``) and ``seconds``
    (training time so far, without the evaluation).
    """
    if optimizer == "adam":
        updater: torch.optim.Optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    elif optimizer == "sgd":
        updater = torch.optim.SGD(model.parameters(), lr=lr)
    else:
        raise ValueError(f"optimizer must be 'adam' or 'sgd', got {optimizer!r}")
    if epochs < 0:
        raise ValueError(f"epochs must be >= 0, got {epochs}")
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    X, y = train[0], train[1]
    if X.ndim != 3 or y.shape != (X.shape[0],):
        raise ValueError(
            "train must be (X, y) with X (samples, time, features) and y (samples,), "
            f"got X {tuple(X.shape)} and y {tuple(y.shape)}"
        )
    device, dtype = _device_and_dtype(model, device)
    model.to(device)
    gen = torch.Generator().manual_seed(seed)
    history: History = {
        "epoch": [],
        "train_loss": [],
        "train_accuracy": [],
        "test_loss": [],
        "test_accuracy": [],
        "seconds": [],
    }
    seconds = 0.0
    interval = 0.1 if progress is True else float(progress)
    bar = tqdm(
        range(1, epochs + 1),
        desc=desc,
        disable=progress is False,
        ascii=True,
        mininterval=interval,
        maxinterval=max(interval, 10.0),
    )
    n = len(y)
    for epoch in bar:
        start = time.perf_counter()
        model.train()
        order = torch.randperm(n, generator=gen)
        total_loss, correct = 0.0, 0
        for first in range(0, n, batch_size):
            idx = order[first : first + batch_size]
            xb = X[idx].to(device=device, dtype=dtype)
            yb = y[idx].to(device)
            logits = model(xb)
            loss = F.cross_entropy(logits, yb)
            updater.zero_grad()
            loss.backward()
            if clip is not None:
                nn.utils.clip_grad_norm_(model.parameters(), clip)
            updater.step()
            total_loss += loss.item() * len(idx)
            correct += (logits.argmax(dim=1) == yb).sum().item()
        seconds += time.perf_counter() - start
        history["epoch"].append(epoch)
        history["train_loss"].append(total_loss / n)
        history["train_accuracy"].append(correct / n)
        history["seconds"].append(seconds)
        postfix = {"loss": f"{total_loss / n:.3f}", "acc": f"{correct / n:.3f}"}
        if test is not None:
            test_loss, test_acc = evaluate(model, test, device=device)
            history["test_loss"].append(test_loss)
            history["test_accuracy"].append(test_acc)
            postfix["test acc"] = f"{test_acc:.3f}"
        bar.set_postfix(postfix, refresh=False)
    bar.close()
    model.eval()
    return history


def plot_history(histories: History | Mapping[str, History], *, title: str | None = None):
    """Draw loss (left) and accuracy (right) per epoch; return the matplotlib figure.

    ``histories`` is one history of :func:`fit` or a mapping ``{label: history}`` (e.g. one per
    model, drawn in one colour each). Training curves are solid, test curves dashed.
    """
    import matplotlib.pyplot as plt

    if "epoch" in histories and not isinstance(histories.get("epoch"), Mapping):
        histories = {"": histories}  # a single history
    fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(9, 3.4), layout="constrained")
    for i, (label, hist) in enumerate(histories.items()):
        colour = f"C{i}"
        name = f"{label} " if label else ""
        for ax, key in ((ax_loss, "loss"), (ax_acc, "accuracy")):
            ax.plot(hist["epoch"], hist[f"train_{key}"], color=colour, label=f"{name}train")
            if hist[f"test_{key}"]:
                ax.plot(
                    hist["epoch"],
                    hist[f"test_{key}"],
                    color=colour,
                    linestyle="--",
                    label=f"{name}test",
                )
    ax_loss.set(xlabel="epoch", ylabel="cross-entropy loss", title="loss")
    ax_acc.set(xlabel="epoch", ylabel="accuracy", title="accuracy", ylim=(0, 1.02))
    ax_acc.legend(loc="lower right", fontsize="small")
    ax_loss.grid(alpha=0.3)
    ax_acc.grid(alpha=0.3)
    if title:
        fig.suptitle(title)
    return fig
