"""The emulator held to clients no one here wrote: the official `openai` Python SDK makes
chat calls, streamed and not, against its OpenAI-compatible API (every framing the native
stream can have, errors, the token-less local path), and DeepInfra's own `deepinfra` SDK
makes the native non-streamed call. Each must parse every answer, so the emulator's shapes
are the real clients' shapes, not llamactl's."""

from __future__ import annotations

import pytest

from tests.emulator import VALID_TOKEN, Behavior, catalogue, textgen

openai = pytest.importorskip("openai", reason="the openai SDK is a test dependency: pip install -e '.[test]'")

LLAMA = "meta-llama/Llama-2-70b-chat-hf"
HELLO = [{"role": "system", "content": "Be nice."}, {"role": "user", "content": "Tell me a joke"}]
ANSWER = textgen.default_reply("Tell me a joke")


def sdk(emulator, path: str = "/v1/openai", token: str = VALID_TOKEN):
    return openai.OpenAI(api_key=token, base_url=emulator.url + path, max_retries=0, timeout=20)


def expected_usage(messages, completion: int) -> tuple[int, int, float]:
    prompt = textgen.count_tokens(textgen.llama2_prompt(messages))
    model = catalogue.find_model(LLAMA, include_private=False)
    cost = catalogue.cost_usd(model["pricing"], tokens_input=prompt, tokens_generated=completion)
    return prompt, completion, cost


def test_a_chat_completion(emulator):
    completion = sdk(emulator).chat.completions.create(model=LLAMA, messages=HELLO, seed=3)
    assert completion.object == "chat.completion" and completion.model == LLAMA
    [choice] = completion.choices
    assert choice.message.role == "assistant" and choice.message.content == ANSWER
    assert choice.finish_reason == "stop"
    usage = completion.usage
    words = len(textgen.split_words(ANSWER))
    assert (usage.prompt_tokens, usage.completion_tokens, usage.estimated_cost) == expected_usage(
        HELLO, words
    )
    assert usage.total_tokens == usage.prompt_tokens + usage.completion_tokens


def test_several_choices_and_max_tokens(emulator):
    completion = sdk(emulator).chat.completions.create(model=LLAMA, messages=HELLO, n=2, max_tokens=3)
    assert [choice.index for choice in completion.choices] == [0, 1]
    assert [choice.finish_reason for choice in completion.choices] == ["length", "length"]
    assert completion.choices[0].message.content == "".join(textgen.split_words(ANSWER)[:3])


FRAMINGS = {
    "default": Behavior(),
    "crlf": Behavior(newline="\r\n"),
    "cr": Behavior(newline="\r"),
    "no space after data:": Behavior(data_space=False),
    "keep-alive comments": Behavior(comments=True),
    "close-delimited": Behavior(framing="close"),
    "one byte a write": Behavior(split_writes=True),
    "compact JSON": Behavior(stream_json="compact"),
    "ASCII escapes": Behavior(ensure_ascii=True),
}


@pytest.mark.parametrize("behavior", FRAMINGS.values(), ids=FRAMINGS.keys())
def test_a_streamed_chat_in_every_framing(emulator, behavior):
    emulator.behave(behavior)
    chunks = list(sdk(emulator).chat.completions.create(model=LLAMA, messages=HELLO, stream=True))
    assert "".join(chunk.choices[0].delta.content or "" for chunk in chunks) == ANSWER
    assert [chunk.choices[0].finish_reason for chunk in chunks][-2:] == [None, "stop"]
    assert chunks[0].choices[0].delta.role == "assistant"
    usage = chunks[-1].usage  # DeepInfra's way: on the finish chunk, with the cost
    words = len(textgen.split_words(ANSWER))
    assert (usage.prompt_tokens, usage.completion_tokens, usage.estimated_cost) == expected_usage(
        HELLO, words
    )
    assert all(chunk.usage is None for chunk in chunks[:-1])
    assert len({chunk.id for chunk in chunks}) == 1 and chunks[0].id.startswith("chatcmpl-")


