"""Bounding the database connections of a worker with many step threads.

A worker sized for slow I/O (``worker_threads`` = 64) must not open 64 connections: the
database's ``max_connections`` is shared by every process. When the gate is configured,
a step thread holds one of ``slots`` permits only while it does database work (preparing
a batch, writing outcomes, matching events), using one of at most ``slots`` connections
shared by the step threads, so a process never holds more than ``slots`` step-thread
connections and no thread connects per phase; the steps themselves (connector calls) run
outside the gate, without a connection.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Any

from django.db import DEFAULT_DB_ALIAS, connections

_state = threading.local()


class DbGate:
    """At most ``slots`` threads inside ``phase()`` at once (re-entrant per thread), sharing
    at most ``slots`` connections: a thread entering a phase takes an idle connection (a
    Django connection wrapper handed from thread to thread, never used by two at once)
    and gives it back when it leaves, so no thread connects per phase."""

    def __init__(self, slots: int, alias: str = DEFAULT_DB_ALIAS) -> None:
        self.slots = slots
        self.alias = alias
        self._permits = threading.BoundedSemaphore(slots)
        self._idle: list[Any] = []
        self._lock = threading.Lock()

    @contextmanager
    def phase(self) -> Iterator[None]:
        depth = getattr(_state, "depth", 0)
        if depth:
            _state.depth = depth + 1
            try:
                yield
            finally:
                _state.depth = depth
            return
        with self._permits:
            with self._lock:
                shared = self._idle.pop() if self._idle else None
            if shared is None:
                shared = connections.create_connection(self.alias)
            # From here this thread alone uses it (Django checks the owning thread).
            shared._thread_ident = threading.get_ident()  # type: ignore[union-attr]
            own = connections[self.alias]
            connections[self.alias] = shared
            _state.depth = 1
            try:
                yield
            finally:
                _state.depth = 0
                connections[self.alias] = own
                if shared.in_atomic_block or (shared.errors_occurred and not _usable(shared)):
                    _close(shared)
                shared.errors_occurred = False
                with self._lock:
                    self._idle.append(shared)

    def close(self) -> None:
        """Close the shared connections (the worker stops)."""
        with self._lock:
            idle, self._idle = self._idle, []
        for shared in idle:
            shared._thread_ident = threading.get_ident()
            _close(shared)


def _usable(wrapper: Any) -> bool:
    try:
        return wrapper.connection is None or bool(wrapper.is_usable())
    except Exception:
        return False


def _close(wrapper: Any) -> None:
    try:
        wrapper.close()
    except Exception:
        wrapper.connection = None


@contextmanager
def no_gate() -> Iterator[None]:
    yield


def phase(gate: DbGate | None) -> AbstractContextManager[None]:
    """``gate.phase()``, or nothing without a gate."""
    return gate.phase() if gate is not None else no_gate()
