"""The shared-storage parity probe: checks that the nodes of one cluster serve what they list.

Nodes of one Harbor cluster share a database (and sit behind one load balancer), so their API
view is identical by construction; a node whose storage mount failed still lists every artifact
but its registry answers 404. Per pass syncd samples artifacts from the (shared) catalog and
HEADs, on every node directly, ``/v2/<repo>/manifests/<digest>`` for the sampled artifact, its
index children (``references``) and its accessories, all of which are manifests. A manifest GET
is never sent (Harbor counts it as a pull), so layer and config blob digests are unknown to syncd
and are not probed: a node that lost only some layers is not detected.

I/O module: HEADs go through each node's injected ``HarborClient`` (bounded by its
``map_concurrent``). ``sample_artifacts`` is pure. ``probe_cluster`` logs ``parity.missing`` per
node with 404s and ``parity.probe_failed`` per node it could not probe; metrics are recorded by
the caller from the returned ``ParityResult``.
"""

from __future__ import annotations

import functools
import random
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import structlog

from syncd.core.model import ParityReport
from syncd.errors import HarborError

if TYPE_CHECKING:
    from collections.abc import Mapping

    from syncd.core.model import Artifact, Catalog
    from syncd.harbor.client import HarborClient

__all__ = [
    "ParityResult",
    "parity_reports",
    "probe_cluster",
    "probe_targets",
    "sample_artifacts",
]

log = structlog.get_logger("syncd.engine.parity")

Target = tuple[str, str]
"""``(full repository name, manifest digest)``."""


@dataclass(frozen=True)
class ParityResult:
    """One probe of one cluster: HEADs answered per node, and what each node failed to serve."""

    cluster: str
    checked: Mapping[str, int]
    """Node -> manifest HEADs answered (200 or 404)."""
    missing: Mapping[str, tuple[Target, ...]]
    """Node -> ``(repository, digest)`` the database lists but the node answered 404 for."""
    errors: Mapping[str, str] = field(default_factory=dict)
    """Node -> why some HEADs got no answer (unreachable, 5xx); those are not counted."""

    @property
    def ok(self) -> bool:
        """Whether every node served every probed manifest."""
        return not any(self.missing.values()) and not self.errors


def sample_artifacts(
    catalog: Catalog, *, size: int, seed: int | str
) -> tuple[tuple[str, Artifact], ...]:
    """Pick up to ``size`` artifacts, round-robin over repositories in a seeded order.

    Deterministic for a seed and catalog content; spreads across repositories before taking a
    second artifact of any one.
    """
    if size <= 0:
        return ()
    rng = random.Random(str(seed))
    names = sorted(catalog.repositories)
    rng.shuffle(names)
    queues: list[list[Artifact]] = []
    for name in names:
        artifacts = sorted(catalog.repositories[name].artifacts, key=lambda a: a.digest)
        rng.shuffle(artifacts)
        queues.append(artifacts)
    picked: list[tuple[str, Artifact]] = []
    depth = 0
    while len(picked) < size and any(depth < len(q) for q in queues):
        for name, queue in zip(names, queues, strict=True):
            if depth < len(queue) and len(picked) < size:
                picked.append((name, queue[depth]))
        depth += 1
    return tuple(picked)


def probe_targets(sample: tuple[tuple[str, Artifact], ...]) -> tuple[Target, ...]:
    """Manifests to HEAD for a sample: each artifact, its index children and accessories."""
    targets: dict[Target, None] = {}
    for repo, art in sample:
        for digest in (art.digest, *art.references, *art.accessories):
            targets[repo, digest] = None
    return tuple(targets)


def probe_cluster(
    *,
    cluster: str,
    nodes: Mapping[str, HarborClient],
    catalog: Catalog,
    sample_size: int,
    seed: int | str,
) -> ParityResult:
    """HEAD the sampled manifests on every node; report per node what answered 404."""
    targets = probe_targets(sample_artifacts(catalog, size=sample_size, seed=seed))
    checked: dict[str, int] = {}
    missing: dict[str, tuple[Target, ...]] = {}
    errors: dict[str, str] = {}
    for node, client in sorted(nodes.items()):
        answers = client.map_concurrent(functools.partial(_head, client), targets)
        checked[node] = sum(1 for a in answers if isinstance(a, bool))
        missing[node] = tuple(t for t, a in zip(targets, answers, strict=True) if a is False)
        failures = [a for a in answers if isinstance(a, str)]
        if failures:
            errors[node] = failures[0]
            log.warning(
                "parity.probe_failed", cluster=cluster, instance=node, failed=len(failures),
                error=failures[0],
            )  # fmt: skip
        if missing[node]:
            log.warning(
                "parity.missing", cluster=cluster, instance=node, missing=len(missing[node]),
                checked=checked[node], artifacts=[f"{r}@{d}" for r, d in missing[node][:10]],
            )  # fmt: skip
    return ParityResult(cluster=cluster, checked=checked, missing=missing, errors=errors)


def _head(client: HarborClient, target: Target) -> bool | str:
    """Whether the node serves the manifest; an error message when it did not answer."""
    repo, digest = target
    try:
        return client.head_manifest(repo, digest)
    except HarborError as exc:
        return str(exc)


def parity_reports(
    clusters: Mapping[str, Mapping[str, HarborClient]],
    catalogs: Mapping[str, Catalog | None],
    *,
    sample_size: int,
    seed: int | str,
) -> tuple[ParityReport, ...]:
    """Probe each cluster from the catalog of its first observed node; one report per node."""
    reports: list[ParityReport] = []
    for cluster, nodes in sorted(clusters.items()):
        catalog = next((catalogs[n] for n in sorted(nodes) if catalogs.get(n)), None)
        if catalog is None or sample_size <= 0:
            continue
        result = probe_cluster(
            cluster=cluster, nodes=nodes, catalog=catalog, sample_size=sample_size, seed=seed
        )
        reports.extend(
            ParityReport(
                cluster=cluster,
                instance=node,
                checked=result.checked.get(node, 0),
                missing=tuple(result.missing.get(node, ())),
                error=result.errors.get(node, ""),
            )
            for node in sorted(nodes)
        )
    return tuple(reports)
