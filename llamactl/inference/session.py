"""One request from a command to its outcome: the client, the token, the cost estimate
(the model's pricing fetched alongside the request when it is not cached), history
and the "did you mean" for an unknown model — what `infer` and `history rerun` share.

The view (what is shown as things arrive) comes from the caller, so this layer never
decides how anything is presented.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from llamactl.api.request import InferenceRequest
from llamactl.env import Environment
from llamactl.inference.run import InferenceOutcome, Recorder, View
from llamactl.plain import record

if TYPE_CHECKING:
    from llamactl.auth.credentials import ResolvedToken


@record(frozen=True)
class RunSettings:
    """How a request is sent and kept: infer's Request options."""

    timeout: float
    retries: int
    history: bool = True
    max_time: float | None = None


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
    from llamactl.api.deadline import deadline_for
    from llamactl.api.retry import RetryPolicy
    from llamactl.auth.credentials import require_token
    from llamactl.catalogue.names import suggest_known_models
    from llamactl.catalogue.pricing import PricingPrefetch, cost_estimator
    from llamactl.history.recording import recorder_for
    from llamactl.inference.run import run_inference

    out = env.output
    deadline = deadline_for(settings.max_time)
    custom = request.target.openai and env.custom_openai_url is not None
    token = openai_server_token(env, out.warn) if custom else require_token(env, warn=out.warn)
    client = ApiClient(
        env,
        token,
        timeout=settings.timeout,
        retry=RetryPolicy(retries=settings.retries),
        notify=out.info,
        trace=out.tracer,
        deadline=deadline,
    )
    # A stream's final event may carry no cost; a JSON answer has its inference_status.
    # Another OpenAI server's models are not DeepInfra's: no prices, no did-you-mean.
    model = None if custom else request.target.model
    # its prices, and whether it is deprecated: read when this run uses the state directory anyway
    cached = cached_list(env, model) if request.stream or settings.history else None
    warned = warn_if_deprecated(out, cached, model)
    prefetch = PricingPrefetch(env, token, model if request.stream else None, cached)
    from llamactl.errors import Interrupted, LlamactlError

    # a 404's "did you mean" may fetch the list (after the failure, never on the way to an answer)
    with suggest_known_models(env, model, request.target.version, refresh=True):
        try:
            outcome = run_inference(
                client,
                request,
                view,
                estimate_cost=None if custom else cost_estimator(env, prefetch),
                record=record or recorder_for(env, out.warn, enabled=settings.history),
            )
        except LlamactlError as exc:  # the list fetched meanwhile also names the closest models
            if not isinstance(exc, Interrupted):
                prefetch.wait()
            raise
    prefetch.wait()  # the list reaches the cache for the next run, even when this one had a cost
    if not warned:
        warn_if_deprecated(out, prefetch.catalogue, model)  # a first run learns it from the prefetch
    return outcome


def cached_list(env: Environment, model: str | None):
    """The cached model list (a CachedCatalogue) when there is one, for a DeepInfra model;
    None otherwise, without loading the catalogue's modules (start-up: tests/test_imports.py)."""
    if not model:
        return None
    path = env.host_cache("models")  # ModelCache's file, named once
    if not path.is_file():
        return None
    from llamactl.catalogue.cache import read_model_cache

    return read_model_cache(path)


def warn_if_deprecated(out, catalogue, model: str | None) -> bool:
    """One warning line (once a run) when the list at hand says `model` is deprecated."""
    if catalogue is None or not model:
        return False
    from llamactl.catalogue.cache import deprecation_of

    notice = deprecation_of(catalogue, model)
    if notice:
        out.warn_once(notice)
    return notice is not None


def openai_server_token(env: Environment, warn) -> ResolvedToken | None:
    """The token for LLAMACTL_OPENAI_URL's server: DEEPINFRA_TOKEN/DEEPINFRA_API_KEY, else
    the one stored for that server's host (`llamactl --api-url URL auth login`). A
    loopback server (llama.cpp, Ollama, vLLM on this machine) may need none; any other
    server without a token is exit 3, as for the DeepInfra API."""
    from urllib.parse import urlsplit

    from llamactl.auth.credentials import require_token, resolve_token
    from llamactl.env import is_loopback_host
    from llamactl.plain import replace

    parts = urlsplit(env.custom_openai_url or "")
    server = replace(env, api_url=f"{parts.scheme}://{parts.netloc}")
    if is_loopback_host(parts.hostname):
        return resolve_token(server, warn)
    return require_token(server, warn)
