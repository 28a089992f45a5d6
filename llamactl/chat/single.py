"""`infer --chat`, `-c/--continue` and `--cid`: one turn of a conversation from the shell.

The user's text comes from PROMPT, stdin and `-i` exactly as for any infer (the same
prepare_request), and is then sent with the whole conversation before it."""

from __future__ import annotations

from dataclasses import dataclass

from llamactl.chat.conversation import DEFAULT_CHAT_API, Conversation, check_api, choose_model
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
    if options.deploy_id or options.version:
        raise UsageError(
            f"{'-d/--deploy-id' if options.deploy_id else '--version'} cannot be used with a conversation",
            hint="conversations name their model: -m MODEL",
        )
    check_api(choice.api)


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
    from llamactl.chat.turn import TurnSettings, prepare_turn, send_turn, summary
    from llamactl.history.conversation_log import ConversationLog
    from llamactl.inference.prepare import prepare_request
    from llamactl.output.views import view_for

    check_choice(choice, options)
    from llamactl.inference.inputs import not_utf8

    problem = options.system and not_utf8(options.system)  # prepare_request below never sees it
    if problem:
        raise UsageError(f"--system: {problem}", hint="check the terminal's or the script's encoding")
    out = env.output
    log = ConversationLog(env, out.warn, enabled=history)
    try:
        conversation = (
            log.load(choice.conversation_id if not choice.continue_latest else None)
            if choice.continues
            else None
        )
        model = choose_model(env, options.model, conversation)
        request = prepare_request(
            replace(
                options, model=model, chat=False, system=None, api=None
            ),  # the input as typed; the turn builds its API's body
            env,
            warn=out.warn,
            fetch_schema=not dry_run,
            info=out.info,
        )
        if request.files or not isinstance(request.fields.get("input"), str):
            raise UsageError("a chat turn needs a text input")
        fields = dict(request.fields)
        user = fields.pop("input")
        if conversation is None:
            conversation = Conversation.new(model, choice.api or DEFAULT_CHAT_API, options.system)
        elif options.system is not None:
            conversation.set_system(options.system)
        settings = TurnSettings(
            api=choice.api or conversation.row.api, fields=fields, timeout=timeout, retries=retries
        )
        if dry_run:
            _turn, turn_request = prepare_turn(conversation, user, model, settings)
            out.text(turn_request.curl_command(env.api_url) + "\n")
            return
        view = view_for(out, options.selectors, options.json)
        _turn, outcome = send_turn(env, conversation, log, user, model, settings, view)
        out.info(summary(outcome, conversation))
    finally:
        log.close()
