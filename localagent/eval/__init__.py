"""``localagent eval``: suites of tasks with hidden checks, run through the workflow (and a
one-call baseline), scored outside the agent's reach."""
