"""The book's own touches to sphinx-book-theme: a style sheet, and one Sphinx bug worked around.

A local Sphinx extension, loaded by _config.yml (sphinx.local_extensions); tests/test_browser.py
checks what it fixes.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sphinx.application import Sphinx
from sphinx.config import Config

STATIC = Path(__file__).parent / "static"


def add_static_folder(app: Sphinx, config: Config) -> None:
    config.html_static_path.append(str(STATIC))


def drop_duplicate_scripts(
    app: Sphinx, pagename: str, templatename: str, context: dict[str, Any], doctree: Any
) -> None:
    """Keep one of each script tag. Sphinx 7.4 lists an inline script that an extension adds
    while the documents are read twice (once with the file name None, once with ""), so
    sphinx-thebe's `const THEBE_JS_URL = ...` is declared twice on every page, and the browser
    reports a SyntaxError. The list is changed in place: other handlers still add to it."""
    scripts = context.get("script_files", [])
    seen: set[tuple] = set()
    unique = []
    for script in scripts:
        attributes = tuple(sorted(getattr(script, "attributes", {}).items()))
        key = (getattr(script, "filename", script) or "", attributes)
        if key not in seen:
            seen.add(key)
            unique.append(script)
    scripts[:] = unique


def setup(app: Sphinx) -> dict[str, Any]:
    app.connect("config-inited", add_static_folder)
    app.add_css_file("rnn-course.css")
    # After every other handler that adds scripts to the page.
    app.connect("html-page-context", drop_duplicate_scripts, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
