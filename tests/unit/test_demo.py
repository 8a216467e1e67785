"""``syncd demo``: one true story, the same on every run, converged at the end, nothing left."""

from __future__ import annotations

import io
import re
import tempfile
import threading

from syncd.demo import main
from syncd.engine import observe


def _run() -> str:
    out = io.StringIO()
    assert main(out) == 0
    return out.getvalue()


def _normalized(text: str) -> str:
    """Strip what legitimately differs between runs: ports and the drift's age column."""
    text = re.sub(r"127\.0\.0\.1:\d+", "127.0.0.1:PORT", text)
    return re.sub(r"(\s)\d+s(\s)", r"\1AGEs\2", text)


def _step(text: str, number: int) -> str:
    return text.split(f"==> {number}. ")[1].split("\n==> ", maxsplit=1)[0]


def test_demo_tells_one_true_story(tmp_path, monkeypatch):
    """Lost events, drift of exactly those tags, one trigger, converged; identical twice."""
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    before = {t.ident for t in threading.enumerate()}
    first, second = _run(), _run()
    assert _normalized(first) == _normalized(second)
    outage, back, diff = _step(first, 2), _step(first, 3), _step(first, 4)
    assert "harbor-b's policy: Failed, Failed\n" in outage
    assert "both failed at their start, before any task" in outage
    # Nothing arrived on harbor-a behind the story's back: the lost events stay lost.
    assert "harbor-a: library/app:v1\n" in back
    rows = [line.split()[:3] for line in diff.splitlines()[2:] if line.strip()]
    # b->a lacks exactly the two pushed tags; a->b sees them as extra (reported, never acted on)
    assert rows == [["harbor-a->harbor-b", "extra", "2"], ["harbor-b->harbor-a", "missing", "2"]]
    reconcile = _step(first, 5)
    assert len(re.findall(r"^    trigger policy", reconcile, re.MULTILINE)) == 1
    assert "trigger policy 1 on harbor-b: succeeded (2 missing on harbor-b->harbor-a" in reconcile
    converged = _step(first, 6)
    assert "harbor-a: library/app:v1, library/app:v2, library/web:1.0" in converged
    assert "harbor-b: library/app:v1, library/app:v2, library/web:1.0" in converged
    assert "a second pass triggers 0 executions: converged" in converged
    assert 'syncd_actions_total{kind="trigger",result="succeeded"} 1.0' in first
    assert "Done: simulators stopped" in first
    assert list(tmp_path.iterdir()) == []
    lingering = [t for t in threading.enumerate() if t.ident not in before and t.is_alive()]
    # The observe fan-out pool is process-wide by design (reused by every pass, never per
    # pass); whichever test first runs a pass starts it, so it is not the demo's leftover.
    shared = f"{observe.FANOUT_NAME}_"
    assert [t.name for t in lingering if not t.daemon and not t.name.startswith(shared)] == []
