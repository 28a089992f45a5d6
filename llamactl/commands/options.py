"""The one way a command declares its options and arguments.

In the code an option is its names, metavar, panel and completion, one line; its help text
is prose in help.md (a `## options: SCOPE` section, one `NAME: text` line each), looked up
by the scope that declares it and its longest name (an argument: its metavar). Options that
several commands take are a record (llamactl.plain) of such fields, expanded by `@with_options` into the
command's parameters where the record stands.

No `from __future__ import annotations` in the modules that define options: their
annotations stay objects, so neither this module nor Typer compiles them from strings on
every run.
"""

import inspect
from collections.abc import Callable
from typing import Any, cast, get_type_hints

import typer

from llamactl.commands.helptext import option_help
from llamactl.plain import MISSING, fields, is_record


def seconds_between(low: float, high: float) -> Callable[[float | None], float | None]:
    """The callback of a SECONDS option (whose `min=low` checks the low end): NaN passes
    every range check (each comparison with it is false), and a wait beyond `high` is a
    typo or overflows the clock's arithmetic (inf, 1e300): both are exit 2."""
    import math

    def check(value: float | None) -> float | None:
        if value is not None and (math.isnan(value) or value > high):
            raise typer.BadParameter(f"expected a number of seconds from {low:g} to {high:g}, got {value:g}")
        return value

    return check


class Declarations:
    """Options and arguments whose help is in help.md's `## options: SCOPE` section."""

    def __init__(self, scope: str):
        self.scope = scope

    def option(
        self,
        *names: str,
        metavar: str | None = None,
        panel: str | None = None,
        complete: Callable[..., Any] | None = None,
        **extra: Any,
    ) -> Any:
        """typer.Option for `names`, its help from help.md; `extra` goes to Typer as it is."""
        return typer.Option(
            *names,
            metavar=metavar,
            help=option_help(self.scope, max(names, key=len)),
            rich_help_panel=panel,
            autocompletion=complete,
            **extra,
        )

    def argument(self, metavar: str, complete: Callable[..., Any] | None = None, **extra: Any) -> Any:
        """typer.Argument shown as `metavar`, its help from help.md."""
        return typer.Argument(
            metavar=metavar, help=option_help(self.scope, metavar), autocompletion=complete, **extra
        )


def with_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """`command` as Typer sees it: each parameter annotated with a record is replaced, in
    its place, by the record's fields (Typer reads their annotations and defaults as
    options), and the command receives their values as one instance of it."""
    hints = get_type_hints(command, include_extras=True)
    groups: dict[str, type] = {}
    parameters = []
    for name, parameter in inspect.signature(command).parameters.items():
        annotation = hints.get(name, parameter.annotation)
        if not is_record(annotation):
            parameters.append(parameter.replace(annotation=annotation, kind=inspect.Parameter.KEYWORD_ONLY))
            continue
        groups[name] = annotation
        field_hints = get_type_hints(annotation, include_extras=True)
        parameters.extend(
            inspect.Parameter(
                item.name,
                inspect.Parameter.KEYWORD_ONLY,
                default=inspect.Parameter.empty if item.default is MISSING else item.default,
                annotation=field_hints[item.name],
            )
            for item in fields(annotation)
        )

    def run(**values: Any) -> Any:
        for name, group in groups.items():
            values[name] = group(**{item.name: values.pop(item.name) for item in fields(group)})
        return command(**values)

    cast(Any, run).__signature__ = inspect.Signature(parameters)  # what Typer reads the options from
    run.__annotations__ = {parameter.name: parameter.annotation for parameter in parameters}
    run.__name__, run.__qualname__, run.__doc__ = command.__name__, command.__qualname__, command.__doc__
    run.__module__ = command.__module__
    return run
