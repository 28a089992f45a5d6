"""What each path imports: --version imports nothing heavy, and infer's import set does
not grow beyond what it needs. Checked by module names, never by wall-clock time. Also
the one start-up cost no import set shows: the garbage collector's first threshold,
raised before Typer loads so that importing does not rescan its young objects some 50
times (docs/performance.md)."""

from __future__ import annotations

import ast
import json
import subprocess
import sys

from llamactl.entry import GC_THRESHOLD
from tests.helpers import REPO

MODEL = "meta-llama/Llama-2-70b-chat-hf"
HEAVY = {"requests", "urllib3", "rich", "keyring", "sqlite3", "_sqlite3", "sseclient", "pydantic", "typer"}

PROBE = """
import gc, json, sys
before = set(sys.modules)  # what the interpreter's start-up (site, .pth files) loaded
collections = gc.get_stats()[0]["collections"]
from llamactl.entry import main
code = main(sys.argv[1:])
collections = gc.get_stats()[0]["collections"] - collections
new = {m: mod for m, mod in list(sys.modules.items()) if m not in before}
site = [m for m, mod in new.items() if "-packages" in (getattr(mod, "__file__", None) or "")]
ours = [m for m in new if m == "llamactl" or m.startswith("llamactl.")]
std = [m for m in new if m in {"sqlite3", "_sqlite3"}]
sys.stderr.write("\\nIMPORTS " + json.dumps({"code": code, "third_party": sorted({m.split(".")[0] for m in site}),
                                           "llamactl": sorted(ours), "std": std,
                                           "gc": [gc.get_threshold()[0], collections]}) + "\\n")
"""

# The distributions a non-streamed infer may load: Typer (and what it needs), requests.
# (`backports` is the namespace package keyring's dependency backports.tarfile installs;
# urllib3 looks in it for an optional zstd module.)
INFER_THIRD_PARTY = {
    "typer",
    "annotated_doc",
    "shellingham",
    "requests",
    "urllib3",
    "certifi",
    "charset_normalizer",
    "idna",
    "backports",
}
INFER_MODULES = {
    "llamactl",
    "llamactl.entry",
    "llamactl.signals",
    "llamactl.cli",
    "llamactl.env",
    "llamactl.errors",
    "llamactl.commands",
    "llamactl.commands.infer",
    "llamactl.commands.infer_options",
    "llamactl.commands.options",
    "llamactl.inference.prepare",
    "llamactl.inference.inputs",
    "llamactl.api.request",
    "llamactl.inference.selectors",
    "llamactl.api.client",
    "llamactl.api.error_body",
    "llamactl.redact",
    "llamactl.auth.credentials",
    "llamactl.api.retry",
    "llamactl.output.streams",
    "llamactl.inference.run",
    "llamactl.inference.outcome",
    "llamactl.api.native_stream",
    "llamactl.api.body",
    "llamactl.api.deadline",
    "llamactl.api.json_body",
    "llamactl.api.sse_framing",
    "llamactl.output.views",
    "llamactl.catalogue.pricing",
    "llamactl.catalogue.names",
    "llamactl.catalogue.model_choice",
    "llamactl.history",
    "llamactl.history.recording",
    # the subpackages themselves: their __init__ modules are empty
    "llamactl.api",
    "llamactl.auth",
    "llamactl.catalogue",
    "llamactl.inference",
    "llamactl.output",
    "llamactl.output.sink",
    "llamactl.output.sanitize",
    "llamactl.output.text",
    "llamactl.output.format",
    "llamactl.inference.session",
    "llamactl.commands.common",
    "llamactl.commands.helptext",
    "llamactl.plain",
}


def imports_of(args: list[str], env: dict) -> dict:
    run = subprocess.run(
        [sys.executable, "-c", PROBE, *args],
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=30,
    )
    line = next(line for line in run.stderr.splitlines() if line.startswith("IMPORTS "))
    return json.loads(line[len("IMPORTS ") :])


