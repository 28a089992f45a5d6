"""The API layer: HTTP, retries, error mapping, and wire formats turned into typed events."""
