"""Which model a command means: the one check of a model name before it goes into a URL,
aliases expanded, and the default when -m is left out (-m, then LLAMACTL_MODEL, then
`models default`).

Every command that names a model (infer, history rerun, models info/versions, batches)
goes through here, so a name such as `../../v1/me` is refused before any request.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from llamactl.env import Environment
from llamactl.errors import UsageError

if TYPE_CHECKING:
    from llamactl.config import Config

MODEL_VARIABLE = "LLAMACTL_MODEL"
EXAMPLE_MODEL = "meta-llama/Llama-2-70b-chat-hf"
# An alias: an ASCII letter or digit, then those and `.`, `_`, `-` (checked without a
# regular expression, whose compilation would cost every run more than the check).
ALIAS_START = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789")
ALIAS_CHARACTERS = ALIAS_START | frozenset("._-")
NO_MODEL_HINT = f"give -m MODEL, set {MODEL_VARIABLE}, or save one with 'llamactl models default MODEL'"


def check_model_name(name: str, source: str | None = None) -> str:
    """`name` when it can only name a model: no surrounding blanks, no empty, `.` or `..`
    part, no control character, which would make the URL reach another endpoint
    (`../../v1/me` is GET /v1/me). `source` says where a bad name came from."""
    parts = name.split("/")
    if (
        name != name.strip()
        or any(part in ("", ".", "..") for part in parts)
        or any(ord(char) < 32 or ord(char) == 127 for char in name)
    ):
        where = f" in {source}" if source else ""
        raise UsageError(f"invalid model name{where} {name!r}: expected a name such as {EXAMPLE_MODEL}")
    return name


def could_be_alias(name: str) -> bool:
    return name[:1] in ALIAS_START and ALIAS_CHARACTERS.issuperset(name)


def check_alias_name(short: str) -> str:
    """An alias is one short word: never a `/`, so it can never shadow a model's full name."""
    if "/" in short:
        raise UsageError(
            f"invalid alias {short!r}: an alias cannot contain '/', which only full model names have",
            hint="use a short name such as llama70",
        )
    if not could_be_alias(short):
        raise UsageError(
            f"invalid alias {short!r}: use letters, digits, '.', '_' and '-', starting with a letter or digit"
        )
    return short


def expand_alias(env: Environment, name: str) -> str:
    """The model an alias stands for, or `name` itself. A full name (with a `/`) never
    reads the config file."""
    if not could_be_alias(name):
        return name
    from llamactl.config import load_config

    return load_config(env).expand(name)


def chosen_model(env: Environment, given: str | None) -> str:
    """The model to use: `given` (-m or a positional MODEL), else LLAMACTL_MODEL, else the
    saved default, each checked and an alias expanded; with none of them, a usage error
    that says how to choose one."""
    if given is not None:
        return check_model_name(expand_alias(env, check_model_name(given)))
    from_environment = env.environ.get(MODEL_VARIABLE)
    if from_environment:
        return check_model_name(expand_alias(env, check_model_name(from_environment, MODEL_VARIABLE)))
    from llamactl.config import config_path, load_config

    saved = load_config(env).default_model
    if saved:
        return check_model_name(expand_alias(env, saved), str(config_path(env)))
    raise UsageError("no model given", hint=NO_MODEL_HINT)


# `models default` and `models alias`: what they change in a Config, checked first


def set_default(config: Config, model: str) -> str:
    """Save `model` as the default, an alias as the model it stands for (so removing the
    alias later leaves the default working)."""
    config.default_model = config.expand(check_model_name(model))
    return config.default_model


def add_alias(config: Config, short: str, model: str) -> str:
    """`short` for `model`; an alias of an alias stands for the model itself, never a chain."""
    check_alias_name(short)
    target = config.expand(check_model_name(model))
    if target == short:
        raise UsageError(f"an alias cannot stand for itself ({short!r})")
    config.aliases[short] = target
    return target


def alias_target(config: Config, short: str) -> str:
    if short not in config.aliases:
        raise UsageError(f"no alias {short!r}", hint="'llamactl models alias' lists them")
    return config.aliases[short]


def remove_alias(config: Config, short: str) -> str:
    """Forget `short`; the model it stood for."""
    target = alias_target(config, short)
    del config.aliases[short]
    return target
