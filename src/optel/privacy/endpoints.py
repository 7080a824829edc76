"""An endpoint URL as a user may see it in the audit log and debug output: where the data goes,
without the credentials a URL can carry (``https://user:pass@host/?api_key=...``)."""

from __future__ import annotations

from optel.privacy.markers import SECRET


def redact_endpoint(url: str) -> str:
    """`url` with its user information, every query value and its fragment replaced by ``<secret>``.

    Scheme, host, port and path stay: they are the maintainer's endpoint, which the user may read.
    No ``urllib.parse`` (it costs imports on the host's exit path); a URL that does not parse as
    ``scheme://authority/path`` is shown as ``<secret>`` whole, since nothing says which part of it
    is safe.
    """
    scheme, sep, rest = url.partition("://")
    if not sep or not scheme.replace("+", "").replace(".", "").replace("-", "").isalnum():
        return SECRET if url.strip() else url
    rest, hash_sign, _fragment = rest.partition("#")
    rest, question, query = rest.partition("?")
    authority, slash, path = rest.partition("/")
    _userinfo, at, host = authority.rpartition("@")
    shown = scheme + "://" + (SECRET + "@" if at else "") + host + slash + path
    if question:
        pairs = []
        for pair in query.split("&"):
            key, equals, _value = pair.partition("=")
            pairs.append(key + "=" + SECRET if equals else (SECRET if key else key))
        shown += "?" + "&".join(pairs)
    if hash_sign:
        shown += "#" + SECRET
    return shown


def redact_export(export: dict[str, object]) -> dict[str, object]:
    """A copy of a spool header's ``export`` section with credentials gone: header values masked,
    and every endpoint passed through ``redact_endpoint``: a string under a key that names an
    endpoint, at any depth (``user_endpoints`` maps each signal to its own ``endpoint``)."""
    return _redacted(export, False)


def _redacted(section: dict[str, object], under_endpoint: bool) -> dict[str, object]:
    shown = dict(section)
    for key, value in section.items():
        named = under_endpoint or "endpoint" in str(key)
        if key == "headers" and isinstance(value, dict):
            shown[key] = {str(name): SECRET for name in value}
        elif named and isinstance(value, str):
            shown[key] = (
                redact_endpoint(value) if "://" in value or "endpoint" in str(key) else value
            )
        elif isinstance(value, dict):
            shown[key] = _redacted(value, named)
    return shown
