"""Requests on the OpenAI-compatible chat API (deepinfra-api.md §5): a list of messages
instead of a templated prompt, sent and recorded through the one run path
(inference/session.run_request) like any native request.

`send_messages` is what a conversation turn calls: the messages so far in, an
InferenceOutcome out (text, tokens, the server's cost, status), exactly as `infer` gets.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from llamactl.api.request import OPENAI, InferenceRequest, InferenceTarget
from llamactl.inference.inputs import InputError, validate_fields

if TYPE_CHECKING:
    from llamactl.env import Environment
    from llamactl.inference.outcome import InferenceOutcome
    from llamactl.inference.run import View
    from llamactl.inference.session import RunSettings

Message = dict[str, Any]


def to_chat_fields(fields: dict[str, Any], system: str | None = None) -> None:
    """Turn infer's fields into the chat API's, in place: the prompt (`input`) becomes the
    last user message after any `-i messages=...`, and `--system` the first message when
    the list has no system message yet."""
    if "model" in fields:
        raise InputError("the model is given with -m (or -d), not as a field", field="model")
    messages: list[Message] = list(fields.pop("messages", None) or [])
    prompt = fields.pop("input", None)
    if isinstance(prompt, str):
        messages.append({"role": "user", "content": prompt})
    if system and not any(message.get("role") == "system" for message in messages):
        messages.insert(0, {"role": "system", "content": system})
    if not messages:
        raise InputError("no input: give a PROMPT, pipe text on stdin, or use -i input=...")
    fields["messages"] = messages


def chat_request(
    target: InferenceTarget,
    messages: list[Message],
    fields: dict[str, Any] | None = None,
    *,
    stream: bool = True,
) -> InferenceRequest:
    """The request that sends `messages` to `target`'s model on the OpenAI chat API, with
    chat fields (`max_tokens`, `temperature`, ...) checked as `-i` would check them."""
    body = {key: value for key, value in (fields or {}).items() if key not in ("messages", "stream")}
    try:
        validate_fields(body, OPENAI)
    except InputError as exc:
        from llamactl.errors import UsageError

        raise UsageError(str(exc)) from None
    body["messages"] = [dict(message) for message in messages]
    if stream:
        body["stream"] = True
    chat_target = InferenceTarget(target.model, target.version, target.deploy_id, api=OPENAI)
    return InferenceRequest(chat_target, body)


def send_messages(
    env: Environment,
    target: InferenceTarget,
    messages: list[Message],
    view: View,
    settings: RunSettings,
    fields: dict[str, Any] | None = None,
    *,
    stream: bool = True,
) -> InferenceOutcome:
    """Send the conversation so far and hand the answer to `view` as it arrives; the
    outcome (recorded in history unless `settings.history` is off) is the native path's."""
    from llamactl.inference.session import run_request

    return run_request(env, chat_request(target, messages, fields, stream=stream), view, settings)
