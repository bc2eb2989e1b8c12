use super::*;
use crate::test_support::{AUDIENCE, ISSUER, dev_issuer, now};
use serde_json::{Value, json};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

const HOUR: Duration = Duration::from_secs(3600);

fn cognito_claims(sub: &str, email: &str) -> Value {
    let now = now();
    json!({
        "sub": sub, "email": email, "email_verified": true, "iss": ISSUER, "aud": AUDIENCE,
        "token_use": "id", "auth_time": now, "iat": now, "exp": now + 3600,
        "cognito:username": sub,
    })
}

fn verifier_for(issuer: &str, audience: &str) -> IdTokenVerifier {
    IdTokenVerifier::new(VerifierConfig {
        issuer: issuer.to_owned(),
        audience: audience.to_owned(),
        jwks: JwksSource::Static(dev_issuer(0).jwks()),
    })
}

fn b64_json(value: &Value) -> String {
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(value).unwrap())
}

fn payload_of(token: &str) -> Value {
    let payload = token.split('.').nth(1).unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap()
}

#[tokio::test]
async fn a_token_from_the_dev_issuer_verifies_to_its_sub_and_email() {
    let issuer = dev_issuer(0);
    let token = issuer.issue("Ada@Example.org", HOUR).unwrap();

    let caller = issuer.verifier().verify(&token).await.unwrap();

    assert_eq!(caller.owner.email, "Ada@Example.org");
    assert_eq!(caller.owner.sub, issuer.sub_for("ada@example.org").unwrap());
    assert!(caller.email_verified);
    assert_eq!(issuer.verifier().verify_cached(&token).unwrap(), caller);
}

#[tokio::test]
async fn a_token_signed_by_another_issuers_key_is_refused() {
    let ours = dev_issuer(0);
    let theirs = dev_issuer(1);
    let token = theirs.issue("ada@example.org", HOUR).unwrap();
    assert!(matches!(
        ours.verifier().verify(&token).await,
        Err(AuthError::UnknownKey)
    ));

    // The same token relabelled with our key's id still fails on its signature.
    let our_header = b64_json(&json!({"kid": ours.kid(), "alg": "RS256"}));
    let (_, rest) = token.split_once('.').unwrap();
    let relabelled = format!("{our_header}.{rest}");
    assert!(matches!(
        ours.verifier().verify(&relabelled).await,
        Err(AuthError::BadSignature)
    ));
}

#[tokio::test]
async fn a_token_with_a_tampered_payload_has_a_bad_signature() {
    let issuer = dev_issuer(0);
    let token = issuer.issue("ada@example.org", HOUR).unwrap();
    let mut claims = payload_of(&token);
    claims["email"] = json!("mallory@example.org");
    let parts: Vec<&str> = token.split('.').collect();
    let tampered = format!("{}.{}.{}", parts[0], b64_json(&claims), parts[2]);

    assert!(matches!(
        issuer.verifier().verify(&tampered).await,
        Err(AuthError::BadSignature)
    ));
}

#[tokio::test]
async fn an_expired_token_is_refused_but_small_clock_skew_is_tolerated() {
    let issuer = dev_issuer(0);
    let long_expired = issuer
        .issue_at("ada@example.org", HOUR, now() - 2 * 3600)
        .unwrap();
    let just_expired = issuer
        .issue_at("ada@example.org", HOUR, now() - 3600 - 10)
        .unwrap();

    assert!(matches!(
        issuer.verifier().verify(&long_expired).await,
        Err(AuthError::Expired)
    ));
    assert!(issuer.verifier().verify(&just_expired).await.is_ok());
}

#[tokio::test]
async fn a_token_for_another_app_client_or_from_another_pool_is_refused() {
    let token = dev_issuer(0).issue("ada@example.org", HOUR).unwrap();

    let other_client = verifier_for(ISSUER, "another-client");
    let other_pool = verifier_for("http://localhost:4566/other_pool", AUDIENCE);

    assert!(matches!(
        other_client.verify(&token).await,
        Err(AuthError::WrongAudience)
    ));
    assert!(matches!(
        other_pool.verify(&token).await,
        Err(AuthError::WrongIssuer)
    ));
}

#[tokio::test]
async fn an_access_token_is_not_an_id_token() {
    let issuer = dev_issuer(0);
    let mut claims = cognito_claims("some-sub", "ada@example.org");
    claims["token_use"] = json!("access");
    let access = issuer.sign(&claims).unwrap();
    claims.as_object_mut().unwrap().remove("token_use");
    let unlabelled = issuer.sign(&claims).unwrap();

    assert!(matches!(
        issuer.verifier().verify(&access).await,
        Err(AuthError::WrongTokenUse)
    ));
    assert!(matches!(
        issuer.verifier().verify(&unlabelled).await,
        Err(AuthError::WrongTokenUse)
    ));
}

