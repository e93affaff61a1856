"""A rebuild of the book with no change executes no notebook: jupyter-cache serves them all.

The `html` fixture builds the book, which fills the jupyter-cache. These tests then build
again as `make book` does (scripts/execute_book.py executes the notebooks missing from the
cache, two at a time, then jupyter-book builds) and read what MyST-NB logs for every notebook
page: "Executing notebook ..." when it runs one, "Using cached notebook: ID=..." when it takes
the outputs from the cache.

The rebuilds run on a copy of the cache, so that they read and write only their own database
(pytest-xdist may run another build of the book at the same time on the shared one). MyST-NB
opens the cache path of _config.yml relative to the folder the build runs in, so a build run
in a folder that holds the copy at that path uses the copy; the log line "Using jupyter-cache
at" and the records' access times show that it did.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import nbformat
import pytest
import yaml
from jupyter_cache import get_cache
from myst_nb.core.read import is_myst_markdown_notebook, read_myst_markdown_notebook
from myst_parser.config.main import MdParserConfig

from autograder.course import REPO_ROOT

pytestmark = pytest.mark.slow
CONFIG = yaml.safe_load((REPO_ROOT / "_config.yml").read_text())
CACHE = CONFIG["execute"]["cache"]  # relative to the folder the build runs in
NO_CHANGE_REBUILD_SECONDS = 20  # the limit for a rebuild with no change
EXECUTING = re.compile(r"Executing notebook|execute_book: executing")  # MyST-NB, our script
FROM_CACHE = re.compile(r"^(.+?): Using cached notebook: ID=\d+", re.M)
ANSI = re.compile(r"\x1b\[[0-9;]*m")


def notebook_pages() -> list[Path]:
    """The pages of _toc.yml that the build executes: notebooks not excluded from execution."""
    names = re.findall(r"(?:file|root): (\S+)", (REPO_ROOT / "_toc.yml").read_text())
    excluded = CONFIG["execute"].get("exclude_patterns", [])
    pages = []
    for name in names:
        path = REPO_ROOT / f"{name}.md"
        if not path.is_file():
            path = REPO_ROOT / f"{name}.ipynb"
        text = path.read_text(encoding="utf8")
        notebook = path.suffix == ".ipynb" or is_myst_markdown_notebook(text)
        if notebook and not any(PurePosixPath(path.as_posix()).match(p) for p in excluded):
            pages.append(path)
    return pages


def read_as_the_build_does(path: Path) -> nbformat.NotebookNode:
    """The notebook MyST-NB hands to jupyter-cache: its own reader, the book's extensions."""
    text = path.read_text(encoding="utf8")
    if path.suffix == ".ipynb":
        return nbformat.reads(text, as_version=4)
    extensions = set(CONFIG.get("parse", {}).get("myst_enable_extensions", []))
    config = MdParserConfig(enable_extensions=extensions)
    return read_myst_markdown_notebook(text, config=config, add_source_map=True, path=path)


def copy_cache(source: Path, target: Path, attempts: int = 5) -> None:
    """Copy a jupyter-cache whole; retry if another build changed it during the copy."""
    for _ in range(attempts):
        try:
            shutil.copytree(source, target)
            cache = get_cache(str(target))
            for record in cache.list_cache_records():
                cache.get_cache_bundle(record.pk)  # raises if its notebook file is missing
            return
        except (OSError, shutil.Error, KeyError):
            shutil.rmtree(target, ignore_errors=True)
            time.sleep(2)
    pytest.fail(f"could not copy the jupyter-cache {source}")


def records(cache_path: Path) -> dict[int, tuple]:
    """Every cache record: what identifies its executed notebook, and when it was read."""
    cache = get_cache(str(cache_path))
    return {r.pk: (r.hashkey, r.uri, r.created, r.accessed) for r in cache.list_cache_records()}


@dataclass
class Build:
    log: str
    seconds: float


