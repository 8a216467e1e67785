"""Transport faults: blips are retried away; real outages make the pass incomplete, with a cause."""

from __future__ import annotations

import ssl

import pytest

from tests.faults.faultkit import self_signed
from tests.faults.faultproxy import Fault, FaultKind

ARTIFACTS = r"/artifacts$"
EXECUTIONS = "/api/v2.0/replication/executions"


def _with_missing_tag(rig):
    """Seed both sides, then a tag only on ``b``: b->a has drift a healthy pass repairs."""
    rig.seed("library/app", 3)
    rig.b.push("library/app", "extra")


@pytest.mark.parametrize(
    ("fault", "cause"),
    [
        pytest.param(Fault(FaultKind.STATUS, path=ARTIFACTS, status=500), "http_status", id="500"),
        pytest.param(Fault(FaultKind.RESET, path=ARTIFACTS), "unreachable", id="reset"),
        pytest.param(Fault(FaultKind.STALL, path=ARTIFACTS, amount=1.0), "timeout", id="stall"),
        pytest.param(
            Fault(FaultKind.STATUS, method="*", path="", status=503), "http_status", id="503-all"
        ),
        pytest.param(Fault(FaultKind.STATUS, path="/ping$", status=429), "http_status", id="429"),
    ],
)
def test_outage_of_one_instance_is_incomplete_then_repaired(make_rig, fault, cause):
    """No action touches the unobserved instance; exit 2 names it; the clean pass repairs."""
    rig = make_rig(instances={"a": {"read_timeout": 0.3}})
    _with_missing_tag(rig)
    rig.mark()
    rig.pa.inject(fault)

    run = rig.syncd("reconcile", "--once", "--output", "json")

    assert rig.writes() == []  # b->a would trigger on b: nothing may be started blind
    assert run.code == 2, run.err
    assert run.json["outcome"] == "incomplete"
    assert [(u["instance"], u["cause"]) for u in run.json["unobserved"]] == [("a", cause)]
    assert "b->a" in run.json["unobserved_edges"]

    rig.pa.clear()
    clean = rig.syncd("reconcile", "--once")
    assert clean.code == 0, clean.out + clean.err
    assert rig.a.state.tag_map() == rig.b.state.tag_map()
    assert [m for m, p, _s in rig.writes() if p.startswith(EXECUTIONS)] == ["POST"]


@pytest.mark.parametrize(
    "fault",
    [
        pytest.param(Fault(FaultKind.STATUS, path="/ping$", status=500, times=1), id="ping-500"),
        pytest.param(Fault(FaultKind.STATUS, path="/ping$", status=429, times=2), id="ping-429s"),
        pytest.param(Fault(FaultKind.STATUS, path=ARTIFACTS, status=502, times=2), id="list-502s"),
        pytest.param(Fault(FaultKind.RESET, path="/repositories$", times=1), id="list-reset"),
    ],
)
def test_a_blip_is_retried_and_the_pass_is_unaffected(make_rig, fault):
    """One 500 on /ping (or a short 429/5xx burst, a reset): still up, repaired, exit 0."""
    rig = make_rig()
    _with_missing_tag(rig)
    rig.pa.inject(fault)

    run = rig.syncd("reconcile", "--once", "--output", "json")

    assert fault.hits == fault.times
    assert run.code == 0, run.out + run.err
    assert run.json["outcome"] == "converged"
    assert run.json["instances"]["a"]["state"] == "up"
    assert run.json["unobserved"] == []
    assert rig.a.state.tag_map() == rig.b.state.tag_map()


def test_refused_instance_is_incomplete_then_repaired(make_rig):
    """A closed port: ``refused``, down logged at warning; its edges are unknown, never in sync."""
    rig = make_rig()
    _with_missing_tag(rig)
    assert rig.syncd("diff").code == 1  # both up: the missing tag is drift
    rig.mark()
    rig.pa.refuse()

    run = rig.syncd("diff")

    assert run.code == 2
    assert "not observed: a (refused" in run.out
    assert "in sync" not in run.out
    assert rig.writes() == []
    [down] = run.events("health.transition")
    assert (down["instance"], down["state"], down["level"]) == ("a", "down", "warning")
    rig.pa.start()
    assert rig.syncd("reconcile", "--once").code == 0
    assert rig.a.state.tag_map() == rig.b.state.tag_map()


def test_all_instances_down_never_reads_as_in_sync(rig):
    """Nothing observed: diff and reconcile exit 2, name both, never print "in sync"."""
    rig.seed("library/app", 2)
    assert rig.syncd("reconcile", "--once").code == 0
    rig.mark()
    rig.pa.refuse()
    rig.pb.inject(Fault(FaultKind.STATUS, method="*", path="", status=503))

    for args in (("diff",), ("reconcile", "--once")):
        run = rig.syncd(*args)
        assert run.code == 2, args
        assert "in sync" not in run.out
        assert "not observed: a (refused" in run.out
        assert "not observed: b (http_status" in run.out
    assert rig.writes() == []

    rig.pa.start()
    rig.pb.clear()
    clean = rig.syncd("diff")
    assert clean.code == 0
    assert "(no drift: every edge is in sync)" in clean.out


@pytest.fixture(scope="module")
def certificates(tmp_path_factory):
    """Two unrelated self-signed certificates for 127.0.0.1: trusted and untrusted."""
    directory = tmp_path_factory.mktemp("tls")
    return self_signed(directory, "trusted"), self_signed(directory, "rogue")


def _server_context(cert_and_key) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(*map(str, cert_and_key))
    return context


def test_tls_failure_is_incomplete_with_cause_tls(make_rig, certificates):
    """An untrusted certificate on ``a``: exit 2 with cause ``tls``; trusted again: in sync."""
    trusted, rogue = certificates
    rig = make_rig(tls_a=_server_context(trusted), instances={"a": {"ca_bundle": str(trusted[0])}})
    rig.seed("library/app", 2)
    assert rig.syncd("diff").code == 0
    rig.mark()
    rig.pa.tls = _server_context(rogue)

    run = rig.syncd("reconcile", "--once", "--output", "json")

    assert run.code == 2
    assert [(u["instance"], u["cause"]) for u in run.json["unobserved"]] == [("a", "tls")]
    assert rig.writes() == []
    rig.pa.tls = _server_context(trusted)
    clean = rig.syncd("diff")
    assert clean.code == 0
    assert "(no drift: every edge is in sync)" in clean.out


def test_healthy_edges_are_repaired_while_another_instance_is_blind(make_rig):
    """A is down: b->c is still repaired, yet the pass is incomplete (exit 2), never converged."""
    rig = make_rig(with_c=True)
    _with_missing_tag(rig)  # b->a and b->c both miss "extra" (c is empty: everything)
    rig.mark()
    rig.pa.refuse()

    run = rig.syncd("reconcile", "--once", "--output", "json")

    assert run.code == 2
    assert run.json["outcome"] == "incomplete"
    assert [(u["instance"], u["cause"]) for u in run.json["unobserved"]] == [("a", "refused")]
    assert rig.c.state.tag_map() == rig.b.state.tag_map()  # the healthy edge converged
    assert [a["result"] for a in run.json["actions"]] == ["succeeded"]
    assert "b->c" in run.json["converged_edges"]
    assert "b->a" in run.json["unobserved_edges"]
    assert rig.a.request_log[rig.marks["a"] :] == []  # nothing reached the blind instance

    rig.pa.start()
    clean = rig.syncd("reconcile", "--once")
    assert clean.code == 0, clean.out
    assert rig.a.state.tag_map() == rig.b.state.tag_map()
