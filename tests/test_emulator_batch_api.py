"""The emulator's Files and Batch API (deepinfra-api.md §10), checked with plain HTTP and
with the official `openai` SDK, a client no one here wrote, running the whole workflow as
DeepInfra's docs show it."""

from __future__ import annotations

import json

import pytest
import requests
from requests import Session

from tests.emulator import VALID_TOKEN, BatchPlan, Behavior

AUTH = {"Authorization": f"Bearer {VALID_TOKEN}"}
LLAMA = "meta-llama/Llama-2-70b-chat-hf"
CHAT = "/v1/chat/completions"


@pytest.fixture
def http():
    with Session() as session:
        session.headers.update(AUTH)
        yield session


def chat_line(custom_id: str, text: str, **body) -> dict:
    return {
        "custom_id": custom_id,
        "method": "POST",
        "url": CHAT,
        "body": {"model": LLAMA, "messages": [{"role": "user", "content": text}], **body},
    }


def jsonl(lines: list[dict]) -> bytes:
    return "".join(json.dumps(line) + "\n" for line in lines).encode()


def upload(emulator, http, data: bytes, purpose: str = "batch", name: str = "input.jsonl") -> dict:
    answer = http.post(
        f"{emulator.url}/v1/openai/files", files={"file": (name, data)}, data={"purpose": purpose}
    )
    assert answer.status_code == 200, answer.text
    return answer.json()


def create(emulator, http, file_id: str, **extra) -> dict:
    body = {"input_file_id": file_id, "endpoint": CHAT, "completion_window": "24h", **extra}
    answer = http.post(f"{emulator.url}/v1/openai/batches", json=body)
    assert answer.status_code == 200, answer.text
    return answer.json()


def poll(emulator, http, batch_id: str) -> dict:
    return http.get(f"{emulator.url}/v1/openai/batches/{batch_id}").json()


def poll_until_done(emulator, http, batch_id: str) -> tuple[list[str], dict]:
    seen = []
    for _ in range(50):
        batch = poll(emulator, http, batch_id)
        if not seen or seen[-1] != batch["status"]:
            seen.append(batch["status"])
        if batch["status"] in ("completed", "failed", "expired", "cancelled"):
            return seen, batch
    raise AssertionError(f"the batch never ended: {seen}")


def content(emulator, http, file_id: str, **headers) -> bytes:
    answer = http.get(f"{emulator.url}/v1/openai/files/{file_id}/content", headers=headers)
    assert answer.status_code in (200, 206), answer.text
    return answer.content


def test_a_batch_goes_validating_in_progress_finalizing_completed(emulator, http):
    lines = [chat_line(f"line-{n}", f"prompt number {n}") for n in range(1, 6)]
    stored = upload(emulator, http, jsonl(lines), name="/home/me/input.jsonl")
    assert stored["filename"] == "input.jsonl" and stored["bytes"] == len(jsonl(lines))
    assert stored["purpose"] == "batch" and stored["id"].startswith("file_")
    emulator.batch_plan = BatchPlan(rows_per_step=2)
    batch = create(emulator, http, stored["id"], metadata={"job": "test"})
    assert (batch["status"], batch["request_counts"], batch["model"]) == ("validating", None, None)
    seen, batch = poll_until_done(emulator, http, batch["id"])
    assert seen == ["validating", "in_progress", "finalizing", "completed"]
    assert batch["request_counts"] == {"total": 5, "completed": 5, "failed": 0}
    assert batch["metadata"] == {"job": "test"} and batch["model"] == LLAMA
    assert (
        batch["usage"]["total_tokens"] == batch["usage"]["input_tokens"] + batch["usage"]["output_tokens"] > 0
    )
    rows = [json.loads(row) for row in content(emulator, http, batch["output_file_id"]).splitlines()]
    assert sorted(row["custom_id"] for row in rows) == [f"line-{n}" for n in range(1, 6)]
    assert [row["custom_id"] for row in rows] != [f"line-{n}" for n in range(1, 6)]  # any order (§10.5)
    by_id = {row["custom_id"]: row for row in rows}
    body = by_id["line-3"]["response"]["body"]
    assert by_id["line-3"]["response"]["status_code"] == 200 and by_id["line-3"]["error"] is None
    assert "prompt number 3" in body["choices"][0]["message"]["content"]
    assert body["usage"]["estimated_cost"] > 0
    assert content(emulator, http, batch["error_file_id"]) == b""  # set, and empty (§10.5)


