"""Scripts run by each client's own virtualenv python (they never import naia)."""
