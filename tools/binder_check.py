"""Build what Binder would build from binder/, as closely as this machine allows, and use it.

    python3 tools/binder_check.py          # or: make binder-check
    python3 tools/binder_check.py --keep   # keep the temporary folder (printed) to look around

What mybinder.org does with this repository (repo2docker; read from its source and docs:
buildpacks/base.py, buildpacks/python/__init__.py, utils.is_local_pip_requirement,
docs "Where to put configuration files" and "runtime.txt"):

- A `binder/` folder exists, so only the files in it count; the root's pyproject.toml and
  requirements.txt are ignored.
- `binder/runtime.txt` says `python-3.14`: the Python buildpack, Python 3.14 (the course's
  reference; repo2docker's conda environments go up to 3.14).
- `binder/apt.txt` packages are installed with apt-get.
- `binder/requirements.txt` holds a local reference (`-e .`), so the whole repository is copied
  into the image first and `pip install -r binder/requirements.txt` runs in the repository's root
  (the image's WORKDIR), where `.` is the repository.
- The launch URL opens JupyterLab (`urlpath=lab/tree/notebooks/00_index.ipynb`).

What this script does, each step failing loudly:

1. binder/ holds requirements.txt, runtime.txt and apt.txt, and no file that would make repo2docker
   pick another buildpack (environment.yml, Pipfile, pyproject.toml, setup.py, Dockerfile, ...);
   there is no `.binder/` beside it; binder/requirements.txt pins the same versions as the
   root requirements.txt and leaves out only test tools.
2. Every apt.txt package is installed on this machine (`dpkg -s`): it cannot apt-get into an image.
3. A copy of the repository (the files git would commit, in a temporary folder), a fresh venv on
   the Python that runtime.txt names (pyenv, else pythonX.Y on PATH), then from the copy's root
   `pip install --no-cache-dir -r binder/requirements.txt` and nothing else; `pip check`.
4. The launch: every package named there imports, `aiocourse` from the copy; `jupyter lab` from
   the venv starts, lists the python3 kernel of the venv and serves the notebook the badge opens.
5. The notebooks under nbval in strict mode, in that venv.  nbval, pytest and pytest-timeout
   (pinned as in requirements.txt) are installed on top for this step only: they are test tools,
   the Binder image does not need them, and they are installed after steps 3-4 have passed.

What still differs from Binder: conda-forge's Python 3.14 and repo2docker's own Jupyter packages
under our pins (we start from an empty venv, which is stricter), Ubuntu instead of this machine's
system, a non-root user, and no network restrictions.  REDIS_URL is unset here, as on Binder.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BINDER = ROOT / "binder"
NEEDED = ("requirements.txt", "runtime.txt", "apt.txt")
# Files that would make repo2docker choose another buildpack or skip ours.
OTHER_BUILDPACKS = ("environment.yml", "Pipfile", "Pipfile.lock", "pyproject.toml", "setup.py",
                    "Project.toml", "install.R", "DESCRIPTION", "default.nix", "Dockerfile")
# Packages of ../requirements.txt that only the tests need: Binder leaves them out.
TEST_TOOLS = {"nbval", "nbclient", "pytest-timeout", "pytest-xdist", "psutil", "ruff",
              'viztracer; python_version<"3.15"',
              "playwright"}
CHECK_TOOLS = ("nbval", "pytest-timeout")
# Import names of packages whose distribution name differs.
IMPORT_NAMES = {"nest-asyncio": "nest_asyncio", "jupyterlab": "jupyterlab"}


class CheckFailed(RuntimeError):
    pass


def step(title: str) -> None:
    print(f"\n== {title}", flush=True)


def run(cmd: list[str], cwd: Path | None = None, env: dict | None = None,
        quiet: bool = False) -> str:
    print("$ " + " ".join(str(c) for c in cmd), flush=True)
    proc = subprocess.run([str(c) for c in cmd], cwd=cwd, env=env, text=True,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    if not quiet or proc.returncode:
        print(proc.stdout.rstrip(), flush=True)
    if proc.returncode:
        raise CheckFailed(f"{cmd[0]} ... exited with {proc.returncode}")
    return proc.stdout


def pins(path: Path) -> dict[str, str]:
    """name (with its environment marker, if any) -> '==version' for each requirement line,
    comments dropped: `numpy==2.4.6; python_version < "3.12"` is `numpy; python_version<"3.12"`."""
    found = {}
    for line in path.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if not line or line.startswith("-"):
            continue
        requirement, _, marker = line.partition(";")
        m = re.match(r"([A-Za-z0-9_.\-\[\]]+)\s*(.*)", requirement.strip())
        name = m.group(1).lower().replace("_", "-")
        if marker.strip():
            name += "; " + marker.strip().replace(" ", "")
        found[name] = m.group(2).replace(" ", "")
    return found


def check_binder_folder() -> str:
    step("1. binder/ holds what repo2docker reads")
    missing = [n for n in NEEDED if not (BINDER / n).is_file()]
    if missing:
        raise CheckFailed(f"binder/ lacks {missing}")
    others = [n for n in OTHER_BUILDPACKS if (BINDER / n).exists()]
    if others:
        raise CheckFailed(f"binder/ holds {others}: repo2docker would not use the Python "
                          "buildpack with requirements.txt as this check assumes")
    if (ROOT / ".binder").exists():
        raise CheckFailed("both binder/ and .binder/ exist: repo2docker refuses that")
    runtime = (BINDER / "runtime.txt").read_text().strip()
    m = re.fullmatch(r"python-(3\.\d+)", runtime)
    if not m:
        raise CheckFailed(f"binder/runtime.txt is {runtime!r}; expected python-3.X "
                          "(repo2docker docs: `python-x.y`)")
    lines = (BINDER / "requirements.txt").read_text().splitlines()
    if not any(line.split("#", 1)[0].strip() in ("-e .", "--editable .", ".") for line in lines):
        raise CheckFailed("binder/requirements.txt does not install the course's package (-e .)")
    binder_pins, root_pins = pins(BINDER / "requirements.txt"), pins(ROOT / "requirements.txt")
    for name, spec in sorted(binder_pins.items()):
        if not spec.startswith("=="):
            raise CheckFailed(f"binder/requirements.txt: {name} is not pinned (==)")
        if root_pins.get(name) != spec:
            raise CheckFailed(f"{name}{spec} in binder/requirements.txt, "
                              f"{name}{root_pins.get(name, ' missing')} in requirements.txt")
    left_out = sorted(set(root_pins) - set(binder_pins) - TEST_TOOLS)
    if left_out:
        raise CheckFailed(f"requirements.txt pins {left_out}, binder/requirements.txt does not "
                          "(add them there, or to TEST_TOOLS in this script if only tests use "
                          "them)")
    print(f"runtime {runtime}; {len(binder_pins)} pins, the same as requirements.txt; -e .")
    return m.group(1)


def check_apt() -> None:
    step("2. the apt.txt packages are installed")
    packages = [line.split("#", 1)[0].strip()
                for line in (BINDER / "apt.txt").read_text().splitlines()]
    packages = [p for p in packages if p]
    if not shutil.which("dpkg"):
        raise CheckFailed(f"no dpkg on this machine: cannot check {packages}")
    missing = []
    for package in packages:
        proc = subprocess.run(["dpkg", "-s", package], capture_output=True, text=True)
        ok = proc.returncode == 0 and "Status: install ok installed" in proc.stdout
        print(f"{package}: {'installed' if ok else 'MISSING'}")
        if not ok:
            missing.append(package)
    if missing:
        raise CheckFailed(f"not installed: {missing}; run: apt-get install {' '.join(missing)}")


def find_python(version: str) -> Path:
    """The newest X.Y.Z of pyenv for runtime.txt's X.Y, else pythonX.Y on PATH."""
    if shutil.which("pyenv"):
        bare = subprocess.run(["pyenv", "versions", "--bare"], capture_output=True,
                              text=True).stdout.split()
        matches = sorted((v for v in bare if re.fullmatch(rf"{re.escape(version)}\.\d+", v)),
                         key=lambda v: int(v.rsplit(".", 1)[1]))
        if matches:
            prefix = subprocess.run(["pyenv", "prefix", matches[-1]], capture_output=True,
                                    text=True).stdout.strip()
            if prefix and (Path(prefix) / "bin" / "python").exists():
                return Path(prefix) / "bin" / "python"
    found = shutil.which(f"python{version}")
    if found:
        return Path(found)
    raise CheckFailed(f"no Python {version} here (pyenv install {version}, or put "
                      f"python{version} on PATH)")


