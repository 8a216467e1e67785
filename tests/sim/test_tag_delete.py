"""Deleting a tag through the artifact it must belong to, as Harbor does."""

from __future__ import annotations

from syncd.sim import SimInstance
from tests.simkit import api, check


def test_tag_delete_by_digest_reference_refuses_a_moved_tag():
    """A tag now on another artifact is 'not found' under the old digest: nothing is deleted."""
    with SimInstance("a") as sim:
        sim.create_project("library")
        old = sim.push("library/app", "v1", content="old")
        new = sim.push("library/app", "v1", content="new")
        assert old != new
        with api(sim) as client:
            base = "/projects/library/repositories/app/artifacts"
            refused = client.delete(f"{base}/{old}/tags/v1")
            assert refused.status_code == 404
            check(refused)
            assert sim.state.tag_map() == {("library/app", "v1"): new}
            done = client.delete(f"{base}/{new}/tags/v1")
            assert done.status_code == 200
        assert sim.state.tag_map() == {}
