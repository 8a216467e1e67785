"""Harbor's JSON as syncd reads it: pydantic models named after the spec's definitions.

Owns the wire shapes (``vendor/harbor/swagger.yaml``); ``decode`` validates bodies against them.
Each model declares only the fields syncd reads; Harbor's many others are ignored without being
built. go-swagger's ``omitempty`` shapes are defaults here: an omitted ``false``/``0``/``""``
takes the zero value, an omitted or ``null`` array is ``None``, a time may be ``null``. Go's zero
time (``0001-01-01T00:00:00Z``, Harbor's "never") is still a ``datetime`` here; ``decode`` reads
it as None when it maps these models onto ``syncd.core.model``.

Types are strict (an id sent as ``"5"`` or ``true`` is an error, not a 5 or a 1): a wrong type
from Harbor is a protocol change worth failing loudly on. The models are pydantic dataclasses
with slots rather than ``BaseModel``s: a slotted instance costs less to build (no ``__dict__``,
no fields-set record); ``bench/`` measured it. The artifact listings (~10^5 rows a cold pass)
skip even those: ``rows`` builds core values straight from the bytes with the same checks as
``Artifact`` and ``ProjectArtifact`` here, which stay the spec's shape (the tests hold the two
equal).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import ConfigDict, GetPydanticSchema, StringConstraints
from pydantic.dataclasses import dataclass
from pydantic_core import core_schema

__all__ = [
    "OCI_MANIFEST",
    "WIRE",
    "Accessory",
    "Artifact",
    "ComponentHealthStatus",
    "FilterValue",
    "GeneralInfo",
    "Label",
    "Name",
    "OverallHealthStatus",
    "Project",
    "ProjectArtifact",
    "Reference",
    "Registry",
    "ReplicationExecution",
    "ReplicationFilter",
    "ReplicationPolicy",
    "ReplicationTask",
    "ReplicationTrigger",
    "ReplicationTriggerSettings",
    "Repository",
    "Tag",
    "Timestamp",
]

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
"""What an artifact without ``manifest_media_type`` is taken to be."""

Name = Annotated[str, StringConstraints(strict=True, min_length=1)]
"""A string syncd keys on (a digest, a name): present and non-empty."""


def _either(message: str, *choices: core_schema.CoreSchema) -> GetPydanticSchema:
    # One error naming the field, instead of one per union member with the member in the path.
    def build(_source: Any, _handler: Any) -> core_schema.CoreSchema:
        union = core_schema.union_schema(
            list(choices), custom_error_type="harbor_type", custom_error_message=message
        )
        return core_schema.nullable_schema(union)

    return GetPydanticSchema(build)


Timestamp = Annotated[
    datetime | Literal[""] | None,
    _either(
        "expected an RFC 3339 timestamp",
        core_schema.datetime_schema(strict=True),
        core_schema.literal_schema([""]),  # read as unset, as syncd always has
    ),
]
"""A date-time; ``null``/``""`` (unset) and Go's zero time both mean never."""

FilterValue = Annotated[
    str | list[str] | None,
    _either(
        "expected a string or an array of strings",
        core_schema.str_schema(strict=True),
        core_schema.list_schema(core_schema.str_schema(strict=True), strict=True),
    ),
]
"""A filter's ``value``: the spec leaves it untyped; labels use a list, the rest a pattern."""


WIRE = ConfigDict(strict=True, extra="ignore")
"""Every model: strict types, unknown fields ignored (and never built)."""


# --------------------------------------------------------------------------- catalog


@dataclass(frozen=True, slots=True, kw_only=True, config=WIRE)
class Tag:
    """``Tag``: a name on an artifact."""

    name: Name


@dataclass(frozen=True, slots=True, kw_only=True, config=WIRE)
class Label:
    """``Label``: replication's label filter matches on the name."""

    name: Name


@dataclass(frozen=True, slots=True, kw_only=True, config=WIRE)
class Reference:
    """``Reference``: a child of an image index."""

    child_digest: Name


@dataclass(frozen=True, slots=True, kw_only=True, config=WIRE)
class Accessory:
    """``Accessory``: a signature or SBOM attached to an artifact."""

    digest: Name


