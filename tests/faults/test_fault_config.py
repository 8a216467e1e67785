"""Two names for one Harbor: a configuration error (exit 3) unless they are one cluster's nodes."""

from __future__ import annotations

import pytest


@pytest.mark.parametrize(
    "spell", [str, lambda url: url + "/", str.upper], ids=["same", "trailing-slash", "upper-case"]
)
def test_duplicate_instance_urls_are_exit_3_naming_both(rig, spell):
    """Same normalised URL under two names: exit 3 naming both, nothing sent to any instance."""
    rig.write_config(instances={"b": {"url": spell(rig.pa.url)}})
    rig.mark()

    for args in (("diff",), ("reconcile", "--once"), ("config",)):
        run = rig.syncd(*args)
        assert run.code == 3, args
        assert "a and b have the same URL" in run.err
        assert "Traceback" not in run.err
    assert rig.writes() == []


def test_nodes_of_one_cluster_may_share_a_url(rig):
    """Two nodes declaring the same ``cluster`` may share an address (a load balancer)."""
    rig.write_config(instances={"a": {"cluster": "hq"}, "b": {"url": rig.pa.url, "cluster": "hq"}})
    assert rig.syncd("config").code == 0


def test_default_port_spelt_out_is_the_same_url(rig):
    """``http://h`` and ``http://h:80`` are one Harbor."""
    rig.write_config(
        instances={"a": {"url": "http://127.0.0.1"}, "b": {"url": "http://127.0.0.1:80"}}
    )
    run = rig.syncd("config")
    assert run.code == 3
    assert "a and b have the same URL http://127.0.0.1:80" in run.err
