"""A flush leaves a value unscrubbed only where the scrubber would return it unchanged, or where it
is a name the maintainer declares (record/clean.py, record/resource.py;
docs/privacy.md#names-the-maintainer-declares)."""

from __future__ import annotations

from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from optel import privacy
from optel._settings import Settings
from optel.consent import Consent
from optel.record.clean import DECLARED_NAMES, TYPES, Scrubber, clean_attributes
from optel.record.resource import spool_header

HOST = ("my_tool.count", "my_tool.api_key", "my_tool.path")
VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=40),
    st.sampled_from(["/home/alice/x", "alice@example.com", "10.1.2.3", "sk-" + "a1" * 15]),
    st.lists(st.text(max_size=10), max_size=3),
    st.lists(st.integers(), max_size=3),
)


# No deadline: the first example loads the scrubber and its rules (and compiles them, from a cold
# bytecode cache), which takes longer than Hypothesis' default 200 ms on a busy machine.
@settings(deadline=None)
@given(st.dictionaries(st.sampled_from(sorted(TYPES) + list(HOST)), VALUES, max_size=8))
def test_attributes_left_unscrubbed_are_what_the_scrubber_would_return(attributes) -> None:
    calls: list[dict[str, object]] = []

    def counting(values):
        calls.append(dict(values))
        return privacy.scrub_attributes(values)

    scrub = Scrubber(privacy.scrub_text, privacy.public_model_name, counting)
    out = clean_attributes(attributes, frozenset(TYPES), frozenset(HOST), scrub)
    values = {k: v for k, v in out.items() if k not in DECLARED_NAMES}
    if not calls:
        assert privacy.scrub_attributes(values) == values


def test_a_number_under_a_host_name_the_key_rule_covers_is_still_replaced() -> None:
    scrub = Scrubber(privacy.scrub_text, privacy.public_model_name, privacy.scrub_attributes)
    out = clean_attributes({"my_tool.api_key": 123456}, (), frozenset(HOST), scrub)
    assert out == {"my_tool.api_key": privacy.SECRET}


def _header(tmp_path: Path, version: str, table: str = "") -> dict[str, object]:
    user_file = tmp_path / "telemetry.toml"
    user_file.write_text(
        'mode = "anonymous"\ninstall_id = "5b0e2c1e-6a43-4c38-9d2e-000000000001"\n' + table
    )
    settings = Settings.check("alice-tool", version=version, project_dir=str(tmp_path))
    consent = Consent(
        "anonymous",
        "stored",
        "user_file",
        install_id="5b0e2c1e-6a43-4c38-9d2e-000000000001",
        user_file=str(user_file),
    )
    resource = spool_header(settings, consent)["resource"]
    assert isinstance(resource, dict)
    return resource


def test_the_declared_name_and_version_are_kept_as_written(tmp_path: Path) -> None:
    # A four-part version is not an IP address, whatever the scrubber would make of it.
    resource = _header(tmp_path, "1.2.3.4")
    assert resource["service.name"] == resource["process.executable.name"] == "alice-tool"
    assert resource["service.version"] == "1.2.3.4"


def test_other_resource_strings_are_still_scrubbed(tmp_path: Path) -> None:
    resource = _header(tmp_path, "1.0", 'first_version = "/home/alice/build/tool"\n')
    assert resource["optel.install.first_version"] == "<path>"


def test_a_declared_version_is_bounded(tmp_path: Path) -> None:
    resource = _header(tmp_path, "1." + "0" * 5000)
    assert len(str(resource["service.version"])) <= 1024
