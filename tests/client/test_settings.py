"""Settings: YAML + env merge, errors naming every bad field, secret files, redaction, example."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import BaseModel, ValidationError

from syncd.core.model import ReconcileMode
from syncd.errors import ConfigError
from syncd.settings import InstanceSettings, Settings, load_settings, redacted_dump

EXAMPLE = Path(__file__).resolve().parents[2] / "config" / "syncd.example.yaml"
SECRET = "pa55-w0rd-very-secret"


def _minimal() -> dict[str, Any]:
    return {
        "instances": {
            "a": {"url": "https://harbor-a.test", "username": "robot$syncd", "password": SECRET},
            "b": {"url": "http://harbor-b.test:8080/", "username": "admin", "password": "x"},
        }
    }


def _write(tmp_path: Path, data: dict[str, Any]) -> Path:
    path = tmp_path / "syncd.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


def _load(tmp_path: Path, data: dict[str, Any], env: dict[str, str] | None = None) -> Settings:
    return load_settings(_write(tmp_path, data), env=env or {})


def test_minimal_file_loads_with_defaults(tmp_path):
    """A file with only instances validates; everything else takes its default."""
    settings = _load(tmp_path, _minimal())
    assert sorted(settings.instances) == ["a", "b"]
    assert settings.instances["b"].url == "http://harbor-b.test:8080"
    assert settings.instances["a"].secret() == SECRET
    assert settings.reconcile.mode == "trigger"
    assert settings.reconcile.interval_seconds == 300
    assert settings.http.port == 9477
    assert settings.instances["a"].max_concurrency == 8


def test_env_wins_over_file_and_merges_nested(tmp_path):
    """SYNCD_* variables override the file key by key, without dropping sibling keys."""
    data = _minimal()
    data["reconcile"] = {"mode": "observe", "dry_run": True}
    env = {
        "SYNCD_RECONCILE__MODE": "toggle",
        "SYNCD_INSTANCES__A__READ_TIMEOUT": "12.5",
        "SYNCD_SCOPE__INCLUDE_PROJECTS": '["lib", "team-*"]',
        "syncd_logging__level": "DEBUG",
    }
    settings = _load(tmp_path, data, env)
    assert settings.reconcile.mode == "toggle"
    assert settings.reconcile.dry_run is True
    assert settings.instances["a"].read_timeout == 12.5
    assert settings.instances["a"].username == "robot$syncd"
    assert settings.scope.include_projects == ("lib", "team-*")
    assert settings.logging.level == "debug"


def test_env_alone_is_enough():
    """Without a file, the environment can configure an instance."""
    env = {
        "SYNCD_INSTANCES__HQ__URL": "https://hq.test",
        "SYNCD_INSTANCES__HQ__USERNAME": "u",
        "SYNCD_INSTANCES__HQ__PASSWORD": SECRET,
    }
    assert load_settings(None, env=env).instances["hq"].url == "https://hq.test"


def test_unknown_key_is_named(tmp_path):
    """A typo'd key is rejected, naming its full path."""
    data = {**_minimal(), "reconcile": {"intervall": 10}}
    with pytest.raises(ConfigError, match=r"reconcile\.intervall: extra inputs are not permitted"):
        _load(tmp_path, data)


@pytest.mark.parametrize(
    ("patch", "path"),
    [
        ({"instances": {"a": {"url": "ftp://x"}}}, "instances.a.url"),
        ({"instances": {"a": {"url": "https://x/harbor"}}}, "instances.a.url"),
        ({"instances": {"a": {"url": "https://u:p@x"}}}, "instances.a.url"),
        ({"instances": {"a": {"max_concurrency": 0}}}, "instances.a.max_concurrency"),
        ({"instances": {"a": {"max_concurrency": 65}}}, "instances.a.max_concurrency"),
        ({"instances": {"a": {"connect_timeout": 0}}}, "instances.a.connect_timeout"),
        ({"instances": {"a": {"ca_bundle": "/nonexistent/ca.pem"}}}, "instances.a.ca_bundle"),
        ({"instances": {"a": {"password_file": "/x"}}}, "instances.a: exactly one"),
        (
            {"instances": {"Bad Name": {"url": "https://x", "username": "u", "password": "p"}}},
            "instances.Bad Name",
        ),
        ({"reconcile": {"interval_seconds": 5}}, "reconcile.interval_seconds"),
        ({"reconcile": {"mode": "fix-everything"}}, "reconcile.mode"),
        ({"reconcile": {"conflict_preference": "zz"}}, "reconcile.conflict_preference"),
        ({"logging": {"format": "xml"}}, "logging.format"),
        ({"version": 2}, "version"),
    ],
)
def test_bad_values_name_the_field(tmp_path, patch, path):
    """Each invalid value is reported with its field path."""
    data = _minimal()
    for section, values in patch.items():
        if section == "instances":
            for name, fields in values.items():
                data["instances"][name] = {**data["instances"].get(name, {}), **fields}
        else:
            data[section] = values
    with pytest.raises(ConfigError) as info:
        _load(tmp_path, data)
    assert path in str(info.value)
    assert SECRET not in str(info.value)


def test_every_bad_field_is_reported_at_once(tmp_path):
    """Several problems come back together in one error."""
    data = {**_minimal(), "reconcile": {"mode": "x", "max_actions_per_pass": "many"}}
    data["instances"]["a"]["url"] = "nope"
    with pytest.raises(ConfigError) as info:
        _load(tmp_path, data)
    for path in ("instances.a.url", "reconcile.mode", "reconcile.max_actions_per_pass"):
        assert path in str(info.value)


