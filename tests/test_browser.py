"""Every page of the built book, opened in a real browser: headless Chromium driven by playwright.

Each page of `_toc.yml` (and the search and index pages) is loaded from a file:// URL, as a
reader who downloaded the site would open it, at a desktop width (1280 px) and a phone width
(400 px). A full-page screenshot of each goes to `_build/screenshots/<width>/<page>.png` (a test
artifact), then the page must show:

- its formulas typeset by the bundled MathJax: every formula has a `mjx-container`, no MathJax
  error, and no raw TeX (`$$`, `\\(`, `\\[`, `\\begin{`, ...) in the text outside code;
- every image loaded (naturalWidth > 0);
- no request for anything but file:// and data: URLs (others are recorded and blocked);
- no console error, no uncaught exception, no failed request;
- nothing wider than the content column (see `test_a_page_in_a_browser`).

The search page must find a term of a chapter and link to that chapter, from file:// and when
the site is served over http.

Chromium is Debian's /usr/bin/chromium; no browser is downloaded. Without it the tests skip,
except on CI (the CI environment variable is set), where they fail.
"""

from __future__ import annotations

import base64
import functools
import http.server
import os
import re
import shutil
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import yaml
from playwright.sync_api import Browser, ConsoleMessage, Page, Request, Route, sync_playwright

from autograder.course import REPO_ROOT
from tests.test_book import MAX_CODE_LINE, find_chromium

pytestmark = [pytest.mark.slow, pytest.mark.browser]

DESKTOP, PHONE = 1280, 400
WIDTHS = [DESKTOP, PHONE]
SCREENSHOTS = REPO_ROOT / "_build" / "screenshots"
LOCAL_SCHEMES = ("file:", "data:")
# The content column of sphinx-book-theme; the search page has no article.
COLUMN = "article.bd-article, .bd-search-container"
# A term the search must find, and the chapter it must link to.
SEARCH_TERM, SEARCH_CHAPTER = "backpropagation", "book/03_bptt"
PAGE_TIMEOUT_MS = 30_000
HEIGHT = 900  # of the window; screenshots take the whole page


def toc_pages() -> list[str]:
    """Every page of the book, as paths without .html: the root, the files of _toc.yml, and the
    pages Sphinx adds (search, general index)."""
    toc = yaml.safe_load((REPO_ROOT / "_toc.yml").read_text())
    files = [toc["root"]]
    for part in toc.get("parts", []):
        files += [chapter["file"] for chapter in part.get("chapters", [])]
    return [*files, "search", "genindex"]


# --- What the page's JavaScript measures --------------------------------------------------------

# Resolves once MathJax (when the page loads it) has typeset, the fonts are in and every image
# is decoded, so that what is measured is what the reader sees; or after 20 s, when the checks
# will say what is missing.
SETTLE_JS = """async () => {
  const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
  const settle = async () => {
    if (document.querySelector('script[src*="mathjax"]')) {
      while (!(window.MathJax && MathJax.startup && MathJax.startup.promise)) await sleep(50);
      await MathJax.startup.promise;
    }
    await document.fonts.ready;
    for (const image of document.images) image.loading = 'eager';
    await Promise.all([...document.images].map((image) => image.decode().catch(() => null)));
  };
  await Promise.race([settle(), sleep(20000)]);
}"""
NEXT_FRAME_JS = "() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)))"

