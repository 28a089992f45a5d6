"""Prices from the model catalogue (deepinfra-api.md §4.2): the estimated cost of a request
whose stream reported none, and the prices `models list` shows.

Catalogue prices are US cents per unit (token, second, ...); costs are US dollars.
Only token prices can be turned into a cost from a request's token counts: a model priced
by run time, audio length or image units has no estimate.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from llamactl.env import Environment
from llamactl.output.format import format_dollars

CENTS_PER_DOLLAR = 100
TOKENS_PER_PRICE_UNIT = 1_000_000  # `models list` shows prices per million tokens


def cents(pricing: dict[str, Any], key: str) -> float | None:
    """A price field as a number of cents, or None when missing or not a usable number."""
    value = pricing.get(key)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value) if math.isfinite(value) and value >= 0 else None


def estimate_cost(pricing: Any, tokens_in: int | None, tokens_out: int | None) -> float | None:
    """USD for `tokens_in` + `tokens_out` under token pricing; None when it cannot be known."""
    if not isinstance(pricing, dict) or tokens_in is None:
        return None
    input_cents = cents(pricing, "cents_per_input_token")
    if input_cents is None:
        return None
    if pricing.get("type") == "input_tokens":
        return tokens_in * input_cents / CENTS_PER_DOLLAR
    output_cents = cents(pricing, "cents_per_output_token")
    if pricing.get("type") != "tokens" or output_cents is None or tokens_out is None:
        return None
    return tokens_in * input_cents / CENTS_PER_DOLLAR + tokens_out * output_cents / CENTS_PER_DOLLAR


PREFETCH_WAIT = 5.0  # seconds an answer's summary waits for a price still being fetched


def needs_fetching(catalogue: Any, model: str) -> bool:
    """No usable price for `model` in the cached list (a CachedCatalogue or None): none, or a
    stale one without it. A fresh list without the model means the name is unknown here;
    fetching again would not help."""
    return catalogue is None or (catalogue.serving_entry(model) is None and catalogue.is_stale())


class PricingPrefetch:
    """The model list (with its prices) fetched and cached in a background thread while the
    request runs, when the cache has no entry for the model: a first run's summary then has
    a cost, and the first token never waits for it. Best effort: a failure costs only the
    estimate, silently."""

    def __init__(self, env: Environment, token: Any, model: str | None, cached: Any):
        """`cached`: the cached list as read before the request (a CachedCatalogue or None)."""
        import threading

        self.thread = None
        self.catalogue: Any = None  # the list fetched, for when the cache cannot be written
        if model and needs_fetching(cached, model):
            self.thread = threading.Thread(
                target=self._fetch, args=(env, token), daemon=True, name="pricing-prefetch"
            )
            self.thread.start()

    def _fetch(self, env: Environment, token: Any) -> None:
        import time

        from llamactl.catalogue.cache import CachedCatalogue, ModelCache, fetch_models

        try:
            raws = fetch_models(env, token, warn=lambda line: None)
            self.catalogue = CachedCatalogue(time.time(), raws)
            ModelCache(env).write(raws)
        except Exception:  # noqa: BLE001 - a helper for the summary must never fail the run
            pass

    def wait(self) -> None:
        if self.thread is not None:
            self.thread.join(PREFETCH_WAIT)


def cost_estimator(
    env: Environment, prefetch: PricingPrefetch | None = None
) -> Callable[[Any], float | None]:
    """A callable giving an InferenceOutcome's estimated cost in USD, or None.

    It reads the cached model list only, once `prefetch` (when given) has filled it, and
    only when called: after an answer whose stream reported no cost.
    """

    def estimate(outcome: Any) -> float | None:
        model = outcome.request.target.model
        if not model:
            return None
        if prefetch is not None:
            prefetch.wait()
        from llamactl.catalogue.cache import ModelCache

        catalogue = ModelCache(env).read() or (prefetch.catalogue if prefetch is not None else None)
        entry = catalogue.serving_entry(model) if catalogue else None
        if entry is None:
            return None
        return estimate_cost(entry.pricing, outcome.tokens_in, outcome.tokens_out)

    return estimate


def price_texts(pricing: Any) -> tuple[str | None, str | None]:
    """(input price, output price) as `models list` shows them: per million tokens for
    token-priced models, per second for time-priced ones; None where there is no price."""
    if not isinstance(pricing, dict):
        return None, None
    kind = pricing.get("type")

    def per_million_tokens(key: str) -> str | None:
        value = cents(pricing, key)
        return (
            None
            if value is None
            else format_dollars(value * TOKENS_PER_PRICE_UNIT / CENTS_PER_DOLLAR, min_decimals=2) + "/Mtoken"
        )

    def per_second(key: str, suffix: str = "") -> str | None:
        value = cents(pricing, key)
        return (
            None
            if value is None
            else format_dollars(value / CENTS_PER_DOLLAR, min_decimals=2) + "/sec" + suffix
        )

    if kind in ("tokens", "input_tokens"):
        return per_million_tokens("cents_per_input_token"), per_million_tokens("cents_per_output_token")
    if kind == "time":
        return per_second("cents_per_sec"), None
    if kind == "uptime":
        return per_second("cents_per_sec", " uptime"), None
    if kind == "input_length":
        return per_second("cents_per_input_sec"), None
    if kind == "output_length":
        return None, per_second("cents_per_output_sec")
    short = pricing.get("short")
    return (short if isinstance(short, str) and short else None), None
