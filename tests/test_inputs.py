"""`-i KEY=VALUE` parsing, prompt assembly and the documented limits."""

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from llamactl.inference.inputs import (
    FIELD_TYPES,
    InputError,
    assemble_prompt,
    json_value,
    parse_inputs,
    typed_value,
    validate_fields,
)


def no_file(path):
    raise AssertionError(f"unexpected file read {path}")


def no_stdin():
    raise AssertionError("unexpected stdin read")


def parse(*items, files=None, stdin=b""):
    files = files or {}
    return parse_inputs(list(items), lambda p: files[p], lambda: stdin)


def test_known_fields_get_their_types():
    fields = parse(
        "max_new_tokens=200",
        "top_k=40",
        "num_responses=2",
        "temperature=0.7",
        "top_p=1",
        "repetition_penalty=1.2",
        "presence_penalty=-0.5",
        "frequency_penalty=0.5",
        "stream=false",
    ).fields
    assert fields == {
        "max_new_tokens": 200,
        "top_k": 40,
        "num_responses": 2,
        "temperature": 0.7,
        "top_p": 1.0,
        "repetition_penalty": 1.2,
        "presence_penalty": -0.5,
        "frequency_penalty": 0.5,
        "stream": False,
    }
    assert isinstance(fields["top_p"], float)


def test_stop_repeats_and_json_arrays_accumulate():
    assert parse("stop=</s>", "stop=[INST]").fields["stop"] == ["</s>", "[INST]"]
    assert parse('stop=["a", "b"]', "stop=c").fields["stop"] == ["a", "b", "c"]


def test_response_format_takes_json_objects_and_a_shorthand():
    assert parse('response_format={"type": "json_object"}').fields["response_format"] == {
        "type": "json_object"
    }
    assert parse("response_format=json").fields["response_format"] == {"type": "json_object"}
    with pytest.raises(InputError, match="response_format"):
        parse("response_format=[1]")


def test_unknown_keys_pass_through_json_literals_or_strings():
    fields = parse("seed_like=12", "flag=true", 'obj={"a": [1]}', "word=hello", "nan=NaN", "none=null").fields
    assert fields == {
        "seed_like": 12,
        "flag": True,
        "obj": {"a": [1]},
        "word": "hello",
        "nan": "NaN",
        "none": None,
    }


def test_input_is_always_text():
    assert parse("input=123").fields["input"] == "123"
    assert parse("input=a=b").fields["input"] == "a=b"


@pytest.mark.parametrize(
    "item, words",
    [
        ("max_new_tokens=ten", "max_new_tokens: expected an integer"),
        ("temperature=hot", "temperature: expected a number"),
        ("temperature=inf", "temperature: expected a number"),
        ("stream=maybe", "stream: expected true or false"),
        ("stop=[1, 2]", "only strings"),
        ("novalue", "expected KEY=VALUE"),
        ("=x", "expected KEY=VALUE"),
    ],
)
def test_bad_values_name_the_key_and_the_type(item, words):
    with pytest.raises(InputError, match=words):
        parse(item)


def test_at_path_reads_text_files_as_typed_values():
    files = {"prompt.txt": b"Hello\nworld\n", "n.txt": b"64\n"}
    fields = parse("input=@prompt.txt", "max_new_tokens=@n.txt", files=files).fields
    assert fields == {"input": "Hello\nworld\n", "max_new_tokens": 64}


def test_binary_files_become_uploads_with_a_guessed_type():
    png = b"\x89PNG\r\n\x1a\n\x00\x00binary"
    inputs = parse("image=@cat.png", files={"cat.png": png})
    assert "image" not in inputs.fields
    upload = inputs.files["image"]
    assert (upload.filename, upload.content, upload.content_type) == ("cat.png", png, "image/png")


def test_binary_content_for_a_text_field_is_refused():
    with pytest.raises(InputError, match="input: photo.jpg is not UTF-8"):
        parse("input=@photo.jpg", files={"photo.jpg": b"\xff\xd8\xff"})


def test_at_dash_reads_stdin_once():
    assert parse("input=@-", stdin=b"from stdin").fields["input"] == "from stdin"
    with pytest.raises(InputError, match="only once"):
        parse("input=@-", "other=@-", stdin=b"x")