def copy_repository(dest: Path) -> None:
    """The files git would commit: tracked ones and untracked ones that are not ignored."""
    try:
        out = subprocess.run(["git", "ls-files", "-z", "--cached", "--others",
                              "--exclude-standard"], cwd=ROOT, capture_output=True,
                             check=True).stdout.decode()
        files = [f for f in out.split("\0") if f]
    except (OSError, subprocess.CalledProcessError):
        files = None
    if files is None:       # not a git checkout: everything but the usual local folders
        shutil.copytree(ROOT, dest, ignore=shutil.ignore_patterns(
            ".git", ".venv*", "artifacts", "__pycache__", "*.egg-info", ".*_cache", "build"))
        return
    for name in files:
        src = ROOT / name
        if src.is_file():
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest / name)
    print(f"copied {len(files)} files to {dest}")


def build(python: Path, repo: Path, venv: Path, env: dict) -> Path:
    step(f"3. a fresh venv on {python}, then only binder/requirements.txt")
    run([python, "-m", "venv", venv])
    py = venv / "bin" / "python"
    run([py, "-m", "pip", "install", "--quiet", "--upgrade", "pip"], env=env)
    run([py, "-m", "pip", "install", "--no-cache-dir", "-r", "binder/requirements.txt"],
        cwd=repo, env=env, quiet=True)
    run([py, "-m", "pip", "check"], cwd=repo, env=env)
    return py


