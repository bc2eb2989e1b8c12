//! The reports through the local stack's public API: `POST /report/graphical` and
//! `POST /report/hybrid` answer a JSON string, a link that gives an SVG (inline or as a download)
//! or a PDF, whose counts are `/search`'s totals for the same criteria.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::TestApp;
use common::hosts::{Call, Host};
use resvg::usvg;
use sde_dataimport::generate::SELECTIVE_TAG;
use serde_json::{Value, json};
use std::sync::Arc;

/// The whole sample year (2019): 53 weekly bars.
fn the_sample_year() -> Value {
    json!({"dateRange": ["2019-01-01T00:00:00Z", "2020-01-01T00:00:00Z"]})
}

/// Posts a report request and returns the URL it answers with.
async fn report(app: &TestApp, token: &str, kind: &str, body: Value) -> String {
    let (status, answer) = app.post(&format!("/report/{kind}"), token, body).await;
    assert_eq!(status, 200, "{answer}");
    let url = answer
        .as_str()
        .unwrap_or_else(|| panic!("the answer is a JSON string: {answer}"));
    assert!(
        url.starts_with(&format!("{}/download/reports/", app.url)),
        "{url}"
    );
    url.to_owned()
}

/// The number before `posts in total` in the chart's `<desc>`.
fn described_total(svg: &str) -> u64 {
    let (_, desc) = svg.split_once("<desc>").expect("a <desc>");
    let (desc, _) = desc.split_once("</desc>").unwrap();
    let (before, _) = desc.split_once(" posts in total").expect(desc);
    let number = before.rsplit(' ').next().unwrap().replace(',', "");
    number.parse().unwrap()
}

/// Parses and renders the chart; panics unless it draws something.
fn render(svg: &str) {
    let options = usvg::Options {
        font_family: "DejaVu Sans".to_owned(),
        fontdb: Arc::new(sde_reports::font_database()),
        ..usvg::Options::default()
    };
    let tree = usvg::Tree::from_str(svg, &options).unwrap();
    let size = tree.size().to_int_size();
    let mut pixmap = resvg::tiny_skia::Pixmap::new(size.width(), size.height()).unwrap();
    resvg::render(&tree, Default::default(), &mut pixmap.as_mut());
    let inked = pixmap.pixels().iter().filter(|p| p.red() < 200).count();
    assert!(
        inked > 1000,
        "the chart is not blank ({inked} inked pixels)"
    );
}

#[tokio::test]
async fn the_chart_is_an_svg_shown_inline_whose_total_is_the_search_total() {
    let app = TestApp::spawn().await;
    let token = app.token("ada@example.com").await;
    let search = json!([{"value": SELECTIVE_TAG}, the_sample_year()]);
    let url = report(
        &app,
        &token,
        "graphical",
        json!({"download": false, "search": search}),
    )
    .await;
    let (code, headers, body) = app.download(&url).await;
    assert_eq!(code, 200);
    assert_eq!(headers["content-type"], "image/svg+xml");
    let disposition = headers["content-disposition"].to_str().unwrap();
    assert!(
        disposition
            .starts_with("inline; filename=\"post-frequency-20190101T0000Z-20200101T0000Z.svg\""),
        "{disposition}"
    );
    let svg = String::from_utf8(body).unwrap();
    assert!(!svg.contains("<script"));
    let total = app.search(&token, &json!({"search": search})).await["TotalResults"]
        .as_u64()
        .unwrap();
    assert!(total > 10, "the sample year has tagged posts: {total}");
    assert_eq!(described_total(&svg), total);
    render(&svg);
}

#[tokio::test]
async fn without_a_range_the_chart_covers_the_day_up_to_the_newest_post_and_downloads() {
    let app = TestApp::spawn().await;
    let token = app.token("grace@example.com").await;
    let url = report(&app, &token, "graphical", json!({"download": true})).await;
    let (code, headers, body) = app.download(&url).await;
    assert_eq!(code, 200);
    let disposition = headers["content-disposition"].to_str().unwrap();
    assert!(
        disposition.starts_with("attachment; filename=\"post-frequency-2019"),
        "{disposition}"
    );
    // post-frequency-<from>-<to>.svg: 24 hours ending in the hour after the newest post.
    let name = disposition.split('"').nth(1).unwrap();
    let stamps: Vec<&str> = name
        .trim_start_matches("post-frequency-")
        .trim_end_matches(".svg")
        .split('-')
        .collect();
    let parse = |stamp: &str| {
        chrono::NaiveDateTime::parse_from_str(stamp, "%Y%m%dT%H%MZ")
            .unwrap()
            .and_utc()
    };
    let (from, to) = (parse(stamps[0]), parse(stamps[1]));
    assert_eq!(to - from, chrono::Duration::hours(24));
    assert!(to.to_rfc3339().as_str() > "2019-12-31", "{to}");
    let range = json!([{"dateRange": [from.to_rfc3339(), to.to_rfc3339()]}]);
    let total = app.search(&token, &json!({"search": range})).await["TotalResults"]
        .as_u64()
        .unwrap();
    assert!(total > 0, "the newest post is in it");
    let svg = String::from_utf8(body).unwrap();
    assert_eq!(described_total(&svg), total);
    render(&svg);
}

