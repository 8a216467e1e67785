"""A stateful model of syncd against 2-3 simulated Harbors: repairs never make a catalog worse.

Hypothesis drives random policies (event/manual, override on/off, name/tag filters,
dest_namespace), user actions (push, retag, delete tag, delete artifact), outages (events lost
while a peer is down), syncd passes in a random mode, and passes "killed" right after a request
reached Harbor, followed by a restart. After every step the simulators' own state must satisfy:

* no tag deleted on an instance since a base that held it reappears there;
* no tag that a pass reported as a conflict changes (conflict_preference is ``report``);
* no DELETE except of syncd's own temporary policies (propagate_deletions is off);
* no manual execution starts while another of its policy runs;
* no temporary repair policy outlives the next pass;
* a pass says ``converged`` only when every destination holds every tag its policies select.

Liveness: once outages end, at most 3 passes repair every missing tag.
``MODEL_EXAMPLES`` sets the number of examples (``make soak``); the seed is fixed.
``MODEL_MUTATION=no-radius`` disables the radius check: the invariants must then fail.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from syncd.core.edges import assess_edge
from syncd.core.model import Drift, DriftClass
from syncd.core.topology import expected_on_destination
from syncd.sim import SimCluster
from syncd.store import StateStore
from tests.model.modelkit import (
    Link,
    catalog,
    disable_radius_check,
    observe_only,
    original_policies,
    overlapping_manual_runs,
    policy,
    quiesce,
    repair_policies,
    run_syncd,
)

EXAMPLES = int(os.environ.get("MODEL_EXAMPLES", "8"))
MUTATED = os.environ.get("MODEL_MUTATION") == "no-radius"
"""A mutation run fails and then shrinks, which takes far longer than a passing run."""
REPOS = ("library/app", "library/web")
TAGS = ("v1", "v2", "stable")
USERS = st.sampled_from("ab")
"""Users push to and delete on the dual-master pair; ``c`` only receives (into ``mirror/``)."""
ACTIONS = st.tuples(
    # Weighted towards what makes a whole-policy run harmful: deletions and lost pushes.
    st.sampled_from(
        ["push", "push_lost", "push_lost", "retag", "delete_tag", "delete_tag", "delete_artifact"]
    ),
    USERS,
    st.sampled_from(REPOS),
    st.sampled_from(TAGS),
    st.integers(min_value=0),
)
"""One user action: ``(kind, where, repository, tag, pick among the existing tags)``."""
TAG_FILTERS = (None, "v*", "{v1,stable}")
NAME_FILTERS = (None, "library/**", "library/app")
RUN = {"examples": 0, "passes": 0, "crashes": 0}
Key = tuple[str, str, str]


def _family(repo: str, tag: str) -> tuple[str, str]:
    """Return what a user action on ``repo:tag`` covers, mapped names (``mirror/app``) too."""
    return (repo.rsplit("/", 1)[-1], tag)


class SyncdModel(RuleBasedStateMachine):
    """Simulators, the policies between them and what the model knows must hold."""

    def __init__(self) -> None:
        super().__init__()
        self.cluster = SimCluster()
        # tmpfs when there is one: the state store fsyncs every commit, thousands per run.
        shm = Path("/dev/shm")  # noqa: S108 - a private mkdtemp below it
        self.tmp = Path(tempfile.mkdtemp(prefix="syncd-model-", dir=shm if shm.is_dir() else None))
        self.state = self.tmp / "state.sqlite3"
        self.links: list[Link] = []
        self.protected: dict[Key, None] = {}
        """Tags deleted on an instance while a base of an edge into it held them."""
        self.guarded: dict[Key, str | None] = {}
        """Tags reported in conflict: the digest (or absence) each side must keep."""
        self.down: set[str] = set()
        self.seq = 0
        RUN["examples"] += 1

    # ------------------------------------------------------------------ setup

    @initialize(
        three=st.booleans(),
        triggers=st.lists(st.sampled_from(["event_based", "manual"]), min_size=3, max_size=3),
        overrides=st.lists(st.booleans(), min_size=3, max_size=3),
        tag_filter=st.sampled_from(TAG_FILTERS),
        name_filter=st.sampled_from(NAME_FILTERS),
    )
    def setup(self, three, triggers, overrides, tag_filter, name_filter) -> None:
        """Start a dual-master pair (plus ``c`` fed from ``a`` into ``mirror/``), seeded."""
        names = ("a", "b", "c") if three else ("a", "b")
        for name in names:
            self.cluster.add(name).create_project("library")
        filters = [{"type": "tag", "value": tag_filter}] if tag_filter else []
        filters += [{"type": "name", "value": name_filter}] if name_filter else []
        pairs = [("a", "b"), ("b", "a")] + ([("a", "c")] if three else [])
        for (src, dst), trigger, override in zip(pairs, triggers, overrides, strict=False):
            mirror: dict[str, Any] = (
                {"dest_namespace": "mirror", "dest_namespace_replace_count": 1}
                if dst == "c"
                else {}
            )
            pid = self.cluster.link(
                src, dst, trigger=trigger, override=override, filters=filters, **mirror
            )
            self.links.append(Link(src, pid, src, dst))
        for repo in REPOS:  # content and a converged base from the start
            self._push(self.instances["a"], repo, "v1", lost=False)
        self._pass(mode="trigger", repair="auto")

    @property
    def instances(self):
        """The simulators by name."""
        return self.cluster.instances

    def teardown(self) -> None:
        """Stop the simulators and drop the state file."""
        self.cluster.stop()
        shutil.rmtree(self.tmp, ignore_errors=True)

    def _settle(self) -> None:
        """Wait until event replication has finished everywhere."""
        quiesce(*self.instances.values())

    # ------------------------------------------------------------------ user actions

    def _touched(self, repo: str, tag: str) -> None:
        family = _family(repo, tag)
        for store in (self.protected, self.guarded):
            for key in [k for k in store if _family(k[1], k[2]) == family]:
                del store[key]

    @rule(actions=st.lists(ACTIONS, min_size=1, max_size=3))
    def user(self, actions) -> None:
        """Run 1-3 user actions on ``a`` or ``b``; ``push_lost`` pushes while peers are down."""
        for action, where, repo, tag, pick in actions:
            self._user(action, self.instances[where], repo, tag, pick)
            self._settle()

    def _user(self, action: str, inst, repo: str, tag: str, pick: int) -> None:
        tags = sorted(inst.state.tag_map().items())
        if action.startswith("push"):
            self._push(inst, repo, tag, lost=action == "push_lost")
        elif tags:
            (repo_at, tag_at), digest = tags[pick % len(tags)]
            if action == "retag":
                self._touched(repo_at, tag)
                inst.retag(repo_at, tag, digest)
            elif action == "delete_tag":
                self._protect(inst.name, [(repo_at, tag_at)])
                inst.delete_tag(repo_at, tag_at)
            else:
                self._protect(inst.name, [k for k, d in tags if k[0] == repo_at and d == digest])
                inst.delete_artifact(repo_at, digest)

    def _push(self, inst, repo: str, tag: str, *, lost: bool) -> None:
        self.seq += 1
        self._touched(repo, tag)
        peers = [
            p for name, p in self.instances.items() if name != inst.name and name not in self.down
        ]
        for peer in peers if lost else ():
            peer.set_down("refuse")
        inst.push(repo, tag, content=f"{inst.name}-{self.seq}")
        self._settle()  # the event executions failed against the refusing peers
        for peer in peers if lost else ():
            peer.set_down("up")

    def _protect(self, where: str, keys: list[tuple[str, str]]) -> None:
        with StateStore.open(self.state) as store:
            bases = [
                store.load_base(link.key) or {} for link in self.links if link.destination == where
            ]
        for repo, tag in keys:
            self._touched(repo, tag)
            if any((repo, tag) in base for base in bases):
                self.protected[where, repo, tag] = None

    @rule(where=st.sampled_from("abc"), on=st.booleans())
    def outage(self, where, on) -> None:
        """Take an instance down (events towards it are lost) or bring it back."""
        inst = self.instances.get(where)
        if inst is None:
            return
        inst.set_down("refuse" if on else "up")
        (self.down.add if on else self.down.discard)(where)

    # ------------------------------------------------------------------ syncd

    def _pass(self, **kw):
        self._guard_conflicts(self._assess())
        result = run_syncd(self.instances, state=self.state, **kw)
        self._settle()
        RUN["passes"] += 1
        if result is not None:
            assert repair_policies_everywhere(self) == [], "a temporary policy outlived its pass"
            self._guard_conflicts(result.drift)
            self._check_converged(result)
        if not self.down:
            self._check_carried_drift()
        return result

    def _check_carried_drift(self) -> None:
        """Check that a pass assessing in part (the stamps left behind) sees the full drift."""
        seen = observe_only(self.instances, state=self.state)
        assert seen.outcome != "incomplete", seen.unobserved
        assert _drift_facts(seen.drift) == _drift_facts(self._assess())

    def _assess(self) -> list[Drift]:
        """Return the drift as it stands before a pass (which may act on it before reporting)."""
        with StateStore.open(self.state) as store:
            bases = {link.key: store.load_base(link.key) for link in self.links}
        drift: list[Drift] = []
        for link in self.links:
            source, destination = self.instances[link.source], self.instances[link.destination]
            drift += assess_edge(
                link.edge,
                policy=policy(self.instances[link.owner], link.policy_id),
                source=catalog(source),
                destination=catalog(destination),
                base=bases[link.key],
            ).drift
        return drift

    def _guard_conflicts(self, drift) -> None:
        for d in drift:
            if d.drift_class is DriftClass.CONFLICT:
                edge = d.edge
                self.guarded.setdefault(
                    (edge.destination, d.repository, d.tag), d.destination_digest
                )
                source = d.source_repository or d.repository
                self.guarded.setdefault((edge.source, source, d.tag), d.source_digest)

    def _check_converged(self, result) -> None:
        if result.outcome != "converged":
            return
        for link in self.links:
            expected = expected_on_destination(
                catalog(self.instances[link.source]),
                policy(self.instances[link.owner], link.policy_id),
            )
            held = self.instances[link.destination].state.tag_map()
            assert {k: held.get(k) for k in expected} == expected, (
                f"converged, but {link.edge.name} lacks tags"
            )

    @rule(
        mode=st.sampled_from(["trigger", "toggle", "trigger", "observe"]),
        repair=st.sampled_from(["auto", "scoped", "policy"]),
    )
    def syncd_pass(self, mode, repair) -> None:
        """Run one syncd pass in a random mode."""
        self._pass(mode=mode, repair=repair)

    @rule(
        where=USERS,
        tag=st.sampled_from(TAGS),
        mode=st.sampled_from(["trigger", "toggle"]),
        repair=st.sampled_from(["auto", "scoped"]),
        crash=st.sampled_from(["POST", "PUT", "DELETE", "2nd"]),
    )
    def crash_mid_repair(self, where, tag, mode, repair, crash) -> None:
        """Lose a push, then kill the repairing pass right after a write reached Harbor.

        ``crash`` names the write method (or ``2nd``: the second write of any kind) after
        whose answer the process dies; the restart is the next pass on the same state.
        """
        self._push(self.instances[where], REPOS[0], tag, lost=True)
        writes = [0]

        def crashing(record) -> bool:
            if record.method in {"GET", "HEAD"}:
                return False
            writes[0] += 1
            return record.method == crash or (crash == "2nd" and writes[0] == 2)

        result = self._pass(mode=mode, repair=repair, crash_on=crashing)
        RUN["crashes"] += result is None

    @precondition(lambda self: bool(self.links))
    @rule()
    def outages_end_then_converge(self) -> None:
        """Liveness: with every instance up, at most 3 passes repair every missing tag."""
        for name in list(self.down):
            self.outage(name, False)
        for _ in range(3):
            result = self._pass(mode="trigger", repair="auto")
            missing = [
                d
                for d in result.drift
                if d.drift_class in {DriftClass.MISSING, DriftClass.NON_CONVERGING}
                and d.destination_digest is None
                and d.base_digest is None
            ]
            if not missing:
                return
        raise AssertionError(f"still missing after 3 passes: {missing}")

    # ------------------------------------------------------------------ invariants

    @invariant()
    def deleted_tags_stay_deleted(self) -> None:
        """No tag deleted since a base that held it reappears on that instance."""
        for where, repo, tag in self.protected:
            assert (repo, tag) not in self.instances[where].state.tag_map(), (where, repo, tag)

    @invariant()
    def conflicts_are_not_overwritten(self) -> None:
        """Keep each side's digest of a tag in conflict until a user touches it."""
        for (where, repo, tag), digest in self.guarded.items():
            assert self.instances[where].state.tag_map().get((repo, tag)) == digest, (
                where,
                repo,
                tag,
            )

    @invariant()
    def nothing_deleted_but_temporary_policies(self) -> None:
        """No DELETE reaches Harbor except of a policy syncd created itself."""
        for inst in self.instances.values():
            originals = set(original_policies(inst))
            for method, path, _ in list(inst.request_log):
                if method == "DELETE":
                    assert path.startswith("/api/v2.0/replication/policies/"), path
                    assert int(path.rsplit("/", 1)[1]) not in originals, path

    @invariant()
    def one_execution_per_policy_at_a_time(self) -> None:
        """No manual execution started while another of the same policy was running."""
        for inst in self.instances.values():
            assert overlapping_manual_runs(inst) == []


