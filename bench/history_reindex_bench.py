"""The one-time cost of the `index_every_message` migration (history search over every
message a request sent): an older database of N requests is re-indexed on its first open
by this version. Reported as seconds in all and microseconds per request.

    .venv/bin/python bench/history_reindex_bench.py [--requests 50000]
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import tempfile
import time
from pathlib import Path

from llamactl.history.migrations import MIGRATIONS, index_every_message
from llamactl.history.store import HistoryStore

ANSWER = "llamas graze in the Andes and hum softly " * 10  # a 400-byte answer


def older_database(path: Path, requests: int) -> None:
    """A database one step before the migration, with `requests` native requests and one
    OpenAI request in ten, indexed as that version indexed them."""
    db = sqlite3.connect(path)
    steps = MIGRATIONS[: MIGRATIONS.index(index_every_message)]
    for step in steps:
        step(db)
    db.execute(f"PRAGMA user_version = {len(steps)}")

    def fields(i: int) -> str:
        if i % 10:
            return json.dumps({"input": f"prompt {i} about alpacas"})
        messages = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": f"prompt {i}"}]
        return json.dumps({"messages": messages})

    db.executemany(
        "INSERT INTO requests (id, created_at, model, api_host, fields, status) VALUES (?, 1.0, 'm', 'h', ?, 'ok')",
        ((i, fields(i)) for i in range(1, requests + 1)),
    )
    db.executemany(
        "INSERT INTO results (request, position, text) VALUES (?, 0, ?)",
        ((i, ANSWER) for i in range(1, requests + 1)),
    )
    db.executemany(
        "INSERT INTO requests_search (rowid, input, output) VALUES (?, ?, ?)",
        ((i, f"prompt {i}", ANSWER) for i in range(1, requests + 1)),
    )
    db.commit()
    db.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=50000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "history.db"
        older_database(path, args.requests)
        started = time.perf_counter()
        HistoryStore.open(path).db.close()
        seconds = time.perf_counter() - started
    print(
        f"re-index of {args.requests} requests: {seconds:.2f} s ({seconds / args.requests * 1e6:.0f} us a request)"
    )


if __name__ == "__main__":
    main()
