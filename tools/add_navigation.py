"""Write the navigation cells of every notebook: a header and a footer, both tagged `navigation`.

    python tools/add_navigation.py              # notebooks/NN_*.ipynb, in place
    python tools/add_navigation.py --check      # exit 1 (and name them) if any would change
    python tools/add_navigation.py path/to/dir  # another folder of NN_*.ipynb (a copy, a test)
    python tools/add_navigation.py --renumber 07=08 08=10 --insert drafts/07_x.ipynb
                                                # renumber the course first (tools/renumber.py)

The header (first cell) names the course and links the index, the previous and the next notebook
and, once the course has a public repository (`repository` under `[tool.aiocourse]` in
pyproject.toml), an "Open in Binder" badge for this notebook; the footer (last cell) links
previous, index and next.  The README's badge, between its `binder-badge` comments, is written
from the same setting.  Titles come from each notebook's own `# NN · Title` heading.  Running
it again changes nothing.  Only cells tagged `navigation` are written: every other cell, with
its outputs and execution count, is kept as it is (and the script checks that before it
saves), so nbval and the stored-notebook tests see no difference.  Files are written as
nbformat writes them.
"""

from __future__ import annotations

import argparse
import copy
import json
import re
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def repository() -> str:
    """`repository` of [tool.aiocourse] in pyproject.toml: "owner/name", or "" for none yet."""
    value = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["aiocourse"].get(
        "repository", "")
    if value and not re.fullmatch(r"[A-Za-z0-9][\w.-]*/[\w.-]+", value):
        raise SystemExit(f"pyproject.toml: [tool.aiocourse] repository = {value!r} is not "
                         "'owner/name' of a GitHub repository")
    return value


REPOSITORY = repository()
COURSE = "How asyncio actually works"
TAG = "navigation"
HEADER_ID = "navigation-header"
FOOTER_ID = "navigation-footer"
MARK = "<!-- written by tools/add_navigation.py: edit the script, not this cell -->"
README_BADGE = re.compile(r"(<!-- binder-badge -->\n)(.*?)(<!-- /binder-badge -->)", re.S)


def binder_url(notebook: str) -> str:
    return f"https://mybinder.org/v2/gh/{REPOSITORY}/HEAD?urlpath=lab/tree/notebooks/{notebook}"


def is_navigation(cell: dict) -> bool:
    return TAG in cell.get("metadata", {}).get("tags", [])


def source(cell: dict) -> str:
    src = cell.get("source", "")
    return "".join(src) if isinstance(src, list) else src


def title(nb: dict, path: Path) -> str:
    """The text of the first `# ` heading in the notebook's own Markdown."""
    for cell in nb["cells"]:
        if cell["cell_type"] == "markdown" and not is_navigation(cell):
            for line in source(cell).splitlines():
                if line.startswith("# "):
                    return line[2:].strip()
    raise SystemExit(f"{path}: no '# NN · Title' heading to link to")


def link(text: str, name: str) -> str:
    # Link text must not close the bracket early; titles rarely hold brackets, escape them.
    return f"[{text.replace('[', '(').replace(']', ')')}]({name})"


def header(names: list[str], titles: dict[str, str], i: int) -> str:
    name = names[i]
    parts = [f"**{COURSE}**"]
    if i > 0:
        parts.append(link("Index", names[0]))
        parts.append(link(f"← {titles[names[i - 1]]}", names[i - 1]))
    if i + 1 < len(names):
        parts.append(link(f"{titles[names[i + 1]]} →", names[i + 1]))
    if REPOSITORY:
        parts.append(badge(name))
    return MARK + "\n" + " · ".join(parts)


def badge(notebook: str) -> str:
    return f"[![Open in Binder](https://mybinder.org/badge_logo.svg)]({binder_url(notebook)})"


def readme_with_badge(text: str) -> str:
    m = README_BADGE.search(text)
    if m is None:
        raise SystemExit("README.md has no <!-- binder-badge --> ... <!-- /binder-badge --> "
                         "block to write the badge into")
    inner = badge("00_index.ipynb") + "\n" if REPOSITORY else ""
    return text[:m.start(2)] + inner + text[m.end(2):]


