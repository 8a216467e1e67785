"""The CLI's one error path: each bad input ends in one redacted line and exit 2 or 3."""

from __future__ import annotations

import json
import socket
from typing import TYPE_CHECKING, Any

import pytest
import yaml
from structlog.testing import capture_logs

from syncd.cli import main
from syncd.errors import (
    ConfigError,
    HarborAuthError,
    HarborForbidden,
    HarborServerError,
    HarborTLSError,
    HarborUnavailable,
    ListenerError,
    StateError,
    describe_failure,
)
from syncd.harbor.session import HarborSession
from syncd.settings import InstanceSettings
from tests.cli.clikit import self_signed, serving

if TYPE_CHECKING:
    from pathlib import Path

SECRET = "Pl4in-Harbor-pw"
OK_INSTANCE = {"url": "http://127.0.0.1:1", "username": "admin", "password": SECRET}


class Run:
    """Exit code and output of one in-process ``syncd`` run."""

    def __init__(self, code: int, out: str, err: str) -> None:
        self.code, self.out, self.err = code, out, err

    @property
    def last_line(self) -> str:
        """The final stderr line: the error line of the one error path."""
        return self.err.rstrip("\n").rsplit("\n", 1)[-1]


@pytest.fixture
def syncd(capsys: pytest.CaptureFixture[str]):
    """Run ``syncd ARGS`` in this process and capture what it printed."""

    def run(*args: str) -> Run:
        capsys.readouterr()
        code = main(list(args))
        out, err = capsys.readouterr()
        return Run(code, out, err)

    return run


def _config(tmp_path: Path, **sections: Any) -> Path:
    data = {"instances": {"a": OK_INSTANCE}, "state": {"path": str(tmp_path / "s.db")}}
    data |= {"logging": {"format": "json"}} | sections
    path = tmp_path / "syncd.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


def _instance(**fields: Any) -> dict[str, Any]:
    return {"a": OK_INSTANCE | fields}


def _materialise(tmp_path: Path, value: Any) -> Any:
    """Replace the markers NOT_PEM and EMPTY by files with such content."""
    if isinstance(value, dict):
        return {k: _materialise(tmp_path, v) for k, v in value.items()}
    if value in {NOT_PEM, EMPTY}:
        path = tmp_path / value.strip("<>")
        path.write_text("this is not a certificate\n" if value == NOT_PEM else "\n")
        return str(path)
    return value


NOT_PEM, EMPTY = "<not-pem>", "<empty>"
CONFIG_CASES = [
    ({"instances": _instance(url="http://127.0.0.1:abc")}, "instances.a.url", ":abc"),
    ({"instances": _instance(url="http://127.0.0.1:99999")}, "instances.a.url", "99999"),
    ({"instances": _instance(ca_bundle=NOT_PEM)}, "instances.a.ca_bundle", "PEM"),
    ({"http": {"bind": "localhost:9477"}}, "http.bind", "'localhost:9477'"),
    ({"http": {"port": 70000}}, "http.port", "70000"),
    ({"health": {"interval_seconds": 0.001}}, "health.interval_seconds", "0.001"),
    ({"http": {"webhook_secret_file": EMPTY}}, "webhook_secret_file", "is empty"),
    ({"http": {"webhook_secret": ""}}, "http", "webhook_secret is empty"),
    ({"instances": _instance(password=None, password_file=EMPTY)}, "instances.a", "is empty"),
    (
        {"instances": _instance(url="http://127.0.0.1:9477")},
        "instances.a.url",
        "syncd's own listener",
    ),
    (
        {"reconcile": {"intervall_seconds": 60}},
        "reconcile.intervall_seconds",
        "did you mean 'interval_seconds'?",
    ),
]


@pytest.mark.parametrize(("sections", "field", "detail"), CONFIG_CASES)
@pytest.mark.parametrize("output", ["table", "json"])
def test_bad_configuration_is_one_line_exit_3(tmp_path, syncd, *, sections, field, detail, output):
    """Each bad setting: exit 3, one stderr line naming field and value, JSON with --output."""
    config = _config(tmp_path, **_materialise(tmp_path, sections))
    run = syncd("--config", str(config), "diff", "--output", output)
    assert run.code == 3
    assert run.err.count("\n") == 1
    assert run.err.startswith("syncd: configuration error: ")
    assert field in run.err
    assert detail in run.err
    assert "Traceback" not in run.err
    assert SECRET not in run.out + run.err
    if output == "json":
        error = json.loads(run.out)["error"]
        assert error == {"kind": "config", "message": run.err.removeprefix("syncd: ").strip()}
    else:
        assert run.out == ""


