"""The history schema, as small named steps applied in order.

`PRAGMA user_version` counts the steps a database has had; a new step is appended at the
end and never edited once released, so every existing database can catch up.
"""

from __future__ import annotations


def create_requests(db) -> None:
    """One row per inference request: where it went, how it went, and its figures. Ids are
    never reused, so an id seen once always means the same request (or none)."""
    db.execute("""
        CREATE TABLE requests (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            created_at REAL NOT NULL,
            model TEXT,
            version TEXT,
            deploy_id TEXT,
            api_host TEXT NOT NULL,
            fields TEXT NOT NULL,
            uploads TEXT,
            status TEXT NOT NULL,
            error TEXT,
            tokens_in INTEGER,
            tokens_out INTEGER,
            cost REAL,
            cost_estimated INTEGER NOT NULL DEFAULT 0,
            runtime_ms INTEGER,
            wall_seconds REAL,
            request_id TEXT,
            streamed INTEGER NOT NULL DEFAULT 0
        )""")


def create_results(db) -> None:
    """The generated text of every result of a request, in order."""
    db.execute("""
        CREATE TABLE results (
            request INTEGER NOT NULL,
            position INTEGER NOT NULL,
            text TEXT NOT NULL,
            PRIMARY KEY (request, position)
        ) WITHOUT ROWID""")


def create_search_index(db) -> None:
    """Full-text search over prompts and outputs; its rowid is the request's id. It keeps
    only the index (content=''), not a third copy of every text."""
    db.execute("""
        CREATE VIRTUAL TABLE requests_search USING fts5(
            input, output, content = '', tokenize = 'unicode61 remove_diacritics 2'
        )""")


def index_listing_and_stats(db) -> None:
    """`list --model/--status` walk an index newest first; `stats` reads only the
    covering time index, never the rows with their request fields."""
    db.execute("CREATE INDEX requests_by_model ON requests (model, id)")
    db.execute("CREATE INDEX requests_by_status ON requests (status, id)")
    db.execute("""
        CREATE INDEX requests_by_time ON requests (
            created_at, model, deploy_id, tokens_in, tokens_out, cost, cost_estimated
        )""")


def add_batch_id(db) -> None:
    """`infer --batch` tags each of its requests with the batch's id. `list --batch` and
    `stats --batch` walk the new index; the time index now covers batch_id too, so
    `stats --by batch` still reads only that index, never the rows."""
    db.execute("ALTER TABLE requests ADD COLUMN batch_id TEXT")
    db.execute("CREATE INDEX requests_by_batch ON requests (batch_id, id)")
    db.execute("DROP INDEX requests_by_time")
    db.execute("""
        CREATE INDEX requests_by_time ON requests (
            created_at, model, deploy_id, tokens_in, tokens_out, cost, cost_estimated, batch_id
        )""")


def add_batch_jobs(db) -> None:
    """Jobs handed to DeepInfra's Batch API (`llamactl batch`): a job is one input, sent as
    one or more batches (parts); every input line keeps its custom_id, the part and the
    position it went to (the API's errors name 0-based lines of a part), and, once the
    results are in, its status (so `submit --only-missing` resends just what did not run)."""
    db.execute("""
        CREATE TABLE batch_jobs (
            id TEXT PRIMARY KEY,
            created_at REAL NOT NULL,
            api_host TEXT NOT NULL,
            model TEXT NOT NULL,
            endpoint TEXT NOT NULL,
            input_path TEXT,
            input_sha256 TEXT NOT NULL,
            lines INTEGER NOT NULL,
            parts INTEGER NOT NULL,
            metadata TEXT,
            status TEXT NOT NULL,
            results_recorded INTEGER NOT NULL DEFAULT 0
        )""")
    db.execute("""
        CREATE TABLE batch_parts (
            job TEXT NOT NULL,
            part INTEGER NOT NULL,
            batch_id TEXT NOT NULL UNIQUE,
            input_file_id TEXT NOT NULL,
            object TEXT NOT NULL,
            PRIMARY KEY (job, part)
        )""")
    db.execute("""
        CREATE TABLE batch_lines (
            job TEXT NOT NULL,
            line INTEGER NOT NULL,
            custom_id TEXT NOT NULL,
            part INTEGER NOT NULL,
            position INTEGER NOT NULL,
            status TEXT,
            PRIMARY KEY (job, line)
        ) WITHOUT ROWID""")