#[tokio::test]
async fn a_token_says_whether_its_email_is_verified_and_must_name_sub_and_email() {
    let issuer = dev_issuer(0);
    let verifier = issuer.verifier();
    let with = |verified: Option<Value>| {
        let mut claims = cognito_claims("some-sub", "ada@example.org");
        match verified {
            Some(value) => claims["email_verified"] = value,
            None => {
                claims.as_object_mut().unwrap().remove("email_verified");
            }
        }
        claims
    };
    let mut no_email = cognito_claims("some-sub", "ada@example.org");
    no_email.as_object_mut().unwrap().remove("email");
    let mut no_sub = cognito_claims("some-sub", "ada@example.org");
    no_sub.as_object_mut().unwrap().remove("sub");

    let check = |claims: &Value| verifier.verify_cached(&issuer.sign(claims).unwrap());
    let verified = |claims: &Value| check(claims).unwrap().email_verified;
    assert!(verified(&with(Some(json!(true)))));
    assert!(verified(&with(Some(json!("true")))));
    assert!(!verified(&with(Some(json!(false)))));
    assert!(!verified(&with(Some(json!("false")))));
    assert!(!verified(&with(None)), "no claim vouches for nothing");
    assert!(matches!(
        check(&with(Some(json!("yes")))),
        Err(AuthError::Malformed)
    ));
    assert!(matches!(check(&no_email), Err(AuthError::Malformed)));
    assert!(matches!(check(&no_sub), Err(AuthError::Malformed)));
}

#[tokio::test]
async fn an_unsigned_token_is_refused() {
    let issuer = dev_issuer(0);
    let header = b64_json(&json!({"kid": issuer.kid(), "alg": "none"}));
    let claims = b64_json(&cognito_claims("some-sub", "ada@example.org"));

    for token in [format!("{header}.{claims}."), format!("{header}.{claims}")] {
        assert!(matches!(
            issuer.verifier().verify(&token).await,
            Err(AuthError::BadSignature | AuthError::Malformed)
        ));
    }
    let token = format!("{header}.{claims}.");
    assert!(matches!(
        issuer.verifier().verify(&token).await,
        Err(AuthError::BadSignature)
    ));
}

#[tokio::test]
async fn a_token_hmac_signed_with_the_public_key_is_refused() {
    let issuer = dev_issuer(0);
    let jwk = issuer.jwks().keys.remove(0);
    let mut header = jsonwebtoken::Header::new(Algorithm::HS256);
    header.kid = Some(issuer.kid().to_owned());
    let claims = cognito_claims("some-sub", "ada@example.org");
    for secret in [jwk.n.clone().unwrap(), serde_json::to_string(&jwk).unwrap()] {
        let key = jsonwebtoken::EncodingKey::from_secret(secret.as_bytes());
        let token = jsonwebtoken::encode(&header, &claims, &key).unwrap();
        assert!(matches!(
            issuer.verifier().verify(&token).await,
            Err(AuthError::BadSignature)
        ));
    }
}

#[tokio::test]
async fn text_that_is_not_a_jwt_is_malformed_and_nothing_is_missing() {
    let verifier = dev_issuer(0).verifier();
    for garbage in [
        "abc",
        "a.b",
        "a.b.c",
        "a.b.c.d",
        "!!!.e30.e30",
        "e30.e30.e30",
    ] {
        assert!(
            matches!(verifier.verify(garbage).await, Err(AuthError::Malformed)),
            "{garbage}"
        );
    }
    assert!(matches!(verifier.verify("").await, Err(AuthError::Missing)));
    assert!(matches!(
        verifier.verify(&"a".repeat(MAX_TOKEN_LEN + 1)).await,
        Err(AuthError::Malformed)
    ));
}

#[tokio::test]
async fn error_messages_never_contain_the_token() {
    let issuer = dev_issuer(0);
    let expired = issuer
        .issue_at("ada@example.org", HOUR, now() - 2 * 3600)
        .unwrap();
    let foreign = dev_issuer(1).issue("ada@example.org", HOUR).unwrap();
    let wrong_aud = issuer.issue("ada@example.org", HOUR).unwrap();
    let cases = [
        (issuer.verifier(), expired),
        (issuer.verifier(), foreign),
        (verifier_for(ISSUER, "another-client"), wrong_aud),
    ];
    for (verifier, token) in cases {
        let error = verifier.verify(&token).await.unwrap_err();
        let shown = format!("{error} {error:?}");
        for part in token.split('.') {
            assert!(!shown.contains(part), "{shown}");
        }
    }
}

/// A tiny HTTP server answering every request with the key set it currently holds.
struct JwksServer {
    url: String,
    body: Arc<Mutex<String>>,
    fetches: Arc<AtomicUsize>,
}

