"""Listing progress on a terminal, and the one summary log event per snapshot."""

from __future__ import annotations

import io
from datetime import UTC, datetime

from structlog.testing import capture_logs

from syncd.engine.observe import Scope, observe_all
from syncd.harbor.client import HarborClient
from syncd.service.progress import TtyProgress
from syncd.settings import InstanceSettings
from syncd.sim import SimInstance


class _Terminal(io.StringIO):
    """A text stream that says it is a terminal."""

    def isatty(self) -> bool:
        return True


def test_progress_is_only_shown_on_a_terminal():
    """No display for a pipe or file; one for a terminal."""
    assert TtyProgress.for_terminal(io.StringIO()) is None
    assert isinstance(TtyProgress.for_terminal(_Terminal()), TtyProgress)


def test_progress_redraws_in_place_and_ends_the_line():
    """Intermediate counts are throttled; the final count is always drawn, with a newline."""
    out = _Terminal()
    # A clock just after boot (monotonic origin): the first draw must not be throttled.
    progress = TtyProgress(stream=out, min_interval=3600, clock=lambda: 5.0)
    for done in range(1, 6):
        progress("harbor-a", done, 5)
    assert (
        out.getvalue() == "\r  listing harbor-a: 1/5 listings\r  listing harbor-a: 5/5 listings\n"
    )


def test_snapshot_reports_progress_and_one_summary_event():
    """A cold snapshot calls progress once per listing and logs one observe.snapshot_taken."""
    calls: list[tuple[str, int, int]] = []
    with SimInstance("a") as sim:
        sim.generate(projects=3, repos_per_project=4, tags_per_repo=2, seed=1)
        settings = InstanceSettings(url=sim.url, username="admin", password="Harbor12345")
        with HarborClient(name="a", settings=settings) as client, capture_logs() as logs:
            views = observe_all(
                {"a": client},
                previous={},
                scope=Scope(),
                now=datetime(2026, 1, 1, tzinfo=UTC),
                progress=lambda *call: calls.append(call),
            )
    (summary,) = [e for e in logs if e["event"] == "observe.snapshot_taken"]
    assert summary["repositories"] == 12
    assert summary["artifacts"] == 24
    assert summary["api_calls"] > 0
    assert calls[-1] == ("a", len(calls), len(calls))
    assert views["a"].catalog is not None
    assert len(views["a"].catalog.tag_map()) == 24
