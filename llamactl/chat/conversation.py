"""A conversation in memory: its turns, the message list the next turn sends, and the
request that carries it to the chosen API.

The API is one field of the conversation (`api`, stored with it in history) and one
function here, `turn_request`: everything else (the REPL, `infer -c`, history) is the same
whichever API a turn goes to.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from llamactl.api.request import InferenceRequest, InferenceTarget
from llamactl.env import Environment
from llamactl.errors import UsageError
from llamactl.history.conversations import ConversationRow
from llamactl.inference.chat_template import Message

APIS = ("native", "openai")
# Chat turns go to the OpenAI-compatible API (the whole message list) unless --api native,
# which folds the conversation into the model family's chat template (the contract).
DEFAULT_CHAT_API = "openai"
# Statuses whose answer (whole, or what arrived of it) stays in the conversation.
ANSWERED = ("ok", "interrupted", "incomplete")


@dataclass
class Turn:
    """One exchange: what the user said (and a system prompt set at that turn), the answer
    as it was (marked by its status when it was cut short), and its figures."""

    user: str
    answer: str = ""
    status: str = "ok"
    model: str | None = None
    system: str | None = None
    id: int | None = None
    retry_of: int | None = None
    tokens_in: int | None = None
    tokens_out: int | None = None
    cost: float | None = None
    cost_estimated: bool = False
    version: str | None = None  # the model's version (--version), or
    deploy_id: str | None = None  # the deployment it went to (-d), with no model

    @property
    def own_messages(self) -> list[Message]:
        """What history keeps as this turn's messages: a system prompt set here, its user message."""
        head = [] if self.system is None else [{"role": "system", "content": self.system}]
        return [*head, {"role": "user", "content": self.user}]

    @property
    def billed(self) -> bool:
        """It ran, so it was billed: answered (if only in part), or with figures the API
        reported; a failure before any answer (a 4xx, a network error) was not."""
        reported = (self.tokens_in, self.tokens_out, self.cost) != (None, None, None)
        return self.status in ANSWERED or reported

    @property
    def cut_short(self) -> bool:
        return self.status in ("interrupted", "incomplete")

    @classmethod
    def from_record(cls, record: Any) -> Turn:
        """A turn from its HistoryRecord."""
        user = next((m["content"] for m in reversed(record.messages) if m["role"] == "user"), record.prompt)
        system = next((m["content"] for m in record.messages if m["role"] == "system"), None)
        return cls(
            user=user,
            answer=record.results[0] if record.results else "",
            status=record.status,
            model=record.model,
            system=system,
            id=record.id,
            retry_of=record.retry_of,
            tokens_in=record.tokens_in,
            tokens_out=record.tokens_out,
            cost=record.cost,
            cost_estimated=record.cost_estimated,
            version=record.version,
            deploy_id=record.deploy_id,
        )


@dataclass
class Conversation:
    """A conversation's shared settings (as stored) and its turns so far, oldest first."""

    row: ConversationRow
    turns: list[Turn] = field(default_factory=list)
    system_changed: bool = False  # a system prompt set (/system) that the next turn records
    next_system: str = ""  # that prompt ("" clears it)

    @classmethod
    def new(cls, model: str | None, api: str, system: str | None) -> Conversation:
        import time

        conversation = cls(ConversationRow(None, time.time(), model, api, system or None))
        if system:
            conversation.set_system(system)
        return conversation

    @property
    def id(self) -> int | None:
        return self.row.id

    @property
    def system(self) -> str | None:
        """The system prompt in force: one just set, else the last one a turn set, else
        the conversation's."""
        if self.system_changed:
            return self.next_system or None
        current = self.row.system
        for turn in self.turns:
            if turn.system is not None:
                current = turn.system or None
        return current

    def set_system(self, text: str | None) -> None:
        """A new system prompt from the next turn on (`/system`, `-c --system`); the first
        turn of a new conversation records the conversation's own."""
        self.system_changed, self.next_system = True, text or ""
        if self.id is None and not self.turns:
            self.row.system = text or None

    def next_turn(self, user: str, model: str | None, retry_of: int | None = None) -> Turn:
        """The turn about to be sent, carrying a system prompt set since the last one."""
        return Turn(
            user=user,
            model=model,
            system=self.next_system if self.system_changed else None,
            retry_of=retry_of,
        )

    def context(self, before: Turn | None = None) -> list[Turn]:
        """The turns the next message list holds: answered ones (an interrupted or incomplete
        answer as far as it went), without turns a later /retry replaced."""
        replaced = {turn.retry_of for turn in (*self.turns, *([before] if before else [])) if turn.retry_of}
        return [
            turn
            for turn in self.turns
            if turn.status in ANSWERED and (turn.id is None or turn.id not in replaced) and turn is not before
        ]

    def messages(self, turn: Turn) -> list[Message]:
        """The whole message list for `turn`: the system prompt, every earlier exchange, its
        user message."""
        system = (turn.system or None) if turn.system is not None else self.system
        head: list[Message] = [{"role": "system", "content": system}] if system else []
        for earlier in self.context(before=turn):
            head += [
                {"role": "user", "content": earlier.user},
                {"role": "assistant", "content": earlier.answer},
            ]
        return [*head, {"role": "user", "content": turn.user}]

    def add(self, turn: Turn) -> None:
        """A turn that was sent (whatever became of it)."""
        self.turns.append(turn)
        if turn.system is not None:
            self.system_changed = False

    @property
    def model(self) -> str | None:
        """The model of the latest turn, else the conversation's."""
        for turn in reversed(self.turns):
            if turn.model:
                return turn.model
        return self.row.model

    def latest_target(self) -> InferenceTarget | None:
        """Where the latest turn went: its model and version, or its deployment."""
        for turn in reversed(self.turns):
            if turn.model or turn.deploy_id:
                return InferenceTarget(turn.model, turn.version, turn.deploy_id)
        return None

    def totals(self) -> Totals:
        """What the conversation cost: its turns, and the requests that ran (and were billed),
        with their tokens and cost. A turn /retry replaced ran too; a failed one that the API
        reported nothing for did not (a 4xx, a network failure)."""
        billed = [turn for turn in self.turns if turn.billed]
        return Totals(
            turns=len(self.context()),
            requests=len(billed),
            tokens_in=Total.of(turn.tokens_in for turn in billed),
            tokens_out=Total.of(turn.tokens_out for turn in billed),
            cost=Total.of(turn.cost for turn in billed),
            estimated=any(turn.cost_estimated for turn in billed),
        )


