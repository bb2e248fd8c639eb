"""The API server: an OpenAI-compatible gateway over the provider chain, the workflow runs
API, auth and operations routes. ``create_app`` (in ``localagent.server.app``) builds it."""
