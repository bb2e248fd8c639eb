"""One process of the shared-state tests (a subprocess of test_shared_processes.py).

argv: a JSON document: ``redis`` URL, key ``prefix``, the ``urls`` of the OpenAI wire fakes
(one provider each, in fallback order), the ``policy`` for every provider, and ``seconds``
(call in a loop for that long, from ``threads`` threads) or none (call once). Prints READY
once the model is built and its client warmed up (a "warm-up" request straight to the first
client, which the tests do not count), waits for a line on stdin (so every process starts
together), then prints one JSON line per call: which provider answered, whether from the
cache, the attempts.
"""

from __future__ import annotations

import contextlib
import json
import sys
import threading
import time
from typing import Any

from langchain_openai import ChatOpenAI

from providers.errors import AllProvidersFailed
from providers.policy import ProviderPolicy
from providers.resilient import ResilientChatModel
from providers.shared_store import shared_store


def build(spec: dict[str, Any]) -> ResilientChatModel:
    models = [ChatOpenAI(model="m", base_url=f"{url}/v1", api_key="sk-test-key", max_retries=0,
                         timeout=30, temperature=0) for url in spec["urls"]]
    policy = ProviderPolicy.model_validate(spec.get("policy", {}))
    return ResilientChatModel(models=models, policy=policy,
                              shared_store=shared_store(spec["redis"], spec["prefix"]),
                              cache_policy={"enabled": spec.get("cache", False)})


def calls(model: ResilientChatModel, prompt: str, stop: float | None) -> None:
    while True:
        try:
            answer = model.invoke(prompt)
            meta = answer.response_metadata["localagent"]
            line = {"provider": meta["provider"], "cached": meta["cached"],
                    "attempts": [a["outcome"] for a in meta["attempts"]]}
        except AllProvidersFailed as exc:
            line = {"provider": None, "cached": False,
                    "attempts": [a.outcome for a in exc.attempts]}
        print(json.dumps(line), flush=True)
        if stop is None or time.monotonic() >= stop:
            return


def main(spec: dict[str, Any]) -> None:
    model = build(spec)
    if spec.get("warm_up"):
        # a failing fake raises: the client has still made its first call
        with contextlib.suppress(Exception):
            model.models[0].invoke("warm-up")
    print("READY", flush=True)
    sys.stdin.readline()
    seconds = spec.get("seconds")
    stop = time.monotonic() + seconds if seconds else None
    workers = [threading.Thread(target=calls, args=(model, spec.get("prompt", "hello"), stop))
               for _ in range(spec.get("threads", 1))]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()


if __name__ == "__main__":
    main(json.loads(sys.argv[1]))
