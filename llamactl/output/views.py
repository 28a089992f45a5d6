"""What `infer` does with what arrives, by output mode: text, JSON, or `-o` selections."""

from __future__ import annotations

from typing import Any

from llamactl.env import Environment
from llamactl.errors import RequestFailed
from llamactl.output.streams import flush_stream, print_json, print_json_line, text_renderer, write_flushed
from llamactl.inference.selectors import Selector, apply_selector
from llamactl.api.native_stream import StreamEvent


def is_queued(data: dict[str, Any]) -> bool:
    status = data.get("inference_status")
    return isinstance(status, dict) and status.get("status") == "queued"


class TextView:
    """Generated text only: tokens as they arrive, special tokens skipped."""

    def __init__(self, env: Environment):
        self.renderer = text_renderer(env)

    def on_event(self, event: StreamEvent) -> None:
        if event.text and not event.special:
            self.renderer.token(event.text)

    def flush(self) -> None:
        self.renderer.flush()

    def on_response(self, data: dict[str, Any], texts: list[str] | None) -> None:
        if texts is None:
            if is_queued(data):
                return
            raise RequestFailed("the API's answer has no results", hint="--json shows the full response")
        self.renderer.results(texts)

    def finish(self) -> None:
        self.renderer.end()


class JsonView:
    """The API's JSON: the whole response, or each stream event as one NDJSON line."""

    def __init__(self, env: Environment):
        self.stdout = env.stdout

    def on_event(self, event: StreamEvent) -> None:
        print_json_line(self.stdout, event.data)

    def flush(self) -> None:
        flush_stream(self.stdout)

    def on_response(self, data: dict[str, Any], texts: list[str] | None) -> None:
        print_json(self.stdout, data)

    def finish(self) -> None:
        pass


class SelectorView:
    """deepctl's `-o PATH=TARGET` selections of the full response."""

    def __init__(self, env: Environment, selectors: list[Selector]):
        self.stdout = env.stdout
        self.selectors = selectors

    def on_event(self, event: StreamEvent) -> None:  # -o never streams
        pass

    def flush(self) -> None:
        pass

    def on_response(self, data: dict[str, Any], texts: list[str] | None) -> None:
        for selector in self.selectors:
            apply_selector(data, selector, self.stdout, write_flushed)

    def finish(self) -> None:
        pass
