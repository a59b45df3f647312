"""Reading ahead: the sweep's next chunk is read and evaluated in a thread while one is written.

The reads touch no state the writes change (profiles, not entitlements), and each chunk is read
in its own read session, so the thread needs no coordination beyond a queue of one.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from queue import Empty, Full, Queue
from typing import Any, TypeVar

__all__ = ["read_ahead"]

T = TypeVar("T")


def read_ahead(items: Iterator[T]) -> Iterator[T]:
    """`items`, the next one produced in a thread while the caller works on the current one."""
    queue: Queue[tuple[str, Any]] = Queue(maxsize=1)
    stop = threading.Event()

    def put(entry: tuple[str, Any]) -> bool:
        while not stop.is_set():
            try:
                queue.put(entry, timeout=0.1)
                return True
            except Full:
                continue
        return False

    def produce() -> None:
        try:
            for item in items:
                if not put(("item", item)):
                    return
            put(("end", None))
        except BaseException as exc:  # handed to the consumer, raised there
            put(("error", exc))

    worker = threading.Thread(target=produce, name="sweep-read-ahead", daemon=True)
    worker.start()
    try:
        while True:
            try:
                tag, value = queue.get(timeout=0.5)
            except Empty:
                if not worker.is_alive():
                    return
                continue
            if tag == "end":
                return
            if tag == "error":
                raise value
            yield value
    finally:
        stop.set()
        worker.join(timeout=10)