def test_a_stream_cut_by_max_tokens_finishes_with_length(emulator):
    stream = sdk(emulator).chat.completions.create(model=LLAMA, messages=HELLO, stream=True, max_tokens=2)
    chunks = list(stream)
    assert [chunk.choices[0].finish_reason for chunk in chunks] == [None, None, "length"]
    assert chunks[-1].usage.completion_tokens == 2


def test_a_stream_cut_midway_is_an_error_for_the_sdk(emulator):
    emulator.behave(Behavior(cut_after=2))
    stream = sdk(emulator).chat.completions.create(model=LLAMA, messages=HELLO, stream=True)
    with pytest.raises(openai.APIError):
        list(stream)


def test_an_error_event_mid_stream_is_an_api_error_with_its_message(emulator):
    emulator.behave(Behavior(error_after=1, message="CUDA out of memory"))
    stream = sdk(emulator).chat.completions.create(model=LLAMA, messages=HELLO, stream=True)
    with pytest.raises(openai.APIError, match="CUDA out of memory"):
        list(stream)


def test_errors_map_to_the_sdks_exceptions(emulator):
    client = sdk(emulator)
    with pytest.raises(openai.AuthenticationError) as wrong:
        sdk(emulator, token="nope").chat.completions.create(model=LLAMA, messages=HELLO)
    assert wrong.value.body["message"] == "Invalid token"
    with pytest.raises(openai.NotFoundError) as missing:
        client.chat.completions.create(model="nobody/nothing", messages=HELLO)
    assert "nobody/nothing" in missing.value.body["message"]
    with pytest.raises(openai.UnprocessableEntityError) as invalid:
        client.chat.completions.create(
            model=LLAMA, messages=[{"role": "robot", "content": "hi"}], max_tokens=0
        )
    assert [item["loc"] for item in invalid.value.body["detail"]] == [
        ["body", "messages", 0, "role"],
        ["body", "max_tokens"],
    ]
    emulator.queue(Behavior(status=429, message="Model busy, retry later"))
    with pytest.raises(openai.RateLimitError) as busy:
        client.chat.completions.create(model=LLAMA, messages=HELLO)
    assert busy.value.body["message"] == "Model busy, retry later"


def test_the_local_path_needs_no_token_and_sends_usage_openais_way(emulator):
    client = sdk(emulator, "/local/v1", token="anything")
    emulator.tokens.clear()  # no token is accepted anywhere else now
    completion = client.chat.completions.create(model="llama3:8b", messages=HELLO)
    assert completion.choices[0].message.content == ANSWER
    assert not hasattr(completion.usage, "estimated_cost") or completion.usage.estimated_cost is None
    chunks = list(
        client.chat.completions.create(
            model="llama3:8b", messages=HELLO, stream=True, stream_options={"include_usage": True}
        )
    )
    assert chunks[-1].choices == [] and chunks[-1].usage.completion_tokens == len(textgen.split_words(ANSWER))
    assert chunks[-2].choices[0].finish_reason == "stop" and chunks[-2].usage is None
    plain = list(client.chat.completions.create(model="llama3:8b", messages=HELLO, stream=True))
    assert all(chunk.usage is None for chunk in plain)
    with pytest.raises(openai.AuthenticationError):  # the DeepInfra path still wants one
        sdk(emulator, token="anything").chat.completions.create(model=LLAMA, messages=HELLO)


def test_the_model_list(emulator):
    models = {model.id: model for model in sdk(emulator).models.list()}
    assert LLAMA in models and models[LLAMA].owned_by == "deepinfra"


def test_deepinfras_sdk_parses_a_native_answer(emulator):
    deepinfra = pytest.importorskip("deepinfra", reason="DeepInfra's SDK is a test dependency")
    model = deepinfra.TextGeneration(f"{emulator.url}/v1/inference/{LLAMA}", auth_token=VALID_TOKEN)
    answer = model.generate({"input": "Tell me a joke", "max_new_tokens": 4})
    assert answer.results[0]["generated_text"] == "".join(textgen.split_words(ANSWER)[:4])
    assert answer.num_tokens == 4 and answer.num_input_tokens == textgen.count_tokens("Tell me a joke")
    assert answer.inference_status["status"] == "succeeded" and answer.inference_status["cost"] > 0
    assert emulator.requests[-1].headers["authorization"] == f"Bearer {VALID_TOKEN}"
