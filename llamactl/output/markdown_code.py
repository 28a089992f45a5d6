"""A fenced code block as terminal rows, line by line: each finished line highlighted once by
the fence's Pygments lexer, the unfinished one shown unhighlighted until its newline.

Highlighting a line costs the lexer's time on that line only: the lexer's state (the stack
of a RegexLexer, most of Pygments' lexers) is carried from one line to the next, so a
multi-line string stays a string however long ago it opened. A lexer of another kind is
given the few lines before as context instead. The unfinished line changes with every
token and lexing it each time would cost more than everything else a token does, so it is
drawn in the code's plain colours and highlighted once, when it is finished (the redraw of
one live line). Rows look as Rich's Syntax draws them: the theme's background with a cell
of padding each side, tabs expanded, long lines folded.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any

from llamactl.output.rows import trimmed

if TYPE_CHECKING:
    from rich.console import Console

    from llamactl.output.rows import Row

CONTEXT_LINES = 8  # lines given as context to a lexer whose state cannot be carried
_lexers: dict[str, Any] = {}


def lexer_for(language: str) -> Any:
    """The language's Pygments lexer (plain text for one Pygments does not know), made once."""
    if language not in _lexers:
        from pygments.lexers import get_lexer_by_name
        from pygments.util import ClassNotFound

        try:
            _lexers[language] = get_lexer_by_name(language, stripnl=False, ensurenl=False)
        except ClassNotFound:
            _lexers[language] = lexer_for("text") if language != "text" else None
    return _lexers[language]


class CodeBlock:
    """The rows of one fenced code block's lines, in the theme `code_theme`."""

    def __init__(self, console: Console, width: int, language: str, code_theme: str):
        from pygments.lexer import RegexLexer
        from pygments.token import Token
        from rich.segment import Segment
        from rich.syntax import Syntax

        self.console = console
        self.inner = max(1, width - 2)
        self.lexer = lexer_for(language)
        self.carried = type(self.lexer).get_tokens_unprocessed is RegexLexer.get_tokens_unprocessed
        self.stack: list[str] = ["root"]
        self.context: deque[str] = deque(maxlen=CONTEXT_LINES)
        self.theme = Syntax.get_theme(code_theme)
        self.base = self.theme.get_background_style()
        self.plain = self.base + self.theme.get_style_for_token(Token.Text)
        self.pad = Segment(" ", self.base)

    def line(self, text: str) -> list[Row]:
        """A finished line's rows, highlighted."""
        if self.carried:
            tokens = list(self._lex_carried(text + "\n"))
        else:
            before = list(self.context)
            tokens = list(_lines_of(self.lexer.get_tokens("\n".join([*before, text])), len(before)))
            self.context.append(text)
        return self._rows(tokens, background=True)

    def live(self, text: str) -> list[Row]:
        """The unfinished line's rows, unhighlighted (cheap enough for every token)."""
        from rich.cells import cell_len
        from rich.segment import Segment

        if "\t" not in text and cell_len(text) <= self.inner:
            return [trimmed([self.pad, Segment(text, self.plain)])]
        from pygments.token import Token

        return self._rows([(Token.Text, text)], background=False)

    def padding(self) -> Row:
        """The blank row with the code's background above and below a code block."""
        from rich.segment import Segment

        return [Segment(" " * (self.inner + 2), self.base)]

    def _lex_carried(self, text: str) -> Iterator[tuple[Any, str]]:
        """Pygments' RegexLexer.get_tokens_unprocessed on one line, starting from the state
        the line before ended in and keeping the state this one ends in (the loop is
        Pygments', which does not hand its state back)."""
        from pygments.token import Error, Whitespace, _TokenType

        lexer, pos = self.lexer, 0
        tokendefs = lexer._tokens
        stack = self.stack
        statetokens = tokendefs[stack[-1]]
        while True:
            for rexmatch, action, new_state in statetokens:
                m = rexmatch(text, pos)
                if m:
                    if action is not None:
                        if type(action) is _TokenType:
                            yield action, m.group()
                        else:
                            for _, token_type, value in action(lexer, m):
                                yield token_type, value
                    pos = m.end()
                    if new_state is not None:
                        _transition(stack, new_state)
                        statetokens = tokendefs[stack[-1]]
                    break
            else:
                if pos >= len(text):
                    return
                if text[pos] == "\n":  # at the end of a line Pygments resets to the root
                    stack[:] = ["root"]
                    statetokens = tokendefs["root"]
                    yield Whitespace, "\n"
                else:
                    yield Error, text[pos]
                pos += 1

    def _rows(self, tokens: Iterable[tuple[Any, str]], background: bool) -> list[Row]:
        from rich.cells import cell_len
        from rich.segment import Segment
        from rich.text import Text

        pieces = [(value.replace("\n", ""), self.theme.get_style_for_token(kind)) for kind, value in tokens]
        cells = sum(cell_len(value) for value, _ in pieces)
        if cells <= self.inner and not any("\t" in value for value, _ in pieces):  # as Rich draws it
            segments = [self.pad, *(Segment(value, self.base + style) for value, style in pieces)]
            segments.append(Segment(" " * (self.inner - cells + 1), self.base))
            return [trimmed(segments, keep_background=background)]
        text = Text(style=self.base)
        for value, style in pieces:
            text.append(value, style)
        text.expand_tabs(4)
        rows: list[Row] = []
        for wrapped in text.wrap(self.console, self.inner, overflow="fold") or [Text()]:
            segments = [self.pad, *wrapped.render(self.console)]
            segments.append(Segment(" " * (self.inner - wrapped.cell_len) + " ", self.base))
            rows.append(trimmed(segments, keep_background=background))
        return rows


def _transition(stack: list[str], new_state: Any) -> None:
    """A RegexLexer's state change, as Pygments makes it."""
    if isinstance(new_state, tuple):
        for state in new_state:
            if state == "#pop":
                if len(stack) > 1:
                    stack.pop()
            elif state == "#push":
                stack.append(stack[-1])
            else:
                stack.append(state)
    elif isinstance(new_state, int):  # pop, keeping at least one state
        if abs(new_state) >= len(stack):
            del stack[1:]
        else:
            del stack[new_state:]
    elif new_state == "#push":
        stack.append(stack[-1])


def _lines_of(tokens: Iterable[tuple[Any, str]], skip: int) -> Iterator[tuple[Any, str]]:
    """The tokens after the first `skip` lines."""
    for token_type, value in tokens:
        if skip:
            newlines = value.count("\n")
            if newlines < skip:
                skip -= newlines
                continue
            value = value.split("\n", skip)[-1]
            skip = 0
        yield token_type, value
