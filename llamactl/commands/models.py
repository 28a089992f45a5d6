"""`llamactl models`: the model catalogue, a model's card and its versions."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from llamactl.env import Environment
from llamactl.catalogue.names import complete_model_name, complete_model_type

# Help paragraphs are single lines: Typer's Rich help keeps every line break it is given.
# Epilogs are blocks that keep theirs, each line within 80 columns; they start with a
# newline because Typer dedents help like a docstring, which would strip their indent.
HELP = (
    "List the models, show a model's card and its versions.\n\n"
    "'models list' also keeps a copy of the list (per API host): -m completes model names "
    "from it, infer estimates a cost from its prices when the API reports none, and an "
    "unknown model name gets \"did you mean\" suggestions."
)
EPILOG = """
Examples:
  llamactl models list
  llamactl models info -m meta-llama/Llama-2-70b-chat-hf
  llamactl models versions -m meta-llama/Llama-2-70b-chat-hf --json
"""

LIST_HELP = (
    "Every model with its type, prices, context length and deprecation.\n\n"
    "On a terminal a table; in a pipe one tab-separated line per model (name, type, input "
    "price, output price, context length, notes; '-' where there is none). Prices are per "
    "million tokens, or per second for models priced by time. With a token, your private "
    "models are listed too. Refreshes the local copy of the list, which -m completion "
    "reads."
)
LIST_EPILOG = """
Examples:
  llamactl models list --type text-generation
  # in a pipeline: name and prices, tab-separated
  llamactl models list | cut -f1,3,4
  # in CI: the names, from the API's own JSON
  llamactl models list --json | jq -r '.[].model_name'
"""

INFO_HELP = (
    "The model's card, as 'deepctl model info' prints it.\n\n"
    "Type, version, price, description, links, README, how to call it, and its input and "
    "output fields. A field the API leaves out is left out (where deepctl would fail). An "
    "unknown model is exit 4, with the closest names as a hint."
)
INFO_EPILOG = """
Examples:
  llamactl models info -m meta-llama/Llama-2-70b-chat-hf
  # in a pipeline: one field of the card
  llamactl models info -m meta-llama/Llama-2-70b-chat-hf | grep '^pricing'
  # in CI: the model's prices, from the API's JSON
  llamactl models info -m meta-llama/Llama-2-70b-chat-hf --json | jq .pricing
"""

VERSIONS_HELP = (
    "The model's versions, newest first, with their upload times.\n\n"
    "Pin one with 'llamactl infer --version V'."
)
VERSIONS_EPILOG = """
Examples:
  llamactl models versions -m meta-llama/Llama-2-70b-chat-hf
  # in a pipeline: the newest version, and when it was uploaded
  llamactl models versions -m meta-llama/Llama-2-70b-chat-hf | head -1
"""

ModelOption = Annotated[str, typer.Option(
    "-m", "--model", metavar="MODEL", help="Model name, e.g. meta-llama/Llama-2-70b-chat-hf.",
    autocompletion=complete_model_name, show_default=False,
)]
JsonOption = Annotated[bool, typer.Option("--json", help="Print the API's JSON.")]

app = typer.Typer(no_args_is_help=True, help=HELP, epilog=EPILOG)


@app.command("list", help=LIST_HELP, epilog=LIST_EPILOG)
def list_models(
    ctx: typer.Context,
    model_type: Annotated[Optional[str], typer.Option("--type", metavar="TYPE", help="Only models of this type, e.g. text-generation.", autocompletion=complete_model_type, show_default=False)] = None,
    json_output: JsonOption = False,
) -> None:
    from llamactl.catalogue.cache import fetch_models, parse_entries, refresh_cache
    from llamactl.catalogue.display import print_models
    from llamactl.auth.credentials import resolve_token

    env: Environment = ctx.obj
    out = env.output
    raws = fetch_models(env, resolve_token(env, out.warn), warn=out.warn)
    refresh_cache(env, raws, warn=out.warn)
    types = sorted({kind for kind in map(_type_of, raws) if isinstance(kind, str)})
    if model_type is not None and model_type not in types:
        from llamactl.errors import UsageError

        raise UsageError(f"--type: no models of type {model_type!r}", hint=f"the types are: {', '.join(types)}")
    if json_output:
        out.json([raw for raw in raws if model_type is None or _type_of(raw) == model_type])
        return
    entries = parse_entries(raws, warn=out.warn)
    print_models(out, [entry for entry in entries if model_type is None or entry.type == model_type])


def _type_of(raw) -> object:
    return raw.get("type") if isinstance(raw, dict) else None


@app.command(help=INFO_HELP, epilog=INFO_EPILOG)
def info(
    ctx: typer.Context,
    model: ModelOption,
    version: Annotated[Optional[str], typer.Option("--version", metavar="V", help="A version of the model (see 'models versions').", show_default=False)] = None,
    json_output: JsonOption = False,
) -> None:
    from llamactl.catalogue.cache import fetch_model_info
    from llamactl.catalogue.names import suggest_known_models
    from llamactl.catalogue.card import card_text, deprecation_notice

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


@app.command(help=VERSIONS_HELP, epilog=VERSIONS_EPILOG)
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
