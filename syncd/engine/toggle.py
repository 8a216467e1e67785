"""The disable/enable ("toggle") of a replication policy, journalled so it survives a crash.

Owns the full-replace PUT body (Harbor's PUT replaces the whole policy and reads the deprecated
``deletion`` field, not ``replicate_deletion``) and the restore of policies syncd left disabled.
The intent is written to the state store *before* the disable, so a kill -9 between disable and
enable is repaired by ``restore_pending`` on the next start. A failed re-enable is retried a few
times within the pass under the same intent; if it still fails it is logged at error and the
intent stays open (reported as ``reenable_pending`` and retried by every later pass).
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

import structlog

from syncd.errors import HarborError, SyncdError

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping
    from datetime import datetime

    from syncd.harbor.client import HarborClient
    from syncd.store import Store

__all__ = ["REENABLE_ATTEMPTS", "ToggleError", "policy_body", "restore_pending", "toggle_policy"]

log = structlog.get_logger("syncd.engine.toggle")
REENABLE_ATTEMPTS = 3
"""Re-enable attempts within one pass before the policy is left to the next pass."""
REENABLE_PAUSE = 0.2
"""Seconds before the second attempt (doubled for each further one): rides out a 503 blip."""


class ToggleError(SyncdError):
    """The policy could not be verified as re-enabled; the intent stays journalled."""


def policy_body(raw: Mapping[str, Any], *, enabled: bool) -> dict[str, Any]:
    """Return the whole policy as read, with ``enabled`` set and ``deletion`` mirrored.

    Omitted fields would be reset by Harbor (filters -> all, replace_count -> -1, ...), so
    everything read is sent back; only ``enabled`` changes.
    """
    body = dict(raw)
    body["enabled"] = enabled
    body["deletion"] = bool(raw.get("replicate_deletion", raw.get("deletion", False)))
    return body


def _set_enabled(client: HarborClient, policy_id: int, *, enabled: bool) -> None:
    current = client.get_policy(policy_id, owner=client.name)
    if current.enabled == enabled:
        return
    client.put_policy(policy_id, policy_body(current.raw, enabled=enabled))
    if client.get_policy(policy_id, owner=client.name).enabled != enabled:
        raise ToggleError(f"policy {policy_id} on {client.name} did not become enabled={enabled}")


def _reenable(
    client: HarborClient, policy_id: int, *, intent: int, wait: Callable[[float], None]
) -> None:
    """Re-enable with bounded retries; on the last failure log at error and raise."""
    for attempt in range(1, REENABLE_ATTEMPTS + 1):
        try:
            _set_enabled(client, policy_id, enabled=True)
        except (HarborError, ToggleError) as exc:
            if attempt == REENABLE_ATTEMPTS:
                log.error(  # noqa: TRY400 - an operator event, not a traceback
                    "toggle.reenable_failed",
                    instance=client.name,
                    policy_id=policy_id,
                    intent_id=intent,
                    attempts=attempt,
                    error=str(exc),
                )
                raise ToggleError(
                    f"policy {policy_id} on {client.name} is left disabled: re-enable failed "
                    f"{attempt} times ({exc}); the intent stays journalled for the next pass"
                ) from None
            log.warning("toggle.reenable_retry", instance=client.name, policy_id=policy_id)
            wait(REENABLE_PAUSE * 2 ** (attempt - 1))
        else:
            return


def toggle_policy(
    client: HarborClient,
    store: Store,
    *,
    policy_id: int,
    now: Callable[[], datetime],
    wait: Callable[[float], None] = time.sleep,
) -> None:
    """Disable then re-enable ``policy_id``; journal first, complete only once verified."""
    current = client.get_policy(policy_id, owner=client.name)
    if not current.enabled:
        raise ToggleError(f"policy {policy_id} on {client.name} is disabled; not toggling it")
    intent = store.journal_disable_intent(
        client.name, policy_id, policy_json=dict(current.raw), at=now()
    )
    log.info("toggle.disabling", instance=client.name, policy_id=policy_id, intent_id=intent)
    _set_enabled(client, policy_id, enabled=False)
    _reenable(client, policy_id, intent=intent, wait=wait)
    store.complete_intent(intent, at=now())
    log.info("toggle.reenabled", instance=client.name, policy_id=policy_id, intent_id=intent)


def restore_pending(
    clients: Mapping[str, HarborClient],
    store: Store,
    *,
    now: Callable[[], datetime],
) -> list[tuple[str, int, str]]:
    """Re-enable every policy a previous (crashed) run left disabled; ``(instance, id, result)``."""
    results: list[tuple[str, int, str]] = []
    for intent in store.pending_intents():
        client = clients.get(intent.instance)
        if client is None:
            results.append((intent.instance, intent.policy_id, "unknown_instance"))
            log.error(
                "toggle.restore_failed",
                instance=intent.instance,
                policy_id=intent.policy_id,
                error="instance is no longer configured",
            )
            continue
        try:
            _set_enabled(client, intent.policy_id, enabled=True)
        except (HarborError, ToggleError) as exc:
            results.append((intent.instance, intent.policy_id, "failed"))
            log.exception(
                "toggle.restore_failed",
                instance=intent.instance,
                policy_id=intent.policy_id,
                error=str(exc),
            )
            continue
        store.complete_intent(intent.id, at=now())
        results.append((intent.instance, intent.policy_id, "restored"))
        log.warning("toggle.restored", instance=intent.instance, policy_id=intent.policy_id)
    return results