def test_validation_failures_fail_the_whole_batch_with_0_based_lines(emulator, http):
    lines = [
        chat_line("a", "x"),
        chat_line("a", "y"),
        {"custom_id": "c", "url": CHAT, "body": {"model": "no/such"}},
    ]
    data = jsonl(lines) + b"not json\n"
    seen, batch = poll_until_done(
        emulator, http, create(emulator, http, upload(emulator, http, data)["id"])["id"]
    )
    assert seen == ["validating", "failed"]
    assert batch["request_counts"] is None and batch["output_file_id"] is None
    errors = {(error["code"], error["line"]) for error in batch["errors"]["data"]}
    assert errors == {("duplicate_custom_id", 1), ("unknown_model", 2), ("invalid_json", 3)}


def test_a_streamed_row_passes_validation_and_fails_at_run_time(emulator, http):
    lines = [chat_line("ok", "x"), chat_line("streamed", "y", stream=True)]
    _, batch = poll_until_done(
        emulator, http, create(emulator, http, upload(emulator, http, jsonl(lines))["id"])["id"]
    )
    assert batch["status"] == "completed"
    assert batch["request_counts"] == {"total": 2, "completed": 1, "failed": 1}
    (error,) = [json.loads(row) for row in content(emulator, http, batch["error_file_id"]).splitlines()]
    assert (error["custom_id"], error["response"], error["error"]["code"]) == ("streamed", None, "500")


def test_a_batch_that_expires_half_done_keeps_its_finished_rows(emulator, http):
    emulator.batch_plan = BatchPlan(rows_per_step=1, expire_after_rows=2)
    lines = [chat_line(f"l{n}", "x") for n in range(4)]
    seen, batch = poll_until_done(
        emulator, http, create(emulator, http, upload(emulator, http, jsonl(lines))["id"])["id"]
    )
    assert seen[-1] == "expired" and batch["expired_at"] is not None
    done = {
        json.loads(row)["custom_id"] for row in content(emulator, http, batch["output_file_id"]).splitlines()
    }
    failed = [json.loads(row) for row in content(emulator, http, batch["error_file_id"]).splitlines()]
    assert done == {"l0", "l1"}
    assert {(row["custom_id"], row["error"]["code"]) for row in failed} == {
        ("l2", "batch_expired"),
        ("l3", "batch_expired"),
    }


@pytest.mark.parametrize("completes, status", [(False, "cancelled"), (True, "completed")])
def test_cancel_is_best_effort(emulator, http, completes, status):
    emulator.batch_plan = BatchPlan(rows_per_step=1, cancel_completes=completes)
    lines = [chat_line(f"l{n}", "x") for n in range(3)]
    batch = create(emulator, http, upload(emulator, http, jsonl(lines))["id"])
    emulator.batch_steps(3)  # validated, one row run
    cancelling = http.post(f"{emulator.url}/v1/openai/batches/{batch['id']}/cancel").json()
    assert cancelling["status"] == "cancelling" and cancelling["cancelling_at"] is not None
    _, batch = poll_until_done(emulator, http, batch["id"])
    assert batch["status"] == status
    again = http.post(f"{emulator.url}/v1/openai/batches/{batch['id']}/cancel")
    assert again.status_code == 400 and "detail" in again.json()


def test_file_content_resumes_from_a_byte_offset_and_a_cut_download_is_a_fault(emulator, http):
    data = jsonl([chat_line(f"l{n}", "x" * 50) for n in range(20)])
    file_id = upload(emulator, http, data)["id"]
    assert content(emulator, http, file_id, Range="bytes=100-") == data[100:]
    emulator.queue(Behavior(cut_after=500, scope="all", for_path="/content"))
    with pytest.raises(requests.exceptions.ChunkedEncodingError):  # the connection drops after 500 bytes
        content(emulator, http, file_id)
    assert content(emulator, http, file_id) == data


