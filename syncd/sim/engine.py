"""The replication engine: executions and tasks run asynchronously, over HTTP to the peer.

Push policies send units to the peer's ``/_sim/replicate-in`` (or ``delete-in``) with the
endpoint's credentials, so a refusing or 503 peer really fails the task. Pull policies read the
peer's ``/_sim/export``.

Two failure paths, as in Harbor. A copy flow first prepares the destination
(``src/controller/replication/flow/copy.go`` -> the adapter's ``PrepareForPush``, which creates
the projects): when the destination is unreachable there, the execution is ``Failed`` with the
error as ``status_text`` and no task at all, and nothing retries it. A task failing mid-copy is
retried by jobservice (``MaxFails`` 3 attempts, with backoff: ``retry_delays``) before ``Failed``
(``src/pkg/task``), and never re-queued afterwards: either way an event is lost.
"""

from __future__ import annotations

import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from syncd.sim import peer
from syncd.sim.catalog import Catalog, SimError, SimEvent
from syncd.sim.filters import apply_filters, replace_namespace
from syncd.sim.periodic import Periodic
from syncd.sim.replica import export_repo, export_units, ingest
from syncd.sim.serialize import fmt_time as fmt
from syncd.sim.state import SimExecution, SimPolicy, SimState, SimTask, utcnow

if TYPE_CHECKING:
    from syncd.sim.dataplane_copy import Copier
    from syncd.sim.faults import Faults

__all__ = ["Engine", "SimTiming"]

NOTHING = "no resources need to be replicated"
SKIPPED = "Execution skipped: active replication still in progress."


@dataclass(frozen=True, slots=True)
class SimTiming:
    """How long simulated work takes; defaults keep tests fast."""

    task_delay: float = 0.02
    retry_delays: tuple[float, ...] = (0.05, 0.1)
    """Waits before the 2nd and 3rd attempt of a task (jobservice: 3 attempts, backoff)."""
    status_refresh: float = 0.0
    registry_refresh: float = 1.0
    """Seconds between reachability checks of the registry endpoints (Harbor: 5 minutes)."""


@dataclass(frozen=True, slots=True)
class _Job:
    """What one task does: a copy of units, or a deletion."""

    operation: str
    src_repo: str
    dst_repo: str
    units: tuple[dict[str, Any], ...]
    public: bool = False


