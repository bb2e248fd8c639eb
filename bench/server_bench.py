"""G1: 200 concurrent streaming chat completions through ``localagent server start``
against a fake upstream with a fixed latency: errors, and the latency the server adds (p50,
p99) over calling the upstream directly; the same load through LiteLLM's proxy on the same
upstream, in the same run, when ``litellm[proxy]`` is installed (here or in a virtualenv
of its own: ``LOCALAGENT_BENCH_LITELLM=/path/to/venv/bin/litellm``).

Every server runs in its own process; the load comes from this one (httpx, one event loop).
Rounds alternate direct, LocalAgent, LiteLLM, so drift in the machine's load hits all three.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit

import httpx

from bench.providers_bench import Row

CONCURRENCY = 200
LATENCY = 0.05
GOAL_P50 = 0.001
BODY = {"model": "bench", "stream": True, "stream_options": {"include_usage": True},
        "messages": [{"role": "user", "content": "What is the answer?"}]}
PAYLOAD = json.dumps(BODY).encode()
# LiteLLM's proxy refuses to start without a master key; the others ignore the header
# (the LocalAgent server under test has no key, so it is open)
MASTER_KEY = "sk-" + secrets.token_hex(32)
EXPECTED = "The answer is forty two."
CONTENT = re.compile(r'"content":\s*"((?:[^"\\]|\\.)*)"')


def _port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait(url: str, proc: subprocess.Popen[bytes], log: Path, seconds: float = 120) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{proc.args!r} exited:\n{log.read_text()[-3000:]}")
        try:
            httpx.get(url, timeout=1)
            return
        except httpx.HTTPError:
            time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer in {seconds}s:\n{log.read_text()[-3000:]}")


@contextmanager
def _process(args: list[str], probe: str, env: dict[str, str], log: Path
             ) -> Iterator[subprocess.Popen[bytes]]:
    with log.open("wb") as out:
        proc = subprocess.Popen(args, env=env, stdout=out, stderr=subprocess.STDOUT,
                                start_new_session=True)
    try:
        _wait(probe, proc, log)
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _localagent(upstream: str, home: Path) -> tuple[list[str], dict[str, str], int]:
    import yaml

    config = home / "config"
    config.mkdir(parents=True)
    (config / "config.yaml").write_text(yaml.safe_dump({
        "system": {"default_provider": "openai-compatible:gpt-4o-mini"},
        "chains": {"bench": ["openai-compatible:gpt-4o-mini"]},
        "providers": {"openai-compatible": {"base_url": upstream, "timeout": 30}},
        "caching": {"enabled": False}, "security": {"enable_audit_log": False}}))
    env = {**os.environ, "LOCALAGENT_CONFIG_DIR": str(config),
           "LOCALAGENT_DATA_DIR": str(home / "data"), "LOCALAGENT_CACHE_DIR": str(home / "c")}
    port = _port()
    exe = [sys.executable, "-m", "localagent", "server", "start", "--port", str(port)]
    return exe, env, port


def _litellm(upstream: str, home: Path) -> tuple[list[str], dict[str, str], int] | None:
    # litellm pins importlib-metadata<9, below this project's constraints: it usually lives
    # in a virtualenv of its own, named by LOCALAGENT_BENCH_LITELLM
    exe = os.environ.get("LOCALAGENT_BENCH_LITELLM") or shutil.which(
        "litellm", path=str(Path(sys.executable).parent))
    if exe is None:
        return None
    import yaml

    config = home / "litellm.yaml"
    config.write_text(yaml.safe_dump({
        "model_list": [{"model_name": "bench", "litellm_params": {
            "model": "openai/gpt-4o-mini", "api_base": upstream, "api_key": "sk-bench"}}],
        "litellm_settings": {"telemetry": False, "drop_params": True}}))
    env = {**os.environ, "LITELLM_LOCAL_MODEL_COST_MAP": "True", "LITELLM_LOG": "ERROR",
           "LITELLM_MASTER_KEY": MASTER_KEY,
           "LITELLM_TELEMETRY": "False", "DISABLE_SCHEMA_UPDATE": "True"}
    port = _port()
    return ([exe, "--config", str(config), "--host", "127.0.0.1", "--port", str(port),
             "--num_workers", "1"], env, port)


async def _one(host: str, port: int, path: str) -> float | None:
    """Seconds to the end of one streamed answer; None if it was not the full answer.
    A bare HTTP/1.1 client on asyncio streams: the load generator must cost next to
    nothing, or its own CPU time is what gets measured."""
    request = (f"POST {path} HTTP/1.1\r\nHost: {host}:{port}\r\n"
               f"Content-Type: application/json\r\nContent-Length: {len(PAYLOAD)}\r\n"
               f"Authorization: Bearer {MASTER_KEY}\r\n"
               "Connection: close\r\n\r\n").encode() + PAYLOAD
    started = time.perf_counter()
    try:
        reader, writer = await asyncio.open_connection(host, port)
        writer.write(request)
        data = await reader.read(-1)
        writer.close()
    except OSError:
        return None
    elapsed = time.perf_counter() - started
    ok = data.startswith(b"HTTP/1.1 200") and b"data: [DONE]" in data
    text = "".join(json.loads(f'"{piece}"') for piece in CONTENT.findall(data.decode()))
    return elapsed if ok and text == EXPECTED else None


async def _burst(url: str, n: int) -> tuple[list[float], int]:
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    await _one(host, port, parts.path)  # warm: the server's first-call setup
    results = await asyncio.gather(*(_one(host, port, parts.path) for _ in range(n)))
    ok = [r for r in results if r is not None]
    return ok, n - len(ok)


def _pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def g1_gateway(quick: bool) -> list[Row]:
    rounds = 2 if quick else 5
    home = Path(tempfile.mkdtemp(prefix="la-g1-"))
    up_port = _port()
    upstream = f"http://127.0.0.1:{up_port}/v1"
    rows: list[Row] = []
    with _process([sys.executable, "-m", "bench.fake_upstream", str(up_port), str(LATENCY)],
                  f"{upstream}/models", dict(os.environ), home / "upstream.log"):
        targets = {"direct": f"{upstream}/chat/completions"}
        la_args, la_env, la_port = _localagent(upstream, home / "la")
        lite = _litellm(upstream, home)
        with _process(la_args, f"http://127.0.0.1:{la_port}/health", la_env,
                      home / "localagent.log"):
            targets["localagent"] = f"http://127.0.0.1:{la_port}/v1/chat/completions"
            if lite is None:
                return _rows(_measure(targets, rounds), None)
            with _process(lite[0], f"http://127.0.0.1:{lite[2]}/health/liveliness", lite[1],
                          home / "litellm.log"):
                targets["litellm"] = f"http://127.0.0.1:{lite[2]}/v1/chat/completions"
                rows = _rows(_measure(targets, rounds), True)
    return rows


def _measure(targets: dict[str, str], rounds: int, concurrency: int = CONCURRENCY
             ) -> dict[str, tuple[list[float], int]]:
    found: dict[str, tuple[list[float], int]] = {name: ([], 0) for name in targets}
    for _ in range(rounds):
        for name, url in targets.items():
            ok, errors = asyncio.run(_burst(url, concurrency))
            found[name] = (found[name][0] + ok, found[name][1] + errors)
    return found


def _rows(found: dict[str, tuple[list[float], int]], litellm: bool | None) -> list[Row]:
    direct = found["direct"][0]
    base50, base99 = _pct(direct, 0.5), _pct(direct, 0.99)
    rows = []
    overhead: dict[str, float] = {}
    for name in [n for n in found if n != "direct"]:
        ok, errors = found[name]
        p50, p99 = _pct(ok, 0.5) - base50, _pct(ok, 0.99) - base99
        overhead[name] = p50
        total = len(ok) + errors
        rows.append(Row(f"G1 {name}: errors", f"{errors}/{total}",
                        f"{found['direct'][1]} direct", f"{errors}", "0", errors == 0))
        rows.append(Row(f"G1 {name}: added p50 / p99",
                        f"{_pct(ok, 0.5) * 1e3:.1f} / {_pct(ok, 0.99) * 1e3:.1f} ms",
                        f"{base50 * 1e3:.1f} / {base99 * 1e3:.1f} ms direct",
                        f"+{p50 * 1e3:.1f} / +{p99 * 1e3:.1f} ms",
                        f"p50 <= +{GOAL_P50 * 1e3:.0f} ms" if name == "localagent" else "",
                        p50 <= GOAL_P50 if name == "localagent" else True))
    if litellm:
        ours, theirs = overhead["localagent"], overhead["litellm"]
        rows.append(Row("G1 added p50: LocalAgent vs LiteLLM proxy", f"+{ours * 1e3:.1f} ms",
                        f"+{theirs * 1e3:.1f} ms LiteLLM", f"{(ours - theirs) * 1e3:+.1f} ms",
                        "below LiteLLM", ours < theirs))
    else:
        rows.append(Row("G1 LiteLLM proxy", "not installed", "", "skipped",
                        "LOCALAGENT_BENCH_LITELLM=/venv/bin/litellm", False))
    return rows


ALL = {"G1": g1_gateway}
