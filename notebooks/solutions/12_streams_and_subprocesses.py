"""Reference solutions for notebook 12 (streams and subprocesses)."""

import asyncio


# Exercise 12.1: send everything, or give up on a client that stops reading
async def send_all(writer, chunks, limit):
    for chunk in chunks:
        writer.write(chunk)
        try:
            async with asyncio.timeout(limit):
                await writer.drain()  # waits while the client is not taking the data
        except TimeoutError:
            writer.transport.abort()  # close() would first try to send the buffer: for ever
            return False
    writer.close()
    await writer.wait_closed()
    return True


# Exercise 12.2: a child's lines, with a time limit
async def lines_until(spawn, argv, limit):
    proc = await spawn(*argv, stdout=asyncio.subprocess.PIPE)
    lines = []
    try:
        async with asyncio.timeout(limit):
            async for line in proc.stdout:  # each line as soon as the child has printed it
                lines.append(line.decode().rstrip("\n"))
            await proc.wait()  # its output has ended; now the child itself
    except TimeoutError:
        pass
    finally:
        if proc.returncode is None:  # the limit, or our caller cancelled us
            proc.kill()
        await proc.wait()  # always: it collects the child's exit
    return lines, proc.returncode
