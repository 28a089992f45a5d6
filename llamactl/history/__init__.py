"""Inference history in SQLite under the state directory."""
