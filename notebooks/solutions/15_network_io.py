"""Reference solutions for notebooks/15_network_io.ipynb (try the exercises first)."""

import asyncio

import aiohttp


# Exercise 15.1: fetch every URL, at most `limit` requests in flight, pages in order.
async def fetch_limited(session, urls, limit):
    sem = asyncio.Semaphore(limit)  # one semaphore shared by every fetch of this call

    async def fetch(url):
        async with sem:
            async with session.get(url) as resp:
                resp.raise_for_status()
                return await resp.text()

    return await asyncio.gather(*(fetch(url) for url in urls))


# Exercise 15.2: a timeout per try, one retry on a timeout or a server error (5xx).
async def fetch_with_retry(session, url, timeout):
    for attempt in (1, 2):
        try:
            async with asyncio.timeout(timeout):
                async with session.get(url) as resp:
                    resp.raise_for_status()
                    return await resp.text()
        except aiohttp.ClientResponseError as exc:
            if exc.status < 500 or attempt == 2:
                raise
        except TimeoutError:
            if attempt == 2:
                raise
