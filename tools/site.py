"""Build the course's website from the stored notebooks with Jupyter Book 2: `make site`.

    .venv-classroom/bin/python tools/site.py                          # build/site/html/
    .venv-classroom/bin/python tools/site.py --repository owner/name  # as if pyproject said so
    .venv-classroom/bin/python tools/site.py --repository ""          # as if it said nothing

Nothing is executed: the pages show the outputs stored in the notebooks, which the test suite
checks.  It copies the notebooks (without their navigation cells: the site has its own), the
glossary and the teachers' page into build/site/src, writes myst.yml there from
tools/site/myst.yml, and runs `jupyter-book build --html`, whose MyST engine reads them and whose
theme, tools/site/theme, writes static pages into build/site/html.  Open build/site/html/index.html
or serve the folder (`python -m http.server -d build/site/html -b 127.0.0.1`).

While pyproject.toml names the course's public repository ([tool.aiocourse] repository), each
notebook page has an "Open in Binder" link and links to files of the repository (solutions,
the helper package) point there; while it is empty there are no launch links, and such links
are plain text.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
THEME = ROOT / "tools" / "site" / "theme"
DOCS = ["GLOSSARY.md", "TEACHING.md"]


def repository() -> str:
    value = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["aiocourse"].get(
        "repository", "")
    return check_repository(value)


def check_repository(value: str) -> str:
    if value and not re.fullmatch(r"[A-Za-z0-9][\w.-]*/[\w.-]+", value):
        raise SystemExit(f"repository {value!r} is not 'owner/name' of a GitHub repository")
    return value


def copy_notebook(path: Path, target: Path) -> None:
    """The stored notebook, less its navigation cells; cell ids made unique across the site."""
    nb = json.loads(path.read_text())
    nb["cells"] = [c for c in nb["cells"]
                   if "navigation" not in c.get("metadata", {}).get("tags", [])]
    for cell in nb["cells"]:
        if cell.get("id"):
            cell["id"] = f"nb{path.name[:2]}-{cell['id']}"
    target.write_text(json.dumps(nb, indent=1, ensure_ascii=False) + "\n")


def config(repo: str, notebooks: list[Path]) -> dict:
    conf = yaml.safe_load((ROOT / "tools" / "site" / "myst.yml").read_text())
    project = conf["project"]
    project["toc"] = ([{"file": f"notebooks/{p.name}"} for p in notebooks]
                      + [{"file": f"docs/{name}"} for name in DOCS])
    if repo:
        project["github"] = f"https://github.com/{repo}"
        project["binder"] = f"https://mybinder.org/v2/gh/{repo}/HEAD"
    conf["site"]["template"] = str(THEME)
    return conf


def build(out: Path, repo: str) -> Path:
    src = out / "src"
    shutil.rmtree(src, ignore_errors=True)
    (src / "notebooks").mkdir(parents=True)
    (src / "docs").mkdir()
    notebooks = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
    for path in notebooks:
        copy_notebook(path, src / "notebooks" / path.name)
    for name in DOCS:
        shutil.copy2(ROOT / "docs" / name, src / "docs" / name)
    (src / "myst.yml").write_text(
        "# Written by tools/site.py from tools/site/myst.yml: edit those, not this file.\n"
        + yaml.safe_dump(config(repo, notebooks), sort_keys=False, allow_unicode=True))
    bin_dir = Path(sys.executable).parent
    env = dict(os.environ, PATH=os.pathsep.join([str(bin_dir), os.environ.get("PATH", "")]),
               HOST="127.0.0.1")  # the MyST content server listens on 127.0.0.1 only
    env.pop("BASE_URL", None)
    done = subprocess.run([str(bin_dir / "jupyter-book"), "build", "--html"], cwd=src, env=env,
                          capture_output=True, text=True, timeout=900)
    log = done.stdout + done.stderr
    (out / "build.log").write_text(log)
    errors = [line for line in log.splitlines() if "⛔" in line or "render.py:" in line
              and "pages" not in line]
    html_dir = src / "_build" / "html"
    if done.returncode or errors or not (html_dir / "index.html").exists():
        sys.exit(f"jupyter-book build --html failed (exit {done.returncode}); "
                 f"see {out / 'build.log'}:\n" + "\n".join(errors or log.splitlines()[-20:]))
    target = out / "html"
    shutil.rmtree(target, ignore_errors=True)
    shutil.move(html_dir, target)
    warnings = [line for line in log.splitlines() if "⚠" in line]
    pages = sorted(target.rglob("index.html"))
    figures = sorted((target / "build").glob("*.png"))
    print(f"site: {len(pages)} pages, {len(figures)} figures, in "
          f"{target.relative_to(ROOT) if target.is_relative_to(ROOT) else target}")
    print(f"  Binder launch links: {'on, for ' + repo if repo else 'none (no repository set)'}")
    for line in warnings:
        print(f"  MyST: {line.strip()}")
    return target


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "build" / "site")
    parser.add_argument("--repository", default=None,
                        help="owner/name instead of pyproject.toml's ('' for none)")
    args = parser.parse_args(argv)
    repo = repository() if args.repository is None else check_repository(args.repository)
    build(args.out.resolve(), repo)
    return 0


if __name__ == "__main__":
    sys.exit(main())
