"""Every link a learner can click in the README, docs/ and the notebooks' Markdown leads somewhere.

- A relative link must name a file or folder of the repository (resolved from the document's
  folder, as GitHub and JupyterLab resolve it); with a `#anchor`, the target (or the document
  itself for `#anchor` alone) must have a heading with that anchor.  Markdown files use GitHub's
  anchors; notebooks accept GitHub's and JupyterLab's (which keeps case and punctuation).
- An external link (http, https) is only checked for its form: a host and no spaces.  This suite
  runs without the internet.
- Links inside code (fenced blocks and `inline code`) are text, not links, and are skipped.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCUMENTS = sorted([ROOT / "README.md", *(ROOT / "docs").glob("*.md"),
                    *(ROOT / "notebooks").glob("*.ipynb")])

FENCE = re.compile(r"^( {0,3})(```|~~~).*?^\1\2[^\n]*$", re.M | re.S)
INLINE_CODE = re.compile(r"(`+)(?!`).+?(?<!`)\1(?!`)", re.S)
# `](target)` or `](target "title")`: the end of every inline link and image, nested ones too.
INLINE = re.compile(r"\]\(\s*(<[^>]*>|[^)\s]+)(?:\s+(?:\"[^\"]*\"|'[^']*'|\([^)]*\)))?\s*\)")
REFERENCE = re.compile(r"^ {0,3}\[[^\]]+\]:\s*(<[^>]*>|\S+)", re.M)
HTML = re.compile(r"<(?:a|img)\b[^>]*?\b(?:href|src)\s*=\s*[\"']([^\"']+)[\"']", re.I)
HEADING = re.compile(r"^ {0,3}(#{1,6})\s+(.*?)\s*#*\s*$", re.M)
HTML_ID = re.compile(r"<a\s+(?:name|id)\s*=\s*[\"']([^\"']+)[\"']", re.I)


def markdown_of(path: Path | dict) -> str:
    """The Markdown of a .md file, of a notebook's Markdown cells, or of one cell (a dict)."""
    if isinstance(path, dict):
        return "".join(path["source"])
    if path.suffix == ".ipynb":
        cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
        return "\n\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "markdown")
    return path.read_text(encoding="utf-8")


def without_code(text: str) -> str:
    return INLINE_CODE.sub("", FENCE.sub("", text))


def links(text: str) -> list[str]:
    text = without_code(text)
    found = [m.group(1) for m in INLINE.finditer(text)]
    found += [m.group(1) for m in REFERENCE.finditer(text)]
    found += [m.group(1) for m in HTML.finditer(text)]
    return [t[1:-1] if t.startswith("<") and t.endswith(">") else t for t in found]


def github_anchor(raw: str) -> str:
    # GitHub: lower case; drop what is not a letter, digit, space, hyphen or underscore;
    # spaces become hyphens.  (Underscores inside words survive: `create_task` -> create_task.)
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", raw)
    text = re.sub(r"<[^>]+>", "", text).replace("`", "").replace("*", "")
    text = re.sub(r"[^\w\- ]", "", text.strip().lower())
    return text.replace(" ", "-")


def jupyterlab_anchor(raw: str) -> str:
    # JupyterLab: the rendered heading text with spaces replaced by hyphens, case kept.
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", raw)
    text = re.sub(r"<[^>]+>", "", text).replace("`", "").replace("*", "")
    return text.strip().replace(" ", "-")


def anchors(path: Path) -> set[str]:
    text = FENCE.sub("", markdown_of(path))
    found: set[str] = set(HTML_ID.findall(text))
    seen: dict[str, int] = {}
    for m in HEADING.finditer(text):
        slug = github_anchor(m.group(2))
        n = seen.get(slug, 0)
        seen[slug] = n + 1
        found.add(slug if n == 0 else f"{slug}-{n}")
        if path.suffix == ".ipynb":
            found.add(jupyterlab_anchor(m.group(2)))
    return found


def problem(document: Path, target: str, root: Path = ROOT) -> str | None:
    """Why `target`, linked from `document`, does not resolve; None when it does."""
    if re.search(r"\s", target):
        return "contains a space (write %20)"
    parts = urlsplit(target)
    if parts.scheme in ("http", "https"):
        host = parts.hostname or ""
        if "." not in host and host != "localhost":
            return "is not a well-formed web address"
        return None
    if parts.scheme == "mailto":
        return None if "@" in parts.path else "is not an e-mail address"
    if parts.scheme or parts.netloc:
        return f"uses the {parts.scheme or '//'} scheme: link files relatively, web pages by https"
    if parts.path.startswith("/"):
        return "is an absolute path: write it relative to the document"
    path = unquote(parts.path)
    file = (document.parent / path).resolve() if path else document
    try:
        file.relative_to(root)
    except ValueError:
        return "leaves the repository"
    if not file.exists():
        return "names a file that does not exist"
    if parts.fragment and file.is_file() and file.suffix in (".md", ".ipynb"):
        if unquote(parts.fragment) not in anchors(file):
            return f"#{parts.fragment}: {file.name} has no such heading"
    return None


def test_there_are_documents():
    assert (ROOT / "README.md") in DOCUMENTS and any(p.suffix == ".ipynb" for p in DOCUMENTS)


