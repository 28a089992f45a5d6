"""`llamactl infer`: run a model on a prompt."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from llamactl.env import Environment
from llamactl.catalogue.names import complete_model_name

# Help paragraphs are single lines: Typer's Rich help keeps every line break it is given.
# The epilog keeps its own, each line within 80 columns; it starts with a newline because
# Typer dedents help like a docstring, which would strip its indent. Brackets are Rich
# markup: write a literal one as \\[.
HELP = (
    "Run a model on a prompt and stream the answer to stdout.\n\n"
    "The prompt is PROMPT, -i input=..., or piped stdin; with both stdin and PROMPT the input "
    "is stdin, a blank line, then PROMPT. Stdin is read only from a pipe or a file, never a "
    "terminal. Stdout carries the generated text and nothing else; one summary line (tokens, "
    "time, cost, request id) goes to stderr. Every request is recorded in history. With "
    "--batch, each line of a file is one request."
)
EPILOG = """
Examples:
  # in a terminal: the answer streams in, a summary line follows on stderr
  llamactl infer -m meta-llama/Llama-2-70b-chat-hf "Write a haiku"
  # in a pipeline: stdin, a blank line, then the prompt
  git diff | llamactl infer -m meta-llama/Llama-2-70b-chat-hf "review this"
  # in CI: the API's JSON, saved for the next step
  llamactl infer -m meta-llama/Llama-2-70b-chat-hf --json "Hi" > answer.json
  # a batch: one request a line, one JSON result a line, in order
  llamactl infer -m meta-llama/Llama-2-70b-chat-hf --batch prompts.jsonl