@dataclass(frozen=True)
class Total:
    """A sum over requests, some of whose figures may be unknown (a stream cut before its
    usage came): `known` is the sum of those that are known."""

    known: float
    unknown: int  # how many requests had no figure
    counted: int  # how many had one

    @classmethod
    def of(cls, values) -> Total:
        figures = list(values)
        known = [value for value in figures if value is not None]
        return cls(sum(known), len(figures) - len(known), len(known))


@dataclass(frozen=True)
class Totals:
    turns: int  # in the conversation: answered, not replaced by a /retry
    requests: int  # that ran: those turns, the ones /retry replaced, and any the API reported on
    tokens_in: Total
    tokens_out: Total
    cost: Total
    estimated: bool  # some of the cost is estimated from the model's pricing


def fallback_model(env: Environment) -> str | None:
    """The model when neither -m nor the conversation names one: LLAMACTL_MODEL, else the
    saved `models default` (None when neither is set)."""
    from llamactl.catalogue.model_choice import MODEL_VARIABLE, chosen_model
    from llamactl.config import load_config

    if env.environ.get(MODEL_VARIABLE) or load_config(env).default_model:
        return chosen_model(env, None)
    return None


def choose_model(env: Environment, given: str | None, conversation: Conversation | None) -> str:
    """-m (checked, an alias expanded, as infer's -m), else the conversation's model, else
    the configured default."""
    from llamactl.catalogue.model_choice import chosen_model

    given = chosen_model(env, given) if given else None
    model = given or (conversation.model if conversation is not None else None) or fallback_model(env)
    if not model:
        raise UsageError("no model: give -m MODEL", hint="for example: -m meta-llama/Llama-2-70b-chat-hf")
    from llamactl.inference.prepare import make_target

    make_target(model, None, None)  # the same name check as infer's
    return model


def choose_target(
    env: Environment, given: InferenceTarget, conversation: Conversation | None
) -> InferenceTarget:
    """A turn's model (with --version) or deployment (-d): as given, else where the
    conversation's latest turn went (its version kept unless --version names another),
    else the conversation's or the configured model."""
    from llamactl.inference.prepare import make_target

    if given.model or given.deploy_id:
        model = choose_model(env, given.model, None) if given.model else None
        return make_target(model, given.version, given.deploy_id)
    latest = conversation.latest_target() if conversation is not None else None
    if latest is not None:
        return make_target(latest.model, given.version or latest.version, latest.deploy_id)
    return make_target(choose_model(env, None, conversation), given.version, None)


def check_api(api: str | None) -> str | None:
    if api is not None and api not in APIS:
        raise UsageError(f"--api: expected one of {', '.join(APIS)}, got {api!r}")
    return api


def check_turns_can_go(target: InferenceTarget, api: str) -> None:
    """Before any prompt: the turns can be sent to `target` on this API (on the native one,
    its model's family has a chat template)."""
    if api == "native":
        turn_request(api, target, [{"role": "user", "content": ""}], {})


def turn_request(
    api: str, target: InferenceTarget, messages: list[Message], fields: dict[str, Any]
) -> InferenceRequest:
    """The request of one turn on `api`, with the -i `fields` (already checked) and the
    whole message list: on the OpenAI API to NAME, NAME:VERSION or deploy_id:ID (§5), on
    the native one folded into the model family's chat template (at the versioned URL)."""
    if api == "openai":
        from llamactl.inference.openai_chat import chat_request

        return chat_request(target, messages, fields, stream=bool(fields.get("stream", True)))
    if target.model is None:
        raise UsageError(
            f"-d {target.deploy_id}: on the native API a chat turn is folded into its model family's"
            " chat template, and a deployment id does not say which model it runs",
            hint="drop --api native (the OpenAI-compatible API takes the deployment), or give -m MODEL",
        )
    from llamactl.inference.chat_template import fold

    return InferenceRequest(target, {**fields, "input": fold(target.model, messages)})
