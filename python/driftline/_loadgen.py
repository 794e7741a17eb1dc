"""An HTTP/1.1 load generator on asyncio streams, for the server benchmark (loopback, keep-alive).

Each connection sends one request, reads the whole response (by its
``Content-Length``) and sends the next; ``rate`` paces the requests to a
fixed schedule (bounded load) and None runs the connections flat out
(saturation). Responses other than 200 are counted as errors, not hidden.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import Optional

__all__ = ["LoadResult", "run_load", "post_request"]


@dataclass
class LoadResult:
    responses: int
    errors: int
    seconds: float

    @property
    def rate(self) -> float:
        """Successful responses per second."""
        return self.responses / self.seconds if self.seconds > 0 else 0.0


def post_request(path: str, body: bytes) -> bytes:
    """The bytes of one keep-alive JSON POST."""
    head = (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    )
    return head.encode("ascii") + body


async def _read_response(reader: asyncio.StreamReader) -> int:
    """Reads one response; returns its status code."""
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head[9:12])
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    if length:
        await reader.readexactly(length)
    return status


async def _connection(
    port: int, requests: list[bytes], offset: int, stop: float, schedule: Optional[tuple[float, float]], shared: list[int]
) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    i = offset
    try:
        while True:
            if schedule is not None:
                start, interval = schedule
                due = start + shared[2] * interval
                shared[2] += 1
                delay = due - time.perf_counter()
                if delay > 0:
                    await asyncio.sleep(delay)
            if time.perf_counter() >= stop:
                return
            writer.write(requests[i % len(requests)])
            i += 1
            status = await _read_response(reader)
            if time.perf_counter() <= stop:
                shared[0 if status == 200 else 1] += 1
    finally:
        writer.close()


async def _load(port: int, requests: list[bytes], seconds: float, connections: int, rate: Optional[float]) -> LoadResult:
    start = time.perf_counter()
    stop = start + seconds
    shared = [0, 0, 0]  # responses, errors, next scheduled request
    schedule = None if rate is None else (start, 1.0 / rate)
    await asyncio.gather(
        *(_connection(port, requests, k * 7919, stop, schedule, shared) for k in range(connections))
    )
    return LoadResult(shared[0], shared[1], time.perf_counter() - start)


def run_load(
    port: int, requests: list[bytes], seconds: float, connections: int = 16, rate: Optional[float] = None
) -> LoadResult:
    """Sends ``requests`` (cycled) to 127.0.0.1:port for ``seconds``; ``rate`` requests/s or flat out."""
    return asyncio.run(_load(port, requests, seconds, connections, rate))
