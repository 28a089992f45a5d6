"""Prices and cost estimates: the arithmetic on its own, then `infer`'s summary line and
history against the emulator once `models list` has cached the catalogue."""

from __future__ import annotations

import json
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from llamactl.catalogue.cache import ModelCache
from llamactl.catalogue.pricing import estimate_cost, price_texts
from llamactl.env import Environment
from llamactl.output.format import format_dollars
from tests.emulator import VALID_TOKEN, Behavior, catalogue
from tests.helpers import invoke

MODEL = catalogue.LLAMA_70B
SUMMARY_COST = re.compile(r" · cost (~?)\$([0-9.]+) · ")


# --- the arithmetic -------------------------------------------------------------------------


def test_token_pricing_charges_input_and_output_tokens_in_dollars():
    pricing = {"type": "tokens", "cents_per_input_token": 0.000064, "cents_per_output_token": 0.00008}
    # 1000 tokens in at $0.64/M and 500 out at $0.80/M: $0.00064 + $0.0004
    assert estimate_cost(pricing, 1000, 500) == pytest.approx(0.00104)


def test_input_token_pricing_ignores_the_output():
    pricing = {"type": "input_tokens", "cents_per_input_token": 0.000001}
    assert estimate_cost(pricing, 2_000_000, None) == pytest.approx(0.02)


@pytest.mark.parametrize(
    "pricing",
    [
        {"type": "time", "cents_per_sec": 0.05},
        {"type": "uptime", "cents_per_sec": 0.0333},
        {"type": "input_length", "cents_per_input_sec": 0.0005},
        {"type": "output_length", "cents_per_output_sec": 0.0008},
        {"type": "input_character_length", "cents_per_input_char": 0.00008},
        {"type": "image_units", "cents_per_image_unit": 0.05},
        {"type": "tokens", "cents_per_input_token": 0.000064},
        {"type": "tokens", "cents_per_input_token": "0.000064", "cents_per_output_token": 0.00008},
        {"type": "tokens", "cents_per_input_token": True, "cents_per_output_token": 0.00008},
        {"type": "tokens", "cents_per_input_token": -1, "cents_per_output_token": 0.00008},
        {"cents_per_input_token": 0.000064, "cents_per_output_token": 0.00008},
        None,
        "tokens",
    ],
)
def test_what_tokens_cannot_price_has_no_estimate(pricing):
    assert estimate_cost(pricing, 100, 100) is None


def test_unknown_token_counts_have_no_estimate():
    pricing = {"type": "tokens", "cents_per_input_token": 0.000064, "cents_per_output_token": 0.00008}
    assert estimate_cost(pricing, None, 10) is None
    assert estimate_cost(pricing, 10, None) is None


@given(
    input_cents=st.floats(min_value=0, max_value=1, allow_nan=False),
    output_cents=st.floats(min_value=0, max_value=1, allow_nan=False),
    tokens_in=st.integers(min_value=0, max_value=10**7),
    tokens_out=st.integers(min_value=0, max_value=10**7),
)
def test_a_token_estimate_is_the_sum_of_both_sides(input_cents, output_cents, tokens_in, tokens_out):
    pricing = {"type": "tokens", "cents_per_input_token": input_cents, "cents_per_output_token": output_cents}
    both = estimate_cost(pricing, tokens_in, tokens_out)
    only_in = estimate_cost(pricing, tokens_in, 0)
    only_out = estimate_cost(pricing, 0, tokens_out)
    assert both >= 0
    assert both == pytest.approx(only_in + only_out)
    assert estimate_cost(pricing, tokens_in + 1, tokens_out) >= both


@pytest.mark.parametrize(
    "amount, text",
    [
        (0.64, "$0.64"),
        (0.8, "$0.80"),
        (5, "$5.00"),
        (0.0005, "$0.0005"),
        (0.000333, "$0.000333"),
        (0.6400000000000001, "$0.64"),
    ],
)
def test_dollars_keep_two_decimals_and_as_many_as_a_small_price_needs(amount, text):
    assert format_dollars(amount, min_decimals=2) == text


