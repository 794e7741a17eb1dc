"""driftline.asgi and driftline.wsgi under real servers on loopback (uvicorn with FastAPI, and wsgiref)."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
import urllib.error
import urllib.request
from typing import Any, Iterator
from wsgiref.simple_server import WSGIRequestHandler, make_server

import numpy as np
import pytest

import driftline as dl

prometheus_client = pytest.importorskip("prometheus_client")
from prometheus_client.parser import text_string_to_metric_families  # noqa: E402

from driftline import asgi, wsgi  # noqa: E402


def monitor() -> dl.Monitor:
    rng = np.random.default_rng(0)
    return dl.Monitor(dl.Profile.from_data({"x": rng.normal(size=2_000)}), window=600, bucket=60)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def fetch(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=10) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def scraped(text: bytes) -> dict[str, float]:
    return {s.name: s.value for f in text_string_to_metric_families(text.decode()) for s in f.samples if not s.labels}


def check_latencies(m: dl.Monitor, streamed_floor: float) -> None:
    latency = m.report().latency
    # 5 fast requests, 1 streamed, 1 that raised; the metrics scrapes are not timed.
    assert latency.count == 7
    assert latency.max >= streamed_floor  # the streamed body's time is in the request's latency
    assert latency.p50 >= 0.02 * 0.99  # every timed request slept at least 20 ms (1 % sketch accuracy)


@pytest.fixture()
def uvicorn_service() -> Iterator[tuple[str, dl.Monitor]]:
    fastapi = pytest.importorskip("fastapi")
    uvicorn = pytest.importorskip("uvicorn")
    from fastapi.responses import StreamingResponse

    m = monitor()
    app = fastapi.FastAPI()
    app.add_middleware(asgi.LatencyMiddleware, monitor=m)
    app.mount("/metrics", asgi.metrics_app(m, labels={"model": "m1"}))

    @app.get("/predict")
    async def predict(x: float) -> dict[str, float]:
        await asyncio.sleep(0.02)
        m.observe({"x": x})
        return {"score": x}

    @app.get("/stream")
    async def stream() -> Any:
        async def body() -> Any:
            for _ in range(3):
                await asyncio.sleep(0.04)
                yield b"chunk\n"

        return StreamingResponse(body())

    @app.get("/boom")
    async def boom() -> None:
        await asyncio.sleep(0.02)
        raise RuntimeError("the model failed")

    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="critical", lifespan="on"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert time.monotonic() < deadline and thread.is_alive(), "uvicorn did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}", m
    server.should_exit = True
    thread.join(timeout=30)


def test_asgi_middleware_and_metrics_under_uvicorn(uvicorn_service: tuple[str, dl.Monitor]) -> None:
    url, m = uvicorn_service
    for i in range(5):
        status, _ = fetch(f"{url}/predict?x={i}")
        assert status == 200
    status, body = fetch(f"{url}/stream")
    assert status == 200 and body == b"chunk\n" * 3
    assert fetch(f"{url}/boom")[0] == 500
    status, text = fetch(f"{url}/metrics")
    assert status == 200
    check_latencies(m, streamed_floor=0.12)
    samples = {s.name: s.value for f in text_string_to_metric_families(text.decode()) for s in f.samples
               if s.labels == {"model": "m1"}}
    assert samples["driftline_rows_total"] == 5 == m.rows
    assert fetch(f"{url}/metrics")[0] == 200 and m.report().latency.count == 7  # scrapes stay untimed


def test_wsgi_middleware_and_metrics_under_wsgiref() -> None:
    m = monitor()

    def application(environ: dict[str, Any], start_response: Any) -> Any:
        path = environ["PATH_INFO"]
        time.sleep(0.02)
        if path == "/predict":
            m.observe({"x": 1.0})
            start_response("200 OK", [("Content-Type", "text/plain")])
            return [b"ok"]
        if path == "/stream":
            start_response("200 OK", [("Content-Type", "text/plain")])

            def body() -> Iterator[bytes]:
                for _ in range(3):
                    time.sleep(0.04)
                    yield b"chunk\n"

            return body()
        raise RuntimeError("the model failed")

    timed = wsgi.LatencyMiddleware(application, m)
    metrics = wsgi.metrics_app(m)

    def dispatch(environ: dict[str, Any], start_response: Any) -> Any:
        return (metrics if environ["PATH_INFO"].startswith("/metrics") else timed)(environ, start_response)

    class Quiet(WSGIRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

    server = make_server("127.0.0.1", 0, dispatch, handler_class=Quiet)
    server.timeout = 0.5
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{server.server_port}"
    try:
        import wsgiref.handlers

        original = wsgiref.handlers.BaseHandler.log_exception
        wsgiref.handlers.BaseHandler.log_exception = lambda self, exc_info: None  # the /boom traceback
        try:
            for _ in range(5):
                assert fetch(f"{url}/predict")[0] == 200
            status, body = fetch(f"{url}/stream")
            assert status == 200 and body == b"chunk\n" * 3
            assert fetch(f"{url}/boom")[0] == 500
        finally:
            wsgiref.handlers.BaseHandler.log_exception = original
        status, text = fetch(f"{url}/metrics")
        assert status == 200 and scraped(text)["driftline_rows_total"] == 5
        check_latencies(m, streamed_floor=0.12)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def test_bad_arguments() -> None:
    m = monitor()
    with pytest.raises(TypeError):
        asgi.LatencyMiddleware(lambda *a: None, "monitor")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="exclude"):
        wsgi.LatencyMiddleware(lambda e, s: [], m, exclude=["metrics"])