def build(folder: Path) -> Build:
    """`make book`, run in `folder`: its cache and its HTML are under folder/_build."""
    jupyter_book = Path(sys.executable).parent / "jupyter-book"
    commands = [
        [sys.executable, str(REPO_ROOT / "scripts" / "execute_book.py"), "--root", str(REPO_ROOT)],
        [str(jupyter_book), "build", str(REPO_ROOT), "--warningiserror", "--keep-going",
         "--path-output", str(folder)],
    ]  # fmt: skip
    log = ""
    start = time.perf_counter()
    for command in commands:
        result = subprocess.run(command, cwd=folder, capture_output=True, text=True, timeout=600)
        log += ANSI.sub("", result.stdout + result.stderr)
        assert result.returncode == 0, log[-5000:]
    seconds = time.perf_counter() - start
    assert f"Using jupyter-cache at: {CACHE}" in log, "the build did not use the copied cache"
    return Build(log, seconds)


@dataclass
class Rebuild:
    folder: Path
    cache: Path
    before: dict[int, tuple]
    fresh: Build


@pytest.fixture(scope="module")
def rebuild(html, tmp_path_factory) -> Rebuild:
    """A copy of the cache the `html` build filled, and a first build in a fresh folder."""
    folder = tmp_path_factory.mktemp("rebuild")
    cache = folder / CACHE
    copy_cache(REPO_ROOT / CACHE, cache)
    before = records(cache)
    return Rebuild(folder, cache, before, build(folder))


def test_a_fresh_build_takes_every_notebook_from_the_cache(rebuild):
    """A build with no Sphinx environment reads every page, and executes none of them."""
    pages = notebook_pages()
    assert len(pages) >= 8, "the chapters are notebooks: the book should have at least 8"
    log = rebuild.fresh.log
    executed = [line for line in log.splitlines() if EXECUTING.search(line)]
    assert not executed, f"notebooks were executed: {executed}"
    assert sorted(FROM_CACHE.findall(log)) == sorted(str(p) for p in pages)
    after = records(rebuild.cache)
    assert {pk: r[:3] for pk, r in after.items()} == {
        pk: r[:3] for pk, r in rebuild.before.items()
    }, "the build added or replaced cached notebooks"
    read = [pk for pk in after if after[pk][3] > rebuild.before[pk][3]]
    assert len(read) == len(pages), "the build did not read its notebooks from this cache"
    print(f"fresh build with the cache: {rebuild.fresh.seconds:.1f} s")


def test_a_rebuild_with_no_change_executes_nothing_and_is_fast(rebuild):
    """`make book` a second time: nothing to execute, and done within the issue's 20 s."""
    before = records(rebuild.cache)
    again = build(rebuild.folder)
    executed = [line for line in again.log.splitlines() if EXECUTING.search(line)]
    assert not executed, f"notebooks were executed: {executed}"
    after = records(rebuild.cache)
    assert {pk: r[:3] for pk, r in after.items()} == {pk: r[:3] for pk, r in before.items()}
    print(f"no-change rebuild: {again.seconds:.1f} s")
    assert again.seconds <= NO_CHANGE_REBUILD_SECONDS, (
        f"a rebuild with no change took {again.seconds:.1f} s"
    )


def test_the_cache_notices_a_change_of_code_and_only_of_code(rebuild):
    """The cache can miss: a chapter whose code changed is executed again, prose alone is not.

    jupyter-cache hashes the code cells (and the kernelspec); `match_cache_notebook` raises
    KeyError when no executed notebook has the same hash, and MyST-NB then executes the page.
    """
    cache = get_cache(str(rebuild.cache))
    for page in notebook_pages():
        notebook = read_as_the_build_does(page)
        cache.match_cache_notebook(notebook)  # as built: in the cache
        code = [c for c in notebook.cells if c.cell_type == "code"]
        prose = [c for c in notebook.cells if c.cell_type == "markdown"]
        assert code and prose, page
        prose[-1].source += "\n\nOne more sentence."
        cache.match_cache_notebook(notebook)  # prose changed: still in the cache
        code[-1].source += "\nprint('changed')"
        with pytest.raises(KeyError):
            cache.match_cache_notebook(notebook)
