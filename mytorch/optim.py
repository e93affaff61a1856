"""Optimizers: turn the gradients in `.grad` into parameter updates.

Both update `param.data` in place and skip parameters without a gradient,
exactly as torch.optim does, so a model trained here follows the same path as
the same model in PyTorch.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from .tensor import Tensor

__all__ = ["SGD", "Adam", "Optimizer"]


class Optimizer:
    """Holds the parameters: `zero_grad()` resets their gradients, `step()` moves."""

    def __init__(self, params: Iterable[Tensor], lr: float) -> None:
        self.params = list(params)
        if not self.params:
            raise ValueError("params must contain at least one tensor")
        if not lr >= 0:
            raise ValueError(f"lr must be non-negative, got {lr}")
        self.lr = lr

    def zero_grad(self) -> None:
        """Forget the last backward pass's gradients (otherwise they accumulate)."""
        for param in self.params:
            param.grad = None

    def step(self) -> None:
        """Update every parameter from its gradient."""
        raise NotImplementedError


class SGD(Optimizer):
    """Stochastic gradient descent, with optional momentum (torch's formulation).

    velocity = momentum * velocity + grad (velocity = grad on the first step),
    param -= lr * velocity.
    """

    def __init__(
        self, params: Iterable[Tensor], lr: float, momentum: float = 0.0
    ) -> None:
        super().__init__(params, lr)
        if not momentum >= 0:
            raise ValueError(f"momentum must be non-negative, got {momentum}")
        self.momentum = momentum
        self.velocity: list[np.ndarray | None] = [None] * len(self.params)

    def step(self) -> None:
        for i, param in enumerate(self.params):
            grad = param._grad
            if grad is None:
                continue
            if self.momentum:
                v = self.velocity[i]
                v = grad.copy() if v is None else self.momentum * v + grad
                self.velocity[i] = grad = v
            param.data -= self.lr * grad


class Adam(Optimizer):
    """Adam: a step along running averages of the gradient, scaled per entry.

    m = beta1 * m + (1 - beta1) * g            (momentum: average gradient)
    v = beta2 * v + (1 - beta2) * g**2         (average squared gradient)
    param -= lr / (1 - beta1**t) * m / (sqrt(v) / sqrt(1 - beta2**t) + eps)

    The factors 1 - beta**t undo the bias towards zero of averages started at zero.
    The formula and its order of operations follow torch.optim.Adam, step for step.
    """

    def __init__(
        self,
        params: Iterable[Tensor],
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
    ) -> None:
        super().__init__(params, lr)
        for i, beta in enumerate(betas):
            if not 0 <= beta < 1:
                raise ValueError(f"betas[{i}] must satisfy 0 <= beta < 1, got {beta}")
        if not eps >= 0:
            raise ValueError(f"eps must be non-negative, got {eps}")
        self.betas = betas
        self.eps = eps
        self.m = [np.zeros_like(p.data) for p in self.params]
        self.v = [np.zeros_like(p.data) for p in self.params]
        self.steps = [0] * len(self.params)  # per parameter, as torch counts them

    def step(self) -> None:
        beta1, beta2 = self.betas
        for i, param in enumerate(self.params):
            grad = param._grad
            if grad is None:
                continue
            self.steps[i] += 1
            t = self.steps[i]
            self.m[i] += (1 - beta1) * (
                grad - self.m[i]
            )  # = beta1 * m + (1 - beta1) * g
            self.v[i] = beta2 * self.v[i] + (1 - beta2) * grad * grad
            step_size = self.lr / (1 - beta1**t)
            denom = np.sqrt(self.v[i]) / np.sqrt(1 - beta2**t) + self.eps
            param.data -= step_size * self.m[i] / denom
