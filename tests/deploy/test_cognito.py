"""The user pool as packaged: an address is in a token only once it is proved, so email goes only
to addresses their owners control (the functions also check `email_verified` themselves)."""

from __future__ import annotations


def _one(template: dict, kind: str) -> dict:
    found = [r["Properties"] for r in template["Resources"].values() if r["Type"] == kind]
    assert len(found) == 1, kind
    return found[0]


def test_a_changed_address_is_applied_only_once_verified(template):
    pool = _one(template, "AWS::Cognito::UserPool")
    settings = pool.get("UserAttributeUpdateSettings", {})
    assert settings.get("AttributesRequireVerificationBeforeUpdate") == ["email"]
    assert "email" in pool.get("AutoVerifiedAttributes", [])


def test_the_web_client_cannot_write_the_address(template):
    client = _one(template, "AWS::Cognito::UserPoolClient")
    writable = client.get("WriteAttributes")
    assert writable is not None, "without WriteAttributes the client may write every attribute"
    assert not {"email", "email_verified"} & set(writable)
