"""Split a pure, CPU-bound map over forked worker processes (both cores of a small server).

:func:`split_map` runs ``work(lo, hi)`` over contiguous slices of ``range(n)``: the first slice
in the calling process, the others in children forked *after* the caller built its state, so
they read it copy-on-write instead of receiving it. Each child sends its result back pickled
and exits with ``os._exit`` (no atexit handlers, no inherited database connection is touched).
Results come back in slice order, so a caller that merges them in that order gets exactly
what one process would have produced.

Used only where the work is a pure function of state built before the fork (the engine's
per-transaction scoring). Without ``os.fork`` (Windows) or with ``workers <= 1`` everything
runs in the calling process.
"""

from __future__ import annotations

import os
import pickle
import signal
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

T = TypeVar("T")


class PicklesAsTuple:
    """Mixin for slotted classes whose objects travel back from workers by the ten thousand.

    Pickles an object as its class and its slot values in order (the order ``__init__`` takes
    them), several times faster than the default, which builds a state dict per object.
    """

    __slots__: tuple[str, ...] = ()

    def __reduce__(self) -> tuple[type, tuple[object, ...]]:
        return (type(self), tuple(getattr(self, name) for name in self.__slots__))


class WorkerFailed(RuntimeError):
    """A forked worker raised or died; carries the worker's traceback when there is one."""


@dataclass(frozen=True, slots=True)
class SliceResult(Generic[T]):
    """One slice's result and the worker's private memory (0 for the calling process)."""

    value: T
    private_bytes: int


def private_memory_bytes() -> int:
    """Memory this process does not share with others (its copy-on-write copies included).

    Read from ``/proc/self/smaps_rollup`` (Linux); 0 where that is not available.
    """
    try:
        with open("/proc/self/smaps_rollup", encoding="ascii") as rollup:
            lines = rollup.read().splitlines()
    except OSError:
        return 0
    total = 0
    for line in lines:
        if line.startswith(("Private_Clean:", "Private_Dirty:")):
            total += int(line.split()[1]) * 1024
    return total


def resident_bytes() -> int:
    """This process's resident memory now (Linux ``/proc/self/statm``); 0 where unavailable."""
    try:
        with open("/proc/self/statm", encoding="ascii") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError):
        return 0


def can_fork() -> bool:
    """True where worker processes can be forked."""
    return hasattr(os, "fork")


def split_map(work: Callable[[int, int], T], n: int, workers: int) -> list[SliceResult[T]]:
    """``work(lo, hi)`` over ``range(n)`` in up to ``workers`` slices; results in slice order.

    A failing worker raises :class:`WorkerFailed` in the caller after every worker has been
    reaped; a failure in the caller's own slice kills the workers before it propagates.
    """
    workers = max(1, min(workers, n))
    if workers == 1 or not can_fork():
        return [SliceResult(work(0, n), 0)]
    bounds = [n * k // workers for k in range(workers + 1)]
    children: list[tuple[int, int]] = []
    try:
        for k in range(1, workers):
            children.append(_fork_worker(work, bounds[k], bounds[k + 1]))
        own = work(bounds[0], bounds[1])
    except BaseException:
        for pid, read_fd in children:
            os.kill(pid, signal.SIGKILL)
            os.close(read_fd)
            os.waitpid(pid, 0)
        raise
    results = [SliceResult(own, 0)]
    failure = ""
    for pid, read_fd in children:
        with os.fdopen(read_fd, "rb") as pipe:
            payload = pipe.read()
        _, status = os.waitpid(pid, 0)
        if not payload:
            failure = failure or f"worker {pid} died (wait status {status}) before sending its result"
            continue
        try:
            # Trusted: the bytes come from our own forked child over a private pipe.
            ok, value, private = pickle.loads(payload)  # noqa: S301
        except Exception as exc:  # cut short: the worker was killed while writing
            failure = failure or f"worker {pid} sent an unreadable result ({exc!r}; wait status {status})"
            continue
        if not ok:
            failure = failure or value
            continue
        results.append(SliceResult(value, private))
    if failure:
        raise WorkerFailed(failure)
    return results


def _fork_worker(work: Callable[[int, int], T], lo: int, hi: int) -> tuple[int, int]:
    """Fork one child computing ``work(lo, hi)``; returns its pid and the read end of its pipe."""
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid:
        os.close(write_fd)
        return pid, read_fd
    # In the child: compute, send, leave without running the parent's exit handlers.
    status = 0
    try:
        os.close(read_fd)
        try:
            value = work(lo, hi)
            payload = pickle.dumps((True, value, private_memory_bytes()), pickle.HIGHEST_PROTOCOL)
        except BaseException:
            status = 1
            payload = pickle.dumps((False, traceback.format_exc(), 0))
        with os.fdopen(write_fd, "wb") as pipe:
            pipe.write(payload)
    finally:
        os._exit(status)
