"""One module per phase or step; each node is ``(state, runtime) -> update``."""
