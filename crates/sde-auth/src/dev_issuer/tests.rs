use super::*;
use crate::test_support::{AUDIENCE, ISSUER, dev_issuer, key_pem};
use serde_json::Value;

const HOUR: Duration = Duration::from_secs(3600);

fn load(dir: &Path) -> Result<DevIssuer, DevIssuerError> {
    DevIssuer::load_or_create(dir, ISSUER.to_owned(), AUDIENCE.to_owned())
}

#[tokio::test]
async fn a_new_key_is_saved_privately_and_reloaded_with_the_same_identities() {
    let dir = tempfile::tempdir().unwrap();
    let key_dir = dir.path().join("state");
    let first = load(&key_dir).unwrap();
    let token = first.issue("ada@example.org", HOUR).unwrap();

    let second = load(&key_dir).unwrap();

    assert_eq!(second.kid(), first.kid());
    let caller = second.verifier().verify(&token).await.unwrap();
    assert_eq!(caller.owner.sub, second.sub_for("ada@example.org").unwrap());
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(key_dir.join(KEY_FILE_NAME))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let leftovers: Vec<_> = std::fs::read_dir(&key_dir).unwrap().collect();
    assert_eq!(leftovers.len(), 1, "only the key file remains");
}

#[test]
fn an_existing_key_file_is_used_as_is() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join(KEY_FILE_NAME), key_pem(0)).unwrap();

    assert_eq!(load(dir.path()).unwrap().kid(), dev_issuer(0).kid());
}

#[test]
fn a_key_file_that_is_not_a_private_key_is_refused_without_showing_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(KEY_FILE_NAME);
    std::fs::write(
        &path,
        "-----BEGIN PRIVATE KEY-----\nc2VjcmV0\n-----END PRIVATE KEY-----\n",
    )
    .unwrap();

    let error = load(dir.path()).unwrap_err();

    assert!(
        matches!(error, DevIssuerError::InvalidKeyFile { .. }),
        "{error:?}"
    );
    assert!(error.to_string().contains(&path.display().to_string()));
    assert!(!error.to_string().contains("c2VjcmV0"));
}

#[test]
fn the_same_email_always_gets_the_same_uuid_shaped_sub() {
    let issuer = dev_issuer(0);
    let sub = issuer.sub_for("ada@example.org").unwrap();

    assert!(uuid::Uuid::parse_str(&sub).is_ok(), "{sub}");
    assert_eq!(issuer.sub_for("ADA@Example.ORG").unwrap(), sub);
    assert_eq!(
        dev_issuer(1).sub_for("ada@example.org").unwrap(),
        sub,
        "independent of the key"
    );
    assert_ne!(issuer.sub_for("bob@example.org").unwrap(), sub);
    let other_pool = DevIssuer::from_pkcs8_pem(key_pem(0), "http://other".into(), AUDIENCE.into());
    assert_ne!(other_pool.unwrap().sub_for("ada@example.org").unwrap(), sub);
}

#[test]
fn an_issued_token_carries_cognitos_id_token_claims() {
    let issuer = dev_issuer(0);
    let token = issuer.issue("ada@example.org", HOUR).unwrap();
    let part = |i: usize| -> Value {
        let text = token.split('.').nth(i).unwrap();
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(text).unwrap()).unwrap()
    };
    let (header, claims) = (part(0), part(1));

    assert_eq!(header["alg"], "RS256");
    assert_eq!(header["kid"], issuer.kid());
    let sub = issuer.sub_for("ada@example.org").unwrap();
    assert_eq!(claims["sub"], sub.as_str());
    assert_eq!(claims["cognito:username"], sub.as_str());
    assert_eq!(claims["email"], "ada@example.org");
    assert_eq!(claims["email_verified"], true);
    assert_eq!(claims["iss"], ISSUER);
    assert_eq!(claims["aud"], AUDIENCE);
    assert_eq!(claims["token_use"], "id");
    let iat = claims["iat"].as_u64().unwrap();
    assert_eq!(claims["auth_time"].as_u64(), Some(iat));
    assert_eq!(claims["exp"].as_u64(), Some(iat + 3600));
}

#[test]
fn the_key_set_publishes_the_signing_key_under_its_thumbprint() {
    let issuer = dev_issuer(0);
    let json = serde_json::to_value(issuer.jwks()).unwrap();
    let keys = json["keys"].as_array().unwrap();

    assert_eq!(keys.len(), 1);
    assert_eq!(keys[0]["kid"], issuer.kid());
    assert_eq!(keys[0]["kty"], "RSA");
    assert_eq!(keys[0]["alg"], "RS256");
    assert_eq!(keys[0]["use"], "sig");
    assert_eq!(keys[0]["e"], "AQAB");
    assert_eq!(
        URL_SAFE_NO_PAD
            .decode(keys[0]["n"].as_str().unwrap())
            .unwrap()
            .len(),
        256
    );
    assert_ne!(dev_issuer(1).kid(), issuer.kid());
}

#[test]
fn text_that_cannot_be_an_email_address_gets_no_token() {
    let issuer = dev_issuer(0);
    let long = format!("{}@example.org", "a".repeat(250));
    for bad in [
        "",
        "ada",
        "@example.org",
        "ada@",
        "ada @example.org",
        "ada@exa\nmple.org",
        long.as_str(),
    ] {
        let error = issuer.issue(bad, HOUR).unwrap_err();
        assert!(
            matches!(error, DevIssuerError::InvalidEmail { .. }),
            "{bad:?}: {error:?}"
        );
    }
}

#[test]
fn the_private_key_never_prints() {
    let shown = format!("{:?}", dev_issuer(0));
    assert!(shown.contains("<redacted>"), "{shown}");
    let pem_body = key_pem(0).lines().nth(1).unwrap();
    assert!(!shown.contains(pem_body));
}