def _drift_facts(drift) -> list[tuple[object, ...]]:
    """Return what drift says of the catalogs (its class may read non-converging)."""
    return sorted(
        (
            d.edge.name,
            d.edge.policy_owner,
            d.edge.policy_id,
            d.repository,
            d.tag,
            d.source_digest or "",
            d.destination_digest or "",
            d.base_digest or "",
        )
        for d in drift
    )


def repair_policies_everywhere(model: SyncdModel) -> list[str]:
    """Temporary repair policies on any instance."""
    return [name for inst in model.instances.values() for name in repair_policies(inst)]


@pytest.mark.slow
@pytest.mark.timeout(3600 if MUTATED else max(240, EXAMPLES * 15))
def test_repairs_never_make_a_catalog_worse() -> None:
    """The state machine's invariants hold over random steps (fixed seed)."""
    with disable_radius_check() as mutated:
        run_state_machine_as_test(
            SyncdModel,
            settings=settings(
                max_examples=EXAMPLES,
                stateful_step_count=25,
                derandomize=True,
                deadline=None,
                database=None,
                suppress_health_check=list(HealthCheck),
            ),
        )
    print(  # noqa: T201 - `make soak` reports how much it ran
        f"\nmodel: {RUN['examples']} examples, {RUN['passes']} passes, "
        f"{RUN['crashes']} crashed passes (mutation: {'no-radius' if mutated else 'none'})"
    )
