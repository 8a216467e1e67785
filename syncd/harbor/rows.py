"""The artifact listing's fast path: Harbor's JSON rows straight into ``core.model.Artifact``.

A cold pass decodes every artifact of every repository (~10^5 per instance), so this one shape
skips the wire dataclasses of ``models``: a pydantic-core schema validates a raw page in Rust and
builds the core's frozen ``Artifact`` itself (no wire object, no Python ``__init__`` per row),
with exactly the checks of ``models.Artifact``, which stays the spec's shape (the tests hold the
two equal). Python runs per row only where a value must be shared:

- strings syncd keys on (digests, repository names, types, media types) are interned, so the
  two instances' catalogs and the state store's bases (its codec interns too) hold one copy;
- equal tag and label sets are one frozenset, through a process-wide cache (most artifacts carry
  one tag, and names such as ``latest`` repeat across repositories and instances); the cache
  is cleared past ``SETS_MAX`` entries, so it stays bounded whatever the tags;
- a time in Harbor's own rendering (``2024-05-01T12:00:00.000Z``) is read by
  ``datetime.fromisoformat`` into the shared UTC tzinfo; anything else goes through pydantic's
  RFC 3339 parser and ``when``, as every other Harbor time does.
"""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Literal

from pydantic_core import SchemaValidator, core_schema

from syncd.core.model import Artifact, Repository
from syncd.harbor.models import OCI_MANIFEST

if TYPE_CHECKING:
    from collections.abc import Callable

    from pydantic_core.core_schema import ValidationInfo

__all__ = ["SETS_MAX", "artifacts", "project_artifacts", "repositories", "when"]

SETS_MAX = 1 << 16
"""Distinct tag/label sets the sharing cache holds before it starts again."""
HARBOR_TIME = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}Z$"
"""How Harbor renders every time it sends (Go's ``strfmt.DateTime``): read without pydantic."""

_intern = sys.intern
_fromiso = datetime.fromisoformat
_EMPTY_SET: frozenset[str] = frozenset()
_SETS: dict[str | frozenset[str], frozenset[str]] = {}
"""Shared tag/label sets: a one-name set keyed by its name, a larger one by itself."""


def when(value: datetime | Literal[""] | None) -> datetime | None:
    """Return a wire time as an aware UTC datetime (naive is UTC); unset or Go's zero is None."""
    if not value or value.year == 1:  # Go's zero time.Time: Harbor's "never" (pull_time, ...)
        return None
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    try:  # one shared tzinfo, instead of one offset object per parsed timestamp
        return value.astimezone(UTC)
    except OverflowError:  # an offset pushing it past year 9999: the same instant as written
        return value


def _harbor_time(text: str) -> datetime | None:
    # The pattern pinned the shape; a date that does not exist (02-30) raises ValueError, which
    # fails this union member as pydantic's own parser fails it.
    value = _fromiso(text)  # "Z" parses to datetime.UTC itself
    return None if value.year == 1 else value


def _unset(_: str) -> None:
    return None


def _shared(items: list[dict[str, str]] | None) -> frozenset[str]:
    """One frozenset per distinct set of names (``items``: the rows' ``{"name": ...}``)."""
    if not items:
        return _EMPTY_SET
    if len(items) == 1:
        name = items[0]["name"]
        found = _SETS.get(name)
        if found is None:
            found = _SETS[name] = frozenset((_intern(name),))
        return found
    names = frozenset([_intern(item["name"]) for item in items])
    return _SETS.setdefault(names, names)


def _digests(key: str) -> Callable[[list[dict[str, str]] | None], tuple[str, ...]]:
    def digests(items: list[dict[str, str]] | None) -> tuple[str, ...]:
        return tuple([_intern(item[key]) for item in items]) if items else ()

    return digests


def _note(value: str, info: ValidationInfo) -> str:
    # The row's repository (the context is project_artifacts' list), in row order: rows are
    # validated in order, and so are the fields of a row.
    info.context.append(value)  # type: ignore[union-attr]
    return value


# --------------------------------------------------------------------------- the schema

_NAME = core_schema.str_schema(strict=True, min_length=1)
_INTERNED_NAME = core_schema.no_info_after_validator_function(_intern, _NAME)
_TIME = core_schema.nullable_schema(
    core_schema.union_schema(
        [
            core_schema.no_info_after_validator_function(
                _harbor_time, core_schema.str_schema(strict=True, pattern=HARBOR_TIME)
            ),
            core_schema.no_info_after_validator_function(
                when, core_schema.datetime_schema(strict=True)
            ),
            core_schema.no_info_after_validator_function(_unset, core_schema.literal_schema([""])),
        ],
        mode="left_to_right",
        custom_error_type="harbor_type",  # one error naming the field, as ``models.Timestamp``
        custom_error_message="expected an RFC 3339 timestamp",
    )
)


