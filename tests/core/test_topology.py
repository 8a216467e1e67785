"""Topology: edges from policies and endpoints, and what each destination should hold."""

from __future__ import annotations

import pytest

from syncd.core.filters import MappingError
from syncd.core.model import (
    Artifact,
    Catalog,
    Edge,
    Filter,
    Policy,
    PolicyProblem,
    Registry,
    Repository,
)
from syncd.core.topology import (
    derive_topology,
    destination_scope,
    expected_on_destination,
    map_repositories,
    normalize_url,
)
from tests.core.strategies import T0

URLS = {
    "hq": "https://hq.example.com",
    "eu": "https://EU.example.com:443/",
    "us": "http://us.example.com:8080",
    "city": "https://city.example.com",
}


def push(owner: str, policy_id: int, dest: int, **kwargs) -> Policy:
    """Build a push policy (source is the local Harbor)."""
    return Policy(owner, policy_id, f"p{policy_id}", kwargs.pop("enabled", True), 0, dest, **kwargs)


def pull(owner: str, policy_id: int, src: int, **kwargs) -> Policy:
    """Build a pull policy (destination is the local Harbor)."""
    return Policy(owner, policy_id, f"p{policy_id}", kwargs.pop("enabled", True), src, 0, **kwargs)


def reg(registry_id: int, url: str) -> Registry:
    """Build a registry endpoint."""
    return Registry(registry_id, f"r{registry_id}", url)


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://Harbor.Example.com/", "https://harbor.example.com:443"),
        ("https://harbor.example.com:443/api", "https://harbor.example.com:443"),
        ("http://harbor:80", "http://harbor:80"),
        ("HTTP://harbor", "http://harbor:80"),
        ("harbor.example.com", "https://harbor.example.com:443"),
        ("http://127.0.0.1:5000/", "http://127.0.0.1:5000"),
        ("http://[::1]:8080", "http://[::1]:8080"),
    ],
)
def test_normalize_url(url, expected):
    """Endpoint URLs compare by scheme, host and port only."""
    assert normalize_url(url) == expected


def test_dual_master():
    """Two push policies pointing at each other give both directions."""
    topo = derive_topology(
        policies={"hq": [push("hq", 1, 5)], "eu": [push("eu", 2, 7)]},
        registries={"hq": [reg(5, "https://eu.example.com")], "eu": [reg(7, URLS["hq"] + "/")]},
        instance_urls=URLS,
    )
    assert topo.edges == (Edge("eu", "hq", "eu", 2), Edge("hq", "eu", "hq", 1))
    assert topo.problems == ()
    assert set(topo.policies) == {("hq", 1), ("eu", 2)}


def test_fan_out_one_to_three():
    """One source with three push policies yields three edges, sorted by policy id."""
    registries = [reg(1, URLS["eu"]), reg(2, URLS["us"]), reg(3, URLS["city"])]
    policies = [push("hq", 30, 3), push("hq", 10, 1), push("hq", 20, 2)]
    topo = derive_topology(
        policies={"hq": policies}, registries={"hq": registries}, instance_urls=URLS
    )
    assert [edge.name for edge in topo.edges] == ["hq->eu", "hq->us", "hq->city"]


def test_pull_policy_points_into_owner():
    """A pull policy replicates from the endpoint into its owner."""
    topo = derive_topology(
        policies={"city": [pull("city", 4, 9)]},
        registries={"city": [reg(9, "https://eu.example.com:443")]},
        instance_urls=URLS,
    )
    assert topo.edges == (Edge("eu", "city", "city", 4),)


@pytest.mark.parametrize(
    ("policy", "registries", "problem"),
    [
        (push("hq", 1, 5), [reg(5, "https://elsewhere.example.com")], "unknown_endpoint"),
        (push("hq", 1, 5), [reg(5, "https://hq.example.com")], "unknown_endpoint"),
        (push("hq", 1, 5), [reg(6, URLS["eu"])], "unknown_registry"),
        (Policy("hq", 1, "p", True, 0, 0), [], "unknown_registry"),
        (Policy("hq", 1, "p", True, 3, 4), [reg(3, URLS["eu"])], "unknown_registry"),
    ],
)
def test_policies_without_edge_are_reported(policy, registries, problem):
    """Endpoints that are no configured peer or missing registries yield a problem, no edge."""
    topo = derive_topology(
        policies={"hq": [policy]}, registries={"hq": registries}, instance_urls=URLS
    )
    assert topo.edges == ()
    assert [(o, i, p.value) for o, i, p, _ in topo.problems] == [("hq", 1, problem)]


