"""`infer` on a deprecated model warns as `models info` does: one line on stderr, from the
model list already cached (or fetched for the summary's price during the run), never a
request of its own, and nothing on stdout."""

from __future__ import annotations

import json

import pytest

from tests.emulator import catalogue
from tests.helpers import invoke

DEPRECATED = catalogue.LLAMA_13B_DEPRECATED
WARNING = f"warning: {DEPRECATED} is deprecated; requests go to {catalogue.LLAMA_70B}"


def model_pages(api) -> list[str]:
    return [request.path for request in api.requests if request.method == "GET"]


@pytest.mark.parametrize("args", [[], ["--json"], ["--no-stream"], ["-q"]])
def test_a_cached_deprecated_model_is_warned_of_once_with_no_request_of_its_own(api, args):
    assert invoke(["models", "list"]).exit_code == 0  # the list, cached
    api.requests.clear()
    run = invoke(["infer", "-m", DEPRECATED, *args, "hi"])
    assert run.exit_code == 0, run.stderr
    assert [line for line in run.stderr.splitlines() if line.startswith("warning:")] == [WARNING]
    assert "deprecated" not in run.stdout
    if "--json" in args:
        json.loads(run.stdout)  # stdout is the answer's JSON and nothing else
    assert model_pages(api) == []


def test_a_first_run_warns_from_the_list_fetched_for_its_price(api):
    run = invoke(["infer", "-m", DEPRECATED, "hi"])
    assert run.exit_code == 0, run.stderr
    assert run.stderr.count(WARNING) == 1
    assert model_pages(api) == ["/models/list", "/models/private/list"]  # the price's fetch only


def test_a_model_that_is_not_deprecated_gets_no_warning(api):
    invoke(["models", "list"])
    run = invoke(["infer", "-m", catalogue.LLAMA_70B, "hi"])
    assert run.exit_code == 0 and "warning" not in run.stderr


def test_a_chat_warns_once_for_all_its_turns(api):
    invoke(["models", "list"])
    run = invoke(["chat", "-m", DEPRECATED, "-q"], input="one\ntwo\n")
    assert run.exit_code == 0, run.stderr
    assert run.stderr.count(WARNING) == 1
