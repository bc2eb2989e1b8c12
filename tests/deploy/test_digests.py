"""The daily digests as packaged: an EventBridge schedule (01:00 UTC by default) starts
plan-digests, which may only page the subscriptions table's by-kind index and send to the digests
queue (SQS, encrypted, redriven to a dead-letter queue after a few receives); send-digests is the
one consumer of that queue, with partial batch failures and a visibility timeout at least six
times its own timeout, in the VPC to read the posts index (it queues each digest for send-mail:
test_mail.py). Each check is also shown failing on a broken copy."""

from __future__ import annotations

import copy
from typing import Any

import checks

DEFAULT_SCHEDULE = "cron(0 1 * * ? *)"


def digest_problems(template: dict[str, Any]) -> list[str]:
    problems: list[str] = []
    resources = template["Resources"]
    queue = resources.get("DigestsQueue", {}).get("Properties")
    if queue is None:
        return ["no DigestsQueue"]
    planner = checks._function(template, "-plan-digests")
    worker = checks._function(template, "-send-digests")
    if planner is None or worker is None:
        return ["no plan-digests or send-digests function"]
    planner_name, planner_props = planner
    worker_props = worker[1]

    problems += checks.work_queue_problems(
        template, "DigestsQueue", worker, "digests queue", "send-digests"
    )

    rules = [
        r["Properties"]
        for r in resources.values()
        if r["Type"] == "AWS::Events::Rule"
        and {"Fn::GetAtt": [planner_name, "Arn"]}
        in [t.get("Arn") for t in r["Properties"].get("Targets", [])]
    ]
    if [r.get("ScheduleExpression") for r in rules] != [DEFAULT_SCHEDULE]:
        problems.append(f"plan-digests is not started by one schedule {DEFAULT_SCHEDULE}")
    elif rules[0].get("State", "ENABLED") != "ENABLED":
        problems.append("the digests schedule is disabled")
    invokers = [
        r["Properties"]
        for r in resources.values()
        if r["Type"] == "AWS::Lambda::Permission"
        and r["Properties"].get("FunctionName") == {"Fn::GetAtt": [planner_name, "Arn"]}
    ]
    if [p.get("Principal") for p in invokers] != ["events.amazonaws.com"]:
        problems.append("only EventBridge may invoke plan-digests")

    planner_env = planner_props.get("Environment", {}).get("Variables", {})
    if planner_env.get("SDE_DIGESTS_QUEUE_URL") != {"Ref": "DigestsQueue"}:
        problems.append("plan-digests is not given the digests queue")
    planner_role = checks.render(planner_props["Role"]).removesuffix(".Arn}").removeprefix("${")
    granted = checks.role_grants(resources[planner_role])
    data_grants = {(a, r) for a, r, _ in granted if not a.startswith("logs:")}
    wanted = {
        ("dynamodb:Query", "${SubscriptionsTable.Arn}/index/by-kind"),
        ("sqs:SendMessage", "${DigestsQueue.Arn}"),
    }
    if data_grants != wanted:
        problems.append(f"plan-digests' role grants {sorted(data_grants)}, not just {sorted(wanted)}")

    if "VpcConfig" not in worker_props:
        problems.append("send-digests is not in the VPC, where the posts index is")
    return problems


def test_the_schedule_the_planner_the_queue_and_its_worker_are_deployed_as_designed(template):
    assert digest_problems(template) == []


def test_no_schedule_no_dead_letters_whole_batch_retries_or_a_wider_planner_fail(template):
    broken = copy.deepcopy(template)
    resources = broken["Resources"]
    queue = resources["DigestsQueue"]["Properties"]
    queue["VisibilityTimeout"] = 60
    del queue["RedrivePolicy"]
    for name, resource in list(resources.items()):
        if resource["Type"] == "AWS::Lambda::EventSourceMapping":
            resource["Properties"].pop("FunctionResponseTypes", None)
        if resource["Type"] == "AWS::Events::Rule":
            del resources[name]
    statements = resources["PlanDigestsRole"]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]
    for statement in statements:
        if statement.get("Sid") == "PageDailySubscribers":
            statement["Resource"] = {"Fn::GetAtt": ["SubscriptionsTable", "Arn"]}
    problems = digest_problems(broken)
    assert any("visibility timeout 60 s" in p for p in problems), problems
    assert "the digests queue has no dead-letter queue" in problems
    assert "send-digests does not report partial batch failures" in problems
    assert f"plan-digests is not started by one schedule {DEFAULT_SCHEDULE}" in problems
    assert any(p.startswith("plan-digests' role grants") for p in problems), problems
