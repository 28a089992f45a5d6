"""Native inference, `POST /v1/inference/{model}` and `/v1/inference/deploy/{id}`
(deepinfra-api.md §1, §2, §7): text generation (plain, streamed, or queued for a webhook)
and the other tasks' compact answers."""

from __future__ import annotations

import base64

from .. import catalogue, responses, textgen, wire
from ..routing import Route

PREFIX = "/v1/inference/"


def infer(exchange) -> None:
    if not exchange.authorized():
        return
    target = exchange.request.path[len(PREFIX) :]
    name = catalogue.DEPLOYMENTS.get(target[len("deploy/") :]) if target.startswith("deploy/") else target
    model = catalogue.find_model(name, include_private=True) if name else None
    if model is None:
        return exchange.send_error(404, "Model not found")
    version = exchange.request.query.get("version")
    if version is not None and version not in [v["version"] for v in catalogue.VERSIONS[name]]:
        return exchange.send_error(404, "Model version not found")
    params = exchange.params()
    if params is None:
        return
    model = catalogue.serving_model(model)
    TASKS.get(model["type"], text_to_speech)(exchange, model, params)


def text_generation(exchange, model: dict, params: dict) -> None:
    params, errors = textgen.validate(params)
    if errors:
        return exchange.send_json(422, {"detail": errors})
    behavior = exchange.behavior
    gens = [
        textgen.generate(params, reply=behavior.reply, tokens=behavior.tokens, variant=i)
        for i in range(params.get("num_responses") or 1)
    ]
    rid = responses.request_id()
    if params.get("webhook"):
        failed = behavior.error_after is not None
        payload = responses.failed(rid) if failed else responses.text_generation(model, gens, rid)
        exchange.emulator._send_webhook(params["webhook"], payload, exchange.waits.cancel)
        return exchange.send_json(200, responses.queued(rid))
    if params.get("stream"):
        events = responses.stream_events(gens[0], final_event=behavior.final_event)
        return exchange.stream(events, done=behavior.done, dumps=lambda event: event_json(behavior, event))
    answer = responses.text_generation(model, gens, rid)
    if behavior.cost is not None:  # a buggy server's figure: NaN, infinite, negative
        answer["inference_status"]["cost"] = behavior.cost
    exchange.send_json(200, answer)


def event_json(behavior, event: dict) -> str:
    """A native stream event as the Behavior's `stream_json` writes it (see `Behavior`)."""
    compact = behavior.stream_json == "compact"
    ensure_ascii = not compact if behavior.ensure_ascii is None else behavior.ensure_ascii
    return wire.json_text(event, compact=compact, ensure_ascii=ensure_ascii)


def embeddings(exchange, model: dict, params: dict) -> None:
    inputs = params.get("inputs")
    if not isinstance(inputs, list) or not all(isinstance(t, str) for t in inputs):
        return exchange.reject("inputs")
    exchange.send_json(200, responses.embeddings(model, inputs, responses.request_id()))


def speech_recognition(exchange, model: dict, params: dict) -> None:
    audio = params.get("audio")
    if isinstance(audio, str) and audio.startswith("data:") and "," in audio:
        audio = base64.b64decode(audio.split(",", 1)[1] + "==")
    if not isinstance(audio, bytes):
        return exchange.reject("audio")
    exchange.send_json(200, responses.speech_recognition(model, audio, responses.request_id()))


def text_to_image(exchange, model: dict, params: dict) -> None:
    if not isinstance(params.get("prompt"), str):
        return exchange.reject("prompt")
    exchange.send_json(200, responses.text_to_image(model, params, responses.request_id()))


def text_to_speech(exchange, model: dict, params: dict) -> None:
    if not isinstance(params.get("text"), str):
        return exchange.reject("text")
    exchange.send_json(200, responses.text_to_speech(model, params["text"], responses.request_id()))


# A model's `type` -> what answers it; any other type is text-to-speech.
TASKS = {
    "text-generation": text_generation,
    "embeddings": embeddings,
    "automatic-speech-recognition": speech_recognition,
    "text-to-image": text_to_image,
}

ROUTES = (Route("POST", PREFIX + ".*", infer, inference=True),)
