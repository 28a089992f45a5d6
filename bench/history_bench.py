"""How the history store behaves at scale.

Fills a fresh database with 100,000 requests (random prompts and outputs spread over 90
days, several models and statuses), then reports:

* the queries behind `history list`, `history search` and `history stats`, in-process;
* the same commands end to end, as real `llamactl` processes (Python start-up included,
  with `history path` as the start-up baseline);
* one `infer`'s recording step (the recorder `infer` calls), whole and split into building
  the row, opening and closing the database, and the insert transaction itself.

    /tmp/v/bin/python bench/history_bench.py [--rows 100000] [--keep]
"""

from __future__ import annotations

import argparse
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from llamactl.api.request import InferenceRequest, InferenceTarget  # noqa: E402
from llamactl.env import Environment  # noqa: E402
from llamactl.history.recording import recorder_for  # noqa: E402
from llamactl.history.records import HistoryRecord  # noqa: E402
from llamactl.history.store import HistoryStore, history_path  # noqa: E402
from llamactl.inference.run import InferenceOutcome  # noqa: E402

MODELS = [
    "meta-llama/Llama-2-70b-chat-hf",
    "meta-llama/Llama-2-7b-chat-hf",
    "mistralai/Mistral-7B-Instruct-v0.1",
    "acme-corp/Llama-2-13b-dedicated",
]
STATUSES = ["ok"] * 90 + ["error"] * 5 + ["incomplete"] * 3 + ["interrupted"] * 2
VOCABULARY = [f"w{n}" for n in range(5000)] + ["llama", "alpaca", "vicuna", "guanaco", "andes", "wool"]
BATCH = 5000


def random_text(rng: random.Random, words: int) -> str:
    return " ".join(rng.choice(VOCABULARY) for _ in range(words))


def random_record(rng: random.Random, now: float) -> HistoryRecord:
    status = rng.choice(STATUSES)
    tokens_in, tokens_out = rng.randint(5, 400), rng.randint(1, 500)
    results = [random_text(rng, rng.randint(20, 120)) for _ in range(2 if rng.random() < 0.05 else 1)]
    return HistoryRecord(
        created_at=now - rng.uniform(0, 90 * 86400),
        api_host="api.deepinfra.com",
        fields={"input": random_text(rng, rng.randint(5, 60)), "max_new_tokens": 512, "stream": True},
        status=status,
        model=rng.choice(MODELS),
        results=results if status != "error" else [],
        error="the API rejected the request" if status == "error" else None,
        tokens_in=tokens_in,
        tokens_out=tokens_out,
        cost=(tokens_in + tokens_out) * 1e-6,
        cost_estimated=rng.random() < 0.3,
        wall_seconds=rng.uniform(0.2, 20),
        request_id=f"R{rng.getrandbits(64):x}",
        streamed=True,
    )


def fill(path: Path, rows: int) -> float:
    rng, now = random.Random(5), time.time()
    started = time.perf_counter()
    with HistoryStore.open(path) as store:
        for start in range(0, rows, BATCH):
            store.add_all(random_record(rng, now) for _ in range(min(BATCH, rows - start)))
    return time.perf_counter() - started


def median_ms(action, runs: int) -> tuple[float, float]:
    """(median, slowest) of `runs` calls, in milliseconds."""
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        action()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times), max(times)


def report(label: str, timing: tuple[float, float]) -> None:
    print(f"  {label:<44} median {timing[0]:9.3f} ms   max {timing[1]:9.3f} ms")


def bench_queries(path: Path) -> None:
    print("queries (in-process, database open):")
    since_7d = time.time() - 7 * 86400
    since_1d = time.time() - 86400
    with HistoryStore.open(path) as store:
        for label, action in [
            ("list -n 20", lambda: store.recent(20)),
            (
                "list -n 20 --model (a quarter of the rows)",
                lambda: store.recent(20, store.filters(model=MODELS[1])),
            ),
            (
                "list -n 20 --model meta-llama/ (2 models)",
                lambda: store.recent(20, store.filters(model="meta-llama/")),
            ),
            (
                "list -n 20 --model nobody/ (no match)",
                lambda: store.recent(20, store.filters(model="nobody/")),
            ),
            (
                "list -n 20 --status interrupted (2%)",
                lambda: store.recent(20, store.filters(status="interrupted")),
            ),
            ("list -n 20 --since 1d", lambda: store.recent(20, store.filters(since=since_1d))),
            (
                "list -n 20 --since (a future time: no match)",
                lambda: store.recent(20, store.filters(since=time.time() + 60)),
            ),
            ("search llama (common word)", lambda: store.search("llama", 20)),
            ("search 'w17 w4242' (two words)", lambda: store.search("w17 w4242", 20)),
            ("search zzz (no match)", lambda: store.search("zzz", 20)),
            (
                "search llama --model meta-llama/ --status error",
                lambda: store.search("llama", 20, store.filters(model="meta-llama/", status="error")),
            ),
            ("stats --by model (all 100k)", lambda: store.stats("model")),
            ("stats --by day (all 100k)", lambda: store.stats("day")),
            ("stats --since 7d", lambda: store.stats("model", store.filters(since=since_7d))),
            ("stats --model meta-llama/", lambda: store.stats("model", store.filters(model="meta-llama/"))),
            ("stats --status error", lambda: store.stats("model", store.filters(status="error"))),
            (
                "export --model meta-llama/ --since 1d",
                lambda: sum(1 for _ in store.export(store.filters(model="meta-llama/", since=since_1d))),
            ),
            ("show ID", lambda: store.get(50_000)),
        ]:
            report(label, median_ms(action, 20))


