"""From `infer`'s flags, PROMPT and stdin to one InferenceRequest, checked before sending."""

from __future__ import annotations

import os
from collections.abc import Callable

from llamactl.api.request import APIS, NATIVE, InferenceRequest, InferenceTarget
from llamactl.env import Environment
from llamactl.errors import UsageError
from llamactl.inference.inputs import (
    GENERATION_PARAMETERS,
    InputError,
    RequestInputs,
    assemble_prompt,
    field_types,
    not_utf8,
    parse_inputs,
    split_assignment,
    validate_fields,
)
from llamactl.plain import field, record


@record
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
    no_stdin: bool = False  # --no-stdin: never read stdin (while-read loops, daemons)
    api: str | None = None  # --api: native (None) or openai

    @property
    def chosen_api(self) -> str:
        return self.api or NATIVE


def make_target(
    model: str | None, version: str | None, deploy_id: str | None, api: str = NATIVE
) -> InferenceTarget:
    if api not in APIS:
        raise UsageError(f"--api {api!r}: expected {' or '.join(APIS)}")
    for option, value in (("-m/--model", model), ("--version", version), ("-d/--deploy-id", deploy_id)):
        problem = value and not_utf8(value)
        if problem:
            raise UsageError(f"{option}: {problem}")
    if bool(model) == bool(deploy_id):
        raise UsageError("give exactly one of -m/--model or -d/--deploy-id")
    if version and not model:
        raise UsageError("--version needs -m/--model")
    if model:
        from llamactl.catalogue.model_choice import check_model_name

        check_model_name(model)
    return InferenceTarget(model=model, version=version, deploy_id=deploy_id, api=api)


def has_other_inputs(inputs) -> bool:
    """Whether the request carries inputs of a model that does not take `input` text
    (whisper's audio, an image model's prompt): any file, or a field that is not one of
    the text-generation parameters."""
    return bool(inputs.files) or any(key not in GENERATION_PARAMETERS for key in inputs.fields)


MAX_INPUT_BYTES = 100 * 2**20  # an @file or stdin larger than this is a mistake (@/dev/zero)
MAX_INPUT_TEXT = "100 MiB"


def read_path(path: str) -> bytes:
    """An @file's bytes, bounded (a device such as /dev/zero never ends); a terminal
    (@/dev/stdin, @/dev/tty) is refused as @- is, since reading it would wait for ever."""
    from llamactl.files import user_path

    try:
        with open(user_path(path), "rb") as file:
            if os.isatty(file.fileno()):
                raise InputError(f"@{path} is a terminal: pipe the content in, or give a file")
            data = file.read(MAX_INPUT_BYTES + 1)
    except OSError as exc:
        raise InputError(f"cannot read @{path}: {exc.strerror or exc}") from None
    return bounded(data, f"@{path}")


def bounded(data: bytes, what: str) -> bytes:
    if len(data) > MAX_INPUT_BYTES:
        raise InputError(f"{what} is larger than {MAX_INPUT_TEXT}, more than any request can take")
    return data


class StdinReader:
    """Reads stdin at most once, and only when it is a pipe or a file (never with --no-stdin)."""

    def __init__(self, env: Environment, ignored: bool = False):
        self.env = env
        self.consumed = False
        self.ignored = ignored

    def read_bytes(self) -> bytes:
        from llamactl.files import read_stdin

        if self.consumed:
            raise InputError("stdin was already read")
        self.consumed = True
        if self.ignored:
            raise InputError("@- reads stdin, which --no-stdin ignores: drop one of them")
        if not self.env.stdin_readable():
            raise InputError("@-: stdin is not a pipe or a file; pipe the content in")
        return bounded(read_stdin(self.env.stdin, MAX_INPUT_BYTES + 1), "stdin")

    def read_text(self, waiting: Callable[[], None] | None = None) -> str | None:
        """The piped text for the prompt, or None when stdin is a terminal or device.
        `waiting` is called when nothing has arrived within STDIN_NOTICE seconds."""
        if self.ignored or self.consumed or not self.env.stdin_readable():
            return None
        if waiting is not None and not self._ready_within(STDIN_NOTICE):
            waiting()
        try:
            return self.read_bytes().decode("utf-8")
        except UnicodeDecodeError:
            raise InputError("stdin is not UTF-8 text") from None

    def _ready_within(self, seconds: float) -> bool:
        """Whether stdin has data (or its end) within `seconds`; True when it cannot tell."""
        import select

        try:
            return bool(select.select([self.env.stdin.fileno()], [], [], seconds)[0])
        except (AttributeError, ValueError, OSError, TypeError):
            return True


TWICE = "the input is given twice (-i input=... and PROMPT): give one of them"
STDIN_NOTICE = 2.0  # seconds a PROMPT waits for a silent pipe before saying why it waits
WAITING = "waiting for piped stdin to end (it goes before the PROMPT); --no-stdin leaves it alone"


def decide_stream(options: InferOptions, fields: dict, choices: str = "num_responses") -> bool:
    """Stream text output by default; never for --json, -o, several responses or webhooks.
    `choices` is the API's field for several responses (`n` on the OpenAI chat API)."""
    requested = options.stream if options.stream is not None else fields.get("stream")
    several = (fields.get(choices) or 1) > 1
    if requested:
        if several:
            asked = "--stream" if options.stream else "-i stream=true"
            raise UsageError(f"{choices} > 1 cannot be streamed: drop {asked}")
        if options.selectors:
            raise UsageError("-o needs the full response: drop --stream")
        if "webhook" in fields:
            raise UsageError("a webhook request cannot be streamed: drop --stream")
    if requested is not None:
        return bool(requested)
    return not (options.json or options.selectors or several or "webhook" in fields)


