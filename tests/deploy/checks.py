"""The deploy checks as plain functions: each takes parsed input (terraform, a CloudFormation
template, a zip, an ASL file) and returns the problems it finds, one sentence each, so a test
can run it on the real files and on a deliberately broken copy alike.
"""

from __future__ import annotations

import io
import json
import re
import subprocess
import zipfile
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
TERRAFORM_DIR = REPO / "terraform"
ASL_VALIDATOR = REPO / ".tools" / "node" / "node_modules" / ".bin" / "asl-validator"

# ---------------------------------------------------------------------------------------------
# Terraform (python-hcl2)

_META_KEYS = {"__is_block__", "__comments__", "__inline_comments__"}


def _unquote(text: str) -> str:
    if len(text) >= 2 and text[0] == '"' and text[-1] == '"':
        return text[1:-1]
    return text


def _clean(value: Any) -> Any:
    """python-hcl2 8 keeps string quotes and adds `__is_block__`/comment keys; drop both."""
    if isinstance(value, dict):
        return {_unquote(k): _clean(v) for k, v in value.items() if k not in _META_KEYS}
    if isinstance(value, list):
        return [_clean(v) for v in value]
    if isinstance(value, str):
        return _unquote(value)
    return value


def load_terraform(directory: Path = TERRAFORM_DIR) -> dict[str, Any]:
    """Every `*.tf` of `directory`, merged: {"resource": {type: {name: body}}, "data": …,
    "variable": {name: body}, "output": {name: body}, "locals": {name: value}}."""
    import hcl2  # installed into .venv by deploy/install-tools.sh

    merged: dict[str, Any] = {"resource": {}, "data": {}, "variable": {}, "output": {}, "locals": {}}
    for path in sorted(directory.glob("*.tf")):
        with path.open() as handle:
            parsed = _clean(hcl2.load(handle))
        for kind in ("resource", "data"):
            for block in parsed.get(kind, []):
                for type_name, named in block.items():
                    merged[kind].setdefault(type_name, {}).update(named)
        for kind in ("variable", "output"):
            for block in parsed.get(kind, []):
                merged[kind].update(block)
        for block in parsed.get("locals", []):
            merged["locals"].update(block)
    return merged


def _first(block: Any) -> dict[str, Any]:
    """A nested block (a list of one dict in hcl2's output), or {} when absent."""
    if isinstance(block, list):
        return block[0] if block and isinstance(block[0], dict) else {}
    return block if isinstance(block, dict) else {}