def check_launch(py: Path, repo: Path, env: dict) -> None:
    step("4. the launch: imports, and JupyterLab serving the badge's notebook")
    names = {n.split(";")[0] for n in pins(BINDER / "requirements.txt")}
    modules = ["aiocourse"] + [IMPORT_NAMES.get(n, n.replace("-", "_")) for n in sorted(names)]
    code = ("import importlib, sys; from pathlib import Path\n"
            f"for name in {modules!r}:\n"
            "    m = importlib.import_module(name)\n"
            "    print(name, getattr(m, '__version__', ''))\n"
            "import aiocourse\n"
            f"assert Path(aiocourse.__file__).resolve().is_relative_to(Path({str(repo)!r})"
            ".resolve()), aiocourse.__file__\n")
    run([py, "-c", code], cwd=repo / "notebooks", env=env)

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    token = secrets.token_hex(16)
    base = f"http://127.0.0.1:{port}"
    home = Path(tempfile.mkdtemp(prefix="binder-lab-"))
    lab_env = dict(env, JUPYTER_CONFIG_DIR=str(home / "config"),
                   JUPYTER_RUNTIME_DIR=str(home / "runtime"),
                   JUPYTERLAB_WORKSPACES_DIR=str(home / "workspaces"))
    cmd = [str(py), "-m", "jupyter", "lab", "--no-browser", "--ip=127.0.0.1", f"--port={port}",
           "--ServerApp.port_retries=0", f"--IdentityProvider.token={token}",
           f"--ServerApp.root_dir={repo}"] + (["--allow-root"] if os.geteuid() == 0 else [])
    print("$ " + " ".join(cmd).replace(token, "TOKEN"), flush=True)
    log = open(home / "lab.log", "wb")
    lab = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=lab_env,
                           stdin=subprocess.DEVNULL, start_new_session=True)

    def get(path: str) -> bytes:
        request = urllib.request.Request(base + path,
                                         headers={"Authorization": f"token {token}"})
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.read()

    try:
        deadline = time.monotonic() + 60
        while True:
            if lab.poll() is not None:
                raise CheckFailed("jupyter lab exited:\n"
                                  + (home / "lab.log").read_text(errors="replace")[-3000:])
            try:
                get("/api/status")
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise CheckFailed("jupyter lab did not answer in 60 s") from None
                time.sleep(0.3)
        specs = json.loads(get("/api/kernelspecs"))
        argv0 = specs["kernelspecs"].get("python3", {}).get("spec", {}).get("argv", [""])[0]
        if specs.get("default") != "python3" or not argv0:
            raise CheckFailed(f"no python3 kernel: {specs}")
        page = get("/lab/tree/notebooks/00_index.ipynb").decode(errors="replace")
        if "jupyter-config-data" not in page:
            raise CheckFailed("/lab/tree/notebooks/00_index.ipynb is not the JupyterLab page")
        model = json.loads(get("/api/contents/notebooks/00_index.ipynb?content=0"))
        argv = " ".join(specs["kernelspecs"]["python3"]["spec"]["argv"][:3])
        print(f"JupyterLab answers; default kernel python3 ({argv} ...); {model['path']} is there")
    finally:
        try:
            request = urllib.request.Request(base + "/api/shutdown", method="POST",
                                             headers={"Authorization": f"token {token}"})
            urllib.request.urlopen(request, timeout=10).read()
            lab.wait(15)
        except (OSError, subprocess.TimeoutExpired):
            pass
        if lab.poll() is None:
            os.killpg(lab.pid, signal.SIGTERM)
            try:
                lab.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(lab.pid, signal.SIGKILL)
                lab.wait()
        log.close()
        shutil.rmtree(home, ignore_errors=True)


def run_notebooks(py: Path, repo: Path, env: dict) -> None:
    step("5. every notebook under nbval (strict), in the Binder venv")
    root_pins = pins(ROOT / "requirements.txt")
    tools = [f"{name}{root_pins.get(name, '')}" for name in CHECK_TOOLS]
    print("test tools, not part of the Binder image: " + " ".join(tools))
    run([py, "-m", "pip", "install", "--quiet", *tools], cwd=repo, env=env)
    run([py, "-m", "pytest", "notebooks/", "-p", "no:cacheprovider", "-o", "addopts=",
         "--nbval", "--nbval-current-env", "--nbval-sanitize-with", "tests/sanitize.cfg",
         "-q"], cwd=repo, env=env)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    args = parser.parse_args(argv)
    t0 = time.monotonic()
    work = Path(tempfile.mkdtemp(prefix="binder-check-"))
    env = {k: v for k, v in os.environ.items()
           if k not in ("REDIS_URL", "VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME")}
    try:
        version = check_binder_folder()
        check_apt()
        python = find_python(version)
        repo = work / "repo"
        copy_repository(repo)
        venv = work / "venv"
        env["PATH"] = f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}"
        py = build(python, repo, venv, env)
        check_launch(py, repo, env)
        run_notebooks(py, repo, env)
    except CheckFailed as exc:
        print(f"\nbinder check FAILED after {time.monotonic() - t0:.0f} s: {exc}", flush=True)
        return 1
    finally:
        if args.keep:
            print(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    print(f"\nbinder check: all passed in {time.monotonic() - t0:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
