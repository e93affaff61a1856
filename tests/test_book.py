"""The book builds strictly (every cell executed, warnings are errors) and works offline."""

from __future__ import annotations

import html as html_lib
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from autograder.course import REPO_ROOT

pytestmark = pytest.mark.slow
CHAPTER = "book/02_hidden_state.html"
# Every chapter page, with the number of figures it must show (real matplotlib output).
CHAPTERS = {
    "book/01_sequence_models.html": 5,
    "book/02_hidden_state.html": 3,
    "book/03_bptt.html": 4,
    "book/04_numpy_two_step.html": 0,
    "book/05_mytorch.html": 1,
    "book/06_torch_rnn.html": 1,
    "book/07_lstm_gru.html": 2,
    "book/08_language_model.html": 2,
}
# Pages besides the chapters and their exercises: the students' guide and the reference part.
GUIDES = ["book/getting_started", "book/exercises", "book/instructor_guide"]
REFERENCE = ["book/notation", "book/glossary", "book/bibliography"]
# The primary sources the bibliography must list: key -> (first author, words of the title).
SOURCES = {
    "elman1990finding": ("Elman", "Finding structure in time"),
    "werbos1990backpropagation": ("Werbos", "Backpropagation through time"),
    "bengio1994learning": ("Bengio", "Learning long-term dependencies with gradient descent"),
    "hochreiter1997long": ("Hochreiter", "Long short-term memory"),
    "cho2014learning": ("Cho", "Learning phrase representations using RNN encoder"),
    "pascanu2013difficulty": ("Pascanu", "On the difficulty of training recurrent neural"),
    "zhang2023dive": ("Zhang", "Dive into deep learning"),
}
# Terms the glossary must define (Sphinx gives each the id "term-" + its words joined by "-").
GLOSSARY_TERMS = [
    "hidden state", "backpropagation through time", "truncated BPTT", "vanishing gradients",
    "exploding gradients", "gradient clipping", "teacher forcing", "perplexity",
    "one-hot encoding", "embedding", "LSTM", "GRU", "gate", "bidirectional RNN",
    "stacked RNN", "autograd", "computational graph", "n-gram", "latent-variable model",
    "language model",
]  # fmt: skip
# Symbols the notation page must explain, as they are written in its TeX.
NOTATION_SYMBOLS = [
    "X_t", "H_t", "W_{xh}", "W_{hh}", "b_h", "O_t", "W_{hq}", "b_q", "$B$", "$T$", "$D$",
    "$H$", "$Q$", "$V$", "$L$", "i_t", "f_t", "g_t", "o_t", "c_t", "r_t", "z_t", "n_t",
]  # fmt: skip
CITE_ROLE = re.compile(r"\{cite(?::\w+)?\}`([^`]+)`")
MAX_CODE_LINE = 80
CHROMIUM_FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip


def pages(html: Path) -> list[Path]:
    return sorted(p for p in html.rglob("*.html") if "_static" not in p.parts)


def visible_text(page: Path) -> str:
    """The words of an HTML page, without its tags and with entities decoded."""
    text = re.sub(r"<script.*?</script>|<style.*?</style>", " ", page.read_text(), flags=re.S)
    return " ".join(html_lib.unescape(re.sub(r"<[^>]+>", " ", text)).split())


def book_sources() -> list[Path]:
    return sorted((REPO_ROOT / "book").glob("*.md"))


def test_every_page_of_the_toc_is_built(html):
    toc = (REPO_ROOT / "_toc.yml").read_text()
    files = re.findall(r"file: (\S+)", toc)
    for page in GUIDES + REFERENCE:
        assert page in files, f"{page} is missing from _toc.yml"
    expected = 2 * len(CHAPTERS) + len(GUIDES) + len(REFERENCE)
    assert len(files) == expected, "a chapter, an exercise, a guide or a reference page is missing"
    for page in ["index.html", "book/intro.html"] + [f"{f}.html" for f in files]:
        assert (html / page).is_file(), page


def test_the_intro_links_the_guides_and_the_reference_pages(html):
    text = (html / "book" / "intro.html").read_text()
    for page in GUIDES + REFERENCE:
        assert f'href="{Path(page).name}.html' in text, f"intro.html does not link {page}"


@pytest.mark.parametrize(("chapter", "figures"), CHAPTERS.items())
def test_a_chapter_shows_executed_outputs_and_real_figures(html, chapter, figures):
    text = (html / chapter).read_text()
    outputs = re.findall(r'class="cell_output', text)
    images = re.findall(r'<img[^>]+src="([^"]+\.png)"', text)
    assert len(outputs) >= 5, "code cells without outputs: was the chapter executed?"
    assert len(images) >= figures, "the chapter's figures are missing"
    for image in images:
        assert (html / "book" / image).resolve().stat().st_size > 10_000, image
    for tag in re.findall(r'<img[^>]+src="[^"]+\.png"[^>]*>', text):
        alt = re.search(r'alt="([^"]*)"', tag)
        assert alt and len(alt.group(1)) > 20 and not alt.group(1).endswith(".png"), (
            f"a figure of {chapter} has no alt text: {tag}"
        )
    assert 'href="../exercises/' in text, f"{chapter} does not link its graded exercise"
    assert "Traceback" not in text, "a cell failed"
    # Errors a chapter shows on purpose: ValueError (input checks), NotImplementedError (the
    # lecture's misspelt `farword` in chapter 07). Any other is a cell that went wrong.
    shown = set(re.findall(r"\b(\w+Error): ", text)) - {"ValueError", "NotImplementedError"}
    assert not shown, f"{chapter} shows errors: {shown}"
    for heading in ("Learning goals", "Summary", "Exercises"):
        assert f">{heading}<" in text, f"{chapter} has no section {heading!r}"


