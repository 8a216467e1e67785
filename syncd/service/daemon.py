"""The daemon's scheduler: when passes, health probes and leader checks run, and what they feed.

Owns scheduling (APScheduler 3: an interval reconcile with jitter, a faster health poll, and
on-demand passes for webhooks and recoveries), the callbacks the HTTP listener serves
(readiness, ``GET /report`` with the last pass's result, webhooks), and stopping (an in-flight
pass reaches its end: a toggle never leaves a policy disabled) and reloading between passes.
The process around it (listener, signals) is ``syncd.service.process``. A failing pass is
logged once and counted; the daemon keeps running.
Readiness follows the last *complete* pass (an incomplete one observed too little to vouch for
anything). A state file deleted or replaced under the daemon stops all acting until restart.
With PostgreSQL state, replicas elect a leader (``engine.leader``): a standby only probes health
and serves /healthz, /metrics and /readyz; it never plans, acts, writes state or restores
toggled policies until it takes the lock (checked every `LOCK_RETRY_SECONDS` at most).
"""

from __future__ import annotations

import math
import threading
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

import structlog
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.interval import IntervalTrigger

from syncd.core import health as health_mod
from syncd.core.model import PassOutcome, PassResult
from syncd.core.report import render_json
from syncd.engine.leader import LOCK_RETRY_SECONDS, Role
from syncd.engine.observe import probe_health
from syncd.engine.reconcile import record_health, run_pass
from syncd.engine.runtime import utcnow
from syncd.errors import StateError, SyncdError

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable

    from syncd.engine.runtime import Runtime, RuntimeFactory
    from syncd.service.metrics import Metrics
    from syncd.service.webhook import WebhookEvent
    from syncd.settings import Settings

__all__ = ["Daemon"]

log = structlog.get_logger("syncd.service.daemon")
RECONCILE, HEALTH, SOON, LEADER = "reconcile", "health", "reconcile-soon", "leader"
SOON_DELAY = timedelta(seconds=1)
"""Webhooks and recoveries within this window share one pass (debounce)."""