def test_disabled_policy_is_reported_not_edged():
    """A disabled policy yields no edge, is kept in policies and says what it would replicate."""
    topo = derive_topology(
        policies={"hq": [push("hq", 1, 5, enabled=False)]},
        registries={"hq": [reg(5, URLS["eu"])]},
        instance_urls=URLS,
    )
    assert topo.edges == ()
    assert topo.policies[("hq", 1)].enabled is False
    assert topo.problems == (
        ("hq", 1, PolicyProblem.DISABLED, "policy is disabled; would replicate hq->eu"),
    )


def test_disabled_policy_with_unknown_endpoint_reports_both():
    """A disabled policy that also points nowhere carries both problems."""
    topo = derive_topology(
        policies={"hq": [push("hq", 1, 5, enabled=False)]}, registries={}, instance_urls=URLS
    )
    assert [p for _, _, p, _ in topo.problems] == [
        PolicyProblem.DISABLED,
        PolicyProblem.UNKNOWN_REGISTRY,
    ]


def catalog(instance: str, content: dict[str, dict[str, str]]) -> Catalog:
    """Build a catalog from {repo: {tag: digest}}."""
    repos = {}
    for name, tag_map in content.items():
        by_digest: dict[str, set[str]] = {}
        for tag, digest in tag_map.items():
            by_digest.setdefault(digest, set()).add(tag)
        arts = tuple(Artifact(d, frozenset(t)) for d, t in sorted(by_digest.items()))
        repos[name] = Repository(name, len(arts), artifacts=arts)
    return Catalog(instance, T0, repos)


SOURCE = catalog(
    "hq",
    {
        "library/nginx": {"1.25": "sha256:a", "latest": "sha256:a", "dev": "sha256:b"},
        "team/sub/api": {"v1": "sha256:c"},
    },
)


def test_expected_without_filters_is_the_source_tag_map():
    """No filters, no namespace: the destination should mirror the source."""
    policy = push("hq", 1, 5)
    assert expected_on_destination(SOURCE, policy) == SOURCE.tag_map()


def test_expected_applies_filters_and_mapping():
    """Name and tag filters select, dest_namespace renames the repository."""
    policy = push(
        "hq",
        1,
        5,
        filters=(Filter("name", "library/**"), Filter("tag", "dev", "excludes")),
        dest_namespace="mirror",
    )
    assert expected_on_destination(SOURCE, policy) == {
        ("mirror/nginx", "1.25"): "sha256:a",
        ("mirror/nginx", "latest"): "sha256:a",
    }
    assert map_repositories(SOURCE, policy) == {"mirror/nginx": "library/nginx"}


def test_expected_raises_on_invalid_mapping():
    """A replace count the source cannot satisfy raises MappingError for the caller."""
    policy = push("hq", 1, 5, dest_namespace="n", dest_namespace_replace_count=2)
    with pytest.raises(MappingError):
        expected_on_destination(SOURCE, policy)


def test_chain_uses_each_edges_own_source_catalog():
    """HQ->region->city: the city's expectation derives from the region's catalog."""
    region = catalog("eu", {"library/nginx": {"1.25": "sha256:a"}})
    hq_to_region = push("hq", 1, 5)
    region_to_city = push("eu", 2, 6)
    assert expected_on_destination(SOURCE, hq_to_region)[("library/nginx", "dev")] == "sha256:b"
    assert expected_on_destination(region, region_to_city) == {
        ("library/nginx", "1.25"): "sha256:a"
    }


def test_destination_scope():
    """Scope covers mapped repos, base repos and, without renaming, name-filter matches."""
    policy = push("hq", 1, 5, filters=(Filter("name", "library/**"), Filter("tag", "v*")))
    in_scope = destination_scope(
        policy, mapped_repositories={"library/nginx"}, base_keys={("old/repo", "v0")}
    )
    assert in_scope(("library/nginx", "v1"))
    assert in_scope(("library/redis", "v1"))  # a destination-only repo the filter selects
    assert in_scope(("old/repo", "v2"))
    assert not in_scope(("library/nginx", "latest"))
    assert not in_scope(("team/app", "v1"))


def test_destination_scope_with_namespace_mapping_is_mapped_repos_only():
    """With renaming, only images of selected source repos (and base repos) are in scope."""
    policy = push("hq", 1, 5, dest_namespace="mirror")
    in_scope = destination_scope(policy, mapped_repositories={"mirror/nginx"})
    assert in_scope(("mirror/nginx", "x"))
    assert not in_scope(("mirror/redis", "x"))
