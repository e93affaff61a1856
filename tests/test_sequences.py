"""rnncourse.sequences (the data of chapter 1) and the reference solution of 01_sequence_models.

The reference solution is read from the nbgrader source notebook and executed here, then
compared with independent computations: numpy's sliding windows, the companion matrix of a
linear autoregressive model, and Python's exact integer arithmetic.
"""

from __future__ import annotations

import inspect
import math
import textwrap

import numpy as np
import pytest

from autograder.course import get_assignment
from autograder.mistakes import load_catalogue
from autograder.notebooks import read_notebook, reference_solutions
from rnncourse.sequences import (
    CHAR_VOCAB,
    DOCSTRING_MODULES,
    char_tokens,
    docstring_corpus,
    ngram_counts,
    noisy_sine,
    word_tokens,
    zen_of_python,
)
from tests.conftest import reference_code

ASSIGNMENT = "01_sequence_models"
GRADED = ["make_autoregressive_dataset", "multistep_predict", "ngram_table_size"]


# --- rnncourse.sequences ------------------------------------------------------------------


def test_noisy_sine_shapes_and_time_axis():
    t, x = noisy_sine()
    assert t.shape == x.shape == (1000,)
    assert t.dtype == x.dtype == np.float64
    np.testing.assert_array_equal(t, np.arange(1000.0))


def test_noisy_sine_is_reproducible_and_seeded():
    _, a = noisy_sine(num_steps=50, seed=3)
    _, b = noisy_sine(num_steps=50, seed=3)
    _, c = noisy_sine(num_steps=50, seed=4)
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a, c)


def test_noisy_sine_without_noise_is_the_sine():
    t, x = noisy_sine(num_steps=300, noise_std=0.0, frequency=0.05)
    np.testing.assert_allclose(x, np.sin(0.05 * t), rtol=0, atol=1e-15)


def test_noisy_sine_noise_has_the_requested_spread():
    t, x = noisy_sine(num_steps=20_000, noise_std=0.2, seed=1)
    residual = x - np.sin(0.01 * t)
    assert abs(residual.mean()) < 0.01
    assert abs(residual.std() - 0.2) < 0.005


@pytest.mark.parametrize(
    ("kwargs", "name"), [({"num_steps": 0}, "num_steps"), ({"noise_std": -0.1}, "noise_std")]
)
def test_noisy_sine_rejects_bad_arguments(kwargs, name):
    with pytest.raises(ValueError, match=f"^{name}"):
        noisy_sine(**kwargs)


def test_zen_of_python_is_decoded_and_silent(capsys):
    text = zen_of_python()
    assert text.startswith("The Zen of Python, by Tim Peters")
    assert "Beautiful is better than ugly." in text
    assert capsys.readouterr().out == ""


def test_docstring_corpus_holds_the_docstrings_of_the_named_modules():
    text = docstring_corpus(["textwrap"])
    assert inspect.getdoc(textwrap.dedent) in text
    assert inspect.getdoc(textwrap.TextWrapper) in text
    assert inspect.getdoc(np.asarray) not in text  # nothing from other modules
    assert docstring_corpus(["textwrap"]) == text  # deterministic


def test_docstring_corpus_default_is_large_enough_for_chapter_one():
    assert len(DOCSTRING_MODULES) == len(set(DOCSTRING_MODULES))
    assert len(word_tokens(docstring_corpus())) > 10_000


def test_char_vocabulary_has_28_distinct_symbols():
    assert len(CHAR_VOCAB) == len(set(CHAR_VOCAB)) == 28


def test_char_tokens_maps_everything_into_the_vocabulary():
    assert "".join(char_tokens("Hi,  there!\n2")) == "hi# there# #"
    tokens = char_tokens(zen_of_python())
    assert set(tokens) <= set(CHAR_VOCAB)
    assert "  " not in "".join(tokens)


def test_word_tokens():
    assert word_tokens("Don't panic: 42 Towels") == ["don", "t", "panic", "towels"]


def test_ngram_counts_small_example():
    counts = ngram_counts(list("abab"), 2)
    assert counts == {("a", "b"): 2, ("b", "a"): 1}
    assert ngram_counts(list("ab"), 3) == {}


@pytest.mark.parametrize("n", [1, 2, 3, 5])
def test_ngram_counts_sum_to_the_number_of_positions(n):
    tokens = word_tokens(zen_of_python())
    counts = ngram_counts(tokens, n)
    assert sum(counts.values()) == len(tokens) - n + 1
    assert all(len(gram) == n for gram in counts)


def test_ngram_counts_rejects_n_below_one():
    with pytest.raises(ValueError, match=r"^n "):
        ngram_counts(["a"], 0)


# --- the reference solution (oracle tests) --------------------------------------------------


@pytest.fixture(scope="module")
def reference():
    """The graded functions of the reference solution, executed from the source notebook."""
    namespace = reference_code(ASSIGNMENT, np=np)
    assert all(callable(namespace.get(name)) for name in GRADED)
    return namespace


@pytest.mark.parametrize(("length", "tau"), [(2, 1), (7, 3), (12, 11), (50, 4), (200, 17)])
def test_reference_windows_equal_numpy_sliding_windows(reference, length, tau):
    x = np.random.default_rng(length + tau).normal(size=length)
    features, labels = reference["make_autoregressive_dataset"](x, tau)
    expected = np.lib.stride_tricks.sliding_window_view(x, tau)[:-1]
    np.testing.assert_array_equal(features, expected)
    np.testing.assert_array_equal(labels, x[tau:])
    assert features.dtype == labels.dtype == np.float64
    assert features.shape == (length - tau, tau) and labels.shape == (length - tau,)


