"""What several commands share: the request options read into InferOptions, and one request
sent and shown (`infer`, `history rerun`)."""

from __future__ import annotations

from llamactl.api.request import InferenceRequest
from llamactl.commands.infer_options import RequestFlags
from llamactl.env import Environment
from llamactl.inference.prepare import InferOptions


def infer_options(flags: RequestFlags, prompt: str | None = None) -> InferOptions:
    """The InferOptions the flags ask for; -o selectors checked (infer's and rerun's)."""
    from llamactl.inference.selectors import check_target, parse_selector

    options = InferOptions(
        model=flags.model,
        version=flags.version,
        deploy_id=flags.deploy_id,
        inputs=flags.inputs or [],
        prompt=prompt,
        stream=flags.stream,
        json=flags.json_output,
        selectors=[parse_selector(text) for text in flags.selections or []],
        chat=flags.chat,
        system=flags.system,
        api=flags.api,
    )
    if flags.json_output and options.selectors:
        from llamactl.errors import UsageError

        raise UsageError("--json and -o cannot be combined: -o already selects JSON")
    for selector in options.selectors:
        check_target(selector)
    return options


def send(env: Environment, request: InferenceRequest, options: InferOptions, flags: RequestFlags) -> None:
    """Send the request, show what arrives as options ask, then the summary line; with
    --dry-run, print its curl command instead."""
    from llamactl.inference.session import RunSettings, run_request
    from llamactl.output.views import report_outcome, view_for

    out = env.output
    if flags.dry_run:
        out.text(request.curl_command(env.api_url, env.openai_url) + "\n")
        return
    out.quiet = flags.quiet
    view = view_for(out, options.selectors, options.json, markdown=flags.markdown)
    out.start_spinner("waiting for the first token" if request.stream else "waiting for the answer")
    try:
        outcome = run_request(
            env,
            request,
            view,
            RunSettings(**flags.run_settings()),
        )
    finally:
        out.stop_spinner()
        view.finish()
    report_outcome(out, outcome)
