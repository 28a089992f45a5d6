"""The options of one request, defined once: `infer` and `history rerun` both take them
(`@with_request_options`), with the same names, help, panels and defaults.

Help paragraphs are single lines (Typer's Rich help keeps every line break it is given);
brackets are Rich markup: write a literal one as \\[.

No `from __future__ import annotations` in the modules that define options: their
annotations stay objects, so neither this module nor Typer compiles them from strings on
every run.
"""

import inspect
import math
from collections.abc import Callable
from typing import Annotated, Any, cast, get_type_hints

import typer

from llamactl.api.retry import DEFAULT_RETRIES, DEFAULT_TIMEOUT, MAX_TIMEOUT
from llamactl.catalogue.names import complete_model_name
from llamactl.plain import fields, record

MODEL_PANEL = "Model"
INPUT_PANEL = "Input"
OUTPUT_PANEL = "Output"
REQUEST_PANEL = "Request"
CONVERSATION_PANEL = "Conversation"

Model = Annotated[
    str | None,
    typer.Option(
        "-m",
        "--model",
        metavar="MODEL",
        help="Model name, e.g. meta-llama/Llama-2-70b-chat-hf.",
        autocompletion=complete_model_name,
        rich_help_panel=MODEL_PANEL,
        show_default=False,
    ),
]
Version = Annotated[
    str | None,
    typer.Option(
        "--version",
        metavar="V",
        help="Pin a model version (see 'models versions').",
        rich_help_panel=MODEL_PANEL,
        show_default=False,
    ),
]
DeployId = Annotated[
    str | None,
    typer.Option(
        "-d",
        "--deploy-id",
        metavar="ID",
        help="Run a deployment instead of a model.",
        rich_help_panel=MODEL_PANEL,
        show_default=False,
    ),
]


def complete_api(incomplete: str) -> list[str]:
    return [name for name in ("native", "openai") if name.startswith(incomplete)]


Api = Annotated[
    str | None,
    typer.Option(
        "--api",
        metavar="native|openai",
        help="native: POST /v1/inference/MODEL with a prompt. openai: DeepInfra's OpenAI-compatible chat API (POST /v1/openai/chat/completions, or LLAMACTL_OPENAI_URL's server) with the input as a user message and the server's cost on every stream. \\[default: native]",
        autocompletion=complete_api,
        rich_help_panel=MODEL_PANEL,
        show_default=False,
    ),
]
Inputs = Annotated[
    list[str] | None,
    typer.Option(
        "-i",
        "--input",
        metavar="KEY=VALUE",
        help="Request field, repeatable: -i max_new_tokens=200 -i temperature=0.7 -i stop=X. @path reads a file, @- stdin.",
        rich_help_panel=INPUT_PANEL,
        show_default=False,
    ),
]
Chat = Annotated[
    bool,
    typer.Option(
        "--chat",
        help="Send the input as a chat turn, in the model family's chat format (Llama 2's \\[INST] ... \\[/INST], Llama 3's headers), so a chat model answers it instead of continuing it; infer starts a conversation with it.",
        rich_help_panel=INPUT_PANEL,
    ),
]
System = Annotated[
    str | None,
    typer.Option(
        "--system",
        metavar="TEXT",
        help="A system prompt for the chat turn (implies --chat); with -c or --cid, from this turn on.",
        rich_help_panel=INPUT_PANEL,
        show_default=False,
    ),
]
# Which conversation a chat turn continues: infer's and chat's own options (not RequestFlags:
# `history rerun` sends a recorded request as it was, outside any conversation).
ContinueLatest = Annotated[
    bool,
    typer.Option(
        "-c",
        "--continue",
        help="Continue the most recent conversation: each turn is sent with every turn before it.",
        rich_help_panel=CONVERSATION_PANEL,
    ),
]
ConversationId = Annotated[
    int | None,
    typer.Option(
        "--cid",
        metavar="ID",
        help="Continue conversation ID (each turn's summary line names its conversation).",
        rich_help_panel=CONVERSATION_PANEL,
        show_default=False,
    ),
]
Stream = Annotated[
    bool | None,
    typer.Option(
        "--stream/--no-stream",
        help="Stream tokens as they are generated (default for text output).",
        rich_help_panel=OUTPUT_PANEL,
        show_default=False,
    ),
]
Json = Annotated[
    bool,
    typer.Option(
        "--json",
        help="Print the API's JSON response (NDJSON events with --stream).",
        rich_help_panel=OUTPUT_PANEL,
    ),
]
Selections = Annotated[
    list[str] | None,
    typer.Option(
        "-o",
        metavar="PATH=TARGET",
        help="Write part of the response to a file, or - for stdout, as deepctl: -o results.0.generated_text=-. {IDX} in PATH and TARGET stands for each array index.",
        rich_help_panel=OUTPUT_PANEL,
        show_default=False,
    ),
]
Markdown = Annotated[
    bool,
    typer.Option(
        "--md/--no-md",
        help="On a terminal, render the text as Markdown while it streams (--no-md: plain text). Pipes and files always get the exact text.",
        rich_help_panel=OUTPUT_PANEL,
    ),
]
Quiet = Annotated[
    bool, typer.Option("-q", "--quiet", help="No summary line on stderr.", rich_help_panel=OUTPUT_PANEL)
]


