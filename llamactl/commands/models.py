"""`llamactl models`: the model catalogue, a model's card and its versions."""

from __future__ import annotations

from typing import Annotated

import typer

from llamactl.catalogue.names import complete_model_name, complete_model_type
from llamactl.commands.helptext import command_help
from llamactl.env import Environment

ModelOption = Annotated[
    str,
    typer.Option(
        "-m",
        "--model",
        metavar="MODEL",
        help="Model name, e.g. meta-llama/Llama-2-70b-chat-hf.",
        autocompletion=complete_model_name,
        show_default=False,
    ),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print the API's JSON.")]

app = typer.Typer(no_args_is_help=True, **command_help("models"))


@app.command("list", **command_help("models list"))
def list_models(
    ctx: typer.Context,
    model_type: Annotated[
        str | None,
        typer.Option(
            "--type",
            metavar="TYPE",
            help="Only models of this type, e.g. text-generation.",
            autocompletion=complete_model_type,
            show_default=False,
        ),
    ] = None,
    json_output: JsonOption = False,
) -> None:
    from llamactl.auth.credentials import resolve_token
    from llamactl.catalogue.cache import fetch_models, parse_entries, refresh_cache
    from llamactl.catalogue.display import print_models

    env: Environment = ctx.obj
    out = env.output
    raws = fetch_models(env, resolve_token(env, out.warn), warn=out.warn)
    refresh_cache(env, raws, warn=out.warn)
    types = sorted({kind for kind in map(_type_of, raws) if isinstance(kind, str)})
    if model_type is not None and model_type not in types:
        from llamactl.errors import UsageError

        raise UsageError(
            f"--type: no models of type {model_type!r}", hint=f"the types are: {', '.join(types)}"
        )
    if json_output:
        out.json([raw for raw in raws if model_type is None or _type_of(raw) == model_type])
        return
    entries = parse_entries(raws, warn=out.warn)
    print_models(out, [entry for entry in entries if model_type is None or entry.type == model_type])


def _type_of(raw) -> object:
    return raw.get("type") if isinstance(raw, dict) else None


@app.command(**command_help("models info"))
def info(
    ctx: typer.Context,
    model: ModelOption,
    version: Annotated[
        str | None,
        typer.Option(
            "--version",
            metavar="V",
            help="A version of the model (see 'models versions').",
            show_default=False,
        ),
    ] = None,
    json_output: JsonOption = False,
) -> None:
    from llamactl.catalogue.cache import fetch_model_info
    from llamactl.catalogue.card import card_text, deprecation_notice
    from llamactl.catalogue.names import suggest_known_models

    env: Environment = ctx.obj
    out = env.output
    with suggest_known_models(env, model, version, refresh=True):
        card = fetch_model_info(env, model, version)
    if json_output:
        out.json(card)
        return
    out.text(card_text(model, card))
    notice = deprecation_notice(model, card)
    if notice:
        out.warn(notice)


@app.command(**command_help("models versions"))
def versions(ctx: typer.Context, model: ModelOption, json_output: JsonOption = False) -> None:
    from llamactl.catalogue.cache import fetch_versions
    from llamactl.catalogue.display import print_versions, version_rows
    from llamactl.catalogue.names import suggest_known_models

    env: Environment = ctx.obj
    out = env.output
    with suggest_known_models(env, model, refresh=True):
        items = fetch_versions(env, model)
    if json_output:
        out.json(items)
        return
    print_versions(out, version_rows(items, warn=out.warn))
