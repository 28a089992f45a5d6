"""The OpenAI-compatible endpoints (deepinfra-api.md §5): chat completions and completions,
streamed (usage with `estimated_cost` on the finish chunk, then `[DONE]`) or not, and the
model list.  They answer at `/v1/openai/...` and at `/v1/...`.

Under `/local/v1/...` the same routes play a local OpenAI-compatible server (llama.cpp,
vLLM, Ollama): no token needed, any model name, no cost, and usage as OpenAI sends it,
on a chunk of its own after the finish chunk, only when `stream_options.include_usage`
asks for it."""

from __future__ import annotations

import json
import time

from .. import catalogue, responses, textgen
from ..routing import Route
from .native import event_json

LOCAL = "/local/v1"
LOCAL_MODEL = {"model_name": "local", "type": "text-generation", "pricing": None}


def chat_completions(exchange) -> None:
    _complete(exchange, chat=True)


def completions(exchange) -> None:
    _complete(exchange, chat=False)


def models(exchange) -> None:
    exchange.send_json(200, responses.openai_models())


def local_chat_completions(exchange) -> None:
    _complete(exchange, chat=True, local=True)


def _complete(exchange, chat: bool, local: bool = False) -> None:
    if not local and not exchange.authorized():
        return
    params = exchange.params()
    if params is None:
        return
    if chat:
        params, errors = textgen.validate_chat(params)
        if errors:
            return exchange.send_json(422, {"detail": errors})
    for required in ("model", "messages" if chat else "prompt"):
        if required not in params:
            return exchange.reject(required)
    name = str(params["model"])
    model = catalogue.find_model(_model_name(name), include_private=True)
    if local:
        model = model or LOCAL_MODEL
    elif model is None or model["type"] != "text-generation" or not _version_known(name, model):
        return exchange.send_error(404, f"The model `{name}` does not exist", "error_message")
    else:
        model = catalogue.serving_model(model)
    behavior = exchange.behavior
    stream = bool(params.get("stream"))
    options = params.get("stream_options") or {}
    usage = responses.UsageStyle(
        cost=not local,
        separate=local,
        streamed=bool(options.get("include_usage", not local)),
    )
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
            chat, cid, created, name, model, gens[0], final_event=behavior.final_event, usage=usage
        )
        return exchange.stream(
            chunks, done=behavior.final_event, dumps=lambda chunk: event_json(behavior, chunk)
        )
    exchange.send_json(200, responses.openai_response(chat, cid, created, name, model, gens, usage=usage))


def _model_name(name: str) -> str:
    """The catalogue name of `NAME`, `NAME:VERSION` or `deploy_id:DEPLOY_ID` (§5)."""
    if name.startswith("deploy_id:"):
        return catalogue.DEPLOYMENTS.get(name[len("deploy_id:") :], "")
    return name.split(":", 1)[0]


def _version_known(name: str, model: dict) -> bool:
    """`NAME:VERSION` names a version the model has (a plain name or a deployment: no version)."""
    if name.startswith("deploy_id:") or ":" not in name:
        return True
    version = name.split(":", 1)[1]
    return version in [v["version"] for v in catalogue.VERSIONS[model["model_name"]]]


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


ROUTES = (
    *(
        Route(method, prefix + path, handle, inference=method == "POST", openai=method == "POST")
        for prefix in ("/v1/openai", "/v1")
        for method, path, handle in (
            ("POST", "/chat/completions", chat_completions),
            ("POST", "/completions", completions),
            ("GET", "/models", models),
        )
    ),
    Route("POST", LOCAL + "/chat/completions", local_chat_completions, inference=True, openai=True),
    Route("GET", LOCAL + "/models", models),
)