@pytest.mark.parametrize(
    "pricing, texts",
    [
        (
            {"type": "tokens", "cents_per_input_token": 0.000064, "cents_per_output_token": 0.00008},
            ("$0.64/Mtoken", "$0.80/Mtoken"),
        ),
        ({"type": "input_tokens", "cents_per_input_token": 0.000001}, ("$0.01/Mtoken", None)),
        ({"type": "time", "cents_per_sec": 0.05}, ("$0.0005/sec", None)),
        ({"type": "uptime", "cents_per_sec": 0.0333}, ("$0.000333/sec uptime", None)),
        ({"type": "input_length", "cents_per_input_sec": 0.0005}, ("$0.000005/sec", None)),
        ({"type": "output_length", "cents_per_output_sec": 0.0008}, (None, "$0.000008/sec")),
        (
            {"type": "image_units", "cents_per_image_unit": 0.05, "short": "$0.0005 / image unit"},
            ("$0.0005 / image unit", None),
        ),
        ({"type": "input_character_length", "cents_per_input_char": 0.00008}, (None, None)),
        ({"type": "tokens", "cents_per_input_token": None}, (None, None)),
        (None, (None, None)),
    ],
)
def test_listed_prices_are_per_million_tokens_or_per_second(pricing, texts):
    assert price_texts(pricing) == texts


# --- estimates in infer's summary line ---------------------------------------------------------


@pytest.fixture
def api(emulator, monkeypatch):
    monkeypatch.setenv("DEEPINFRA_TOKEN", VALID_TOKEN)
    monkeypatch.setenv("DEEPINFRA_HOST", emulator.url)
    return emulator


def summary_cost(stderr: str) -> tuple[bool, float] | None:
    """(estimated?, dollars) from the summary line, None for `cost n/a`."""
    match = SUMMARY_COST.search(stderr.splitlines()[-1])
    return (match.group(1) == "~", float(match.group(2))) if match else None


def cache_catalogue():
    run = invoke(["models", "list"])
    assert run.exit_code == 0, run.stderr


@pytest.mark.parametrize("model", [MODEL, catalogue.MISTRAL_7B, catalogue.PRIVATE_MODEL])
def test_a_stream_without_cost_shows_the_estimate_the_server_would_charge(api, model):
    cache_catalogue()
    reported = invoke(["infer", "-m", model, "--no-stream", "Tell me about llamas"])
    estimated = invoke(["infer", "-m", model, "Tell me about llamas"])
    assert reported.exit_code == estimated.exit_code == 0, reported.stderr + estimated.stderr
    server_says = summary_cost(reported.stderr)
    assert server_says[0] is False
    assert summary_cost(estimated.stderr) == (True, server_says[1])


def test_a_replaced_model_is_estimated_at_its_replacements_prices(api):
    """The deprecated 13B forwards to the 70B, which serves (and charges for) the request."""
    cache_catalogue()
    reported = invoke(["infer", "-m", catalogue.LLAMA_13B_DEPRECATED, "--no-stream", "hi there"])
    estimated = invoke(["infer", "-m", catalogue.LLAMA_13B_DEPRECATED, "hi there"])
    assert summary_cost(estimated.stderr) == (True, summary_cost(reported.stderr)[1])


def test_the_estimate_uses_both_token_counts_of_the_stream(api):
    cache_catalogue()
    api.behave(Behavior(tokens=["a", "b", "c", "d", "e"]))
    run = invoke(["infer", "-m", MODEL, "one two three"])
    assert " 4 in / 6 out tokens" in run.stderr  # 3 words + BOS in; 5 tokens + EOS out
    assert summary_cost(run.stderr) == (True, 0.00000736)  # (4 × 0.000064 + 6 × 0.00008) cents


def test_without_a_cached_catalogue_the_pricing_is_fetched_alongside_and_cached(api):
    """Contract: the summary's cost is never n/a for a model with known pricing."""
    run = invoke(["infer", "-m", MODEL, "hello"])
    assert run.exit_code == 0, run.stderr
    assert " · cost n/a · " not in run.stderr
    assert summary_cost(run.stderr)[0] is True
    assert sorted(request.path for request in api.requests) == sorted(
        [f"/v1/inference/{MODEL}", "/models/list", "/models/private/list"]
    )
    assert ModelCache(Environment(api_url=api.url)).read().serving_entry(MODEL) is not None
    api.requests.clear()
    assert summary_cost(invoke(["infer", "-m", MODEL, "hello"]).stderr)[0] is True
    assert [request.path for request in api.requests] == [f"/v1/inference/{MODEL}"]  # cached now


