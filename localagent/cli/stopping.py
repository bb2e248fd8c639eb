"""Ctrl-C during a run: say "stopping…" at once, cancel the run (it stops at its last
checkpoint), and leave without waiting for worker threads.

``asyncio.run`` is not used for runs: on Ctrl-C it waits in ``shutdown_default_executor``
for every worker thread, and the embedded model generates in one. Cancelling a model call
stops its generation at the next token (providers/local_chat.py); whatever thread is still
busy after a short grace period does not hold the exit up.
"""

from __future__ import annotations

import sys
from collections.abc import Coroutine
from typing import Any, TypeVar

T = TypeVar("T")
GRACE_SECONDS = 1.5  # for cancelled tasks to record where they stopped, and threads to end


def run_stoppable(work: Coroutine[Any, Any, T]) -> T:
    """Run ``work`` in a fresh event loop. The first Ctrl-C prints "stopping…" and cancels
    it (``work`` may catch that and return what it has); the second raises
    KeyboardInterrupt at once. A cancelled ``work`` raises KeyboardInterrupt."""
    import asyncio
    import signal
    import threading

    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    task = loop.create_task(work)
    stopping = False

    def on_sigint(signum: int, frame: Any) -> None:
        nonlocal stopping
        if stopping or task.done():
            raise KeyboardInterrupt
        stopping = True
        sys.stderr.write("\nstopping… (Ctrl-C again to quit at once)\n")
        sys.stderr.flush()
        task.cancel()
        loop.call_soon_threadsafe(lambda: None)  # wake the loop if it waits in select()

    in_main = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGINT, on_sigint) if in_main else None
    try:
        return loop.run_until_complete(task)
    except asyncio.CancelledError:
        raise KeyboardInterrupt from None
    finally:
        if in_main:
            signal.signal(signal.SIGINT, previous)
        _close(loop)


def _close(loop: Any) -> None:
    """Cancel what is left (briefly waiting for it) and close the loop; the default
    executor is shut down without waiting for its threads."""
    import asyncio

    try:
        rest = [t for t in asyncio.all_tasks(loop) if not t.done()]
        for task in rest:
            task.cancel()
        if rest:
            loop.run_until_complete(asyncio.wait(rest, timeout=GRACE_SECONDS))
        loop.run_until_complete(loop.shutdown_asyncgens())
    finally:
        asyncio.set_event_loop(None)
        loop.close()


def leave(code: int) -> None:
    """Exit with ``code`` now: give worker threads a moment to finish, then do not wait
    for one that is still busy (a model call that cannot be interrupted)."""
    import os
    import threading
    import time

    sys.stdout.flush()
    sys.stderr.flush()
    deadline = time.monotonic() + GRACE_SECONDS
    for thread in threading.enumerate():
        if thread is threading.current_thread() or thread.daemon:
            continue
        thread.join(max(0.0, deadline - time.monotonic()))
    if any(t.is_alive() and not t.daemon and t is not threading.current_thread()
           for t in threading.enumerate()):
        os._exit(code)
