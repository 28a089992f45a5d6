"""One request from a command to its outcome: the client, the token, the cost estimate
(the model's pricing fetched alongside the request when it is not cached), history
and the "did you mean" for an unknown model — what `infer` and `history rerun` share.

The view (what is shown as things arrive) comes from the caller, so this layer never
decides how anything is presented.
"""

from __future__ import annotations

from dataclasses import dataclass

from llamactl.api.request import InferenceRequest
from llamactl.env import Environment
from llamactl.inference.run import InferenceOutcome, Recorder, View


@dataclass(frozen=True)
class RunSettings:
    """How a request is sent and kept: infer's Request options."""

    timeout: float
    retries: int
    history: bool = True


def run_request(
    env: Environment,
    request: InferenceRequest,
    view: View,
    settings: RunSettings,
    record: Recorder | None = None,
) -> InferenceOutcome:
    """Send `request`, hand what arrives to `view`, record the outcome (with `record` when
    given: a chat turn's, which knows its conversation), and return it."""
    from llamactl.api.client import ApiClient
    from llamactl.api.retry import RetryPolicy
    from llamactl.auth.credentials import require_token
    from llamactl.catalogue.names import suggest_known_models
    from llamactl.catalogue.pricing import PricingPrefetch, cost_estimator
    from llamactl.history.recording import recorder_for
    from llamactl.inference.run import run_inference

    out = env.output
    token = require_token(env, warn=out.warn)
    client = ApiClient(
        env,
        token,
        timeout=settings.timeout,
        retry=RetryPolicy(retries=settings.retries),
        notify=out.info,
        trace=out.tracer,
    )
    # A stream's final event may carry no cost; a JSON answer has its inference_status.
    prefetch = PricingPrefetch(env, token, request.target.model if request.stream else None)
    from llamactl.errors import Interrupted, LlamactlError

    with suggest_known_models(env, request.target.model, request.target.version):
        try:
            outcome = run_inference(
                client,
                request,
                view,
                estimate_cost=cost_estimator(env, prefetch),
                record=record or recorder_for(env, out.warn, enabled=settings.history),
            )
        except LlamactlError as exc:  # the list fetched meanwhile also names the closest models
            if not isinstance(exc, Interrupted):
                prefetch.wait()
            raise
    prefetch.wait()  # the list reaches the cache for the next run, even when this one had a cost
    return outcome
