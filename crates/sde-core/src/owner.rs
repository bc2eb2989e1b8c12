//! The signed-in user an export belongs to, as a verified ID token (or API Gateway's Cognito
//! authorizer) names them.

use serde::{Deserialize, Serialize};

/// The owner of a request or an export. `sub` is the stable identity; `email` is where email
/// deliveries go, and only ever comes from the verified token.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Owner {
    pub sub: String,
    pub email: String,
}

/// A signed-in caller: the owner their ID token names, and whether the token vouches for their
/// email address (`email_verified`). Anything that sends email to the caller, or records their
/// address to send to later, goes through [`Caller::with_verified_email`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    pub owner: Owner,
    pub email_verified: bool,
}

/// The caller's email address is not verified, so nothing may be sent to it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "your email address is not verified: verify it before asking for email (direct download and \
     push work without it)"
)]
pub struct UnverifiedEmail;

impl Caller {
    /// A caller whose token vouches for their address.
    pub fn verified(owner: Owner) -> Self {
        Caller {
            owner,
            email_verified: true,
        }
    }

    /// The owner, if email may be sent to their address.
    pub fn with_verified_email(&self) -> Result<&Owner, UnverifiedEmail> {
        if self.email_verified {
            Ok(&self.owner)
        } else {
            Err(UnverifiedEmail)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn email_goes_only_to_a_verified_address() {
        let owner = Owner {
            sub: "u-1".into(),
            email: "ada@example.com".into(),
        };
        assert_eq!(
            Caller::verified(owner.clone()).with_verified_email(),
            Ok(&owner)
        );
        let unverified = Caller {
            owner,
            email_verified: false,
        };
        assert_eq!(unverified.with_verified_email(), Err(UnverifiedEmail));
    }
}
