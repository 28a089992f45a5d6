"""Conversations in history: `infer --chat` starts one, `-c` and `--cid` continue one with
the whole conversation folded into the model family's template, every turn kept with its
messages, cut-short answers kept as they were, and `history` showing them."""

from __future__ import annotations

import json

import pytest

from llamactl.inference.chat_template import llama2_prompt, llama3_prompt
from tests.emulator import VALID_TOKEN, Behavior, catalogue
from tests.helpers import invoke, last_inference, older_history, sent_chats, sent_messages

MODEL = "meta-llama/Llama-2-70b-chat-hf"
OTHER = "meta-llama/Llama-2-7b-chat-hf"
LLAMA_3 = "meta-llama/Meta-Llama-3-8B-Instruct"


def answer(prompt: str) -> str:
    """The emulator's default reply to a user message."""
    return f"Hello! You said: {' '.join(prompt.split()[:5])}. Voilà, café 🦙"


def ok(*args: str, input: str | None = None):
    run = invoke(list(args), input=input)
    assert run.exit_code == 0, run.stderr
    return run


def exported(*filters: str) -> list[dict]:
    return [json.loads(line) for line in ok("history", "export", *filters).stdout.splitlines()]


def sent_input(api) -> str:
    """The last native turn's input: the conversation folded into the family's template."""
    return last_inference(api).json["input"]


def user_texts(api) -> list[str]:
    """The user messages of the last turn sent on the OpenAI-compatible API (the default)."""
    return [message["content"] for message in sent_messages(api) if message["role"] == "user"]


CONVERSATION = [
    {"role": "system", "content": "Be brief."},
    {"role": "user", "content": "Name a llama"},
    {"role": "assistant", "content": answer("Name a llama")},
    {"role": "user", "content": "And an alpaca?"},
]