impl JwksServer {
    async fn start(set: &JwkSet) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!(
            "http://{}/local_pool/.well-known/jwks.json",
            listener.local_addr().unwrap()
        );
        let body = Arc::new(Mutex::new(serde_json::to_string(set).unwrap()));
        let fetches = Arc::new(AtomicUsize::new(0));
        let (served_body, served_fetches) = (Arc::clone(&body), Arc::clone(&fetches));
        tokio::spawn(async move {
            while let Ok((mut socket, _)) = listener.accept().await {
                let mut request = Vec::new();
                let mut buf = [0u8; 1024];
                while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                    match socket.read(&mut buf).await {
                        Ok(0) | Err(_) => break,
                        Ok(n) => request.extend_from_slice(&buf[..n]),
                    }
                }
                served_fetches.fetch_add(1, Ordering::SeqCst);
                let body = served_body.lock().unwrap().clone();
                let response = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = socket.write_all(response.as_bytes()).await;
                let _ = socket.shutdown().await;
            }
        });
        JwksServer { url, body, fetches }
    }

    fn serve(&self, set: &JwkSet) {
        *self.body.lock().unwrap() = serde_json::to_string(set).unwrap();
    }

    fn fetches(&self) -> usize {
        self.fetches.load(Ordering::SeqCst)
    }

    fn verifier(&self) -> IdTokenVerifier {
        IdTokenVerifier::new(VerifierConfig {
            issuer: ISSUER.to_owned(),
            audience: AUDIENCE.to_owned(),
            jwks: JwksSource::Url(self.url.clone()),
        })
    }
}

#[tokio::test]
async fn a_remote_key_set_is_fetched_on_first_use_and_then_cached() {
    let issuer = dev_issuer(0);
    let server = JwksServer::start(&issuer.jwks()).await;
    let verifier = server.verifier();
    let token = issuer.issue("ada@example.org", HOUR).unwrap();

    assert!(matches!(
        verifier.verify_cached(&token),
        Err(AuthError::UnknownKey)
    ));
    assert_eq!(server.fetches(), 0);
    assert_eq!(
        verifier.verify(&token).await.unwrap().owner.email,
        "ada@example.org"
    );
    assert_eq!(
        verifier.verify(&token).await.unwrap().owner.email,
        "ada@example.org"
    );
    assert!(verifier.verify_cached(&token).is_ok());
    assert_eq!(server.fetches(), 1);
}

#[tokio::test]
async fn a_rotated_key_is_picked_up_by_one_refetch() {
    let (old, new) = (dev_issuer(0), dev_issuer(1));
    let server = JwksServer::start(&old.jwks()).await;
    let verifier = server.verifier().with_refetch_interval(Duration::ZERO);
    verifier
        .verify(&old.issue("ada@example.org", HOUR).unwrap())
        .await
        .unwrap();
    assert_eq!(server.fetches(), 1);

    server.serve(&new.jwks());
    let token = new.issue("ada@example.org", HOUR).unwrap();
    assert!(verifier.verify(&token).await.is_ok());
    assert_eq!(server.fetches(), 2);
    assert!(verifier.verify(&token).await.is_ok());
    assert_eq!(server.fetches(), 2);
}

#[tokio::test]
async fn unknown_keys_do_not_refetch_the_key_set_within_the_interval() {
    let (known, unknown) = (dev_issuer(0), dev_issuer(1));
    let server = JwksServer::start(&known.jwks()).await;
    let verifier = server.verifier();
    verifier
        .verify(&known.issue("ada@example.org", HOUR).unwrap())
        .await
        .unwrap();

    let token = unknown.issue("ada@example.org", HOUR).unwrap();
    for _ in 0..3 {
        assert!(matches!(
            verifier.verify(&token).await,
            Err(AuthError::UnknownKey)
        ));
    }
    assert_eq!(server.fetches(), 1);
}

#[tokio::test]
async fn an_unreachable_key_set_is_reported_as_unavailable() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    drop(listener);
    let verifier = IdTokenVerifier::new(VerifierConfig {
        issuer: ISSUER.to_owned(),
        audience: AUDIENCE.to_owned(),
        jwks: JwksSource::Url(format!("http://{address}/jwks.json")),
    });
    let token = dev_issuer(0).issue("ada@example.org", HOUR).unwrap();

    assert!(matches!(
        verifier.verify(&token).await,
        Err(AuthError::JwksUnavailable { .. })
    ));
}

#[test]
fn the_cognito_key_set_url_is_under_the_issuer() {
    let JwksSource::Url(url) =
        JwksSource::for_issuer("https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_abc/")
    else {
        panic!("expected a url source");
    };
    assert_eq!(
        url,
        "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_abc/.well-known/jwks.json"
    );
}

#[test]
fn a_verifier_can_be_shared_across_tasks() {
    fn assert_send_sync<T: Send + Sync>(_: &T) {}
    let verifier = dev_issuer(0).verifier();
    assert_send_sync(&verifier);
    assert_send_sync(&verifier.verify("token"));
}
