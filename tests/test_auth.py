"""`llamactl auth` and token resolution, with real keyring backends selected through
keyring's own configuration (PYTHON_KEYRING_BACKEND), real files and the emulator's
GET /v1/me."""

from __future__ import annotations

import io
import json
import shutil
import socket
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from tests.emulator import VALID_TOKEN, Behavior, Emulator
from tests.helpers import REPO, SCRUBBED_VARIABLES, invoke, llamactl_command, run_llamactl, subprocess_env

MODEL = "meta-llama/Llama-2-70b-chat-hf"
PLAINTEXT = "keyrings.alt.file.PlaintextKeyring"
FAIL = "keyring.backends.fail.Keyring"
NULL = "keyring.backends.null.Keyring"
SECRET_SERVICE = "keyring.backends.SecretService.Keyring"
OTHER_TOKEN = "emu-wrong-token-000011112222"
HANG_GUARD = 20  # seconds; only to fail instead of hanging, never a performance threshold


class Sandbox:
    """A private home for one test: state dir, keyring files, and the emulator as API."""

    def __init__(self, tmp_path: Path, api_url: str, monkeypatch):
        self.monkeypatch = monkeypatch
        self.home = tmp_path / "llamactl"
        self.variables = {
            "LLAMACTL_HOME": str(self.home),
            "HOME": str(tmp_path / "home"),
            "XDG_DATA_HOME": str(tmp_path / "data"),
            "XDG_CONFIG_HOME": str(tmp_path / "config"),
            "XDG_CACHE_HOME": str(tmp_path / "cache"),
            "PYTHON_KEYRING_BACKEND": PLAINTEXT,
            "DEEPINFRA_HOST": api_url,
        }
        self.host = api_url.split("://", 1)[1]
        for name in SCRUBBED_VARIABLES:
            monkeypatch.delenv(name, raising=False)
        for name, value in self.variables.items():
            monkeypatch.setenv(name, value)

    @property
    def token_file(self) -> Path:
        return self.home / "tokens.json"

    def use_backend(self, backend: str) -> None:
        self.set(PYTHON_KEYRING_BACKEND=backend)

    def set(self, **variables: str) -> None:
        self.variables.update(variables)
        for name, value in variables.items():
            self.monkeypatch.setenv(name, value)

    def keyring_entry(self, host: str | None = None) -> str | None:
        """What the real plaintext keyring holds for `host`, read without llamactl."""
        from keyrings.alt.file import PlaintextKeyring

        return PlaintextKeyring().get_password("llamactl", host or self.host)

    def subprocess_env(self, **overrides: str) -> dict[str, str]:
        return subprocess_env(**{**self.variables, **overrides})


@pytest.fixture
def sandbox(emulator, tmp_path, monkeypatch):
    return Sandbox(tmp_path, emulator.url, monkeypatch)


def login(token: str = VALID_TOKEN, *flags: str):
    return invoke(["auth", "login", "--with-token", *flags], input=token + "\n")


def status_json():
    run = invoke(["auth", "status", "--json"])
    return run, json.loads(run.stdout)


