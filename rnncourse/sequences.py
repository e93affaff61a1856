"""Data for chapter 1 (sequence models) and its exercise notebook.

- ``noisy_sine``: the classic toy series ``x_t = sin(0.01 t) + noise`` with a fixed seed.
- ``docstring_corpus``, ``zen_of_python``: English text that ships with Python (no network).
- ``char_tokens``, ``word_tokens``: turn text into characters of a 28-symbol vocabulary, or words.
- ``ngram_counts``: how often each n-gram occurs in a list of tokens.

The graded functions of the exercise (``make_autoregressive_dataset``, ``multistep_predict``,
``ngram_table_size``) are deliberately *not* here: students write them.
"""

from __future__ import annotations

import codecs
import contextlib
import importlib
import inspect
import io
import re
from collections import Counter
from collections.abc import Sequence

import numpy as np

__all__ = [
    "CHAR_VOCAB",
    "DOCSTRING_MODULES",
    "char_tokens",
    "docstring_corpus",
    "ngram_counts",
    "noisy_sine",
    "word_tokens",
    "zen_of_python",
]

#: The character vocabulary of the course: 26 letters, the space, and ``#`` for anything else.
CHAR_VOCAB = "abcdefghijklmnopqrstuvwxyz #"

#: Standard-library modules whose docstrings make up :func:`docstring_corpus`.
DOCSTRING_MODULES = (
    "argparse",
    "bisect",
    "calendar",
    "collections",
    "csv",
    "datetime",
    "decimal",
    "difflib",
    "doctest",
    "fractions",
    "functools",
    "heapq",
    "itertools",
    "json",
    "logging",
    "pathlib",
    "random",
    "re",
    "shutil",
    "statistics",
    "string",
    "subprocess",
    "tarfile",
    "textwrap",
    "threading",
    "zipfile",
)


def noisy_sine(
    num_steps: int = 1000,
    noise_std: float = 0.2,
    frequency: float = 0.01,
    seed: int = 0,
) -> tuple[np.ndarray, np.ndarray]:
    """The series ``x_t = sin(frequency * t) + noise`` for ``t = 0, 1, ..., num_steps - 1``.

    The noise is Gaussian with mean 0 and standard deviation ``noise_std``, drawn from
    ``numpy.random.default_rng(seed)``, so the same arguments always give the same series.

    Returns ``(t, x)``: two float64 arrays of shape ``(num_steps,)``, the time steps and the
    values.
    """
    if num_steps < 1:
        raise ValueError(f"num_steps must be at least 1, got {num_steps}")
    if noise_std < 0:
        raise ValueError(f"noise_std must be non-negative, got {noise_std}")
    rng = np.random.default_rng(seed)
    t = np.arange(num_steps, dtype=np.float64)
    x = np.sin(frequency * t) + rng.normal(0.0, noise_std, size=num_steps)
    return t, x


def zen_of_python() -> str:
    """The Zen of Python (PEP 20), decoded from the standard library's ``this`` module.

    ``this`` stores the text encoded with rot13 and prints it when first imported; the print
    is swallowed here.
    """
    with contextlib.redirect_stdout(io.StringIO()):
        this = importlib.import_module("this")
    return codecs.decode(this.s, "rot13")


def docstring_corpus(modules: Sequence[str] = DOCSTRING_MODULES) -> str:
    """English text shipped with Python: the docstrings of some standard-library modules.

    For each module (in the given order) the text holds the module's docstring, then the
    docstrings of its public functions and classes defined in that module, sorted by name,
    separated by blank lines. The text depends on the Python version, never on the network.
    """
    parts = []
    for name in modules:
        module = importlib.import_module(name)
        parts.append(inspect.getdoc(module) or "")
        for attribute in sorted(vars(module)):
            obj = vars(module)[attribute]
            if attribute.startswith("_") or not (inspect.isclass(obj) or inspect.isfunction(obj)):
                continue
            if getattr(obj, "__module__", None) != module.__name__:
                continue  # imported from elsewhere: counted once, where it is defined
            parts.append(inspect.getdoc(obj) or "")
    return "\n\n".join(part for part in parts if part)


def char_tokens(text: str) -> list[str]:
    """The characters of ``text`` in the vocabulary :data:`CHAR_VOCAB` (28 symbols).

    Letters are lower-cased, every run of whitespace becomes one space, and any other character
    (digit, punctuation, accented letter) becomes ``#``.
    """
    text = re.sub(r"\s+", " ", text.lower())
    return [c if ("a" <= c <= "z" or c == " ") else "#" for c in text]


def word_tokens(text: str) -> list[str]:
    """The words of ``text``: maximal runs of the letters a-z, lower-cased."""
    return re.findall(r"[a-z]+", text.lower())


def ngram_counts(tokens: Sequence[str], n: int) -> Counter[tuple[str, ...]]:
    """How often each n-gram (``n`` consecutive tokens, as a tuple) occurs in ``tokens``.

    A list of ``L`` tokens holds ``max(L - n + 1, 0)`` n-grams, so the counts sum to that.
    """
    if n < 1:
        raise ValueError(f"n must be at least 1, got {n}")
    return Counter(tuple(tokens[i : i + n]) for i in range(len(tokens) - n + 1))