def test_version_imports_nothing_heavy(env):
    seen = imports_of(["--version"], env)
    assert seen["code"] == 0
    assert seen["third_party"] == []
    assert seen["std"] == []
    assert set(seen["llamactl"]) == {"llamactl", "llamactl.entry"}
    assert seen["gc"][0] == 700  # Python's default: --version leaves the collector alone


def test_non_streamed_infer_imports_only_what_it_needs(env):
    seen = imports_of(["infer", "-m", MODEL, "--no-stream", "--no-history", "-q", "hi"], env)
    assert seen["code"] == 0
    assert set(seen["third_party"]) <= INFER_THIRD_PARTY, set(seen["third_party"]) - INFER_THIRD_PARTY
    assert set(seen["llamactl"]) <= INFER_MODULES, set(seen["llamactl"]) - INFER_MODULES
    assert seen["std"] == []


def test_a_request_starts_up_without_collecting_garbage(env, tmp_path):
    """About 50 young-generation collections at Python's threshold (700); none at ours.
    Counted with bytecode already compiled, as an install has it: compiling llamactl's
    modules from source (PYTHONDONTWRITEBYTECODE is set on some machines) allocates enough
    to collect, and that is not start-up's work."""
    env = {key: value for key, value in env.items() if key != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPYCACHEPREFIX"] = str(tmp_path / "pycache")
    args = ["infer", "-m", MODEL, "--no-stream", "-q", "hi"]
    imports_of(args, env)  # compiles the bytecode, and makes the history database
    seen = imports_of(args, env)
    assert seen["code"] == 0
    assert seen["gc"] == [GC_THRESHOLD, 0]


def test_streamed_infer_adds_only_sseclient_and_history_adds_only_sqlite(env):
    streamed = imports_of(["infer", "-m", MODEL, "--no-history", "-q", "hi"], env)
    assert set(streamed["third_party"]) - INFER_THIRD_PARTY == {"sseclient"}
    assert streamed["std"] == []
    recorded = imports_of(["infer", "-m", MODEL, "--no-stream", "-q", "hi"], env)
    assert set(recorded["third_party"]) <= INFER_THIRD_PARTY
    assert "sqlite3" in recorded["std"]
    assert not {"rich", "keyring"} & set(recorded["third_party"])


def test_the_check_sees_heavy_imports(env):
    """The probe must notice a heavy module when a path does load one (a control)."""
    seen = imports_of(["models", "list", "--help"], env)
    assert "rich" in seen["third_party"]


def test_every_subpackage_is_a_regular_package_whose_init_is_only_a_docstring():
    """Without an __init__.py a folder is a namespace package (slower to import, and an
    editable install maps it apart); with code in it, importing any module runs that code."""
    folders = sorted({module.parent for module in (REPO / "llamactl").glob("*/*.py")})
    assert len(folders) >= 10
    for folder in folders:
        init = folder / "__init__.py"
        assert init.is_file(), folder
        body = ast.parse(init.read_text(encoding="utf-8")).body
        assert len(body) == 1 and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant), (
            init
        )


def test_recording_a_request_loads_no_history_query_migration_or_conversation(env):
    """An infer that records into an up-to-date history loads neither the queries `history`
    reads with, nor the migrations, nor the conversations' SQL: start-up cost every recorded
    request would pay (bench/request.py --instructions)."""
    args = ["infer", "-m", MODEL, "--no-stream", "-q", "hi"]
    assert imports_of(args, env)["code"] == 0  # makes the database
    seen = imports_of(args, env)
    assert seen["code"] == 0
    assert "llamactl.history.store" in seen["llamactl"]  # it did record
    unwanted = {"llamactl.history.queries", "llamactl.history.migrations", "llamactl.history.conversations"}
    assert unwanted.isdisjoint(seen["llamactl"]), unwanted & set(seen["llamactl"])
