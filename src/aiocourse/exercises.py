"""Checks that learners run on their answers: friendly feedback, True or False, never a traceback.

    async def check_fetch_all(fetch_all) -> bool:
        ex = Exercise("2.1", "fetch three pages at once")
        async with ex.attempt():
            pages = await ex.run(fetch_all(), timeout=2)
            ex.expect(pages == [...], "returns the pages in order", got=pages,
                      hint="asyncio.gather keeps the order of its arguments")
        ex.expect(ex.timeline.duration < 0.15, "takes about as long as the slowest page")
        return ex.report()

``attempt()`` records the answer with a Timeline (``ex.timeline`` afterwards).  An answer that
still raises NotImplementedError is "not done yet", so a stored notebook can show an unfinished
exercise and still pass nbval.  Tasks the answer started and left running are cancelled and
awaited before the check returns, so a wrong answer leaves nothing behind.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import textwrap
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, TypeVar

from .checks.referee import Referee, Run
from .timeline import Timeline

__all__ = ["Exercise", "NotDone"]

T = TypeVar("T")


_NOTHING = object()  # `got=None` is an answer worth showing; this means "nothing to show"


class NotDone(Exception):
    """Raised inside a check when the answer is still the unfinished template."""


class _Stop(Exception):
    """Ends an attempt early after a failed expectation that later ones depend on."""


class Exercise:
    """Collects the outcome of one check; ``report()`` prints it and returns True/False."""

    def __init__(self, number: str, title: str) -> None:
        if not isinstance(number, str) or not number:
            raise TypeError(f"Exercise number must be a non-empty string like '2.1', "
                            f"not {number!r}")
        self.number = number
        self.title = title
        self._failures: list[str] = []
        self._passes: list[str] = []
        self._not_done = False
        self._crash: str | None = None
        self._reported = False
        self.timeline: Timeline | None = None
        # What the check's fakes saw, and its beat (see checks/referee.py): running while the
        # attempt runs.
        self.ref = Referee()

    def __repr__(self) -> str:
        return f"<Exercise {self.number}: {self.title}>"

    def expect(self, ok: bool, what: str, *, got: Any = _NOTHING, hint: str | None = None,
               stop: bool = False) -> bool:
        """Record one expectation.  With ``stop=True`` a failure ends the attempt here."""
        if ok:
            self._passes.append(what)
            return True
        text = f"expected: {what}"
        if got is not _NOTHING:
            text += f"\n     got: {got!r}" if not isinstance(got, str) else f"\n     got: {got}"
        if hint:
            text += f"\n    hint: {hint}"
        self._failures.append(text)
        if stop:
            raise _Stop
        return False

    async def run(self, awaitable: Awaitable[T], timeout: float = 5.0) -> T:
        """Await the learner's coroutine with a time limit; a hang becomes a failure."""
        if not asyncio.iscoroutine(awaitable) and not asyncio.isfuture(awaitable):
            got = type(awaitable).__name__
            self.expect(False, "an async function (defined with `async def`)", got=got,
                        hint="write `async def ...` and make sure the function returns a "
                             "coroutine", stop=True)
        try:
            async with asyncio.timeout(timeout):
                return await awaitable
        except TimeoutError:
            self.expect(False, f"to finish within {timeout:g} s", got="still running",
                        hint="is something awaited that never completes, or a blocking call "
                             "such as time.sleep?", stop=True)
            raise  # pragma: no cover - expect(stop=True) raised already

    def coroutine(self, made: Any) -> Any:
        """``made`` if it is a coroutine (what calling an ``async def`` gives), else a failed
        expectation that ends the attempt."""
        if not asyncio.iscoroutine(made):
            self.expect(False, "an async function (defined with `async def`)",
                        got=type(made).__name__, stop=True)
        return made

    def script(self, answer: Any, harness: str, **fields: Any) -> str:
        """A script for a child process: ``harness`` with the source of the learner's
        ``async def`` as ``{source}`` and its name as ``{name}`` (and ``fields``).  Anything but
        an async function whose source can be read is a failed expectation ending the attempt."""
        if not inspect.iscoroutinefunction(answer):
            self.expect(False, "an async function (defined with `async def`)",
                        got=type(answer).__name__, stop=True)
        try:
            source = textwrap.dedent(inspect.getsource(answer))
        except (OSError, TypeError):
            self.expect(False, "a function whose source can be read",
                        got=f"cannot read the source of {answer!r}: define it with `async def` "
                            "in a cell", stop=True)
            raise  # pragma: no cover - expect(stop=True) raised already
        return harness.format(source=source.strip(), name=answer.__name__, **fields)

    async def timed(self, awaitable: Awaitable[T], timeout: float = 5.0) -> tuple[T, Run]:
        """``run()``, also telling when it started and ended: (result, Run)."""
        return await self.ref.run(self, awaitable, timeout=timeout)

    def slow(self, run: Run, units: float, *, allowance: float = 0.5) -> bool:
        """Whether ``run`` took longer than ``units`` units, by the beat: never the machine's."""
        return self.ref.slow(run, units, allowance=allowance)

    def call(self, func: Callable[..., T], *args: Any) -> T:
        """Call a learner's plain function; NotImplementedError means 'not done yet'."""
        if not callable(func):
            self.expect(False, "a function", got=type(func).__name__, stop=True)
        return func(*args)

    @contextlib.asynccontextmanager
    async def attempt(self) -> AsyncIterator[Exercise]:
        """Run the body of a check under a Timeline; turn the learner's exceptions into feedback."""
        if self.timeline is not None:
            raise RuntimeError(f"{self!r} was already attempted: create a new Exercise")
        self.timeline = Timeline()
        try:
            async with self.timeline, self.ref.beating():
                yield self
        except _Stop:
            pass
        except NotImplementedError:
            self._not_done = True
        except NotDone:
            self._not_done = True
        except asyncio.CancelledError:
            # A cancellation that reaches the check from the answer (not from outside).
            task = asyncio.current_task()
            if task is not None and task.cancelling():
                raise
            self._crash = "CancelledError (a task was cancelled and nobody caught it)"
        except Exception as exc:  # the learner's bug: report it, do not raise it
            self._crash = f"{type(exc).__name__}: {exc}"
        finally:
            if self.timeline._closed:
                await _cancel(self.timeline.unfinished_tasks)

    def check(self) -> Exercise:
        """The synchronous twin of ``attempt()`` for plain-function exercises."""
        return _SyncAttempt(self)  # type: ignore[return-value]

    @property
    def passed(self) -> bool:
        return not (self._failures or self._not_done or self._crash)

    def report(self) -> bool:
        """Print the feedback and return whether the answer passed."""
        if self._reported:
            raise RuntimeError(f"{self!r} was already reported: create a new Exercise "
                               "for each check")
        self._reported = True
        head = f"Exercise {self.number} ({self.title})"
        if self._not_done:
            print(f"⏳ {head}: not done yet. Replace the `raise NotImplementedError` "
                  "with your answer and run this cell again.")
            return False
        if self._crash:
            print(f"❌ {head}: your code raised {self._crash}")
            for text in self._failures:
                print("  - " + text)
            return False
        if self._failures:
            print(f"❌ {head}: not yet.")
            for text in self._failures:
                print("  - " + text)
            if self._passes:
                print(f"  (already right: {'; '.join(self._passes)})")
            return False
        print(f"✅ {head}: passed. " + "; ".join(self._passes) + ".")
        return True


class _SyncAttempt:
    def __init__(self, ex: Exercise) -> None:
        self._ex = ex

    def __enter__(self) -> Exercise:
        return self._ex

    def __exit__(self, exc_type, exc, tb) -> bool:
        if exc_type is None:
            return False
        if issubclass(exc_type, _Stop):
            return True
        if issubclass(exc_type, (NotImplementedError, NotDone)):
            self._ex._not_done = True
            return True
        if issubclass(exc_type, Exception):
            self._ex._crash = f"{exc_type.__name__}: {exc}"
            return True
        return False


async def _cancel(tasks: list[asyncio.Task]) -> None:
    """Cancel and await the tasks an answer left running (only those: never the kernel's)."""
    for task in tasks:
        task.cancel()
    if tasks:
        await asyncio.wait(tasks, timeout=2)
