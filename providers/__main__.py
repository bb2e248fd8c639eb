"""``python -m providers``: health, models and a one-shot chat over a provider chain.

The full ``localagent`` CLI builds on this layer; this entry point exists so the provider
layer can be checked on its own.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any


def _emit(data: Any) -> None:
    print(json.dumps(data, indent=2, default=str))


def _models(name: str) -> int:
    """The provider's models as JSON; one line on stderr when it cannot say (not running,
    unknown, no key)."""
    from providers.errors import classify
    from providers.registry import get_plugin
    from providers.settings import ProvidersConfig

    try:
        plugin = get_plugin(name)
        if plugin.list_models is None:
            print(f"error: {name} cannot list its models", file=sys.stderr)
            return 1
        models = plugin.list_models(ProvidersConfig().for_provider(name), 10.0)
    except Exception as exc:  # a connection refused is an answer, not a crash
        from providers.errors import ErrorKind

        error = classify(exc, provider=name)
        hint = f" (is {name} running?)" if error.kind in (ErrorKind.UNREACHABLE,
                                                         ErrorKind.TIMEOUT) else ""
        print(f"error: {error}{hint}", file=sys.stderr)
        return 4
    _emit(models)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m providers", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    health = sub.add_parser("health", help="reachability, auth and models of a chain")
    health.add_argument("--provider", help="PROVIDER[:MODEL][,...] or a chain name")
    models = sub.add_parser("models", help="models a provider offers")
    models.add_argument("name")
    chat = sub.add_parser("chat", help="one prompt through the resilient chain")
    chat.add_argument("prompt")
    chat.add_argument("--provider", help="PROVIDER[:MODEL][,...] or a chain name")
    chat.add_argument("--stream", action="store_true")
    args = parser.parse_args(argv)

    from providers.errors import ProviderError
    from providers.factory import get_chat_model

    try:
        if args.command == "models":
            return _models(args.name)
        model = get_chat_model(args.provider)
        if args.command == "health":
            report = model.health()
            _emit(report)
            return 0 if all(r.get("reachable") for r in report) else 1
        if args.stream:
            for chunk in model.stream(args.prompt):
                print(chunk.content, end="", flush=True)
            print()
        else:
            answer = model.invoke(args.prompt)
            print(answer.content)
            _emit(answer.response_metadata.get("localagent"))
        return 0
    except ProviderError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 4


if __name__ == "__main__":
    sys.exit(main())