def footer(names: list[str], titles: dict[str, str], i: int) -> str:
    parts = []
    if i > 0:
        parts.append(link(f"← {titles[names[i - 1]]}", names[i - 1]))
    parts.append(link("Index", names[0]) if i > 0 else "**Index**")
    if i + 1 < len(names):
        parts.append(link(f"{titles[names[i + 1]]} →", names[i + 1]))
    return MARK + "\n" + " | ".join(parts)


def markdown_cell(cell_id: str, text: str, nb: dict) -> dict:
    cell = {"cell_type": "markdown", "metadata": {"tags": [TAG]},
            "source": text.splitlines(keepends=True)}
    # Cell ids exist from nbformat 4.5 on; older notebooks must not get one.
    if (nb.get("nbformat"), nb.get("nbformat_minor", 0)) >= (4, 5):
        cell["id"] = cell_id
    return cell


def dumps(nb: dict) -> str:
    """What nbformat.write produces: same keys order, indent, separators and final newline."""
    return json.dumps(nb, sort_keys=True, indent=1, separators=(",", ": "),
                      ensure_ascii=False) + "\n"


def with_navigation(nb: dict, head: str, foot: str) -> dict:
    new = copy.deepcopy(nb)
    body = [c for c in new["cells"] if not is_navigation(c)]
    new["cells"] = [markdown_cell(HEADER_ID, head, nb), *body,
                    markdown_cell(FOOTER_ID, foot, nb)]
    # Guard: everything but the navigation cells is exactly as it was.
    if [c for c in new["cells"] if not is_navigation(c)] != \
            [c for c in nb["cells"] if not is_navigation(c)]:
        raise SystemExit("add_navigation: would change a cell that is not a navigation cell")
    if {HEADER_ID, FOOTER_ID} & {c.get("id") for c in body}:
        raise SystemExit(f"add_navigation: a cell that is not tagged {TAG!r} has the id "
                         f"{HEADER_ID!r} or {FOOTER_ID!r}")
    return new


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("folder", nargs="?", type=Path, default=ROOT / "notebooks")
    parser.add_argument("--check", action="store_true",
                        help="change nothing; exit 1 if a notebook's navigation is not current")
    parser.add_argument("--renumber", nargs="+", metavar="OLD=NEW", default=[],
                        help="renumber notebooks and every reference first (tools/renumber.py)")
    parser.add_argument("--insert", nargs="+", type=Path, default=[], metavar="DRAFT",
                        help="with --renumber: move these numbered drafts into notebooks/")
    parser.add_argument("--dry-run", action="store_true",
                        help="with --renumber: print what would change, change nothing")
    args = parser.parse_args(argv)
    if args.renumber or args.insert:
        sys.path.insert(0, str(Path(__file__).resolve().parent))
        import renumber

        done = renumber.renumber(renumber.parse(args.renumber), args.insert, args.dry_run)
        print("\n".join(done) or "nothing to renumber")
        if args.dry_run:
            return 0
    paths = sorted(p for p in args.folder.glob("[0-9][0-9]_*.ipynb")
                   if re.fullmatch(r"\d\d_\w+\.ipynb", p.name))
    if not paths:
        print(f"no NN_*.ipynb notebooks in {args.folder}", file=sys.stderr)
        return 1
    books = {p.name: json.loads(p.read_text(encoding="utf-8")) for p in paths}
    names = [p.name for p in paths]
    titles = {name: title(nb, args.folder / name) for name, nb in books.items()}
    stale = []
    for i, name in enumerate(names):
        path = args.folder / name
        old = path.read_text(encoding="utf-8")
        new = dumps(with_navigation(books[name], header(names, titles, i),
                                    footer(names, titles, i)))
        if new == old:
            continue
        stale.append(name)
        if not args.check:
            path.write_text(new, encoding="utf-8")
    if args.folder == ROOT / "notebooks":
        readme = ROOT / "README.md"
        old = readme.read_text(encoding="utf-8")
        new = readme_with_badge(old)
        if new != old:
            stale.append("README.md")
            if not args.check:
                readme.write_text(new, encoding="utf-8")
    verb = "need" if args.check else "updated"
    print(f"{verb} navigation: {', '.join(stale)}" if stale else
          f"navigation is current in {len(names)} notebooks")
    return 1 if (stale and args.check) else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
