"""The cluster plane: nodes that register in Redis, and what happens when one of them dies."""