def test_chat_starts_a_conversation_and_continue_sends_every_turn_before(api):
    first = ok("infer", "-m", MODEL, "--chat", "--system", "Be brief.", "Name a llama")
    assert first.stdout == answer("Name a llama") + "\n"
    assert first.stderr.rstrip().endswith("· conversation 1")
    second = ok("infer", "-c", "And an alpaca?")  # the conversation's model: no -m
    assert second.stdout == answer("And an alpaca?") + "\n"
    assert [request.path for request in api.requests if request.method == "POST"] == [
        "/v1/openai/chat/completions"
    ] * 2  # the OpenAI-compatible API unless --api native
    assert [chat["model"] for chat in sent_chats(api)] == [MODEL, MODEL]
    assert sent_chats(api)[0]["messages"] == CONVERSATION[:2]
    assert sent_messages(api) == CONVERSATION
    turns = exported()
    assert [turn["conversation_id"] for turn in turns] == [1, 1]
    assert [turn["messages"] for turn in turns] == [
        [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Name a llama"}],
        [{"role": "user", "content": "And an alpaca?"}],
    ]
    assert [turn["results"] for turn in turns] == [[answer("Name a llama")], [answer("And an alpaca?")]]


def test_a_native_conversation_is_folded_into_llama_2s_format_and_keeps_its_api(api):
    ok("infer", "-m", MODEL, "--api", "native", "--chat", "--system", "Be brief.", "-q", "Name a llama")
    ok("infer", "-c", "-q", "And an alpaca?")  # the conversation's API: no --api
    assert [request.path for request in api.requests if request.method == "POST"] == [
        f"/v1/inference/{MODEL}"
    ] * 2
    assert sent_input(api) == llama2_prompt(CONVERSATION)
    assert sent_input(api).startswith("[INST] <<SYS>>\nBe brief.\n<</SYS>>\n\nName a llama [/INST] Hello!")
    assert [turn["api"] for turn in exported()] == ["native", "native"]
    ok("infer", "-c", "--api", "openai", "-q", "And a vicuña?")  # --api overrides it
    assert sent_messages(api)[1:] == [
        *CONVERSATION[1:],
        {"role": "assistant", "content": answer("And an alpaca?")},
        {"role": "user", "content": "And a vicuña?"},
    ]


def test_cid_continues_a_given_conversation_with_its_model_and_m_overrides_it(api):
    ok("infer", "-m", MODEL, "--chat", "-q", "first conversation")
    ok("infer", "-m", OTHER, "--chat", "-q", "second conversation")
    ok("infer", "--cid", "1", "-q", "back to the first")
    assert sent_chats(api)[-1]["model"] == MODEL
    assert user_texts(api) == ["first conversation", "back to the first"]
    ok("infer", "-c", "-q", "-m", OTHER, "still the first")  # -c: the conversation of the latest turn
    assert sent_chats(api)[-1]["model"] == OTHER
    assert user_texts(api) == ["first conversation", "back to the first", "still the first"]
    assert [turn["conversation_id"] for turn in exported()] == [1, 2, 1, 1]


def test_a_llama_3_model_gets_the_header_format(api, monkeypatch):
    llama3 = dict(catalogue.find_model(MODEL, include_private=False), model_name=LLAMA_3, tags=["llama-3"])
    monkeypatch.setattr(catalogue, "MODELS", [*catalogue.MODELS, llama3])
    ok("infer", "-m", LLAMA_3, "--api", "native", "--chat", "--system", "Be brief.", "-q", "Name a llama")
    assert sent_input(api) == (
        "<|start_header_id|>system<|end_header_id|>\n\nBe brief.<|eot_id|>"
        "<|start_header_id|>user<|end_header_id|>\n\nName a llama<|eot_id|>"
        "<|start_header_id|>assistant<|end_header_id|>\n\n"
    )
    run = ok("infer", "-c", "-q", "And an alpaca?")
    assert run.stdout == answer("And an alpaca?") + "\n"  # the emulator read the last user turn
    assert sent_input(api) == llama3_prompt(
        [
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": "Name a llama"},
            {"role": "assistant", "content": answer("Name a llama")},
            {"role": "user", "content": "And an alpaca?"},
        ]
    )


@pytest.mark.parametrize(
    ("target", "lines"),
    [
        (
            ["-m", "mistralai/Mistral-7B-Instruct-v0.1"],
            [
                "error: no chat template is known for mistralai/Mistral-7B-Instruct-v0.1 on the native API"
                " (only Llama 2 and Llama 3)",
                "hint: use --api openai, where the server applies the model's own template",
            ],
        ),
        (
            ["-d", "DpLlama70b"],
            [
                "error: -d DpLlama70b: on the native API a chat turn is folded into its model family's chat"
                " template, and a deployment id does not say which model it runs",
                "hint: drop --api native (the OpenAI-compatible API takes the deployment), or give -m MODEL",
            ],
        ),
    ],
    ids=["a model of no known family", "a deployment"],
)
def test_what_has_no_chat_template_is_exit_2_on_the_native_api_before_anything_is_sent(api, target, lines):
    run = invoke(["infer", *target, "--api", "native", "--chat", "hi"])
    assert run.exit_code == 2
    assert run.stderr.splitlines() == lines
    assert api.requests == []
    assert exported() == []


def test_a_model_of_no_known_family_just_works_on_the_openai_api(api):
    run = ok("infer", "-m", "mistralai/Mistral-7B-Instruct-v0.1", "--chat", "hi")
    assert run.stdout == answer("hi") + "\n"
    assert sent_chats(api)[-1]["model"] == "mistralai/Mistral-7B-Instruct-v0.1"
    assert sent_messages(api) == [{"role": "user", "content": "hi"}]
    assert [(turn["api"], turn["conversation_id"]) for turn in exported()] == [("openai", 1)]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["-c"], "error: no conversation to continue yet"),
        (["--cid", "7"], "error: no conversation 7 in history"),
        (
            ["-c", "--cid", "1"],
            "error: -c/--continue and --cid both choose the conversation: give one of them",
        ),
        (["-c", "--version", "abc"], "error: no conversation to continue yet"),
    ],
)
def test_a_conversation_that_cannot_be_continued_is_exit_2(api, args, message):
    run = invoke(["infer", *args, "hello"])
    assert run.exit_code == 2
    assert run.stderr.splitlines()[0] == message
    assert [request for request in api.requests if request.method == "POST"] == []


VERSION = "b3582270d33e5c1c0e9f2ce3acbe1494e4f27a8d0468a079121d9b66572fd018"  # not the newest


def test_a_conversation_with_a_model_version_sends_it_on_either_api_and_keeps_it(api):
    ok("infer", "-m", MODEL, "--version", VERSION, "--chat", "-q", "one")
    ok("infer", "-c", "-q", "two")  # the version of the latest turn, with its model
    assert [chat["model"] for chat in sent_chats(api)] == [f"{MODEL}:{VERSION}"] * 2  # §5's NAME:VERSION
    ok("infer", "-c", "--api", "native", "-q", "three")
    native = last_inference(api)
    assert (native.path, native.query) == (
        f"/v1/inference/{MODEL}",
        {"version": VERSION},
    )  # as infer sends it
    assert native.json["input"].startswith("[INST] one [/INST] Hello!")
    ok("infer", "-c", "-m", OTHER, "-q", "four")  # another model: no version unless given
    assert sent_chats(api)[-1]["model"] == OTHER
    assert [(turn["model"], turn["version"]) for turn in exported()] == [
        (MODEL, VERSION),
        (MODEL, VERSION),
        (MODEL, VERSION),
        (OTHER, None),
    ]


