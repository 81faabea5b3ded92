"""run_script: real child processes, real SIGINT, nothing left behind."""

from __future__ import annotations

import concurrent.futures
import re
import signal
import tempfile

import psutil
import pytest

from aiocourse.scripts import ScriptRun, run_script, trimmed


def _children() -> set[int]:
    return {p.pid for p in psutil.Process().children(recursive=True)}


def test_output_and_exit_code():
    run = run_script("""
        import sys
        print("hello")
        print("to stderr", file=sys.stderr)
        sys.exit(3)
    """)
    assert run.output == "hello\nto stderr\n"
    assert run.returncode == 3 and str(run).endswith("[exit code 3]")


INTERRUPTIBLE = """
        import asyncio
        async def main():
            try:
                print("Waiting", flush=True)
                await asyncio.sleep(30)
            finally:
                print("cleanup ran")
        try:
            asyncio.run(main())
        except KeyboardInterrupt:
            print("KeyboardInterrupt")
"""


def test_real_sigint_reaches_asyncio_run():
    before = _children()
    run = run_script(INTERRUPTIBLE, interrupt_on="Waiting", interrupt_after=0.1, timeout=20)
    assert run.interrupted and not run.timed_out
    assert run.output == "Waiting\ncleanup ran\nKeyboardInterrupt\n"
    assert _children() == before


def test_a_pattern_waits_for_the_third_line():
    run = run_script("""
        import time
        try:
            for x in (1, 2, 3):
                print("Waiting:", x)
                time.sleep(0.2)
            time.sleep(30)
        except KeyboardInterrupt:
            print("KeyboardInterrupt")
    """, interrupt_on=re.compile(r"Waiting: *3"), timeout=20)
    assert run.interrupted and not run.timed_out
    assert run.output == "Waiting: 1\nWaiting: 2\nWaiting: 3\nKeyboardInterrupt\n"


@pytest.mark.parametrize("from_thread", [False, True], ids=["main thread", "other thread"])
def test_sigint_reaches_the_script_when_this_process_ignores_it(from_thread):
    # What `make test &` does: a shell starts background jobs with SIGINT ignored (seen: every
    # Ctrl+C test failed in a suite started that way).  The script still gets a real Ctrl+C.
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        if from_thread:
            with concurrent.futures.ThreadPoolExecutor(1) as pool:
                run = pool.submit(run_script, INTERRUPTIBLE, interrupt_on="Waiting",
                                  interrupt_after=0.1, timeout=20).result()
        else:
            run = run_script(INTERRUPTIBLE, interrupt_on="Waiting", interrupt_after=0.1,
                             timeout=20)
        assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN  # this process: unchanged
    finally:
        signal.signal(signal.SIGINT, previous)
    assert run.interrupted and not run.timed_out
    assert run.output == "Waiting\ncleanup ran\nKeyboardInterrupt\n"


def test_timeout_kills_and_cleans_up(tmp_path, monkeypatch):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))  # a folder no other test uses
    before = _children()
    run = run_script("import time\nprint('sleeping')\ntime.sleep(60)", timeout=0.5)
    assert run.timed_out and "killed" in str(run)
    assert list(tmp_path.iterdir()) == []
    assert _children() == before


def test_paths_are_sanitized():
    run = run_script("import os\nprint(os.path.abspath(__file__))\nraise SystemExit('x')")
    assert run.output.startswith("script.py\n")
    assert tempfile.gettempdir() not in run.output


def test_bad_input():
    with pytest.raises(TypeError, match="script's text"):
        run_script(b"print(1)")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="timeout must be > 0"):
        run_script("pass", timeout=0)
    with pytest.raises(TypeError, match="interrupt_on"):
        run_script("pass", interrupt_on=1.0)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="pattern of str"):
        run_script("pass", interrupt_on=re.compile(b"Waiting"))  # type: ignore[arg-type]


def test_waiting_for_a_text_that_never_comes_ends_with_the_script():
    run = run_script("print(1)", interrupt_on="never printed", timeout=20)
    assert not run.interrupted and not run.timed_out and run.output == "1\n"


def test_child_gets_no_colour_settings(monkeypatch):
    monkeypatch.setenv("FORCE_COLOR", "1")  # what a kernel sets
    run = run_script("import os; print(os.environ.get('FORCE_COLOR'), os.environ['PYTHON_COLORS'])")
    assert run.output == "None 0\n"


# --- trimmed: transcripts that read the same on every version ------------------------------

TRACEBACK_311 = """\
Waiting: 1
Traceback (most recent call last):
  File "script.py", line 13, in <module>
    loop.run_until_complete(asyncio.wait(tasks))
  File "<stdlib>/asyncio/base_events.py", line 640, in run_until_complete
    self.run_forever()
  File "<stdlib>/selectors.py", line 468, in select
    fd_event_list = self._selector.poll(timeout, max_ev)
                    ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^
KeyboardInterrupt
Task was destroyed but it is pending!
task: <Task pending name='Task-3' coro=<task() running at script.py:5> wait_for=<Future \
pending cb=[Task.task_wakeup()]> cb=[_wait.<locals>._on_completion() at \
<stdlib>/asyncio/tasks.py:519]>
"""
TRACEBACK_313 = """\
Waiting: 1
Traceback (most recent call last):
  File "script.py", line 13, in <module>
    loop.run_until_complete(asyncio.wait(tasks))
    ~~~~~~~~~~~~~~~~~~~~~~~^^^^^^^^^^^^^^^^^^^^^
  File "<stdlib>/asyncio/base_events.py", line 708, in run_until_complete
    self.run_forever()
    ~~~~~~~~~~~~~~~~^^
  File "<stdlib>/selectors.py", line 452, in select
    fd_event_list = self._selector.poll(timeout, max_ev)
KeyboardInterrupt
Task was destroyed but it is pending!
task: <Task pending name='Task-1' coro=<task() running at script.py:5> wait_for=<Future \
pending cb=[Task.task_wakeup()]> cb=[_wait.<locals>._on_completion() at \
<stdlib>/asyncio/tasks.py:521]>
"""


def test_trimmed_reads_the_same_on_every_version():
    expected = """\
Waiting: 1
Traceback (most recent call last):
  File "script.py", line 13, in <module>
    loop.run_until_complete(asyncio.wait(tasks))
  …
KeyboardInterrupt
Task was destroyed but it is pending!
task: <Task pending name='Task-…' coro=<task() running at script.py:5> …>"""
    assert trimmed(TRACEBACK_311) == expected
    assert trimmed(TRACEBACK_313) == expected
    coloured = TRACEBACK_313.replace('File "script.py"', 'File \x1b[35m"script.py"\x1b[0m')
    coloured = coloured.replace("KeyboardInterrupt", "\x1b[1;35mKeyboardInterrupt\x1b[0m")
    assert trimmed(coloured) == expected  # 3.13 under FORCE_COLOR=1, as a kernel sets it


def test_trimmed_takes_a_script_run_and_keeps_its_status():
    run = ScriptRun(output="hello\n", returncode=0, interrupted=False, timed_out=False)
    assert trimmed(run) == "hello\n[exit code 0]"
    assert trimmed("no traceback here") == "no traceback here"
