"""The root command: global options, the command tree, and the one place where errors
become a message on stderr and an exit code."""

# No `from __future__ import annotations`: see commands/infer_options.py.

import os
from typing import IO, Annotated, Any, cast

import typer
from typer.core import TyperGroup

from llamactl import __version__
from llamactl.commands.helptext import command_help
from llamactl.commands.infer import infer
from llamactl.commands.options import Declarations
from llamactl.env import Environment, refuse_credentials_in, resolve_api_url
from llamactl.errors import (
    ExitCode,
    Interrupted,
    LlamactlError,
    LocalFailure,
    local_errno_hint,
    local_failure,
)


def _environment(ctx: typer.Context) -> Environment:
    env = ctx.find_root().obj
    return env if isinstance(env, Environment) else Environment(api_url=resolve_api_url(None, os.environ))


def _overrides(ctx: typer.Context) -> dict[str, Any]:
    """Environment fields a caller passed as `obj` (tests render for a terminal in-process:
    `CliRunner().invoke(app, args, obj={"stdout_isatty": True, "width": 60})`)."""
    return dict(ctx.obj) if isinstance(ctx.obj, dict) else {}


def _remember_environment_tokens(env: Environment) -> None:
    """This command's tokens start as the environment's (even one that is not used, such as
    DEEPINFRA_API_KEY beside DEEPINFRA_TOKEN); a stored one is added when it is resolved."""
    from llamactl.auth.credentials import TOKEN_VARIABLES
    from llamactl.redact import forget_all, remember

    forget_all()
    for name in TOKEN_VARIABLES:
        remember((env.environ.get(name) or "").strip())


def report(env: Environment, message: str, hint: str | None = None) -> None:
    """The error line (and hint). A stderr nobody reads any more (`2>&1 | head -1`, a full
    disk) loses them, but never the exit code: the failure is still the one to report."""
    from llamactl.redact import scrub

    message = scrub(message)
    out = env.output
    try:
        out.error(f"error: {message}")
        if hint:
            out.answer(f"hint: {hint}")  # part of the error: -q keeps it
    except (BrokenPipeError, LocalFailure):
        _silence(2)


def report_traceback(env: Environment) -> None:
    import traceback

    from llamactl.redact import scrub

    text = scrub(traceback.format_exc())  # the chained exceptions may quote a server's echo
    env.output.traceback(text)


# Command groups built only when used: `llamactl infer` need not import or build them.
LAZY_GROUPS = {
    "auth": "llamactl.commands.auth",
    "models": "llamactl.commands.models",
    "history": "llamactl.commands.history",
    "batch": "llamactl.commands.batch",
}
# Single commands built only when used: a module whose Typer `app` holds the one command.
LAZY_COMMANDS = {"chat": "llamactl.commands.chat"}
COMMAND_ORDER = ("auth", "infer", "chat", "models", "history", "batch")
GLOBAL_OPTIONS = ("--api-url", "--allow-insecure", "--debug")
VALUE_OPTIONS = ("--api-url",)  # the global options that take a value
CONNECTION_PANEL = "Connection"


