"""The graphs' contracts (state, runtime context) and their assembly (workflow, agent
subgraph, chat, the `langgraph dev` entry); the logic lives in ``nodes``."""
