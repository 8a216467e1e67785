"""Several simulated Harbors wired together with endpoints and replication policies."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Self

from syncd.sim.instance import SimInstance

if TYPE_CHECKING:
    from collections.abc import Iterable
    from types import TracebackType

__all__ = ["SimCluster", "policy_body"]

ADMIN_USER, ADMIN_PASSWORD = "admin", "Harbor12345"


class SimCluster:
    """A set of started ``SimInstance`` objects that know each other (``siblings``)."""

    def __init__(self) -> None:
        self.instances: dict[str, SimInstance] = {}

    def __getitem__(self, name: str) -> SimInstance:
        return self.instances[name]

    def add(self, name: str, **kw: Any) -> SimInstance:
        """Create and start an instance."""
        inst = SimInstance(name, **kw).start()
        self.instances[name] = inst
        for other in self.instances.values():
            other.siblings = self.instances
        return inst

    def add_node(self, name: str, *, of: str, **kw: Any) -> SimInstance:
        """Create and start a node sharing ``of``'s database, jobservice and storage."""
        return self.add(name, shared_with=self.instances[of], **kw)

    def _endpoint(self, owner: SimInstance, peer: SimInstance) -> int:
        with owner.state.lock:
            for reg in owner.state.registries.values():
                if reg.url == peer.url:
                    return reg.id
        return owner.add_registry(
            f"{peer.name}", peer.url, username=ADMIN_USER, password=ADMIN_PASSWORD
        )

    def link(
        self,
        a: str,
        b: str,
        *,
        policy_name: str | None = None,
        trigger: str = "event_based",
        cron: str = "",
        override: bool = True,
        replicate_deletion: bool = False,
        filters: Iterable[dict[str, Any]] = (),
        dest_namespace: str = "",
        dest_namespace_replace_count: int | None = None,
        enabled: bool = True,
    ) -> int:
        """On ``a``: an endpoint for ``b`` and a push policy a->b; returns the policy id."""
        src, dst = self.instances[a], self.instances[b]
        rid = self._endpoint(src, dst)
        body = policy_body(
            policy_name or f"{a}-to-{b}",
            trigger=trigger,
            cron=cron,
            override=override,
            replicate_deletion=replicate_deletion,
            filters=filters,
            dest_namespace=dest_namespace,
            dest_namespace_replace_count=dest_namespace_replace_count,
            enabled=enabled,
        )
        body |= {"src_registry": {"id": 0}, "dest_registry": {"id": rid}}
        return src.add_policy(body)

    def link_pull(
        self,
        a: str,
        b: str,
        *,
        policy_name: str | None = None,
        trigger: str = "manual",
        **kw: Any,
    ) -> int:
        """On ``b``: an endpoint for ``a`` and a pull policy a->b; returns the policy id."""
        src, dst = self.instances[a], self.instances[b]
        rid = self._endpoint(dst, src)
        body = policy_body(policy_name or f"{b}-from-{a}", trigger=trigger, **kw)
        body |= {"src_registry": {"id": rid}, "dest_registry": {"id": 0}}
        return dst.add_policy(body)

    def dual_master(self, a: str, b: str, **kw: Any) -> tuple[int, int]:
        """Push policies both ways; returns ``(policy on a, policy on b)``."""
        return self.link(a, b, **kw), self.link(b, a, **kw)

    def stop(self) -> None:
        """Stop every instance."""
        for inst in self.instances.values():
            inst.stop()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def policy_body(
    name: str,
    *,
    trigger: str,
    cron: str = "",
    override: bool = True,
    replicate_deletion: bool = False,
    filters: Iterable[dict[str, Any]] = (),
    dest_namespace: str = "",
    dest_namespace_replace_count: int | None = None,
    enabled: bool = True,
) -> dict[str, Any]:
    """Build a ``ReplicationPolicy`` body without its registries (the caller adds them)."""
    body: dict[str, Any] = {
        "name": name,
        "trigger": {"type": trigger, "trigger_settings": {"cron": cron}},
        "override": override,
        "deletion": replicate_deletion,
        "replicate_deletion": replicate_deletion,
        "filters": list(filters),
        "dest_namespace": dest_namespace,
        "enabled": enabled,
    }
    if dest_namespace_replace_count is not None:
        body["dest_namespace_replace_count"] = dest_namespace_replace_count
    return body
