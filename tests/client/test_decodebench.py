"""``bench.decodebench``: its baseline decodes as the decoder does, and it prints its figures."""

from __future__ import annotations

import pytest

from bench import decodebench
from syncd.harbor.decode import decode_project_artifacts


@pytest.mark.parametrize(("artifacts", "tags_per_repo"), [(1, 1), (250, 20), (120, 7)])
def test_the_baseline_reads_the_pages_as_the_decoder_does(artifacts, tags_per_repo):
    """Before and after yield equal values, so the figures compare like with like."""
    for body in decodebench.pages(artifacts, tags_per_repo=tags_per_repo):
        assert decodebench.decode_before(body) == decode_project_artifacts(body)


def test_main_prints_both_decoders_and_their_ratio(capsys):
    """A small run prints a row per decoder and the after/before ratios."""
    assert decodebench.main(["--artifacts", "300", "--repeat", "1"]) == 0
    out = capsys.readouterr().out
    assert [line.split()[0] for line in out.splitlines()[2:4]] == ["before", "after"]
    assert "after/before: CPU" in out
