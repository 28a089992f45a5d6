"""Messages a new user meets on a first run through the README and docs, worded as a
careful user expects (found by trying llamactl from a fresh clone)."""

from __future__ import annotations

from tests.helpers import invoke

MODEL = "meta-llama/Llama-2-70b-chat-hf"


def test_a_one_line_batch_is_submitted_as_one_line(api, tmp_path):
    prompts = tmp_path / "prompts.jsonl"
    prompts.write_text('"Name a llama"\n', encoding="utf-8")
    run = invoke(["batch", "submit", "-m", MODEL, str(prompts)])
    assert run.exit_code == 0, run.stderr
    assert run.stderr.startswith(
        f"submitted 1 line; follow it with: llamactl batch wait {run.stdout.strip()}\n"
    )
