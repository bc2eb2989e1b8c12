"""Subscription mail as packaged. notify-real-time and send-digests run in the VPC, where SES's
API cannot be reached, so they may not send: each queues its emails on the mail queue (SQS,
encrypted, redriven to a dead-letter queue after a few receives) with the messages under mail/
in the exports bucket. send-mail, outside the VPC, is the queue's one consumer, with partial
batch failures, a visibility timeout at least six times its own timeout and above the delivery
ledger's two-minute lease, and it alone keeps the ledger and sends. Each check is also shown
failing on a broken copy."""

from __future__ import annotations

import copy
from typing import Any

import checks

# sde_core::mail_once::LEASE, in seconds.
LEASE = 120
MAIL_OBJECTS = "arn:${AWS::Partition}:s3:::sde-ci-exports-00000000/mail/*"


def _variables(function: tuple[str, dict[str, Any]]) -> dict[str, Any]:
    return function[1].get("Environment", {}).get("Variables", {})


def _grants(template: dict[str, Any], function: tuple[str, dict[str, Any]]) -> set[tuple[str, str]]:
    role = checks.render(function[1]["Role"]).removesuffix(".Arn}").removeprefix("${")
    return {(a, r) for a, r, _ in checks.role_grants(template["Resources"][role])}


def mail_problems(template: dict[str, Any]) -> list[str]:
    problems: list[str] = []
    if "MailQueue" not in template["Resources"]:
        return ["no MailQueue"]
    sender = checks._function(template, "-send-mail")
    if sender is None:
        return ["no send-mail function"]
    problems += checks.work_queue_problems(
        template, "MailQueue", sender, "mail queue", "send-mail", above_seconds=LEASE
    )
    if "VpcConfig" in sender[1]:
        problems.append("send-mail is in the VPC, where SES cannot be reached")
    if _variables(sender).get("SDE_DELIVERIES_TABLE") != {"Ref": "DeliveriesTable"}:
        problems.append("send-mail is not given the deliveries table")
    if ("ses:SendEmail", checks.render(_ses_identity())) not in _grants(template, sender):
        problems.append("send-mail may not send from the identity")

    for label in ("notify-real-time", "send-digests"):
        composer = checks._function(template, f"-{label}")
        if composer is None:
            problems.append(f"no {label} function")
            continue
        if _variables(composer).get("SDE_MAIL_QUEUE_URL") != {"Ref": "MailQueue"}:
            problems.append(f"{label} is not given the mail queue")
        granted = _grants(template, composer)
        if {("sqs:SendMessage", "${MailQueue.Arn}"), ("s3:PutObject", MAIL_OBJECTS)} - granted:
            problems.append(f"{label} may not queue mail")
        if any(action.startswith(("ses:", "dynamodb:PutItem")) for action, _ in granted):
            problems.append(f"{label} may send mail or write the ledger itself, from the VPC")
    return problems


def _ses_identity() -> str:
    return "arn:${AWS::Partition}:ses:${AWS::Region}:${AWS::AccountId}:identity/example.com"


def test_the_mail_queue_and_its_sender_outside_the_vpc_are_deployed_as_designed(template):
    assert mail_problems(template) == []


def test_a_sender_in_the_vpc_a_short_visibility_or_a_composer_that_sends_fail(template):
    broken = copy.deepcopy(template)
    resources = broken["Resources"]
    resources["MailQueue"]["Properties"]["VisibilityTimeout"] = 120
    sender_name, sender = checks._function(broken, "-send-mail")
    sender["VpcConfig"] = copy.deepcopy(checks._function(broken, "-send-digests")[1]["VpcConfig"])
    statements = resources["NotifyRealTimeRole"]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]
    statements.append(
        {"Effect": "Allow", "Action": "ses:SendEmail", "Resource": {"Fn::Sub": _ses_identity()}}
    )
    del checks._function(broken, "-send-digests")[1]["Environment"]["Variables"]["SDE_MAIL_QUEUE_URL"]
    problems = mail_problems(broken)
    assert any("visibility timeout 120 s" in p for p in problems), problems
    assert "send-mail is in the VPC, where SES cannot be reached" in problems
    assert "notify-real-time may send mail or write the ledger itself, from the VPC" in problems
    assert "send-digests is not given the mail queue" in problems
