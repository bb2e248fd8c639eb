"""The workflow graph, the agent subgraph and their state (assembly only)."""
