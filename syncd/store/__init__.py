"""syncd's durable state: one SQLite file (WAL) shared by the daemon's threads.

Owns persistence only, never decisions: per-edge base snapshots for the three-way diff, the
catalog cache for incremental snapshots, drift first-seen times, instance health transitions,
the toggle- and repair-intent journals (crash safety for policies syncd disables or creates),
policy history for the non-converging backoff, the audit trail, pass bookkeeping and
executions syncd started.
All times are timezone-aware UTC datetimes in and out; sqlite errors surface as `StateError`.

The tables are split by topic into mixins (``_snapshots``, ``_status``, ``_journal``) over one
connection (``_db``); `StateStore` is the single object callers use.
"""

from __future__ import annotations

from syncd.errors import StateError
from syncd.store._codec import history_from_json, history_to_json
from syncd.store._db import SCHEMA_VERSION
from syncd.store._journal import (
    AuditEntry,
    JournalTables,
    OpenExecution,
    RepairIntent,
    ToggleIntent,
)
from syncd.store._snapshots import SnapshotTables
from syncd.store._status import StatusTables
from syncd.store.interface import FencedError, Store

__all__ = [
    "SCHEMA_VERSION",
    "AuditEntry",
    "FencedError",
    "OpenExecution",
    "RepairIntent",
    "StateError",
    "StateStore",
    "Store",
    "ToggleIntent",
    "history_from_json",
    "history_to_json",
]


class StateStore(SnapshotTables, StatusTables, JournalTables):
    """All of syncd's state behind one connection; open with ``StateStore.open(path)``.

    Thread-safe (one lock, one transaction per call) and a context manager that closes itself.
    """