class Daemon:
    """Scheduler + runtime + HTTP listener for one process."""

    def __init__(
        self,
        *,
        settings: Settings,
        metrics: Metrics,
        build: RuntimeFactory,
        now: Callable[[], datetime] = utcnow,
    ) -> None:
        self._now = now
        self._metrics = metrics
        self._build = build
        self._runtime: Runtime = build(settings, on_request=metrics.record_request, now=now)
        self._pass_lock = threading.Lock()
        self._focus: set[str] = set()
        self._focus_lock = threading.Lock()
        self._started = now()
        self._last_finished: datetime | None = None
        self._state_lost = ""
        """Why the state file can no longer be trusted (deleted/replaced); empty while fine."""
        self.stopping = threading.Event()
        self.passes: list[PassResult] = []
        """Results of recent passes (bounded), for tests and /readyz."""
        self._scheduler = BackgroundScheduler(timezone="UTC")

    @property
    def settings(self) -> Settings:
        """The configuration in force."""
        return self._runtime.settings

    # ------------------------------------------------------------------ jobs

    def reconcile_job(self) -> None:
        """One pass; failures are logged once, counted, and never escape."""
        if self.stopping.is_set() or not self._state_intact():
            return
        if self._runtime.leader.role is not Role.LEADER:
            log.info("reconcile.standby_skipped")  # the leader runs the passes
            return
        with self._pass_lock:
            if self.stopping.is_set():  # SIGTERM arrived while waiting for the running pass
                return
            # Taken under the pass lock: what arrived while waiting belongs to this pass.
            with self._focus_lock:
                focus, self._focus = set(self._focus), set()
            try:
                result = run_pass(self._runtime.deps, focus=focus)
            except Exception as exc:
                self._pass_failed(exc)
                return
        if PassOutcome(result.outcome).complete:
            self._last_finished = result.finished_at
        self.passes = [*self.passes[-19:], result]
        self._metrics.record_pass(result, now=self._now())
        log.info(
            "reconcile.pass_finished",
            pass_id=result.pass_id,
            outcome=result.outcome,
            drift=len(result.drift),
            actions=len(result.outcomes),
            focus=sorted(focus),
            seconds=round(result.duration_seconds, 3),
        )

    def _pass_failed(self, exc: Exception) -> None:
        if isinstance(exc, StateError) and not self._state_intact():
            return  # _state_intact logged it once; no pass runs until restart
        # syncd's own errors explain themselves in one line; anything else is a bug: traceback.
        trace = None if isinstance(exc, SyncdError) else exc
        log.error("reconcile.pass_failed", error=str(exc), kind=type(exc).__name__, exc_info=trace)
        now = self._now()
        failed = PassResult(
            pass_id="failed",  # noqa: S106 - not a secret, a placeholder id
            started_at=now,
            finished_at=now,
            outcome=PassOutcome.ERROR,
            error=str(exc),
        )
        self._metrics.record_pass(failed, now=now)

    def _state_intact(self) -> bool:
        """Whether the state file is still the one opened; the first loss is logged at error."""
        if self._state_lost:
            return False
        try:
            self._runtime.store.check_identity()
        except StateError as exc:
            self._state_lost = str(exc)
            log.error("daemon.state_file_lost", error=self._state_lost)  # noqa: TRY400 - no trace
            return False
        return True

    def health_job(self) -> None:
        """Probe every instance; a down -> up transition starts a reconcile soon."""
        if not self._state_intact():
            return
        now = self._now()
        probes = [probe_health(c, now=now) for c in self._runtime.clients.values()]
        for probe in probes:
            self._metrics.record_health(probe)
        if self._runtime.leader.role is not Role.LEADER:
            return  # a standby writes no state; the leader records transitions
        try:
            back = health_mod.recovered(record_health(self._runtime.store, probes))
        except StateError as exc:  # the database is down or this replica was just fenced
            log.warning("health.record_failed", error=str(exc))
            return
        if back:
            log.info("daemon.recovery_reconcile", instance=",".join(sorted(back)))
            self.reconcile_soon(())

    def leader_job(self, *, kick: bool = True) -> None:
        """Check or try the leader lock; a replica that just took over reconciles at once."""
        before = self._runtime.leader.role
        role = self._runtime.leader.poll()
        self._metrics.record_role(leading=role is Role.LEADER)
        if kick and role is Role.LEADER and before is not Role.LEADER:
            self.reconcile_soon(())

    def reconcile_soon(self, repositories: Iterable[str]) -> None:
        """Schedule a (coalesced) pass within seconds, re-listing ``repositories``."""
        with self._focus_lock:
            self._focus.update(repositories)
        if self.stopping.is_set():
            return
        # A pending pass has not taken the focus yet (it does so under the pass lock), so it
        # covers these repositories too. Re-adding it would push it back: a steady stream of
        # webhooks (one push a second) would then postpone it forever.
        if self._scheduler.get_job(SOON) is not None:
            return
        self._scheduler.add_job(
            self.reconcile_job,
            id=SOON,
            trigger="date",
            run_date=self._now() + SOON_DELAY,
            replace_existing=True,
            # A webhook during a long pass schedules the next one; with one instance allowed,
            # APScheduler would skip it while that pass runs and the focus would wait for the
            # next interval. The second instance waits for the pass lock instead.
            max_instances=2,
            coalesce=True,
            misfire_grace_time=None,
        )

    def on_webhook(self, event: WebhookEvent) -> None:
        """Handle a Harbor webhook: re-check that repository soon, not at the next interval."""
        log.info("webhook.received", type=event.type, repository=event.repository)
        if event.actionable:
            self.reconcile_soon([event.repository] if event.repository else [])

    def readiness(self) -> tuple[bool, str]:
        """Ready when the state file is intact and writable and a complete pass is recent.

        Recent: finished within ``readiness_factor`` reconcile intervals.
        """
        if not self._state_intact():
            return False, f"state file lost: {self._state_lost}"
        if not self._runtime.store.writable():
            return False, "state store is not writable"
        if self._runtime.leader.role is not Role.LEADER:
            return True, "ready (standby)"  # a healthy standby is what failover needs
        rec = self.settings.reconcile
        window = timedelta(seconds=rec.interval_seconds * self.settings.http.readiness_factor)
        reference = self._last_finished or self._started
        if self._now() - reference > window:
            return False, f"no complete pass finished in the last {window.total_seconds():g}s"
        return True, "ready"

    def report_json(self) -> str | None:
        """Render the last finished pass as ``syncd diff --output json`` does (``GET /report``)."""
        passes = self.passes
        return render_json(passes[-1], now=self._now()) if passes else None

    # ------------------------------------------------------------------ lifecycle

    def _schedule(self) -> None:
        rec = self.settings.reconcile
        self._scheduler.add_job(
            self.reconcile_job,
            IntervalTrigger(seconds=rec.interval_seconds, jitter=rec.jitter_seconds or None),
            id=RECONCILE,
            replace_existing=True,
            max_instances=1,
            coalesce=True,
            misfire_grace_time=_grace(rec.misfire_grace_seconds),
            next_run_time=self._now(),
        )
        self._scheduler.add_job(
            self.health_job,
            IntervalTrigger(seconds=self.settings.health.interval_seconds),
            id=HEALTH,
            replace_existing=True,
            max_instances=1,
            coalesce=True,
            misfire_grace_time=_grace(self.settings.health.interval_seconds),
        )

    def _schedule_leader(self) -> None:
        self._scheduler.add_job(
            self.leader_job,
            IntervalTrigger(seconds=min(self.settings.health.interval_seconds, LOCK_RETRY_SECONDS)),
            id=LEADER,
            replace_existing=True,
            max_instances=1,
            coalesce=True,
            misfire_grace_time=_grace(LOCK_RETRY_SECONDS),
        )

    def start(self) -> None:
        """Take part in the election, then start the jobs (a leader's first pass runs at once)."""
        self.leader_job(kick=False)  # the reconcile job's first run is immediate anyway
        self._schedule()
        self._schedule_leader()
        self._scheduler.start()

    def reload(self, settings: Settings) -> None:
        """Swap in a new configuration between passes and reschedule."""
        with self._pass_lock:
            old = self._runtime
            self._runtime = self._build(
                settings, on_request=self._metrics.record_request, now=self._now
            )
            old.close()
        self.leader_job(kick=False)
        self._schedule()
        self._schedule_leader()
        log.info("config.reloaded", instances=sorted(settings.instances))

    def stop(self) -> None:
        """Stop taking work, wait for an in-flight pass, close everything."""
        self.stopping.set()
        if self._scheduler.running:  # a daemon driven job by job (tests) never started it
            self._scheduler.shutdown(wait=True)
        with self._pass_lock:
            self._runtime.close()
        log.info("daemon.stopped")

    def discard(self) -> None:
        """Close the runtime of a daemon that never started (its listener could not bind)."""
        self._runtime.close()


def _grace(seconds: float) -> int:
    """APScheduler wants a positive whole number of seconds; sub-second settings round up."""
    return max(1, math.ceil(seconds))
