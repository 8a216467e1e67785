"""CPU time of the pure three-way diff of one edge over a large, slightly drifted tag map.

Owns building the expected/destination/base maps in memory and timing ``diff_edge`` (and, for
information, ``converged_base``) with ``time.process_time`` around the call only.
"""

from __future__ import annotations

import gc
import time
from collections import Counter
from dataclasses import dataclass

from syncd.core.diff import converged_base, diff_edge
from syncd.core.model import DriftClass, Edge, TagKey

__all__ = ["DiffFigures", "build_maps", "run_diff_bench"]

TAGS_PER_REPO = 20


@dataclass(frozen=True, slots=True)
class DiffFigures:
    """What the diff benchmark measured."""

    tags: int
    drifted: int
    diff_cpu_seconds: float
    base_cpu_seconds: float
    classes: dict[str, int]
    expected_classes: dict[str, int]

    @property
    def correct(self) -> bool:
        """Whether the diff found exactly the drift that was planted."""
        return self.classes == self.expected_classes


Maps = tuple[dict[TagKey, str], dict[TagKey, str], dict[TagKey, str]]


def build_maps(*, tags: int, drift_fraction: float) -> tuple[Maps, dict[str, int]]:
    """Return ``(expected, destination, base)`` plus the drift classes planted in them.

    Every map starts as the converged base; the drifted keys are split in three: moved on the
    source (stale), deleted on the destination (deleted_unpropagated), new on the source
    (missing).
    """
    repos = [f"p{r // 100:04d}/repo-{r:05d}" for r in range(max(1, tags // TAGS_PER_REPO))]
    tag_names = [f"v{t}" for t in range(TAGS_PER_REPO)]
    base = {
        (repos[i // TAGS_PER_REPO], tag_names[i % TAGS_PER_REPO]): f"sha256:{i:064x}"
        for i in range(tags)
    }
    expected, destination = dict(base), dict(base)
    drifted = int(tags * drift_fraction)
    third = drifted // 3
    keys = list(base)
    step = max(1, tags // max(1, drifted))
    chosen = keys[::step][:drifted]
    for n, key in enumerate(chosen):
        if n < third:
            expected[key] = f"sha256:{tags + n:064x}"
        elif n < 2 * third:
            del destination[key]
        else:
            new_key = (key[0], f"new-{n}")
            expected[new_key] = f"sha256:{2 * tags + n:064x}"
    planted = {
        DriftClass.STALE.value: third,
        DriftClass.DELETED_UNPROPAGATED.value: third,
        DriftClass.MISSING.value: len(chosen) - 2 * third,
    }
    return (expected, destination, base), {k: v for k, v in planted.items() if v}


def run_diff_bench(*, tags: int, drift_fraction: float = 0.01) -> DiffFigures:
    """Build the maps, then time one ``diff_edge`` and one ``converged_base`` call."""
    (expected, destination, base), planted = build_maps(tags=tags, drift_fraction=drift_fraction)
    edge = Edge(source="a", destination="b", policy_owner="a", policy_id=1)
    gc.collect()
    cpu0 = time.process_time()
    drift = diff_edge(edge=edge, expected=expected, destination=destination, base=base)
    diff_cpu = time.process_time() - cpu0
    gc.collect()
    cpu0 = time.process_time()
    converged_base(expected, destination, previous=base)
    base_cpu = time.process_time() - cpu0
    classes = Counter(d.drift_class.value for d in drift)
    return DiffFigures(
        tags=len(base),
        drifted=len(drift),
        diff_cpu_seconds=diff_cpu,
        base_cpu_seconds=base_cpu,
        classes=dict(classes),
        expected_classes=planted,
    )