def test_at_least_one_instance(tmp_path):
    """An empty instance map is rejected."""
    with pytest.raises(ConfigError, match="instances"):
        _load(tmp_path, {"instances": {}})


def test_conflict_preference_may_name_an_instance(tmp_path):
    """An instance name is a valid conflict preference."""
    data = {**_minimal(), "reconcile": {"conflict_preference": "b"}}
    assert _load(tmp_path, data).reconcile.conflict_preference == "b"


def test_password_file_is_read_and_stripped(tmp_path):
    """The password comes from the file, without its trailing newline."""
    secret_file = tmp_path / "pw"
    secret_file.write_text(f"  {SECRET}\n", encoding="utf-8")
    data = _minimal()
    data["instances"]["a"] = {**data["instances"]["a"], "password": None}
    data["instances"]["a"]["password_file"] = str(secret_file)
    settings = _load(tmp_path, data)
    assert settings.instances["a"].secret() == SECRET
    assert SECRET not in json.dumps(redacted_dump(settings))


def test_missing_password_file_is_a_clear_error(tmp_path):
    """A missing password file names the field and the path."""
    data = _minimal()
    del data["instances"]["a"]["password"]
    data["instances"]["a"]["password_file"] = str(tmp_path / "absent")
    with pytest.raises(ConfigError, match=r"instances\.a: password_file: cannot read .*absent"):
        _load(tmp_path, data)


def test_webhook_secret_file(tmp_path):
    """The webhook secret can come from a file and is masked in the dump."""
    secret_file = tmp_path / "hook"
    secret_file.write_text("hook-secret\n", encoding="utf-8")
    data = {**_minimal(), "http": {"webhook_secret_file": str(secret_file)}}
    settings = _load(tmp_path, data)
    assert settings.http.webhook_secret is not None
    assert settings.http.webhook_secret.get_secret_value() == "hook-secret"
    assert redacted_dump(settings)["http"]["webhook_secret"] == "**********"


def test_redaction_everywhere(tmp_path):
    """Secrets are masked in the dump, the repr and str of the settings."""
    data = {**_minimal(), "http": {"webhook_secret": "hook-" + SECRET}}
    settings = _load(tmp_path, data)
    dump = redacted_dump(settings)
    assert dump["instances"]["a"]["password"] == "**********"
    assert dump["http"]["webhook_secret"] == "**********"
    for text in (json.dumps(dump), repr(settings), str(settings)):
        assert SECRET not in text


def test_settings_are_frozen(tmp_path):
    """The tree cannot be changed after loading."""
    settings = _load(tmp_path, _minimal())
    with pytest.raises(ValidationError):
        settings.reconcile.mode = ReconcileMode.OBSERVE  # type: ignore[misc]


@pytest.mark.parametrize(
    ("content", "match"),
    [("a: [unclosed", "not valid YAML"), ("- just\n- a list\n", "could not be used")],
)
def test_unreadable_files(tmp_path, content, match):
    """Broken YAML and a non-mapping document are configuration errors."""
    path = tmp_path / "bad.yaml"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(ConfigError, match=match):
        load_settings(path, env={})


def test_missing_file(tmp_path):
    """A config path that does not exist is a configuration error."""
    with pytest.raises(ConfigError, match="does not exist"):
        load_settings(tmp_path / "nope.yaml", env={})


# --------------------------------------------------------------------------- the example file


def _example_env(tmp_path: Path) -> dict[str, str]:
    env = {}
    for name in ("hq", "region_eu"):
        secret = tmp_path / f"{name}.pw"
        secret.write_text("pw\n", encoding="utf-8")
        env[f"SYNCD_INSTANCES__{name.upper()}__PASSWORD_FILE"] = str(secret)
    return env


def test_example_config_loads(tmp_path):
    """config/syncd.example.yaml validates once its password files exist."""
    settings = load_settings(EXAMPLE, env=_example_env(tmp_path))
    assert sorted(settings.instances) == ["hq", "region_eu"]
    assert settings.instances["hq"].secret() == "pw"


def _missing_fields(model: type[BaseModel], data: dict[str, Any], prefix: str) -> list[str]:
    missing = []
    for name, field in model.model_fields.items():
        if name not in data:
            missing.append(f"{prefix}{name}")
            continue
        sub = field.annotation
        if isinstance(sub, type) and issubclass(sub, BaseModel):
            missing += _missing_fields(sub, data[name], f"{prefix}{name}.")
    return missing


def test_example_config_mentions_every_field():
    """Every Settings field (and every instance field) appears in the example."""
    data = yaml.safe_load(EXAMPLE.read_text(encoding="utf-8"))
    missing = _missing_fields(Settings, data, "")
    missing += _missing_fields(InstanceSettings, data["instances"]["hq"], "instances.hq.")
    assert missing == []


def _undocumented(model: type[BaseModel], prefix: str) -> list[str]:
    out = []
    for name, field in model.model_fields.items():
        if not field.description:
            out.append(f"{prefix}{name}")
        sub = field.annotation
        if isinstance(sub, type) and issubclass(sub, BaseModel):
            out += _undocumented(sub, f"{prefix}{name}.")
    return out


def test_every_field_has_a_docstring():
    """Attribute docstrings document every field."""
    assert _undocumented(Settings, "") + _undocumented(InstanceSettings, "instances.*.") == []
