"""`llamactl batch` at the Batch API's limit: a 50,000-line input submitted (checked,
converted, uploaded) and its results collected in input order, each against a bare script
that moves the same bytes once (read the lines llamactl uploads, write them and upload
them; download the output and write it), with peak RSS; and what polling costs in CPU.
The modules are compiled first, as an install has them.

    .venv/bin/python bench/batch_api_bench.py [--lines 50000] [--prompt-bytes 200] [--polls 300]
        [--runs 3] [--submit-only | --collect-only] [--baseline-tree DIR]

The first collection is measured with history and without (LLAMACTL_NO_HISTORY=1), each
run from a fresh copy of the state directory as the completed job left it, the runs
interleaved with the bare download's; medians. Beside it, as a floor and not a target,
the least Python that writes the records in order (BARE_IN_ORDER). --baseline-tree DIR times another llamactl
tree too (an older commit's `git archive`, run with PYTHONPATH=DIR) in the same rounds,
its job submitted by that tree so that both can read its state.

Targets (issue 17): peak RSS under 100 MiB whatever the file size; submit and results
within 1.5x the bare byte-moving script; an hour of `batch wait` under 1 s of CPU.
"""

from __future__ import annotations

import argparse
import compileall
import json
import shutil
import sys
import tempfile
from pathlib import Path

from emulated import MODEL, Emulator, client_env
from timing import ensure_bytecode, llamactl_script, run_once, run_watched

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from tests.emulator import BatchPlan  # noqa: E402

BARE_UPLOAD = """
import os, sys, requests
source, copy = sys.argv[1], sys.argv[2]
with open(source, "rb") as lines, open(copy, "wb") as out:
    for line in lines:
        out.write(line)
with open(copy, "rb") as data:
    answer = requests.post(os.environ["DEEPINFRA_HOST"] + "/v1/openai/files",
                           headers={"Authorization": "Bearer " + os.environ["DEEPINFRA_TOKEN"]},
                           files={"file": ("input.jsonl", data)}, data={"purpose": "batch"})
answer.raise_for_status()
"""
BARE_DOWNLOAD = """
import os, sys, requests
file_id, copy = sys.argv[1], sys.argv[2]
answer = requests.get(os.environ["DEEPINFRA_HOST"] + "/v1/openai/files/" + file_id + "/content",
                      headers={"Authorization": "Bearer " + os.environ["DEEPINFRA_TOKEN"]}, stream=True)
with open(copy, "wb") as out:
    for chunk in answer.iter_content(1 << 16):
        out.write(chunk)
"""
# The least Python that does the job (no limit on memory, no checks, no history, no resume):
# download the output, decode each row, keep its record by line, write them in order. Not a
# target, a floor: what per-line work in Python costs before any of llamactl's.
BARE_IN_ORDER = """
import json, os, sys, requests
file_id, copy, lines = sys.argv[1], sys.argv[2], int(sys.argv[3])
answer = requests.get(os.environ["DEEPINFRA_HOST"] + "/v1/openai/files/" + file_id + "/content",
                      headers={"Authorization": "Bearer " + os.environ["DEEPINFRA_TOKEN"]}, stream=True)
with open(copy, "wb") as out:
    for chunk in answer.iter_content(1 << 16):
        out.write(chunk)
records = [None] * lines
with open(copy, "rb") as rows:
    for raw in rows:
        row = json.loads(raw)
        line, response = int(row["custom_id"][5:]), row["response"]
        body = response["body"]
        usage = body["usage"]
        records[line - 1] = json.dumps({
            "line": line, "custom_id": row["custom_id"], "status": "ok",
            "results": [choice["message"]["content"] for choice in body["choices"]],
            "tokens_in": usage["prompt_tokens"], "tokens_out": usage["completion_tokens"],
            "cost": usage["estimated_cost"], "request_id": response["request_id"], "error": None,
        }, ensure_ascii=False)
with open(copy + ".records", "w") as out:
    for record in records:
        out.write(record + "\\n")
"""
MIB = 1024


