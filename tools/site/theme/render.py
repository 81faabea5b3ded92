"""Write the course's website as static HTML from the MyST engine's content: the theme's `render`.

    CONTENT_CDN=http://localhost:PORT BUILD_DIRECTORY=_build/html python3 render.py

`jupyter-book build --html` runs it with both variables set (template.yml).  It reads the
site's `config.json` and every page's JSON (MyST's AST, with the notebooks' stored outputs),
and writes one `index.html` per page, with the table of contents, the previous and next page,
the figures copied beside them, and, where the project has a `binder` URL, a launch link for
each notebook.  Links between pages are relative, so the folder works from any URL prefix and
from a plain file server.  A kind of node it does not know stops the build with its name, so
nothing is shown half-rendered.  Standard library only; Pygments colours the code if present.
"""

from __future__ import annotations

import html
import json
import os
import posixpath
import re
import shutil
import sys
import urllib.request
from pathlib import Path

try:
    from pygments import highlight
    from pygments.formatters import HtmlFormatter
    from pygments.lexers import PythonLexer, get_lexer_by_name
except ImportError:  # plain <pre> blocks then
    highlight = None

HERE = Path(__file__).resolve().parent
CDN = os.environ.get("CONTENT_CDN", "").rstrip("/")
OUT = Path(os.environ.get("BUILD_DIRECTORY", "_build/html"))
SKIP_TAGS = {"navigation"}  # the notebooks' own prev/next cells: the site has its own

ANSI = re.compile(r"\x1b\[([0-9;]*)m")
COLOURS = {30: "black", 31: "red", 32: "green", 33: "yellow", 34: "blue", 35: "magenta",
           36: "cyan", 37: "white"}


def fetch(path: str) -> bytes:
    with urllib.request.urlopen(CDN + path, timeout=30) as resp:
        return resp.read()


def ansi_to_html(text: str) -> str:
    """Escape `text`, turning the SGR colour codes of tracebacks into spans."""
    out, classes, pos = [], set(), 0

    def flush(chunk: str) -> None:
        if chunk:
            esc = html.escape(chunk)
            out.append(f'<span class="{" ".join(sorted(classes))}">{esc}</span>' if classes
                       else esc)

    for match in ANSI.finditer(text):
        flush(text[pos:match.start()])
        pos = match.end()
        codes = [int(c) for c in match.group(1).split(";") if c] or [0]
        i = 0
        while i < len(codes):
            code = codes[i]
            if code == 0:
                classes.clear()
            elif code == 1:
                classes.add("ansi-bold")
            elif code in (22, 39):
                classes.discard("ansi-bold") if code == 22 else classes.difference_update(
                    {c for c in classes if c.startswith("ansi-fg")})
            elif 30 <= code <= 37 or 90 <= code <= 97:
                classes.difference_update({c for c in classes if c.startswith("ansi-fg")})
                classes.add(f"ansi-fg-{COLOURS[code % 60 if code >= 90 else code]}")
            elif code == 38 and i + 2 < len(codes) and codes[i + 1] == 5:  # 256 colours
                classes.difference_update({c for c in classes if c.startswith("ansi-fg")})
                classes.add(f"ansi-fg-{COLOURS.get(30 + codes[i + 2] % 8, 'white')}")
                i += 2
            i += 1
    flush(text[pos:])
    return "".join(out)