# The facts the checks judge. Overflow: the column is walked from the top; an element whose
# content is wider than its box is "cut" (overflow hidden or clip), "spills" (overflow visible)
# or "scrolls" (overflow auto or scroll: the reader can scroll it); an element that is not
# inside a box that scrolls or clips reaches "beyond" the column when its right edge is right of
# the column's content edge. Formulas and code blocks are measured as a whole, not their parts;
# MathJax's copy of each formula for screen readers (clipped to nothing) is left out.
FACTS_JS = r"""(column_selector) => {
  const text = (node) => (node.textContent || '').replace(/\s+/g, ' ').trim().slice(0, 70);
  const name = (node) => node.tagName.toLowerCase() +
      (typeof node.className === 'string' && node.className.trim()
        ? '.' + node.className.trim().split(/\s+/).slice(0, 2).join('.') : '');

  const images = [...document.images]
      .filter((image) => !(image.complete && image.naturalWidth > 0))
      .map((image) => image.currentSrc || image.src);
  const formulas = [...document.querySelectorAll('.math')];
  const untypeset = formulas.filter((f) => !f.querySelector('mjx-container')).map(text);
  const mathErrors = [...document.querySelectorAll('mjx-merror')].map(text);

  // Raw TeX: text outside code and outside typeset formulas.
  const skip = 'pre, code, kbd, samp, script, style, textarea, mjx-container, .highlight';
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  const tex = /\$\$|\\\(|\\\)|\\\[|\\\]|\\begin\{|\\end\{|\$[^$\s][^$]*[\\^_{][^$]*\$/;
  const rawTex = [];
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    if (!node.parentElement.closest(skip) && tex.test(node.textContent)) {
      rawTex.push(text(node));
    }
  }

  const column = document.querySelector(column_selector);
  const overflow = [];
  if (column) {
    const hideCopies = document.createElement('style');
    hideCopies.textContent = 'mjx-assistive-mml { display: none !important; }';
    document.head.appendChild(hideCopies);
    const box = column.getBoundingClientRect();
    const columnStyle = getComputedStyle(column);
    const right = box.right - parseFloat(columnStyle.paddingRight) -
        parseFloat(columnStyle.borderRightWidth);
    const walk = (element, contained) => {
      const style = getComputedStyle(element);
      if (style.display === 'none' || style.clip !== 'auto' || style.clipPath !== 'none') {
        return false;
      }
      const scrolls = style.overflowX === 'auto' || style.overflowX === 'scroll';
      const clips = !scrolls && style.overflowX !== 'visible';
      const atomic = ['PRE', 'MJX-CONTAINER'].includes(element.tagName);
      let below = false;
      if (!atomic) {
        for (const child of element.children) {
          below = walk(child, contained || scrolls || clips) || below;
        }
      }
      const facts = {element: name(element), text: text(element)};
      if (element.clientWidth > 0 && element.scrollWidth > element.clientWidth + 1) {
        const kind = scrolls ? 'scrolls' : clips ? 'cut' : 'spills';
        if (kind !== 'spills' || !below) {
          const longest = element.tagName === 'PRE'
              ? Math.max(...element.textContent.split('\n').map((line) => line.length)) : 0;
          overflow.push({...facts, kind, content: element.scrollWidth,
                         box: element.clientWidth, longest});
          return true;
        }
      }
      const edge = element.getBoundingClientRect();
      if (!contained && !below && edge.width > 0 && edge.right > right + 1) {
        overflow.push({...facts, kind: 'beyond', content: Math.round(edge.right),
                       box: Math.round(right), longest: 0});
        return true;
      }
      return below;
    };
    for (const child of column.children) walk(child, false);
    hideCopies.remove();
  }
  const root = document.documentElement;
  return {column: Boolean(column), images, formulas: formulas.length, untypeset, mathErrors,
          containers: document.querySelectorAll('mjx-container').length, rawTex, overflow,
          pageWidth: root.scrollWidth, windowWidth: root.clientWidth};
}"""


# --- The browser ---------------------------------------------------------------------------------


@dataclass
class Visit:
    """What happened while one page loaded: every request, and every error the browser saw."""

    requests: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def on_console(self, message: ConsoleMessage) -> None:
        if message.type == "error":
            self.errors.append(f"console: {message.text}")

    def on_request_failed(self, request: Request) -> None:
        self.errors.append(f"request failed: {request.url} ({request.failure})")


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """One headless Chromium for every page (listed before `html`, so that a machine without
    Chromium skips before the book is built)."""
    chromium = find_chromium()
    if chromium is None:
        if os.environ.get("CI"):
            pytest.fail("CI must have Chromium (.ci/run installs Debian's chromium)")
        pytest.skip("no Chromium here: the browser checks need it (apt-get install chromium)")
    with sync_playwright() as playwright:
        chromium_browser = playwright.chromium.launch(
            executable_path=chromium, args=["--no-sandbox", "--disable-gpu"]
        )
        yield chromium_browser
        chromium_browser.close()