def _resolve_number(tf: dict[str, Any], value: Any) -> float | None:
    """A literal number, or `${var.x}` resolved to the variable's default."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return value
    if isinstance(value, str):
        match = re.fullmatch(r"\$\{var\.(\w+)\}", value)
        if match:
            default = tf["variable"].get(match.group(1), {}).get("default")
            if isinstance(default, (int, float)):
                return default
    return None


def _resources(tf: dict[str, Any], type_name: str) -> dict[str, dict[str, Any]]:
    return tf["resource"].get(type_name, {})


def _refers_to(value: Any, address: str) -> bool:
    return isinstance(value, str) and address in value


def _for_bucket(tf: dict[str, Any], type_name: str, bucket: str) -> list[dict[str, Any]]:
    return [
        body
        for body in _resources(tf, type_name).values()
        if _refers_to(body.get("bucket"), f"aws_s3_bucket.{bucket}.")
    ]


def opensearch_problems(tf: dict[str, Any]) -> list[str]:
    domains = _resources(tf, "aws_opensearch_domain")
    if not domains:
        return ["no aws_opensearch_domain is declared"]
    problems = []
    for name, domain in domains.items():
        where = f"aws_opensearch_domain.{name}"
        if _first(domain.get("encrypt_at_rest")).get("enabled") is not True:
            problems.append(f"{where}: encryption at rest is not enabled")
        if _first(domain.get("node_to_node_encryption")).get("enabled") is not True:
            problems.append(f"{where}: node-to-node encryption is not enabled")
        endpoint = _first(domain.get("domain_endpoint_options"))
        if endpoint.get("enforce_https") is not True:
            problems.append(f"{where}: HTTPS is not enforced")
        if not str(endpoint.get("tls_security_policy", "")).startswith("Policy-Min-TLS-1-2"):
            problems.append(f"{where}: the TLS policy allows less than TLS 1.2")
        security = _first(domain.get("advanced_security_options"))
        if security.get("enabled") is not True:
            problems.append(f"{where}: fine-grained access control is not enabled")
        if security.get("internal_user_database_enabled") is not True:
            problems.append(f"{where}: the internal user database is not enabled")
        if security.get("anonymous_auth_enabled") is True:
            problems.append(f"{where}: anonymous access is enabled")
        password = _first(security.get("master_user_options")).get("master_user_password", "")
        match = re.fullmatch(r"\$\{(random_password\.\w+)\.result\}", str(password))
        if not match:
            problems.append(f"{where}: the master password is not a random_password")
        else:
            stored = [
                p
                for p in _resources(tf, "aws_ssm_parameter").values()
                if p.get("type") == "SecureString" and _refers_to(p.get("value"), match.group(1))
            ]
            if not stored:
                problems.append(f"{where}: the master password is not kept in an SSM SecureString")
            elif not all(p.get("key_id") for p in stored):
                problems.append(f"{where}: the master password's SecureString names no KMS key")
        policy = str(domain.get("access_policies", ""))
        vpc = _first(domain.get("vpc_options"))
        if not vpc.get("security_group_ids"):
            # A public endpoint must not be open to everyone.
            if re.search(r'Principal\s*=\s*\{\s*AWS\s*=\s*"\*"', policy) or re.search(
                r'Principal\s*=\s*"\*"', policy
            ):
                problems.append(f"{where}: a public domain whose access policy allows any principal")
        if "0.0.0.0/0" in policy or "::/0" in policy:
            problems.append(f"{where}: the access policy is open to every IP address")
    return problems


def network_problems(tf: dict[str, Any]) -> list[str]:
    problems = []
    for type_name in ("aws_vpc_security_group_ingress_rule", "aws_security_group_rule"):
        for name, rule in _resources(tf, type_name).items():
            if rule.get("type", "ingress") != "ingress":
                continue
            cidrs = [rule.get("cidr_ipv4"), rule.get("cidr_ipv6"), *(rule.get("cidr_blocks") or [])]
            if any(c in ("0.0.0.0/0", "::/0") for c in cidrs):
                problems.append(f"{type_name}.{name}: ingress from the whole internet")
    for name, group in _resources(tf, "aws_security_group").items():
        for ingress in group.get("ingress", []) or []:
            if "0.0.0.0/0" in json.dumps(ingress):
                problems.append(f"aws_security_group.{name}: ingress from the whole internet")
    return problems


def _policy_document(tf: dict[str, Any], policy_value: Any) -> dict[str, Any] | None:
    match = re.fullmatch(r"\$\{data\.aws_iam_policy_document\.(\w+)\.json\}", str(policy_value))
    if not match:
        return None
    return tf["data"].get("aws_iam_policy_document", {}).get(match.group(1))


def _denies_insecure_transport(document: dict[str, Any]) -> bool:
    for statement in document.get("statement", []):
        if statement.get("effect") != "Deny":
            continue
        for condition in statement.get("condition", []):
            if (
                condition.get("test") == "Bool"
                and condition.get("variable") == "aws:SecureTransport"
                and condition.get("values") == ["false"]
            ):
                return True
    return False


def _allows_everyone(document: dict[str, Any]) -> bool:
    for statement in document.get("statement", []):
        if statement.get("effect", "Allow") != "Allow":
            continue
        for principal in statement.get("principals", []):
            if "*" in (principal.get("identifiers") or []):
                return True
    return False


def private_bucket_problems(tf: dict[str, Any], bucket: str) -> list[str]:
    where = f"aws_s3_bucket.{bucket}"
    if bucket not in _resources(tf, "aws_s3_bucket"):
        return [f"{where} is not declared"]
    problems = []
    blocks = _for_bucket(tf, "aws_s3_bucket_public_access_block", bucket)
    flags = ("block_public_acls", "block_public_policy", "ignore_public_acls", "restrict_public_buckets")
    if not blocks or not all(blocks[0].get(flag) is True for flag in flags):
        problems.append(f"{where}: public access is not fully blocked")
    encryption = _for_bucket(tf, "aws_s3_bucket_server_side_encryption_configuration", bucket)
    algorithm = (
        _first(_first(encryption[0].get("rule")).get("apply_server_side_encryption_by_default"))
        .get("sse_algorithm")
        if encryption
        else None
    )
    if algorithm not in ("AES256", "aws:kms", "aws:kms:dsse"):
        problems.append(f"{where}: no default server-side encryption")
    policies = _for_bucket(tf, "aws_s3_bucket_policy", bucket)
    document = _policy_document(tf, policies[0].get("policy")) if policies else None
    if document is None:
        problems.append(f"{where}: no bucket policy")
    else:
        if not _denies_insecure_transport(document):
            problems.append(f"{where}: the bucket policy does not deny requests without TLS")
        if _allows_everyone(document):
            problems.append(f"{where}: the bucket policy allows any principal")
    if _for_bucket(tf, "aws_s3_bucket_website_configuration", bucket):
        problems.append(f"{where}: static website hosting is public by nature")
    if _for_bucket(tf, "aws_s3_bucket_acl", bucket):
        problems.append(f"{where}: ACLs are in use")
    return problems


def exports_bucket_problems(tf: dict[str, Any], max_days: int = 1) -> list[str]:
    problems = private_bucket_problems(tf, "exports")
    lifecycle = _for_bucket(tf, "aws_s3_bucket_lifecycle_configuration", "exports")
    rules = [r for c in lifecycle for r in c.get("rule", []) if r.get("status") == "Enabled"]

    def whole_bucket(rule: dict[str, Any]) -> bool:
        filters = rule.get("filter")
        if filters is None:
            return "prefix" not in rule or rule.get("prefix") == ""
        body = _first(filters)
        return not body or body == {"prefix": ""}

    expires = [
        r
        for r in rules
        if whole_bucket(r)
        and (days := _resolve_number(tf, _first(r.get("expiration")).get("days"))) is not None
        and 0 < days <= max_days
    ]
    if not expires:
        problems.append(
            f"aws_s3_bucket.exports: no enabled lifecycle rule expires every object within {max_days} day(s)"
        )
    aborts = [
        r
        for r in rules
        if whole_bucket(r)
        and (
            days := _resolve_number(
                tf, _first(r.get("abort_incomplete_multipart_upload")).get("days_after_initiation")
            )
        )
        is not None
        and 0 < days <= max_days
    ]
    if not aborts:
        problems.append(
            f"aws_s3_bucket.exports: no enabled lifecycle rule aborts incomplete multipart uploads within {max_days} day(s)"
        )
    cors = _for_bucket(tf, "aws_s3_bucket_cors_configuration", "exports")
    cors_rules = [r for c in cors for r in c.get("cors_rule", [])]
    if not any("GET" in (r.get("allowed_methods") or []) for r in cors_rules):
        problems.append("aws_s3_bucket.exports: CORS does not allow GET from the site")
    if any("*" in (r.get("allowed_origins") or []) for r in cors_rules):
        problems.append("aws_s3_bucket.exports: CORS allows every origin")
    return problems


def ssm_parameter_names(tf: dict[str, Any]) -> dict[str, str]:
    """Parameter name under /sde/<stage>/ → its type, as terraform writes them."""
    names: dict[str, str] = {}
    for body in _resources(tf, "aws_ssm_parameter").values():
        name = str(body.get("name", ""))
        kind = str(body.get("type", ""))
        match = re.fullmatch(r"\$\{local\.parameter_prefix\}/(.+)", name)
        if not match:
            continue
        suffix = match.group(1)
        each = re.fullmatch(r"\$\{local\.(\w+)\}", str(body.get("for_each", "")))
        if suffix == "${each.key}" and each:
            for key in tf["locals"].get(each.group(1), {}):
                names[key] = kind
        else:
            names[suffix] = kind
    return names


def ssm_problems(tf: dict[str, Any], wanted: set[str]) -> list[str]:
    """`wanted`: the parameter names serverless.yml reads (and es-password,
    es-writer-password, es-subscriptions-password and link-key, which the functions read)."""
    prefix = str(tf["locals"].get("parameter_prefix", ""))
    problems = []
    if prefix != "/sde/${var.stage}":
        problems.append(f"the SSM prefix is {prefix!r}, not /sde/<stage>")
    names = ssm_parameter_names(tf)
    for name in sorted(wanted - set(names)):
        problems.append(f"SSM parameter /sde/<stage>/{name} is read but terraform does not write it")
    for secret in ("es-password", "es-writer-password", "es-subscriptions-password", "link-key"):
        if names.get(secret) != "SecureString":
            problems.append(f"SSM parameter /sde/<stage>/{secret} is not a SecureString")
    return problems


def documentation_problems(tf: dict[str, Any]) -> list[str]:
    problems = []
    for kind in ("variable", "output"):
        for name, body in tf[kind].items():
            if not str(body.get("description", "")).strip():
                problems.append(f"{kind} {name} has no description")
    return problems


def terraform_problems(tf: dict[str, Any], ssm_read: set[str]) -> list[str]:
    return (
        opensearch_problems(tf)
        + network_problems(tf)
        + exports_bucket_problems(tf)
        + private_bucket_problems(tf, "website")
        + ssm_problems(tf, ssm_read)
        + documentation_problems(tf)
    )


def ssm_names_read_by_serverless(settings_file: Path) -> set[str]:
    text = settings_file.read_text()
    return set(re.findall(r"\$\{ssm:/sde/\$\{sls:stage\}/([\w-]+)\}", text))


# ---------------------------------------------------------------------------------------------
# IAM in the packaged CloudFormation template


def render(value: Any) -> Any:
    """A CloudFormation value as a reviewable string: `{"Ref": "X"}` is `${X}`, Fn::Sub keeps its
    text (with its variables substituted), Fn::GetAtt is `${Name.Attr}`, Fn::Join joins."""
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        return [render(v) for v in value]
    if isinstance(value, dict) and len(value) == 1:
        (key, arg), = value.items()
        if key == "Ref":
            return "${%s}" % arg
        if key == "Fn::GetAtt":
            return "${%s}" % ".".join(arg if isinstance(arg, list) else [arg])
        if key == "Fn::Sub":
            if isinstance(arg, list):
                text, variables = arg
                for name, sub in variables.items():
                    text = text.replace("${%s}" % name, render(sub))
                return text
            return arg
        if key == "Fn::Join":
            separator, parts = arg
            return separator.join(str(render(p)) for p in parts)
    if isinstance(value, dict):
        return {k: render(v) for k, v in value.items()}
    return value


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def grants(statement: dict[str, Any]) -> set[tuple[str, str, str]]:
    """(action, resource, condition) triples of one Allow statement."""
    condition = json.dumps(render(statement.get("Condition", {})), sort_keys=True)
    return {
        (action, str(render(resource)), condition)
        for action in _as_list(statement.get("Action", []))
        for resource in _as_list(statement.get("Resource", []))
    }


def role_grants(role: dict[str, Any]) -> set[tuple[str, str, str]]:
    result: set[tuple[str, str, str]] = set()
    for policy in role.get("Properties", {}).get("Policies", []):
        for statement in _as_list(policy.get("PolicyDocument", {}).get("Statement", [])):
            if statement.get("Effect") == "Allow":
                result |= grants(statement)
    return result


def roles_of(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        name: resource
        for name, resource in template["Resources"].items()
        if resource.get("Type") == "AWS::IAM::Role"
    }


def template_allowlist(template: dict[str, Any]) -> dict[str, Any]:
    """The allow-list form of the template's roles, statement by statement (to draft an entry,
    which a person then reviews and annotates with `why`)."""
    functions = {
        render(r["Properties"]["Role"]): r["Properties"].get("FunctionName")
        for r in template["Resources"].values()
        if r.get("Type") == "AWS::Lambda::Function"
    }
    roles = {}
    for name, role in sorted(roles_of(template).items()):
        statements = []
        for policy in role.get("Properties", {}).get("Policies", []):
            for statement in _as_list(policy.get("PolicyDocument", {}).get("Statement", [])):
                if statement.get("Effect") != "Allow":
                    continue
                entry: dict[str, Any] = {
                    "sid": statement.get("Sid", ""),
                    "actions": sorted(_as_list(statement.get("Action", []))),
                    "resources": sorted(render(r) for r in _as_list(statement.get("Resource", []))),
                }
                if statement.get("Condition"):
                    entry["condition"] = render(statement["Condition"])
                statements.append(entry)
        roles[name] = {
            "usedBy": functions.get("${%s.Arn}" % name, "the state machine"),
            "managedPolicies": sorted(render(role["Properties"].get("ManagedPolicyArns", []))),
            "statements": statements,
        }
    return roles


def allowlist_grants(entry: dict[str, Any]) -> set[tuple[str, str, str]]:
    result = set()
    for statement in entry.get("statements", []):
        condition = json.dumps(statement.get("condition", {}), sort_keys=True)
        for action in statement["actions"]:
            for resource in statement["resources"]:
                result.add((action, resource, condition))
    return result


def iam_problems(template: dict[str, Any], allowlist: dict[str, Any]) -> list[str]:
    """Every role of `template` must grant exactly what its reviewed allow-list entry says."""
    problems = []
    reviewed = allowlist["roles"]
    roles = roles_of(template)
    for name in sorted(set(roles) - set(reviewed)):
        problems.append(f"role {name} is not in the reviewed allow-list")
    for name in sorted(set(reviewed) - set(roles)):
        problems.append(f"allow-list role {name} is no longer in the template")
    for name in sorted(set(roles) & set(reviewed)):
        role = roles[name]
        entry = reviewed[name]
        actual = role_grants(role)
        expected = allowlist_grants(entry)
        for action, resource, condition in sorted(actual - expected):
            extra = "" if condition == "{}" else f" when {condition}"
            problems.append(f"{name} grants {action} on {resource}{extra}, which the allow-list does not")
        for action, resource, condition in sorted(expected - actual):
            problems.append(
                f"{name} no longer grants {action} on {resource}: narrow the allow-list to match"
            )
        managed = sorted(render(role["Properties"].get("ManagedPolicyArns", [])))
        if managed != sorted(entry.get("managedPolicies", [])):
            problems.append(f"{name} attaches managed policies {managed}, the allow-list {entry.get('managedPolicies', [])}")
        for action, resource, _ in actual:
            if action == "*" or action.endswith(":*"):
                problems.append(f"{name} grants the wildcard action {action}")
        trusted = {
            render(s.get("Principal", {}).get("Service"))
            for s in _as_list(role["Properties"].get("AssumeRolePolicyDocument", {}).get("Statement", []))
        }
        if not trusted <= {"lambda.amazonaws.com", "states.${AWS::Region}.amazonaws.com", "states.amazonaws.com"}:
            problems.append(f"{name} may be assumed by {sorted(map(str, trusted))}")
    functions = [
        r["Properties"] for r in template["Resources"].values() if r.get("Type") == "AWS::Lambda::Function"
    ]
    role_names = [render(f.get("Role")) for f in functions]
    for role_name in sorted({r for r in role_names if role_names.count(r) > 1}):
        problems.append(f"{role_name} is shared by several functions")
    return problems


# ---------------------------------------------------------------------------------------------
# The per-user export limit and the REST API's throttling

# The statuses an execution ends in: each must give its export's slot back.
EXECUTION_ENDS = {"SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED"}


def _of_type(template: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {name: r for name, r in template["Resources"].items() if r.get("Type") == kind}


def _function(template: dict[str, Any], name_suffix: str) -> tuple[str, dict[str, Any]] | None:
    for name, resource in _of_type(template, "AWS::Lambda::Function").items():
        if str(render(resource["Properties"].get("FunctionName", ""))).endswith(name_suffix):
            return name, resource["Properties"]
    return None


def export_slots_problems(template: dict[str, Any]) -> list[str]:
    """The slots table is keyed (owner, slot), lets TTL delete lapsed slots, and is the table
    both functions that take and give back slots are given."""
    tables = _of_type(template, "AWS::DynamoDB::Table")
    if "ExportSlotsTable" not in tables:
        return ["no ExportSlotsTable"]
    table = tables["ExportSlotsTable"]["Properties"]
    problems = []
    keys = {k["AttributeName"]: k["KeyType"] for k in table.get("KeySchema", [])}
    if keys != {"owner": "HASH", "slot": "RANGE"}:
        problems.append(f"the slots table is keyed {keys}, not owner (HASH) and slot (RANGE)")
    types = {a["AttributeName"]: a["AttributeType"] for a in table.get("AttributeDefinitions", [])}
    if types.get("owner") != "S" or types.get("slot") != "N":
        problems.append(f"the slots table's key types are {types}, not owner S and slot N")
    ttl = table.get("TimeToLiveSpecification", {})
    if ttl.get("AttributeName") != "expiresAt" or ttl.get("Enabled") is not True:
        problems.append("the slots table does not expire items by their expiresAt (TTL)")
    if table.get("BillingMode") != "PAY_PER_REQUEST":
        problems.append("the slots table is provisioned: a burst of requests would be throttled")
    for suffix in ("-download-request", "-release-export-slot"):
        found = _function(template, suffix)
        if found is None:
            problems.append(f"no function *{suffix}")
            continue
        variables = found[1].get("Environment", {}).get("Variables", {})
        if render(variables.get("SDE_EXPORT_SLOTS_TABLE")) != "${ExportSlotsTable}":
            problems.append(f"*{suffix} is not given the slots table in SDE_EXPORT_SLOTS_TABLE")
    return problems


def slot_release_problems(template: dict[str, Any], state_machine: str) -> list[str]:
    """An EventBridge rule sends every end of the export machine's executions - and nothing
    else - to release-export-slot, which lets EventBridge invoke it."""
    found = _function(template, "-release-export-slot")
    if found is None:
        return ["no function *-release-export-slot"]
    function = "${%s.Arn}" % found[0]
    rules = [
        r["Properties"]
        for r in _of_type(template, "AWS::Events::Rule").values()
        if any(render(t.get("Arn")) == function for t in r["Properties"].get("Targets", []))
    ]
    if len(rules) != 1:
        return [f"{len(rules)} EventBridge rules invoke release-export-slot, not one"]
    pattern = rules[0].get("EventPattern", {})
    problems = []
    if pattern.get("source") != ["aws.states"] or pattern.get("detail-type") != [
        "Step Functions Execution Status Change"
    ]:
        problems.append("the rule does not match Step Functions' Execution Status Change events")
    detail = pattern.get("detail", {})
    statuses = set(detail.get("status", []))
    if statuses != EXECUTION_ENDS:
        problems.append(
            f"the rule matches the statuses {sorted(statuses)}, not every end {sorted(EXECUTION_ENDS)}"
        )
    machines = [str(render(m)) for m in detail.get("stateMachineArn", [])]
    if len(machines) != 1 or not machines[0].endswith(f":stateMachine:{state_machine}"):
        problems.append(f"the rule matches the state machines {machines}, not only {state_machine}")
    permitted = [
        p["Properties"]
        for p in _of_type(template, "AWS::Lambda::Permission").values()
        if render(p["Properties"].get("FunctionName")) == function
        and p["Properties"].get("Principal") == "events.amazonaws.com"
    ]
    if not permitted:
        problems.append("EventBridge may not invoke release-export-slot")
    return problems


def throttling_problems(template: dict[str, Any], path: str = "/download-request") -> list[str]:
    """The REST stage is throttled, `POST <path>` more tightly, and that route's burst fits in
    its function's reserved concurrency, so a flood meets API Gateway's 429 before the function
    is throttled (which API Gateway would answer with a 5xx)."""
    deployments = list(_of_type(template, "AWS::ApiGateway::Deployment").values())
    if len(deployments) != 1:
        return [f"{len(deployments)} REST API deployments, not one"]
    stage = deployments[0]["Properties"].get("StageDescription", {})
    rate, burst = stage.get("ThrottlingRateLimit"), stage.get("ThrottlingBurstLimit")
    if not (isinstance(rate, (int, float)) and rate > 0 and isinstance(burst, int) and burst > 0):
        return ["the REST API stage sets no throttling rate and burst"]
    problems = []
    # MethodSettings name a method's path with its slashes as ~1, after a leading slash.
    resource_path = "/" + path.replace("/", "~1")
    methods = [
        m for m in stage.get("MethodSettings", [])
        if m.get("HttpMethod") == "POST" and m.get("ResourcePath") == resource_path
    ]
    if len(methods) != 1:
        return problems + [f"POST {path} has no throttling of its own"]
    method_rate = methods[0].get("ThrottlingRateLimit")
    method_burst = methods[0].get("ThrottlingBurstLimit")
    if not (isinstance(method_rate, (int, float)) and 0 < method_rate <= rate):
        problems.append(f"POST {path} may run at {method_rate}/s, not within the stage's {rate}/s")
    if not (isinstance(method_burst, int) and 0 < method_burst <= burst):
        problems.append(f"POST {path} bursts to {method_burst}, not within the stage's {burst}")
    found = _function(template, path.replace("/", "-"))
    reserved = found[1].get("ReservedConcurrentExecutions") if found else None
    if not (isinstance(reserved, int) and reserved > 0):
        problems.append(f"the function behind POST {path} has no reserved concurrency")
    elif isinstance(method_burst, int) and method_burst > reserved:
        problems.append(
            f"POST {path} bursts to {method_burst}, beyond its function's reserved concurrency {reserved}"
        )
    return problems


# ---------------------------------------------------------------------------------------------
# Lambda zips

ELF_MACHINES = {"x86_64": 62, "arm64": 183}  # EM_X86_64, EM_AARCH64
AL2023_GLIBC = (2, 34)


def elf_machine(binary: bytes) -> int:
    if binary[:4] != b"\x7fELF":
        raise ValueError("not an ELF file")
    if binary[4] != 2:
        raise ValueError("not a 64-bit ELF file")
    byteorder = "little" if binary[5] == 1 else "big"
    return int.from_bytes(binary[18:20], byteorder)


def newest_glibc(binary: bytes) -> tuple[int, int] | None:
    versions = {
        (int(major), int(minor))
        for major, minor in re.findall(rb"GLIBC_(\d+)\.(\d+)(?:\.\d+)?\x00", binary)
    }
    return max(versions) if versions else None


def zip_problems(zip_bytes: bytes, architecture: str) -> list[str]:
    problems = []
    try:
        with zipfile.ZipFile(io.BytesIO(zip_bytes)) as archive:
            names = archive.namelist()
            if names != ["bootstrap"]:
                return [f"the zip holds {names}, not just bootstrap"]
            info = archive.getinfo("bootstrap")
            binary = archive.read(info)
    except zipfile.BadZipFile:
        return ["not a zip file"]
    mode = info.external_attr >> 16
    if mode and not mode & 0o111:
        problems.append("bootstrap is not executable")
    try:
        machine = elf_machine(binary)
    except ValueError as error:
        return problems + [f"bootstrap: {error}"]
    expected = ELF_MACHINES[architecture]
    if machine != expected:
        names_by_machine = {v: k for k, v in ELF_MACHINES.items()}
        problems.append(
            f"bootstrap is built for {names_by_machine.get(machine, f'e_machine {machine}')}, "
            f"the function is configured for {architecture}"
        )
    glibc = newest_glibc(binary)
    if glibc and glibc > AL2023_GLIBC:
        problems.append(f"bootstrap needs glibc {glibc[0]}.{glibc[1]}; provided.al2023 has 2.34")
    return problems


# ---------------------------------------------------------------------------------------------
# The state machine


def resolve_getatt(definition: Any, stage: str = "ci") -> Any:
    """The ASL with `{"Fn::GetAtt": [name, "Arn"]}` replaced by a Lambda ARN, as the
    serverless-step-functions plugin does at deploy time (and tests/asl/validate.sh)."""
    if isinstance(definition, list):
        return [resolve_getatt(v, stage) for v in definition]
    if isinstance(definition, dict):
        if list(definition) == ["Fn::GetAtt"]:
            name, attribute = definition["Fn::GetAtt"]
            if attribute != "Arn":
                raise ValueError(f"unsupported Fn::GetAtt attribute {attribute}")
            return f"arn:aws:lambda:eu-west-1:123456789012:function:sde-{stage}-{name}"
        return {k: resolve_getatt(v, stage) for k, v in definition.items()}
    return definition


def function_refs(definition: Any) -> set[str]:
    if isinstance(definition, list):
        return set().union(*(function_refs(v) for v in definition)) if definition else set()
    if isinstance(definition, dict):
        if list(definition) == ["Fn::GetAtt"]:
            return {definition["Fn::GetAtt"][0]}
        return set().union(*(function_refs(v) for v in definition.values())) if definition else set()
    return set()


def asl_validator(definition: dict[str, Any], workdir: Path) -> subprocess.CompletedProcess[str]:
    """Runs asl-validator on `definition` (after resolving Fn::GetAtt)."""
    path = workdir / "definition.asl.json"
    path.write_text(json.dumps(resolve_getatt(definition), indent=2))
    return subprocess.run(
        [str(ASL_VALIDATOR), "--json-path", str(path)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def work_queue_problems(
    template: dict[str, Any],
    queue_name: str,
    worker: tuple[str, dict[str, Any]],
    what: str,
    label: str,
    above_seconds: int = 0,
) -> list[str]:
    """What every SQS work queue and its worker must be: the queue encrypted and redriven to
    `<queue_name without "Queue">DeadLetterQueue` after 1-10 receives, its visibility timeout at
    least six times the worker's timeout (and above `above_seconds`), and the worker its one
    consumer, reporting partial batch failures. `what` names the queue in messages, `label` the
    worker."""
    problems: list[str] = []
    queue = template["Resources"][queue_name]["Properties"]
    worker_name, worker_props = worker
    timeout = worker_props.get("Timeout", 6)
    visibility = queue.get("VisibilityTimeout", 30)
    if visibility < 6 * timeout or visibility <= above_seconds:
        beyond = f" or {above_seconds} s" if above_seconds else ""
        problems.append(
            f"the {what}'s visibility timeout {visibility} s is under six times {label}'s "
            f"timeout ({timeout} s){beyond}"
        )
    if not queue.get("SqsManagedSseEnabled") and "KmsMasterKeyId" not in queue:
        problems.append(f"the {what} is not encrypted")
    dead_letters = queue_name.removesuffix("Queue") + "DeadLetterQueue"
    redrive = queue.get("RedrivePolicy") or {}
    if redrive.get("deadLetterTargetArn") != {"Fn::GetAtt": [dead_letters, "Arn"]}:
        problems.append(f"the {what} has no dead-letter queue")
    if not 1 <= int(redrive.get("maxReceiveCount", 0)) <= 10:
        problems.append(f"maxReceiveCount {redrive.get('maxReceiveCount')} is not between 1 and 10")
    mappings = [
        properties
        for properties in (r["Properties"] for r in _of_type(template, "AWS::Lambda::EventSourceMapping").values())
        if properties.get("EventSourceArn") == {"Fn::GetAtt": [queue_name, "Arn"]}
    ]
    if [m.get("FunctionName") for m in mappings] != [{"Fn::GetAtt": [worker_name, "Arn"]}]:
        problems.append(f"{label} is not the one consumer of the {what}")
    elif "ReportBatchItemFailures" not in mappings[0].get("FunctionResponseTypes", []):
        problems.append(f"{label} does not report partial batch failures")
    return problems
