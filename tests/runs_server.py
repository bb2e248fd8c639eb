"""A small FastAPI app serving only the runs API, for the runs tests: in a uvicorn thread of
the test process, or (``python -m tests.runs_server PORT ROOT...``) as a server process of
its own that SIGTERM stops."""

from __future__ import annotations

import socket
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI

from localagent.server.runs import build_runs_router


def make_app(roots: list[Path], *, max_concurrent_runs: int = 2,
             shutdown_grace: float = 5.0) -> FastAPI:
    app = FastAPI()
    app.include_router(build_runs_router(
        lambda scope: (lambda: None), workspace_roots=roots,
        max_concurrent_runs=max_concurrent_runs, shutdown_grace=shutdown_grace))
    return app


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def serving(app: Any) -> Iterator[str]:
    """``app`` on a free port in a uvicorn thread; yields its base URL."""
    import uvicorn

    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port,
                                           log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{port}"
    wait_up(url)
    try:
        yield url
    finally:
        server.should_exit = True
        thread.join(30)


def wait_up(url: str, seconds: float = 60, alive: Any = None) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if alive is not None and not alive():
            raise RuntimeError("the server exited before answering")
        try:
            httpx.get(f"{url}/openapi.json", timeout=2)
            return
        except httpx.HTTPError:
            time.sleep(0.1)
    raise RuntimeError(f"nothing answered at {url} in {seconds}s")


def main() -> None:
    import uvicorn

    port, roots = int(sys.argv[1]), [Path(p) for p in sys.argv[2:]]
    uvicorn.run(make_app(roots), host="127.0.0.1", port=port, log_level="info")


if __name__ == "__main__":
    main()