@pytest.mark.parametrize(
    ("env", "detail"),
    [
        ({"SYNCD_RECONCIL__MODE": "observe"}, "SYNCD_RECONCIL__MODE: unknown settings section"),
        ({"SYNCD_RECONCIL__MODE": "observe"}, "did you mean 'reconcile'?"),
        ({"SYNCD_RECONCILE__MODDE": "observe"}, "reconcile.modde"),
        ({"SYNCD_HTTP__PORT": "http"}, "http.port"),
    ],
)
def test_bad_environment_is_exit_3(tmp_path, syncd, monkeypatch, env, detail):
    """A misspelt SYNCD_* section or field, or a bad value from the environment: exit 3."""
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    run = syncd("--config", str(_config(tmp_path)), "config")
    assert (run.code, run.out) == (3, "")
    assert detail in run.last_line
    assert run.err.count("\n") == 1


def test_env_sets_the_readme_instance_names(tmp_path, syncd, monkeypatch):
    """SYNCD_INSTANCES__HARBOR_A__URL sets the file's instance harbor-a (no new harbor_a)."""
    config = _config(tmp_path, instances={"harbor-a": OK_INSTANCE})
    monkeypatch.setenv("SYNCD_INSTANCES__HARBOR_A__URL", "https://harbor-a.example")
    run = syncd("--config", str(config), "config")
    shown = yaml.safe_load(run.out)["instances"]
    assert (run.code, list(shown)) == (0, ["harbor-a"])
    assert shown["harbor-a"]["url"] == "https://harbor-a.example"
    assert SECRET not in run.out


def test_no_configuration_file_says_where_it_looked(tmp_path, syncd, monkeypatch):
    """Without --config, SYNCD_CONFIG or /etc/syncd/syncd.yaml the message lists where it looked."""
    monkeypatch.setattr("syncd.cli.DEFAULT_CONFIG", tmp_path / "absent.yaml")
    run = syncd("diff", "--output", "json")
    assert run.code == 3
    assert "no configuration file was loaded (looked at: --config, $SYNCD_CONFIG" in run.err
    assert json.loads(run.out)["error"]["kind"] == "config"


@pytest.mark.parametrize("level", ["info", "debug"])
def test_unusable_lock_file_is_exit_2_traceback_only_at_debug(tmp_path, syncd, level):
    """An unusable <state>.lock: exit 2 naming the file; a traceback only at log level debug."""
    (tmp_path / "s.db.lock").mkdir()  # root ignores permissions; a directory is unusable to all
    config = _config(tmp_path, logging={"format": "json", "level": level})
    run = syncd("--config", str(config), "reconcile", "--once")
    assert run.code == 2
    assert run.last_line.startswith(f"syncd: {tmp_path / 's.db.lock'}: Is a directory; check")
    assert ("Traceback" in run.err) is (level == "debug")


def test_port_in_use_is_one_line_exit_2(tmp_path, syncd):
    """`syncd run` on a port another process holds: one line naming http.port, exit 2."""
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        config = _config(tmp_path, http={"bind": "127.0.0.1", "port": port})
        run = syncd("--config", str(config), "run")
    assert run.code == 2
    assert run.last_line == (
        f"syncd: cannot listen on 127.0.0.1 port {port}: Address already in use; "
        "set http.port to a free port or stop the process using it"
    )
    assert "Traceback" not in run.err


@pytest.mark.parametrize("output", ["table", "json"])
def test_credential_echoing_401_never_shows_the_secret(tmp_path, syncd, output):
    """A 401 page echoing Authorization and the password reaches neither stdout nor stderr."""
    with serving() as url:
        config = _config(tmp_path, instances=_instance(url=url))
        run = syncd("--config", str(config), "diff", "--output", output)
    assert run.code == 2
    assert run.last_line.startswith("syncd: authentication failed: credentials for instance a")
    everything = run.out + run.err
    assert SECRET not in everything
    assert "Basic " not in everything.replace("Basic **********", "")
    assert "YWRtaW46" not in everything  # base64 of "admin:"
    if output == "json":
        assert json.loads(run.out)["error"]["kind"] == "auth"


