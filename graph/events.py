"""Progress events: what nodes send on LangGraph's ``custom`` stream and the CLI and Studio
read. A contract between the layers, so it does no I/O of its own."""

from __future__ import annotations

import contextlib
from typing import Any

from langgraph.runtime import Runtime


def emit(runtime: Runtime[Any], event: str, **data: Any) -> None:
    """Send one progress event to whoever streams with ``stream_mode="custom"``."""
    with contextlib.suppress(Exception):
        runtime.stream_writer({"event": event, **data})
