"""A wall-clock deadline for one whole HTTP exchange, which httpx does not have.

httpx's timeouts bound each step — connecting, each write, each read — so a receiver that
drips one byte every few seconds never trips them and holds a drain worker for as long as it
likes. `DeadlineTransport` is an `httpx.HTTPTransport` whose sockets take their timeout from the
calling thread's deadline: every connect, TLS handshake, write and read waits at most the time
left (or its own step timeout, if shorter), and a read after the deadline fails at once. httpx
reports that as `httpx.ReadTimeout` (a `httpx.TimeoutException`), like any other timeout.

    with deadline(15.0):
        client.post(url, content=body)   # connect to last byte within 15 s

The deadline is per thread (the drain's workers each send one try at a time), so one client
and its pooled connections are shared by all workers.
"""

from __future__ import annotations

import threading
import time
import typing
from collections.abc import Iterable, Iterator
from contextlib import contextmanager

import httpcore
import httpx

__all__ = ["DeadlineTransport", "deadline"]

_local = threading.local()


@contextmanager
def deadline(seconds: float) -> Iterator[None]:
    """Bound every network step of this thread within the block to `seconds` in all."""
    _local.until = time.monotonic() + seconds
    try:
        yield
    finally:
        _local.until = None


def _left(timeout: float | None, late: type[Exception]) -> float | None:
    until: float | None = getattr(_local, "until", None)
    if until is None:
        return timeout
    left = until - time.monotonic()
    if left <= 0:
        raise late("整体超时")
    return left if timeout is None else min(timeout, left)


class _Stream(httpcore.NetworkStream):
    def __init__(self, inner: httpcore.NetworkStream) -> None:
        self._inner = inner

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._inner.read(max_bytes, _left(timeout, httpcore.ReadTimeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._inner.write(buffer, _left(timeout, httpcore.WriteTimeout))

    def close(self) -> None:
        self._inner.close()

    def start_tls(
        self,
        ssl_context: typing.Any,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.NetworkStream:
        left = _left(timeout, httpcore.ConnectTimeout)
        return _Stream(self._inner.start_tls(ssl_context, server_hostname, left))

    def get_extra_info(self, info: str) -> typing.Any:
        return self._inner.get_extra_info(info)


class _Backend(httpcore.NetworkBackend):
    def __init__(self) -> None:
        self._inner = httpcore.SyncBackend()

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[typing.Any] | None = None,
    ) -> httpcore.NetworkStream:
        left = _left(timeout, httpcore.ConnectTimeout)
        return _Stream(self._inner.connect_tcp(host, port, left, local_address, socket_options))

    def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[typing.Any] | None = None,
    ) -> httpcore.NetworkStream:
        left = _left(timeout, httpcore.ConnectTimeout)
        return _Stream(self._inner.connect_unix_socket(path, left, socket_options))

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)


class DeadlineTransport(httpx.HTTPTransport):
    """An `httpx.HTTPTransport` (same arguments) whose network steps honour `deadline`."""

    def __init__(self, **kwargs: typing.Any) -> None:
        super().__init__(**kwargs)
        # httpx builds its httpcore pool without a way to pass a network backend: set it
        self._pool._network_backend = _Backend()