def test_self_signed_certificate_says_tls(tmp_path, syncd):
    """A self-signed Harbor: the TLS line names instance, URL, reason and the ca_bundle remedy."""
    cert, key = self_signed(tmp_path)
    with serving(tls=(cert, key)) as url:
        config = _config(tmp_path, instances=_instance(url=url))
        run = syncd("--config", str(config), "diff")
    [event] = [json.loads(line) for line in run.err.splitlines() if "harbor.tls_failed" in line]
    assert event["error"] == (
        f"TLS certificate verification failed for a ({url}): self-signed certificate; "
        "set instances.a.ca_bundle"
    )
    assert SECRET not in run.out + run.err


def test_ca_bundle_makes_the_certificate_trusted(tmp_path, syncd):
    """With the certificate as ca_bundle (and a matching name) the TLS failure is gone."""
    cert, key = self_signed(tmp_path)
    with serving(tls=(cert, key)) as url:
        trusted = url.replace("127.0.0.1", "localhost")
        config = _config(tmp_path, instances=_instance(url=trusted, ca_bundle=str(cert)))
        run = syncd("--config", str(config), "diff")
    assert "harbor.tls_failed" not in run.err
    assert run.last_line.startswith("syncd: authentication failed")  # got past TLS to the 401


@pytest.mark.parametrize(
    ("exc", "kind", "code", "text"),
    [
        (ConfigError("http.port: bad"), "config", 3, "configuration error: http.port: bad"),
        (HarborAuthError("401", instance="b", status=401, body="pw"), "auth", 2, "instances.b"),
        (HarborForbidden("403", instance="b", status=403), "harbor", 2, "grant the account"),
        (HarborTLSError("TLS certificate verification failed"), "tls", 2, "TLS certificate"),
        (HarborUnavailable("down", instance="b"), "unavailable", 2, "check instances.b.url"),
        (HarborServerError("500", instance="b", status=500), "harbor", 2, "request id"),
        (StateError("locked"), "state", 2, "check state.path"),
        (ListenerError("cannot listen"), "listener", 2, "cannot listen"),
        (PermissionError(13, "Permission denied", "/x.lock"), "io", 2, "/x.lock: Permission"),
        (RuntimeError("boom"), "internal", 2, "SYNCD_LOGGING__LEVEL=debug"),
    ],
)
def test_every_exception_maps_to_a_kind_exit_code_and_remedy(exc, kind, code, text):
    """describe_failure gives every exception a kind, exit 2 or 3 (never 1) and a remedy."""
    failure = describe_failure(exc)
    assert (failure.kind.value, failure.exit_code) == (kind, code)
    assert text in failure.message
    assert "\n" not in failure.message


@pytest.mark.parametrize("status", [401, 403, 407])
def test_auth_failure_bodies_stay_out_of_messages(status):
    """The body of an authentication failure (it may echo credentials) is never in str(exc)."""
    exc = HarborAuthError("denied", instance="a", status=status, body=f"pw={SECRET}")
    assert SECRET not in str(exc)
    assert exc.body == f"pw={SECRET}"


@pytest.mark.parametrize(
    ("url", "verify", "events"),
    [
        ("https://harbor.example", False, ["harbor.tls_verification_disabled"]),
        ("http://harbor.example", True, ["harbor.plaintext_credentials"]),
        ("http://127.0.0.1:8080", True, []),
        ("http://localhost:8080", True, []),
        ("https://harbor.example", True, []),
    ],
)
def test_start_up_warnings_for_unprotected_credentials(url, verify, events):
    """verify_tls false, or http:// to a non-loopback host, logs a warning naming the instance."""
    settings = InstanceSettings(url=url, username="u", password=SECRET, verify_tls=verify)
    with capture_logs() as logs:
        HarborSession(name="a", settings=settings).close()
    assert [e["event"] for e in logs] == events
    assert all(e["instance"] == "a" and e["log_level"] == "warning" for e in logs)
    assert SECRET not in repr(logs)
