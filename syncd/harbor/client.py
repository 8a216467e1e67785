"""``HarborClient``: the Harbor v2.0 endpoints syncd uses, returning ``syncd.core.model`` values.

Owns the endpoint paths, their query parameters and the repository-name encoding; the shared
mechanics (auth, cookies, retries, pagination, error mapping) live in ``harbor_http``. Reads are
retried on transient errors; writes (PUT/POST/DELETE) never are. Manifests are only ever HEADed:
a GET fires a pull event that bumps pull counts and ``update_time`` on the instance.
"""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING, Any, Self, TypeVar
from urllib.parse import quote

from syncd.errors import HarborAuthError, HarborForbidden
from syncd.harbor import decode
from syncd.harbor.session import API, HarborSession, RequestRecord

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping
    from types import TracebackType

    import httpx

    from syncd.core.model import Artifact, Execution, Policy, Registry, Repository
    from syncd.harbor.models import Project, ReplicationTask

__all__ = ["MANIFEST_ACCEPT", "HarborClient", "RequestRecord", "repository_path"]

MANIFEST_ACCEPT = (
    "application/vnd.oci.image.index.v1+json, "
    "application/vnd.oci.image.manifest.v1+json, "
    "application/vnd.docker.distribution.manifest.list.v2+json, "
    "application/vnd.docker.distribution.manifest.v2+json"
)
"""Every manifest type: distribution 404s OCI content when the OCI type is not accepted."""

T = TypeVar("T")
_REPO = "/projects/{project_name}/repositories/{repository_name}"
_ARTIFACT_FLAGS = {"with_tag": "true", "with_label": "true", "with_accessory": "true"}


def _name(repo: Repository) -> str:
    return repo.name


def _id(row: Registry | Policy | Execution) -> int:
    return row.id


def repository_path(repo_full: str) -> str:
    """Build a repository's API path: project once-encoded, the rest twice (a/b -> a%252Fb)."""
    project, sep, rest = repo_full.partition("/")
    if not sep or not project or not rest:
        raise ValueError(f"repository name {repo_full!r} has no project prefix")
    twice = quote(quote(rest, safe=""), safe="")
    return f"{API}/projects/{quote(project, safe='')}/repositories/{twice}"