def test_the_bibliography_lists_the_primary_sources(html):
    text = visible_text(html / "book" / "bibliography.html").lower()
    for key, (author, title) in SOURCES.items():
        assert author.lower() in text and title.lower() in text, f"{key} is not listed"


def first_authors() -> dict[str, str]:
    """The surname of the first author of every entry of book/references.bib, by key."""
    bib = (REPO_ROOT / "book" / "references.bib").read_text()
    entries = re.findall(r"^@\w+\{([^,\s]+),(.*?)^\}", bib, flags=re.M | re.S)
    return {key: re.search(r"author\s*=\s*\{([^,]+),", body).group(1) for key, body in entries}


def test_every_citation_names_a_source_of_the_bibliography(html):
    # Sphinx (with --warningiserror) already fails the build on an unknown key; this says which.
    authors = first_authors()
    cited: dict[str, set[str]] = {}
    for source in book_sources():
        for keys in CITE_ROLE.findall(source.read_text()):
            for key in (k.strip() for k in keys.split(",")):
                cited.setdefault(key, set()).add(source.stem)
    assert set(cited) <= set(authors), f"keys not in references.bib: {set(cited) - set(authors)}"
    assert set(SOURCES) <= set(cited), f"never cited: {set(SOURCES) - set(cited)}"
    listed = visible_text(html / "book" / "bibliography.html")
    for key, stems in cited.items():
        assert authors[key] in listed, f"{key} is cited but not listed in the bibliography"
        for stem in stems - {"bibliography"}:
            page = (html / "book" / f"{stem}.html").read_text()
            assert 'href="bibliography.html#' in page, f"{stem} cites {key} without a link"


def test_the_glossary_defines_the_terms_of_the_course(html):
    text = (html / "book" / "glossary.html").read_text()
    for term in GLOSSARY_TERMS:
        anchor = "term-" + re.sub(r"\s+", "-", term)
        assert f'id="{anchor}"' in text, f"the glossary does not define {term!r}"
    # Chapters link terms to it; Sphinx already fails the build on a term it cannot find.
    linked = [c for c in CHAPTERS if 'href="glossary.html#term-' in (html / c).read_text()]
    assert len(linked) >= len(CHAPTERS) - 1, f"few chapters link the glossary: {linked}"


def test_the_notation_page_explains_every_symbol(html):
    source = (REPO_ROOT / "book" / "notation.md").read_text()
    missing = [symbol for symbol in NOTATION_SYMBOLS if symbol not in source]
    assert not missing, f"notation.md does not explain {missing}"
    assert "(batch, time, features)" in visible_text(html / "book" / "notation.html")


def test_the_getting_started_guide_shows_real_checks(html):
    text = visible_text(html / "book" / "getting_started.html")
    for step in ("make lab", "pip install", "raise NotImplementedError()", "Validate", "Submit"):
        assert step in text, f"getting_started does not explain {step!r}"
    assert "ok test_rnn_step/example_tanh" in text, "the passing check was not executed"
    assert "AssertionError: test_rnn_step/example_tanh" in text
    assert "likely mistake" in text, "the failing check names no likely mistake"


def test_chapter_code_lines_are_short():
    """Code in the chapters stays readable without scrolling: at most 80 characters."""
    for source in book_sources():
        inside = False
        for number, line in enumerate(source.read_text().splitlines(), start=1):
            if line.startswith("```"):
                inside = not inside and bool(re.match(r"```(\{code-cell\}|python)", line))
                continue
            if inside:
                assert len(line) <= MAX_CODE_LINE, f"{source.name}:{number} is {len(line)} long"


def test_no_page_loads_anything_from_the_web(html):
    for page in pages(html):
        text = page.read_text()
        scripts = re.findall(r'<script[^>]*\bsrc="(https?:)?//', text)
        styles = re.findall(r'<link[^>]*\bhref="(?:https?:)?//[^"]*"[^>]*stylesheet', text)
        assert not scripts and not styles, f"{page} loads from the web"


def test_mathjax_is_served_from_the_build(html):
    text = (html / CHAPTER).read_text()
    match = re.search(r'<script[^>]*src="([^"]*mathjax/tex-chtml\.js)[^"]*"', text)
    assert match, "no MathJax script tag"
    assert (html / "book" / match.group(1).split("?")[0]).resolve().is_file()
    fonts = html / "_static" / "mathjax" / "output" / "chtml" / "fonts" / "woff-v2"
    assert len(list(fonts.glob("*.woff"))) > 10


def find_chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.mark.browser
def test_formulas_render_from_file_url_in_a_browser(html, tmp_path):
    chromium = find_chromium()
    if chromium is None:
        if os.environ.get("CI"):
            pytest.fail("CI must have Chromium (.ci/run installs Debian's chromium)")
        pytest.skip("no Chromium here (apt-get install chromium)")
    result = subprocess.run(
        [chromium, *CHROMIUM_FLAGS, f"--user-data-dir={tmp_path}", "--virtual-time-budget=20000",
         "--dump-dom", (html / CHAPTER).as_uri()],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    dom = result.stdout
    assert "The hidden state" in dom, result.stderr[-2000:]
    typeset = len(re.findall(r"<mjx-container", dom))
    assert typeset >= 20, f"only {typeset} formulas were typeset by MathJax"
    assert "<mjx-merror" not in dom, "MathJax reported a TeX error"
