"""Execute the book's notebooks in parallel into the jupyter-cache, before the Sphinx build.

`jupyter-book build` (MyST-NB, `execute_notebooks: cache`) executes the chapters one after the
other while it reads them. This script runs the same executions ahead of the build, several
at a time, and stores them in the same jupyter-cache; the build that follows then finds every
chapter in the cache ("Using cached notebook") and executes nothing.

It does what MyST-NB does for one notebook (myst_nb.core.execute.cache), so that the cache
entries it writes are the ones the build looks up:

- it reads each page of _toc.yml that is a MyST markdown notebook with MyST-NB's own reader and
  the build's markdown extensions (jupyter-cache hashes the code cells and the kernelspec);
- it skips pages excluded from execution (`execute.exclude_patterns`) and pages already cached;
- it executes with jupyter-cache's `single_nb_execution`, in the page's folder, with the
  timeout and `allow_errors` of _config.yml;
- it caches the result under the page's absolute path, with its execution time.

The longest notebooks start first (their last recorded time; the later chapters when none is
recorded), so that the two workers finish together. Only this process writes to the cache
database (SQLite); the workers only execute.

Usage, from the folder the build runs in (it holds the cache path of _config.yml):
    python scripts/execute_book.py [--jobs N] [--root BOOK]   (exit status 1 if one failed)
"""

from __future__ import annotations

import argparse
import multiprocessing
import sys
import time
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

# nbformat validates with jsonschema, whose import compiles some 40 grammars of rfc3987_syntax
# (about 3 s here, half of a run with nothing to execute) for the "iri" format that no notebook
# schema uses. Blocking that one import makes jsonschema leave the format out (jsonschema#1428).
sys.modules.setdefault("rfc3987_syntax", None)

import nbformat  # noqa: E402
import yaml  # noqa: E402
from jupyter_cache import get_cache  # noqa: E402
from jupyter_cache.base import CacheBundleIn, JupyterCacheAbstract  # noqa: E402
from jupyter_cache.executors.utils import single_nb_execution  # noqa: E402
from myst_nb.core.read import is_myst_markdown_notebook, read_myst_markdown_notebook  # noqa: E402
from myst_parser.config.main import MdParserConfig  # noqa: E402

REPO_ROOT = Path(__file__).resolve().parent.parent
SUFFIXES = (".md", ".ipynb")


@dataclass(frozen=True)
class BookSettings:
    """What the execution needs from _config.yml."""

    cache_path: Path
    timeout: int | None
    allow_errors: bool
    exclude_patterns: tuple[str, ...]
    myst_extensions: tuple[str, ...]


@dataclass
class Outcome:
    """What a worker sends back: the executed notebook, or the error that stopped it."""

    path: Path
    notebook: nbformat.NotebookNode
    seconds: float
    error: str | None


def read_settings(root: Path = REPO_ROOT) -> BookSettings:
    """The execution settings of the book, as jupyter-book passes them to MyST-NB."""
    config = yaml.safe_load((root / "_config.yml").read_text())
    execute = config.get("execute", {})
    # MyST-NB opens the cache path as given: relative to the folder the build runs in (for
    # `make book`, the repository root). Run this script from the same folder.
    return BookSettings(
        cache_path=Path(execute.get("cache", "_build/.jupyter_cache")).absolute(),
        timeout=execute.get("timeout", 30),
        allow_errors=bool(execute.get("allow_errors", False)),
        exclude_patterns=tuple(execute.get("exclude_patterns", [])),
        myst_extensions=tuple(config.get("parse", {}).get("myst_enable_extensions", [])),
    )


def toc_pages(root: Path = REPO_ROOT) -> list[Path]:
    """Every source file that _toc.yml names, in the order of the book."""
    toc = yaml.safe_load((root / "_toc.yml").read_text())
    names: list[str] = []

    def collect(node: object) -> None:
        if isinstance(node, dict):
            for key in ("root", "file"):
                if isinstance(node.get(key), str):
                    names.append(node[key])
            for value in node.values():
                collect(value)
        elif isinstance(node, list):
            for item in node:
                collect(item)

    collect(toc)
    pages = []
    for name in names:
        for suffix in SUFFIXES:
            if (root / f"{name}{suffix}").is_file():
                pages.append(root / f"{name}{suffix}")
                break
    return pages


def is_excluded(path: Path, settings: BookSettings) -> bool:
    """MyST-NB's test: the absolute path matches a pattern (from the right, like glob)."""
    posix = PurePosixPath(path.as_posix())
    return any(posix.match(pattern) for pattern in settings.exclude_patterns)