def test_reference_windows_accept_lists_and_do_not_alias_the_input(reference):
    x = [1, 4, 9, 16, 25]
    features, labels = reference["make_autoregressive_dataset"](x, 2)
    np.testing.assert_array_equal(features, [[1, 4], [4, 9], [9, 16]])
    assert labels.dtype == np.float64
    array = np.arange(6.0)
    _, labels = reference["make_autoregressive_dataset"](array, 2)
    labels[0] = -1.0
    assert array[2] == 2.0


@pytest.mark.parametrize(
    ("x", "tau", "name"),
    [
        (np.arange(5.0), 0, "tau"),
        (np.arange(5.0), 5, "tau"),
        (np.arange(5.0), -2, "tau"),
        (np.zeros((3, 2)), 1, "x"),
        (2.0, 1, "x"),
    ],
)
def test_reference_windows_errors_name_the_argument_first(reference, x, tau, name):
    with pytest.raises(ValueError, match=f"^{name} "):
        reference["make_autoregressive_dataset"](x, tau)


def companion_forecast(w, b, history, steps):
    """Forecasts of the linear AR model x_t = w @ (x_{t-tau}, ..., x_{t-1}) + b, computed with
    powers of its companion matrix (the state is the window plus a constant 1)."""
    tau = len(w)
    A = np.zeros((tau + 1, tau + 1))
    A[: tau - 1, 1:tau] = np.eye(tau - 1)  # shift the window by one
    A[tau - 1, :tau], A[tau - 1, tau] = w, b  # the new value
    A[tau, tau] = 1.0
    state = np.append(np.asarray(history, dtype=float)[-tau:], 1.0)
    return np.array([(np.linalg.matrix_power(A, k) @ state)[tau - 1] for k in range(1, steps + 1)])


@pytest.mark.parametrize(("tau", "steps"), [(1, 5), (3, 12), (4, 30)])
def test_reference_multistep_equals_the_companion_matrix_forecast(reference, tau, steps):
    rng = np.random.default_rng(tau)
    w, b = rng.uniform(-0.5, 0.5, size=tau), 0.1
    history = rng.normal(size=tau + 6)
    expected = companion_forecast(w, b, history, steps)

    def as_row(window):
        return window @ w + b  # shape (1,)

    def as_column(window):
        return (window @ w + b).reshape(1, 1)

    for predict_fn in (as_row, as_column):
        result = reference["multistep_predict"](predict_fn, history, tau, steps)
        assert isinstance(result, np.ndarray) and result.dtype == np.float64
        np.testing.assert_allclose(result, expected, rtol=1e-12, atol=1e-12)


def test_reference_multistep_windows_history_and_zero_steps(reference):
    history = np.array([0.5, -1.0, 2.0, 0.25])
    original = history.copy()
    windows = []

    def last_plus_one(window):
        windows.append(window.copy())
        return window[:, -1] + 1.0

    result = reference["multistep_predict"](last_plus_one, history, 2, 3)
    np.testing.assert_array_equal(result, [1.25, 2.25, 3.25])
    assert [w.shape for w in windows] == [(1, 2)] * 3
    expected_windows = [[2.0, 0.25], [0.25, 1.25], [1.25, 2.25]]
    np.testing.assert_array_equal(np.concatenate(windows), expected_windows)
    np.testing.assert_array_equal(history, original)

    windows.clear()
    empty = reference["multistep_predict"](last_plus_one, history, 2, 0)
    assert empty.shape == (0,) and empty.dtype == np.float64 and windows == []


@pytest.mark.parametrize(
    ("history", "tau", "steps", "predict_fn", "name"),
    [
        (np.arange(4.0), 0, 2, None, "tau"),
        (np.arange(4.0), 5, 2, None, "history"),
        (np.zeros((2, 3)), 2, 2, None, "history"),
        (np.arange(4.0), 2, -1, None, "steps"),
        (np.arange(4.0), 2, 2, lambda window: window[0], "predict_fn"),
    ],
)
def test_reference_multistep_errors_name_the_argument_first(
    reference, history, tau, steps, predict_fn, name
):
    predict_fn = predict_fn or (lambda window: window[:, -1])
    with pytest.raises(ValueError, match=f"^{name} "):
        reference["multistep_predict"](predict_fn, history, tau, steps)


@pytest.mark.parametrize(
    ("vocab_size", "n"), [(28, 3), (10_000, 5), (2, 64), (1, 100), (np.int64(10_000), 6)]
)
def test_reference_ngram_table_size_is_an_exact_int(reference, vocab_size, n):
    size = reference["ngram_table_size"](vocab_size, n)
    assert type(size) is int
    assert size == math.prod([int(vocab_size)] * int(n))


@pytest.mark.parametrize(("vocab_size", "n", "name"), [(0, 2, "vocab_size"), (28, 0, "n")])
def test_reference_ngram_table_size_errors(reference, vocab_size, n, name):
    with pytest.raises(ValueError, match=f"^{name} "):
        reference["ngram_table_size"](vocab_size, n)


def test_catalogued_mistakes_apply_to_the_reference_and_compile():
    assignment = get_assignment(ASSIGNMENT)
    sources = reference_solutions(read_notebook(assignment.source_notebook))
    mistakes = load_catalogue(assignment.source_dir)
    assert 6 <= len(mistakes) <= 10
    assert {m.function for m in mistakes} == set(GRADED)
    for mistake in mistakes:
        code = mistake.apply(sources[mistake.function])
        compile(code, f"<mistake {mistake.id}>", "exec")
        assert f"def {mistake.function}(" in code