def write_input(path: Path, lines: int, prompt_bytes: int) -> int:
    filler = ("lorem ipsum dolor sit amet " * (prompt_bytes // 27 + 1))[:prompt_bytes]
    with path.open("w") as out:
        for n in range(lines):
            out.write(json.dumps(f"prompt {n}: {filler}") + "\n")
    return path.stat().st_size


def median_of(runs: int, command: list[str], env: dict) -> tuple[float, float, int]:
    return median_sample([run_watched(command, env) for _ in range(runs)])


def median_sample(samples: list[tuple[float, float, int]]) -> tuple[float, float, int]:
    """The run of median wall time (its CPU), with the highest peak RSS of all."""
    wall, cpu, _ = sorted(samples, key=lambda sample: sample[0])[len(samples) // 2]
    return wall, cpu, max(sample[2] for sample in samples)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--lines", type=int, default=50_000)
    parser.add_argument("--prompt-bytes", type=int, default=200)
    parser.add_argument("--polls", type=int, default=300)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--submit-only", action="store_true", help="measure submit alone")
    parser.add_argument("--collect-only", action="store_true", help="measure the first collection alone")
    parser.add_argument("--baseline-tree", type=Path, help="another llamactl tree to time collecting with")
    args = parser.parse_args()
    llamactl = llamactl_script()
    ensure_bytecode()  # as an install has it: no module compiled from source on each run
    work = Path(tempfile.mkdtemp(prefix="batch-api-bench-"))
    source = work / "prompts.jsonl"
    size = write_input(source, args.lines, args.prompt_bytes)
    print(f"input: {args.lines:,} lines, {size / 1e6:.1f} MB")
    ok = True
    with Emulator() as emulator:
        if not args.collect_only:
            ok &= submitting(emulator, llamactl, source, size, args.runs, work)
            if args.submit_only:
                return 0 if ok else 1
        ok &= collecting(emulator, llamactl, source, args.runs, work, args.baseline_tree)
        if not args.collect_only:
            ok &= polling_cpu(emulator, llamactl, args.polls, work)
    return 0 if ok else 1


def submitting(emulator, llamactl: str, source: Path, size: int, runs: int, work: Path) -> bool:
    """`batch submit` of the input, `runs` times into fresh state directories."""
    submits = []
    for _ in range(runs):
        env = client_env(emulator)  # a fresh state directory each time
        submits.append((run_watched([llamactl, "batch", "submit", "-m", MODEL, str(source)], env), env))
    last_env = submits[-1][1]
    middle = sorted(sample[0] for sample in submits)[len(submits) // 2]
    submitted = (*middle[:2], max(sample[0][2] for sample in submits))
    # The bare script reads and writes the bytes llamactl uploads (the converted lines,
    # larger than the input by each line's wrapper) once; the input's own bytes, shown
    # too, would leave the API's reading of that wrapper to llamactl's account.
    uploaded = work / "uploaded.jsonl"
    uploaded.write_bytes(b"".join(_uploaded(emulator, batch) for batch in _job_ids(last_env)))
    bare = median_of(runs, [sys.executable, "-c", BARE_UPLOAD, str(uploaded), str(work / "copy")], env)
    as_input = median_of(runs, [sys.executable, "-c", BARE_UPLOAD, str(source), str(work / "copy")], env)
    ok = report(
        f"submit (check, convert, upload {uploaded.stat().st_size / 1e6:.1f} MB)",
        submitted,
        bare,
    )
    print(
        f"  (bare moving the input's {size / 1e6:.1f} MB instead: {as_input[0]:.2f} s,"
        f" {submitted[0] / as_input[0]:.2f}x)"
    )

    return ok


def collecting(emulator, llamactl: str, source: Path, runs: int, work: Path, baseline: Path | None) -> bool:
    """The first `batch results` of a completed job, with history and without (and with the
    baseline tree's llamactl, when given), each run from a fresh copy of the state the job
    left, interleaved with the bare download; then collecting again (a copy)."""
    env = client_env(emulator)
    trees = {"": {}} if baseline is None else {"": {}, "baseline ": {"PYTHONPATH": str(baseline.resolve())}}
    if baseline is not None:
        compileall.compile_dir(baseline / "llamactl", quiet=1)  # as ensure_bytecode does for this tree
    submitted_by = {**env, **trees[list(trees)[-1]]}  # the oldest tree: its schema the others can migrate
    run_once([llamactl, "batch", "submit", "-m", MODEL, str(source)], submitted_by)
    (job_id,) = _job_ids(env)
    while emulator.batch_store.batches[job_id].status != "completed":
        emulator.batch_steps()
    snapshot = work / "completed-state"
    shutil.copytree(env["LLAMACTL_HOME"], snapshot)
    output_id = emulator.batch_store.batches[job_id].output_file_id
    bare_command = [sys.executable, "-c", BARE_DOWNLOAD, output_id, str(work / "out")]
    lines = sum(1 for _ in source.open("rb"))
    in_order_command = [sys.executable, "-c", BARE_IN_ORDER, output_id, str(work / "in-order"), str(lines)]
    kinds = {
        f"{tree}{label}": {**extra, **history}
        for tree, extra in trees.items()
        for label, history in (("with history", {}), ("without history", {"LLAMACTL_NO_HISTORY": "1"}))
    }
    samples: dict[str, list[tuple[float, float, int]]] = {
        "bare": [],
        "bare in order": [],
        **{kind: [] for kind in kinds},
    }
    for round_number in range(runs):
        samples["bare"].append(run_watched(bare_command, env))
        samples["bare in order"].append(run_watched(in_order_command, env))
        for number, (kind, extra) in enumerate(kinds.items()):
            home = work / f"state-{round_number}-{number}"
            shutil.copytree(snapshot, home)
            results = [
                llamactl,
                "batch",
                "results",
                job_id,
                "--output",
                str(work / f"results-{number}.jsonl"),
            ]
            samples[kind].append(run_watched(results, {**env, **extra, "LLAMACTL_HOME": str(home)}))
    bare, in_order = median_sample(samples["bare"]), median_sample(samples["bare in order"])
    ok = True
    for kind in kinds:
        work_done = "download, order, write" + (", record in history" if "with h" in kind else "")
        title = f"results, first time, {kind} ({work_done})"
        passed = report(title, median_sample(samples[kind]), bare, in_order)
        ok &= passed or kind.startswith("baseline")  # the baseline is shown, not judged
    if baseline is not None:  # the same records and the same history as the baseline's
        same = (work / "results-0.jsonl").read_bytes() == (work / "results-2.jsonl").read_bytes()
        recorded = history_tables(work / "state-0-0") == history_tables(work / "state-0-2")
        print(f"\nidentical to the baseline's: records {same}, history tables {recorded}")
    again_env = {**env, "LLAMACTL_HOME": str(work / "state-0-0")}  # collected, with history
    results = [llamactl, "batch", "results", job_id, "--output", str(work / "results.jsonl")]
    again = median_of(runs, results, again_env)  # downloaded and recorded already
    ok &= report("results again (the records kept at the first collection, copied)", again, bare)
    return ok


def history_tables(home: Path) -> list:
    """Every table the first collection writes history to, the search index's own too."""
    import sqlite3

    tables = ("requests", "results", "requests_search_data", "requests_search_idx", "requests_search_docsize")
    with sqlite3.connect(home / "history.db") as db:
        return [db.execute(f"SELECT * FROM {table} ORDER BY 1, 2").fetchall() for table in tables]


def _uploaded(emulator, job_id: str) -> bytes:
    batch = emulator.batch_store.batches[job_id]
    return emulator.batch_store.files[batch.input_file_id].data


def _job_ids(env: dict) -> list[str]:
    import sqlite3

    path = Path(env["LLAMACTL_HOME"]) / "history.db"
    if not path.exists():
        return []
    with sqlite3.connect(path) as db:
        return [row[0] for row in db.execute("SELECT batch_id FROM batch_parts")]


def report(
    title: str,
    sample: tuple[float, float, int],
    bare: tuple[float, float, int],
    floor: tuple[float, float, int] | None = None,
) -> bool:
    """Wall time is the target; the CPU seconds (the client's own, not the emulator's in
    this process) say more on a loaded machine, where wall time is mostly waiting. With
    `floor` (BARE_IN_ORDER's run), the ratio to it too."""
    (wall, cpu, rss_kib), ratio = sample, sample[0] / bare[0]
    rss_ok, time_ok = rss_kib < 100 * MIB, ratio <= 1.5
    print(f"\n{title}")
    print(
        f"  llamactl   {wall:7.2f} s  {cpu:5.2f} s CPU   peak RSS {rss_kib / MIB:6.1f} MiB"
        f" (target < 100: {'ok' if rss_ok else 'MISSED'})"
    )
    print(f"  bare       {bare[0]:7.2f} s  {bare[1]:5.2f} s CPU   peak RSS {bare[2] / MIB:6.1f} MiB")
    print(
        f"  ratio      {ratio:7.2f}x (target <= 1.5x: {'ok' if time_ok else 'MISSED'}); CPU {cpu / bare[1]:.2f}x"
    )
    if floor is not None:
        print(
            f"  bare, in input order (the least Python for it) {floor[0]:5.2f} s  {floor[1]:5.2f} s CPU"
            f"   peak RSS {floor[2] / MIB:6.1f} MiB: llamactl {wall / floor[0]:.2f}x"
        )
    return rss_ok and time_ok


def polling_cpu(emulator, llamactl: str, polls: int, work: Path) -> bool:
    """CPU of `batch wait` for 1 poll and for `polls` polls: the difference is the cost per
    poll; an hour of waiting is start-up plus the polls of an hour at the growing interval."""
    source = work / "one.jsonl"
    source.write_text('"x"\n')
    cpu = {}
    for count in (1, polls):
        env = client_env(emulator)
        emulator.batch_plan = BatchPlan(validating_steps=count)
        run_once([llamactl, "batch", "submit", "-m", MODEL, str(source)], env)
        job = _job_ids(env)[0]
        cpu[count] = run_once([llamactl, "batch", "wait", job, "--interval", "0"], env)[1]
    per_poll = (cpu[polls] - cpu[1]) / (polls - 1)
    interval, elapsed, hour_polls = 5.0, 0.0, 0
    while elapsed < 3600:
        hour_polls += 1
        elapsed += interval
        interval = min(interval * 1.5, 60.0)
    hour = cpu[1] + hour_polls * per_poll
    passed = hour < 1.0
    print("\npolling")
    print(
        f"  one poll (with start-up) {cpu[1] * 1000:7.1f} ms CPU; each further poll {per_poll * 1000:6.2f} ms CPU"
    )
    print(
        f"  an hour: {hour_polls} polls -> {hour:5.2f} s CPU (target < 1 s: {'ok' if passed else 'MISSED'})"
    )
    return passed


if __name__ == "__main__":
    sys.exit(main())
