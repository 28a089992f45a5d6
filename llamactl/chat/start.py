"""Starting `llamactl chat`: the conversation (new, the latest, or a given one), its model
and API, the -i fields checked once, then the terminal or the pipe."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from llamactl.api.request import InferenceTarget
from llamactl.env import Environment
from llamactl.errors import LlamactlError, UsageError


@dataclass(frozen=True)
class ChatStart:
    """`chat`'s options."""

    target: InferenceTarget = field(default_factory=InferenceTarget)  # -m, --version, -d as given
    api: str | None = None
    system: str | None = None
    continue_latest: bool = False
    conversation_id: int | None = None
    inputs: list[str] = field(default_factory=list)
    timeout: float = 0
    retries: int = 0
    history: bool = True


def turn_fields(env: Environment, items: list[str], api: str) -> dict:
    """The -i fields every turn sends, typed and checked as the turns' API has them (a
    field of the other API gets a warning), before the first prompt. Stdin is the
    conversation's own (a pipe's lines are messages), so `@-` cannot read it."""
    from llamactl.inference.inputs import InputError, field_types, parse_inputs, validate_fields
    from llamactl.inference.prepare import StdinReader, read_path

    try:
        inputs = parse_inputs(items, read_path, StdinReader(env, ignored=True).read_bytes, field_types(api))
        if inputs.files or "input" in inputs.fields or "messages" in inputs.fields:
            raise InputError(
                "chat sends each message as the input: -i input, -i messages and files cannot be set"
            )
        validate_fields(inputs.fields, api)
    except InputError as exc:
        raise UsageError(str(exc)) from None
    if api == "openai":
        from llamactl.inference.field_names import openai_field_warnings

        for line in openai_field_warnings(list(inputs.fields)):
            env.output.warn(line)
    inputs.fields.pop("stream", None)
    return {**inputs.fields, "stream": True}


def run_chat(env: Environment, start: ChatStart, report: Callable[[LlamactlError], None]) -> None:
    from llamactl.chat.conversation import (
        DEFAULT_CHAT_API,
        Conversation,
        check_api,
        check_turns_can_go,
        choose_target,
    )
    from llamactl.chat.repl import ChatSession
    from llamactl.chat.turn import TurnSettings
    from llamactl.history.conversation_log import ConversationLog

    if start.continue_latest and start.conversation_id is not None:
        raise UsageError("-c/--continue and --cid both choose the conversation: give one of them")
    check_api(start.api)
    out = env.output
    log = ConversationLog(env, out.warn, enabled=start.history)
    try:
        continues = start.continue_latest or start.conversation_id is not None
        conversation = log.load(start.conversation_id) if continues else None
        target = choose_target(env, start.target, conversation)  # -c: a deployment too
        model = target.model
        api = start.api or (conversation.row.api if conversation is not None else DEFAULT_CHAT_API)
        check_turns_can_go(target, api)
        if conversation is None:
            conversation = Conversation.new(model, api, start.system)
        elif start.system is not None:
            conversation.set_system(start.system)
        fields = turn_fields(env, start.inputs, api)
        settings = TurnSettings(api, fields, start.timeout, start.retries, target.version, target.deploy_id)
        session = ChatSession(env, conversation, log, settings, model, report)
        if env.stdin_isatty:
            from llamactl.chat.line_input import HISTORY_FILENAME, LineInput

            session.interactive(LineInput(env.state_dir / HISTORY_FILENAME))
        elif env.stdin_readable():
            session.piped(env.stdin)
    finally:
        log.close()