@dataclass(frozen=True, slots=True, kw_only=True, config=WIRE)
class Artifact:
    """``Artifact`` as listed with ``with_tag``, ``with_label`` and ``with_accessory``."""

    digest: Name
    type: str = "IMAGE"
    manifest_media_type: str = OCI_MANIFEST
    push_time: Timestamp = None
    tags: list[Tag] | None = None
    references: list[Reference] | None = None
    accessories: list[Accessory] | None = None
    labels: list[Label] | None = None


@dataclass(frozen=True, slots=True, kw_only=True, config=WIRE)
class ProjectArtifact(Artifact):
    """``Artifact`` from a project-wide listing, where ``repository_name`` says whose it is."""

    repository_name: Name


@dataclass(frozen=True, slots=True, kw_only=True, config=WIRE)
class Repository:
    """``Repository``; ``name`` includes the project."""

    name: Name
    artifact_count: int | None = 0
    update_time: Timestamp = None


@dataclass(frozen=True, slots=True, kw_only=True, config=WIRE)
class Project:
    """``Project`` as listed without detail."""

    project_id: int
    name: Name
    registry_id: int = 0
    """The upstream registry of a proxy-cache project; 0 for a normal one."""
    repo_count: int = 0
    update_time: Timestamp = None


# --------------------------------------------------------------------------- replication


@dataclass(frozen=True, slots=True, kw_only=True, config=WIRE)
class Registry:
    """``Registry``: a replication endpoint (``id`` 0 is the local Harbor)."""

    id: int
    name: Name
    url: str = ""
    type: str = "harbor"
    status: str = "unknown"
    """Never assumed healthy when Harbor does not say."""


@dataclass(frozen=True, slots=True, kw_only=True, config=WIRE)
class ReplicationFilter:
    """``ReplicationFilter``."""

    type: Name
    value: FilterValue = None
    decoration: str = ""


@dataclass(frozen=True, slots=True, kw_only=True, config=WIRE)
class ReplicationTriggerSettings:
    """``ReplicationTriggerSettings``."""

    cron: str = ""


@dataclass(frozen=True, slots=True, kw_only=True, config=WIRE)
class ReplicationTrigger:
    """``ReplicationTrigger``; an empty type is a manual trigger."""

    type: str = ""
    trigger_settings: ReplicationTriggerSettings | None = None


@dataclass(frozen=True, slots=True, kw_only=True, config=WIRE)
class ReplicationPolicy:
    """``ReplicationPolicy``; a missing registry is the local one."""

    id: int
    name: Name
    enabled: bool = False
    src_registry: Registry | None = None
    dest_registry: Registry | None = None
    dest_namespace: str = ""
    dest_namespace_replace_count: int | None = None
    """``x-isnullable``: Harbor maps an absent count to -1 (legacy flattening)."""
    trigger: ReplicationTrigger | None = None
    filters: list[ReplicationFilter] | None = None
    replicate_deletion: bool | None = None
    deletion: bool | None = None
    """The older name of ``replicate_deletion``, read when the newer one is absent."""
    override: bool = False


@dataclass(frozen=True, slots=True, kw_only=True, config=WIRE)
class ReplicationExecution:
    """``ReplicationExecution``; a status Harbor could not convert comes as ``""``."""

    id: int
    policy_id: int
    status: str | None = None
    trigger: str = "manual"
    status_text: str = ""
    start_time: Timestamp = None
    end_time: Timestamp = None
    total: int = 0
    succeed: int = 0
    failed: int = 0
    in_progress: int = 0
    stopped: int = 0


@dataclass(frozen=True, slots=True, kw_only=True, config=WIRE)
class ReplicationTask:
    """``ReplicationTask``: one resource copied (or deleted) by an execution."""

    id: int
    execution_id: int
    status: str = ""
    operation: str = ""
    resource_type: str = ""
    src_resource: str = ""
    dst_resource: str = ""
    start_time: Timestamp = None
    end_time: Timestamp = None


# --------------------------------------------------------------------------- instance


@dataclass(frozen=True, slots=True, kw_only=True, config=WIRE)
class GeneralInfo:
    """``GeneralInfo`` (``/systeminfo``); every field is ``x-nullable``."""

    harbor_version: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True, config=WIRE)
class ComponentHealthStatus:
    """``ComponentHealthStatus``."""

    name: str
    status: str = ""
    error: str = ""


@dataclass(frozen=True, slots=True, kw_only=True, config=WIRE)
class OverallHealthStatus:
    """``OverallHealthStatus`` (``/health``, HTTP 200 even when unhealthy)."""

    status: str
    components: list[ComponentHealthStatus] | None = None
