"""The checks of notebook 12 accept the reference solutions and refuse typical mistakes, and a
wrong answer leaves no task, connection or child process behind."""

from __future__ import annotations

import asyncio

import psutil
import pytest
from checks_support import load_solution, run_check

from aiocourse.checks import streams_and_subprocesses as checks

SOL = load_solution("12_streams_and_subprocesses")


def _living_children() -> list[psutil.Process]:
    alive = []
    for child in psutil.Process().children(recursive=True):
        try:
            if child.status() != psutil.STATUS_ZOMBIE:
                alive.append(child)
        except psutil.NoSuchProcess:
            pass
    return alive




async def template(*args):
    raise NotImplementedError


# --- 12.1 --------------------------------------------------------------------------------------


def test_send_all_accepts_solution(capsys):
    ok, out = run_check(checks.check_send_all, SOL.send_all, capsys)
    assert ok, out
    assert out.startswith("✅ Exercise 12.1")


def test_send_all_template_is_not_done(capsys):
    ok, out = run_check(checks.check_send_all, template, capsys)
    assert not ok and "not done yet" in out


def test_send_all_refuses_no_drain(capsys):
    async def no_drain(writer, chunks, limit):
        for chunk in chunks:
            writer.write(chunk)
        writer.close()
        await writer.wait_closed()
        return True

    ok, out = run_check(checks.check_send_all, no_drain, capsys)
    assert not ok
    assert "waits for drain() after each write" in out.split("already right")[0]
    # With a client that never reads, wait_closed() waits for ever for the buffer to go out.
    assert "still running" in out


def test_send_all_refuses_drain_without_limit(capsys):
    async def patient(writer, chunks, limit):
        for chunk in chunks:
            writer.write(chunk)
            await writer.drain()
        writer.close()
        await writer.wait_closed()
        return True

    ok, out = run_check(checks.check_send_all, patient, capsys)
    assert not ok and "to finish within" in out


def test_send_all_refuses_close_instead_of_abort(capsys):
    async def closes(writer, chunks, limit):
        for chunk in chunks:
            writer.write(chunk)
            try:
                await asyncio.wait_for(writer.drain(), limit)
            except TimeoutError:
                writer.close()  # keeps the buffer and the connection until it is sent
                return False
        writer.close()
        await writer.wait_closed()
        return True

    ok, out = run_check(checks.check_send_all, closes, capsys)
    assert not ok
    assert "drops the connection" in out and "sent everything once the client read" in out


def test_send_all_refuses_one_limit_for_the_whole_send(capsys):
    async def whole(writer, chunks, limit):
        try:
            async with asyncio.timeout(limit):
                for chunk in chunks:
                    writer.write(chunk)
                    await writer.drain()
        except TimeoutError:
            writer.transport.abort()
            return False
        writer.close()
        await writer.wait_closed()
        return True

    ok, out = run_check(checks.check_send_all, whole, capsys)
    assert not ok and "a slow client that keeps reading gets everything" in out
    assert "the limit is for each drain()" in out


def test_send_all_refuses_no_close_at_the_end(capsys):
    async def leaves_open(writer, chunks, limit):
        for chunk in chunks:
            writer.write(chunk)
            try:
                async with asyncio.timeout(limit):
                    await writer.drain()
            except TimeoutError:
                writer.transport.abort()
                return False
        return True

    ok, out = run_check(checks.check_send_all, leaves_open, capsys)
    assert not ok and "closes the connection after the last chunk" in out


# --- 12.2 --------------------------------------------------------------------------------------


def test_lines_until_accepts_solution(capsys):
    ok, out = run_check(checks.check_lines_until, SOL.lines_until, capsys)
    assert ok, out
    assert out.startswith("✅ Exercise 12.2")


def test_lines_until_template_is_not_done(capsys):
    ok, out = run_check(checks.check_lines_until, template, capsys)
    assert not ok and "not done yet" in out


