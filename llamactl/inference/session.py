"""One request from a command to its outcome: the client, the token, cost estimate, history
and the "did you mean" for an unknown model — what `infer` and `history rerun` share.

The view (what is shown as things arrive) comes from the caller, so this layer never
decides how anything is presented.
"""

from __future__ import annotations

from dataclasses import dataclass

from llamactl.api.request import InferenceRequest
from llamactl.env import Environment
from llamactl.inference.run import InferenceOutcome, View


@dataclass(frozen=True)
class RunSettings:
    """How a request is sent and kept: infer's Request options."""

    timeout: float
    retries: int
    history: bool = True


def run_request(env: Environment, request: InferenceRequest, view: View, settings: RunSettings) -> InferenceOutcome:
    """Send `request`, hand what arrives to `view`, record the outcome, and return it."""
    from llamactl.api.client import ApiClient
    from llamactl.api.retry import RetryPolicy
    from llamactl.auth.credentials import require_token
    from llamactl.catalogue.names import suggest_known_models
    from llamactl.catalogue.pricing import cost_estimator
    from llamactl.history.recording import recorder_for
    from llamactl.inference.run import run_inference

    out = env.output
    client = ApiClient(env, require_token(env, warn=out.warn), timeout=settings.timeout,
                       retry=RetryPolicy(retries=settings.retries), notify=out.info, trace=out.tracer)
    with suggest_known_models(env, request.target.model, request.target.version):
        return run_inference(client, request, view, estimate_cost=cost_estimator(env),
                             record=recorder_for(env, out.warn, enabled=settings.history))
