"""The executor: carries out a ``Plan`` once, watches executions, and reports ``Outcome`` values.

Safety rules owned here: re-check for a running execution of the policy right before each POST
(the plan may be seconds old); never retry a POST (a failed start is ``not_started``, which
enters no backoff: the next pass re-checks running executions and re-plans from observed
state); watch an execution to a terminal state or a timeout, and stop + retry a hung one only
when the setting allows. Deletions and conflict resolutions exist only behind explicit settings
(the planner never emits them otherwise) and honour dry-run like everything.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypedDict

import structlog

from syncd.core.model import (
    Action,
    ActionKind,
    ActionResult,
    Execution,
    ExecutionStatus,
    Outcome,
    Plan,
)
from syncd.engine.toggle import policy_body, toggle_policy
from syncd.engine.watch import watch_execution
from syncd.errors import HarborError, SyncdError

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping
    from datetime import datetime

    from syncd.harbor.client import HarborClient
    from syncd.store import Store

__all__ = ["ActSettings", "Executor"]

log = structlog.get_logger("syncd.engine.act")


@dataclass(frozen=True, slots=True)
class ActSettings:
    """How the executor behaves; built by the CLI from ``reconcile`` settings."""

    dry_run: bool = False
    execution_timeout: float = 1800.0
    poll_interval: float = 5.0
    stop_hung: bool = False


class _AuditFields(TypedDict):
    pass_id: str
    kind: str
    instance: str
    policy_id: int | None
    edge: str | None
    reason: str
    result: str
    detail: str
    execution_id: int | None


class Executor:
    """Applies plans against the configured instances."""

    def __init__(
        self,
        *,
        clients: Mapping[str, HarborClient],
        store: Store,
        settings: ActSettings,
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

    def apply(self, plan: Plan, *, pass_id: str) -> tuple[Outcome, ...]:
        """Run every action (distinct policies in parallel) and audit each outcome."""
        if not plan.actions:
            return ()
        with ThreadPoolExecutor(max_workers=len(plan.actions), thread_name_prefix="act") as pool:
            outcomes = tuple(pool.map(self._run_isolated, plan.actions))
        for outcome in outcomes:
            self._audit(outcome, pass_id=pass_id)
        return outcomes

    def _run_isolated(self, action: Action) -> Outcome:
        # One failing action must not sink the others; it is recorded as a failed outcome.
        try:
            if self._settings.dry_run:
                return Outcome(
                    action=action, result=ActionResult.DRY_RUN, detail="dry run: nothing sent"
                )
            return self._run(action)
        except SyncdError as exc:
            # A trigger or toggle that failed before its POST started nothing.
            starts = action.kind in {ActionKind.TRIGGER, ActionKind.TOGGLE}
            result = ActionResult.NOT_STARTED if starts else ActionResult.FAILED
            return Outcome(action=action, result=result, detail=str(exc))

    def _run(self, action: Action) -> Outcome:
        client = self._clients[action.instance]
        if action.kind is ActionKind.TOGGLE:
            assert action.policy_id is not None
            toggle_policy(
                client, self._store, policy_id=action.policy_id, now=self._now, wait=self._wait
            )
            return self._trigger(client, action)
        if action.kind is ActionKind.TRIGGER:
            return self._trigger(client, action)
        if action.kind is ActionKind.ENABLE_POLICY:
            return self._enable(client, action)
        if action.kind is ActionKind.DELETE:
            return self._delete_tag(client, action)
        if action.kind is ActionKind.RESOLVE_CONFLICT:
            outcome = self._delete_tag(client, action)
            if outcome.result != ActionResult.SUCCEEDED:
                return outcome
            return self._trigger(self._clients[action.policy_owner or action.instance], action)
        # mypy proves the kinds above exhaustive; a new ActionKind must be handled here.
        raise AssertionError(action.kind)

    def _trigger(self, client: HarborClient, action: Action) -> Outcome:
        assert action.policy_id is not None
        running = client.list_executions(
            policy_id=action.policy_id, status=ExecutionStatus.IN_PROGRESS.value
        )
        if running:
            return Outcome(
                action=action,
                result=ActionResult.SKIPPED,
                detail=f"execution {running[0].id} of policy {action.policy_id} is running",
                execution_id=running[0].id,
            )
        outcome = self._start_and_watch(client, action)
        hung = outcome.result == ActionResult.TIMEOUT and self._settings.stop_hung
        if hung and outcome.execution_id and self._stop(client, outcome.execution_id):
            log.warning(
                "act.hung_execution_retried",
                instance=client.name,
                policy_id=action.policy_id,
                execution_id=outcome.execution_id,
            )
            return self._start_and_watch(client, action)
        return outcome

    def _start_and_watch(self, client: HarborClient, action: Action) -> Outcome:
        assert action.policy_id is not None
        try:
            execution_id = client.start_execution(action.policy_id)
        except HarborError as exc:  # never retried here: the next pass re-plans
            log.warning(
                "act.start_failed", instance=client.name, policy_id=action.policy_id, error=str(exc)
            )
            return Outcome(
                action=action, result=ActionResult.NOT_STARTED, detail=f"start failed: {exc}"
            )
        started = self._now()
        self._store.remember_execution(
            client.name, action.policy_id, execution_id, started_at=started
        )
        log.info(
            "act.execution_started",
            instance=client.name,
            policy_id=action.policy_id,
            execution_id=execution_id,
            edges=[e.name for e in action.edges],
        )
        final = self._watch(client, execution_id)
        status = final.status.value if final is not None else "unknown"
        self._store.finish_execution(client.name, execution_id, status=status, at=self._now())
        if final is None or not final.status.terminal:
            return Outcome(
                action=action,
                result=ActionResult.TIMEOUT,
                detail=f"execution {execution_id} still {status} after "
                f"{self._settings.execution_timeout:g}s (hung)",
                execution_id=execution_id,
            )
        result = ActionResult.of_execution(final.status)
        return Outcome(
            action=action,
            result=result,
            detail=final.status_text or f"{final.succeed}/{final.total} tasks succeeded",
            execution_id=execution_id,
        )

    def _watch(self, client: HarborClient, execution_id: int) -> Execution | None:
        return watch_execution(
            client,
            execution_id,
            timeout=self._settings.execution_timeout,
            poll_interval=self._settings.poll_interval,
            monotonic=self._monotonic,
            wait=self._wait,
            event="act.watch_failed",
        )

    def _stop(self, client: HarborClient, execution_id: int) -> bool:
        try:
            client.stop_execution(execution_id)
        except HarborError as exc:
            log.exception(
                "act.stop_failed", instance=client.name, execution_id=execution_id, error=str(exc)
            )
            return False
        # Stop is asynchronous in Harbor and may never finish for a job stuck in jobservice.
        deadline = self._monotonic() + max(self._settings.poll_interval * 10, 1.0)
        while self._monotonic() < deadline:
            if client.get_execution(execution_id).status.terminal:
                return True
            self._wait(self._settings.poll_interval)
        return False

    def _enable(self, client: HarborClient, action: Action) -> Outcome:
        assert action.policy_id is not None
        policy = client.get_policy(action.policy_id, owner=client.name)
        client.put_policy(action.policy_id, policy_body(policy.raw, enabled=True))
        return Outcome(action=action, result=ActionResult.SUCCEEDED, detail="policy re-enabled")

    def _delete_tag(self, client: HarborClient, action: Action) -> Outcome:
        if not (action.repository and action.tag and action.digest):
            return Outcome(
                action=action, result=ActionResult.FAILED, detail="incomplete delete action"
            )
        # By digest reference: if the tag moved since the plan, Harbor answers 404 and nothing
        # that syncd did not see is deleted.
        client.delete_tag(action.repository, reference=action.digest, tag=action.tag)
        return Outcome(
            action=action, result=ActionResult.SUCCEEDED, detail=f"tag {action.tag} deleted"
        )

    def _audit(self, outcome: Outcome, *, pass_id: str) -> None:
        """One audit row and one log event per action, with the same fields."""
        action = outcome.action
        fields: _AuditFields = {
            "pass_id": pass_id,
            "kind": action.kind.value,
            "instance": action.instance,
            "policy_id": action.policy_id,
            "edge": ",".join(e.name for e in action.edges) or None,
            "reason": action.reason,
            "result": str(outcome.result),
            "detail": outcome.detail,
            "execution_id": outcome.execution_id,
        }
        self._store.audit(at=self._now(), **fields)
        log.info("act.action_finished", **fields)