def test_validate_documented_limits():
    validate_fields({"stop": ["a", "b", "c", "d"], "num_responses": 2})
    with pytest.raises(InputError, match="at most 4 stop strings"):
        validate_fields({"stop": ["a", "b", "c", "d", "e"]})
    with pytest.raises(InputError, match="num_responses"):
        validate_fields({"num_responses": 3})
    with pytest.raises(InputError, match="max_new_tokens"):
        validate_fields({"max_new_tokens": 0})


def test_prompt_assembly_puts_stdin_first_then_a_blank_line():
    assert assemble_prompt("review this", "diff --git a b\n+x\n") == "diff --git a b\n+x\n\nreview this"
    assert assemble_prompt("only prompt", None) == "only prompt"
    assert assemble_prompt("only prompt", "") == "only prompt"
    assert assemble_prompt(None, "only stdin\n") == "only stdin\n"
    assert assemble_prompt(None, "") is None


@given(st.text())
def test_any_text_value_of_input_is_kept_verbatim(text):
    assert typed_value("input", text) == text


@given(
    st.dictionaries(
        st.from_regex(r"[a-z_]{1,12}", fullmatch=True),
        st.integers() | st.booleans() | st.lists(st.integers()),
    )
)
def test_unknown_json_values_round_trip(values):
    known = {
        "max_new_tokens",
        "top_k",
        "num_responses",
        "seed",
        "temperature",
        "top_p",
        "repetition_penalty",
        "presence_penalty",
        "frequency_penalty",
        "stream",
        "stop",
        "response_format",
        "input",
        "webhook",
    }
    values = {k: v for k, v in values.items() if k not in known}
    items = [f"{key}={json.dumps(value)}" for key, value in values.items()]
    assert parse_inputs(items, no_file, no_stdin).fields == values


# one field-type table for -i text and a batch's JSON values


def test_an_input_error_carries_its_field_and_names_it_after_i_for_a_flag():
    with pytest.raises(InputError) as caught:
        parse("top_k=many")
    error = caught.value
    assert (error.field, error.problem) == ("top_k", "expected an integer, got 'many'")
    assert str(error) == "-i top_k: expected an integer, got 'many'"
    assert error.describe(prefix="") == "top_k: expected an integer, got 'many'"


def test_an_error_without_a_field_is_its_problem_alone():
    with pytest.raises(InputError) as caught:
        parse("novalue")
    assert caught.value.field is None
    assert str(caught.value) == caught.value.describe(prefix="") == "-i 'novalue': expected KEY=VALUE"


def test_the_limits_name_their_field():
    with pytest.raises(InputError) as caught:
        validate_fields({"max_new_tokens": 0})
    assert (caught.value.field, str(caught.value)) == (
        "max_new_tokens",
        "-i max_new_tokens: must be at least 1, got 0",
    )


@pytest.mark.parametrize(
    "key, text, value",
    [
        ("top_k", "many", "many"),
        ("seed", "1.5", 1.5),
        ("temperature", "hot", "hot"),
        ("temperature", "inf", True),
        ("stream", "maybe", "maybe"),
        ("response_format", "[1]", [1]),
    ],
)
def test_i_and_a_batch_refuse_a_wrong_type_in_the_same_words(key, text, value):
    with pytest.raises(InputError) as from_text:
        typed_value(key, text)
    with pytest.raises(InputError) as from_json:
        json_value(key, value)
    assert from_text.value.field == from_json.value.field == key
    expected = f"expected {FIELD_TYPES[key].expected}, got "
    assert from_text.value.problem.startswith(expected)
    assert from_json.value.problem.startswith(expected)


@pytest.mark.parametrize("key", sorted(FIELD_TYPES))
def test_every_known_field_refuses_binary_content(key):
    with pytest.raises(InputError, match=f"^-i {key}: blob.bin is not UTF-8 text$"):
        parse(f"{key}=@blob.bin", files={"blob.bin": b"\xff\x00"})


@given(st.sampled_from(sorted(FIELD_TYPES)), st.text(max_size=20))
def test_what_i_reads_a_batch_line_accepts_unchanged(key, text):
    """A value `-i` produces is a JSON value of the same type: the two readers agree."""
    try:
        value = typed_value(key, text)
    except InputError:
        return
    assert json_value(key, value) == value