"""

MODEL_PANEL = "Model"
INPUT_PANEL = "Input"
OUTPUT_PANEL = "Output"
REQUEST_PANEL = "Request"
BATCH_PANEL = "Batch"


def infer(
    ctx: typer.Context,
    prompt: Annotated[Optional[str], typer.Argument(metavar="PROMPT", help="The prompt. Piped stdin comes first, then a blank line, then PROMPT.", show_default=False)] = None,
    model: Annotated[Optional[str], typer.Option("-m", "--model", metavar="MODEL", help="Model name, e.g. meta-llama/Llama-2-70b-chat-hf.", autocompletion=complete_model_name, rich_help_panel=MODEL_PANEL, show_default=False)] = None,
    version: Annotated[Optional[str], typer.Option("--version", metavar="V", help="Pin a model version (see 'models versions').", rich_help_panel=MODEL_PANEL, show_default=False)] = None,
    deploy_id: Annotated[Optional[str], typer.Option("-d", "--deploy-id", metavar="ID", help="Run a deployment instead of a model.", rich_help_panel=MODEL_PANEL, show_default=False)] = None,
    inputs: Annotated[Optional[list[str]], typer.Option("-i", "--input", metavar="KEY=VALUE", help="Request field, repeatable: -i max_new_tokens=200 -i temperature=0.7 -i stop=X. @path reads a file, @- stdin.", rich_help_panel=INPUT_PANEL, show_default=False)] = None,
    chat: Annotated[bool, typer.Option("--chat", help="Wrap the input in Llama 2's chat format (\\[INST] ... \\[/INST]), so a chat model answers it instead of continuing it.", rich_help_panel=INPUT_PANEL)] = False,
    system: Annotated[Optional[str], typer.Option("--system", metavar="TEXT", help="A system prompt for the chat format (implies --chat).", rich_help_panel=INPUT_PANEL, show_default=False)] = None,
    stream: Annotated[Optional[bool], typer.Option("--stream/--no-stream", help="Stream tokens as they are generated (default for text output).", rich_help_panel=OUTPUT_PANEL, show_default=False)] = None,
    json_output: Annotated[bool, typer.Option("--json", help="Print the API's JSON response (NDJSON events with --stream).", rich_help_panel=OUTPUT_PANEL)] = False,
    selections: Annotated[Optional[list[str]], typer.Option("-o", metavar="PATH=TARGET", help="Write part of the response to a file, or - for stdout, as deepctl: -o results.0.generated_text=-. {IDX} in PATH and TARGET stands for each array index.", rich_help_panel=OUTPUT_PANEL, show_default=False)] = None,
    quiet: Annotated[bool, typer.Option("-q", "--quiet", help="No summary line on stderr.", rich_help_panel=OUTPUT_PANEL)] = False,
    timeout: Annotated[float, typer.Option("--timeout", metavar="SECONDS", min=0.1, help="Longest wait for the next byte from the API.", rich_help_panel=REQUEST_PANEL)] = 600.0,
    retries: Annotated[int, typer.Option("--retries", metavar="N", min=0, help="Retries after 429/502/503/504 or a failed connection (0 disables).", rich_help_panel=REQUEST_PANEL)] = 2,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Print the equivalent curl command and send nothing.", rich_help_panel=REQUEST_PANEL)] = False,
    no_history: Annotated[bool, typer.Option("--no-history", help="Do not record this request in history \\[env: LLAMACTL_NO_HISTORY=1].", rich_help_panel=REQUEST_PANEL)] = False,
    batch: Annotated[Optional[str], typer.Option("--batch", metavar="FILE|-", help="Run every line of FILE (- for stdin): a JSON string (the prompt) or a JSON object of request fields over the -i defaults. One JSON result a line, in input order.", rich_help_panel=BATCH_PANEL, show_default=False)] = None,
    batch_format: Annotated[Optional[str], typer.Option("--batch-format", metavar="jsonl|lines", help="lines: each line is one plain prompt. \\[default: jsonl]", rich_help_panel=BATCH_PANEL, show_default=False)] = None,
    concurrency: Annotated[Optional[int], typer.Option("--concurrency", metavar="N", min=1, max=64, help="Requests in flight at once. \\[default: 4]", rich_help_panel=BATCH_PANEL, show_default=False)] = None,
    output: Annotated[Optional[str], typer.Option("--output", metavar="FILE", help="Write the results to FILE instead of stdout; running again with the same FILE sends only the lines not done yet.", rich_help_panel=BATCH_PANEL, show_default=False)] = None,
    max_cost: Annotated[Optional[float], typer.Option("--max-cost", metavar="DOLLARS", help="Stop sending once the batch has cost this much (server-reported or estimated).", rich_help_panel=BATCH_PANEL, show_default=False)] = None,
) -> None:
    """`llamactl infer`; its help is HELP and EPILOG."""
    from llamactl.inference.prepare import InferOptions, prepare_request
    from llamactl.inference.selectors import check_target, parse_selector

    env: Environment = ctx.obj
    if batch is not None:
        from llamactl.batch.run import run_batch
        from llamactl.batch.settings import BatchSettings, refuse_single_flags

        refuse_single_flags(prompt=prompt, stream=stream, json=json_output, selections=selections, dry_run=dry_run)
        settings = BatchSettings.from_flags(
            batch, batch_format=batch_format, concurrency=concurrency, output=output, max_cost=max_cost,
            quiet=quiet, timeout=timeout, retries=retries, history=not no_history)
        options = InferOptions(model=model, version=version, deploy_id=deploy_id, inputs=inputs or [],
                               chat=chat, system=system)
        run_batch(env, options, settings)
        return
    if any(value is not None for value in (batch_format, concurrency, output, max_cost)):
        from llamactl.errors import UsageError

        raise UsageError("--batch-format, --concurrency, --output and --max-cost need --batch FILE")
    options = InferOptions(
        model=model, version=version, deploy_id=deploy_id, inputs=inputs or [],
        prompt=prompt, stream=stream, json=json_output,
        selectors=[parse_selector(text) for text in selections or []], chat=chat, system=system,
    )
    if json_output and options.selectors:
        from llamactl.errors import UsageError

        raise UsageError("--json and -o cannot be combined: -o already selects JSON")
    for selector in options.selectors:
        check_target(selector)
    request = prepare_request(options, env)
    if dry_run:
        from llamactl.output.streams import write_flushed

        write_flushed(env.stdout, request.curl_command(env.api_url) + "\n")
        return
    run(env, request, options, quiet=quiet, timeout=timeout, retries=retries, history=not no_history)


def run(env: Environment, request, options, quiet: bool, timeout: float, retries: int, history: bool) -> None:
    from llamactl.api.client import ApiClient
    from llamactl.auth.credentials import require_token
    from llamactl.history.recording import recorder_for
    from llamactl.inference.run import format_summary, run_inference
    from llamactl.catalogue.names import suggest_known_models
    from llamactl.output.streams import Messages
    from llamactl.catalogue.pricing import cost_estimator
    from llamactl.output.views import JsonView, SelectorView, TextView

    messages = Messages(env, quiet=quiet)
    from llamactl.api.retry import RetryPolicy

    client = ApiClient(env, require_token(env), timeout=timeout,
                       retry=RetryPolicy(retries=retries), notify=messages.info)
    if options.selectors:
        view = SelectorView(env, options.selectors)
    elif options.json:
        view = JsonView(env)
    else:
        view = TextView(env)
    try:
        with suggest_known_models(env, request.target.model, request.target.version):
            outcome = run_inference(
                client, request, view,
                estimate_cost=cost_estimator(env),
                record=recorder_for(env, messages, enabled=history),
            )
    finally:
        view.finish()
    if outcome.status == "queued":
        webhook = request.fields.get("webhook")
        messages.info(f"queued as request {outcome.request_id or 'n/a'}: the result will be POSTed to {webhook}")
        return
    if needs_fresh_line(env, outcome, options):
        messages.info("")  # `| tee` shows stdout and stderr on one screen: start the summary on its own line
    messages.info(format_summary(outcome))


def needs_fresh_line(env: Environment, outcome, options) -> bool:
    """stdout is a pipe that may end on the same screen as stderr, mid-line."""
    text_output = not (options.json or options.selectors)
    texts = outcome.results
    return (text_output and env.stderr_isatty and not env.stdout_isatty
            and bool(texts) and not texts[-1].endswith("\n"))
