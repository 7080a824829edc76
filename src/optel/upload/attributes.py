"""Spool attributes and resources as OTLP can carry them: cleaned values, today's names, `service.*` filled in.

Plain Python only (no protobuf): the uploader reads headers before it knows whether anything will
be sent, and an offline run must not pay for the encoder's imports (upload/reach.py).
"""

from __future__ import annotations

import sys
from _collections_abc import Mapping  # collections.abc's, without importing collections

from optel.record.names import APP_INSTALLATION_ID, OPTEL_INSTALL_ID, RENAMED

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

_INT64 = (-(2**63), 2**63 - 1)


class InvalidRecord(ValueError):
    """A record that does not follow the spool schema
    (docs/spool-format.md#lines-of-a-spool-file)."""


# resources -------------------------------------------------------------------------------------------


def resource_for(header: Mapping[str, Any]) -> FileResource:
    """One spool file's resource: the header's attributes, `service.name` and `service.version` filled in.

    Nothing of the uploader's environment (`OTEL_RESOURCE_ATTRIBUTES`, the SDK's own attributes):
    none of it is in the data dictionary. The user's own attributes are added for the user's own
    endpoint only (`Exporters`, from the `Destination`).
    """
    attrs = renamed(clean_attributes(header.get("resource")))
    if APP_INSTALLATION_ID not in attrs and isinstance(attrs.get(OPTEL_INSTALL_ID), str):
        # Written before the conventions' name was sent beside optel's own.
        attrs[APP_INSTALLATION_ID] = attrs[OPTEL_INSTALL_ID]
    if not attrs.get("service.name"):
        attrs["service.name"] = str(header.get("app") or "unknown_service")
    if not attrs.get("service.version"):
        settings = header.get("settings")
        module = settings.get("version_module") if isinstance(settings, Mapping) else None
        version = distribution_version(module) if isinstance(module, str) else None
        if version:
            attrs["service.version"] = version
    return FileResource(attrs)


_VERSIONS: dict[str, str | None] = {}


def distribution_version(module: str) -> str | None:
    """The installed version of the distribution that provides `module` (or is named like it), or None."""
    if module in _VERSIONS:
        return _VERSIONS[module]
    if sys.version_info >= (3, 10):
        from importlib import metadata
    else:
        # The stdlib's metadata of 3.9 has no packages_distributions(): the backport (a dependency
        # on 3.9 for this) finds the distribution of a package named unlike it.
        import importlib_metadata as metadata

    top = module.split(".", 1)[0]
    candidates = [module, top]
    try:
        candidates.extend(metadata.packages_distributions().get(top, ()))
    except Exception:  # broken metadata of some unrelated distribution
        pass
    version: str | None = None
    for name in candidates:
        try:
            version = metadata.version(name)
            break
        except Exception:
            continue
    _VERSIONS[module] = version
    return version


# attributes ------------------------------------------------------------------------------------------


def _clean_value(value: object) -> Any:
    if isinstance(value, (bool, str)):
        return value
    if isinstance(value, int):
        return value if _INT64[0] <= value <= _INT64[1] else None
    if isinstance(value, float):
        return value
    if isinstance(value, (list, tuple)):
        items = [_clean_value(v) for v in value]
        items = [v for v in items if v is not None and not isinstance(v, list)]
        if not items:
            return []
        # OTLP arrays are homogeneous: keep the items of the first item's type.
        first = type(items[0])
        return [v for v in items if type(v) is first]
    return None


def already_clean(attributes: dict[Any, Any]) -> bool:
    """Whether every key is a non-empty str and every value a str, bool, float or int64."""
    # Exact types (what the JSON parser makes), which also keeps bool apart from int.
    for key, value in attributes.items():
        if type(key) is not str or not key:
            return False
        kind = type(value)
        if kind is str or kind is bool or kind is float:
            continue
        if kind is int and -(2**63) <= value < 2**63:
            continue
        return False
    return True


def clean_attributes(attributes: object) -> dict[str, Any]:
    """Attributes as OTLP can carry them: str/bool/int64/float or homogeneous lists; others dropped."""
    if type(attributes) is dict:
        if not attributes:
            return {}
        if already_clean(attributes):
            return attributes.copy()  # the common case: the host wrote plain scalars
    elif not isinstance(attributes, Mapping):
        return {}
    out: dict[str, Any] = {}
    for key, value in attributes.items():
        if isinstance(key, str) and key:
            clean = _clean_value(value)
            if clean is not None:
                out[key] = clean
    return out


_LEGACY = frozenset(RENAMED)


def renamed(attributes: dict[str, Any]) -> dict[str, Any]:
    """Attributes under today's names: a spool file written by optel 0.x used a few old ones."""
    if _LEGACY.isdisjoint(attributes):
        return attributes
    return {RENAMED.get(key, key): value for key, value in attributes.items()}


def ns(value: object) -> int:
    """A record's time in ns, or InvalidRecord."""
    # Exact type: JSON makes ints, and a bool is not a time.
    if type(value) is int and 0 <= value <= 2**64 - 1:
        return value
    raise InvalidRecord(f"a time must be a non-negative integer of ns, not {value!r}")


class FileResource:
    """The resource attributes of spool files, one object for every file with the same ones.

    The requests group spans and metrics by this object (identity), as the SDK grouped them by
    its `Resource`: files of one resource share one `ResourceSpans`.
    """

    __slots__ = ("attributes",)

    def __init__(self, attributes: dict[str, Any]) -> None:
        self.attributes = attributes

    def __repr__(self) -> str:
        return f"FileResource({self.attributes!r})"


def shared_resource(
    cache: dict[tuple[Any, ...], FileResource], header: Mapping[str, Any]
) -> FileResource:
    """The file's resource, one object in `cache` for every file with the same one: a request has one
    `ResourceSpans` per object (upload/otlp.py)."""
    settings = header.get("settings")
    attrs = header.get("resource")
    try:
        key = (
            header.get("app"),
            settings.get("version_module") if isinstance(settings, Mapping) else None,
            # With the type: True, 1 and 1.0 are equal keys but different attribute values.
            tuple(sorted((k, type(v).__name__, v) for k, v in attrs.items()))
            if isinstance(attrs, Mapping)
            else None,
        )
        found = cache.get(key)
    except TypeError:  # a list value: not worth a key
        return resource_for(header)
    if found is None:
        found = cache[key] = resource_for(header)
    return found