def add_api(db) -> None:
    """Which API a request went to: `native` (every request before this step) or `openai`,
    DeepInfra's OpenAI-compatible chat API, whose `fields` hold `messages`."""
    db.execute("ALTER TABLE requests ADD COLUMN api TEXT NOT NULL DEFAULT 'native'")


def add_conversations(db) -> None:
    """Conversations (`infer --chat`, `-c`, `llamactl chat`): one row each with what its
    turns share, and each turn a request as before, tagged with its conversation. A turn's
    own messages (its user message, and a system prompt set at that turn) are rows of
    their own; its answer is its result. `retry_of` names the turn a `/retry` replaced.
    Older requests simply have no conversation."""
    db.execute("""
        CREATE TABLE conversations (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            created_at REAL NOT NULL,
            model TEXT,
            api TEXT NOT NULL,
            system TEXT
        )""")
    db.execute("ALTER TABLE requests ADD COLUMN conversation_id INTEGER")
    db.execute("ALTER TABLE requests ADD COLUMN retry_of INTEGER")
    db.execute("CREATE INDEX requests_by_conversation ON requests (conversation_id, id)")
    db.execute("""
        CREATE TABLE messages (
            request INTEGER NOT NULL,
            position INTEGER NOT NULL,
            role TEXT NOT NULL,
            content TEXT NOT NULL,
            PRIMARY KEY (request, position)
        ) WITHOUT ROWID""")


def add_finish_reason(db) -> None:
    """Why the answer stopped, in the API's word (`length` at the token limit, `eos_token`,
    `stop`, ...), so `history show` says a cut answer was cut. Older requests have none."""
    db.execute("ALTER TABLE requests ADD COLUMN finish_reason TEXT")


def index_every_message(db) -> None:
    """`history search` finds a request by every text it sent: all the messages of an
    OpenAI request (system, user, assistant), not just its last user message, and a chat
    turn's system prompt. The index keeps no texts, so it is rebuilt from the rows: the
    same texts a later removal will tell it to forget."""
    import json

    from llamactl.history.search_text import search_input

    db.execute("INSERT INTO requests_search (requests_search) VALUES ('delete-all')")
    rows = db.execute("""
        SELECT id, fields, conversation_id IS NOT NULL, coalesce((
            SELECT group_concat(text, char(10) || char(10))
            FROM (SELECT text FROM results WHERE request = requests.id ORDER BY position)
        ), '')
        FROM requests""")

    def own_messages(request: int) -> list[dict]:
        query = "SELECT role, content FROM messages WHERE request = ? ORDER BY position"
        return [{"role": role, "content": content} for role, content in db.execute(query, (request,))]

    db.executemany(
        "INSERT INTO requests_search (rowid, input, output) VALUES (?, ?, ?)",
        (
            (request, search_input(json.loads(fields), own_messages(request) if turn else []), output)
            for request, fields, turn, output in rows
        ),
    )


def map_batch_lines_compactly(db) -> None:
    """A job whose custom_ids are all `line-N` keeps its mapping in three columns instead
    of a batch_lines row a line: the input line of every converted line (int64s, little
    endian), the lines of each part (JSON) and, once collected, the status most lines
    have; batch_lines then holds only the lines whose status differs. Jobs submitted
    before this step keep their rows (line_numbers NULL)."""
    db.execute("ALTER TABLE batch_jobs ADD COLUMN line_numbers BLOB")
    db.execute("ALTER TABLE batch_jobs ADD COLUMN part_lines TEXT")
    db.execute("ALTER TABLE batch_jobs ADD COLUMN line_status TEXT")


# key_batch_jobs_locally's tables: a job's columns but its key and the later ones, and a line's.
KEYED_JOB_COLUMNS = """
    created_at REAL NOT NULL, api_host TEXT NOT NULL, model TEXT NOT NULL, endpoint TEXT NOT NULL,
    input_path TEXT, input_sha256 TEXT NOT NULL, lines INTEGER NOT NULL, parts INTEGER NOT NULL,
    metadata TEXT, status TEXT NOT NULL, results_recorded INTEGER NOT NULL DEFAULT 0"""
