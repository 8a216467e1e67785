"""Deployment artifacts for two replicas: the Kubernetes overlay, compose, the database script."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml

from syncd.store.postgres import SCHEMA_VERSION, PostgresStore
from tests.pgkit import PgServer

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
HA = DEPLOY / "kubernetes-ha"
COMPOSE = DEPLOY / "compose"


def _env(container: dict[str, Any]) -> dict[str, str]:
    return {e["name"]: e["value"] for e in container["env"]}


def test_overlay_runs_two_rolling_replicas_on_postgres_state():
    """The patch sets 2 replicas, RollingUpdate, state.url without password and its secret."""
    patch = yaml.safe_load((HA / "deployment-patch.yaml").read_text())
    [container] = patch["spec"]["template"]["spec"]["containers"]
    env = _env(container)
    secret = yaml.safe_load((DEPLOY / "kubernetes" / "secret.example.yaml").read_text())
    assert patch["spec"]["replicas"] == 2
    assert patch["spec"]["strategy"]["type"] == "RollingUpdate"
    assert urlsplit(env["SYNCD_STATE__URL"]).password is None
    key = env["SYNCD_STATE__PASSWORD_FILE"].removeprefix("/run/secrets/")
    assert key in secret["stringData"]
    kustomization = yaml.safe_load((HA / "kustomization.yaml").read_text())
    assert all((HA / r).exists() for r in kustomization["resources"])


@pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl not installed")
def test_overlay_renders_without_the_state_volume_claim():
    """Kubectl kustomize renders the overlay: no PVC, a PDB, the Deployment patched."""
    out = subprocess.run(
        ["kubectl", "kustomize", str(HA)], check=True, capture_output=True, text=True, timeout=60
    ).stdout
    docs = {d["kind"]: d for d in yaml.safe_load_all(out) if d}
    assert "PersistentVolumeClaim" not in docs
    assert docs["PodDisruptionBudget"]["spec"]["minAvailable"] == 1
    deployment = docs["Deployment"]["spec"]
    assert (deployment["replicas"], deployment["strategy"]["type"]) == (2, "RollingUpdate")
    volumes = {v["name"]: v for v in deployment["template"]["spec"]["volumes"]}
    assert "persistentVolumeClaim" not in volumes["state"]


def test_compose_runs_two_hardened_replicas_on_harbors_postgres():
    """Both compose replicas share the hardened service and a syncd database on postgresql."""
    doc = yaml.safe_load((COMPOSE / "docker-compose.syncd-ha.yml").read_text())
    services = doc["services"]
    assert sorted(services) == ["syncd-1", "syncd-2"]
    for svc in services.values():
        url = urlsplit(svc["environment"]["SYNCD_STATE__URL"])
        assert (url.hostname, url.username, url.password, url.path) == (
            "postgresql", "syncd", None, "/syncd",
        )  # fmt: skip
        assert svc["environment"]["SYNCD_STATE__PASSWORD_FILE"].startswith("/run/secrets/")
        assert (svc["read_only"], svc["user"], svc["cap_drop"]) == (True, "10001:10001", ["ALL"])
        assert "postgresql" in svc["depends_on"]


def test_database_script_creates_a_role_and_database_syncd_can_use():
    """create-syncd-database.sql on a real server gives a database syncd migrates and uses."""
    server = PgServer.start_new(with_role=False)
    try:
        server.psql(COMPOSE / "create-syncd-database.sql", pw="s3cret-db")
        url = f"postgresql://syncd@127.0.0.1:{server.port}/syncd"
        with PostgresStore.open(url, password="s3cret-db") as store:
            assert store.schema_version() == SCHEMA_VERSION
        public = server.admin("SELECT has_database_privilege('public', 'syncd', 'CONNECT')")
        assert public == [(False,)]
    finally:
        server.close()