@pytest.mark.parametrize("document", DOCUMENTS, ids=lambda p: str(p.relative_to(ROOT)))
def test_links_resolve(document: Path):
    bad = [f"{target}: {why}" for target in links(markdown_of(document))
           if (why := problem(document, target))]
    assert not bad, f"{document.relative_to(ROOT)} has broken links:\n" + "\n".join(bad)


# The checker itself, on small cases.

def test_links_are_found_outside_code_only():
    text = ("[a](x.md) and ![img](pic.png 'title') [![badge](b.svg)](https://e.org/p)\n"
            "`[not](code.md)`\n```\n[nor](fenced.md)\n```\n[ref]: <y z.md>\n"
            '<a href="h.md">h</a>')
    assert links(text) == ["x.md", "pic.png", "b.svg", "https://e.org/p", "y z.md", "h.md"]


def test_anchor_styles():
    assert github_anchor("3.2 `ensure_future`, and why") == "32-ensure_future-and-why"
    assert jupyterlab_anchor("3.2 `ensure_future`, and why") == "3.2-ensure_future,-and-why"


def test_problems_are_named(tmp_path):
    doc = ROOT / "README.md"
    assert problem(doc, "https://mybinder.org/v2/gh/OWNER/REPO/HEAD") is None
    assert problem(doc, "https:/nohost") is not None
    assert problem(doc, "notebooks/00_index.ipynb") is None
    assert problem(doc, "notebooks/no_such.ipynb") == "names a file that does not exist"
    assert problem(doc, "/README.md") is not None
    assert problem(doc, "#no-such-heading").startswith("#no-such-heading")
    assert problem(doc, "#quick-start") is None


def test_navigation_script_is_idempotent_and_its_links_resolve(tmp_path):
    """tools/add_navigation.py on a copy of the notebooks: links resolve, a rerun changes nothing,
    and every cell that is not a navigation cell is kept as it was, outputs included."""
    import importlib.util
    import shutil

    spec = importlib.util.spec_from_file_location("add_navigation",
                                                  ROOT / "tools" / "add_navigation.py")
    nav = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(nav)
    folder = tmp_path / "notebooks"
    shutil.copytree(ROOT / "notebooks", folder, ignore=shutil.ignore_patterns("solutions"))
    shutil.copytree(ROOT / "notebooks" / "solutions", folder / "solutions")
    assert nav.main([str(folder)]) == 0
    after_one = {p.name: p.read_bytes() for p in folder.glob("*.ipynb")}
    assert nav.main([str(folder), "--check"]) == 0
    assert nav.main([str(folder)]) == 0
    assert {p.name: p.read_bytes() for p in folder.glob("*.ipynb")} == after_one
    for path in sorted(folder.glob("[0-9][0-9]_*.ipynb")):
        new, old = json.loads(path.read_text()), json.loads((ROOT / "notebooks" / path.name)
                                                             .read_text())
        kept = [c for c in new["cells"] if "navigation" not in c["metadata"].get("tags", [])]
        assert kept == [c for c in old["cells"]
                        if "navigation" not in c["metadata"].get("tags", [])], path.name
        head, foot = new["cells"][0], new["cells"][-1]
        assert "navigation" in head["metadata"]["tags"] and "navigation" in foot["metadata"]["tags"]
        bad = [f"{t}: {why}" for t in links(markdown_of(head) + markdown_of(foot))
               if (why := problem(path, t, root=tmp_path))]
        assert not bad, f"{path.name}: {bad}"


def _navigation_module():
    import importlib.util

    spec = importlib.util.spec_from_file_location("add_navigation",
                                                  ROOT / "tools" / "add_navigation.py")
    nav = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(nav)
    return nav


def test_no_link_points_at_a_placeholder_repository():
    placeholders = [d.name for d in DOCUMENTS if re.search(r"OWNER/REPO|github\.com/OWNER",
                                                           markdown_of(d))]
    assert not placeholders, f"a placeholder repository in links: {placeholders}"


def test_binder_badges_appear_exactly_when_a_repository_is_configured():
    nav = _navigation_module()
    names, titles = ["00_index.ipynb", "01_x.ipynb"], {"00_index.ipynb": "00", "01_x.ipynb": "01"}
    readme = "# t\n<!-- binder-badge -->\nold\n<!-- /binder-badge -->\nrest\n"
    nav.REPOSITORY = ""
    assert "mybinder" not in nav.header(names, titles, 1)
    assert nav.readme_with_badge(readme) == \
        "# t\n<!-- binder-badge -->\n<!-- /binder-badge -->\nrest\n"
    nav.REPOSITORY = "someone/asyncio-course"
    head = nav.header(names, titles, 1)
    assert "https://mybinder.org/v2/gh/someone/asyncio-course/HEAD?urlpath=lab/tree/notebooks/" \
           "01_x.ipynb" in head
    assert "someone/asyncio-course" in nav.readme_with_badge(readme)
    # What is stored follows what is configured: no badge anywhere while there is no repository.
    configured = _navigation_module().REPOSITORY
    stored = "mybinder.org/v2/gh/" in markdown_of(ROOT / "README.md")
    assert stored == bool(configured)
