"""Shell completion of history ids (`history show|rerun|rm <TAB>`): the most recent ids,
newest first, each with its prompt and model as the description zsh and fish show.

Completion runs on every TAB, so it only reads: the database is opened read-only and
never created or migrated, and any failure completes nothing rather than printing.
"""

from __future__ import annotations

import typer

MAX_COMPLETIONS = 20
DESCRIPTION_CHARS = 50
BUSY_TIMEOUT_SECONDS = 0.5


def complete_request_id(ctx: typer.Context, incomplete: str) -> list[tuple[str, str]]:
    """Recent ids starting with what was typed, skipping ids already on the command line."""
    import sqlite3

    from llamactl.env import Environment
    from llamactl.history.store import history_path

    if incomplete and not incomplete.isdigit():
        return []
    typed = {str(value) for value in ctx.params.get("request_ids") or ()}
    path = history_path(Environment())
    try:
        db = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=BUSY_TIMEOUT_SECONDS)
    except sqlite3.Error:
        return []
    try:
        rows = db.execute(
            "SELECT id, model, deploy_id, fields FROM requests WHERE CAST(id AS TEXT) LIKE ?"
            " ORDER BY id DESC LIMIT ?",
            (f"{incomplete}%", MAX_COMPLETIONS + len(typed)),
        ).fetchall()
    except sqlite3.Error:
        return []
    finally:
        db.close()
    items = [
        (str(row_id), _description(model, deploy_id, fields)) for row_id, model, deploy_id, fields in rows
    ]
    return [item for item in items if item[0] not in typed][:MAX_COMPLETIONS]


def _description(model: str | None, deploy_id: str | None, fields: str) -> str:
    """The prompt, shortened, and the model; escaped, because Typer renders descriptions as
    Rich markup, where a Llama-2 prompt's `[/INST]` would be a broken closing tag."""
    import json

    from rich.markup import escape

    try:
        prompt = json.loads(fields).get("input")
    except (ValueError, AttributeError):
        prompt = None
    prompt = " ".join(prompt.split()) if isinstance(prompt, str) else ""
    if len(prompt) > DESCRIPTION_CHARS:
        prompt = prompt[: DESCRIPTION_CHARS - 1] + "…"
    target = model or f"deploy:{deploy_id}"
    return escape(f"{prompt} - {target}" if prompt else target)
