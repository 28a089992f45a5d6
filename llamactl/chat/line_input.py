"""What the user types in `llamactl chat` on a terminal: line editing and an input history
kept across sessions (GNU readline or libedit, from the standard library; imported here
only, never on infer's path), and messages of several lines.

Several lines: a line ending in a backslash goes on with the next one, and a line of
three double quotes (`\"\"\"`) opens a block that the next such line closes.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

PROMPT = "> "
CONTINUATION = "… "
BLOCK = '"""'
HISTORY_LENGTH = 1000
HISTORY_FILENAME = "chat_history"


class LineInput:
    """Reads one message at a time; None at the end of input (Ctrl-D). Ctrl-C at the prompt
    raises KeyboardInterrupt, for the caller to drop the message being typed."""

    def __init__(self, history_path: Path | None, read_line: Callable[[str], str] = input):
        self.read_line = read_line
        self.history_path = history_path
        self.readline = _load_readline(history_path)
        self._saved = self.readline.get_current_history_length() if self.readline is not None else 0

    def read_message(self) -> str | None:
        try:
            first = self.read_line(PROMPT)
        except EOFError:
            return None
        if first.strip() == BLOCK:
            message = self._block()
        else:
            lines = [first]
            while lines[-1].endswith("\\"):
                lines[-1] = lines[-1][:-1]
                lines.append(self._more())
            message = "\n".join(lines)
        self._remember()
        return message

    def _more(self) -> str:
        """A continuation line; the end of input ends the message."""
        try:
            return self.read_line(CONTINUATION)
        except EOFError:
            return ""

    def _block(self) -> str:
        lines: list[str] = []
        while True:
            try:
                line = self.read_line(CONTINUATION)
            except EOFError:
                break
            if line.strip() == BLOCK:
                break
            lines.append(line)
        return "\n".join(lines)

    def _remember(self) -> None:
        """Append what was typed since the last message to the history file, so sessions
        side by side each add theirs instead of the last one out overwriting the file."""
        if self.readline is None or self.history_path is None:
            return
        added = self.readline.get_current_history_length() - self._saved
        if added > 0:
            try:
                self.readline.append_history_file(added, str(self.history_path))
            except OSError:
                pass  # a read-only home loses the input history, never the conversation
        self._saved = self.readline.get_current_history_length()


def _load_readline(history_path: Path | None):
    """readline with the saved input history loaded, or None where there is none (Windows)."""
    try:
        import readline
    except ImportError:
        return None
    readline.set_history_length(HISTORY_LENGTH)
    if history_path is not None:
        try:
            if not history_path.exists():
                from llamactl.env import ensure_private_dir

                ensure_private_dir(history_path.parent)
                os.close(os.open(history_path, os.O_WRONLY | os.O_CREAT, 0o600))
            readline.read_history_file(str(history_path))
            if readline.get_current_history_length() > 2 * HISTORY_LENGTH:
                readline.write_history_file(str(history_path))  # trimmed to HISTORY_LENGTH
        except OSError:
            pass
    return readline
