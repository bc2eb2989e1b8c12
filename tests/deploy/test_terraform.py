"""terraform/ keeps the security properties of the deploy issue: an encrypted, HTTPS-only
OpenSearch domain with fine-grained access control and no open access, a private encrypted
TLS-only exports bucket whose objects and unfinished uploads vanish after a day, a private
website bucket, and the SSM parameters serverless.yml reads."""

from __future__ import annotations

import copy

import checks


def test_terraform_has_every_security_property(terraform, ssm_read):
    assert checks.terraform_problems(terraform, ssm_read) == []


def test_removing_the_lifecycle_rule_is_reported(terraform):
    broken = copy.deepcopy(terraform)
    del broken["resource"]["aws_s3_bucket_lifecycle_configuration"]
    problems = checks.exports_bucket_problems(broken)
    assert any("expires every object" in p for p in problems), problems
    assert any("aborts incomplete multipart uploads" in p for p in problems), problems


def test_a_lifecycle_that_keeps_unfinished_uploads_is_reported(terraform):
    broken = copy.deepcopy(terraform)
    for config in broken["resource"]["aws_s3_bucket_lifecycle_configuration"].values():
        for rule in config["rule"]:
            rule.pop("abort_incomplete_multipart_upload", None)
    assert checks.exports_bucket_problems(broken) == [
        "aws_s3_bucket.exports: no enabled lifecycle rule aborts incomplete multipart uploads within 1 day(s)"
    ]


def test_a_week_long_expiry_is_reported(terraform):
    broken = copy.deepcopy(terraform)
    broken["variable"]["export_expiration_days"]["default"] = 7
    problems = checks.exports_bucket_problems(broken)
    assert any("expires every object within 1 day" in p for p in problems), problems


def test_a_bucket_policy_that_allows_plain_http_is_reported(terraform):
    broken = copy.deepcopy(terraform)
    document = broken["data"]["aws_iam_policy_document"]["exports"]
    document["statement"] = [s for s in document["statement"] if s.get("effect") != "Deny"]
    assert checks.private_bucket_problems(broken, "exports") == [
        "aws_s3_bucket.exports: the bucket policy does not deny requests without TLS"
    ]


def test_a_partly_public_bucket_is_reported(terraform):
    broken = copy.deepcopy(terraform)
    broken["resource"]["aws_s3_bucket_public_access_block"]["website"]["restrict_public_buckets"] = False
    assert checks.private_bucket_problems(broken, "website") == [
        "aws_s3_bucket.website: public access is not fully blocked"
    ]


def test_a_domain_without_https_or_encryption_is_reported(terraform):
    broken = copy.deepcopy(terraform)
    domain = broken["resource"]["aws_opensearch_domain"]["posts"]
    domain["domain_endpoint_options"][0]["enforce_https"] = False
    domain["node_to_node_encryption"][0]["enabled"] = False
    assert checks.opensearch_problems(broken) == [
        "aws_opensearch_domain.posts: node-to-node encryption is not enabled",
        "aws_opensearch_domain.posts: HTTPS is not enforced",
    ]


def test_a_public_domain_open_to_everyone_is_reported(terraform):
    broken = copy.deepcopy(terraform)
    del broken["resource"]["aws_opensearch_domain"]["posts"]["vpc_options"]
    assert checks.opensearch_problems(broken) == [
        "aws_opensearch_domain.posts: a public domain whose access policy allows any principal"
    ]


def test_a_literal_master_password_is_reported(terraform):
    broken = copy.deepcopy(terraform)
    security = broken["resource"]["aws_opensearch_domain"]["posts"]["advanced_security_options"][0]
    security["master_user_options"][0]["master_user_password"] = "Hunter2!Hunter2!"
    assert checks.opensearch_problems(broken) == [
        "aws_opensearch_domain.posts: the master password is not a random_password"
    ]


def test_an_ingress_rule_from_the_internet_is_reported(terraform):
    broken = copy.deepcopy(terraform)
    broken["resource"]["aws_vpc_security_group_ingress_rule"]["debug"] = {
        "security_group_id": "${aws_security_group.opensearch.id}",
        "cidr_ipv4": "0.0.0.0/0",
    }
    assert checks.network_problems(broken) == [
        "aws_vpc_security_group_ingress_rule.debug: ingress from the whole internet"
    ]


def test_a_setting_serverless_reads_but_terraform_does_not_write_is_reported(terraform, ssm_read):
    broken = copy.deepcopy(terraform)
    del broken["locals"]["settings"]["es-url"]
    assert checks.ssm_problems(broken, ssm_read) == [
        "SSM parameter /sde/<stage>/es-url is read but terraform does not write it"
    ]


def test_a_link_key_stored_in_plain_text_is_reported(terraform, ssm_read):
    broken = copy.deepcopy(terraform)
    checks._resources(broken, "aws_ssm_parameter")["link_key"]["type"] = "String"
    assert checks.ssm_problems(broken, ssm_read) == [
        "SSM parameter /sde/<stage>/link-key is not a SecureString"
    ]


def test_a_subscriptions_password_stored_in_plain_text_or_not_at_all_is_reported(terraform, ssm_read):
    plain = copy.deepcopy(terraform)
    checks._resources(plain, "aws_ssm_parameter")["es_subscriptions_password"]["type"] = "String"
    assert checks.ssm_problems(plain, ssm_read) == [
        "SSM parameter /sde/<stage>/es-subscriptions-password is not a SecureString"
    ]
    missing = copy.deepcopy(terraform)
    del checks._resources(missing, "aws_ssm_parameter")["es_subscriptions_password"]
    assert checks.ssm_problems(missing, ssm_read) == [
        "SSM parameter /sde/<stage>/es-subscriptions-password is read but terraform does not write it",
        "SSM parameter /sde/<stage>/es-subscriptions-password is not a SecureString",
    ]


def test_an_undocumented_variable_is_reported(terraform):
    broken = copy.deepcopy(terraform)
    broken["variable"]["stage"]["description"] = ""
    assert checks.documentation_problems(broken) == ["variable stage has no description"]
