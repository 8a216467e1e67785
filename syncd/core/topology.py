"""Replication topology: which policy makes which instance copy to which, and what it should copy.

Owns: turning every instance's policies and registry endpoints into directed ``Edge`` values
(push: owner -> endpoint, pull: endpoint -> owner), reporting policies that yield no edge, and
predicting the tag map a destination should hold for one edge. Pure: stdlib and ``syncd``
core only; no I/O, no logging.

Disabled policies yield **no edge**: syncd never repairs through a policy the operator turned
off. They stay in ``Topology.policies`` and are reported as ``DISABLED`` (plus any endpoint
problem), so the plan can report them or re-enable them when configured to.
"""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from syncd.core.filters import (
    destination_name,
    repository_selected,
    select_tags,
    tag_filter_passes,
)
from syncd.core.model import Edge, Policy, PolicyProblem, Topology

if TYPE_CHECKING:
    from collections.abc import Callable, Collection, Mapping, Sequence

    from syncd.core.model import Catalog, Registry, TagKey

__all__ = [
    "derive_topology",
    "destination_scope",
    "expected_on_destination",
    "map_repositories",
    "normalize_url",
]

_DEFAULT_PORTS = {"http": 80, "https": 443}
Problem = tuple[str, int, PolicyProblem, str]


def normalize_url(url: str) -> str:
    """Reduce an endpoint URL to ``scheme://host:port`` (lowercase, default port explicit)."""
    text = url.strip()
    if "://" not in text:
        text = "https://" + text  # Harbor endpoints default to https
    parts = urlsplit(text)
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    if ":" in host:
        host = f"[{host}]"
    port = parts.port or _DEFAULT_PORTS.get(scheme, 0)
    return f"{scheme}://{host}:{port}"


def derive_topology(
    *,
    policies: Mapping[str, Sequence[Policy]],
    registries: Mapping[str, Sequence[Registry]],
    instance_urls: Mapping[str, str],
) -> Topology:
    """Derive every edge from every instance's policies, in a deterministic (sorted) order."""
    by_url: dict[str, str] = {}
    for name in sorted(instance_urls, reverse=True):  # the first name wins on a duplicate URL
        by_url[normalize_url(instance_urls[name])] = name
    edges: list[Edge] = []
    problems: list[Problem] = []
    policy_map: dict[tuple[str, int], Policy] = {}
    for owner in sorted(policies):
        endpoints = {registry.id: registry for registry in registries.get(owner, ())}
        for policy in sorted(policies[owner], key=lambda p: p.id):
            policy_map[owner, policy.id] = policy
            edge, problem = _resolve(policy, endpoints, by_url)
            if not policy.enabled:
                problems.append((owner, policy.id, PolicyProblem.DISABLED, _disabled(edge)))
            if problem is not None:
                problems.append(problem)
            elif edge is not None and policy.enabled:
                edges.append(edge)
    return Topology(edges=tuple(edges), policies=policy_map, problems=tuple(problems))


def _disabled(edge: Edge | None) -> str:
    where = f"; would replicate {edge.name}" if edge is not None else ""
    return f"policy is disabled{where}"


def _resolve(
    policy: Policy, endpoints: Mapping[int, Registry], by_url: Mapping[str, str]
) -> tuple[Edge | None, Problem | None]:
    """Find the edge a policy describes, or the problem that prevents one."""
    remote_id = policy.dest_registry_id if policy.is_push else policy.src_registry_id
    if (policy.src_registry_id == 0) == (policy.dest_registry_id == 0):
        detail = "exactly one side of a policy must be the local Harbor (registry id 0)"
        return None, (policy.owner, policy.id, PolicyProblem.UNKNOWN_REGISTRY, detail)
    registry = endpoints.get(remote_id)
    if registry is None:
        detail = f"registry id {remote_id} is not configured on {policy.owner}"
        return None, (policy.owner, policy.id, PolicyProblem.UNKNOWN_REGISTRY, detail)
    peer = by_url.get(normalize_url(registry.url))
    if peer is None or peer == policy.owner:
        what = "the owner itself" if peer else "no configured instance"
        detail = f"endpoint {registry.name!r} ({registry.url}) is {what}"
        return None, (policy.owner, policy.id, PolicyProblem.UNKNOWN_ENDPOINT, detail)
    source, destination = (policy.owner, peer) if policy.is_push else (peer, policy.owner)
    return Edge(source, destination, policy.owner, policy.id), None


def map_repositories(source: Catalog, policy: Policy) -> dict[str, str]:
    """Map each source repository the policy selects from its destination name to its own name.

    Raises ``MappingError`` when a name cannot be mapped (the caller reports INVALID_MAPPING).
    Two source repositories flattened onto one destination name: the last in sorted order wins.
    """
    names = sorted(source.repositories)
    if not policy.dest_namespace and not any(f.type == "name" for f in policy.filters):
        return {name: name for name in names}  # every repository, under its own name
    mapped: dict[str, str] = {}
    for name in names:
        if repository_selected(policy.filters, name):
            target = destination_name(
                name,
                namespace=policy.dest_namespace,
                replace_count=policy.dest_namespace_replace_count,
            )
            mapped[target] = name
    return mapped


def expected_on_destination(
    source: Catalog, policy: Policy, *, mapped: Mapping[str, str] | None = None
) -> dict[TagKey, str]:
    """Tag map (destination names) the destination should hold after ``policy`` copies ``source``.

    ``mapped`` is ``map_repositories(source, policy)`` when the caller already has it. Raises
    ``MappingError`` like ``map_repositories``.
    """
    expected: dict[TagKey, str] = {}
    mapping = map_repositories(source, policy) if mapped is None else mapped
    for target, name in mapping.items():
        for artifact in source.repositories[name].artifacts:
            for tag in select_tags(policy.filters, artifact):
                expected[target, tag] = artifact.digest
    return expected


def destination_scope(
    policy: Policy,
    *,
    mapped_repositories: Collection[str],
    base_keys: Collection[TagKey] = (),
) -> Callable[[TagKey], bool]:
    """Return a predicate: is this destination tag the policy's business (EXTRA, deletions).

    A destination tag is in scope when its tag passes the tag filters and its repository is
    the image of a selected source repository, was in the edge's base, or (without a
    namespace mapping, where names are unchanged) passes the name filters itself. Label
    filters cannot be checked on the destination (labels are not replicated) and are ignored.
    """
    repos = frozenset(mapped_repositories) | {repo for repo, _ in base_keys}
    same_names = not policy.dest_namespace

    def in_scope(key: TagKey) -> bool:
        repo, tag = key
        if not tag_filter_passes(policy.filters, tag):
            return False
        return repo in repos or (same_names and repository_selected(policy.filters, repo))

    return in_scope
