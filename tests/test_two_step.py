"""Oracle tests of the reference solution of 04_numpy_two_step: PyTorch and finite differences.

The reference code is taken from the nbgrader source notebook and executed here, so these tests
check the very code that generates the reference outputs students are graded against.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from tests.conftest import reference_code

PARAMETERS = ["w_cell_state", "b_cell", "w_output", "b_output"]
# The worked example of chapter 4 (the inputs of the contract in EXERCISES.md).
EXAMPLE = {
    "X": [1.0, 2.0],
    "state": [0.0, 0.0],
    "w_cell_state": [[0.1, 0.2], [0.3, 0.4], [0.5, 0.6]],
    "b_cell": [0.1, -0.1],
    "w_output": [[1.0], [2.0]],
    "b_output": 0.1,
}


@pytest.fixture(scope="module")
def reference() -> dict:
    """The namespace of the reference solution (two_step_rnn, two_step_grad and helpers)."""
    return reference_code("04_numpy_two_step", np=np)


def random_case(seed: int, n_hidden: int, steps: int, scalar_bias: bool = True) -> dict:
    rng = np.random.default_rng(seed)
    return {
        "X": rng.normal(size=steps),
        "state": rng.normal(size=n_hidden),
        "w_cell_state": rng.normal(size=(n_hidden + 1, n_hidden)),
        "b_cell": rng.normal(size=n_hidden),
        "w_output": rng.normal(size=(n_hidden, 1)),
        "b_output": float(rng.normal()) if scalar_bias else rng.normal(size=1),
    }


CASES = {
    "example": EXAMPLE,
    "h3_t5": random_case(1, 3, 5),
    "h1_t8": random_case(2, 1, 8, scalar_bias=False),
    "h4_t1": random_case(3, 4, 1),
    "h2_t12": random_case(4, 2, 12),
}


def torch_forward(case: dict, requires_grad: bool = False):
    """The same network with torch.nn.RNN (weights copied, float64) and a linear output."""
    w = torch.tensor(np.asarray(case["w_cell_state"], dtype=float), dtype=torch.float64)
    n_hidden = w.shape[1]
    rnn = torch.nn.RNN(1, n_hidden, dtype=torch.float64)
    with torch.no_grad():
        # concat([state, x]) @ w = state @ w[:H] + x * w[H:], and nn.RNN computes
        # x @ weight_ih_l0.T + h @ weight_hh_l0.T + bias_ih_l0 + bias_hh_l0.
        rnn.weight_hh_l0.copy_(w[:n_hidden].T)
        rnn.weight_ih_l0.copy_(w[n_hidden:].T)
        rnn.bias_ih_l0.copy_(torch.tensor(case["b_cell"], dtype=torch.float64))
        rnn.bias_hh_l0.zero_()
    w_output = torch.tensor(np.asarray(case["w_output"], dtype=float), requires_grad=True)
    b_output = torch.tensor(np.asarray(case["b_output"], dtype=float), requires_grad=True)
    x = torch.tensor(np.asarray(case["X"], dtype=float)).reshape(-1, 1, 1)  # (T, batch 1, D 1)
    h0 = torch.tensor(np.asarray(case["state"], dtype=float)).reshape(1, 1, n_hidden)
    states, _ = rnn(x, h0)  # (T, 1, H)
    states = states[:, 0, :]
    outputs = states @ w_output + b_output
    return rnn, states, outputs, w_output, b_output


@pytest.mark.parametrize("name", list(CASES))
def test_forward_equals_torch_rnn(reference, name):
    case = CASES[name]
    states, outputs = reference["two_step_rnn"](**case)
    _, torch_states, torch_outputs, _, _ = torch_forward(case)
    assert states.dtype == outputs.dtype == np.float64
    assert states.shape == (len(case["X"]), len(case["state"]))
    assert outputs.shape == (len(case["X"]), 1)
    np.testing.assert_allclose(states, torch_states.detach().numpy(), rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(outputs, torch_outputs.detach().numpy(), rtol=1e-12, atol=1e-14)


def test_worked_example_outputs_to_eight_decimals(reference):
    """The two numbers in the contract, from the reference and independently from torch."""
    contract = [1.56128388, 2.72707101]
    _, outputs = reference["two_step_rnn"](**EXAMPLE)
    _, _, torch_outputs, _, _ = torch_forward(EXAMPLE)
    np.testing.assert_array_equal(np.round(outputs[:, 0], 8), contract)
    np.testing.assert_array_equal(np.round(torch_outputs.detach().numpy()[:, 0], 8), contract)


def torch_gradients(case: dict) -> dict:
    """Gradients of sum(outputs) by autograd, in the layout of two_step_grad."""
    rnn, _, outputs, w_output, b_output = torch_forward(case)
    outputs.sum().backward()
    n_hidden = rnn.weight_hh_l0.shape[0]
    w_cell_state = torch.cat([rnn.weight_hh_l0.grad.T, rnn.weight_ih_l0.grad.T], dim=0)
    # Both biases enter the same sum, so their gradients agree (up to rounding).
    torch.testing.assert_close(rnn.bias_ih_l0.grad, rnn.bias_hh_l0.grad, rtol=1e-12, atol=0)
    grads = {
        "w_cell_state": w_cell_state,
        "b_cell": rnn.bias_ih_l0.grad,
        "w_output": w_output.grad,
        "b_output": b_output.grad,
    }
    assert grads["w_cell_state"].shape == (n_hidden + 1, n_hidden)
    return {key: value.numpy() for key, value in grads.items()}


@pytest.mark.parametrize("name", list(CASES))
def test_gradients_equal_torch_autograd(reference, name):
    case = CASES[name]
    grads = reference["two_step_grad"](**case)
    expected = torch_gradients(case)
    assert sorted(grads) == sorted(PARAMETERS)
    for key in PARAMETERS:
        value = np.asarray(grads[key])
        assert value.dtype == np.float64, key
        assert value.shape == np.shape(case[key]), key  # b_output: () or (1,), as given
        np.testing.assert_allclose(value, expected[key], rtol=1e-10, atol=1e-13, err_msg=key)


@pytest.mark.parametrize("name", list(CASES))
def test_gradients_equal_central_differences(reference, name):
    case = {key: np.array(value, dtype=float) for key, value in CASES[name].items()}
    grads = reference["two_step_grad"](**case)
    eps = 1e-6

    def loss(changed: dict) -> float:
        return float(np.sum(reference["two_step_rnn"](**{**case, **changed})[1]))

    for key in PARAMETERS:
        numeric = np.zeros_like(case[key])
        for index in np.ndindex(case[key].shape):
            plus, minus = case[key].copy(), case[key].copy()
            plus[index] += eps
            minus[index] -= eps
            numeric[index] = (loss({key: plus}) - loss({key: minus})) / (2 * eps)
        np.testing.assert_allclose(grads[key], numeric, rtol=1e-6, atol=1e-8, err_msg=key)


def test_inputs_are_left_untouched(reference):
    case = {key: np.array(value, dtype=float) for key, value in CASES["h3_t5"].items()}
    copies = {key: value.copy() for key, value in case.items()}
    reference["two_step_rnn"](**case)
    reference["two_step_grad"](**case)
    for key, value in case.items():
        np.testing.assert_array_equal(value, copies[key], err_msg=key)


def test_empty_sequence(reference):
    case = {**EXAMPLE, "X": []}
    states, outputs = reference["two_step_rnn"](**case)
    assert states.shape == (0, 2) and outputs.shape == (0, 1)
    grads = reference["two_step_grad"](**case)
    for key in PARAMETERS:
        assert not np.any(grads[key]), key


@pytest.mark.parametrize(
    ("changes", "argument"),
    [
        ({"X": [[1.0, 2.0]]}, "X"),
        ({"state": [[0.0, 0.0]]}, "state"),
        ({"state": []}, "state"),
        ({"w_cell_state": np.zeros((2, 2))}, "w_cell_state"),
        ({"w_cell_state": np.zeros((2, 3))}, "w_cell_state"),
        ({"b_cell": np.zeros(3)}, "b_cell"),
        ({"w_output": np.zeros(2)}, "w_output"),
        ({"w_output": np.zeros((1, 2))}, "w_output"),
        ({"b_output": np.zeros(2)}, "b_output"),
        ({"w_cell_state": np.zeros((2, 2)), "b_cell": np.zeros(3)}, "w_cell_state"),
    ],
)
@pytest.mark.parametrize("function", ["two_step_rnn", "two_step_grad"])
def test_wrong_shapes_raise_value_error_naming_the_argument(reference, function, changes, argument):
    with pytest.raises(ValueError, match=rf"^{argument} "):
        reference[function](**{**EXAMPLE, **changes})
