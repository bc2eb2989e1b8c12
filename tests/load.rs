//! A small load in the test command: 30 concurrent exports of mixed types by 10 users, every
//! file exact. The full load (100 exports, 20 users) runs by hand: `cargo run --release --example load`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
#[path = "common/load.rs"]
mod load;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_exports_of_every_type_are_each_exact() {
    let app = common::TestApp::spawn().await;
    let mut report = load::run(&app.url, 30, 10).await;
    report.print();
    assert_eq!(
        report.exact, 30,
        "every file holds exactly its search's rows"
    );
}
