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
    from providers.registry import get_plugin
    from providers.settings import ProvidersConfig

    try:
        if args.command == "models":
            plugin = get_plugin(args.name)
            if plugin.list_models is None:
                print(f"{args.name} cannot list its models", file=sys.stderr)
                return 1
            _emit(plugin.list_models(ProvidersConfig().for_provider(args.name), 10.0))
            return 0
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
