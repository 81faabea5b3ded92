"""aiocourse.supervisor: a script as a service in a child process, real signals, nothing left."""

from __future__ import annotations

import asyncio
import os
import signal

import pytest
from checks_support import living_children

from aiocourse import Timeline
from aiocourse.supervisor import TIMELINE_FILE, Service, save_timeline

WAITS = """
import asyncio
import signal


async def main():
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    print("ready")
    await stop.wait()
    print("stopping")


asyncio.run(main())
"""


def run(coro):
    return asyncio.run(coro)


_before: set[int] = set()


@pytest.fixture(autouse=True)
def _children_before():
    """What the test process already runs when a test starts (the shared Redis, a process of
    another test file) is not the test's: children() reports only what the test left."""
    _before.clear()
    _before.update(living_children())


def children() -> list[int]:
    return sorted(living_children() - _before)


def test_signals_marks_and_status():
    async def main():
        async with Service(WAITS) as service:
            assert await service.wait_for("ready") == "ready"
            assert isinstance(service.pid, int)
            service.send(signal.SIGTERM)
        return service

    service = run(main())
    assert str(service.transcript) == "ready\n[sent SIGTERM]\nstopping\n[exit code 0]"
    assert service.transcript.returncode == 0 and not service.transcript.timed_out
    assert "exit code 0" in repr(service)
    assert not children()


def test_a_signal_it_does_not_handle_ends_it():
    async def main():
        async with Service(WAITS) as service:
            await service.wait_for("ready")
            service.send(signal.SIGHUP)
        return service.transcript

    transcript = run(main())
    assert transcript.status == "ended by signal SIGHUP"
    assert "stopping" not in transcript.output


def test_write_replaces_a_file_while_it_runs():
    source = """
        import signal, time
        signal.signal(signal.SIGHUP, lambda *_: print(open("conf.txt").read()))
        print("ready")
        time.sleep(10)
    """

    async def main():
        async with Service(source, files={"conf.txt": "one"}, timeout=5) as service:
            await service.wait_for("ready")
            service.write("conf.txt", "two")
            service.send(signal.SIGHUP)
            await service.wait_for("two")
            await service.terminate(grace=2)
        return service.transcript

    transcript = run(main())
    assert transcript.output.splitlines() == ["ready", "[wrote conf.txt]", "[sent SIGHUP]",
                                              "two", "[sent SIGTERM]"]
    assert transcript.status == "ended by signal SIGTERM"


def test_terminate_kills_after_the_grace_period():
    source = """
        import signal, time
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        print("ready")
        time.sleep(10)
    """

    async def main():
        async with Service(source) as service:
            await service.wait_for("ready")
            assert await service.terminate(grace=0.2) == -signal.SIGKILL
        return service.transcript

    transcript = run(main())
    assert transcript.output.splitlines()[-2:] == ["[sent SIGTERM]", "[sent SIGKILL]"]
    assert transcript.status == "ended by signal SIGKILL"
    assert not children()


def test_the_child_never_outlives_the_block():
    forever = "import time\nprint('ready')\ntime.sleep(30)\n"

    async def at_the_time_limit():
        async with Service(forever, timeout=0.5) as service:
            await service.wait_for("ready")
        return service.transcript

    transcript = run(at_the_time_limit())
    assert transcript.timed_out and transcript.status.startswith("killed")

    async def waiting_at_the_time_limit():
        with pytest.raises(TimeoutError, match="still running after 0.5 s"):
            async with Service(forever, timeout=0.5) as service:
                await service.wait()  # no longer than the time limit
        return service.transcript

    assert run(waiting_at_the_time_limit()).status == "ended by signal SIGKILL"

    async def on_an_error():
        with pytest.raises(ZeroDivisionError):
            async with Service(forever, timeout=20) as service:
                await service.wait_for("ready")
                raise ZeroDivisionError
        return service.transcript

    transcript = run(on_an_error())
    assert transcript.status == "ended by signal SIGKILL" and not transcript.timed_out
    assert not children()


def test_wait_for_says_what_the_service_printed():
    async def ended():
        async with Service("print('hello')\n") as service:
            ended_without = r"(?s)\(exit code 0\) without printing 'bye'.*hello"
            with pytest.raises(RuntimeError, match=ended_without):
                await service.wait_for("bye")

    async def too_slow():
        async with Service(WAITS) as service:
            with pytest.raises(TimeoutError, match="did not print 'bye' within 0.2 s"):
                await service.wait_for("bye", timeout=0.2)
            service.send(signal.SIGTERM)

    run(ended())
    run(too_slow())


