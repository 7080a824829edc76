"""`Consent` is a frozen value: equal by fields, readable repr, sending only when on and sampled."""

from __future__ import annotations

import pickle

import pytest

from optel.consent import Consent


def make(**changes: object) -> Consent:
    fields: dict[str, object] = {
        "install_id": "4f3c0000-0000-4000-8000-000000000000",
        "sampled": True,
        "user_file": "/home/u/.config/x/telemetry.toml",
    }
    fields.update(changes)
    mode = str(fields.pop("mode", "anonymous"))
    return Consent(mode, "you chose anonymous", "user_file", **fields)  # type: ignore[arg-type]


def test_consent_is_frozen():
    consent = make()
    with pytest.raises(AttributeError):
        consent.mode = "identified"  # type: ignore[misc]
    with pytest.raises(AttributeError):
        del consent.reason  # type: ignore[misc]
    with pytest.raises(AttributeError):
        consent.extra = 1  # type: ignore[attr-defined]
    assert consent.mode == "anonymous"


def test_consent_equality_hash_and_repr():
    assert make() == make()
    assert hash(make()) == hash(make())
    assert make() != make(sampled=False)
    assert make() != "anonymous"
    text = repr(make())
    assert text.startswith(
        "Consent(mode='anonymous', reason='you chose anonymous', source='user_file'"
    )
    assert "install_id='4f3c0000-0000-4000-8000-000000000000'" in text


@pytest.mark.parametrize(
    ("mode", "sampled", "sending"),
    [
        ("anonymous", True, True),
        ("identified", True, True),
        ("anonymous", False, False),
        ("off", True, False),
    ],
)
def test_sending_needs_a_mode_and_the_sample(mode, sampled, sending):
    assert make(mode=mode, sampled=sampled).sending is sending


def test_off_is_never_sampled_and_only_identified_carries_a_user_id():
    assert make(mode="off").sampled is False
    assert make(mode="anonymous", user_id="bob").user_id is None
    assert make(mode="identified", user_id="bob").user_id == "bob"


def test_unknown_mode_is_a_setup_error():
    with pytest.raises(ValueError):
        Consent("on", "why", "user_file")


def test_replace_and_pickle_keep_the_value():
    consent = make()
    assert consent.replace(mode="off").mode == "off"
    assert consent.replace(mode="off").reason == consent.reason
    with pytest.raises(TypeError):
        consent.replace(colour="red")
    assert pickle.loads(pickle.dumps(consent)) == consent
    assert consent.as_dict()["source"] == "user_file"


def test_install_id_may_be_given_fourth_as_the_spec_writes_the_fields():
    consent = Consent(
        "anonymous", "you chose anonymous", "user_file", "4f3c0000-0000-4000-8000-000000000000"
    )
    assert consent.install_id == "4f3c0000-0000-4000-8000-000000000000"
    assert consent == Consent(
        "anonymous",
        "you chose anonymous",
        "user_file",
        install_id="4f3c0000-0000-4000-8000-000000000000",
    )
