"""``syncd demo``: the story runs to a converged end and leaves nothing behind."""

from __future__ import annotations

import io
import tempfile
import threading

from syncd.demo import main


def test_demo_converges_and_cleans_up(tmp_path, monkeypatch):
    """Exit 0, both catalogs printed equal, no temporary files or simulator threads left."""
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    before = {t.ident for t in threading.enumerate()}
    out = io.StringIO()
    assert main(out) == 0
    text = out.getvalue()
    assert "missing" in text
    assert "trigger policy" in text
    assert "a second pass triggers 0 executions: converged" in text
    assert "syncd_actions_total" in text
    assert list(tmp_path.iterdir()) == []
    lingering = [t for t in threading.enumerate() if t.ident not in before and t.is_alive()]
    assert [t.name for t in lingering if not t.daemon] == []