#[tokio::test]
async fn the_trending_report_is_a_pdf_whose_rows_are_the_search_totals_of_their_tags() {
    let app = TestApp::spawn().await;
    let token = app.token("hopper@example.com").await;
    let search = json!([{"value": SELECTIVE_TAG}, the_sample_year()]);
    let url = report(
        &app,
        &token,
        "hybrid",
        json!({"download": true, "search": search}),
    )
    .await;
    let (code, headers, body) = app.download(&url).await;
    assert_eq!(code, 200);
    assert_eq!(headers["content-type"], "application/pdf");
    assert!(
        headers["content-disposition"]
            .to_str()
            .unwrap()
            .starts_with(
                "attachment; filename=\"trending-tags-20190101T0000Z-20200101T0000Z.pdf\""
            )
    );
    let document = lopdf::Document::load_mem(&body).unwrap();
    assert_eq!(document.get_pages().len(), 1);
    let squeezed = |text: &str| -> String { text.chars().filter(|c| !c.is_whitespace()).collect() };
    let flat = squeezed(&document.extract_text(&[1]).unwrap());
    let total = app.search(&token, &json!({"search": search})).await["TotalResults"]
        .as_u64()
        .unwrap();
    // Every post of the search carries the tag, so its row counts them all: 100 %.
    let row = squeezed(&format!("{SELECTIVE_TAG} {total} 100.0 %"));
    let (_, table) = flat.split_once("TagPostsShare").expect(&flat);
    assert!(table.starts_with(&row), "{row} first in {table}");
}

#[tokio::test]
async fn reports_need_a_signed_in_caller_and_a_well_formed_body() {
    let app = TestApp::spawn().await;
    for kind in ["graphical", "hybrid"] {
        let (status, _) = app
            .post(&format!("/report/{kind}"), "not-a-token", json!({}))
            .await;
        assert_eq!(status, 401, "{kind}");
    }
    let token = app.token("mallet@example.com").await;
    let (status, answer) = app
        .post("/report/graphical", &token, json!({"download": "yes"}))
        .await;
    assert_eq!(status, 400, "{answer}");
    // 119 years: too long to chart even by months, but the trending report has no bars over
    // time and takes it.
    let too_long = json!({"search": [{"dateRange": ["1900-01-01", "2019-01-01"]}]});
    let (status, answer) = app
        .post("/report/graphical", &token, too_long.clone())
        .await;
    assert_eq!(status, 400, "{answer}");
    assert!(
        answer["message"].as_str().unwrap().contains("200 months"),
        "{answer}"
    );
    let (status, answer) = app.post("/report/hybrid", &token, too_long).await;
    assert_eq!(status, 200, "{answer}");
}

#[tokio::test]
async fn both_hosts_answer_a_report_with_a_link_to_its_file() {
    let app = TestApp::spawn().await;
    let token = app.token("lin@example.com").await;
    for host in Host::both(&app) {
        for (path, content_type) in [
            ("/report/graphical", "image/svg+xml"),
            ("/report/hybrid", "application/pdf"),
        ] {
            let answer = host
                .call(&Call::post(path, &token, &json!({"download": true})))
                .await;
            assert_eq!(
                answer.status, 200,
                "{:?} {path}: {}",
                host.kind, answer.body
            );
            let url = answer.body.as_str().expect("a JSON string");
            let (code, headers, body) = app.download(url).await;
            assert_eq!(code, 200, "{:?} {path}", host.kind);
            assert_eq!(headers["content-type"], content_type);
            assert!(!body.is_empty());
        }
        let refused = host
            .call(&Call::post("/report/graphical", "nonsense", &json!({})))
            .await;
        assert_eq!(refused.status, 401, "{:?}", host.kind);
    }
}