class Reader:
    """One browser tab that opens pages one after the other, each as a first-time reader would
    (the site's local and session storage are emptied before its scripts run). Requests for
    URLs that do not start with one of `local` are recorded, then blocked."""

    def __init__(self, browser: Browser, local: tuple[str, ...] = LOCAL_SCHEMES) -> None:
        self.context = browser.new_context(viewport={"width": DESKTOP, "height": HEIGHT})
        self.context.add_init_script("localStorage.clear(); sessionStorage.clear();")
        self.context.route(lambda url: not url.startswith(local), block_the_web)
        self.page = self.context.new_page()
        self.page.set_default_timeout(PAGE_TIMEOUT_MS)
        self.visit = Visit()
        self.page.on("request", lambda request: self.visit.requests.append(request.url))
        self.page.on("requestfailed", lambda request: self.visit.on_request_failed(request))
        self.page.on("console", lambda message: self.visit.on_console(message))
        self.page.on("pageerror", lambda error: self.visit.errors.append(f"uncaught: {error}"))
        self.devtools = self.context.new_cdp_session(self.page)

    def open(self, url: str, width: int = DESKTOP) -> Visit:
        """Load `url` in a window `width` px wide and wait until it has settled."""
        self.visit = Visit()
        self.resize(width)
        self.page.goto(url, wait_until="load")
        self.page.evaluate(SETTLE_JS)
        return self.visit

    def resize(self, width: int) -> None:
        """Make the window `width` px wide. The layout follows (CSS media queries), and nothing
        else depends on the width: MathJax 3 does not break formulas into lines. A page opened
        at 1280 px and narrowed to 400 px measures the same as one opened at 400 px."""
        self.page.set_viewport_size({"width": width, "height": HEIGHT})
        self.page.evaluate(NEXT_FRAME_JS)

    def screenshot(self, path: Path) -> None:
        """A PNG of the whole page, through Chromium's DevTools protocol: the same pixels as
        playwright's full-page screenshot, compressed faster (bigger files, 40 % less time)."""
        width, height = self.page.evaluate(
            "() => [document.documentElement.scrollWidth, document.documentElement.scrollHeight]"
        )
        options = {
            "format": "png",
            "optimizeForSpeed": True,
            "captureBeyondViewport": True,
            "clip": {"x": 0, "y": 0, "width": width, "height": height, "scale": 1},
        }
        shot = self.devtools.send("Page.captureScreenshot", options)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(base64.b64decode(shot["data"]))

    def close(self) -> None:
        self.context.close()


def block_the_web(route: Route) -> None:
    route.abort("blockedbyclient")


@pytest.fixture(scope="module")
def reader(browser) -> Iterator[Reader]:
    shutil.rmtree(SCREENSHOTS, ignore_errors=True)  # no screenshot of a page that is gone
    tab = Reader(browser)
    yield tab
    tab.close()


# --- The judgement -------------------------------------------------------------------------------


def overflow_problems(facts: dict, width: int) -> list[str]:
    """The overflows a reader would suffer at `width` (see `test_a_page_in_a_browser`)."""
    problems = []
    for item in facts["overflow"]:
        scrolls = item["kind"] == "scrolls"
        code = item["element"].startswith("pre")
        if scrolls and (width == PHONE or (code and item["longest"] > MAX_CODE_LINE)):
            continue  # scrolling is allowed here
        what = {
            "scrolls": f"needs scrolling at {width} px",
            "cut": "is cut off",
            "spills": "spills out of its box",
            "beyond": "reaches beyond the content column",
        }[item["kind"]]
        if scrolls and code:
            what += f" (its longest line has only {item['longest']} characters)"
        problems.append(
            f"{item['element']} {what}: {item['content']} px of content in {item['box']} px"
            f" -- {item['text']!r}"
        )
    if facts["pageWidth"] > facts["windowWidth"]:
        problems.append(
            f"the page is {facts['pageWidth']} px wide in a {facts['windowWidth']} px window"
        )
    return problems


def load_problems(visit: Visit) -> list[str]:
    leaving = [url for url in visit.requests if not url.startswith(LOCAL_SCHEMES)]
    return visit.errors + [f"request leaves the machine: {url}" for url in leaving]


def typesetting_problems(facts: dict) -> list[str]:
    """What is wrong with the images and formulas (the same at every width)."""
    problems = [f"image not loaded: {src}" for src in facts["images"]]
    problems += [f"formula not typeset: {text!r}" for text in facts["untypeset"]]
    problems += [f"MathJax error: {text!r}" for text in facts["mathErrors"]]
    problems += [f"raw TeX in the text: {text!r}" for text in facts["rawTex"]]
    if facts["formulas"] and not facts["containers"]:
        problems.append(f"{facts['formulas']} formulas and no mjx-container: MathJax did not run")
    if not facts["column"]:
        problems.append(f"no content column ({COLUMN}): has the theme changed?")
    return problems


