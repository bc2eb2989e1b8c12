//! The `PushRegistry` contract: each execution has a connection record and a delivery record,
//! absent (`None`) until written; a record reads back exactly as written at once (the registry's
//! protocol needs a store that reads its own writes); writing one record leaves the other alone;
//! a second write replaces the first; and executions are kept apart, even when one ARN extends
//! another. Run by `MemoryPushRegistry`'s unit tests (sde-local) and by `S3PushRegistry`'s
//! tests against moto's S3 (sde-aws).

use crate::{PendingDelivery, PushConnection, PushRegistry};
use serde_json::json;

/// Runs the push-registry contract against `registry`, under execution ARNs no earlier run used
/// (so a shared, long-lived store may be given).
pub async fn push_registry_contract(registry: &dyn PushRegistry) {
    let arn = format!(
        "arn:aws:states:us-east-1:123456789012:execution:download-request:{}",
        super::unique("3f2a9c1e-7b4d-4e8a-9f60-1c2d3e4f5a6b_")
    );
    // An ARN that extends the first: a registry matching by prefix would mix them up.
    let longer = format!("{arn}0");

    // Absent until written — even once an execution whose ARN extends it has records.
    assert_eq!(registry.connection(&arn).await.unwrap(), None);
    assert_eq!(registry.delivery(&arn).await.unwrap(), None);
    let other_connection = PushConnection {
        connection_id: "other=".into(),
        owner_sub: "8e1d0b7a-2c3f-4d5e-8a9b-0c1d2e3f4a5b".into(),
        wants_progress: false,
    };
    registry
        .put_connection(&longer, &other_connection)
        .await
        .unwrap();
    assert_eq!(
        registry.connection(&longer).await.unwrap(),
        Some(other_connection.clone())
    );
    assert_eq!(
        registry.connection(&arn).await.unwrap(),
        None,
        "another execution's connection is not this one's"
    );

    // A connection reads back at once, exactly; the delivery stays absent.
    let connection = PushConnection {
        connection_id: "L0SM9cOFvHcCIhw=".into(),
        owner_sub: "3f2a9c1e-7b4d-4e8a-9f60-1c2d3e4f5a6b".into(),
        wants_progress: true,
    };
    registry.put_connection(&arn, &connection).await.unwrap();
    assert_eq!(
        registry.connection(&arn).await.unwrap(),
        Some(connection.clone())
    );
    assert_eq!(
        registry.delivery(&arn).await.unwrap(),
        None,
        "a connection is not a delivery"
    );
    assert_eq!(
        registry.connection(&longer).await.unwrap(),
        Some(other_connection),
        "executions keep their own connections"
    );

    // A delivery with its token reads back at once, exactly; the connection is untouched, and
    // the other execution still has no delivery.
    let delivery = PendingDelivery {
        frame: json!({"reportURL": "https://exports.example.com/files/ünï.csv?expires=1&sig=a%2Fb",
            "progress": {"rowsWritten": 12, "totalRows": 12}, "note": "\"quoted\" — 🧵"}),
        task_token: Some("AQCEAAAAKgAAAAMAAAAAAAAAAc1xsbT6".into()),
    };
    registry.put_delivery(&arn, &delivery).await.unwrap();
    assert_eq!(registry.delivery(&arn).await.unwrap(), Some(delivery));
    assert_eq!(
        registry.connection(&arn).await.unwrap(),
        Some(connection),
        "a delivery leaves the connection alone"
    );
    assert_eq!(
        registry.delivery(&longer).await.unwrap(),
        None,
        "another execution's delivery is not this one's"
    );

    // A second write replaces the first: a client that reconnects, an error frame without a token.
    let reconnected = PushConnection {
        connection_id: "Reconnected1234=".into(),
        owner_sub: "3f2a9c1e-7b4d-4e8a-9f60-1c2d3e4f5a6b".into(),
        wants_progress: false,
    };
    registry.put_connection(&arn, &reconnected).await.unwrap();
    assert_eq!(registry.connection(&arn).await.unwrap(), Some(reconnected));
    let error_frame = PendingDelivery {
        frame: json!({"error": "The export failed", "executionArn": arn}),
        task_token: None,
    };
    registry.put_delivery(&arn, &error_frame).await.unwrap();
    assert_eq!(registry.delivery(&arn).await.unwrap(), Some(error_frame));
    assert_eq!(
        registry.delivery(&longer).await.unwrap(),
        None,
        "the other execution still has no delivery"
    );
}
