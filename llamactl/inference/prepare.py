"""From `infer`'s flags, PROMPT and stdin to one InferenceRequest, checked before sending."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from llamactl.env import Environment
from llamactl.errors import UsageError
from llamactl.inference.inputs import GENERATION_PARAMETERS, InputError, RequestInputs, assemble_prompt, parse_inputs, validate_fields
from llamactl.api.request import InferenceRequest, InferenceTarget


@dataclass
class InferOptions:
    model: str | None = None
    version: str | None = None
    deploy_id: str | None = None
    inputs: list[str] = field(default_factory=list)
    prompt: str | None = None
    stream: bool | None = None
    json: bool = False
    selectors: list = field(default_factory=list)
    chat: bool = False
    system: str | None = None


def make_target(model: str | None, version: str | None, deploy_id: str | None) -> InferenceTarget:
    if bool(model) == bool(deploy_id):
        raise UsageError("give exactly one of -m/--model or -d/--deploy-id")
    if version and not model:
        raise UsageError("--version needs -m/--model")
    if model and (model != model.strip() or any(part in ("", ".", "..") for part in model.split("/"))):
        raise UsageError(f"invalid model name {model!r}: expected a name such as meta-llama/Llama-2-70b-chat-hf")
    return InferenceTarget(model=model, version=version, deploy_id=deploy_id)


def has_other_inputs(inputs) -> bool:
    """Whether the request carries inputs of a model that does not take `input` text
    (whisper's audio, an image model's prompt): any file, or a field that is not one of
    the text-generation parameters."""
    return bool(inputs.files) or any(key not in GENERATION_PARAMETERS for key in inputs.fields)


def read_path(path: str) -> bytes:
    try:
        return Path(path).expanduser().read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read @{path}: {exc.strerror or exc}") from None


class StdinReader:
    """Reads stdin at most once, and only when it is a pipe or a file."""

    def __init__(self, env: Environment):
        self.env = env
        self.consumed = False

    def read_bytes(self) -> bytes:
        from llamactl.files import read_stdin

        if self.consumed:
            raise InputError("stdin was already read")
        self.consumed = True
        if not self.env.stdin_readable():
            raise InputError("@-: stdin is not a pipe or a file; pipe the content in")
        return read_stdin(self.env.stdin)

    def read_text(self) -> str | None:
        """The piped text for the prompt, or None when stdin is a terminal or device."""
        if self.consumed or not self.env.stdin_readable():
            return None
        try:
            return self.read_bytes().decode("utf-8")
        except UnicodeDecodeError:
            raise InputError("stdin is not UTF-8 text") from None


def decide_stream(options: InferOptions, fields: dict) -> bool:
    """Stream text output by default; never for --json, -o, several responses or webhooks."""
    requested = options.stream if options.stream is not None else fields.get("stream")
    several = (fields.get("num_responses") or 1) > 1
    if requested:
        if several:
            asked = "--stream" if options.stream else "-i stream=true"
            raise UsageError(f"num_responses > 1 cannot be streamed: drop {asked}")
        if options.selectors:
            raise UsageError("-o needs the full response: drop --stream")
        if "webhook" in fields:
            raise UsageError("a webhook request cannot be streamed: drop --stream")
    if requested is not None:
        return bool(requested)
    return not (options.json or options.selectors or several or "webhook" in fields)


def prepare_request(options: InferOptions, env: Environment) -> InferenceRequest:
    target = make_target(options.model, options.version, options.deploy_id)
    stdin = StdinReader(env)
    try:
        inputs = parse_inputs(options.inputs, read_path, stdin.read_bytes)
        if "input" not in inputs.fields and "input" not in inputs.files:
            prompt = assemble_prompt(options.prompt, stdin.read_text())
            if prompt:
                inputs.fields["input"] = prompt
            elif not has_other_inputs(inputs):
                raise InputError("no input: give a PROMPT, pipe text on stdin, or use -i input=...")
    except InputError as exc:
        raise UsageError(str(exc)) from None
    return build_request(target, options, inputs)


def apply_chat_format(fields: dict, system: str | None) -> None:
    """Wrap the text input in Llama 2's chat format (`--chat`, `--system`)."""
    from llamactl.inference.chat_template import llama2_chat_prompt

    text = fields.get("input")
    if not isinstance(text, str):
        raise InputError("--chat and --system need a text input")
    fields["input"] = llama2_chat_prompt(text, system)


def build_request(target: InferenceTarget, options: InferOptions, inputs: RequestInputs) -> InferenceRequest:
    """The request from parsed fields (also `history rerun`'s): see checked_request; a
    field that fails its checks is a usage error (exit 2)."""
    try:
        return checked_request(target, options, inputs)
    except InputError as exc:
        raise UsageError(str(exc)) from None


def checked_request(target: InferenceTarget, options: InferOptions, inputs: RequestInputs) -> InferenceRequest:
    """The request from parsed fields (each batch line's too): the chat format applied when
    asked, limits checked (InputError), streaming decided."""
    if options.chat or options.system:
        apply_chat_format(inputs.fields, options.system)
    validate_fields(inputs.fields)
    if decide_stream(options, inputs.fields):
        inputs.fields["stream"] = True
    else:
        inputs.fields.pop("stream", None)
    return InferenceRequest(target, inputs.fields, inputs.files)
