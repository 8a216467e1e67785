"""The one store interface both state backends implement (SQLite and PostgreSQL).

The engine and the service depend on `Store` only; ``syncd.wiring`` picks the backend. A
structural ``Protocol`` rather than a base class: the SQLite store keeps its own code, and the
shared store test suite (``tests/store``) runs every method against both backends.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol, Self

from syncd.errors import StateError

if TYPE_CHECKING:
    from collections.abc import Collection, Iterable, Mapping
    from datetime import datetime

    from syncd.core.incremental import EdgeStamp
    from syncd.core.model import Catalog, HealthState, Repository
    from syncd.store._journal import AuditEntry, OpenExecution, RepairIntent, ToggleIntent

__all__ = ["FencedError", "Store"]


class FencedError(StateError):
    """This process no longer leads: its writes are refused (a newer leader epoch exists)."""


class Store(Protocol):  # pragma: no cover - a structural type, implemented by both backends
    """Everything syncd persists; every method is one transaction; errors are `StateError`."""

    @property
    def path(self) -> str:
        """Where the state lives, safe to print (a file path, or a URL without password)."""
        ...

    def close(self) -> None:
        """Release connections; closing twice is harmless."""
        ...

    def __enter__(self) -> Self: ...

    def __exit__(self, *exc_info: object) -> None: ...

    def schema_version(self) -> int:
        """Return the schema version stored in the database."""
        ...

    def writable(self) -> bool:
        """Report whether the state can be reached and written right now (for /readyz)."""
        ...

    def check_identity(self) -> None:
        """Raise ``StateError`` if the state opened is no longer the one at its address."""
        ...

    # ------------------------------------------------------------------ snapshots

    def load_base(
        self, edge_name: str, only: Collection[str] | None = None
    ) -> Mapping[tuple[str, str], str] | None:
        """Return the edge's last converged ``(repository, tag) -> digest``, or None if never.

        With ``only``, just the entries of those destination repositories (read in proportion).
        Read-only: the store may hand out the mapping it remembers (see ``save_base``).
        """
        ...

    def save_base(
        self,
        edge_name: str,
        mapping: Mapping[tuple[str, str], str],
        *,
        at: datetime,
        only: Collection[str] | None = None,
        stamp: EdgeStamp | None = None,
    ) -> None:
        """Replace the edge's base with ``mapping``, assessed completely at ``at``.

        With ``only``, just the entries of those repositories are replaced (``mapping`` holds
        theirs); the others stay. A whole base is written in proportion to change: while the
        database still holds the generation of the base this store last loaded or saved, only
        the entries that differ from it are written. ``stamp`` is kept with the generations
        the two catalogs it names hold in the same transaction (see `edge_stamp`).
        """
        ...

    def edge_stamp(self, edge_name: str) -> EdgeStamp | None:
        """Return the stamp saved with the edge's base, or None.

        None too when either catalog it names has been written since (another generation):
        then the stored base and catalogs do not belong to one assessment.
        """
        ...

    def update_base(
        self,
        edge_name: str,
        *,
        set_: Mapping[tuple[str, str], str],
        remove: Iterable[tuple[str, str]],
    ) -> bool:
        """Amend an existing base; return False (no change) if the edge has none.

        Forgets the edge's stamp: the next assessment of the edge is a full one.
        """
        ...

    def last_converged(self, edge_name: str) -> datetime | None:
        """Return when the edge was last assessed completely (its base saved), or None."""
        ...

    def load_catalog(self, instance: str) -> Catalog | None:
        """Return the cached catalog of ``instance``, or None if never saved.

        Without reading a row while the database still holds the generation of the catalog
        this store last loaded or saved (the daemon's catalog of the previous pass).
        """
        ...

    def save_catalog(self, catalog: Catalog) -> None:
        """Replace the cached catalog of ``catalog.instance``.

        In proportion to change: while the database still holds the generation of the catalog
        this store last loaded or saved, only repositories that differ from it are written.
        """
        ...

    def replace_repositories(
        self,
        instance: str,
        repos: Iterable[Repository],
        removed: Iterable[str],
        *,
        taken_at: datetime,
        projects: frozenset[str] | None = None,
        public_projects: frozenset[str] | None = None,
    ) -> None:
        """Update the catalog cache incrementally."""
        ...

    def load_first_seen(self) -> dict[tuple[str, str, str, str], datetime]:
        """Return when each ``(edge, repository, tag, drift class)`` was first seen drifting."""
        ...

    def save_first_seen(self, mapping: Mapping[tuple[str, str, str, str], datetime]) -> None:
        """Replace all first-seen times."""
        ...

    # ------------------------------------------------------------------ status

    def record_health(self, instance: str, state: HealthState, at: datetime) -> HealthState | None:
        """Store a probe result; return the previous state on a transition, else None."""
        ...

    def health_states(self) -> dict[str, tuple[HealthState, datetime]]:
        """Return each instance's current state and since when."""
        ...

    def record_pass(
        self, pass_id: str, *, started_at: datetime, finished_at: datetime, outcome: str
    ) -> None:
        """Remember a finished pass."""
        ...

    def last_pass(self) -> tuple[str, datetime, str] | None:
        """Return ``(pass_id, finished_at, outcome)`` of the last recorded pass, or None."""
        ...

    def last_success(self) -> datetime | None:
        """Return when the last pass that did not error finished, or None."""
        ...

    def load_history(self) -> dict[tuple[str, int], dict[str, Any]]:
        """Return every policy's history record."""
        ...

    def save_history(self, owner: str, policy_id: int, record: Mapping[str, Any]) -> None:
        """Store one policy's history record."""
        ...

    def delete_history(self, owner: str, policy_id: int) -> None:
        """Forget a policy's history."""
        ...

    # ------------------------------------------------------------------ journal

    def journal_disable_intent(
        self, instance: str, policy_id: int, *, policy_json: Mapping[str, Any], at: datetime
    ) -> int:
        """Durably record, BEFORE the disable PUT, that the policy must be re-enabled."""
        ...

    def complete_intent(self, intent_id: int, *, at: datetime) -> None:
        """Mark the intent done once the re-enable PUT has been verified."""
        ...

    def pending_intents(self) -> list[ToggleIntent]:
        """Return intents not yet completed, oldest first."""
        ...

    def journal_repair_intent(
        self, instance: str, *, origin_policy_id: int, name: str, at: datetime
    ) -> int:
        """Durably record, BEFORE the create POST, that policy ``name`` must be deleted."""
        ...

    def set_repair_policy(self, intent_id: int, policy_id: int) -> None:
        """Record the id Harbor gave the temporary policy."""
        ...

    def complete_repair_intent(self, intent_id: int, *, at: datetime) -> None:
        """Mark the intent done once the temporary policy is gone."""
        ...

    def pending_repairs(self) -> list[RepairIntent]:
        """Return repair intents not yet completed, oldest first."""
        ...

    def remember_execution(
        self, instance: str, policy_id: int, execution_id: int, *, started_at: datetime
    ) -> None:
        """Record an execution syncd started."""
        ...

    def open_executions(self) -> list[OpenExecution]:
        """Return executions syncd started and has not seen finish, oldest first."""
        ...

    def finish_execution(
        self, instance: str, execution_id: int, *, status: str, at: datetime
    ) -> None:
        """Mark the execution finished with its terminal ``status``."""
        ...

    def audit(  # noqa: PLR0913 - one keyword per audit column, all keyword-only
        self,
        *,
        pass_id: str,
        at: datetime,
        kind: str,
        instance: str,
        policy_id: int | None,
        edge: str | None,
        reason: str,
        result: str,
        detail: str = "",
        execution_id: int | None = None,
    ) -> None:
        """Append one entry to the audit trail."""
        ...

    def audit_entries(self, limit: int = 100) -> list[AuditEntry]:
        """Return the newest ``limit`` audit entries, newest first."""
        ...

    def prune(self, *, before: datetime) -> int:
        """Drop finished history older than ``before``; return the number of rows dropped."""
        ...
