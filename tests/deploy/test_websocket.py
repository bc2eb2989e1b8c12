"""The push WebSocket API as packaged: a connection needs its ID token unless the deployment opts
in to anonymous push, and every message reaches push-open-connection, which answers on the socket
(an unknown action included, through $default)."""

from __future__ import annotations


def _resources(template: dict, kind: str) -> list[dict]:
    return [r for r in template["Resources"].values() if r["Type"] == kind]


def _function_environment(template: dict, name_suffix: str) -> dict:
    for resource in _resources(template, "AWS::Lambda::Function"):
        name = resource["Properties"].get("FunctionName", "")
        if name.endswith(name_suffix):
            return resource["Properties"]["Environment"]["Variables"]
    raise AssertionError(f"no function named *{name_suffix}")


def test_a_connection_needs_its_token_by_default(template):
    authorizers = _resources(template, "AWS::ApiGatewayV2::Authorizer")
    assert [a["Properties"]["IdentitySource"] for a in authorizers] == [
        ["route.request.querystring.token"]
    ]
    for function in ("-ws-authorizer", "-push-open-connection"):
        assert _function_environment(template, function)["SDE_PUSH_ALLOW_ANONYMOUS"] == "false"


def test_every_route_of_the_push_api_is_served(template):
    keys = {r["Properties"]["RouteKey"] for r in _resources(template, "AWS::ApiGatewayV2::Route")}
    assert keys == {"$connect", "$disconnect", "OpenConnection", "$default"}
    connect = [
        r for r in _resources(template, "AWS::ApiGatewayV2::Route")
        if r["Properties"]["RouteKey"] == "$connect"
    ]
    assert connect[0]["Properties"]["AuthorizationType"] == "CUSTOM"