def test_errors_are_fastapi_shaped_and_limits_hold(emulator, http):
    url = emulator.url
    assert http.get(f"{url}/v1/openai/files/file_nope").json() == {"detail": {"error": "file not found"}}
    assert http.get(f"{url}/v1/openai/batches/batch_nope").status_code == 404
    assert http.delete(f"{url}/v1/openai/batches/batch_x").status_code == 405
    assert http.get(f"{url}/v1/openai/v1/files").status_code == 404
    wrong = http.post(
        f"{url}/v1/openai/batches", json={"input_file_id": "f", "endpoint": CHAT, "completion_window": "1h"}
    )
    assert wrong.status_code == 422 and wrong.json()["detail"][0]["loc"] == ["body", "completion_window"]
    assert (
        http.post(
            f"{url}/v1/openai/batches",
            json={"input_file_id": "f", "endpoint": CHAT, "completion_window": "24h"},
        ).status_code
        == 404
    )
    emulator.batch_plan = BatchPlan(max_batch_input_bytes=10)
    too_big = http.post(
        f"{url}/v1/openai/files", files={"file": ("a.jsonl", b"x" * 11)}, data={"purpose": "batch"}
    )
    assert too_big.status_code == 413
    anonymous = Session().get(f"{url}/v1/openai/files")
    assert anonymous.status_code == 403 and anonymous.json() == {"detail": {"error": "Not authenticated"}}
    file_id = upload(emulator, http, b"{}\n")["id"]
    assert http.delete(f"{url}/v1/files/{file_id}").json() == {
        "id": file_id,
        "deleted": True,
        "object": "file",
    }
    assert http.delete(f"{url}/v1/files/{file_id}").status_code == 404


def test_lists_page_with_after_and_limit(emulator, http):
    ids = [upload(emulator, http, b"{}\n")["id"] for _ in range(3)]
    first = http.get(f"{emulator.url}/v1/openai/files", params={"limit": 2}).json()
    assert [f["id"] for f in first["data"]] == ids[::-1][:2] and first["has_more"] is True
    rest = http.get(f"{emulator.url}/v1/openai/files", params={"limit": 2, "after": first["last_id"]}).json()
    assert [f["id"] for f in rest["data"]] == [ids[0]] and rest["has_more"] is False
    assert http.get(f"{emulator.url}/v1/openai/batches", params={"limit": 101}).status_code == 422


def test_the_openai_sdk_runs_the_whole_workflow(emulator, tmp_path):
    """As DeepInfra's batch docs show it: files.create, batches.create, retrieve, content."""
    import openai

    client = openai.OpenAI(api_key=VALID_TOKEN, base_url=f"{emulator.url}/v1/openai", max_retries=0)
    path = tmp_path / "batch.jsonl"
    path.write_bytes(jsonl([chat_line(f"request-{n}", f"say {n}") for n in range(3)]))
    with path.open("rb") as handle:
        stored = client.files.create(file=handle, purpose="batch")
    assert stored.filename == "batch.jsonl" and stored.purpose == "batch"
    batch = client.batches.create(input_file_id=stored.id, endpoint=CHAT, completion_window="24h")
    assert batch.status == "validating"
    for _ in range(10):
        batch = client.batches.retrieve(batch.id)
        if batch.status == "completed":
            break
    assert batch.status == "completed" and batch.request_counts is not None
    assert batch.request_counts.completed == 3
    assert [b.id for b in client.batches.list(limit=10)] == [batch.id]
    rows = [json.loads(row) for row in client.files.content(batch.output_file_id).text.splitlines()]
    assert {row["custom_id"] for row in rows} == {"request-0", "request-1", "request-2"}
    assert client.files.retrieve(stored.id).bytes == path.stat().st_size
    with pytest.raises(openai.NotFoundError):
        client.batches.retrieve("batch_missing")
    assert client.files.delete(stored.id).deleted is True
    assert emulator.errors == []