class HarborClient(HarborSession):
    """Typed access to one Harbor instance (the session's constructor arguments apply)."""

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # ----------------------------------------------------------------------- liveness

    def probe_auth(self) -> None:
        """Confirm the credentials are accepted; bad ones make Harbor answer as anonymous."""
        try:
            self.request(
                "GET", f"{API}/replication/policies", kind="probe_auth", params={"page_size": 1}
            )
        except HarborAuthError as exc:
            raise HarborAuthError(
                f"credentials for instance {self.name} were rejected (Harbor fell back to "
                "anonymous); check the username, password and robot account expiry",
                instance=self.name,
                method=exc.method,
                url=exc.url,
                status=exc.status,
                body=exc.body,
                request_id=exc.request_id,
            ) from None
        except HarborForbidden as exc:
            # A plain user or a project-only robot: the login works, but policies, registries
            # and executions need system access (RequireSystemAccess): nothing could be repaired.
            raise HarborAuthError(
                f"the account for instance {self.name} lacks system access (403 on "
                "replication policies); use a system administrator or a robot with system "
                "permissions on replication-policy, replication and registry",
                instance=self.name,
                method=exc.method,
                url=exc.url,
                status=exc.status,
                body=exc.body,
                request_id=exc.request_id,
            ) from None

    def ping(self) -> bool:
        """Whether the core process answers ``/ping``; raises ``HarborError`` when it cannot.

        Retried like every read: one 429 or 500 from a proxy must not mark the instance down.
        """
        response = self.request("GET", f"{API}/ping", kind="/ping")
        return response.text.strip() == "Pong"

    def health(self) -> dict[str, Any]:
        """Return ``OverallHealthStatus`` as a dict (HTTP 200 even when unhealthy)."""
        return self._get(f"{API}/health", kind="/health", decode=decode.decode_health)

    def systeminfo(self) -> dict[str, Any]:
        """Return the ``GeneralInfo`` fields syncd reads, as a dict."""
        return self._get(f"{API}/systeminfo", kind="/systeminfo", decode=decode.decode_systeminfo)

    def _get(self, path: str, *, kind: str, decode: Callable[[bytes], T]) -> T:
        return self.decoded(self.request("GET", path, kind=kind), decode)

    # ----------------------------------------------------------------------- catalog

    def list_projects(self) -> list[Project]:
        """Every project visible to us (``with_detail=false`` is cheaper)."""
        return self.get_all(
            f"{API}/projects",
            kind="/projects",
            params={"with_detail": "false", "sort": "name"},
            decode=decode.decode_projects,
            key=lambda project: project.name,
        )

    def list_repositories(self, project: str, *, q: str | None = None) -> list[Repository]:
        """Repositories of ``project`` (without artifacts), optionally filtered by ``q``."""
        params: dict[str, str | int] = {"sort": "name"}
        if q is not None:
            params["q"] = q
        path = f"{API}/projects/{quote(project, safe='')}/repositories"
        return self.get_all(
            path,
            kind="/projects/{project_name}/repositories",
            params=params,
            decode=decode.decode_repositories,
            key=_name,
        )

    def list_all_repositories(self) -> list[Repository]:
        """Every repository visible to us, across projects (without artifacts)."""
        return self.get_all(
            f"{API}/repositories",
            kind="/repositories",
            params={"sort": "name"},
            decode=decode.decode_repositories,
            key=_name,
        )

    def get_repository(self, repo_full: str) -> Repository:
        """One repository by full name."""
        return self._get(repository_path(repo_full), kind=_REPO, decode=decode.decode_repository)

    def list_artifacts(self, repo_full: str) -> tuple[Artifact, ...]:
        """Artifacts of a repository with tags, labels and accessories embedded."""
        # Offset paging is not snapshot-consistent: a push between pages repeats a row, which
        # ``get_all`` refuses (key) instead of silently dropping the row it displaced.
        return tuple(
            self.get_all(
                f"{repository_path(repo_full)}/artifacts",
                kind=f"{_REPO}/artifacts",
                params=_ARTIFACT_FLAGS,
                decode=decode.decode_artifacts,
                key=lambda art: art.digest,
            )
        )

    def list_project_artifacts(self, project: str) -> dict[str, tuple[Artifact, ...]]:
        """Artifacts of a whole project, by full repository name (one listing, fewer calls).

        Older Harbors lack this endpoint and answer 404 (``HarborNotFound``).
        """
        rows: list[tuple[str, Artifact]] = self.get_all(
            f"{API}/projects/{quote(project, safe='')}/artifacts",
            kind="/projects/{project_name_or_id}/artifacts",
            params=_ARTIFACT_FLAGS,
            headers={"X-Is-Resource-Name": "true"},  # a numeric project name is still a name
            decode=decode.decode_project_artifacts,
            key=lambda row: (row[0], row[1].digest),
        )
        grouped: dict[str, list[Artifact]] = {}
        for repo, art in rows:
            grouped.setdefault(repo, []).append(art)
        return {repo: tuple(arts) for repo, arts in grouped.items()}

    def delete_artifact(self, repo_full: str, digest: str) -> None:
        """Delete one artifact by digest (never retried)."""
        path = f"{repository_path(repo_full)}/artifacts/{quote(digest, safe=':')}"
        self.request("DELETE", path, kind=f"{_REPO}/artifacts/{{reference}}")

    def delete_tag(self, repo_full: str, *, reference: str, tag: str) -> None:
        """Delete ``tag`` from the artifact ``reference`` (a digest pins it; never retried)."""
        path = (
            f"{repository_path(repo_full)}/artifacts/{quote(reference, safe=':')}"
            f"/tags/{quote(tag, safe='')}"
        )
        self.request("DELETE", path, kind=f"{_REPO}/artifacts/{{reference}}/tags/{{tag_name}}")

    def head_manifest(self, repo_full: str, reference: str) -> bool:
        """Whether the registry serves the manifest (HEAD only: a GET counts as a pull)."""
        path = f"/v2/{repo_full}/manifests/{quote(reference, safe=':')}"
        headers = {"Accept": MANIFEST_ACCEPT}
        response = self.request("HEAD", path, kind="v2_manifest", headers=headers, allow=(404,))
        return response.status_code != 404  # noqa: PLR2004 - HTTP Not Found

    def head_blob(self, repo_full: str, digest: str) -> bool:
        """Whether the registry has the blob."""
        path = f"/v2/{repo_full}/blobs/{quote(digest, safe=':')}"
        response = self.request("HEAD", path, kind="v2_blob", allow=(404,))
        return response.status_code != 404  # noqa: PLR2004 - HTTP Not Found

    # ----------------------------------------------------------------------- replication

    def list_registries(self) -> list[Registry]:
        """Registry endpoints configured on this instance."""
        return self.get_all(
            f"{API}/registries", kind="/registries", decode=decode.decode_registries, key=_id
        )

    def list_policies(self, *, owner: str) -> list[Policy]:
        """Every replication policy on this instance (``owner`` is this instance's name)."""
        return self.get_all(
            f"{API}/replication/policies",
            kind="/replication/policies",
            decode=partial(decode.decode_policies, owner=owner),
            key=_id,
        )

    def get_policy(self, policy_id: int, *, owner: str) -> Policy:
        """One replication policy."""
        return self._get(
            f"{API}/replication/policies/{policy_id}",
            kind="/replication/policies/{id}",
            decode=partial(decode.decode_policy, owner=owner),
        )

    def put_policy(self, policy_id: int, body: Mapping[str, Any]) -> None:
        """Replace a policy (a full replace: send the whole object back)."""
        path = f"{API}/replication/policies/{policy_id}"
        self.request("PUT", path, kind="/replication/policies/{id}", json=dict(body))

    def create_policy(self, body: Mapping[str, Any]) -> int:
        """Create a replication policy; return its id from ``Location`` (never retried)."""
        response = self.request(
            "POST", f"{API}/replication/policies", kind="/replication/policies", json=dict(body)
        )
        return self._location_id(response, "policy")

    def delete_policy(self, policy_id: int) -> None:
        """Delete a replication policy (412 while one of its executions runs; never retried)."""
        path = f"{API}/replication/policies/{policy_id}"
        self.request("DELETE", path, kind="/replication/policies/{id}")

    def _location_id(self, response: httpx.Response, what: str) -> int:
        location = response.headers.get("Location", "")
        tail = location.rstrip("/").rsplit("/", 1)[-1]
        if not tail.isdigit():
            raise self.protocol_error(
                response, f"header 'Location' holds no {what} id ({location!r})"
            )
        return int(tail)

    def start_execution(self, policy_id: int) -> int:
        """Start a replication of ``policy_id``; return the new execution id (never retried)."""
        response = self.request(
            "POST",
            f"{API}/replication/executions",
            kind="/replication/executions",
            json={"policy_id": policy_id},
        )
        return self._location_id(response, "execution")

    def list_executions(
        self, *, policy_id: int | None = None, status: str | None = None
    ) -> list[Execution]:
        """List executions, optionally of one policy and/or in one status (newest first)."""
        params: dict[str, str | int] = {}
        if policy_id is not None:
            params["policy_id"] = policy_id
        if status is not None:
            params["status"] = status
        return self.get_all(
            f"{API}/replication/executions",
            kind="/replication/executions",
            params=params,
            decode=partial(decode.decode_executions, instance=self.name),
            key=_id,
        )

    def get_execution(self, execution_id: int) -> Execution:
        """One execution."""
        return self._get(
            f"{API}/replication/executions/{execution_id}",
            kind="/replication/executions/{id}",
            decode=partial(decode.decode_execution, instance=self.name),
        )

    def list_tasks(self, execution_id: int) -> list[ReplicationTask]:
        """List the tasks of an execution."""
        return self.get_all(
            f"{API}/replication/executions/{execution_id}/tasks",
            kind="/replication/executions/{id}/tasks",
            decode=decode.decode_tasks,
        )

    def stop_execution(self, execution_id: int) -> None:
        """Ask Harbor to stop an execution (PUT with no body; never retried)."""
        path = f"{API}/replication/executions/{execution_id}"
        self.request("PUT", path, kind="/replication/executions/{id}")
