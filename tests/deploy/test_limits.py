"""The limits as packaged: each user's export slots (a DynamoDB table, taken by download-request,
given back by release-export-slot on every end of an execution, which an EventBridge rule
reports), and the REST API's throttling with the reserved concurrency of download-request. Each
check is also shown failing on a broken copy."""

from __future__ import annotations

import copy

import checks

STATE_MACHINE = "sde-ci-download-request"


def _resource(template: dict, kind: str) -> dict:
    found = [r for r in template["Resources"].values() if r["Type"] == kind]
    assert len(found) == 1, kind
    return found[0]


def _function(template: dict, suffix: str) -> dict:
    found = checks._function(template, suffix)
    assert found is not None, suffix
    return found[1]


def test_the_slots_table_keeps_lapsed_slots_free_and_serves_both_functions(template):
    assert checks.export_slots_problems(template) == []


def test_a_slots_table_without_ttl_or_given_to_no_one_fails(template):
    broken = copy.deepcopy(template)
    table = broken["Resources"]["ExportSlotsTable"]["Properties"]
    table["TimeToLiveSpecification"]["Enabled"] = False
    table["KeySchema"] = [{"AttributeName": "owner", "KeyType": "HASH"}]
    del _function(broken, "-release-export-slot")["Environment"]["Variables"]["SDE_EXPORT_SLOTS_TABLE"]
    problems = checks.export_slots_problems(broken)
    assert "the slots table does not expire items by their expiresAt (TTL)" in problems
    assert any(p.startswith("the slots table is keyed {'owner': 'HASH'}") for p in problems), problems
    assert (
        "*-release-export-slot is not given the slots table in SDE_EXPORT_SLOTS_TABLE" in problems
    )


def test_every_end_of_an_export_gives_its_slot_back(template):
    assert checks.slot_release_problems(template, STATE_MACHINE) == []


def test_a_rule_that_misses_an_end_or_hears_other_machines_fails(template):
    broken = copy.deepcopy(template)
    # The rule with an event pattern (the digests' schedule is a rule too, of another kind).
    pattern = next(
        r["Properties"]["EventPattern"]
        for r in broken["Resources"].values()
        if r["Type"] == "AWS::Events::Rule" and "EventPattern" in r["Properties"]
    )
    pattern["detail"]["status"].remove("ABORTED")
    del pattern["detail"]["stateMachineArn"]
    problems = checks.slot_release_problems(broken, STATE_MACHINE)
    assert any(p.startswith("the rule matches the statuses") for p in problems), problems
    assert "the rule matches the state machines [], not only sde-ci-download-request" in problems

    unpermitted = copy.deepcopy(template)
    for name in [
        n for n, r in unpermitted["Resources"].items()
        if r["Type"] == "AWS::Lambda::Permission" and r["Properties"]["Principal"] == "events.amazonaws.com"
    ]:
        del unpermitted["Resources"][name]
    assert checks.slot_release_problems(unpermitted, STATE_MACHINE) == [
        "EventBridge may not invoke release-export-slot"
    ]


def test_the_stage_is_throttled_and_starting_an_export_within_its_reserved_concurrency(template):
    assert checks.throttling_problems(template) == []
    stage = _resource(template, "AWS::ApiGateway::Deployment")["Properties"]["StageDescription"]
    assert (stage["ThrottlingRateLimit"], stage["ThrottlingBurstLimit"]) == (50, 100)
    assert _function(template, "-download-request")["ReservedConcurrentExecutions"] == 10


def test_an_unthrottled_route_or_a_burst_beyond_the_reserved_concurrency_fails(template):
    unthrottled = copy.deepcopy(template)
    del _resource(unthrottled, "AWS::ApiGateway::Deployment")["Properties"]["StageDescription"]
    assert checks.throttling_problems(unthrottled) == [
        "the REST API stage sets no throttling rate and burst"
    ]

    loose = copy.deepcopy(template)
    stage = _resource(loose, "AWS::ApiGateway::Deployment")["Properties"]["StageDescription"]
    stage["MethodSettings"][0]["ThrottlingBurstLimit"] = 40
    assert checks.throttling_problems(loose) == [
        "POST /download-request bursts to 40, beyond its function's reserved concurrency 10"
    ]

    unreserved = copy.deepcopy(template)
    del _function(unreserved, "-download-request")["ReservedConcurrentExecutions"]
    assert checks.throttling_problems(unreserved) == [
        "the function behind POST /download-request has no reserved concurrency"
    ]
