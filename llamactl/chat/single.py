"""`infer --chat`, `-c/--continue` and `--cid`: one turn of a conversation from the shell.

The user's text comes from PROMPT, stdin and `-i` exactly as for any infer (the same
prepare_request), and is then sent with the whole conversation before it."""

from __future__ import annotations

from dataclasses import dataclass, replace

from llamactl.chat.conversation import DEFAULT_CHAT_API, Conversation, check_api, choose_target
from llamactl.env import Environment
from llamactl.errors import UsageError
from llamactl.inference.prepare import InferOptions


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


def turn_input(env: Environment, options: InferOptions, target, dry_run: bool) -> tuple[str, dict]:
    """The user's text (PROMPT, stdin, -i input as for any infer) and the other -i fields,
    checked by infer's own prepare_request; the turn builds its API's body from them."""
    from llamactl.inference.prepare import prepare_request

    as_typed = replace(
        options,
        model=target.model,
        version=target.version,
        deploy_id=target.deploy_id,
        chat=False,
        system=None,
        api=None,
    )
    request = prepare_request(
        as_typed, env, warn=env.output.warn, fetch_schema=not dry_run, info=env.output.info
    )
    if request.files or not isinstance(request.fields.get("input"), str):
        raise UsageError("a chat turn needs a text input")
    fields = dict(request.fields)
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
        user, fields = turn_input(env, options, target, dry_run)
        if conversation is None:
            conversation = Conversation.new(target.model, choice.api or DEFAULT_CHAT_API, options.system)
        elif options.system is not None:
            conversation.set_system(options.system)
        api = choice.api or conversation.row.api
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
