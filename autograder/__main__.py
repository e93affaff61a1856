import sys

# jsonschema, imported with nbformat and nbgrader, compiles an IRI grammar at import (about 1 s)
# for a format check that neither notebook nor gradebook validation uses: a grading run, the
# benchmark and every worker it forks start faster without it (jsonschema skips that check).
sys.modules.setdefault("rfc3987_syntax", None)

from autograder.cli import main  # noqa: E402

sys.exit(main())
