"""What `infer` does with what arrives, by output mode: text, JSON, or `-o` selections."""

from __future__ import annotations

from typing import Any

from llamactl.api.native_stream import StreamEvent
from llamactl.errors import RequestFailed
from llamactl.inference.selectors import Selector, apply_selector
from llamactl.output.sink import Output
from llamactl.output.text import text_renderer

# The fields other kinds of models answer with on the native API: embeddings, text-to-image,
# text-to-speech, speech recognition (its `text` comes with `segments`).
OTHER_ANSWER_FIELDS = ("embeddings", "images", "audio", "segments")


def is_queued(data: dict[str, Any]) -> bool:
    status = data.get("inference_status")
    return isinstance(status, dict) and status.get("status") == "queued"


def is_other_answer(data: dict[str, Any]) -> bool:
    """An answer of another kind of model (embeddings, images, speech): no text results,
    but one of those models' own fields. Anything else without text (an OpenAI answer
    with no choices, `"results": null`, a stray `detail`) is a broken answer."""
    return any(data.get(name) is not None for name in OTHER_ANSWER_FIELDS)


class TextView:
    """Generated text only: tokens as they arrive, special tokens skipped. An answer that
    is not text (another kind of model's, already billed) is printed as --json prints it."""

    def __init__(self, out: Output, markdown: bool = True):
        self.out = out
        self.renderer = text_renderer(out, markdown)

    def on_event(self, event: StreamEvent) -> None:
        if event.text and not event.special:
            self.renderer.token(event.text)

    def flush(self) -> None:
        self.renderer.flush()

    def on_response(self, data: dict[str, Any], texts: list[str] | None) -> None:
        if texts is None:
            if is_queued(data):
                return
            if is_other_answer(data):
                self.out.json(data)
                return
            raise RequestFailed("the API's answer has no results", hint="--json shows the full response")
        self.renderer.results(texts)

    def finish(self) -> None:
        self.renderer.end()


class JsonView:
    """The API's JSON: the whole response, or each stream event as one NDJSON line."""

    def __init__(self, out: Output):
        self.out = out

    def on_event(self, event: StreamEvent) -> None:
        self.out.json_line(event.data, flush=False)

    def flush(self) -> None:
        self.out.flush()

    def on_response(self, data: dict[str, Any], texts: list[str] | None) -> None:
        self.out.json(data)

    def finish(self) -> None:
        pass


class SelectorView:
    """deepctl's `-o PATH=TARGET` selections of the full response, written once the run is
    over and recorded: a file that cannot be written then is this machine's failure (exit
    6), and history keeps the inference's own status."""

    def __init__(self, out: Output, selectors: list[Selector]):
        self.out = out
        self.selectors = selectors
        self.response: dict[str, Any] | None = None

    def on_event(self, event: StreamEvent) -> None:  # -o never streams
        pass

    def flush(self) -> None:
        pass

    def on_response(self, data: dict[str, Any], texts: list[str] | None) -> None:
        self.response = data

    def finish(self) -> None:
        response, self.response = self.response, None
        if response is not None:
            for selector in self.selectors:
                apply_selector(response, selector, self.out.text)


def view_for(
    out: Output, selectors: list[Selector], as_json: bool, markdown: bool = True
) -> TextView | JsonView | SelectorView:
    """-o selections, else --json, else the generated text (as Markdown on a terminal)."""
    if selectors:
        return SelectorView(out, selectors)
    if as_json:
        return JsonView(out)
    return TextView(out, markdown)


def report_outcome(out: Output, outcome: Any) -> None:
    """After a run: where a queued (webhook) request's result will go, else the summary."""
    from llamactl.output.format import format_summary

    if outcome.status == "queued":
        webhook = outcome.request.fields.get("webhook")
        out.info(f"queued as request {outcome.request_id or 'n/a'}: the result will be POSTed to {webhook}")
        return
    out.info(format_summary(outcome))
