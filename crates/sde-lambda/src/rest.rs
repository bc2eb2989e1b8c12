//! API Gateway REST proxy events in, through the REST API of `sde-edge`, proxy responses out.
//! The caller is named by the claims API Gateway's Cognito authorizer verified, which this host
//! hands on to the edge as [`GatewayClaims`].

use aws_lambda_events::apigw::{ApiGatewayProxyRequest, ApiGatewayProxyResponse};
use aws_lambda_events::encodings::Body;
use axum::Router;
use axum::http::{HeaderMap, Request, header};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use lambda_runtime::{LambdaEvent, service_fn};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use sde_edge::rest::CorsOrigin;
use sde_edge::{EdgeError, GatewayAuthenticator, GatewayClaims};
use sde_handlers::ApiError;
use serde_json::Value;
use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::Arc;
use tower::ServiceExt as _;

/// Characters kept as they are in a path segment (RFC 3986 unreserved).
const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// Finishes `routes` into the API a function serves: callers named by the Cognito authorizer's
/// claims, CORS for `origin`.
pub fn api(routes: Router, origin: &CorsOrigin) -> Router {
    sde_edge::rest::api(routes, Arc::new(GatewayAuthenticator), origin)
}

/// Serves `api` to API Gateway until the sandbox is recycled.
pub async fn run(api: Router) -> Result<(), lambda_runtime::Error> {
    lambda_runtime::run(service_fn(
        move |event: LambdaEvent<ApiGatewayProxyRequest>| {
            let api = api.clone();
            async move { Ok::<_, Infallible>(serve(api, event.payload).await) }
        },
    ))
    .await
}

/// Answers one REST proxy event with `api`.
pub async fn serve(api: Router, event: ApiGatewayProxyRequest) -> ApiGatewayProxyResponse {
    let response = match request(event) {
        Ok(request) => match api.oneshot(request).await {
            Ok(response) => response,
            Err(never) => match never {},
        },
        Err(refusal) => EdgeError(refusal).into_response(),
    };
    proxy_response(response).await
}

/// The HTTP request an event describes. The path is the API resource with its path parameters
/// filled in, so neither the stage nor a custom domain's base path reaches the routes.
fn request(event: ApiGatewayProxyRequest) -> Result<Request<axum::body::Body>, ApiError> {
    let path = match event.resource.as_deref() {
        Some(resource) if resource.starts_with('/') => fill(resource, &event.path_parameters),
        _ => event.path.clone().unwrap_or_else(|| "/".to_owned()),
    };
    let query = event.multi_value_query_string_parameters.to_query_string();
    let uri = if query.is_empty() {
        path
    } else {
        format!("{path}?{query}")
    };
    let body = match event.body {
        Some(body) if event.is_base64_encoded => base64::engine::general_purpose::STANDARD
            .decode(body)
            .map_err(|e| ApiError::bad_request(format!("invalid base64 body: {e}")))?,
        Some(body) => body.into_bytes(),
        None => Vec::new(),
    };
    let headers = if event.multi_value_headers.is_empty() {
        event.headers
    } else {
        event.multi_value_headers
    };
    let mut request = Request::builder()
        .method(event.http_method)
        .uri(&uri)
        .body(axum::body::Body::from(body))
        .map_err(|e| ApiError::bad_request(format!("invalid request {uri:?}: {e}")))?;
    *request.headers_mut() = headers;
    if let Some(Value::Object(claims)) = event.request_context.authorizer.fields.get("claims") {
        request
            .extensions_mut()
            .insert(GatewayClaims(claims.clone()));
    }
    Ok(request)
}

/// `/exports/{id}` with `id = "a b"` is `/exports/a%20b`; a greedy `{proxy+}` keeps its slashes.
fn fill(resource: &str, parameters: &HashMap<String, String>) -> String {
    resource
        .split('/')
        .map(|segment| {
            let Some(name) = segment.strip_prefix('{').and_then(|s| s.strip_suffix('}')) else {
                return segment.to_owned();
            };
            let (name, greedy) = match name.strip_suffix('+') {
                Some(name) => (name, true),
                None => (name, false),
            };
            let value = parameters.get(name).map(String::as_str).unwrap_or("");
            if greedy {
                value
                    .split('/')
                    .map(|part| utf8_percent_encode(part, SEGMENT).to_string())
                    .collect::<Vec<_>>()
                    .join("/")
            } else {
                utf8_percent_encode(value, SEGMENT).to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("/")
}

/// The proxy response of `response`: text bodies as they are, anything else base64.
async fn proxy_response(response: Response) -> ApiGatewayProxyResponse {
    let (parts, body) = response.into_parts();
    let bytes = axum::body::to_bytes(body, usize::MAX)
        .await
        .unwrap_or_default();
    let is_text = is_text(&parts.headers);
    let mut proxy = ApiGatewayProxyResponse::default();
    proxy.status_code = i64::from(parts.status.as_u16());
    proxy.is_base64_encoded = false;
    proxy.body = if bytes.is_empty() {
        None
    } else if is_text {
        match String::from_utf8(bytes.to_vec()) {
            Ok(text) => Some(Body::Text(text)),
            Err(error) => {
                proxy.is_base64_encoded = true;
                Some(Body::Binary(error.into_bytes()))
            }
        }
    } else {
        proxy.is_base64_encoded = true;
        Some(Body::Binary(bytes.to_vec()))
    };
    proxy.multi_value_headers = parts.headers.clone();
    proxy.headers = parts.headers;
    proxy
}

fn is_text(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_none_or(|mime| {
            mime.starts_with("text/")
                || mime.starts_with("application/json")
                || mime.contains("+xml")
                || mime.contains("+json")
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_resource_is_filled_with_its_path_parameters() {
        let parameters = HashMap::from([
            ("id".to_owned(), "a b/c".to_owned()),
            ("proxy".to_owned(), "x y/z".to_owned()),
        ]);
        assert_eq!(fill("/search", &parameters), "/search");
        assert_eq!(fill("/exports/{id}", &parameters), "/exports/a%20b%2Fc");
        assert_eq!(fill("/files/{proxy+}", &parameters), "/files/x%20y/z");
    }
}
