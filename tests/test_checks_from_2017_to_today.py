"""The checks of notebook 19 accept the reference solutions and reject typical mistakes."""

from __future__ import annotations

import asyncio

from checks_support import load_solution as _load
from checks_support import run_check

from aiocourse.checks import from_2017_to_today as checks

LEGACY_S7 = '''
import asyncio

UNIT = 0.05


async def task(x):
    print('Waiting: ', x)
    await asyncio.sleep(x * UNIT)
    return 'Done after {}s'.format(x)


tasks = [
    asyncio.ensure_future(task(1)),
    asyncio.ensure_future(task(2)),
    asyncio.ensure_future(task(3)),
]
loop = asyncio.get_event_loop()
try:
    loop.run_until_complete(asyncio.wait(tasks))
except KeyboardInterrupt as e:
    print(asyncio.Task.all_tasks())
    for task in asyncio.Task.all_tasks():
        print(task.cancel())
    loop.stop()
    loop.run_forever()
finally:
    loop.close()
'''


SOL19 = _load("19_from_2017_to_today")




def not_done(*args):
    raise NotImplementedError


async def not_done_async(*args):
    raise NotImplementedError


# --- 19.1 -------------------------------------------------------------------------------------


def test_port_s3_accepts_solution(capsys):
    ok, out = run_check(checks.check_port_s3, SOL19.main, capsys)
    assert ok, out


def test_port_s3_rejects_gather(capsys):
    async def with_gather(task):
        return await asyncio.gather(task(1), task(2), task(2))

    ok, out = run_check(checks.check_port_s3, with_gather, capsys)
    assert not ok and "cancelled when task(1) fails" in out


def test_port_s3_rejects_one_after_the_other(capsys):
    async def sequential(task):
        return [await task(1), await task(2), await task(2)]

    ok, out = run_check(checks.check_port_s3, sequential, capsys)
    assert not ok and "at once" in out


def test_port_s3_template_is_not_done(capsys):
    ok, out = run_check(checks.check_port_s3, not_done_async, capsys)
    assert not ok and "not done yet" in out


# --- 19.2 -------------------------------------------------------------------------------------


def test_port_ctrl_c_accepts_solution(capsys):
    ok, out = run_check(checks.check_port_ctrl_c, SOL19.ported_s7, capsys)
    assert ok, out


def test_port_ctrl_c_rejects_the_2017_script(capsys):
    ok, out = run_check(checks.check_port_ctrl_c, lambda: LEGACY_S7, capsys)
    assert not ok and "asyncio.run" in out


def test_port_ctrl_c_rejects_a_script_that_forgets_keyboardinterrupt(capsys):
    source = SOL19.PORTED_S7.replace("except KeyboardInterrupt:", "except ValueError:")
    ok, out = run_check(checks.check_port_ctrl_c, lambda: source, capsys)
    assert not ok and "exit code 0" in out


def test_port_ctrl_c_template_is_not_done(capsys):
    ok, out = run_check(checks.check_port_ctrl_c, not_done, capsys)
    assert not ok and "not done yet" in out


