"""WSGI integration (Flask, Django, any WSGI server): request timing and a metrics endpoint.

    from flask import Flask
    from driftline.wsgi import LatencyMiddleware, metrics_app
    from werkzeug.middleware.dispatcher import DispatcherMiddleware

    app = Flask(__name__)
    app.wsgi_app = DispatcherMiddleware(LatencyMiddleware(app.wsgi_app, monitor), {"/metrics": metrics_app(monitor)})

:class:`LatencyMiddleware` times each request from the call until the server
closes the response iterable (so a streamed body is included, and so is a
request whose app raises) with the Monitor's latency timer. Requests for
``exclude`` paths are not timed. Cost: one ``monitor.time()`` per request.
"""

from __future__ import annotations

from typing import Any, Callable, Iterable, Iterator, Optional

from .asgi import _paths, _worker_monitor

__all__ = ["LatencyMiddleware", "metrics_app"]

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


class _TimedBody:
    """The app's response iterable; the timer stops when the server closes it (PEP 3333 calls close())."""

    def __init__(self, body: Iterable[bytes], timer: Any) -> None:
        self._body = body
        self._timer = timer

    def __iter__(self) -> Iterator[bytes]:
        return iter(self._body)

    def close(self) -> None:
        try:
            close = getattr(self._body, "close", None)
            if close is not None:
                close()
        finally:
            timer, self._timer = self._timer, None
            if timer is not None:
                timer.__exit__(None, None, None)


class LatencyMiddleware:
    """WSGI middleware recording every request's latency into ``monitor`` (see the module's documentation)."""

    def __init__(self, app: WSGIApp, monitor: Any, exclude: Iterable[str] = ("/metrics",)) -> None:
        self.app = app
        self._monitor = _worker_monitor(monitor)
        self._exclude = _paths(exclude)

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if str(environ.get("PATH_INFO", "")).startswith(self._exclude):
            return self.app(environ, start_response)
        timer = self._monitor.time()
        timer.__enter__()
        try:
            body = self.app(environ, start_response)
        except BaseException as e:
            timer.__exit__(type(e), e, e.__traceback__)
            raise
        return _TimedBody(body, timer)


def metrics_app(monitor: Any, labels: Optional[dict[str, str]] = None, **options: Any) -> Any:
    """A WSGI app serving the Monitor's Prometheus exposition (prometheus_client's ``make_wsgi_app``)."""
    from prometheus_client import make_wsgi_app

    from .prometheus import registry_for

    return make_wsgi_app(registry_for(monitor, labels=labels, **options))
