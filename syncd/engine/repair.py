"""Scoped repair: copy exactly the wanted tags through a temporary policy, then remove it.

A whole-policy manual execution copies everything the policy selects; when its blast radius
is harmful (``syncd.core.radius``) the planner asks for a ``SCOPED_TRIGGER`` instead. Per
source repository this module creates a temporary policy ``syncd-repair-<hex>`` on the
original's owner (same registries, ``dest_namespace`` and replace count; name filter = the
repository, tag filter = exactly the wanted tags; override only when the original has it and a
wanted tag is stale; manual trigger; a description carrying ``MARKER``), starts it, watches it
to a final state and deletes it.

Crash safety: the intent is journalled BEFORE the create POST and completed only once the policy
is gone. ``sweep`` runs at the start of every pass (so also on every start) and deletes each
policy syncd left behind (prefix + marker, journalled or not) once its executions are final.
A 403 on create means the account lacks the permission: the repair is reported ``blocked``,
never replaced by the unsafe whole-policy trigger. POSTs are never retried.
"""

from __future__ import annotations

import re
import time
import uuid
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

import structlog

from syncd.core.model import Action, ActionResult, Execution, ExecutionStatus, Outcome
from syncd.core.radius import tag_pattern
from syncd.engine.watch import watch_execution
from syncd.errors import HarborError, HarborForbidden, HarborNotFound, SyncdError

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping, Sequence
    from datetime import datetime

    from syncd.core.model import Policy, RepairScope
    from syncd.engine.observe import InstanceView
    from syncd.harbor.client import HarborClient
    from syncd.store.interface import Store

__all__ = [
    "MARKER",
    "REPAIR_PREFIX",
    "RepairSettings",
    "ScopedRepairer",
    "is_repair_policy",
    "repair_body",
    "repair_origin",
    "without_repair_policies",
]

log = structlog.get_logger("syncd.engine.repair")

REPAIR_PREFIX = "syncd-repair-"
MARKER = "[syncd scoped repair]"
_ORIGIN = re.compile(r"created by syncd to repair policy (\d+) ")
"""In the description of every temporary policy: with the prefix, what ``sweep`` may delete."""


def is_repair_policy(policy: Policy) -> bool:
    """Whether syncd created ``policy`` for a scoped repair (prefix and marker both)."""
    description = policy.raw.get("description")
    return policy.name.startswith(REPAIR_PREFIX) and MARKER in str(description or "")


def repair_origin(policy: Policy) -> int | None:
    """Return the id of the policy a temporary repair policy repairs (its description)."""
    if not is_repair_policy(policy):
        return None
    found = _ORIGIN.search(str(policy.raw.get("description") or ""))
    return int(found.group(1)) if found else None


def without_repair_policies(view: InstanceView) -> InstanceView:
    """Hide temporary repair policies from the topology: they are not replication edges."""
    kept = tuple(p for p in view.policies if not is_repair_policy(p))
    return view if len(kept) == len(view.policies) else replace(view, policies=kept)


def repair_body(original: Policy, scope: RepairScope, *, name: str) -> dict[str, Any]:
    """Build the create body; every field Harbor would otherwise default is sent explicitly.

    Harbor reads ``deletion`` (not ``replicate_deletion``), turns an omitted replace count into
    -1 (legacy flattening) and omitted filters into "everything" (api-notes.md, PUT gotchas).
    """
    pattern = tag_pattern(scope.tags)
    description = (
        f"{MARKER} created by syncd to repair policy {original.id} ({original.name}): copies "
        f"{scope.source_repository}:{pattern} only; deleted once its execution is final"
    )
    return {
        "name": name,
        "description": description,
        "src_registry": {"id": original.src_registry_id},
        "dest_registry": {"id": original.dest_registry_id},
        "dest_namespace": original.dest_namespace,
        "dest_namespace_replace_count": original.dest_namespace_replace_count,
        "filters": [
            {"type": "name", "value": scope.source_repository},
            {"type": "tag", "value": pattern, "decoration": "matches"},
        ],
        "trigger": {"type": "manual", "trigger_settings": {"cron": ""}},
        "override": original.override and scope.overwrite,
        "deletion": False,
        "replicate_deletion": False,
        "enabled": True,
        "speed": speed if isinstance(speed := original.raw.get("speed"), int) else 0,
        "copy_by_chunk": bool(original.raw.get("copy_by_chunk")),
    }


