"""`history rerun`: the request of a history record rebuilt, with infer's options on top."""

from __future__ import annotations

from llamactl.api.request import InferenceRequest, InferenceTarget
from llamactl.env import Environment
from llamactl.errors import UsageError
from llamactl.history.records import HistoryRecord
from llamactl.inference.inputs import InputError, RequestInputs, field_types, parse_inputs
from llamactl.inference.prepare import InferOptions, StdinReader, build_request, make_target, read_path


def rerun_target(record: HistoryRecord, options: InferOptions) -> InferenceTarget:
    """The recorded model or deployment, unless -m/-d name another; --version alone pins
    the recorded model to another version."""
    api = options.api or record.api
    if options.model or options.deploy_id:
        return make_target(options.model, options.version, options.deploy_id, api)
    if options.version:
        return make_target(record.model, options.version, record.deploy_id, api)
    return InferenceTarget(record.model, record.version, record.deploy_id, api)


def rebuild_request(record: HistoryRecord, options: InferOptions, env: Environment) -> InferenceRequest:
    """The recorded fields with `-i` overrides merged over them. Streaming is decided again
    from this run's options (text streams, --json does not), as infer would. Uploaded files
    were never kept, so each must be given again with -i NAME=@PATH."""
    target = rerun_target(record, options)
    try:
        overrides = parse_inputs(
            options.inputs, read_path, StdinReader(env).read_bytes, field_types(target.api)
        )
    except InputError as exc:
        raise UsageError(str(exc)) from None
    fields = {key: value for key, value in record.fields.items() if key != "stream"}
    fields.update(overrides.fields)
    for name in overrides.files:
        fields.pop(name, None)
    for name, upload in record.uploads.items():
        if name not in overrides.files and name not in overrides.fields:
            raise UsageError(
                f"request {record.id} uploaded {name} ({upload['filename']}, {upload['size']} bytes),"
                " which history does not keep",
                hint=f"give it again: llamactl history rerun {record.id} -i {name}=@PATH",
            )
    return build_request(target, options, RequestInputs(fields, overrides.files))