def read_notebook(path: Path, settings: BookSettings) -> nbformat.NotebookNode | None:
    """The page as MyST-NB reads it in the build, or None if it is not a notebook."""
    text = path.read_text(encoding="utf8")
    if path.suffix == ".ipynb":
        return nbformat.reads(text, as_version=4)
    if not is_myst_markdown_notebook(text):
        return None
    config = MdParserConfig(enable_extensions=set(settings.myst_extensions))
    return read_myst_markdown_notebook(text, config=config, add_source_map=True, path=path)


def notebooks_to_execute(
    cache: JupyterCacheAbstract, settings: BookSettings, root: Path = REPO_ROOT
) -> list[tuple[Path, nbformat.NotebookNode]]:
    """The book's notebooks that the build would execute: not excluded and not in the cache."""
    todo = []
    for path in toc_pages(root):
        notebook = read_notebook(path, settings)
        if notebook is None or is_excluded(path, settings):
            continue
        try:
            cache.match_cache_notebook(notebook)
        except KeyError:
            todo.append((path, notebook))
    return todo


def last_seconds(cache: JupyterCacheAbstract) -> dict[str, float]:
    """The most recent recorded execution time of each page (by its path), if any."""
    seconds: dict[str, float] = {}
    for record in sorted(cache.list_cache_records(), key=lambda r: r.created):
        if "execution_seconds" in (record.data or {}):
            seconds[record.uri] = record.data["execution_seconds"]
    return seconds


def longest_first(
    todo: list[tuple[Path, nbformat.NotebookNode]], seconds: dict[str, float]
) -> list[tuple[Path, nbformat.NotebookNode]]:
    """Order the notebooks so that the workers finish together: the longest start first.

    A notebook's length is its last recorded execution time. Notebooks never executed (a
    new cache, as on CI) come first, the book's later chapters before the earlier ones: they
    train the larger models (chapter 08 alone takes about a third of the total).
    """
    position = {path: index for index, (path, _) in enumerate(todo)}

    def key(item: tuple[Path, nbformat.NotebookNode]) -> tuple[int, float]:
        known = seconds.get(str(item[0]))
        return (1, -known) if known is not None else (0, -position[item[0]])

    return sorted(todo, key=key)


def execute(task: tuple[Path, nbformat.NotebookNode, BookSettings]) -> Outcome:
    """Run one notebook as MyST-NB does: in its folder, with the book's timeout."""
    path, notebook, settings = task
    result = single_nb_execution(
        notebook,
        cwd=str(path.parent),
        allow_errors=settings.allow_errors,
        timeout=settings.timeout,
        meta_override=True,
    )
    return Outcome(path, result.nb, result.time, result.exc_string if result.err else None)


def execute_book(jobs: int = 2, root: Path = REPO_ROOT) -> int:
    """Execute the uncached notebooks with `jobs` workers; return how many failed."""
    settings = read_settings(root)
    cache = get_cache(str(settings.cache_path))
    todo = notebooks_to_execute(cache, settings, root)
    if not todo:
        print("execute_book: every notebook is in the cache, nothing to execute")
        return 0
    todo = longest_first(todo, last_seconds(cache))
    print(f"execute_book: executing {len(todo)} notebook(s) with {jobs} worker(s)")
    failures = 0
    start = time.perf_counter()
    # spawn: fresh workers, nothing inherited from this process's open database.
    context = multiprocessing.get_context("spawn")
    with context.Pool(processes=max(1, min(jobs, len(todo)))) as pool:
        tasks = [(path, notebook, settings) for path, notebook in todo]
        for outcome in pool.imap_unordered(execute, tasks, chunksize=1):
            name = outcome.path.relative_to(root)
            if outcome.error is not None:
                failures += 1
                print(f"execute_book: {name} FAILED\n{outcome.error}", file=sys.stderr)
                continue
            cache.cache_notebook_bundle(
                CacheBundleIn(
                    outcome.notebook,
                    str(outcome.path),
                    data={"execution_seconds": outcome.seconds},
                ),
                check_validity=False,
                overwrite=True,
            )
            print(f"execute_book: {name} executed in {outcome.seconds:.1f} s, cached")
    print(f"execute_book: done in {time.perf_counter() - start:.1f} s, {failures} failed")
    return failures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=2, help="notebooks executed at once")
    parser.add_argument("--root", type=Path, default=REPO_ROOT, help="the book's folder")
    args = parser.parse_args()
    sys.exit(1 if execute_book(args.jobs, args.root.resolve()) else 0)


if __name__ == "__main__":
    main()