@pytest.mark.parametrize("api_name", ["openai", "native"])
def test_a_version_the_model_does_not_have_is_the_apis_404_on_either_api(api, api_name):
    run = invoke(["infer", "-m", MODEL, "--version", "0" * 64, "--api", api_name, "--chat", "hi"])
    assert run.exit_code == 4, run.stderr
    assert run.stdout == ""
    if api_name == "openai":
        assert [chat["model"] for chat in sent_chats(api)] == [f"{MODEL}:{'0' * 64}"]  # §5's NAME:VERSION
    else:
        assert last_inference(api).query == {"version": "0" * 64}


def test_a_conversation_with_a_deployment_goes_to_it_on_the_openai_api(api):
    first = ok("infer", "-d", "DpLlama70b", "--chat", "Name a llama")
    assert first.stdout == answer("Name a llama") + "\n"
    assert first.stderr.startswith("deploy:DpLlama70b · ")
    ok("infer", "-c", "-q", "And an alpaca?")  # the deployment of the latest turn
    assert [chat["model"] for chat in sent_chats(api)] == ["deploy_id:DpLlama70b"] * 2  # §5
    assert user_texts(api) == ["Name a llama", "And an alpaca?"]
    turns = exported()
    assert [(turn["model"], turn["deploy_id"], turn["conversation_id"]) for turn in turns] == [
        (None, "DpLlama70b", 1),
        (None, "DpLlama70b", 1),
    ]
    piped = invoke(["chat", "-c", "-q"], input="And a vicuña?\n")  # chat -c goes on there too
    assert (piped.exit_code, piped.stdout) == (0, answer("And a vicuña?") + "\n"), piped.stderr
    assert sent_chats(api)[-1]["model"] == "deploy_id:DpLlama70b"
    assert len(sent_messages(api)) == 5
    native = invoke(["chat", "-c", "--api", "native"], input="hi\n")
    assert native.exit_code == 2 and "a deployment id does not say which model it runs" in native.stderr
    assert len(sent_chats(api)) == 3
    shown = ok("history", "show", "2").stdout
    assert "deploy:DpLlama70b" in shown and "None" not in shown
    assert "== turn 1: user ==\nName a llama\n" in shown
    run = invoke(["infer", "-c", "--version", VERSION, "hi"])
    assert (run.exit_code, run.stderr.splitlines()[0]) == (2, "error: --version needs -m/--model")


def test_a_turns_fields_are_the_apis_own_and_the_other_apis_get_a_warning(api):
    run = ok("infer", "-m", MODEL, "--chat", "-q", "-i", "max_new_tokens=5", "-i", "max_tokens=3", "one")
    assert "-i max_new_tokens: a native API field; the OpenAI chat API calls it max_tokens" in run.stderr
    assert sent_chats(api)[-1]["max_tokens"] == 3
    piped = invoke(["chat", "-m", MODEL, "-q", "-i", "num_responses=1"], input="two\n")
    assert piped.exit_code == 0, piped.stderr
    assert "-i num_responses: a native API field; the OpenAI chat API calls it n" in piped.stderr
    run = invoke(["infer", "-c", "-i", "messages=[]", "three"])
    assert run.exit_code == 2
    assert run.stderr.startswith("error: -i messages cannot be set on a chat turn")
    assert len(sent_chats(api)) == 2
    ok("infer", "-c", "-q", "--api", "native", "-i", "max_new_tokens=4", "four")
    assert last_inference(api).json["max_new_tokens"] == 4
    assert [turn["fields"].get("max_tokens") for turn in exported()] == [3, None, None]


def test_continuing_needs_history(api, monkeypatch):
    ok("infer", "-m", MODEL, "--chat", "--no-history", "-q", "not kept")
    assert exported() == []
    run = invoke(["infer", "-c", "--no-history", "hello"])
    assert run.exit_code == 2
    assert run.stderr.startswith("error: conversations are kept in history, which is off here\n")


def test_an_incomplete_answer_stays_in_the_conversation_marked_and_the_next_turn_goes_on(api):
    api.queue(Behavior(tokens=["Half", " an", " answer", " and more"], cut_after=3))
    cut = invoke(["infer", "-m", MODEL, "--chat", "Tell me a story"])
    assert cut.exit_code == 5
    assert cut.stdout == "Half an answer\n"
    ok("infer", "-c", "-q", "Go on")
    assert sent_messages(api) == [
        {"role": "user", "content": "Tell me a story"},
        {"role": "assistant", "content": "Half an answer"},
        {"role": "user", "content": "Go on"},
    ]
    first, second = exported("--conversation", "1")
    assert (first["status"], first["results"]) == ("incomplete", ["Half an answer"])
    assert second["status"] == "ok"
    shown = ok("history", "show", str(second["id"])).stdout
    assert "== turn 1: answer (incomplete) ==\nHalf an answer\n" in shown
    assert "== result (incomplete) ==" in ok("history", "show", str(first["id"])).stdout