class LlamactlGroup(TyperGroup):
    """Builds command groups on first use, and turns every expected failure into
    `error: ...` on stderr and its exit code."""

    def list_commands(self, ctx: Any) -> list[str]:
        return [*COMMAND_ORDER, *(name for name in super().list_commands(ctx) if name not in COMMAND_ORDER)]

    def get_command(self, ctx: Any, name: str) -> Any:
        if name in LAZY_GROUPS and name not in self.commands:
            import importlib

            from typer.main import get_group

            group = get_group(importlib.import_module(LAZY_GROUPS[name]).app)
            group.name = name
            self.commands[name] = group
        elif name in LAZY_COMMANDS and name not in self.commands:
            import importlib

            from typer.main import get_command

            command = get_command(importlib.import_module(LAZY_COMMANDS[name]).app)
            command.name = name
            self.commands[name] = command
        return super().get_command(ctx, name)

    def main(  # type: ignore[override]  # the same parameters, as keywords; Click's grow by version
        self,
        args: Any = None,
        prog_name: Any = None,
        complete_var: Any = None,
        standalone_mode: bool = True,
        **extra: Any,
    ) -> Any:
        """Typer's usage errors as one `error:` line and a hint, instead of a boxed panel;
        help piped into `head` ends quietly, and piped help has no trailing spaces."""
        env = Environment()
        _remember_environment_tokens(env)
        if not env.stdout_isatty:
            _trim_help_when_shown()
        try:
            result = super().main(
                args=args, prog_name=prog_name, complete_var=complete_var, standalone_mode=False, **extra
            )
            code = result if isinstance(result, int) else 0
        except HelpPipeClosed:  # `llamactl --help | head -1`: the reader has all it wanted
            _silence_stdout()
            code = ExitCode.BROKEN_PIPE
        except typer.Abort:  # Ctrl-C or end of input at a confirmation or a prompt
            env.output.end_line_on_stderr()
            report(env, "interrupted")
            code = ExitCode.INTERRUPTED
        except OSError as exc:  # outside any command: `--install-completion` on a read-only home
            if not local_errno_hint(exc):
                raise
            failure = local_failure(f"write {exc.filename}" if exc.filename else "write", exc)
            report(env, failure.message, failure.hint)
            code = failure.exit_code
        except Exception as exc:
            if not _is_click_exception(exc):
                raise
            code = _report_usage_error(exc, _given_args(args))
        if standalone_mode:
            raise SystemExit(code)
        return code

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except (typer.Exit, typer.Abort, HelpPipeClosed):
            raise
        except KeyboardInterrupt as exc:
            from llamactl.signals import Terminated

            return self._interrupted(ctx, terminated=isinstance(exc, Terminated))
        except BrokenPipeError:
            _silence_stdout()
            raise typer.Exit(ExitCode.BROKEN_PIPE) from None
        except LlamactlError as exc:
            return self._fail(ctx, exc)
        except Exception as exc:
            if _is_click_exception(exc):
                raise
            if isinstance(exc, OSError) and local_errno_hint(exc):  # a full disk is no bug
                return self._fail(ctx, local_failure(f"use {exc.filename}" if exc.filename else "write", exc))
            env = _environment(ctx)
            if env.debug:
                report_traceback(env)
            report(
                env,
                f"internal error: {type(exc).__name__}: {exc}",
                hint="this is a bug in llamactl; rerun with --debug for the traceback",
            )
            raise typer.Exit(ExitCode.INTERNAL) from None

    def _interrupted(self, ctx: Any, terminated: bool) -> None:
        """One line saying the run was stopped, on a line of its own (not after the `^C` the
        terminal echoed), claiming incomplete output only when some was written. SIGTERM
        leaves a trace in a CI log without an `error:`: the job was cancelled, nothing failed."""
        env = _environment(ctx)
        out = env.output
        shown = out.stdout_used
        if not terminated and env.stderr_isatty:
            out.end_line_on_stderr()
            out.stdout_mid_line = False
        incomplete = "; the output above is incomplete" if shown else ""
        if terminated:
            out.error(f"terminated by SIGTERM{incomplete}")
            raise typer.Exit(ExitCode.TERMINATED)
        self._fail(ctx, Interrupted(f"interrupted{incomplete}"))

    def _fail(self, ctx: Any, exc: LlamactlError) -> None:
        env = _environment(ctx)
        if env.debug:
            report_traceback(env)
        report(env, exc.message, exc.hint)
        raise typer.Exit(exc.exit_code) from None


def _is_click_exception(exc: BaseException) -> bool:
    """Typer's own usage errors must reach Typer, which prints them with exit code 2."""
    return type(exc).__module__.startswith(("typer.", "click."))


def _given_args(args: Any) -> list[str]:
    import sys

    return [str(arg) for arg in (sys.argv[1:] if args is None else args)]


def _global_option_as_given(option: str, args: list[str]) -> str:
    """`--api-url URL` as the user typed it (value included), for the misplaced-option hint."""
    import shlex

    for index, arg in enumerate(args):
        if arg.startswith(option + "="):
            return arg
        if arg == option:
            if option in VALUE_OPTIONS:
                value = args[index + 1] if index + 1 < len(args) else "URL"
                return f"{option} {shlex.quote(value)}"
            return option
    return f"{option} URL" if option in VALUE_OPTIONS else option


def _report_usage_error(exc: Any, args: list[str] | None = None) -> int:
    """Print a Typer/click usage error compactly; `llamactl GROUP` alone has printed help."""
    if type(exc).__name__ == "NoArgsIsHelpError":
        return ExitCode.OK
    ctx = getattr(exc, "ctx", None)
    hint = f"see '{ctx.command_path} --help'" if ctx is not None else None
    misplaced = getattr(exc, "option_name", None)
    if misplaced in GLOBAL_OPTIONS and ctx is not None and ctx.parent is not None:
        given = _global_option_as_given(misplaced, args or [])
        path = ctx.command_path.split(" ", 1)[1] if " " in ctx.command_path else ctx.info_name
        hint = (
            f"{misplaced} is a global option: put it before the command, as in 'llamactl {given} {path} ...'"
        )
    elif (
        type(exc).__name__ == "NoSuchOption"
        and misplaced
        and ctx is not None
        and ctx.info_name in ("infer", "rerun")
    ):
        from llamactl.inference.field_names import option_hint

        hint = option_hint(misplaced) or hint
    if _is_negative_request_id(exc, ctx):  # `history show -1`: Click takes it for an option
        message = f"no request {misplaced} in history: request ids are positive numbers"
        hint = "'llamactl history list' shows the recent ones"
    else:
        from llamactl.commands.bad_value import usage_message

        message = usage_message(exc)
    report(Environment(), message, hint)
    return getattr(exc, "exit_code", ExitCode.USAGE)


