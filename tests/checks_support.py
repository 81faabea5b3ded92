"""What the tests of the exercise checks share: loading a reference solution, running a check."""

from __future__ import annotations

import asyncio
import importlib.util
from pathlib import Path
from types import ModuleType

SOLUTIONS = Path(__file__).resolve().parent.parent / "notebooks" / "solutions"


def load_solution(stem: str) -> ModuleType:
    """The module ``notebooks/solutions/<stem>.py`` (solutions are files, not a package)."""
    path = SOLUTIONS / f"{stem}.py"
    if not path.exists():
        raise FileNotFoundError(f"no reference solution {path}")
    spec = importlib.util.spec_from_file_location(f"solutions_{stem}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run_check(check, answer, capsys) -> tuple[bool, str]:
    """Run an async check as a notebook cell would; return its verdict and what it printed.

    Nothing the answer or the check started may outlive the check.
    """
    async def main():
        ok = await check(answer)
        left = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        assert not left, left
        return ok

    ok = asyncio.run(main())
    return ok, capsys.readouterr().out
