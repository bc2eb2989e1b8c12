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
