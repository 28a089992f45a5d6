"""Conversations: `infer --chat/-c/--cid` and the `llamactl chat` REPL."""
