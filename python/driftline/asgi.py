"""ASGI integration (FastAPI, Starlette, any ASGI server): request timing and a metrics endpoint.

    from fastapi import FastAPI
    from driftline.asgi import LatencyMiddleware, metrics_app

    app = FastAPI()
    app.add_middleware(LatencyMiddleware, monitor=monitor)        # every HTTP request's latency
    app.mount("/metrics", metrics_app(monitor, labels={"model": "fraud-v3"}))

:class:`LatencyMiddleware` times each HTTP request from the call to the end of
its response (streamed bodies included, also when the app raises) with the
Monitor's latency timer, so ``report().latency``, the Prometheus gauges and the
OpenTelemetry histogram hold the service's own latency. Requests for
``exclude`` paths (the metrics endpoint by default) are not timed. Lifespan
and websocket traffic passes through untouched. Cost: one ``monitor.time()``
per request (two C calls).
"""

from __future__ import annotations

from typing import Any, Awaitable, Callable, Iterable, MutableMapping, Optional

from .monitor import Monitor

__all__ = ["LatencyMiddleware", "metrics_app"]

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


def _worker_monitor(monitor: Any) -> Monitor:
    """The Monitor a request is timed into: the Monitor itself, or a HostMonitor's own (this worker's)."""
    if isinstance(monitor, Monitor):
        return monitor
    from .host import HostMonitor

    if isinstance(monitor, HostMonitor):
        return monitor.monitor
    raise TypeError(f"monitor must be a driftline.Monitor or HostMonitor, got {type(monitor).__name__}")


def _paths(exclude: Iterable[str]) -> tuple[str, ...]:
    paths = tuple(exclude)
    if not all(isinstance(p, str) and p.startswith("/") for p in paths):
        raise ValueError(f"exclude must hold URL paths starting with '/', got {paths!r}")
    return paths


class LatencyMiddleware:
    """ASGI middleware recording every HTTP request's latency into ``monitor`` (see the module's documentation).

    ``monitor``: a :class:`~driftline.Monitor`, or a :class:`~driftline.host.HostMonitor`
    (then this worker's own Monitor, which the host file shares).

    ``exclude``: path prefixes not timed (default ``("/metrics",)``).
    """

    def __init__(self, app: ASGIApp, monitor: Any, exclude: Iterable[str] = ("/metrics",)) -> None:
        self.app = app
        self._monitor = _worker_monitor(monitor)
        self._exclude = _paths(exclude)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope.get("type") != "http" or str(scope.get("path", "")).startswith(self._exclude):
            await self.app(scope, receive, send)
            return
        with self._monitor.time():  # one timer per request: concurrent requests never mix their starts
            await self.app(scope, receive, send)


def metrics_app(monitor: Any, labels: Optional[dict[str, str]] = None, **options: Any) -> Any:
    """An ASGI app serving the Monitor's Prometheus exposition (prometheus_client's ``make_asgi_app``).

    ``labels`` and ``options`` (``prefix``, ``last``, ``cells``) go to
    :class:`~driftline.prometheus.MonitorCollector`; each scrape is one report
    (of every worker's state for a :class:`~driftline.host.HostMonitor`).
    Needs the ``prometheus`` extra.
    """
    from prometheus_client import make_asgi_app

    from .prometheus import registry_for

    return make_asgi_app(registry_for(monitor, labels=labels, **options))