def bench_commands(home: Path) -> None:
    print("commands (real processes, stdout to a pipe):")
    env = {"LLAMACTL_HOME": str(home), "PATH": "/usr/bin:/bin"}

    def command(*args: str):
        return lambda: subprocess.run(
            [sys.executable, "-m", "llamactl", *args],
            env=env,
            cwd=REPO,
            stdout=subprocess.DEVNULL,
            check=True,
        )

    for label, args in [
        ("history path (start-up baseline)", ("history", "path")),
        ("history list", ("history", "list")),
        ("history list --json", ("history", "list", "--json")),
        ("history search llama", ("history", "search", "llama")),
        ("history stats", ("history", "stats")),
        ("history stats --by day", ("history", "stats", "--by", "day")),
        ("history export --since 1d", ("history", "export", "--since", "1d")),
        ("history list --model meta-llama/", ("history", "list", "--model", "meta-llama/")),
        ("history search llama --status error", ("history", "search", "llama", "--status", "error")),
    ]:
        report(label, median_ms(command(*args), 7))


def bench_recording(home: Path) -> None:
    print("one infer's recording step (into the 100k-row database):")
    env = Environment(environ={"LLAMACTL_HOME": str(home)})
    request = InferenceRequest(
        InferenceTarget(model=MODELS[0]), {"input": random_text(random.Random(1), 40), "stream": True}
    )
    outcome = InferenceOutcome(
        request,
        env.api_url,
        results=[random_text(random.Random(2), 120)],
        tokens_in=41,
        tokens_out=160,
        cost=0.0001,
        wall_seconds=1.5,
        request_id="Rbench",
        streamed=True,
    )
    path = history_path(env)
    record = recorder_for(env, env.output.warn, enabled=True)
    # The last connection to close folds the WAL back into the database (a checkpoint with
    # its fsyncs); while other processes have it open, that is left to them.
    report("recorder call, alone (close checkpoints)", median_ms(lambda: record(outcome), 200))
    with HistoryStore.open(path):
        report("recorder call, another process has it open", median_ms(lambda: record(outcome), 200))
    report(
        "  building the row from the outcome",
        median_ms(lambda: HistoryRecord.from_outcome(outcome, env.api_host), 200),
    )
    report(
        "  opening (connect, WAL, schema check) + close",
        median_ms(lambda: HistoryStore.open(path).db.close(), 200),
    )
    with HistoryStore.open(path) as store:
        row = HistoryRecord.from_outcome(outcome, env.api_host)
        report("  the insert transaction itself", median_ms(lambda: store.add_all([row]), 200))
    imports = subprocess.run(
        [
            sys.executable,
            "-c",
            "import time, llamactl.commands.infer, llamactl.inference.run, llamactl.inference.prepare; "
            "t = time.perf_counter(); import llamactl.history.store; print((time.perf_counter() - t) * 1000)",
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    )
    print(f"  {'importing sqlite3 + the store, once, in infer':<44} {float(imports.stdout):9.3f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--keep", action="store_true", help="keep the database and print where it is")
    args = parser.parse_args()
    home = Path(tempfile.mkdtemp(prefix="llamactl-history-bench-"))
    path = history_path(Environment(environ={"LLAMACTL_HOME": str(home)}))
    seconds = fill(path, args.rows)
    print(f"filled {args.rows:,} requests in {seconds:.1f} s; database {path.stat().st_size / 1e6:.1f} MB")
    bench_queries(path)
    bench_commands(home)
    bench_recording(home)
    if args.keep:
        print(f"kept: {path}")
    else:
        for file in home.iterdir():
            file.unlink()
        home.rmdir()


if __name__ == "__main__":
    main()
