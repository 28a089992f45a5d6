"""`llamactl infer --batch`: many requests from this machine, concurrent and resumable."""
