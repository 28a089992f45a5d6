"""`llamactl models`: the model catalogue, a model's card and its versions."""

from __future__ import annotations

from typing import Annotated

import typer

from llamactl.catalogue.names import complete_model_name, complete_model_type
from llamactl.commands.helptext import command_help
from llamactl.commands.options import Declarations
from llamactl.env import Environment

models_opts = Declarations("models")
ModelOption = Annotated[
    str | None, models_opts.option("-m", "--model", metavar="MODEL", complete=complete_model_name)
]
ModelArgument = Annotated[str | None, models_opts.argument("[MODEL]", complete=complete_model_name)]
JsonOption = Annotated[bool, models_opts.option("--json")]

app = typer.Typer(no_args_is_help=True, **command_help("models"))


@app.command("list", **command_help("models list"))
def list_models(
    ctx: typer.Context,
    model_type: Annotated[
        str | None, Declarations("models list").option("--type", metavar="TYPE", complete=complete_model_type)
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


def _model(env: Environment, argument: str | None, option: str | None) -> str:
    """MODEL or -m (not two different ones), else the default; checked, aliases expanded."""
    from llamactl.catalogue.model_choice import chosen_model

    if argument is not None and option is not None and argument != option:
        from llamactl.errors import UsageError

        raise UsageError(f"two models given ({argument} and -m {option}): give one of them")
    return chosen_model(env, argument if argument is not None else option)


def _type_of(raw) -> object:
    return raw.get("type") if isinstance(raw, dict) else None


@app.command(**command_help("models info"))
def info(
    ctx: typer.Context,
    model_argument: ModelArgument = None,
    model_option: ModelOption = None,
    version: Annotated[str | None, Declarations("models info").option("--version", metavar="V")] = None,
    json_output: JsonOption = False,
) -> None:
    from llamactl.catalogue.cache import fetch_model_info
    from llamactl.catalogue.card import card_text, deprecation_notice
    from llamactl.catalogue.names import suggest_known_models

    env: Environment = ctx.obj
    out = env.output
    model = _model(env, model_argument, model_option)
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
def versions(
    ctx: typer.Context,
    model_argument: ModelArgument = None,
    model_option: ModelOption = None,
    json_output: JsonOption = False,
) -> None:
    from llamactl.catalogue.cache import fetch_versions
    from llamactl.catalogue.display import print_versions, version_rows
    from llamactl.catalogue.names import suggest_known_models

    env: Environment = ctx.obj
    out = env.output
    model = _model(env, model_argument, model_option)
    with suggest_known_models(env, model, refresh=True):
        items = fetch_versions(env, model)
    if json_output:
        out.json(items)
        return
    print_versions(out, version_rows(items, warn=out.warn))


def complete_alias(ctx: typer.Context, incomplete: str) -> list[str]:
    """The saved aliases (`models alias --rm <TAB>`)."""
    from llamactl.catalogue.names import saved_aliases

    return sorted(short for short in saved_aliases(Environment()) if short.startswith(incomplete))


default_opts = Declarations("models default")


@app.command("default", **command_help("models default"))
def default(
    ctx: typer.Context,
    model: Annotated[str | None, default_opts.argument("[MODEL]", complete=complete_model_name)] = None,
    unset: Annotated[bool, default_opts.option("--unset")] = False,
) -> None:
    from llamactl.catalogue.model_choice import MODEL_VARIABLE, chosen_model, set_default
    from llamactl.config import load_config, save_config
    from llamactl.errors import UsageError

    env: Environment = ctx.obj
    out = env.output
    if model is not None and unset:
        raise UsageError("give MODEL or --unset, not both")
    from_environment = env.environ.get(MODEL_VARIABLE)
    config = load_config(env)
    if model is None and not unset:
        if not (from_environment or config.default_model):
            out.info("no default model: -m is needed; save one with 'llamactl models default MODEL'")
            return
        out.text(chosen_model(env, None) + "\n")
        if from_environment:
            out.info(f"(from {MODEL_VARIABLE}, which wins over the saved default)")
        return
    if unset:
        removed, config.default_model = config.default_model, None
        if removed:
            save_config(env, config)
        out.info(f"removed the default model {removed}" if removed else "no default model was saved")
    else:
        saved = set_default(config, model or "")
        save_config(env, config)
        out.info(f"default model: {saved}")
    if from_environment:
        out.warn(f"{MODEL_VARIABLE}={from_environment} is set, and wins over the saved default")


alias_opts = Declarations("models alias")


@app.command("alias", **command_help("models alias"))
def alias(
    ctx: typer.Context,
    short: Annotated[str | None, alias_opts.argument("[SHORT]")] = None,
    model: Annotated[str | None, alias_opts.argument("[MODEL]", complete=complete_model_name)] = None,
    remove: Annotated[str | None, alias_opts.option("--rm", metavar="SHORT", complete=complete_alias)] = None,
    json_output: JsonOption = False,
) -> None:
    from llamactl.catalogue.model_choice import add_alias, alias_target, remove_alias
    from llamactl.config import load_config, save_config
    from llamactl.errors import UsageError

    env: Environment = ctx.obj
    out = env.output
    if remove is not None and short is not None:
        raise UsageError("give SHORT MODEL or --rm SHORT, not both")
    config = load_config(env)
    if remove is not None:
        target = remove_alias(config, remove)
        save_config(env, config)
        out.info(f"removed the alias {remove} (for {target})")
    elif short is not None and model is not None:
        target = add_alias(config, short, model)
        save_config(env, config)
        out.info(f"alias {short}: {target}")
    elif short is not None:
        out.text(alias_target(config, short) + "\n")
    elif json_output:
        out.json(config.aliases)
    elif config.aliases:
        from llamactl.catalogue.display import print_aliases

        print_aliases(out, config.aliases)
    else:
        out.info("no aliases; add one with 'llamactl models alias SHORT MODEL'")