@dataclass(frozen=True, slots=True)
class RepairSettings:
    """How scoped repairs behave (the executor's ``reconcile`` settings)."""

    dry_run: bool = False
    execution_timeout: float = 1800.0
    poll_interval: float = 5.0


class ScopedRepairer:
    """Runs ``SCOPED_TRIGGER`` actions and sweeps temporary policies left behind."""

    def __init__(
        self,
        *,
        clients: Mapping[str, HarborClient],
        store: Store,
        settings: RepairSettings,
        now: Callable[[], datetime],
        monotonic: Callable[[], float] = time.monotonic,
        wait: Callable[[float], None] = time.sleep,
    ) -> None:
        self._clients = clients
        self._store = store
        self._settings = settings
        self._now = now
        self._monotonic = monotonic
        self._wait = wait

    # ------------------------------------------------------------------ actions

    def apply(self, actions: Sequence[Action], *, pass_id: str) -> tuple[Outcome, ...]:
        """Run each scoped repair in turn and audit its outcome (the radius is the reason)."""
        outcomes = tuple(self._run_isolated(action) for action in actions)
        for outcome in outcomes:
            self._audit(outcome, pass_id=pass_id)
        return outcomes

    def _run_isolated(self, action: Action) -> Outcome:
        if self._settings.dry_run:
            return Outcome(
                action=action, result=ActionResult.DRY_RUN, detail="dry run: nothing sent"
            )
        try:
            return self._run(action)
        except SyncdError as exc:
            # syncd's own request failed: nothing says the policy does not converge, so the
            # result enters no backoff (as the executor's); the next pass re-plans.
            return Outcome(action=action, result=ActionResult.NOT_STARTED, detail=str(exc))

    def _run(self, action: Action) -> Outcome:
        assert action.policy_id is not None
        client = self._clients[action.instance]
        original = client.get_policy(action.policy_id, owner=client.name)
        if not original.enabled:
            detail = f"policy {original.id} is disabled; syncd never repairs through it"
            return Outcome(action=action, result=ActionResult.FAILED, detail=detail)
        running = client.list_executions(
            policy_id=original.id, status=ExecutionStatus.IN_PROGRESS.value
        )
        if running:
            detail = f"execution {running[0].id} of policy {original.id} is running"
            return Outcome(action, ActionResult.SKIPPED, detail, execution_id=running[0].id)
        done: list[Outcome] = []
        for scope in action.scopes:
            outcome = self._scoped(client, action, original, scope)
            done.append(outcome)
            if outcome.result != ActionResult.SUCCEEDED:
                break
        last = done[-1] if done else Outcome(action, ActionResult.SUCCEEDED, "nothing to copy")
        details = "; ".join(o.detail for o in done)
        return replace(last, detail=details)

    def _scoped(
        self, client: HarborClient, action: Action, original: Policy, scope: RepairScope
    ) -> Outcome:
        name = f"{REPAIR_PREFIX}{uuid.uuid4().hex[:12]}"
        intent = self._store.journal_repair_intent(
            client.name, origin_policy_id=original.id, name=name, at=self._now()
        )
        try:
            policy_id = client.create_policy(repair_body(original, scope, name=name))
        except HarborForbidden as exc:
            self._store.complete_repair_intent(intent, at=self._now())  # nothing was created
            detail = (
                f"may not create replication policies on {client.name} ({exc.status}); the "
                f"whole-policy trigger is not used. {action.reason}"
            )
            return Outcome(action=action, result=ActionResult.BLOCKED, detail=detail)
        except HarborError as exc:  # the policy may exist anyway: the sweep finds it by name
            return Outcome(
                action=action, result=ActionResult.NOT_STARTED, detail=f"create refused: {exc}"
            )
        self._store.set_repair_policy(intent, policy_id)
        log.info(
            "repair.policy_created",
            instance=client.name,
            policy_id=original.id,
            repair_policy_id=policy_id,
            repository=scope.source_repository,
            tags=len(scope.tags),
        )
        outcome = self._start_and_watch(client, action, policy_id)
        self._remove(client, intent_id=intent, policy_id=policy_id, name=name)
        return outcome

    def _start_and_watch(self, client: HarborClient, action: Action, policy_id: int) -> Outcome:
        try:
            execution_id = client.start_execution(policy_id)
        except HarborError as exc:  # never retried: the next pass re-plans
            return Outcome(
                action=action, result=ActionResult.NOT_STARTED, detail=f"start refused: {exc}"
            )
        self._store.remember_execution(client.name, policy_id, execution_id, started_at=self._now())
        final = self._watch(client, execution_id)
        status = final.status.value if final is not None else "unknown"
        self._store.finish_execution(client.name, execution_id, status=status, at=self._now())
        if final is None or not final.status.terminal:
            detail = f"scoped execution {execution_id} still {status} (hung)"
            return Outcome(action, ActionResult.TIMEOUT, detail, execution_id=execution_id)
        result = ActionResult.of_execution(final.status)
        detail = f"scoped execution {execution_id}: {final.succeed}/{final.total} tasks succeeded"
        return Outcome(action, result, detail, execution_id=execution_id)

    def _watch(self, client: HarborClient, execution_id: int) -> Execution | None:
        return watch_execution(
            client,
            execution_id,
            timeout=self._settings.execution_timeout,
            poll_interval=self._settings.poll_interval,
            monotonic=self._monotonic,
            wait=self._wait,
            event="repair.watch_failed",
        )

    def _remove(self, client: HarborClient, *, intent_id: int, policy_id: int, name: str) -> bool:
        """Delete the temporary policy once its executions are final; complete the intent."""
        try:
            executions = client.list_executions(policy_id=policy_id)
            if any(not e.status.terminal for e in executions):
                log.warning("repair.policy_kept", instance=client.name, repair_policy_id=policy_id)
                return False
            client.delete_policy(policy_id)
        except HarborNotFound:
            pass  # already gone: the goal of the delete holds
        except HarborError as exc:
            log.warning(
                "repair.delete_failed",
                instance=client.name,
                repair_policy_id=policy_id,
                error=str(exc),
            )
            return False
        self._store.complete_repair_intent(intent_id, at=self._now())
        log.info(
            "repair.policy_deleted", instance=client.name, repair_policy_id=policy_id, name=name
        )
        return True

    def sweep(self) -> list[tuple[str, str, str]]:
        """Delete every temporary policy left behind whose executions are final.

        Returns ``(instance, policy name, result)`` per policy or stale intent handled.
        """
        results: list[tuple[str, str, str]] = []
        if self._settings.dry_run:
            return results  # a dry run sends nothing, not even a clean-up
        pending = self._store.pending_repairs()
        for name, client in sorted(self._clients.items()):
            try:
                leftovers = [p for p in client.list_policies(owner=name) if is_repair_policy(p)]
            except HarborError as exc:
                log.warning("repair.sweep_failed", instance=name, error=str(exc))
                continue
            found = {p.name for p in leftovers}
            intents = {i.name: i.id for i in pending if i.instance == name}
            for policy in leftovers:
                intent = intents.get(policy.name)
                gone = self._remove(
                    client, intent_id=intent or 0, policy_id=policy.id, name=policy.name
                )
                results.append((name, policy.name, "deleted" if gone else "kept"))
                event = "repair.leftover_deleted" if gone else "repair.leftover_kept"
                log.warning(event, instance=name, repair_policy_id=policy.id, name=policy.name)
            for stale, intent_id in sorted(intents.items()):
                if stale not in found:  # never created, or already deleted
                    self._store.complete_repair_intent(intent_id, at=self._now())
                    results.append((name, stale, "absent"))
        return results

    def _audit(self, outcome: Outcome, *, pass_id: str) -> None:
        """One audit row and one log event per scoped repair, as the executor writes them."""
        action = outcome.action
        fields: dict[str, Any] = {
            "pass_id": pass_id,
            "kind": action.kind.value,
            "instance": action.instance,
            "policy_id": action.policy_id,
            "edge": ",".join(e.name for e in action.edges) or None,
            "reason": action.reason,
            "result": outcome.result,
            "detail": outcome.detail,
            "execution_id": outcome.execution_id,
        }
        self._store.audit(at=self._now(), **fields)
        log.info("act.action_finished", **fields)
