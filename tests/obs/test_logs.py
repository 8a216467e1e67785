"""structlog configuration: rendering, context variables and secret redaction."""

from __future__ import annotations

import io
import json
import logging

import pytest
import structlog
from structlog.testing import capture_logs

from syncd.service.logs import _NOISY_LOGGERS, MASK, Redactor, configure_logging

PASSWORD = "Harbor12345-hunter2"
ROBOT_SECRET = "rZ8kYqvH3pLmN0aQ7tXw"


@pytest.fixture(autouse=True)
def _reset_logging():
    """Leave structlog, contextvars and the root logger as they were."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    noisy = {name: logging.getLogger(name).level for name in _NOISY_LOGGERS}
    yield
    structlog.reset_defaults()
    structlog.contextvars.clear_contextvars()
    root.handlers[:] = handlers
    root.setLevel(level)
    for name, old in noisy.items():
        logging.getLogger(name).setLevel(old)


def json_lines(buf: io.StringIO) -> list[dict[str, object]]:
    """Parse every rendered line as JSON."""
    return [json.loads(line) for line in buf.getvalue().splitlines() if line]


def test_json_output_has_event_level_timestamp_and_context():
    """JSON lines carry the dotted event, level, UTC ISO timestamp and bound context."""
    buf = io.StringIO()
    configure_logging(fmt="json", stream=buf)
    structlog.contextvars.bind_contextvars(pass_id="p1")
    structlog.get_logger().info("reconcile.pass_finished", edge="a->b", policy_id=3)
    [line] = json_lines(buf)
    assert line["event"] == "reconcile.pass_finished"
    assert line["level"] == "info"
    assert line["pass_id"] == "p1"
    assert line["edge"] == "a->b"
    assert line["policy_id"] == 3
    assert str(line["timestamp"]).endswith("Z")


def test_secrets_never_reach_json_output():
    """A password and a robot secret are masked by key, by URL, by header and by value."""
    buf = io.StringIO()
    configure_logging(fmt="json", stream=buf, secrets=[PASSWORD, ROBOT_SECRET])
    log = structlog.get_logger()
    log.info("harbor.login", instance="a", password=PASSWORD, Access_Secret=ROBOT_SECRET)
    log.warning(
        "harbor.request_failed",
        url=f"https://robot$sync:{ROBOT_SECRET}@harbor.example/api/v2.0/projects",
        headers={"Authorization": "Basic cm9ib3Q6c2VjcmV0", "Accept": "application/json"},
        detail=f"upstream said: invalid credential {PASSWORD}",
        nested=[{"webhook_secret": "s3cr3t", "token": ROBOT_SECRET}],
    )
    out = buf.getvalue()
    assert PASSWORD not in out
    assert ROBOT_SECRET not in out
    assert "cm9ib3Q6c2VjcmV0" not in out
    assert "s3cr3t" not in out
    login, failed = json_lines(buf)
    assert login["password"] == MASK
    assert login["Access_Secret"] == MASK
    assert failed["url"] == f"https://{MASK}@harbor.example/api/v2.0/projects"
    assert failed["headers"] == {"Authorization": MASK, "Accept": "application/json"}


def test_stdlib_records_are_rendered_and_redacted():
    """Library logs through stdlib logging go through the same JSON renderer and redaction."""
    buf = io.StringIO()
    configure_logging(fmt="json", stream=buf, secrets=[PASSWORD])
    logging.getLogger("some.library").warning("login with %s failed", PASSWORD)
    [line] = json_lines(buf)
    assert line["event"] == f"login with {MASK} failed"
    assert line["level"] == "warning"
    assert line["logger"] == "some.library"


def test_level_filters_lower_events():
    """Events below the configured level are dropped."""
    buf = io.StringIO()
    configure_logging(level="warning", fmt="json", stream=buf)
    structlog.get_logger().info("reconcile.pass_started")
    structlog.get_logger().warning("reconcile.pass_failed")
    assert [line["event"] for line in json_lines(buf)] == ["reconcile.pass_failed"]


def test_console_format_is_not_json():
    """The console renderer writes a human line containing the event name."""
    buf = io.StringIO()
    configure_logging(fmt="console", stream=buf)
    structlog.get_logger().info("daemon.started", instance="a")
    out = buf.getvalue()
    assert "daemon.started" in out
    with pytest.raises(json.JSONDecodeError):
        json.loads(out)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [({"level": "loud"}, "unknown log level"), ({"fmt": "xml"}, "unknown log format")],
)
def test_bad_settings_are_rejected(kwargs, message):
    """Unknown levels and formats raise instead of silently logging nothing."""
    with pytest.raises(ValueError, match=message):
        configure_logging(stream=io.StringIO(), **kwargs)


@pytest.mark.parametrize(
    ("key", "value", "expected"),
    [
        ("password", "x", MASK),
        ("PASSWORD", "x", MASK),
        ("harbor_password", "x", MASK),
        ("x-harbor-csrf-token", "x", MASK),
        ("authorization", "Bearer abc.def", MASK),
        ("message", "sent Bearer abc.def-ghi", f"sent Bearer {MASK}"),
        ("message", "sent basic dXNlcjpwYXNz now", f"sent basic {MASK} now"),
        ("url", "http://u:p@h:80/x", f"http://{MASK}@h:80/x"),
        ("url", "http://h:80/x", "http://h:80/x"),
        ("repository", "library/nginx", "library/nginx"),
        ("password", None, None),
        ("count", 3, 3),
        ("settings", {"harbor": {"token": "t"}}, {"harbor": {"token": MASK}}),
    ],
)
def test_redactor_table(key, value, expected):
    """The redaction processor masks secret keys and credential patterns, nothing else."""
    assert Redactor()(None, "info", {key: value})[key] == expected


def test_capture_logs_sees_event_dicts():
    """Other modules' tests can assert events as dicts after logging is configured."""
    configure_logging(fmt="json", stream=io.StringIO())
    with capture_logs() as logs:
        structlog.get_logger().info("act.replication_triggered", instance="a", policy_id=1)
    assert logs == [
        {
            "event": "act.replication_triggered",
            "instance": "a",
            "policy_id": 1,
            "log_level": "info",
        }
    ]
