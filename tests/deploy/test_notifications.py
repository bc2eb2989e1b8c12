"""The real-time notification plumbing as packaged: posts queues on the notifications queue
(SQS, encrypted, redriven to a dead-letter queue after a few receives), notify-real-time works it
with partial batch failures and a visibility timeout at least six times its own timeout, and the
delivery ledger table expires its items by TTL. Each check is also shown failing on a broken copy."""

from __future__ import annotations

import copy
from typing import Any

import checks


def notification_problems(template: dict[str, Any]) -> list[str]:
    problems: list[str] = []
    resources = template["Resources"]
    queue = resources.get("NotificationsQueue", {}).get("Properties")
    if queue is None:
        return ["no NotificationsQueue"]
    worker = checks._function(template, "-notify-real-time")
    posts = checks._function(template, "-posts")
    if worker is None or posts is None:
        return ["no notify-real-time or posts function"]
    worker_name, worker_props = worker
    timeout = worker_props.get("Timeout", 6)
    if queue.get("VisibilityTimeout", 30) < 6 * timeout:
        problems.append(
            f"the queue's visibility timeout {queue.get('VisibilityTimeout', 30)} s is under six "
            f"times notify-real-time's timeout ({timeout} s)"
        )
    if not queue.get("SqsManagedSseEnabled") and "KmsMasterKeyId" not in queue:
        problems.append("the notifications queue is not encrypted")
    redrive = queue.get("RedrivePolicy") or {}
    if redrive.get("deadLetterTargetArn") != {"Fn::GetAtt": ["NotificationsDeadLetterQueue", "Arn"]}:
        problems.append("the notifications queue has no dead-letter queue")
    if not 1 <= int(redrive.get("maxReceiveCount", 0)) <= 10:
        problems.append(f"maxReceiveCount {redrive.get('maxReceiveCount')} is not between 1 and 10")
    mappings = [
        r["Properties"]
        for r in resources.values()
        if r["Type"] == "AWS::Lambda::EventSourceMapping"
        and r["Properties"].get("EventSourceArn") == {"Fn::GetAtt": ["NotificationsQueue", "Arn"]}
    ]
    if [m.get("FunctionName") for m in mappings] != [{"Fn::GetAtt": [worker_name, "Arn"]}]:
        problems.append("notify-real-time is not the one consumer of the notifications queue")
    elif "ReportBatchItemFailures" not in mappings[0].get("FunctionResponseTypes", []):
        problems.append("notify-real-time does not report partial batch failures")
    variables = posts[1].get("Environment", {}).get("Variables", {})
    if variables.get("SDE_NOTIFICATIONS_QUEUE_URL") != {"Ref": "NotificationsQueue"}:
        problems.append("posts is not given the notifications queue")
    table = resources.get("DeliveriesTable", {}).get("Properties", {})
    ttl = table.get("TimeToLiveSpecification", {})
    if ttl != {"AttributeName": "expiresAt", "Enabled": True}:
        problems.append("the deliveries table does not expire items by their expiresAt (TTL)")
    if worker_props.get("Environment", {}).get("Variables", {}).get("SDE_DELIVERIES_TABLE") != {
        "Ref": "DeliveriesTable"
    }:
        problems.append("notify-real-time is not given the deliveries table")
    return problems


def test_the_queue_its_worker_and_the_ledger_are_deployed_as_designed(template):
    assert notification_problems(template) == []


def test_a_short_visibility_no_dead_letters_or_whole_batch_retries_fail(template):
    broken = copy.deepcopy(template)
    queue = broken["Resources"]["NotificationsQueue"]["Properties"]
    queue["VisibilityTimeout"] = 30
    del queue["RedrivePolicy"]
    for resource in broken["Resources"].values():
        if resource["Type"] == "AWS::Lambda::EventSourceMapping":
            resource["Properties"].pop("FunctionResponseTypes", None)
    del broken["Resources"]["DeliveriesTable"]["Properties"]["TimeToLiveSpecification"]
    problems = notification_problems(broken)
    assert any("visibility timeout 30 s" in p for p in problems), problems
    assert "the notifications queue has no dead-letter queue" in problems
    assert "notify-real-time does not report partial batch failures" in problems
    assert "the deliveries table does not expire items by their expiresAt (TTL)" in problems