@pytest.mark.parametrize("name", toc_pages())
def test_a_page_in_a_browser(browser, html, reader, name):
    """The page works offline and shows everything it holds, at desktop and at phone width.

    Nothing may be wider than the content column. Every element of the column whose content is
    wider than its box must be a box the reader can scroll sideways (CSS overflow-x auto or
    scroll: Sphinx's code blocks and tables, the theme's display formulas); an element that cuts
    its content off (overflow hidden, as the theme does for inline formulas) or lets it spill
    out is a bug, and so is anything outside such a box reaching past the column's right edge or
    making the page wider than the window.

    At 1280 px nothing needs to scroll: no formula, no table, no code block, except a code
    block holding a line longer than the 80 characters the chapters keep to (a printed output
    or a listing of the course's library, whose lines may be 100 characters long). At 400 px a
    formula, a table or a code block may scroll inside its own box: a phone cannot show 80
    characters of code or a long equation in 368 px, and scrolling shows all of it.
    """
    visit = reader.open((html / f"{name}.html").as_uri())
    problems = load_problems(visit)
    for width in WIDTHS:
        reader.resize(width)
        reader.screenshot(SCREENSHOTS / str(width) / f"{name}.png")
        facts = reader.page.evaluate(FACTS_JS, COLUMN)
        if width == DESKTOP:
            problems += typesetting_problems(facts)
        problems += [f"at {width} px: {problem}" for problem in overflow_problems(facts, width)]
    shots = ", ".join(str(SCREENSHOTS / str(width) / f"{name}.png") for width in WIDTHS)
    assert not problems, f"{name} (screenshots: {shots}):\n" + "\n".join(problems)


# Sphinx's search fetches every result page (each request passes through the test's route
# handler); on CI, with grading batches beside it, that once took longer than playwright's
# default 30 s. The wait is for the search to finish, not a bound on it.
SEARCH_WAIT_MS = 120_000


def search_results(page: Page) -> list[str]:
    """The links of the search results, once Sphinx has listed them all."""
    page.wait_for_function(
        "() => typeof Search !== 'undefined' && Search._pulse_status === -1"
        " && document.querySelector('#search-results ul.search li a')",
        timeout=SEARCH_WAIT_MS,
    )
    return page.eval_on_selector_all("#search-results ul.search li a", "as => as.map(a => a.href)")


def chapter_mentions_the_search_term() -> None:
    source = (REPO_ROOT / f"{SEARCH_CHAPTER}.md").read_text().lower()
    assert SEARCH_TERM in source, f"choose another search term: {SEARCH_CHAPTER} lacks it"


def test_search_finds_a_chapter_from_file_url(browser, html):
    """Offline, from file://, the search lists the chapter. (Chromium does not let a file://
    page fetch the pages Sphinx quotes under each result, so those summaries stay empty: the
    only errors allowed here.)"""
    chapter_mentions_the_search_term()
    reader = Reader(browser)
    try:
        visit = reader.open(f"{(html / 'search.html').as_uri()}?q={SEARCH_TERM}")
        links = search_results(reader.page)
    finally:
        reader.close()
    chapter = (html / f"{SEARCH_CHAPTER}.html").as_uri()
    assert any(link.split("#")[0] == chapter for link in links), links
    blocked_summary = re.compile(r"CORS policy|Failed to fetch|net::ERR_FAILED")
    errors = [error for error in visit.errors if not blocked_summary.search(error)]
    assert not errors, errors
    assert all(url.startswith(LOCAL_SCHEMES) for url in visit.requests), visit.requests


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def served(html) -> Iterator[str]:
    """The built book served over http on the loopback interface, as a web server would."""
    handler = functools.partial(QuietHandler, directory=str(html))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_search_finds_a_chapter_and_quotes_it_when_served(browser, served):
    """Served over http, the search lists the chapter and quotes its text around the term."""
    chapter_mentions_the_search_term()
    reader = Reader(browser, local=(served,))
    try:
        visit = reader.open(f"{served}/search.html?q={SEARCH_TERM}")
        links = search_results(reader.page)
        reader.page.wait_for_function(
            "(term) => [...document.querySelectorAll('#search-results li p.context')]"
            ".some((quote) => quote.textContent.toLowerCase().includes(term))",
            arg=SEARCH_TERM,
            timeout=SEARCH_WAIT_MS,
        )
    finally:
        reader.close()
    assert any(link.split("#")[0] == f"{served}/{SEARCH_CHAPTER}.html" for link in links), links
    assert not visit.errors, visit.errors
    assert all(url.startswith(served) for url in visit.requests), visit.requests
