"""The baseline for help timing: a minimal Typer app with llamactl's command tree and no
work of its own. `llamactl --help` should cost no more than this plus 30%."""

from typing import Annotated

import typer

app = typer.Typer(no_args_is_help=True)
auth = typer.Typer(no_args_is_help=True, help="auth")
models = typer.Typer(no_args_is_help=True, help="models")
history = typer.Typer(no_args_is_help=True, help="history")


@app.callback()
def root(api_url: str | None = None, allow_insecure: bool = False, debug: bool = False) -> None:
    """Root."""


@app.command()
def infer(
    prompt: Annotated[str | None, typer.Argument()] = None,
    model: Annotated[str | None, typer.Option("-m", "--model")] = None,
    version: str | None = None,
    deploy_id: Annotated[str | None, typer.Option("-d", "--deploy-id")] = None,
    inputs: Annotated[list[str] | None, typer.Option("-i", "--input")] = None,
    stream: bool | None = None,
    json: bool = False,
    quiet: Annotated[bool, typer.Option("-q", "--quiet")] = False,
    timeout: float = 600.0,
    retries: int = 2,
    dry_run: bool = False,
    no_history: bool = False,
) -> None:
    """Run a model."""


for name in ("login", "set-token", "token", "status", "logout"):
    auth.command(name)(lambda: None)
for name in ("list", "info", "versions"):
    models.command(name)(lambda: None)
for name in ("list", "show", "search", "stats", "export", "rerun", "rm", "clear", "path"):
    history.command(name)(lambda: None)
app.add_typer(auth, name="auth")
app.add_typer(models, name="models")
app.add_typer(history, name="history")

if __name__ == "__main__":
    app()
