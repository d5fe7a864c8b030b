"""A TCP forwarder that can delay and stall what the server sends back.

`python tests/multihost/proxy.py --route 10.0.0.1:6379=127.0.0.1:6379`

Run by tests/multihost/harness.py in its own process (its timing must not wait on the
test's GIL). Each route listens on one address and forwards to another, in both
directions. Bytes from the client go through at once. Bytes from the server are held
as told on stdin (this kernel has no netem qdisc to do it): `delay 0.15` holds each
chunk 150 ms from then on; `jitter 0.05` adds a random 0-50 ms more to each chunk's
hold, never letting a chunk overtake the one before it (a TCP stream stays in order,
so a late chunk holds back those behind it, as on a real link); `stall 0.4` delivers
nothing for the next 400 ms, then everything held in order, as a congested link or a
Redis whose I/O threads fell behind would. Prints "ready" once every route listens;
exits when stdin closes.
"""

import argparse
import asyncio
import random
import sys
import threading
import time

CHUNK = 65536


class Link:
    def __init__(self) -> None:
        self.delay = 0.0
        self.jitter = 0.0
        self.stalled_until = 0.0

    def command(self, line: str) -> None:
        verb, _, value = line.partition(" ")
        if verb == "delay":
            self.delay = float(value)
        elif verb == "jitter":
            self.jitter = float(value)
        elif verb == "stall":
            self.stalled_until = time.monotonic() + float(value)

    async def hold(self, release: float) -> None:
        """Sleep until `release`, and past any stall begun meanwhile."""
        while (wait := max(release, self.stalled_until) - time.monotonic()) > 0:
            await asyncio.sleep(wait)


async def pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(CHUNK):
            writer.write(data)
            await writer.drain()
    except OSError:
        pass
    finally:
        writer.close()


async def delayed_pipe(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, link: Link
) -> None:
    """Server to client: each chunk leaves `delay` (plus up to `jitter`) after it
    arrived, and never before the chunk ahead of it."""
    queue: asyncio.Queue[tuple[float, bytes]] = asyncio.Queue()
    last_release = 0.0

    async def deliver() -> None:
        try:
            while True:
                release, data = await queue.get()
                await link.hold(release)
                if not data:
                    break
                writer.write(data)
                await writer.drain()
        except OSError:
            pass
        finally:
            writer.close()

    sender = asyncio.create_task(deliver())
    try:
        while True:
            data = await reader.read(CHUNK)
            hold = link.delay + random.uniform(0.0, link.jitter)
            last_release = max(last_release, time.monotonic() + hold)
            queue.put_nowait((last_release, data))
            if not data:
                break
    except OSError:
        queue.put_nowait((0.0, b""))
    await sender


async def serve(listen: str, target: str, link: Link) -> asyncio.Server:
    host, port = target.rsplit(":", 1)

    async def handle(client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        try:
            server_r, server_w = await asyncio.open_connection(host, int(port))
        except OSError:
            client_w.close()
            return
        await asyncio.gather(
            pipe(client_r, server_w),
            delayed_pipe(server_r, client_w, link),
        )

    listen_host, listen_port = listen.rsplit(":", 1)
    return await asyncio.start_server(handle, listen_host, int(listen_port), reuse_address=True)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--route", action="append", required=True, help="LISTEN=TARGET")
    args = parser.parse_args()
    link, loop = Link(), asyncio.get_running_loop()
    servers = [await serve(*route.split("=", 1), link) for route in args.route]
    done = loop.create_future()

    def read_commands() -> None:  # a thread: stdin is a blocking pipe
        for line in sys.stdin:
            loop.call_soon_threadsafe(link.command, line.strip())
        loop.call_soon_threadsafe(done.set_result, None)

    threading.Thread(target=read_commands, daemon=True).start()
    print("ready", flush=True)  # noqa: T201 - the harness waits for this line
    await done
    for server in servers:
        server.close()


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        sys.exit(0)