KEYED_LINE_COLUMNS = """
    line INTEGER NOT NULL, custom_id TEXT NOT NULL, part INTEGER NOT NULL, position INTEGER NOT NULL,
    status TEXT, PRIMARY KEY (job, line)"""


def key_batch_jobs_locally(db) -> None:
    """A batch id is the API's, and two APIs (a staging server and production, an emulator
    restarted from its first id) can give the same one: a job is now keyed by a number of
    this machine's (`key`), which its parts and lines name. The user still names a job by
    its id, at its API host (the newest such job). Its downloads live under `batch-jobs/`
    in `directory`: a job from before keeps its id's folder, a new one gets `job-KEY`."""
    db.execute(f"""
        CREATE TABLE batch_jobs_keyed (
            key INTEGER PRIMARY KEY AUTOINCREMENT,
            id TEXT NOT NULL,
            {KEYED_JOB_COLUMNS},
            line_numbers BLOB,
            part_lines TEXT,
            line_status TEXT,
            directory TEXT NOT NULL UNIQUE
        )""")
    columns = (
        "id, created_at, api_host, model, endpoint, input_path, input_sha256, lines, parts, metadata,"
        " status, results_recorded, line_numbers, part_lines, line_status"
    )
    db.execute(
        f"INSERT INTO batch_jobs_keyed ({columns}, directory)"
        f" SELECT {columns}, id FROM batch_jobs ORDER BY created_at, id"
    )
    db.execute("""
        CREATE TABLE batch_parts_keyed (
            job INTEGER NOT NULL,
            part INTEGER NOT NULL,
            batch_id TEXT NOT NULL,
            input_file_id TEXT NOT NULL,
            object TEXT NOT NULL,
            PRIMARY KEY (job, part)
        )""")
    db.execute("""
        INSERT INTO batch_parts_keyed (job, part, batch_id, input_file_id, object)
        SELECT jobs.key, part, batch_id, input_file_id, object
        FROM batch_parts JOIN batch_jobs_keyed AS jobs ON jobs.id = batch_parts.job""")
    db.execute(f"CREATE TABLE batch_lines_keyed (job INTEGER NOT NULL, {KEYED_LINE_COLUMNS}) WITHOUT ROWID")
    db.execute("""
        INSERT INTO batch_lines_keyed (job, line, custom_id, part, position, status)
        SELECT jobs.key, line, custom_id, part, position, batch_lines.status
        FROM batch_lines JOIN batch_jobs_keyed AS jobs ON jobs.id = batch_lines.job""")
    for table in ("batch_jobs", "batch_parts", "batch_lines"):
        db.execute(f"DROP TABLE {table}")
        db.execute(f"ALTER TABLE {table}_keyed RENAME TO {table}")
    db.execute("CREATE INDEX batch_jobs_by_id ON batch_jobs (api_host, id)")
    db.execute("CREATE INDEX batch_parts_by_batch ON batch_parts (batch_id)")


def index_only_conversation_turns(db) -> None:
    """Only chat turns have a conversation: the conversation index leaves out every other
    request (a batch job's 50,000 lines among them) instead of keeping a NULL entry for
    each. Every query by conversation (`= ?`, `IS NOT NULL`) can still use it."""
    db.execute("DROP INDEX requests_by_conversation")
    db.execute(
        "CREATE INDEX requests_by_conversation ON requests (conversation_id, id) WHERE conversation_id IS NOT NULL"
    )


def cover_unknown_tokens_and_batch_hosts(db) -> None:
    """`stats` tells a request whose token counts are unknown (a stream cut before its
    usage came, not an error, which used none) and keeps apart the jobs two API hosts gave
    the same batch id: the time index covers status and api_host too, so it still answers
    stats without reading a row."""
    db.execute("DROP INDEX requests_by_time")
    db.execute("""
        CREATE INDEX requests_by_time ON requests (
            created_at, model, deploy_id, tokens_in, tokens_out, cost, cost_estimated, batch_id,
            status, api_host
        )""")


MIGRATIONS = (
    create_requests,
    create_results,
    create_search_index,
    index_listing_and_stats,
    add_batch_id,
    add_batch_jobs,
    add_api,
    add_conversations,
    add_finish_reason,
    index_every_message,
    map_batch_lines_compactly,
    key_batch_jobs_locally,
    index_only_conversation_turns,
    cover_unknown_tokens_and_batch_hosts,
)
