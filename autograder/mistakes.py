"""Catalogues of likely mistakes: named, plausible wrong implementations of graded functions.

Each assignment keeps its catalogue next to its source notebook, in
``solutions/<assignment>/mistakes.py``, as a list ``MISTAKES`` of :class:`Mistake`. A mistake is
a small edit of the reference solution's code for one graded function (or a whole replacement
of that solution cell). Reference generation runs the source notebook once per mistake and keeps
what the mistake produces on every check where it differs from the reference; when a student's
value fails a check but matches a mistake's value there, the verdict names the mistake.
"""

from __future__ import annotations

import importlib.util
import re
from dataclasses import dataclass
from pathlib import Path

CATALOGUE_FILE = "mistakes.py"
MISTAKE_ID = re.compile(r"^[a-z][a-z0-9_]{0,63}$")


@dataclass(frozen=True)
class Mistake:
    """One likely mistake in one graded function.

    ``replace`` edits the reference code of the solution cell ``function``: each ``(old, new)``
    pair replaces every occurrence of ``old`` (which must occur). ``code`` instead replaces the
    whole cell. ``affects`` names other graded functions that call the edited code and so may
    lose points too (for example a shared input check).
    """

    id: str  # letters, digits and '_': also the folder of its values in the reference store
    function: str  # the graded name whose solution cell it edits
    what: str  # a few words, shown to the student as "likely mistake: <what>"
    advice: str  # one sentence on how to fix it; never names a hidden input or value
    replace: tuple[tuple[str, str], ...] = ()
    code: str | None = None
    affects: tuple[str, ...] = ()

    def apply(self, reference_code: str) -> str:
        """The solution cell's code with this mistake in it."""
        if self.code is not None:
            return self.code
        source = reference_code
        for old, new in self.replace:
            if old not in source:
                raise ValueError(f"mistake {self.id}: {old!r} is not in {self.function}'s code")
            source = source.replace(old, new)
        if source == reference_code:
            raise ValueError(f"mistake {self.id} changes nothing")
        return source


def catalogue_path(source_dir: Path) -> Path:
    return Path(source_dir) / CATALOGUE_FILE


def load_catalogue(source_dir: Path) -> list[Mistake]:
    """The ``MISTAKES`` of ``source_dir/mistakes.py`` (an empty list when there is none)."""
    path = catalogue_path(source_dir)
    if not path.is_file():
        return []
    spec = importlib.util.spec_from_file_location(f"mistakes_{Path(source_dir).name}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    mistakes = list(module.MISTAKES)
    ids = [m.id for m in mistakes]
    bad = [i for i in ids if not MISTAKE_ID.match(i)]
    if bad:
        raise ValueError(f"{path}: mistake ids must be lower_case identifiers: {bad}")
    twice = sorted({i for i in ids if ids.count(i) > 1})
    if twice:
        raise ValueError(f"{path}: mistake ids used twice: {twice}")
    for mistake in mistakes:
        if (mistake.code is None) == (not mistake.replace):
            raise ValueError(f"{path}: mistake {mistake.id} needs either replace or code")
    return mistakes
