"""`infer --chat`, `-c/--continue` and `--cid`: one turn of a conversation from the shell.

The user's text comes from PROMPT, stdin and `-i` exactly as for any infer (the same
prepare_request), and is then sent with the whole conversation before it."""

from __future__ import annotations

from dataclasses import dataclass

from llamactl.chat.conversation import DEFAULT_CHAT_API, Conversation, check_api, choose_target
from llamactl.env import Environment
from llamactl.errors import UsageError
from llamactl.inference.prepare import InferOptions
from llamactl.plain import replace


@dataclass(frozen=True)
class ChatChoice:
    """Which conversation a turn goes to: a new one, the latest, or a given id."""

    continue_latest: bool = False
    conversation_id: int | None = None
    api: str | None = None

    @property
    def continues(self) -> bool:
        return self.continue_latest or self.conversation_id is not None


def check_choice(choice: ChatChoice, options: InferOptions) -> None:
    if choice.continue_latest and choice.conversation_id is not None:
        raise UsageError("-c/--continue and --cid both choose the conversation: give one of them")
    check_api(choice.api)
    from llamactl.inference.inputs import not_utf8

    problem = options.system and not_utf8(options.system)  # prepare_request never sees it
    if problem:
        raise UsageError(f"--system: {problem}", hint="check the terminal's or the script's encoding")


def turn_input(env: Environment, options: InferOptions, target, api: str, dry_run: bool) -> tuple[str, dict]:
    """The user's text (PROMPT, stdin, -i input as for any infer) and the other -i fields,
    typed, checked and warned about by infer's own prepare_request for the turn's API; the
    turn builds its body from them with the whole conversation."""
    from llamactl.inference.prepare import prepare_request

    if any(item.split("=", 1)[0] == "messages" for item in options.inputs):
        raise UsageError("-i messages cannot be set on a chat turn: its messages are the conversation's")
    as_typed = replace(
        options,
        model=target.model,
        version=target.version,
        deploy_id=target.deploy_id,
        chat=False,
        system=None,
        api=api,
    )
    request = prepare_request(
        as_typed, env, warn=env.output.warn, fetch_schema=not dry_run, info=env.output.info
    )
    fields = dict(request.fields)
    if api == "openai":  # the input became the one user message: the turn sends the rest
        [message] = fields.pop("messages")
        fields["input"] = message["content"]
    if request.files or not isinstance(fields.get("input"), str):
        raise UsageError("a chat turn needs a text input")
    return fields.pop("input"), fields


def run_single_turn(
    env: Environment,
    options: InferOptions,
    choice: ChatChoice,
    *,
    timeout: float,
    retries: int,
    history: bool,
    dry_run: bool,
) -> None:
    """Send the input as the next turn of the chosen conversation (a new one unless -c or
    --cid), show it as infer would, and say which conversation it went to."""
    from llamactl.api.request import InferenceTarget
    from llamactl.chat.turn import TurnSettings, prepare_turn, send_turn, summary
    from llamactl.history.conversation_log import ConversationLog
    from llamactl.output.views import view_for

    check_choice(choice, options)
    out = env.output
    log = ConversationLog(env, out.warn, enabled=history)
    try:
        conversation = (
            log.load(choice.conversation_id if not choice.continue_latest else None)
            if choice.continues
            else None
        )
        given = InferenceTarget(options.model, options.version, options.deploy_id)
        target = choose_target(env, given, conversation)
        api = choice.api or (conversation.row.api if conversation is not None else DEFAULT_CHAT_API)
        user, fields = turn_input(env, options, target, api, dry_run)
        if conversation is None:
            conversation = Conversation.new(target.model, api, options.system)
        elif options.system is not None:
            conversation.set_system(options.system)
        settings = TurnSettings(api, fields, timeout, retries, target.version, target.deploy_id)
        if dry_run:
            out.text(
                prepare_turn(conversation, user, target.model, settings)[1].curl_command(env.api_url) + "\n"
            )
            return
        view = view_for(out, options.selectors, options.json)
        _turn, outcome = send_turn(env, conversation, log, user, target.model, settings, view)
        out.info(summary(outcome, conversation))
    finally:
        log.close()