class Page:
    """One page of the site: renders its AST with links relative to where it is written."""

    def __init__(self, site: Site, slug: str, data: dict) -> None:
        self.site, self.slug, self.data = site, slug, data
        self.prefix = "" if slug == site.index else "../"
        self.location = data.get("location", "")  # "/notebooks/03_x.ipynb", in the project

    # --- urls ---------------------------------------------------------------------------------
    def page_url(self, slug: str, anchor: str = "") -> str:
        target = self.prefix + ("" if slug == self.site.index else f"{slug}/")
        return (target or "./") + (f"#{anchor}" if anchor else "")

    def internal(self, url: str) -> str:
        path, _, anchor = url.partition("#")
        slug = path.strip("/") or self.site.index
        return self.page_url(slug, anchor)

    def asset(self, url: str) -> str:
        return self.prefix + "build/" + self.site.copy_asset(url)

    def repo_file(self, url: str) -> str | None:
        """A link to a file that is no page: the file in the repository, if there is one."""
        if not self.site.github:
            return None
        path = posixpath.normpath(posixpath.join(posixpath.dirname(self.location), url))
        if path.startswith(".."):
            return None
        return f"{self.site.github}/blob/HEAD/{path.lstrip('/')}"

    # --- nodes --------------------------------------------------------------------------------
    def children(self, node: dict) -> str:
        return "".join(self.node(child) for child in node.get("children", []))

    def node(self, node: dict) -> str:
        kind = node["type"]
        simple = {"paragraph": "p", "emphasis": "em", "strong": "strong", "listItem": "li",
                  "blockquote": "blockquote", "tableRow": "tr", "delete": "del",
                  "subscript": "sub", "superscript": "sup"}
        if kind in simple:
            tag = simple[kind]
            return f"<{tag}>{self.children(node)}</{tag}>"
        method = getattr(self, "n_" + kind, None)
        if method is None:
            raise SystemExit(f"render.py: no way to show a {kind!r} node (page {self.slug})")
        return method(node)

    def n_root(self, node: dict) -> str:
        return self.children(node)

    def n_block(self, node: dict) -> str:
        tags = set(node.get("data", {}).get("tags", []))
        if tags & SKIP_TAGS:
            return ""
        cls = "cell" + ("".join(f" tag-{t}" for t in sorted(tags)))
        return f'<div class="{html.escape(cls)}">{self.children(node)}</div>'

    def n_text(self, node: dict) -> str:
        return html.escape(node["value"])

    def n_inlineCode(self, node: dict) -> str:
        return f"<code>{html.escape(node['value'])}</code>"

    def n_code(self, node: dict) -> str:
        lang, value = node.get("lang") or "", node["value"]
        if highlight is not None and lang:
            try:
                lexer = PythonLexer() if lang in ("python", "python3", "ipython3") else \
                    get_lexer_by_name(lang)
                return highlight(value, lexer, HtmlFormatter(cssclass="code"))
            except Exception:  # an unknown language: plain
                pass
        return f'<div class="code"><pre>{html.escape(value)}</pre></div>'

    def n_heading(self, node: dict) -> str:
        depth, ident = node["depth"], node.get("html_id") or node.get("identifier", "")
        anchor = f' <a class="anchor" href="#{ident}" aria-label="link here">#</a>' if ident \
            else ""
        return f'<h{depth} id="{html.escape(ident)}">{self.children(node)}{anchor}</h{depth}>'

    def n_link(self, node: dict) -> str:
        url, text = node.get("url", ""), self.children(node)
        if node.get("internal"):
            href = self.internal(url)
        elif re.match(r"^(https?:|mailto:)", url):
            href = url
        elif url.startswith("#"):
            href = url
        else:
            href = self.repo_file(url)
            if href is None:  # a file of the repository, and no repository to link to
                return f'<span class="repo-file" title="{html.escape(url)}">{text}</span>'
        return f'<a href="{html.escape(href)}">{text}</a>'

    def n_crossReference(self, node: dict) -> str:
        url = node.get("url") or "#" + node.get("html_id", node.get("identifier", ""))
        return f'<a href="{html.escape(self.internal(url) if url.startswith("/") else url)}">' \
               f"{self.children(node)}</a>"

    def n_image(self, node: dict) -> str:
        url = node["url"]
        src = url if re.match(r"^https?:", url) else self.asset(url)
        return f'<img src="{html.escape(src)}" alt="{html.escape(node.get("alt", ""))}">'

    def n_list(self, node: dict) -> str:
        if node.get("ordered"):
            start = node.get("start", 1)
            return f'<ol start="{start}">{self.children(node)}</ol>'
        return f"<ul>{self.children(node)}</ul>"

    def n_table(self, node: dict) -> str:
        rows = node.get("children", [])
        head = [r for r in rows if all(c.get("header") for c in r.get("children", []))]
        body = [r for r in rows if r not in head]
        return ('<div class="table"><table>'
                + (f"<thead>{''.join(self.node(r) for r in head)}</thead>" if head else "")
                + f"<tbody>{''.join(self.node(r) for r in body)}</tbody></table></div>")

    def n_tableCell(self, node: dict) -> str:
        tag = "th" if node.get("header") else "td"
        align = f' style="text-align:{node["align"]}"' if node.get("align") else ""
        return f"<{tag}{align}>{self.children(node)}</{tag}>"

    def n_thematicBreak(self, node: dict) -> str:
        return "<hr>"

    def n_break(self, node: dict) -> str:
        return "<br>"

    def n_comment(self, node: dict) -> str:
        return ""

    def n_html(self, node: dict) -> str:
        return "" if node["value"].lstrip().startswith("<!--") else node["value"]

    def n_outputs(self, node: dict) -> str:
        inner = self.children(node)
        return f'<div class="outputs">{inner}</div>' if inner else ""

    def n_output(self, node: dict) -> str:
        out = node["jupyter_data"]
        kind = out.get("output_type")
        if kind == "stream":
            name = html.escape(out.get("name", ""))
            return f'<pre class="out stream {name}">{ansi_to_html(out["text"])}</pre>'
        if kind == "error":
            tb = out.get("traceback")
            tb = "\n".join(tb) if isinstance(tb, list) else tb or f"{out['ename']}: {out['evalue']}"
            return f'<pre class="out error">{ansi_to_html(tb)}</pre>'
        data = out.get("data", {})
        plain = (data.get("text/plain") or {}).get("content", "")
        for mime in ("image/png", "image/jpeg", "image/svg+xml", "image/gif"):
            if mime in data and data[mime].get("path"):
                alt, src = html.escape(plain or "figure"), self.asset(data[mime]["path"])
                return f'<img class="out figure" src="{src}" alt="{alt}">'
        if plain:
            return f'<pre class="out result">{ansi_to_html(plain)}</pre>'
        return ""

    # --- the page -----------------------------------------------------------------------------
    def render(self) -> str:
        site, front = self.site, self.data.get("frontmatter", {})
        title = front.get("title") or self.slug
        body = self.node(self.data["mdast"])
        if "<h1" not in body[:2000]:  # MyST lifts a page's first heading into its title
            body = f'<h1 class="title">{html.escape(title)}</h1>\n' + body
        i = site.order.index(self.slug)
        prev = site.order[i - 1] if i > 0 else None
        nxt = site.order[i + 1] if i + 1 < len(site.order) else None
        toc = "".join(
            f'<li{" class=current" if s == self.slug else ""}>'
            f'<a href="{self.page_url(s)}">{html.escape(site.titles[s])}</a></li>'
            for s in site.order)
        tools = []
        if self.data.get("kind") == "Notebook":
            if site.binder and self.location:
                launch = f"{site.binder}?urlpath=lab/tree/{self.location.lstrip('/')}"
                tools.append(f'<a class="launch" href="{html.escape(launch)}">Open in Binder</a>')
            for export in front.get("exports", []):
                if export.get("format") == "ipynb" and export.get("url"):
                    tools.append(f'<a class="download" href="{self.asset(export["url"])}" '
                                 f'download="{html.escape(export.get("filename", ""))}">'
                                 "Download the notebook</a>")
        pager = "".join([
            f'<a class="prev" href="{self.page_url(prev)}">← {html.escape(site.titles[prev])}</a>'
            if prev else "<span></span>",
            f'<a class="next" href="{self.page_url(nxt)}">{html.escape(site.titles[nxt])} →</a>'
            if nxt else "<span></span>"])
        return f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{html.escape(title)} · {html.escape(site.title)}</title>
