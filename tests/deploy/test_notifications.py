"""The real-time notification plumbing as packaged: posts queues on the notifications queue
(SQS, encrypted, redriven to a dead-letter queue after a few receives), notify-real-time works it
with partial batch failures and a visibility timeout at least six times its own timeout, and the
delivery ledger table (send-mail's, test_mail.py) expires its items by TTL. Each check is also
shown failing on a broken copy."""

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
    worker_props = worker[1]
    problems += checks.work_queue_problems(
        template, "NotificationsQueue", worker, "notifications queue", "notify-real-time"
    )
    variables = posts[1].get("Environment", {}).get("Variables", {})
    if variables.get("SDE_NOTIFICATIONS_QUEUE_URL") != {"Ref": "NotificationsQueue"}:
        problems.append("posts is not given the notifications queue")
    table = resources.get("DeliveriesTable", {}).get("Properties", {})
    ttl = table.get("TimeToLiveSpecification", {})
    if ttl != {"AttributeName": "expiresAt", "Enabled": True}:
        problems.append("the deliveries table does not expire items by their expiresAt (TTL)")
    if "VpcConfig" not in worker_props:
        problems.append("notify-real-time is not in the VPC, where the subscriptions index is")
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
