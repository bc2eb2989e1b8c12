"""Each function's role in the packaged template grants exactly what the reviewed
iam_allowlist.json says: a widened permission fails the test command."""

from __future__ import annotations

import copy

import checks


def test_every_role_grants_exactly_its_reviewed_permissions(template, allowlist):
    assert checks.iam_problems(template, allowlist) == []


def test_each_function_has_a_role_of_its_own(template):
    functions = {
        name: r["Properties"]
        for name, r in template["Resources"].items()
        if r["Type"] == "AWS::Lambda::Function"
    }
    roles = [checks.render(f["Role"]) for f in functions.values()]
    assert len(set(roles)) == len(functions) == 21


def test_adding_s3_star_to_a_role_fails(template, allowlist):
    broken = copy.deepcopy(template)
    statements = broken["Resources"]["GenerateCsvRole"]["Properties"]["Policies"][0]["PolicyDocument"][
        "Statement"
    ]
    statements.append({"Effect": "Allow", "Action": "s3:*", "Resource": "*"})
    problems = checks.iam_problems(broken, allowlist)
    assert "GenerateCsvRole grants s3:* on *, which the allow-list does not" in problems
    assert "GenerateCsvRole grants the wildcard action s3:*" in problems


def test_widening_a_resource_fails(template, allowlist):
    broken = copy.deepcopy(template)
    role = broken["Resources"]["ReportStatusRole"]["Properties"]["Policies"][0]["PolicyDocument"]
    for statement in role["Statement"]:
        if statement.get("Sid") == "ReadProgress":
            statement["Resource"] = {"Fn::Sub": "arn:${AWS::Partition}:s3:::sde-ci-exports-00000000/*"}
    problems = checks.iam_problems(broken, allowlist)
    assert any(p.startswith("ReportStatusRole grants s3:GetObject on arn:${AWS::Partition}:s3:::sde-ci-exports-00000000/*,") for p in problems), problems


def test_dropping_a_condition_fails(template, allowlist):
    broken = copy.deepcopy(template)
    role = broken["Resources"]["SearchRole"]["Properties"]["Policies"][0]["PolicyDocument"]
    for statement in role["Statement"]:
        statement.pop("Condition", None)
    problems = checks.iam_problems(broken, allowlist)
    assert any(p.startswith("SearchRole grants kms:Decrypt on") for p in problems), problems


def test_an_unreviewed_role_or_a_managed_policy_fails(template, allowlist):
    broken = copy.deepcopy(template)
    broken["Resources"]["ExtraRole"] = copy.deepcopy(broken["Resources"]["WsAuthorizerRole"])
    broken["Resources"]["WsAuthorizerRole"]["Properties"]["ManagedPolicyArns"] = [
        "arn:aws:iam::aws:policy/AdministratorAccess"
    ]
    problems = checks.iam_problems(broken, allowlist)
    assert "role ExtraRole is not in the reviewed allow-list" in problems
    assert any(p.startswith("WsAuthorizerRole attaches managed policies") for p in problems), problems
