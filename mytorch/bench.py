"""Time one forward + backward pass of a small RNN in mytorch and in PyTorch.

    python -m mytorch.bench [--repeats 200] [--warmup 20]

The model is the one of the original lecture notes: a 3-layer RNN with hidden size 10
on a sequence of T = 6 scalars, one output per step, mean squared error against the
running sum. PyTorch runs the same loop (nn.Linear(in + H, H) layers on torch.cat)
in eager mode on one CPU thread, with the same weights, in float64. At these sizes
the arithmetic is tiny and the time is the overhead per operation, which is what
this compares. The two are timed alternately so that load on the machine affects both.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

import numpy as np

from . import nn
from .nn import functional as F

INPUT_SIZE, HIDDEN_SIZE, OUTPUT_SIZE, NUM_LAYERS, SEQ_LEN = 1, 10, 1, 3, 6


def make_data(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """One cumulative-sum example: inputs 1..9 / 10, target the running sum."""
    x = rng.integers(1, 10, size=(SEQ_LEN, INPUT_SIZE)) / 10.0
    return x, np.cumsum(x, axis=0)


def mytorch_step(model: nn.RNN, x: np.ndarray, y: np.ndarray) -> Callable[[], float]:
    """A closure running forward + backward in mytorch; returns the loss."""

    def step() -> float:
        model.zero_grad()
        outputs, _ = model(x)
        loss = F.mse_loss(outputs, y)
        loss.backward()
        return loss.item()

    return step


def torch_step(model: nn.RNN, x: np.ndarray, y: np.ndarray) -> Callable[[], float]:
    """The same model and loop written in PyTorch (weights copied from `model`)."""
    import torch

    torch.set_num_threads(1)

    def linear(layer: nn.Linear) -> torch.nn.Linear:
        out = torch.nn.Linear(
            layer.in_features, layer.out_features, dtype=torch.float64
        )
        with torch.no_grad():  # mytorch stores W as (in, out), torch as (out, in)
            out.weight.copy_(torch.from_numpy(layer.weight.data.T))
            out.bias.copy_(torch.from_numpy(layer.bias.data))
        return out

    layers = [linear(layer) for layer in model.layers]
    output_layer = linear(model.output_layer)
    params = [p for layer in [*layers, output_layer] for p in layer.parameters()]
    xt, yt = torch.from_numpy(x), torch.from_numpy(y)

    def step() -> float:
        for p in params:
            p.grad = None
        hidden = [torch.zeros(1, HIDDEN_SIZE, dtype=torch.float64) for _ in layers]
        outputs = []
        for t in range(len(xt)):
            layer_input = xt[t : t + 1]
            for i, layer in enumerate(layers):
                hidden[i] = torch.tanh(layer(torch.cat((layer_input, hidden[i]), 1)))
                layer_input = hidden[i]
            outputs.append(output_layer(layer_input))
        loss = torch.nn.functional.mse_loss(torch.cat(outputs, 0), yt)
        loss.backward()
        return loss.item()

    return step


def median_seconds(steps: dict[str, Callable[[], float]], repeats: int, warmup: int):
    """Median wall time of each step; they take turns, `repeats` times after warm-up."""
    for _ in range(warmup):
        for step in steps.values():
            step()
    times: dict[str, list[float]] = {name: [] for name in steps}
    for _ in range(repeats):
        for name, step in steps.items():
            start = time.perf_counter()
            step()
            times[name].append(time.perf_counter() - start)
    return {name: statistics.median(ts) for name, ts in times.items()}


def run_benchmark(
    repeats: int = 200, warmup: int = 20, seed: int = 0
) -> dict[str, float]:
    """Time both; returns median seconds per step and their ratio mytorch / torch."""
    rng = np.random.default_rng(seed)
    model = nn.RNN(INPUT_SIZE, HIDDEN_SIZE, OUTPUT_SIZE, num_layers=NUM_LAYERS, rng=rng)
    x, y = make_data(rng)
    steps = {"mytorch": mytorch_step(model, x, y), "torch": torch_step(model, x, y)}
    losses = {name: step() for name, step in steps.items()}
    if not np.isclose(losses["mytorch"], losses["torch"], rtol=1e-10):
        raise RuntimeError(
            f"the two models disagree: {losses}"
        )  # same model, same loss
    medians = median_seconds(steps, repeats, warmup)
    return {**medians, "ratio": medians["mytorch"] / medians["torch"]}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=200)
    parser.add_argument("--warmup", type=int, default=20)
    args = parser.parse_args(argv)
    result = run_benchmark(args.repeats, args.warmup)
    print(
        f"{NUM_LAYERS}-layer RNN, hidden {HIDDEN_SIZE}, T = {SEQ_LEN}: median time per "
        f"forward + backward over {args.repeats} repeats"
    )
    print(f"  mytorch: {result['mytorch'] * 1e6:8.1f} us")
    print(f"  torch:   {result['torch'] * 1e6:8.1f} us  (eager, CPU, 1 thread)")
    print(f"  ratio mytorch / torch: {result['ratio']:.3f}")


if __name__ == "__main__":
    main()