<link rel="stylesheet" href="{self.prefix}build/style.css">
<link rel="icon" href="data:,">
</head>
<body>
<header class="top"><a class="home" href="{self.page_url(site.index)}">{html.escape(site.title)}</a>
<span class="tools">{" ".join(tools)}</span></header>
<div class="layout">
<nav class="toc" aria-label="Contents"><ul>{toc}</ul></nav>
<main><article>{body}</article>
<nav class="pager" aria-label="Previous and next">{pager}</nav>
<footer>{site.footer}</footer></main>
</div>
</body>
</html>
"""


class Site:
    def __init__(self) -> None:
        config = json.loads(fetch("/config.json"))
        project = config["projects"][0]
        self.project = project
        self.index = project["index"]
        self.title = config.get("title") or project.get("title", "")
        self.binder = project.get("binder") or ""
        github = project.get("github") or ""
        self.github = github.rstrip("/") if github.startswith("https://github.com/") else ""
        self.pages = {self.index: json.loads(fetch(f"/content/{self.index}.json"))}
        self.order = [self.index] + [p["slug"] for p in project["pages"] if p.get("slug")]
        for slug in self.order[1:]:
            self.pages[slug] = json.loads(fetch(f"/content/{slug}.json"))
        self.titles = {s: self.pages[s].get("frontmatter", {}).get("title", s)
                       for s in self.order}
        self.copied: set[str] = set()
        lic = project.get("license", {})
        names = [v.get("id") if isinstance(v, dict) else v for v in (
            lic.get("content"), lic.get("code")) if v] if isinstance(lic, dict) else []
        self.footer = ("Text " + names[0] + ", code " + names[1] + ". " if len(names) == 2
                       else "") + "Every output on these pages was produced by the notebook " \
                                  "and is checked by the course's tests; nothing here was re-run."

    def copy_asset(self, url: str) -> str:
        name = url.lstrip("/").split("?")[0]
        if name not in self.copied:
            target = OUT / "build" / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(fetch("/" + name))
            self.copied.add(name)
        return name

    def write(self) -> None:
        OUT.mkdir(parents=True, exist_ok=True)
        (OUT / "build").mkdir(exist_ok=True)
        css = (HERE / "style.css").read_text()
        if highlight is not None:
            css += "\n/* Pygments */\n" + HtmlFormatter(style="friendly").get_style_defs(".code")
        (OUT / "build" / "style.css").write_text(css)
        for slug in self.order:
            target = OUT / ("index.html" if slug == self.index else f"{slug}/index.html")
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(Page(self, slug, self.pages[slug]).render())
        print(f"render.py: {len(self.order)} pages, {len(self.copied)} files into {OUT}")


if __name__ == "__main__":
    if not CDN:
        sys.exit("render.py: CONTENT_CDN is not set (jupyter-book build --html sets it)")
    shutil.rmtree(OUT / "build", ignore_errors=True)
    Site().write()