def prepare_request(
    options: InferOptions,
    env: Environment,
    warn: Callable[[str], None] | None = None,
    fetch_schema: bool = True,
    info: Callable[[str], None] | None = None,
) -> InferenceRequest:
    """The request infer sends; `warn` hears of `-i` fields the model's schema does not
    have (the schema fetched, within a bounded wait, when `fetch_schema` and not cached);
    `info` hears why a PROMPT waits for a silent piped stdin."""
    target = make_target(options.model, options.version, options.deploy_id, options.chosen_api)
    for option, value in (("PROMPT", options.prompt), ("--system", options.system)):
        problem = value and not_utf8(value)
        if problem:
            raise UsageError(f"{option}: {problem}", hint="check the terminal's or the script's encoding")
    stdin = StdinReader(env, ignored=options.no_stdin)
    try:
        inputs = parse_inputs(options.inputs, read_path, stdin.read_bytes, field_types(target.api))
        given = "input" in inputs.fields or "input" in inputs.files
        if given and options.prompt is not None:
            raise InputError(TWICE)
        text = inputs.fields.get("input") if given else options.prompt
        if "input" not in inputs.files and (text is None or isinstance(text, str)):
            # -i input=TEXT is PROMPT in deepctl's spelling: piped stdin goes before it too
            waiting = (lambda: info(WAITING)) if info is not None and text is not None else None
            prompt = assemble_prompt(text, stdin.read_text(waiting))
            if prompt:
                inputs.fields["input"] = prompt
            elif not given and not (
                inputs.fields.get("messages") if target.openai else has_other_inputs(inputs)
            ):
                raise InputError("no input: give a PROMPT, pipe text on stdin, or use -i input=...")
    except InputError as exc:
        raise UsageError(str(exc)) from None
    request = build_request(target, options, inputs)
    if options.selectors:
        check_selectors(request, inputs, options)
    if warn is not None and options.inputs and target.openai:
        from llamactl.inference.field_names import openai_field_warnings

        for line in openai_field_warnings([split_assignment(item)[0] for item in options.inputs]):
            warn(line)
    elif warn is not None and options.inputs and target.model:
        keys = [split_assignment(item)[0] for item in options.inputs]
        warn_unknown_fields(env, target.model, target.version, keys, warn, fetch_schema)
    return request


def check_selectors(request: InferenceRequest, inputs: RequestInputs, options: InferOptions) -> None:
    """-o paths checked against the answer's shape, when it is known before sending."""
    from llamactl.inference.selectors import CHAT_COMPLETION, check_text_generation_selector

    if request.target.openai:
        for selector in options.selectors:
            check_text_generation_selector(selector, request.fields.get("n") or 1, CHAT_COMPLETION)
    elif is_text_generation(request.fields, inputs):
        for selector in options.selectors:
            check_text_generation_selector(selector, request.fields.get("num_responses") or 1)


def warn_unknown_fields(
    env: Environment,
    model: str,
    version: str | None,
    keys: list[str],
    warn: Callable[[str], None],
    fetch_schema: bool,
) -> None:
    """A warning per `-i` key the model's schema lacks: a misspelt field is ignored, not refused."""
    from llamactl.catalogue.schema import model_fields
    from llamactl.inference.field_names import unknown_field_warnings

    for line in unknown_field_warnings(keys, model_fields(env, model, version, fetch_schema), model):
        warn(line)


def is_text_generation(fields: dict, inputs: RequestInputs) -> bool:
    """Whether the answer will be a text-generation response (its shape known before
    sending): a text input and nothing but text-generation parameters, no webhook."""
    others = {key: value for key, value in fields.items() if key != "input"}
    return (
        isinstance(fields.get("input"), str)
        and not inputs.files
        and "webhook" not in fields
        and not has_other_inputs(RequestInputs(others))
    )


def apply_chat_format(fields: dict, system: str | None, model: str | None) -> None:
    """Wrap the text input in the model family's chat format, as one user turn (`--chat`,
    `--system` on a batch line or a rerun; an unknown family is exit 2)."""
    from llamactl.inference.chat_template import fold, with_system

    text = fields.get("input")
    if not isinstance(text, str):
        raise InputError("--chat and --system need a text input")
    fields["input"] = fold(model, with_system([{"role": "user", "content": text}], system))


def build_request(target: InferenceTarget, options: InferOptions, inputs: RequestInputs) -> InferenceRequest:
    """The request from parsed fields (also `history rerun`'s): see checked_request; a
    field that fails its checks is a usage error (exit 2)."""
    try:
        return checked_request(target, options, inputs)
    except InputError as exc:
        raise UsageError(str(exc)) from None


def checked_request(
    target: InferenceTarget, options: InferOptions, inputs: RequestInputs
) -> InferenceRequest:
    """The request from parsed fields (each batch line's too): the chat format applied when
    asked (on the OpenAI API, the input becomes the last user message), limits checked
    (InputError), streaming decided."""
    if target.openai:
        from llamactl.inference.openai_chat import to_chat_fields

        if inputs.files:
            raise InputError("the OpenAI chat API takes JSON only: a binary @file cannot be sent")
        validate_fields(inputs.fields, target.api)
        to_chat_fields(inputs.fields, options.system)
    else:
        if options.chat or options.system:
            apply_chat_format(inputs.fields, options.system, target.model)
        validate_fields(inputs.fields)
    if decide_stream(options, inputs.fields, "n" if target.openai else "num_responses"):
        inputs.fields["stream"] = True
    else:
        inputs.fields.pop("stream", None)
    return InferenceRequest(target, inputs.fields, inputs.files)
