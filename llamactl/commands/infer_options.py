"""infer's options, declared once: `history rerun` takes the same request options
(`RequestFlags`, expanded by `@with_options`) and `chat` some of them, with the same names,
help, panels and defaults. Their help is in help.md's `## options: infer`.

No `from __future__ import annotations`: see commands/options.py.
"""

from typing import Annotated, Any

from llamactl.api.retry import DEFAULT_RETRIES, DEFAULT_TIMEOUT, MAX_TIMEOUT
from llamactl.catalogue.names import complete_model_name
from llamactl.commands.options import Declarations, seconds_between
from llamactl.plain import record

MODEL_PANEL = "Model"
INPUT_PANEL = "Input"
OUTPUT_PANEL = "Output"
REQUEST_PANEL = "Request"
CONVERSATION_PANEL = "Conversation"
BATCH_PANEL = "Batch"

infer_opts = Declarations("infer")


def complete_api(incomplete: str) -> list[str]:
    return [name for name in ("native", "openai") if name.startswith(incomplete)]


def complete_batch_format(incomplete: str) -> list[str]:
    from llamactl.batch.input import FORMATS

    return [name for name in FORMATS if name.startswith(incomplete)]


Model = Annotated[
    str | None,
    infer_opts.option("-m", "--model", metavar="MODEL", panel=MODEL_PANEL, complete=complete_model_name),
]
Version = Annotated[str | None, infer_opts.option("--version", metavar="V", panel=MODEL_PANEL)]
DeployId = Annotated[str | None, infer_opts.option("-d", "--deploy-id", metavar="ID", panel=MODEL_PANEL)]
Api = Annotated[
    str | None, infer_opts.option("--api", metavar="native|openai", panel=MODEL_PANEL, complete=complete_api)
]
Inputs = Annotated[
    list[str] | None, infer_opts.option("-i", "--input", metavar="KEY=VALUE", panel=INPUT_PANEL)
]
Chat = Annotated[bool, infer_opts.option("--chat", panel=INPUT_PANEL)]
System = Annotated[str | None, infer_opts.option("--system", metavar="TEXT", panel=INPUT_PANEL)]
NoStdin = Annotated[bool, infer_opts.option("--no-stdin", panel=INPUT_PANEL)]
# Which conversation a chat turn continues: infer's and chat's own options (not RequestFlags:
# `history rerun` sends a recorded request as it was, outside any conversation).
ContinueLatest = Annotated[bool, infer_opts.option("-c", "--continue", panel=CONVERSATION_PANEL)]
ConversationId = Annotated[int | None, infer_opts.option("--cid", metavar="ID", panel=CONVERSATION_PANEL)]
Stream = Annotated[bool | None, infer_opts.option("--stream/--no-stream", panel=OUTPUT_PANEL)]
Json = Annotated[bool, infer_opts.option("--json", panel=OUTPUT_PANEL)]
Selections = Annotated[list[str] | None, infer_opts.option("-o", metavar="PATH=TARGET", panel=OUTPUT_PANEL)]
Markdown = Annotated[bool, infer_opts.option("--md/--no-md", panel=OUTPUT_PANEL)]
Quiet = Annotated[bool, infer_opts.option("-q", "--quiet", panel=OUTPUT_PANEL)]
Timeout = Annotated[
    float,
    infer_opts.option(
        "--timeout",
        metavar="SECONDS",
        panel=REQUEST_PANEL,
        min=0.1,
        callback=seconds_between(0.1, MAX_TIMEOUT),
    ),
]
MaxTime = Annotated[
    float | None, infer_opts.option("--max-time", metavar="SECONDS", panel=REQUEST_PANEL, min=0.1)
]
Retries = Annotated[int, infer_opts.option("--retries", metavar="N", panel=REQUEST_PANEL, min=0)]
DryRun = Annotated[bool, infer_opts.option("--dry-run", panel=REQUEST_PANEL)]
NoHistory = Annotated[bool, infer_opts.option("--no-history", panel=REQUEST_PANEL)]
Prompt = Annotated[str | None, infer_opts.argument("PROMPT")]


@record
class BatchFlags:
    """infer's --batch options: FILE, and how its lines are read, run and written (the
    others mean something only with --batch)."""

    source: Annotated[str | None, infer_opts.option("--batch", metavar="FILE|-", panel=BATCH_PANEL)] = None
    batch_format: Annotated[
        str | None,
        infer_opts.option(
            "--batch-format", metavar="jsonl|lines", panel=BATCH_PANEL, complete=complete_batch_format
        ),
    ] = None
    concurrency: Annotated[
        int | None, infer_opts.option("--concurrency", metavar="N", panel=BATCH_PANEL, min=1, max=64)
    ] = None
    output: Annotated[str | None, infer_opts.option("--output", metavar="FILE", panel=BATCH_PANEL)] = None
    max_cost: Annotated[
        float | None, infer_opts.option("--max-cost", metavar="DOLLARS", panel=BATCH_PANEL)
    ] = None

    def given(self) -> list[str]:
        """The options given besides --batch itself, as the user typed them."""
        options = (
            ("--batch-format", self.batch_format),
            ("--concurrency", self.concurrency),
            ("--output", self.output),
            ("--max-cost", self.max_cost),
        )
        return [name for name, value in options if value is not None]


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

    def run_settings(self) -> dict[str, Any]:
        """How long and how often to try, and whether to record: RunSettings' fields (and
        BatchSettings')."""
        return {
            "timeout": self.timeout,
            "retries": self.retries,
            "history": not self.no_history,
            "max_time": self.max_time,
        }
