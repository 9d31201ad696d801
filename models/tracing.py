"""One lock between torch.fx tracing and inference in other threads.

``torch.fx.symbolic_trace`` patches ``torch.nn.Module.__call__`` on the class, for every thread,
while it traces. A forward pass that another thread runs in that window goes through the
tracer and fails ("NameError: module is not installed as a submodule"): seen when the CNN tab
traced its layer table while the Runtime lab ran the CNN on eager. Backends run their graphs
under ``shared()``; tracing runs under ``exclusive()``, which waits for running calls and holds
new ones back until it is done (tracing takes ~50 ms, once per model).
"""
from __future__ import annotations

import threading
from contextlib import contextmanager


class ReadWriteLock:
    """Many readers or one writer; a waiting writer goes before readers that arrive after it."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._readers = 0
        self._writer = False
        self._writers_waiting = 0
        self._local = threading.local()   # a thread already inside may enter again (no self-deadlock)

    def _depth(self) -> int:
        return getattr(self._local, "depth", 0)

    @contextmanager
    def shared(self):
        if self._depth():                 # nested call in a thread that holds the lock
            self._local.depth += 1
            try:
                yield
            finally:
                self._local.depth -= 1
            return
        with self._cond:
            while self._writer or self._writers_waiting:
                self._cond.wait()
            self._readers += 1
        with self._held():
            yield

    @contextmanager
    def exclusive(self):
        if self._depth():                 # tracing from inside a backend call: already alone enough
            yield
            return
        with self._cond:
            self._writers_waiting += 1
            while self._writer or self._readers:
                self._cond.wait()
            self._writers_waiting -= 1
            self._writer = True
        with self._held():
            yield

    @contextmanager
    def _held(self):
        """The body of shared()/exclusive(); on the way out, the thread's hold is given back."""
        self._local.depth = 1
        try:
            yield
        finally:
            self._local.depth = 0
            with self._cond:
                if self._writer:
                    self._writer = False
                else:
                    self._readers -= 1
                self._cond.notify_all()


MODULE_CALLS = ReadWriteLock()