def test_lines_until_refuses_communicate(capsys):
    async def communicates(spawn, argv, limit):
        proc = await spawn(*argv, stdout=asyncio.subprocess.PIPE)
        try:
            out, _ = await asyncio.wait_for(proc.communicate(), limit)
        except TimeoutError:
            proc.kill()
            await proc.wait()
            return [], proc.returncode
        finally:
            if proc.returncode is None:
                proc.kill()
                await proc.wait()
        return out.decode().splitlines(), proc.returncode

    ok, out = run_check(checks.check_lines_until, communicates, capsys)
    assert not ok
    assert "the two lines it printed before the limit" in out.split("already right")[0]
    assert "communicate() loses" in out


def test_lines_until_refuses_kill_without_wait(capsys):
    async def no_wait(spawn, argv, limit):
        proc = await spawn(*argv, stdout=asyncio.subprocess.PIPE)
        lines = []
        try:
            async with asyncio.timeout(limit):
                async for line in proc.stdout:
                    lines.append(line.decode().rstrip("\n"))
                await proc.wait()
        except TimeoutError:
            proc.kill()  # and no wait
        return lines, proc.returncode

    ok, out = run_check(checks.check_lines_until, no_wait, capsys)
    assert not ok and "waits for the killed child before returning" in out


def test_lines_until_refuses_leaving_the_child_running(capsys):
    async def no_kill(spawn, argv, limit):
        proc = await spawn(*argv, stdout=asyncio.subprocess.PIPE)
        lines = []
        try:
            async with asyncio.timeout(limit):
                async for line in proc.stdout:
                    lines.append(line.decode().rstrip("\n"))
                await proc.wait()
        except TimeoutError:
            pass  # the child goes on running
        return lines, proc.returncode

    ok, out = run_check(checks.check_lines_until, no_kill, capsys)
    assert not ok and "kills it at the limit" in out and "leaves no child running" in out


def test_lines_until_refuses_a_child_left_by_a_cancelled_caller(capsys):
    async def forgets_cancel(spawn, argv, limit):
        proc = await spawn(*argv, stdout=asyncio.subprocess.PIPE)
        lines = []
        try:
            async with asyncio.timeout(limit):
                async for line in proc.stdout:
                    lines.append(line.decode().rstrip("\n"))
                await proc.wait()
        except TimeoutError:
            proc.kill()
            await proc.wait()
        return lines, proc.returncode

    ok, out = run_check(checks.check_lines_until, forgets_cancel, capsys)
    assert not ok and "the child is killed and waited for" in out


def test_lines_until_refuses_swallowed_cancel(capsys):
    async def swallows(spawn, argv, limit):
        proc = await spawn(*argv, stdout=asyncio.subprocess.PIPE)
        lines = []
        try:
            async with asyncio.timeout(limit):
                async for line in proc.stdout:
                    lines.append(line.decode().rstrip("\n"))
                await proc.wait()
        except (TimeoutError, asyncio.CancelledError):
            pass
        if proc.returncode is None:
            proc.kill()
        await proc.wait()
        return lines, proc.returncode

    ok, out = run_check(checks.check_lines_until, swallows, capsys)
    assert not ok and "the cancellation goes on to the caller" in out


def test_child_argv_runs_quickly_and_isolated():
    argv = checks.child_argv("print('hi')")
    assert argv[1:5] == ["-I", "-S", "-u", "-c"]

    async def main():
        proc = await asyncio.create_subprocess_exec(*argv, stdout=asyncio.subprocess.PIPE)
        out, _ = await proc.communicate()
        return out, proc.returncode

    assert asyncio.run(main()) == (b"hi\n", 0)


@pytest.mark.parametrize("pace", [None, 0.5, "never"])
def test_the_check_server_leaves_nothing_open(pace):
    async def main():
        async with checks._Server() as srv:
            client, writer = await srv.connect(pace)
            writer.write(b"x" * 10)
            await writer.drain()
        await asyncio.sleep(0)
        assert writer.transport.is_closing() and client.writer.transport.is_closing()
        left = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        assert not left, left

    asyncio.run(main())