def closed_port_url() -> str:
    """An http URL on loopback where nothing listens: connecting is refused."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{probe.getsockname()[1]}"


# --- login, set-token, token ------------------------------------------------------------


def test_login_verifies_then_stores_in_the_keyring_under_the_api_host(emulator, sandbox):
    run = login()
    assert run.exit_code == 0, run.stderr
    assert run.stdout == ""
    assert "Emulator User <emulator@example.com>" in run.stderr
    assert "system keyring (file PlaintextKeyring)" in run.stderr
    assert sandbox.keyring_entry() == VALID_TOKEN
    assert not sandbox.token_file.exists()
    me = emulator.requests[-1]
    assert (me.method, me.path) == ("GET", "/v1/me")
    assert me.headers["Authorization"] == f"Bearer {VALID_TOKEN}"
    assert VALID_TOKEN not in run.stdout + run.stderr

    token = invoke(["auth", "token"])
    assert (token.exit_code, token.stdout, token.stderr) == (0, VALID_TOKEN + "\n", "")


def test_a_rejected_token_stores_nothing_and_exits_3(emulator, sandbox):
    run = login(OTHER_TOKEN)
    assert run.exit_code == 3
    assert run.stderr.startswith("error: the API rejected the token")
    assert "nothing was stored" in run.stderr
    assert OTHER_TOKEN not in run.stderr
    assert sandbox.keyring_entry() is None
    assert invoke(["auth", "token"]).exit_code == 3


@pytest.mark.parametrize("how", ["reset", "refused"])
def test_a_network_failure_stores_nothing_and_exits_5(emulator, sandbox, how):
    if how == "reset":
        emulator.behave(Behavior(reset_connection=True, scope="all"))
        args = ["auth", "login", "--with-token", "--insecure-storage"]
    else:
        args = ["--api-url", closed_port_url(), "auth", "login", "--with-token", "--insecure-storage"]
    run = invoke(args, input=VALID_TOKEN)
    assert run.exit_code == 5, run.stderr
    assert "nothing was stored" in run.stderr
    assert not sandbox.token_file.exists()
    assert sandbox.keyring_entry() is None


def test_login_without_a_terminal_or_with_token_is_a_usage_error(emulator, sandbox):
    run = invoke(["auth", "login"], input=VALID_TOKEN)
    assert run.exit_code == 2
    assert (
        run.stderr.splitlines()[0]
        == "error: stdin is not a terminal, so there is nobody to ask for the token"
    )
    assert "--with-token" in run.stderr.splitlines()[1]
    assert emulator.requests == []


@pytest.mark.parametrize(
    "args", [["auth", "login"], ["auth", "login", "--with-token"], ["auth", "set-token"]]
)
def test_stdin_from_dev_null_never_blocks(emulator, sandbox, args):
    run = run_llamactl(args, sandbox.subprocess_env(), timeout=HANG_GUARD)  # stdin is /dev/null
    assert run.exit_code == 2, run.stderr
    assert run.stderr.startswith("error: ")
    assert "hint: pipe the token in" in run.stderr
    assert emulator.requests == []


@pytest.mark.parametrize("text", ["", "  \n", "two words", "tab\there", "bell\x07"])
def test_a_malformed_token_is_refused_before_any_request(emulator, sandbox, text):
    run = invoke(["auth", "login", "--with-token"], input=text)
    assert run.exit_code == 2
    assert run.stderr.startswith("error: ")
    assert emulator.requests == []


def test_set_token_takes_an_argument_dash_or_piped_stdin(emulator, sandbox):
    run = invoke(["auth", "set-token", VALID_TOKEN])
    assert run.exit_code == 0, run.stderr
    assert sandbox.keyring_entry() == VALID_TOKEN
    assert invoke(["auth", "logout"]).exit_code == 0

    run = invoke(["auth", "set-token", "-", "--insecure-storage"], input=VALID_TOKEN + "\n")
    assert run.exit_code == 0, run.stderr
    assert json.loads(sandbox.token_file.read_text()) == {sandbox.host: VALID_TOKEN}

    run = invoke(["auth", "set-token"], input=OTHER_TOKEN)
    assert run.exit_code == 3
    assert json.loads(sandbox.token_file.read_text()) == {sandbox.host: VALID_TOKEN}


def test_tokens_are_stored_per_api_host(emulator, sandbox):
    assert login().exit_code == 0
    with Emulator() as staging:
        run = invoke(["--api-url", staging.url, "auth", "token"])
        assert run.exit_code == 3
        assert f"--api-url {staging.url} auth login" in run.stderr
        run = invoke(["--api-url", staging.url, "infer", "-m", MODEL, "hi"])
        assert run.exit_code == 3
        assert staging.requests == []  # the production token never went to staging

        staging.tokens = {OTHER_TOKEN}
        run = invoke(["--api-url", staging.url, "auth", "login", "--with-token"], input=OTHER_TOKEN)
        assert run.exit_code == 0, run.stderr
        assert sandbox.keyring_entry(staging.url.split("://")[1]) == OTHER_TOKEN
        assert invoke(["--api-url", staging.url, "auth", "token"]).stdout == OTHER_TOKEN + "\n"

        assert invoke(["auth", "logout"]).exit_code == 0
        assert invoke(["--api-url", staging.url, "auth", "token"]).stdout == OTHER_TOKEN + "\n"
    assert invoke(["auth", "token"]).exit_code == 3


def test_infer_uses_the_stored_token(emulator, sandbox):
    assert login().exit_code == 0
    run = invoke(["infer", "-m", MODEL, "--no-history", "hi"])
    assert run.exit_code == 0, run.stderr
    assert emulator.requests[-1].headers["Authorization"] == f"Bearer {VALID_TOKEN}"


def test_logging_in_again_with_the_other_storage_replaces_the_older_copy(emulator, sandbox):
    assert login().exit_code == 0
    assert login(VALID_TOKEN, "--insecure-storage").exit_code == 0
    assert sandbox.keyring_entry() is None  # it would shadow the file
    assert json.loads(sandbox.token_file.read_text()) == {sandbox.host: VALID_TOKEN}
    assert login().exit_code == 0
    assert sandbox.keyring_entry() == VALID_TOKEN
    assert not sandbox.token_file.exists()


# --- headless machines and the token file -----------------------------------------------


@pytest.mark.parametrize("backend", [FAIL, NULL])
def test_headless_login_says_so_and_offers_insecure_storage(emulator, sandbox, backend):
    sandbox.use_backend(backend)
    run = login()
    assert run.exit_code == 2
    error, hint = run.stderr.splitlines()
    assert error.startswith("error: ") and "keyring" in error and "cannot be stored" in error
    assert hint.startswith("hint: add --insecure-storage")
    assert emulator.requests == []  # found before the token is even sent for verification

    run = login(VALID_TOKEN, "--insecure-storage")
    assert run.exit_code == 0, run.stderr
    assert f"token file {sandbox.token_file}" in run.stderr
    assert json.loads(sandbox.token_file.read_text()) == {sandbox.host: VALID_TOKEN}
    assert stat.S_IMODE(sandbox.token_file.stat().st_mode) == 0o600
    assert stat.S_IMODE(sandbox.home.stat().st_mode) == 0o700

    run, report = status_json()
    assert run.exit_code == 0, run.stderr
    assert (report["source"], report["location"]) == ("file", str(sandbox.token_file))


def test_the_token_file_is_replaced_atomically_and_keeps_other_hosts(emulator, sandbox):
    sandbox.use_backend(FAIL)
    sandbox.home.mkdir(mode=0o700)
    sandbox.token_file.write_text(json.dumps({"api.deepinfra.com": "production-token-abcdef"}))
    sandbox.token_file.chmod(0o600)
    with open(sandbox.token_file) as before:  # a reader that opened the old file
        assert login(VALID_TOKEN, "--insecure-storage").exit_code == 0
        assert json.loads(before.read()) == {"api.deepinfra.com": "production-token-abcdef"}
    assert json.loads(sandbox.token_file.read_text()) == {
        "api.deepinfra.com": "production-token-abcdef",
        sandbox.host: VALID_TOKEN,
    }
    assert sorted(path.name for path in sandbox.home.iterdir()) == ["tokens.json"]

    assert invoke(["auth", "logout"]).exit_code == 0
    assert json.loads(sandbox.token_file.read_text()) == {"api.deepinfra.com": "production-token-abcdef"}


def test_reading_a_token_file_with_loose_permissions_warns(emulator, sandbox):
    sandbox.use_backend(FAIL)
    assert login(VALID_TOKEN, "--insecure-storage").exit_code == 0
    sandbox.token_file.chmod(0o644)
    run = invoke(["auth", "token"])
    assert run.exit_code == 0
    assert run.stdout == VALID_TOKEN + "\n"
    assert run.stderr == (
        f"warning: {sandbox.token_file} can be read by other users (mode 0644): "
        f"run 'chmod 600 {sandbox.token_file}'\n"
    )


def test_a_damaged_token_file_is_ignored_with_a_warning(emulator, sandbox):
    sandbox.use_backend(FAIL)
    sandbox.home.mkdir(mode=0o700)
    sandbox.token_file.write_text('{"half": ')
    sandbox.token_file.chmod(0o600)
    run = invoke(["auth", "token"])
    assert run.exit_code == 3
    assert f"warning: ignoring {sandbox.token_file}" in run.stderr


# --- environment variables come first -----------------------------------------------------


def test_an_environment_variable_shadows_the_stored_token_and_commands_say_so(emulator, sandbox):
    assert login().exit_code == 0
    sandbox.set(DEEPINFRA_API_KEY=OTHER_TOKEN)
    run, report = status_json()
    assert run.exit_code == 3  # the environment's token is the one in use, and it is wrong
    assert (report["source"], report["location"], report["valid"]) == ("env", "DEEPINFRA_API_KEY", False)
    assert report["token"] == "****" + OTHER_TOKEN[-4:]

    run = login()
    assert run.exit_code == 0
    assert "warning: DEEPINFRA_API_KEY is set and takes precedence over the stored token" in run.stderr
    run = invoke(["auth", "logout"])
    assert run.exit_code == 0
    assert "Removed the token" in run.stderr
    assert "warning: DEEPINFRA_API_KEY is still set" in run.stderr
    assert invoke(["auth", "token"]).stdout == OTHER_TOKEN + "\n"
    sandbox.set(DEEPINFRA_TOKEN=VALID_TOKEN)
    assert invoke(["auth", "token"]).stdout == VALID_TOKEN + "\n"  # DEEPINFRA_TOKEN before DEEPINFRA_API_KEY


def keyring_modules_imported(args: list[str], env: dict[str, str]) -> list[str]:
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "llamactl", *args],
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=HANG_GUARD,
    )
    assert proc.returncode == 0, proc.stderr
    modules = [
        line.rsplit("|", 1)[1].strip() for line in proc.stderr.splitlines() if line.startswith("import time:")
    ]
    return [name for name in modules if name.split(".")[0] in ("keyring", "keyrings", "secretstorage")]


def test_keyring_is_never_imported_when_the_environment_provides_the_token(emulator, sandbox):
    env = sandbox.subprocess_env()
    assert login().exit_code == 0
    assert "keyring.core" in keyring_modules_imported(["auth", "token"], env)  # the check can fail

    env = sandbox.subprocess_env(DEEPINFRA_TOKEN=VALID_TOKEN)
    for args in (
        ["auth", "token"],
        ["auth", "status"],
        ["auth", "status", "--json"],
        ["infer", "-m", MODEL, "--no-history", "hi"],
    ):
        assert keyring_modules_imported(args, env) == [], args


# --- a keyring that hangs or fails --------------------------------------------------------


@pytest.mark.parametrize("backend", ["HangingKeyring", "HangingOnLoadKeyring"])
def test_a_hung_keyring_is_abandoned_and_the_next_source_used(emulator, sandbox, backend):
    env = sandbox.subprocess_env(
        PYTHON_KEYRING_BACKEND=f"tests.keyring_backends.{backend}", LLAMACTL_KEYRING_TIMEOUT="0.3"
    )
    run = run_llamactl(["auth", "login"], env, timeout=HANG_GUARD)
    assert run.exit_code == 2
    assert run.stderr.splitlines()[0] == (
        "error: the system keyring did not answer within 0.3 s, so the token cannot be stored there"
    )

    run = run_llamactl(
        ["auth", "login", "--with-token", "--insecure-storage"],
        env,
        input=VALID_TOKEN.encode(),
        timeout=HANG_GUARD,
    )
    assert run.exit_code == 0, run.stderr
    assert "could not remove an older token from the system keyring" in run.stderr

    run = run_llamactl(["auth", "token"], env, timeout=HANG_GUARD)
    assert run.exit_code == 0
    assert run.stdout == VALID_TOKEN + "\n"
    assert run.stderr == "warning: the system keyring did not answer within 0.3 s; skipped it\n"

    run = run_llamactl(["auth", "logout"], env, timeout=HANG_GUARD)
    assert run.exit_code == 2
    assert f"Removed the token for {sandbox.host} from {sandbox.token_file}." in run.stderr
    assert "error: the system keyring did not answer within 0.3 s; a token stored there" in run.stderr


def test_a_locked_keyring_is_skipped_with_a_warning(emulator, sandbox):
    env = sandbox.subprocess_env(PYTHON_KEYRING_BACKEND="tests.keyring_backends.LockedKeyring")
    run = run_llamactl(["auth", "login", "--with-token"], env, input=VALID_TOKEN.encode(), timeout=HANG_GUARD)
    assert run.exit_code == 2
    assert run.stderr.splitlines()[0] == (
        "error: the system keyring failed to read (KeyringLocked: Failed to unlock the collection!), "
        "so the token cannot be stored there"
    )
    assert run.stderr.splitlines()[1].startswith("hint: add --insecure-storage")

    run = run_llamactl(["infer", "-m", MODEL, "--no-history", "hi"], env, timeout=HANG_GUARD)
    assert run.exit_code == 3
    assert run.stderr.splitlines()[0] == (
        "warning: the system keyring failed to read (KeyringLocked: Failed to unlock the collection!); skipped it"
    )


def test_a_keyring_that_refuses_to_store_reports_it_without_the_token(emulator, sandbox):
    env = sandbox.subprocess_env(PYTHON_KEYRING_BACKEND="tests.keyring_backends.ReadOnlyKeyring")
    run = run_llamactl(["auth", "login", "--with-token"], env, input=VALID_TOKEN.encode(), timeout=HANG_GUARD)
    assert run.exit_code == 2
    assert run.stderr.splitlines()[0] == (
        "error: the system keyring failed to write (PasswordSetError: collection is read-only, "
        "cannot store '***'); the token was not stored"
    )
    assert [request.path for request in emulator.requests] == ["/v1/me"]  # verified, then refused
    assert not sandbox.token_file.exists()


def test_a_bad_keyring_timeout_is_a_usage_error(emulator, sandbox):
    sandbox.set(LLAMACTL_KEYRING_TIMEOUT="soon")
    run = invoke(["auth", "token"])
    assert run.exit_code == 2
    assert "LLAMACTL_KEYRING_TIMEOUT" in run.stderr


# --- status ---------------------------------------------------------------------------------


def test_status_tells_the_three_sources_apart(emulator, sandbox):
    assert login().exit_code == 0
    run, report = status_json()
    assert run.exit_code == 0, run.stderr
    assert report == {
        "host": sandbox.host,
        "source": "keyring",
        "location": "file PlaintextKeyring",
        "token": "****" + VALID_TOKEN[-4:],
        "valid": True,
        "account": {
            "uid": "u-emu-5a1c9e0b",
            "email": "emulator@example.com",
            "display_name": "Emulator User",
        },
        "error": None,
    }
    assert invoke(["auth", "logout"]).exit_code == 0

    sandbox.use_backend(FAIL)
    assert login(VALID_TOKEN, "--insecure-storage").exit_code == 0
    assert status_json()[1]["source"] == "file"

    sandbox.set(DEEPINFRA_TOKEN=VALID_TOKEN)
    assert status_json()[1]["source"] == "env"


def test_status_in_a_pipe_is_plain_lines(emulator, sandbox):
    assert login().exit_code == 0
    run = invoke(["auth", "status"])
    assert run.exit_code == 0
    assert run.stdout == (
        f"host: {sandbox.host}\n"
        "source: system keyring (file PlaintextKeyring)\n"
        f"token: ****{VALID_TOKEN[-4:]}\n"
        "valid: yes\n"
        "account: Emulator User <emulator@example.com>\n"
    )
    assert run.stderr == ""


def test_status_without_a_token_exits_3(emulator, sandbox):
    run, report = status_json()
    assert run.exit_code == 3
    assert (report["source"], report["token"], report["valid"]) == (None, None, False)
    assert run.stderr.startswith("error: no API token")
    assert emulator.requests == []


def test_status_when_the_api_cannot_be_reached_exits_5(emulator, sandbox):
    sandbox.set(DEEPINFRA_TOKEN=VALID_TOKEN)
    emulator.behave(Behavior(status=503, scope="all"))
    run, report = status_json()
    assert run.exit_code == 5
    assert (report["source"], report["valid"], report["account"]) == ("env", None, None)
    assert report["error"].startswith("the API could not complete the request")


def test_a_token_is_never_sent_over_plain_http_to_another_host(emulator, sandbox):
    sandbox.set(DEEPINFRA_TOKEN=VALID_TOKEN)
    run = invoke(["--api-url", "http://api.example.com", "auth", "status"])
    assert run.exit_code == 2
    assert run.stderr.startswith("error: refusing to send the API token over plain http to api.example.com")
    assert run.stdout == ""

    sandbox.set(DEEPINFRA_TOKEN="")
    run = invoke(
        ["--api-url", "http://api.example.com", "auth", "login", "--with-token", "--insecure-storage"],
        input=VALID_TOKEN,
    )
    assert run.exit_code == 2
    assert "refusing to send the API token over plain http" in run.stderr
    assert not sandbox.token_file.exists()


# --- a real terminal --------------------------------------------------------------------------


def spawn(args: list[str], env: dict[str, str]):
    pexpect = pytest.importorskip("pexpect")
    transcript = io.StringIO()
    child = pexpect.spawn(
        llamactl_command()[0],
        llamactl_command(*args)[1:],
        env=env,
        cwd=str(REPO),
        encoding="utf-8",
        timeout=HANG_GUARD,
        dimensions=(24, 100),
    )
    child.logfile_read = transcript
    return pexpect, child, transcript


def test_login_on_a_terminal_prompts_without_echo(emulator, sandbox):
    pexpect, child, transcript = spawn(["auth", "login"], sandbox.subprocess_env())
    child.expect("Token \\(input hidden\\): ")
    child.sendline(VALID_TOKEN)
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0, transcript.getvalue()
    assert "Logged in to" in transcript.getvalue()
    assert VALID_TOKEN not in transcript.getvalue()
    assert sandbox.keyring_entry() == VALID_TOKEN


# --- a real Secret Service ------------------------------------------------------------------

# Starts gnome-keyring's Secret Service on the session bus that dbus-run-session created,
# unlocking (creating on first use) the login collection with $1, then runs the rest.
SECRET_SERVICE_SESSION = (
    'printf %s "$1" | gnome-keyring-daemon --unlock --components=secrets >/dev/null || exit 97; '
    'shift; exec "$@"'
)


@pytest.fixture
def secret_service(sandbox, tmp_path):
    """Runs commands inside a fresh D-Bus session with gnome-keyring-daemon (Debian packages
    `dbus` and `gnome-keyring`); keyrings persist in XDG_DATA_HOME between sessions."""
    missing = [name for name in ("dbus-run-session", "gnome-keyring-daemon") if shutil.which(name) is None]
    if missing:
        pytest.skip(
            f"no Secret Service here: {' and '.join(missing)} not installed "
            "(apt-get install dbus gnome-keyring)"
        )
    runtime = tmp_path / "runtime"
    runtime.mkdir(mode=0o700)
    sandbox.set(PYTHON_KEYRING_BACKEND=SECRET_SERVICE, XDG_RUNTIME_DIR=str(runtime))

    def run(args: list[str], input: bytes | None = None) -> subprocess.CompletedProcess:
        command = [
            "dbus-run-session",
            "--",
            "sh",
            "-c",
            SECRET_SERVICE_SESSION,
            "sh",
            "session-password",
            *args,
        ]
        return subprocess.run(
            command,
            env=sandbox.subprocess_env(),
            cwd=REPO,
            input=input,
            capture_output=True,
            timeout=HANG_GUARD,
            **({} if input is not None else {"stdin": subprocess.DEVNULL}),
        )

    probe = run(
        [
            sys.executable,
            "-c",
            "import secretstorage; "
            "secretstorage.get_default_collection(secretstorage.dbus_init()).is_locked()",
        ]
    )
    if probe.returncode != 0:
        pytest.skip(
            f"gnome-keyring-daemon did not start under dbus-run-session: {probe.stderr.decode()[-300:]}"
        )
    return lambda args, input=None: run(llamactl_command(*args), input)


def test_login_status_infer_logout_with_a_real_secret_service(emulator, sandbox, secret_service, tmp_path):
    login_run = secret_service(["auth", "login", "--with-token"], input=VALID_TOKEN.encode())
    assert login_run.returncode == 0, login_run.stderr
    assert b"the token is in the system keyring (SecretService Keyring)" in login_run.stderr

    status = secret_service(["auth", "status", "--json"])
    assert status.returncode == 0, status.stderr
    report = json.loads(status.stdout)
    assert (report["source"], report["location"], report["valid"]) == (
        "keyring",
        "SecretService Keyring",
        True,
    )

    infer = secret_service(["infer", "-m", MODEL, "--no-history", "hi"])
    assert infer.returncode == 0, infer.stderr
    assert emulator.requests[-1].headers["Authorization"] == f"Bearer {VALID_TOKEN}"

    keyrings = list((tmp_path / "data" / "keyrings").iterdir())
    assert keyrings  # gnome-keyring kept the entry on disk, encrypted
    assert all(VALID_TOKEN.encode() not in path.read_bytes() for path in keyrings)
    assert not sandbox.token_file.exists()

    logout = secret_service(["auth", "logout"])
    assert logout.returncode == 0, logout.stderr
    assert b"Removed the token" in logout.stderr
    assert secret_service(["auth", "token"]).returncode == 3


def test_keyrings_alt_files_are_never_chosen_by_detection(emulator, tmp_path):
    """keyrings.alt (a test dependency) is what keyring's detection falls back to on a box
    without a system keyring: its plain files must not pass for one."""
    from tests.helpers import subprocess_env

    env = subprocess_env(
        HOME=str(tmp_path),
        XDG_DATA_HOME=str(tmp_path / "data"),
        XDG_CONFIG_HOME=str(tmp_path / "config"),
        LLAMACTL_HOME=str(tmp_path / "llamactl"),
        DEEPINFRA_HOST=emulator.url,
    )
    env.pop("PYTHON_KEYRING_BACKEND")
    env.pop("DBUS_SESSION_BUS_ADDRESS", None)
    run = run_llamactl(["auth", "login", "--with-token"], env, input=VALID_TOKEN.encode())
    assert run.exit_code == 2, run.stderr
    assert "no system keyring" in run.stderr and "--insecure-storage" in run.stderr
    assert not any(
        VALID_TOKEN.encode() in path.read_bytes() for path in tmp_path.rglob("*") if path.is_file()
    )