def test_feed_writes_lines_to_its_stdin():
    source = "import sys\nfor line in sys.stdin:\n    print('got', line.strip())\n"

    async def main():
        async with Service(source) as service:
            service.feed("job a")
            assert await service.wait_for("got") == "got job a"
            service.feed("job b")
            await service.wait_for("got job b")
            with pytest.raises(TypeError, match="one line"):
                service.feed("two\nlines")
            service.send(signal.SIGTERM)
        return service.transcript

    transcript = run(main())
    assert transcript.output.splitlines() == ["[stdin: job a]", "got job a", "[stdin: job b]",
                                              "got job b", "[sent SIGTERM]"]


def test_wait_for_moves_on_and_ignores_the_marks():
    source = "import time\nfor n in (1, 2, 3):\n    print('line', n)\n    time.sleep(0.05)\n"

    async def main():
        async with Service(source) as service:
            assert await service.wait_for("line") == "line 1"
            assert await service.wait_for("line") == "line 2"
            assert await service.wait_for("line 3") == "line 3"

    run(main())


def test_paths_of_this_machine_are_not_shown():
    async def main():
        async with Service("import os\nprint(os.path.abspath('script.py'))\n") as service:
            pass
        return service.transcript

    assert run(main()).output.strip() == "script.py"


def test_the_folder_is_removed():
    async def main():
        async with Service("import os\nprint(os.getcwd())\n") as service:
            await service.wait_for("/")
            folder = service._folder
        return folder

    folder = run(main())
    assert folder and not os.path.exists(folder)


def test_a_saved_timeline_comes_back():
    source = """
        import asyncio
        from aiocourse import Timeline
        from aiocourse.supervisor import save_timeline

        async def main():
            async with Timeline(caller="main") as tl:
                await asyncio.gather(asyncio.sleep(0.05), asyncio.sleep(0.1))
            print(tl.text(unit=0.05, ndigits=0))
            save_timeline(tl)

        asyncio.run(main())
    """

    async def main():
        async with Service(source) as service:
            pass
        return service

    service = run(main())
    printed = service.transcript.output.strip()
    assert service.timeline.text(unit=0.05, ndigits=0) == printed
    assert [s.name for s in service.timeline.spans] == ["main", "sleep#1", "sleep#2"]
    assert service.timeline["main"].kind == "caller"


def test_save_timeline_refuses_what_is_not_a_finished_timeline(tmp_path):
    with pytest.raises(TypeError, match="finished Timeline"):
        save_timeline("tl", str(tmp_path / TIMELINE_FILE))

    async def main():
        async with Timeline() as tl:
            with pytest.raises(RuntimeError, match="still recording"):
                save_timeline(tl, str(tmp_path / TIMELINE_FILE))

    run(main())


def test_bad_input_and_misuse():
    with pytest.raises(TypeError, match="script's text"):
        Service(b"print(1)")
    with pytest.raises(ValueError, match="positive"):
        Service("pass", timeout=0)
    with pytest.raises(ValueError, match="plain name"):
        Service("pass", files={"../x.json": "{}"})

    service = Service("pass")
    assert repr(service) == "<Service not started>"
    with pytest.raises(RuntimeError, match="was not started"):
        service.send(signal.SIGTERM)
    with pytest.raises(RuntimeError, match="block has ended"):
        service.transcript  # noqa: B018

    async def main():
        async with Service(WAITS) as service:
            await service.wait_for("ready")
            assert repr(service) == "<Service running>"
            with pytest.raises(TypeError, match="signal such as"):
                service.send("SIGTERM")
            with pytest.raises(TypeError, match="piece of a line"):
                await service.wait_for("")
            with pytest.raises(ValueError, match="plain name"):
                service.write("a/b", "x")
            with pytest.raises(TypeError, match="file's text"):
                service.write("conf.txt", 3)
            with pytest.raises(ValueError, match="grace"):
                await service.terminate(grace=-1)
            with pytest.raises(RuntimeError, match="already started"):
                await service.__aenter__()
            service.send(signal.SIGTERM)
            await service.wait(timeout=5)
            with pytest.raises(RuntimeError, match="already ended"):
                service.send(signal.SIGTERM)
        with pytest.raises(RuntimeError, match="block of this service has ended"):
            service.send(signal.SIGTERM)
        with pytest.raises(RuntimeError, match="saved no timeline"):
            service.timeline  # noqa: B018

    run(main())
    assert not children()
