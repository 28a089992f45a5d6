"""One chat turn, from the user's text to its answer in the conversation and in history:
what `infer -c` does once and the REPL does for every line."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from llamactl.chat.conversation import Conversation, Turn, turn_request
from llamactl.env import Environment
from llamactl.history.conversation_log import ConversationLog
from llamactl.inference.run import InferenceOutcome, View


@dataclass
class TurnSettings:
    """How every turn of a session is sent: the API, the -i fields (checked once), and
    infer's Request options."""

    api: str
    fields: dict[str, Any] = field(default_factory=dict)
    timeout: float = 0
    retries: int = 0
    version: str | None = None  # infer --version: every turn to that version of the model
    deploy_id: str | None = None  # infer -d: every turn to that deployment (no model)


def fill_turn(turn: Turn, outcome: InferenceOutcome) -> None:
    """The turn as it ended: its answer as far as it went, its status and figures."""
    turn.answer = outcome.results[0] if outcome.results else ""
    turn.status = outcome.status
    turn.tokens_in, turn.tokens_out = outcome.tokens_in, outcome.tokens_out
    turn.cost, turn.cost_estimated = outcome.cost, outcome.cost_estimated


def prepare_turn(
    conversation: Conversation,
    user: str,
    model: str | None,
    settings: TurnSettings,
    retry_of: int | None = None,
):
    """The turn and its request (nothing sent): the whole message list on the chosen API."""
    from llamactl.api.request import InferenceTarget

    turn = conversation.next_turn(user, model, retry_of)
    turn.version, turn.deploy_id = settings.version, settings.deploy_id
    target = InferenceTarget(model, settings.version, settings.deploy_id)
    return turn, turn_request(settings.api, target, conversation.messages(turn), settings.fields)


def send_turn(
    env: Environment,
    conversation: Conversation,
    log: ConversationLog,
    user: str,
    model: str | None,
    settings: TurnSettings,
    view: View,
    retry_of: int | None = None,
) -> tuple[Turn, InferenceOutcome]:
    """Send one turn and show it through `view`. The turn joins the conversation (and
    history) whatever became of it once sent: interrupted, cut short or failed, it is
    kept as it was, and the next turn goes on from there. Errors are raised after that."""
    from llamactl.inference.session import RunSettings, run_request

    log.catch_up(conversation)
    turn, request = prepare_turn(conversation, user, model, settings, retry_of)
    save = log.recorder(conversation, turn)

    def record(outcome: InferenceOutcome) -> None:
        fill_turn(turn, outcome)
        conversation.add(turn)
        if save is not None:
            save(outcome)

    try:
        outcome = run_request(
            env,
            request,
            view,
            RunSettings(timeout=settings.timeout, retries=settings.retries),
            record=record,
        )
    finally:
        finish = getattr(view, "finish", None)
        if finish is not None:
            finish()
    return turn, outcome


def summary(outcome: InferenceOutcome, conversation: Conversation) -> str:
    """infer's summary line, and the conversation it went to."""
    from llamactl.output.format import format_summary

    where = f" · conversation {conversation.id}" if conversation.id is not None else ""
    return format_summary(outcome) + where
