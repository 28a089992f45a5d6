"""The user's saved settings: `config.json` in the state directory, holding the default
model (`models default`) and the aliases (`models alias`).

Read only when a setting is needed (no -m given, or a name that could be an alias), so a
damaged file never stands in the way of a command that names its model in full. It is
replaced atomically: a crash or a reader in another shell sees the old file or the new one.
"""

from __future__ import annotations

import json
from pathlib import Path

from llamactl.env import Environment
from llamactl.errors import LocalFailure
from llamactl.plain import field, record

CONFIG_NAME = "config.json"


@record
class Config:
    default_model: str | None = None
    aliases: dict[str, str] = field(default_factory=dict)

    def expand(self, name: str) -> str:
        """The model an alias stands for, or `name` itself."""
        return self.aliases.get(name, name)


def config_path(env: Environment) -> Path:
    return env.state_dir / CONFIG_NAME


def damaged(path: Path, why: str) -> LocalFailure:
    return LocalFailure(
        f"cannot read {path}: {why}",
        hint="fix it, or remove it to start again (the default model and aliases are kept there)",
    )


def load_config(env: Environment) -> Config:
    """The saved settings; none when the file does not exist. A file that cannot be read
    or is not the shape this writes is a local failure (exit 6), never silently ignored:
    saving over it would lose the aliases in it."""
    from llamactl.errors import local_failure

    path = config_path(env)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return Config()
    except UnicodeDecodeError:
        raise damaged(path, "it is not UTF-8 text") from None
    except OSError as exc:
        raise local_failure(f"read {path}", exc) from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise damaged(path, f"it is not valid JSON (line {exc.lineno}, column {exc.colno})") from None
    if not isinstance(data, dict):
        raise damaged(path, "it is not a JSON object")
    default, aliases = data.get("default_model"), data.get("aliases", {})
    if default is not None and not isinstance(default, str):
        raise damaged(path, "default_model is not a string")
    if not isinstance(aliases, dict) or not all(isinstance(value, str) for value in aliases.values()):
        raise damaged(path, "aliases is not an object of names")
    return Config(default_model=default, aliases=dict(aliases))


def save_config(env: Environment, config: Config) -> None:
    """Write the settings (0600, in the 0700 state directory); a disk that refuses is exit 6."""
    from llamactl.env import ensure_private_dir
    from llamactl.errors import local_failure
    from llamactl.files import write_atomically

    path = config_path(env)
    data: dict[str, object] = {}
    if config.default_model is not None:
        data["default_model"] = config.default_model
    if config.aliases:
        data["aliases"] = dict(sorted(config.aliases.items()))
    try:
        ensure_private_dir(path.parent)
        write_atomically(path, json.dumps(data, indent=2, ensure_ascii=False) + "\n")
    except OSError as exc:
        raise local_failure(f"write {path}", exc) from None
