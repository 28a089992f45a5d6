"""The OpenAI-compatible endpoints (deepinfra-api.md §5): chat completions and completions,
streamed (usage on the finish chunk, then `[DONE]`) or not, and the model list.  They
answer at `/v1/openai/...` and at `/v1/...`."""

from __future__ import annotations

import json
import time

from .. import catalogue, responses, textgen
from ..routing import Route


def chat_completions(exchange) -> None:
    _complete(exchange, chat=True)


def completions(exchange) -> None:
    _complete(exchange, chat=False)


def models(exchange) -> None:
    exchange.send_json(200, responses.openai_models())


def _complete(exchange, chat: bool) -> None:
    if not exchange.authorized():
        return
    params = exchange.params()
    if params is None:
        return
    for required in ("model", "messages" if chat else "prompt"):
        if required not in params:
            return exchange.reject(required)
    name = str(params["model"])
    model = catalogue.find_model(_model_name(name), include_private=True)
    if model is None or model["type"] != "text-generation":
        return exchange.send_error(404, f"The model `{name}` does not exist", "error_message")
    model = catalogue.serving_model(model)
    behavior = exchange.behavior
    stream = bool(params.get("stream"))
    count = 1 if stream else max(1, int(params.get("n") or 1))
    gens = [
        textgen.generate(
            _generation_params(params, chat), reply=behavior.reply, tokens=behavior.tokens, variant=i
        )
        for i in range(count)
    ]
    cid = ("chatcmpl-" if chat else "cmpl-") + responses.request_id()[1:11]
    created = int(time.time())
    if stream:
        chunks = responses.openai_chunks(
            chat, cid, created, name, model, gens[0], final_event=behavior.final_event
        )
        return exchange.stream(chunks, done=behavior.final_event)
    exchange.send_json(200, responses.openai_response(chat, cid, created, name, model, gens))


def _model_name(name: str) -> str:
    """The catalogue name of `NAME`, `NAME:VERSION` or `deploy_id:DEPLOY_ID` (§5)."""
    if name.startswith("deploy_id:"):
        return catalogue.DEPLOYMENTS.get(name[len("deploy_id:") :], "")
    return name.split(":", 1)[0]


def _generation_params(params: dict, chat: bool) -> dict:
    """The native text-generation fields an OpenAI request amounts to."""
    if chat:
        prompt = textgen.llama2_prompt(list(params["messages"] or []))
    else:
        prompt = params["prompt"] if isinstance(params["prompt"], str) else json.dumps(params["prompt"])
    stop = params.get("stop") or []
    gen_params = {"input": prompt, "stop": [stop] if isinstance(stop, str) else stop}
    if isinstance(params.get("max_tokens"), int):
        gen_params["max_new_tokens"] = params["max_tokens"]
    return gen_params


ROUTES = tuple(
    Route(method, prefix + path, handle, inference=method == "POST", openai=method == "POST")
    for prefix in ("/v1/openai", "/v1")
    for method, path, handle in (
        ("POST", "/chat/completions", chat_completions),
        ("POST", "/completions", completions),
        ("GET", "/models", models),
    )
)
