"""Fixed costs that nbgrader pays again for every student, paid once per process instead.

nbgrader's autograde and feedback steps are built for one notebook at a time: creating a
gradebook asks the `alembic` command (a new Python process) for the schema version; each call
makes a new gradebook connection (a new SQLAlchemy engine, whose compiled-statement cache starts
empty) and checks every cell's nbgrader metadata with ``jsonschema.validate``, which validates the
*schema* itself before each use. Grading a class, those repeats cost more CPU than a student's
numpy notebook. The replacements below compute the same results: the same validation errors
(``best_match`` of the same validator), the same schema version (alembic's API), the same
engines (one per URL and process, their connections still closed by ``Gradebook.close``).
Imported for its effect by the grader.
"""

from __future__ import annotations

import functools
import json
import types
from typing import Any

import jsonschema
import nbgrader.api
import nbgrader.nbgraderformat.common
from sqlalchemy import create_engine
from sqlalchemy.engine import Engine


@functools.cache
def _validator(schema_text: str) -> jsonschema.protocols.Validator:
    schema = json.loads(schema_text)
    kind = jsonschema.validators.validator_for(schema)
    kind.check_schema(schema)
    return kind(schema)


def validate(instance: Any, schema: dict, *args: Any, **kwargs: Any) -> None:
    """``jsonschema.validate``, with each schema checked and compiled once."""
    if args or kwargs:
        return jsonschema.validate(instance, schema, *args, **kwargs)
    error = jsonschema.exceptions.best_match(
        _validator(json.dumps(schema, sort_keys=True)).iter_errors(instance)
    )
    if error is not None:
        raise error
    return None


@functools.cache
def _engine(url: str, **options: Any) -> Engine:
    return create_engine(url, **options)


def shared_engine(url: Any, **options: Any) -> Engine:
    """One engine per database and process, so its compiled statements are kept."""
    return _engine(str(url), **options)


@functools.cache
def _alembic_head() -> str:
    """The schema version nbgrader stamps on a new gradebook. nbgrader asks for it by starting
    the `alembic` command, a new Python process (1-3 s), every time it creates a gradebook: each
    run creates two, and every test creates more. Alembic's own API gives the same answer at
    once, from the same migration scripts."""
    from alembic.script import ScriptDirectory
    from nbgrader.dbutil import ALEMBIC_DIR

    heads = ScriptDirectory(ALEMBIC_DIR).get_heads()
    if len(heads) != 1:  # nbgrader itself takes the first line of `alembic heads`
        raise RuntimeError(f"nbgrader's gradebook schema has {len(heads)} heads: {heads}")
    return heads[0]


nbgraders_alembic_version = nbgrader.api.get_alembic_version  # kept for the test of the above
nbgrader.api.get_alembic_version = _alembic_head
nbgrader.nbgraderformat.common.jsonschema = types.SimpleNamespace(validate=validate)
nbgrader.api.create_engine = shared_engine
