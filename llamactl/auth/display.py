"""How `auth status` prints: a short Rich block on a terminal, `key: value` lines in a pipe.
The account's fields come from the API, so their control characters are shown, never obeyed."""

from __future__ import annotations

from typing import TYPE_CHECKING

from llamactl.auth.actions import AuthStatus
from llamactl.output.sanitize import visible_inline
from llamactl.output.sink import Output

if TYPE_CHECKING:
    from rich.console import Console, RenderableType


def status_lines(status: AuthStatus) -> str:
    return "".join(f"{key}: {visible_inline(value)}\n" for key, value in status.lines())


def status_block(status: AuthStatus, console: Console) -> RenderableType:
    from rich.console import Group
    from rich.markup import escape
    from rich.table import Table

    if status.valid:
        verdict = "[green]✓ token accepted[/]"
    elif status.valid is None:
        verdict = "[yellow]? could not ask the API[/]"
    else:
        verdict = "[red]✗ token rejected[/]" if status.token else "[red]✗ not logged in[/]"
    grid = Table.grid(padding=(0, 2))
    for key, value in status.lines()[1:]:
        grid.add_row(f"  [dim]{key}[/]", escape(visible_inline(value)))
    return Group(f"[bold]{escape(visible_inline(status.host))}[/]  {verdict}", grid)


def show_status(out: Output, status: AuthStatus, as_json: bool) -> None:
    """Print the status; then fail with exit 3 (no token, rejected) or 5 (API unreachable)."""
    if as_json:
        out.json(status.as_json())
    else:
        out.show(lambda: status_lines(status), lambda console: status_block(status, console))
    if status.problem:
        raise status.problem
