"""Course helpers shared by the book, the exercise notebooks and the autograder.

- ``rnncourse.checks``: the keyed check API every test cell uses (``Checker``).
- ``rnncourse.store``: the on-disk format of reference values and recorded check values.
- ``rnncourse.compare``: the one comparison rule (tolerances) shared by students and the grader.
"""

from rnncourse.checks import Checker

__all__ = ["Checker"]