def _is_negative_request_id(exc: Any, ctx: Any) -> bool:
    import re

    return (
        type(exc).__name__ == "NoSuchOption"
        and re.fullmatch(r"-[0-9]+", getattr(exc, "option_name", None) or "") is not None
        and ctx is not None
        and ctx.parent is not None
        and ctx.parent.info_name == "history"
        and ctx.info_name in ("show", "rerun", "rm")
    )


class HelpPipeClosed(Exception):
    """The reader of piped help went away. Not an OSError, which click would turn into exit 1."""


class _TrailingSpaceTrimmer:
    """A file for Rich's help console in a pipe: each line without the spaces that pad it
    to the console's width (Rich writes whole lines in one write)."""

    def __init__(self, stream: Any):
        self.stream = stream

    def write(self, text: str) -> int:
        import re

        try:
            return self.stream.write(re.sub(r"[ \t]+(?=\n|$)", "", text))
        except BrokenPipeError:
            raise HelpPipeClosed() from None

    def flush(self) -> None:
        try:
            self.stream.flush()
        except BrokenPipeError:
            raise HelpPipeClosed() from None

    def isatty(self) -> bool:
        return False


def _trim_help_when_shown() -> None:
    """Trim piped help, patching Typer's help console only when help is formatted, so runs
    that show none never import Rich."""
    from typer.core import TyperCommand
    from typer.core import TyperGroup as Group

    for cls in (TyperCommand, Group):
        original = cls.format_help
        if getattr(original, "trims", False):
            continue

        def format_help(self: Any, ctx: Any, formatter: Any, _original: Any = original) -> Any:
            _trim_piped_help()
            return _original(self, ctx, formatter)

        format_help.trims = True  # type: ignore[attr-defined]
        cls.format_help = format_help  # type: ignore[method-assign]


def _trim_piped_help() -> None:
    """Make Typer's help console write through a _TrailingSpaceTrimmer (its help is the only
    output that does not go through the sink)."""
    import sys

    from typer import rich_utils

    make_console = rich_utils._get_rich_console
    if getattr(make_console, "trims", False):
        return

    def console(stderr: bool = False) -> Any:
        made = make_console(stderr=stderr)
        if not stderr:
            made.file = cast(IO[str], _TrailingSpaceTrimmer(sys.stdout))
        return made

    console.trims = True  # type: ignore[attr-defined]
    rich_utils._get_rich_console = console


def _silence_stdout() -> None:
    """After a broken pipe, point stdout at /dev/null so the interpreter's final flush is quiet."""
    _silence(1)


def _silence(fd: int) -> None:
    """Point stdout (1) or stderr (2) at /dev/null, dropping what its buffer still holds, so
    that no later write and not the interpreter's final flush fails again."""
    import sys

    stream = sys.stdout if fd == 1 else sys.stderr
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, stream.fileno())
        os.close(devnull)
    except (OSError, ValueError, AttributeError):
        pass


def _show_version(value: bool) -> None:
    if value:
        typer.echo(f"llamactl {__version__}")
        raise typer.Exit()


app = typer.Typer(
    cls=LlamactlGroup,
    **command_help("llamactl"),
    rich_markup_mode="rich",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


root_opts = Declarations("llamactl")
ApiUrl = Annotated[str | None, root_opts.option("--api-url", metavar="URL", panel=CONNECTION_PANEL)]
AllowInsecure = Annotated[bool, root_opts.option("--allow-insecure", panel=CONNECTION_PANEL)]
Debug = Annotated[bool, root_opts.option("--debug")]
ShowVersion = Annotated[bool, root_opts.option("--version", callback=_show_version, is_eager=True)]


@app.callback()
def root(
    ctx: typer.Context,
    api_url: ApiUrl = None,
    allow_insecure: AllowInsecure = False,
    debug: Debug = False,
    version: ShowVersion = False,
) -> None:
    ctx.obj = Environment(
        **_overrides(ctx),
        api_url=refuse_credentials_in(resolve_api_url(api_url, os.environ)),
        allow_insecure=allow_insecure,
        debug=debug,
    )


app.command(**command_help("infer"))(infer)