class Engine:
    """Starts, runs, stops and reports executions of one instance's policies."""

    def __init__(
        self, *, state: SimState, catalog: Catalog, timing: SimTiming, faults: Faults
    ) -> None:
        self.state, self.catalog, self.timing, self.faults = state, catalog, timing, faults
        self.copier: Copier | None = None
        """Set by an instance with a real data plane (``dataplane_copy.RealCopier``)."""
        self._flows = ThreadPoolExecutor(10, thread_name_prefix="sim-flow")
        self._tasks = ThreadPoolExecutor(8, thread_name_prefix="sim-task")
        self._closing = threading.Event()
        self.loops = Periodic(self, closing=self._closing)

    def close(self) -> None:
        """Stop every execution and the worker threads."""
        self._closing.set()
        with self.state.lock:
            for execution in self.state.executions.values():
                execution.stop.set()
        self._flows.shutdown(wait=True, cancel_futures=True)
        self.loops.join()
        self._tasks.shutdown(wait=True, cancel_futures=True)

    # ------------------------------------------------------------------ starting

    def start(self, policy: SimPolicy, trigger: str, *, jobs: list[_Job] | None = None) -> int:
        """Create an execution (InProgress) and run its flow in the background."""
        with self.state.lock:
            running = any(
                e.policy_id == policy.id and self.status(e)[0] == "InProgress"
                for e in self.state.executions.values()
            )
            execution = SimExecution(self.state.next_id("execution"), policy.id, trigger, utcnow())
            self.state.executions[execution.id] = execution
            if policy.single_active_replication and running:
                execution.flow_status, execution.status_text = "Failed", SKIPPED
                execution.end_time = utcnow()
                return execution.id
        if not self._closing.is_set():
            self._flows.submit(self._flow, execution, policy, jobs)
        return execution.id

    def on_events(self, events: list[SimEvent]) -> None:
        """Harbor's event handler: enabled event_based push policies whose filters match."""
        for event in events:
            deleted = event.kind != "push"
            with self.state.lock:
                policies = [
                    p
                    for p in self.state.policies.values()
                    if p.enabled
                    and p.trigger == "event_based"
                    and p.src_registry_id == 0
                    and (p.replicate_deletion or not deleted)
                ]
                unit = export_repo(self.catalog, event.repository, event.digest, event.tags)
            # Push events carry no labels (the label cannot be there yet); create-tag does.
            unit = {**unit, "labels": list(event.labels)}
            for policy in policies:
                kept = apply_filters(event.repository, [unit], policy.filters)
                if not kept:
                    continue
                operation = {"push": "copy", "delete_artifact": "deletion"}.get(
                    event.kind, "tag deletion"
                )
                job = _Job(operation, event.repository, "", (kept[0],), self._public(event))
                self.start(policy, "event_based", jobs=[job])

    def _public(self, event: SimEvent) -> bool:
        project = self.state.projects.get(event.repository.split("/", 1)[0])
        return bool(project and project.public)

    # ------------------------------------------------------------------ flows

    def _flow(self, execution: SimExecution, policy: SimPolicy, jobs: list[_Job] | None) -> None:
        try:
            jobs = jobs if jobs is not None else self._full_copy_jobs(policy)
            jobs = [self._mapped(job, policy) for job in jobs]
            self._prepare_for_push(policy, jobs)
        except (ValueError, SimError, peer.PeerError) as exc:
            self._fail_flow(execution, str(exc))
            return
        hang = self.faults.hang_for(policy.id)
        with self.state.lock:
            if execution.flow_status != "InProgress":
                return
            for job in jobs:
                execution.tasks.append(self._task(execution, job))
            if execution.flow_status == "InProgress" and (jobs or hang is None):
                execution.flow_status = "Done"
                execution.status_text = "" if jobs else NOTHING
            execution.stop_ignored = bool(hang)
            self._maybe_finish(execution)
        if hang is not None:
            with self.state.lock:
                for task in execution.tasks:
                    task.status, task.start_time = "InProgress", utcnow()
            return
        for task, job in zip(list(execution.tasks), jobs, strict=True):
            self._tasks.submit(self._run_task, execution, task, job, policy)

    def _prepare_for_push(self, policy: SimPolicy, jobs: list[_Job]) -> None:
        """Contact the destination before any task exists (copy flows of push policies)."""
        copies = [job for job in jobs if job.operation == "copy"]
        if policy.src_registry_id != 0 or not copies:
            return
        body = {"repositories": [[job.dst_repo, job.public] for job in copies]}
        peer.call(self._registry(policy.dest_registry_id), "prepare-push", body)

    def _full_copy_jobs(self, policy: SimPolicy) -> list[_Job]:
        if policy.src_registry_id == 0:
            with self.state.lock:
                sources = [
                    (repo.name, export_units(repo), self.state.project_of(repo).public)
                    for repo in self.state.repos.values()
                ]
        else:
            exported = peer.export(self._registry(policy.src_registry_id))
            sources = [(r["name"], r["artifacts"], r["public"]) for r in exported]
        jobs = []
        for name, units, public in sorted(sources, key=lambda s: s[0]):
            kept = apply_filters(name, units, policy.filters)
            if kept:
                jobs.append(_Job("copy", name, "", tuple(kept), public))
        return jobs

    def _mapped(self, job: _Job, policy: SimPolicy) -> _Job:
        dst = replace_namespace(
            job.src_repo, policy.dest_namespace, policy.dest_namespace_replace_count
        )
        return _Job(job.operation, job.src_repo, dst, job.units, job.public)

    def _registry(self, rid: int) -> peer.Endpoint:
        reg = self.state.registries.get(rid)
        if reg is None:
            raise SimError(404, "NOT_FOUND", f"registry {rid} not found")
        return peer.Endpoint(reg.url, reg.access_key, reg.access_secret)

    def _task(self, execution: SimExecution, job: _Job) -> SimTask:
        count = sum(max(len(u.get("tags") or ()), 1) for u in job.units)
        return SimTask(
            self.state.next_id("task"),
            execution.id,
            job.operation,
            f"{job.src_repo} [{count} item(s) in total]",
            f"{job.dst_repo} [{count} item(s) in total]",
            uuid.uuid4().hex[:24],
        )

    def _fail_flow(self, execution: SimExecution, message: str) -> None:
        with self.state.lock:
            if execution.flow_status == "InProgress":
                execution.flow_status, execution.status_text = "Failed", message
                execution.end_time = utcnow()

    # ------------------------------------------------------------------ tasks

    def _run_task(
        self, execution: SimExecution, task: SimTask, job: _Job, policy: SimPolicy
    ) -> None:
        with self.state.lock:
            if task.status != "Pending":
                return
            task.status, task.start_time = "InProgress", utcnow()
        ok = False
        for delay in (self.timing.task_delay, *self.timing.retry_delays):
            if execution.stop.wait(delay):
                return
            try:
                self._transfer(job, policy)
                ok = True
                break
            except (peer.PeerError, SimError) as exc:
                with self.state.lock:
                    task.errors.append((utcnow(), str(exc)))
        with self.state.lock:
            if task.status == "InProgress":
                task.status, task.end_time = ("Succeed" if ok else "Failed"), utcnow()
            self._maybe_finish(execution)

    def _transfer(self, job: _Job, policy: SimPolicy) -> None:
        body = {
            "repository": job.dst_repo,
            "public": job.public,
            "override": policy.override,
            "artifacts": list(job.units),
        }
        if policy.src_registry_id != 0:
            _, events = ingest(self.catalog, body)
            self.on_events(events)
            return
        endpoint = self._registry(policy.dest_registry_id)
        if job.operation == "copy":
            units = list(job.units)
            if self.copier is not None:
                units = self.copier(
                    endpoint=endpoint,
                    src_repo=job.src_repo,
                    dst_repo=job.dst_repo,
                    units=units,
                    override=policy.override,
                    public=job.public,
                )
            if units or self.copier is None:
                peer.call(endpoint, "replicate-in", {**body, "artifacts": units})
            return
        for unit in job.units:
            deletion = {"repository": job.dst_repo, "operation": job.operation, **unit}
            peer.call(endpoint, "delete-in", deletion)

    def task_log(self, task: SimTask) -> str:
        """Render the job log of a task, as jobservice would keep it (plain text)."""
        lines = [
            f"{fmt(task.start_time)} [INFO] copying {task.src_resource} to {task.dst_resource}"
        ]
        lines += [f"{fmt(when)} [ERROR] attempt failed: {why}" for when, why in task.errors]
        if task.status in {"Succeed", "Failed", "Stopped"}:
            lines.append(f"{fmt(task.end_time)} [INFO] the job {task.status.lower()}")
        return "\n".join(lines) + "\n"

    # ------------------------------------------------------------------ status / stop

    def _maybe_finish(self, execution: SimExecution) -> None:
        if self.status(execution, fresh=True)[0] != "InProgress" and execution.end_time.year == 1:
            execution.end_time = utcnow()

    def status(self, execution: SimExecution, *, fresh: bool = False) -> tuple[str, dict[str, int]]:
        """Derive status and task counts (lagging by ``status_refresh`` unless ``fresh``)."""
        with self.state.lock:
            statuses = [t.status for t in execution.tasks]
            counts = {
                "total": len(statuses),
                "failed": statuses.count("Failed"),
                "succeed": statuses.count("Succeed"),
                "in_progress": statuses.count("Pending") + statuses.count("InProgress"),
                "stopped": statuses.count("Stopped"),
            }
            if execution.flow_status != "Done":
                status = execution.flow_status
            elif counts["in_progress"]:
                status = "InProgress"
            else:
                status = next((s for s in ("Failed", "Stopped") if counts[s.lower()]), "Succeed")
            return self._lagged(execution, status, fresh=fresh), counts

    def _lagged(self, execution: SimExecution, status: str, *, fresh: bool) -> str:
        if fresh or self.timing.status_refresh <= 0:
            return status
        now = datetime.now(UTC).timestamp()
        if not execution.shown_status or now - execution.shown_at >= self.timing.status_refresh:
            execution.shown_status, execution.shown_at = status, now
        return execution.shown_status

    def stop(self, execution: SimExecution) -> None:
        """Harbor's Stop: pending and running tasks become Stopped (unless the hang ignores it)."""
        with self.state.lock:
            if execution.stop_ignored:
                return
            execution.stop.set()
            now = utcnow()
            for task in execution.tasks:
                if task.status in {"Pending", "InProgress"}:
                    task.status, task.end_time = "Stopped", now
            if execution.flow_status == "InProgress":
                execution.flow_status = "Stopped"
            self._maybe_finish(execution)
