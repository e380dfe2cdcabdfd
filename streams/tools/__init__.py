"""The operator side: the `agentstream` command, the local broker and Redis, the echo demo."""
