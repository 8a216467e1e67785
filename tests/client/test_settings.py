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


# --------------------------------------------------------------------------- validation edges


@pytest.mark.parametrize(
    ("patch", "message"),
    [
        (
            {"instances": {"a": {"url": "https://x:abc"}}},
            "instances.a.url: 'https://x:abc': the port",
        ),
        ({"instances": {"a": {"url": "https://x:0"}}}, "from 1 to 65535"),
        ({"instances": {"a": {"url": "https://x:65536"}}}, "from 1 to 65535"),
        ({"http": {"port": -1}}, "http.port: input should be greater than or equal to 0 (got -1)"),
        ({"http": {"bind": "localhost"}}, "http.bind: 'localhost' is not an IP address"),
        ({"http": {"bind": "0.0.0.0:9477"}}, "the port goes in http.port"),
        ({"health": {"interval_seconds": 0.001}}, "health.interval_seconds: input should be"),
        ({"reconcile": {"poll_interval_seconds": 0}}, "reconcile.poll_interval_seconds"),
        ({"http": {"threads": 0}}, "http.threads"),
        ({"http": {"webhook_secret": ""}}, "webhook_secret is empty"),
        (
            {"instances": {"a": {"url": "http://localhost:9477"}}},
            "instances.a.url: 'http://localhost:9477' is syncd's own listener",
        ),
        (
            {"reconcile": {"mdoe": "observe"}},
            "reconcile.mdoe: extra inputs are not permitted; did you mean 'mode'?",
        ),
        ({"scoep": {}}, "scoep: extra inputs are not permitted; did you mean 'scope'?"),
        ({"instances": {"a": {"usernme": "u"}}}, "did you mean 'username'?"),
    ],
)
def test_messages_name_field_and_value_on_one_line(tmp_path, patch, message):
    """Each bad value is named with its field (and value, never a secret) on a single line."""
    data = _minimal()
    for section, values in patch.items():
        if section == "instances":
            data["instances"]["a"] = {**data["instances"]["a"], **values["a"]}
        else:
            data[section] = values
    with pytest.raises(ConfigError) as info:
        _load(tmp_path, data)
    assert message in str(info.value)
    assert "\n" not in str(info.value)
    assert SECRET not in str(info.value)


def test_secret_values_are_never_shown(tmp_path):
    """A mistyped secret is named by its field but its value is masked."""
    data = _minimal()
    data["instances"]["a"]["password"] = 12345678
    with pytest.raises(ConfigError) as info:
        _load(tmp_path, data)
    assert "instances.a.password" in str(info.value)
    assert "12345678" not in str(info.value)


def test_own_listener_on_a_wildcard_bind(tmp_path):
    """With http.bind 0.0.0.0 a loopback instance URL on http.port is syncd itself."""
    data = {**_minimal(), "http": {"bind": "0.0.0.0", "port": 8443}}  # noqa: S104 - validated, never bound
    data["instances"]["a"]["url"] = "https://127.0.0.1:8443"
    with pytest.raises(ConfigError, match="syncd's own listener"):
        _load(tmp_path, data)


@pytest.mark.parametrize(
    ("content", "match"),
    [("", "is not a readable PEM"), ("not a cert\n", "is not a readable PEM")],
)
def test_ca_bundle_must_be_pem(tmp_path, content, match):
    """A ca_bundle that does not load as PEM certificates is a configuration error."""
    bundle = tmp_path / "ca.pem"
    bundle.write_text(content, encoding="utf-8")
    data = _minimal()
    data["instances"]["a"]["ca_bundle"] = str(bundle)
    with pytest.raises(ConfigError, match=rf"instances\.a\.ca_bundle: .*{match}"):
        _load(tmp_path, data)


@pytest.mark.parametrize(
    ("env", "match"),
    [
        ({"SYNCD_RECONCIL__MODE": "observe"}, "did you mean 'reconcile'"),
        ({"SYNCD_HTTPS__PORT": "1"}, "SYNCD_HTTPS__PORT: unknown settings section 'https'"),
        ({"syncd_nope__x": "1"}, "unknown settings section 'nope'"),
    ],
)
def test_unknown_env_sections_are_rejected(tmp_path, env, match):
    """A SYNCD_<SECTION>__ variable naming no section is an error, not silently ignored."""
    with pytest.raises(ConfigError, match=match):
        _load(tmp_path, _minimal(), env)


def test_env_without_delimiter_is_not_a_setting(tmp_path):
    """SYNCD_CONFIG and other SYNCD_ names without __ are not settings and pass."""
    env = {"SYNCD_CONFIG": "/etc/syncd/syncd.yaml", "SYNCD_HARBOR_SPEC": "x"}
    assert _load(tmp_path, _minimal(), env).reconcile.mode == "trigger"


@pytest.mark.parametrize(
    ("file_names", "variable", "expected"),
    [
        (["harbor-a"], "SYNCD_INSTANCES__HARBOR_A__USERNAME", "harbor-a"),
        (["harbor_a"], "SYNCD_INSTANCES__HARBOR_A__USERNAME", "harbor_a"),
        (["node-1"], "SYNCD_INSTANCES__NODE_1__USERNAME", "node-1"),
        (["a"], "SYNCD_INSTANCES__A__USERNAME", "a"),
    ],
)
def test_env_instance_names_map_to_file_instances(tmp_path, file_names, variable, expected):
    """An upper-cased name with - written as _ sets the file's instance of that name."""
    instance = {"url": "https://h.test", "username": "from-file", "password": SECRET}
    settings = _load(
        tmp_path, {"instances": dict.fromkeys(file_names, instance)}, {variable: "env"}
    )
    assert sorted(settings.instances) == sorted(file_names)
    assert settings.instances[expected].username == "env"


def test_env_only_instance_keeps_its_lowercased_name():
    """An instance named only in the environment is the variable's name, lower-cased."""
    env = {
        "SYNCD_INSTANCES__REGION_EU__URL": "https://eu.test",
        "SYNCD_INSTANCES__REGION_EU__USERNAME": "u",
        "SYNCD_INSTANCES__REGION_EU__PASSWORD": SECRET,
    }
    assert list(load_settings(None, env=env).instances) == ["region_eu"]
