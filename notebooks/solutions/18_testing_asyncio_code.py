"""Reference solutions for notebooks/18_testing_asyncio_code.ipynb.

Try the exercises first.
"""

import asyncio
from unittest.mock import AsyncMock, Mock


# Exercise 18.1: one test, three facts: the answer, one request for that item, errors go through.
async def test_price(price):
    shop = Mock()
    shop.quote = AsyncMock(return_value=3)
    assert await price(shop, "tea") == 3
    shop.quote.assert_awaited_once_with("tea")

    broken = Mock()
    broken.quote = AsyncMock(side_effect=OSError("shop closed"))
    try:
        await price(broken, "tea")
    except OSError:
        pass
    else:
        raise AssertionError("price() hid the shop's OSError")


# Exercise 18.2: on a virtual clock the times are exact: None, at exactly 2 s, request cancelled.
async def test_price_gives_up(price):
    loop = asyncio.get_running_loop()
    cancelled_at = []

    async def slow_quote(item):
        try:
            await asyncio.sleep(60)  # a minute on the loop's clock, no time at all on yours
        except asyncio.CancelledError:
            cancelled_at.append(loop.time())
            raise
        return 3

    shop = Mock()
    shop.quote = AsyncMock(side_effect=slow_quote)
    start = loop.time()
    assert await price(shop, "tea", timeout=2) is None
    assert loop.time() == start + 2
    assert cancelled_at == [start + 2]