def _string(default: str) -> core_schema.WithDefaultSchema:
    interned = core_schema.no_info_after_validator_function(
        _intern, core_schema.str_schema(strict=True)
    )
    return core_schema.with_default_schema(interned, default=default)


def _objects(
    key: str, convert: Callable[[list[dict[str, str]] | None], object]
) -> core_schema.WithDefaultSchema:
    """Read a nullable array of objects with a non-empty string ``key``, mapped by ``convert``."""
    row = core_schema.typed_dict_schema(
        {key: core_schema.typed_dict_field(_NAME)}, extra_behavior="ignore"
    )
    items = core_schema.nullable_schema(core_schema.list_schema(row, strict=True))
    converted = core_schema.no_info_after_validator_function(convert, items)
    return core_schema.with_default_schema(converted, default=convert(None))


def _field(
    name: str, schema: core_schema.CoreSchema, *, alias: str | None = None, init_only: bool = False
) -> core_schema.DataclassField:
    return core_schema.dataclass_field(
        name, schema, validation_alias=alias, init_only=init_only, kw_only=False
    )


_ARTIFACT_FIELDS = [
    _field("digest", _INTERNED_NAME),
    _field("tags", _objects("name", _shared)),
    _field("push_time", core_schema.with_default_schema(_TIME, default=None)),
    _field("type", _string("IMAGE")),
    _field("media_type", _string(OCI_MANIFEST), alias="manifest_media_type"),
    _field("references", _objects("child_digest", _digests("child_digest"))),
    _field("accessories", _objects("digest", _digests("digest"))),
    _field("labels", _objects("name", _shared)),
]


def _page(*extra: core_schema.DataclassField) -> SchemaValidator:
    fields = [*extra, *_ARTIFACT_FIELDS]
    args = core_schema.dataclass_args_schema("Artifact", fields, collect_init_only=False)
    names = [f["name"] for f in _ARTIFACT_FIELDS]
    row = core_schema.dataclass_schema(Artifact, args, names, slots=True, frozen=True)
    return SchemaValidator(core_schema.list_schema(row, strict=True), {"strict": True})


_ARTIFACTS = _page()
# ``repository_name`` is validated like any field but is not the core Artifact's: it is handed
# out through the validation context instead, so the row is still built in one step.
_REPOSITORY = core_schema.with_info_after_validator_function(_note, _INTERNED_NAME)
_PROJECT_ARTIFACTS = _page(_field("repository_name", _REPOSITORY, init_only=True))


def _count(value: int | None) -> int:
    return value or 0  # Harbor omits or nulls a count it has not computed: nothing listed


def _repository(row: dict[str, Any]) -> Repository:
    return Repository(row["name"], row["artifact_count"], row["update_time"])


def _repositories() -> SchemaValidator:
    """Build the validator of a ``/repositories`` page (the checks of ``models.Repository``)."""
    count = core_schema.no_info_after_validator_function(
        _count, core_schema.nullable_schema(core_schema.int_schema(strict=True))
    )
    fields = {
        "name": core_schema.typed_dict_field(_INTERNED_NAME),
        "artifact_count": core_schema.typed_dict_field(
            core_schema.with_default_schema(count, default=0), required=False
        ),
        "update_time": core_schema.typed_dict_field(
            core_schema.with_default_schema(_TIME, default=None), required=False
        ),
    }
    # A typed dict, then one constructor call: the core Repository has an ``artifacts`` field
    # that a repository row must not be able to set.
    row = core_schema.no_info_after_validator_function(
        _repository, core_schema.typed_dict_schema(fields, extra_behavior="ignore")
    )
    return SchemaValidator(core_schema.list_schema(row, strict=True), {"strict": True})


_REPOSITORIES = _repositories()


def repositories(body: bytes | str) -> list[Repository]:
    """One page of repositories (without artifacts); raises pydantic's ``ValidationError``.

    A warm pass reads ~10^4 of these per instance and little else: one Rust pass per page.
    """
    rows: list[Repository] = _REPOSITORIES.validate_json(body)
    return rows


def _trimmed() -> None:
    if len(_SETS) > SETS_MAX:
        _SETS.clear()


def artifacts(body: bytes | str) -> list[Artifact]:
    """One page of a repository's artifacts; raises pydantic's ``ValidationError``."""
    _trimmed()
    rows: list[Artifact] = _ARTIFACTS.validate_json(body)
    return rows


def project_artifacts(body: bytes | str) -> list[tuple[str, Artifact]]:
    """One page of a project's artifacts, each with its repository; as ``artifacts``."""
    _trimmed()
    repositories: list[str] = []
    rows: list[Artifact] = _PROJECT_ARTIFACTS.validate_json(body, context=repositories)
    return list(zip(repositories, rows, strict=True))
