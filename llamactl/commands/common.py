"""What several commands share: one inference request sent and shown (`infer`, `history rerun`)."""

from __future__ import annotations

from llamactl.api.request import InferenceRequest
from llamactl.env import Environment
from llamactl.inference.prepare import InferOptions
from llamactl.inference.session import RunSettings


def run_and_show(env: Environment, request: InferenceRequest, options: InferOptions, quiet: bool,
                 settings: RunSettings) -> None:
    """Send the request, show what arrives as options ask, then the summary line."""
    from llamactl.inference.session import run_request
    from llamactl.output.views import report_outcome, view_for

    out = env.output
    out.quiet = quiet
    view = view_for(out, options.selectors, options.json)
    try:
        outcome = run_request(env, request, view, settings)
    finally:
        view.finish()
    report_outcome(out, outcome)