def test_a_non_streamed_answer_carries_its_cost_and_fetches_no_pricing(api):
    run = invoke(["infer", "-m", MODEL, "--no-stream", "hello"])
    assert summary_cost(run.stderr)[0] is False
    assert [request.path for request in api.requests] == [f"/v1/inference/{MODEL}"]


def test_a_failed_pricing_fetch_costs_only_the_estimate(api):
    api.behave(Behavior(status=404, scope="all"))  # not retried
    api.queue(Behavior())  # the inference answers; the catalogue requests fail
    run = invoke(["infer", "-m", MODEL, "--retries", "0", "hello"])
    assert run.exit_code == 0, run.stderr
    assert " · cost n/a · " in run.stderr and "warning" not in run.stderr


def test_infer_reads_the_cache_without_refreshing_even_a_stale_one(api):
    cache_catalogue()
    cache = ModelCache(Environment(api_url=api.url))
    cache.write(cache.read().raws, now=0)  # fetched in 1970
    api.requests.clear()
    run = invoke(["infer", "-m", MODEL, "hello"])
    assert summary_cost(run.stderr)[0] is True
    assert [request.path for request in api.requests] == [f"/v1/inference/{MODEL}"]


@pytest.mark.parametrize(
    "args",
    [
        ["-m", catalogue.DEDICATED_13B],  # billed by uptime, not tokens
        ["-m", catalogue.NO_PRICING],
        ["-d", "DpLlama70b"],  # a deployment: no model name to price
    ],
)
def test_what_tokens_cannot_price_shows_no_cost(api, args):
    cache_catalogue()
    run = invoke(["infer", *args, "hello"])
    assert run.exit_code == 0, run.stderr
    assert " · cost n/a · " in run.stderr


def test_the_prices_of_another_api_host_do_not_apply(api):
    cache_catalogue()
    api.requests.clear()
    other_host = api.url.replace("127.0.0.1", "localhost")  # the same emulator, by another name
    run = invoke(["--api-url", other_host, "infer", "-m", MODEL, "hello"])
    assert run.exit_code == 0, run.stderr
    assert "/models/list" in [request.path for request in api.requests]  # this host's own prices


def test_a_damaged_cache_means_no_estimate_not_a_failure(api):
    cache_catalogue()
    ModelCache(Environment(api_url=api.url)).path.write_text('{"format": 1, "models": [tru')
    run = invoke(["infer", "-m", MODEL, "hello"])
    assert run.exit_code == 0, run.stderr
    assert summary_cost(run.stderr)[0] is True  # fetched again, and the cache repaired
    assert ModelCache(Environment(api_url=api.url)).read() is not None


def test_history_keeps_whether_the_cost_was_estimated(api):
    cache_catalogue()
    invoke(["infer", "-m", MODEL, "--no-stream", "reported"])
    invoke(["infer", "-m", MODEL, "estimated"])
    records = json.loads(invoke(["history", "list", "--json"]).stdout)
    flags = {record["fields"]["input"]: record["cost_estimated"] for record in records}
    assert flags == {"reported": False, "estimated": True}
    assert all(record["cost"] > 0 for record in records)


class CountingEnvironment(Environment):
    """An Environment that counts how often a host cache's path is made."""

    made = 0

    def host_cache(self, kind):
        CountingEnvironment.made += 1
        return super().host_cache(kind)


def test_infer_names_the_model_cache_once_to_find_it_and_read_it(api):
    from llamactl.inference.session import cached_list

    cache_catalogue()
    CountingEnvironment.made = 0
    env = CountingEnvironment(api_url=api.url)
    assert cached_list(env, MODEL).serving_entry(MODEL) is not None
    assert CountingEnvironment.made == 1
    assert cached_list(env, None) is None and CountingEnvironment.made == 1  # no DeepInfra model: no cache
