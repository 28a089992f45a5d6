"""`llamactl chat`: a conversation, turn after turn, on a terminal or from a pipe.

On a terminal each message is read with line editing (chat/line_input.py), the answer
streams through the same view as infer's (so the Markdown renderer reaches chat when it
reaches infer), and a summary with the conversation's running totals follows on stderr.
Ctrl-C stops the answer (what arrived stays in the conversation, marked interrupted) and
returns to the prompt; Ctrl-D or /exit ends the session.

From a pipe each line is one message, answered on stdout with the answer's text only; a
line that starts with `/` is the same in-chat command as on a terminal, and what it shows
goes to stderr, so stdout keeps only the answers.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from llamactl.chat.conversation import (
    ANSWERED,
    Conversation,
    Total,
    Totals,
    Turn,
    check_turns_can_go,
    choose_model,
)
from llamactl.chat.turn import TurnSettings, send_turn, summary
from llamactl.env import Environment
from llamactl.errors import LlamactlError, UsageError
from llamactl.history.conversation_log import ConversationLog
from llamactl.inference.inputs import not_utf8
from llamactl.output.format import cost_text, count_text

RESUME_TURNS = 3  # the turns shown when a conversation is resumed
COMMANDS = {
    "/help": "this list",
    "/system [TEXT]": "show the system prompt, or set it from the next turn on (/system - clears it)",
    "/model [MODEL]": "show the model, or switch to MODEL from the next turn on",
    "/retry": "ask for the last answer again (it replaces the last turn)",
    "/save FILE": "write the last answer to FILE",
    "/cost": "the conversation's turns, tokens and cost so far",
    "/reset": "start a new conversation (same model, API and system prompt)",
    "/exit": "end the session (Ctrl-D too)",
}
HELP_FOOTER = (
    'Several lines: end a line with \\ to go on, or type """ on a line of its own, the text, then """ again.\n'
    "To send a message that starts with /, type // (the first / is dropped)."
)


UNKNOWN_COMMAND_HINT = "/help lists the commands; start a message with // to send one that starts with /"


def is_command(text: str) -> bool:
    """A line that starts with `/` is an in-chat command, unless it starts with `//`."""
    return text.startswith("/") and not text.startswith("//")


def as_message(text: str) -> str:
    """The message a line sends: `//` sends a literal `/` (the first one is dropped)."""
    return text[1:] if text.startswith("//") else text


def totals_text(totals: Totals) -> str:
    """`2 turns (3 requests billed), 30 in / 90 out tokens, $0.000023 so far`: what was
    billed, a figure that some request lacks marked `+` (at least), `?`/`n/a` when none has one."""
    turns = count_text(totals.turns, "turn")
    if totals.requests != totals.turns:
        turns += f" ({count_text(totals.requests, 'request')} billed)"
    tokens_in, tokens_out = figure(totals.tokens_in, "?"), figure(totals.tokens_out, "?")
    cost = figure(totals.cost, "n/a", lambda known: cost_text(known, totals.estimated))
    return f"{turns}, {tokens_in} in / {tokens_out} out tokens, {cost} so far"


def figure(total: Total, unknown: str, shown: Callable[[float], str] = lambda known: str(int(known))) -> str:
    if total.unknown and not total.counted:
        return unknown
    return shown(total.known) + ("+" if total.unknown else "")


def not_utf8_message(message: str) -> UsageError:
    """A message that cannot be sent: no request can carry bytes that are not UTF-8."""
    return UsageError(
        message, hint="check the terminal's or the script's encoding; this message was not sent"
    )


class EndSession(Exception):
    """/exit: the session ends normally."""


@dataclass
class ChatSession:
    env: Environment
    conversation: Conversation
    log: ConversationLog
    settings: TurnSettings
    model: str | None  # None when the turns go to a deployment (settings.deploy_id)
    report: Callable[[LlamactlError], None]  # an error shown as `error: ...`, the session going on

    @property
    def out(self):
        return self.env.output

    # turns

    def turn(self, text: str, retry_of: Turn | None = None) -> Turn:
        """Send one message; its answer streams through infer's own view."""
        from llamactl.output.views import view_for

        view = view_for(self.out, [], False)  # the one line to change for another renderer
        turn, outcome = send_turn(
            self.env,
            self.conversation,
            self.log,
            text,
            self.model,
            self.settings,
            view,
            retry_of=retry_of.id if retry_of is not None else None,
        )
        self.out.info(summary(outcome, self.conversation) + " · " + self.totals())
        return turn

    def totals(self) -> str:
        return totals_text(self.conversation.totals())

    # the terminal

    def interactive(self, lines) -> None:
        """Read, send, show, until Ctrl-D or /exit; a failed or interrupted turn returns to the prompt."""
        from llamactl.signals import Terminated, restore_after_interrupt

        self.greet()
        while True:
            try:
                text = lines.read_message()
            except KeyboardInterrupt:  # Ctrl-C while typing: drop the message
                self.out.end_line_on_stderr()
                continue
            except UnicodeDecodeError:  # a terminal that is not UTF-8 (a strict UTF-8 locale's stdin)
                self.report(not_utf8_message("what was typed is not UTF-8 text"))
                continue
            if text is None:
                self.out.end_line_on_stderr()
                return
            try:
                self.handle(text)
            except EndSession:
                return
            except Terminated:
                raise
            except KeyboardInterrupt:
                restore_after_interrupt()
                self.out.stdout_mid_line = False
                self.out.info("interrupted: what arrived is kept in the conversation, marked interrupted")
            except LlamactlError as exc:
                self.report(exc)

    def greet(self) -> None:
        api = self.settings.api
        where = (
            f"conversation {self.conversation.id}"
            if self.conversation.id is not None
            else "a new conversation"
        )
        self.out.info(f"{where} with {self.target_label} ({api} API) · /help for commands, Ctrl-D to end")
        self.show_last_turns()

    def show_last_turns(self) -> None:
        """A resumed conversation's last turns, so the user sees where it stands."""
        shown = self.conversation.context()[-RESUME_TURNS:]
        if not shown:
            return
        earlier = len(self.conversation.context()) - len(shown)
        if earlier:
            self.out.info(f"… {count_text(earlier, 'earlier turn')}")
        for turn in shown:
            self.out.text(f"> {turn.user}\n")
            self.out.text(turn.answer + ("" if turn.answer.endswith("\n") else "\n"))
            if turn.cut_short:
                self.out.info(f"({turn.status})")

    def handle(self, text: str) -> None:
        if not text.strip():
            return
        problem = not_utf8(text)  # bytes that are not UTF-8, read as lone surrogates
        if problem:
            raise not_utf8_message(f"what was typed is {problem}")
        if is_command(text):
            self.command(text)
            return
        self.turn(as_message(text))

    def command(self, text: str) -> None:
        name, _, argument = text.strip().partition(" ")
        argument = argument.strip()
        handler = {
            "/help": self.help,
            "/system": self.system,
            "/model": self.switch_model,
            "/retry": self.retry,
            "/save": self.save,
            "/cost": self.cost,
            "/reset": self.reset,
            "/exit": self.exit,
            "/quit": self.exit,
        }.get(name)
        if handler is None:
            raise UsageError(f"unknown command {name}", hint=UNKNOWN_COMMAND_HINT)
        handler(argument)

    def help(self, _argument: str) -> None:
        width = max(len(name) for name in COMMANDS)
        for name, what in COMMANDS.items():
            self.out.answer(f"{name:<{width}}  {what}")
        self.out.answer(HELP_FOOTER)

    def system(self, argument: str) -> None:
        if argument:
            self.conversation.set_system(None if argument == "-" else argument)
            self.out.info(
                "system prompt cleared" if argument == "-" else "system prompt set for the next turns"
            )
        else:
            self.out.answer(f"system prompt: {self.conversation.system or '(none)'}")

    @property
    def target_label(self) -> str:
        """The model (with @version) or deploy:ID the turns go to."""
        from llamactl.api.request import InferenceTarget

        return InferenceTarget(self.model, self.settings.version, self.settings.deploy_id).label

    def switch_model(self, argument: str) -> None:
        if argument:
            from llamactl.api.request import InferenceTarget

            model = choose_model(self.env, argument, None)  # infer -m's check, an alias expanded
            if self.settings.api == "native" or self.env.custom_openai_url is None:  # DeepInfra's models
                from llamactl.catalogue.names import check_listed_model

                check_listed_model(self.env, model)
            check_turns_can_go(InferenceTarget(model), self.settings.api)
            self.model, self.settings.version, self.settings.deploy_id = model, None, None
            self.out.info(f"model: {self.target_label} from the next turn on")
            return
        self.out.answer(f"model: {self.target_label}")

    def last_turn(self, what: str) -> Turn:
        if not self.conversation.turns:
            raise UsageError(f"no answer yet to {what}")
        return self.conversation.turns[-1]

    def last_answer(self) -> str:
        """The newest answer there is: a turn the API rejected has none to save."""
        for turn in reversed(self.conversation.turns):
            if turn.status in ANSWERED and turn.answer:
                return turn.answer
        raise UsageError("no answer yet to save")

    def retry(self, _argument: str) -> None:
        last = self.last_turn("retry")
        if last.id is None:  # not in history: drop it from the conversation here
            self.conversation.turns.remove(last)
        self.turn(last.user, retry_of=last if last.id is not None else None)

    def save(self, argument: str) -> None:
        from llamactl.errors import local_failure
        from llamactl.files import user_path, write_named_file

        if not argument:
            raise UsageError("/save needs a file name: /save answer.md")
        if "\0" in argument:  # a piped line can hold one; no file name can
            raise UsageError("/save: a file name cannot contain a NUL byte")
        answer = self.last_answer()
        path = user_path(argument)  # ~ as a shell expands it
        try:  # a text file ends with a newline (the contract's rule for infer's text too)
            write_named_file(path, answer if answer.endswith("\n") else answer + "\n")
        except OSError as exc:
            raise local_failure(f"write {path}", exc) from None
        self.out.info(f"saved the last answer to {path}")

    def cost(self, _argument: str) -> None:
        where = (
            f"conversation {self.conversation.id}"
            if self.conversation.id is not None
            else "this conversation"
        )
        self.out.answer(f"{where}: {self.totals()}")

    def reset(self, _argument: str) -> None:
        self.conversation = Conversation.new(self.model, self.conversation.row.api, self.conversation.system)
        self.out.info("a new conversation")

    def exit(self, _argument: str) -> None:
        raise EndSession()

    # a pipe

    def piped(self, stream) -> None:
        """One message per line of `stream`, each answered on stdout in turn, or a command
        (`/cost`, `/model X`: what it shows goes to stderr, never to the answers on stdout);
        /exit ends the session. The first failure ends it with its exit code (the turns
        before it are kept), a command's mistake with exit 2 and its line number, before
        anything more is sent. Lines are read as bytes and must be UTF-8, as infer's piped
        stdin must (exit 2)."""
        source = getattr(stream, "buffer", None) or stream
        for number, line in enumerate(iter(source.readline, b"" if source is not stream else ""), 1):
            text = line.decode("utf-8", "surrogateescape") if isinstance(line, bytes) else line
            problem = not_utf8(text)
            if problem:
                raise not_utf8_message(f"stdin line {number} is {problem}")
            text = text.rstrip("\r\n")
            if not text.strip():
                continue
            if not is_command(text):
                self.turn(as_message(text))
                continue
            try:
                self.command(text)
            except EndSession:
                return
            except UsageError as exc:
                exc.message = f"stdin line {number}: {exc.message}"
                raise