def test_a_rejected_turn_is_recorded_but_not_sent_again(api):
    ok("infer", "-m", MODEL, "--chat", "-q", "one")
    api.queue(Behavior(status=422, message="bad field"))
    assert invoke(["infer", "-c", "-q", "two"]).exit_code == 4
    ok("infer", "-c", "-q", "three")
    assert sent_messages(api) == [
        {"role": "user", "content": "one"},
        {"role": "assistant", "content": answer("one")},
        {"role": "user", "content": "three"},
    ]
    assert [turn["status"] for turn in exported("--conversation", "1")] == ["ok", "error", "ok"]


def test_history_list_conversation_lists_only_its_turns(api):
    ok("infer", "-m", MODEL, "--chat", "-q", "a first")
    ok("infer", "-m", MODEL, "-q", "not a turn")
    ok("infer", "-m", MODEL, "--chat", "-q", "another conversation")
    ok("infer", "--cid", "1", "-q", "a second")
    listed = ok("history", "list", "--conversation", "1").stdout.splitlines()
    assert [line.split("\t")[0] for line in listed] == ["4", "1"]
    assert [line.split("\t")[-1] for line in listed] == [
        "a second",
        "a first",
    ]  # the user's words, not the template
    unknown = invoke(["history", "list", "--conversation", "9"])
    assert (unknown.exit_code, unknown.stdout) == (2, "")  # as `--cid 9` is


def test_history_show_of_a_turn_shows_the_conversation_up_to_it(api):
    ok("infer", "-m", MODEL, "--chat", "--system", "Be brief.", "-q", "one")
    ok("infer", "-c", "-q", "two")
    ok("infer", "-c", "-q", "three")
    shown = ok("history", "show", "2").stdout
    assert "chat:       conversation 1\n" in shown
    sections = shown.split("\n\n== ")[1:]
    assert [section.split(" ==\n")[0] for section in sections] == [
        "system",
        "turn 1: user",
        "turn 1: answer",
        "input",
        "result",
    ]
    assert "three" not in shown
    data = json.loads(ok("history", "show", "2", "--json").stdout)
    assert data["conversation"]["id"] == 1 and data["conversation"]["api"] == "openai"
    assert data["conversation"]["messages"] == [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "one"},
        {"role": "assistant", "content": answer("one")},
        {"role": "user", "content": "two"},
        {"role": "assistant", "content": answer("two")},
    ]


def test_system_on_continue_applies_from_that_turn_on(api):
    ok("infer", "-m", MODEL, "--chat", "--system", "Be brief.", "-q", "one")
    ok("infer", "-c", "--system", "Be verbose.", "-q", "two")
    verbose = {"role": "system", "content": "Be verbose."}
    assert sent_messages(api)[:2] == [verbose, {"role": "user", "content": "one"}]
    assert [message["role"] for message in sent_messages(api)] == ["system", "user", "assistant", "user"]
    ok("infer", "-c", "-q", "three")
    assert sent_messages(api)[:2] == [verbose, {"role": "user", "content": "one"}]
    assert [message["content"] for message in sent_messages(api)].count("Be verbose.") == 1


def test_an_old_database_keeps_its_requests_and_gains_conversations(api, home):
    from llamactl.history.migrations import add_conversations

    db = older_history(home, add_conversations)
    db.commit()
    db.close()
    ok("infer", "-m", MODEL, "--chat", "-q", "a new turn")
    old, turn = exported()
    assert (old["fields"]["input"], old["results"]) == ("from before", ["an old answer"])
    assert (old["conversation_id"], old["messages"]) == (None, [])
    assert (turn["conversation_id"], turn["messages"]) == (1, [{"role": "user", "content": "a new turn"}])
    shown = ok("history", "show", "1").stdout
    assert shown.endswith("\n\n== input ==\nfrom before\n\n== result ==\nan old answer\n")
    assert "chat:" not in shown


def test_the_token_is_never_in_the_stored_conversation(api, home):
    ok("infer", "-m", MODEL, "--chat", "--system", "You are a helper.", "-q", "one")
    ok("infer", "-c", "-q", "two")
    ok("history", "list")
    stored = b"".join(path.read_bytes() for path in home.rglob("*") if path.is_file())
    assert b"You are a helper." in stored  # the messages are in there
    assert VALID_TOKEN.encode() not in stored
