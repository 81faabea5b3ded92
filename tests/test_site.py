"""`make site`: the course as a website, built from the stored notebooks with Jupyter Book 2.

    make classroom-test       # make release, grade and site, then these tests and test_release.py

Skipped where Jupyter Book is not installed (the course's own environment).  The site is built
twice into temporary folders: with a repository configured (Binder launch links, links to the
repository's files) and without (none of either).  Every page's links and images are checked on
disk; three pages are opened in Chromium (the tests marked `browser`), which must load every
image, follow every link to a page that exists, log no error and show no raw error text.
"""

from __future__ import annotations

import functools
import html.parser
import http.server
import os
import re
import subprocess
import sys
import threading
from pathlib import Path
from urllib.parse import unquote, urljoin, urlparse

import pytest

ROOT = Path(__file__).resolve().parent.parent
JUPYTER_BOOK = Path(sys.executable).parent / "jupyter-book"
if not JUPYTER_BOOK.exists():
    pytest.skip("Jupyter Book is not installed here (make site installs it)",
                allow_module_level=True)

REPO = "someone/asyncio-course"
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run",
                 "--disable-quic"]
PAGES = ["", "tasks-and-futures/", "glossary/"]  # the index, a notebook with timelines, a doc
ARTIFACTS = ROOT / "artifacts" / "site"

pytestmark = pytest.mark.timeout(900)


def build(out: Path, repo: str) -> Path:
    done = subprocess.run([sys.executable, "tools/site.py", "--out", str(out),
                           "--repository", repo], cwd=ROOT, capture_output=True, text=True,
                          timeout=900)
    assert done.returncode == 0, done.stdout + done.stderr
    return out / "html"


@pytest.fixture(scope="module")
def site_with_repo(tmp_path_factory) -> Path:
    return build(tmp_path_factory.mktemp("site-repo"), REPO)


@pytest.fixture(scope="module")
def site_without_repo(tmp_path_factory) -> Path:
    return build(tmp_path_factory.mktemp("site-norepo"), "")


class Links(html.parser.HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.hrefs: list[str] = []
        self.srcs: list[str] = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag in ("a", "link") and attrs.get("href"):
            self.hrefs.append(attrs["href"])
        if tag == "img" and attrs.get("src"):
            self.srcs.append(attrs["src"])


def local_target(site: Path, page: Path, url: str) -> Path | None:
    """The file a relative URL of `page` names, or None for an external or data URL."""
    if re.match(r"^(https?:|mailto:|data:)", url):
        return None
    base = "/" + page.relative_to(site).as_posix()
    path = unquote(urlparse(urljoin(base, url)).path)
    target = site / path.lstrip("/")
    return target / "index.html" if path.endswith("/") or target.is_dir() else target


@pytest.mark.parametrize("which", ["site_with_repo", "site_without_repo"])
def test_every_link_and_image_of_every_page_exists(which, request):
    site = request.getfixturevalue(which)
    pages = sorted(site.rglob("index.html"))
    assert len(pages) >= 17  # the notebooks, the glossary, the teachers' page
    broken = []
    for page in pages:
        parser = Links()
        parser.feed(page.read_text())
        for url in parser.hrefs + parser.srcs:
            target = local_target(site, page, url)
            if target is not None and not target.exists():
                broken.append(f"{page.relative_to(site)}: {url}")
        assert not [s for s in parser.srcs if s.startswith("http")], page  # all images local
    assert broken == []


def test_binder_links_appear_exactly_when_a_repository_is_set(site_with_repo, site_without_repo):
    page = (site_with_repo / "tasks-and-futures" / "index.html").read_text()
    assert (f'href="https://mybinder.org/v2/gh/{REPO}/HEAD?urlpath=lab/tree/notebooks/'
            '03_tasks_and_futures.ipynb"') in page
    index = (site_with_repo / "index.html").read_text()
    assert f"https://github.com/{REPO}/blob/HEAD/notebooks/solutions" in index
    for page in site_without_repo.rglob("*.html"):
        text = page.read_text()
        assert "mybinder.org/v2/" not in text and 'class="launch"' not in text, page
        assert "github.com/OWNER" not in text and "OWNER/REPO" not in text, page


def test_pages_hold_the_stored_outputs_and_timelines(site_without_repo):
    page = (site_without_repo / "tasks-and-futures" / "index.html").read_text()
    assert "Python 3.14" in page  # the setup cell's stored output, not a re-run here
    assert page.count('class="out figure"') >= 3  # timelines, as images
    assert "not done yet" in page  # the checks' stored "not done yet"
    glossary = (site_without_repo / "glossary" / "index.html").read_text()
    assert "协程" in glossary and "<table>" in glossary


# --- in a real browser ------------------------------------------------------------------------

@pytest.fixture(scope="module")
def served(site_with_repo):
    handler = functools.partial(_Quiet, directory=str(site_with_repo))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def browser():
    if not os.access(CHROMIUM, os.X_OK):
        pytest.fail(f"no Chromium at {CHROMIUM}: apt-get install chromium, or set CHROMIUM=")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


READ_PAGE = """() => ({
  images: [...document.images]
    .map(i => ({src: i.getAttribute('src'), ok: i.complete && i.naturalWidth > 0})),
  links: [...document.querySelectorAll('a[href]')].map(a => a.href),
  text: document.body.innerText,
  errors: [...document.querySelectorAll('pre.out.error')]
    .map(e => !!e.closest('.cell.tag-raises-exception')),
})"""


@pytest.mark.browser
@pytest.mark.parametrize("path", PAGES)
def test_page_in_chromium(browser, served, path):
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    problems: list[str] = []
    page.on("console", lambda m: problems.append(f"console {m.type}: {m.text}")
            if m.type in ("error", "warning") else None)
    page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
    page.on("requestfailed", lambda r: problems.append(f"failed: {r.url}"))
    page.on("response", lambda r: problems.append(f"{r.status}: {r.url}")
            if r.status >= 400 else None)
    try:
        response = page.goto(served + path, wait_until="load")
        assert response is not None and response.ok
        page.wait_for_function("() => [...document.images].every(i => i.complete)")
        seen = page.evaluate(READ_PAGE)
        if path == "":
            ARTIFACTS.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(ARTIFACTS / "index.png"))
        for link in {u.split("#")[0] for u in seen["links"] if u.startswith(served)}:
            status = page.request.get(link).status
            if status != 200:
                problems.append(f"link {link}: {status}")
    finally:
        page.close()
    assert [i["src"] for i in seen["images"] if not i["ok"]] == []
    assert problems == []
    for raw in ("\x1b[", "[0;31m", "[31m", "undefined", "[object Object]", "NaN"):
        assert raw not in seen["text"], raw
    assert all(seen["errors"]), "an error output outside a cell that fails on purpose"