def _a_number(value: float) -> float:
    """NaN passes every range check (each comparison with it is false), and a wait beyond
    MAX_TIMEOUT overflows the clock's arithmetic: refuse both here."""
    if math.isnan(value) or value > MAX_TIMEOUT:
        raise typer.BadParameter(f"expected a number of seconds from 0.1 to {MAX_TIMEOUT:g}, got {value:g}")
    return value


Timeout = Annotated[
    float,
    typer.Option(
        "--timeout",
        metavar="SECONDS",
        min=0.1,
        callback=_a_number,
        help="Longest wait for the next byte from the API.",
        rich_help_panel=REQUEST_PANEL,
    ),
]
MaxTime = Annotated[
    float | None,
    typer.Option(
        "--max-time",
        metavar="SECONDS",
        min=0.1,
        help="Longest time for the whole run, retries included (as curl's): what arrived stays, exit 5.",
        rich_help_panel=REQUEST_PANEL,
        show_default=False,
    ),
]
Retries = Annotated[
    int,
    typer.Option(
        "--retries",
        metavar="N",
        min=0,
        help="Retries after 429/503 or a connection that could not be made (0 disables).",
        rich_help_panel=REQUEST_PANEL,
    ),
]
DryRun = Annotated[
    bool,
    typer.Option(
        "--dry-run", help="Print the equivalent curl command and send nothing.", rich_help_panel=REQUEST_PANEL
    ),
]
NoHistory = Annotated[
    bool,
    typer.Option(
        "--no-history",
        help="Do not record this request in history \\[env: LLAMACTL_NO_HISTORY=1].",
        rich_help_panel=REQUEST_PANEL,
    ),
]


@record
class RequestFlags:
    """The values of the shared options, as a command receives them (field order is the
    order of the options in --help)."""

    model: Model = None
    version: Version = None
    deploy_id: DeployId = None
    api: Api = None
    inputs: Inputs = None
    chat: Chat = False
    system: System = None
    stream: Stream = None
    json_output: Json = False
    selections: Selections = None
    markdown: Markdown = True
    quiet: Quiet = False
    timeout: Timeout = DEFAULT_TIMEOUT
    max_time: MaxTime = None
    retries: Retries = DEFAULT_RETRIES
    dry_run: DryRun = False
    no_history: NoHistory = False


def with_request_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """`command` with the shared options added to its parameters, after its arguments and
    before its own options; it receives their values as one `flags: RequestFlags`."""
    hints = get_type_hints(command, include_extras=True)
    own = [
        parameter.replace(annotation=hints.get(name, parameter.annotation))
        for name, parameter in inspect.signature(command).parameters.items()
        if name != "flags"
    ]
    leading = [parameter for parameter in own if not _is_option(parameter)]
    trailing = [parameter for parameter in own if _is_option(parameter)]
    shared_hints = get_type_hints(RequestFlags, include_extras=True)
    shared = [
        inspect.Parameter(
            item.name,
            inspect.Parameter.KEYWORD_ONLY,
            default=item.default,
            annotation=shared_hints[item.name],
        )
        for item in fields(RequestFlags)
    ]

    def run(**values: Any) -> Any:
        flags = RequestFlags(**{item.name: values.pop(item.name) for item in fields(RequestFlags)})
        return command(**values, flags=flags)

    parameters = [
        parameter.replace(kind=inspect.Parameter.KEYWORD_ONLY) for parameter in (*leading, *shared, *trailing)
    ]
    cast(Any, run).__signature__ = inspect.Signature(parameters)  # what Typer reads the options from
    run.__annotations__ = {parameter.name: parameter.annotation for parameter in parameters}
    run.__name__, run.__qualname__, run.__doc__ = command.__name__, command.__qualname__, command.__doc__
    run.__module__ = command.__module__
    return run


def _is_option(parameter: inspect.Parameter) -> bool:
    return any(
        isinstance(extra, typer.models.OptionInfo)
        for extra in getattr(parameter.annotation, "__metadata__", ())
    )
