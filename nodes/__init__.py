"""The graph nodes, each ``(state, runtime) -> update``: one module per phase or agent
step, plus the helpers they share (model requests, tools, answers, decisions, merges)."""
