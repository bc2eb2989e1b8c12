//! `report-graphical` and `report-hybrid`: the post-frequency chart (SVG) and the trending-tags
//! report (PDF) of the caller's current search, counted by the index's aggregations, stored like
//! exports under `reports/<owner>/…` and handed back as a lasting link to the download route
//! (signed like an export's; a chart to show in the page is signed `inline`).
//!
//! The range a report covers is the search's `dateRange`. An open end is closed from the index:
//! without an end, the hour after the newest post in the index; without a start, the hour of
//! the oldest post (a search up to a date covers everything before it), or 24 hours before the
//! end when there is nothing older; with neither, the 24 hours up to the end — on a live system
//! the last 24 hours, on old sample data the last day that has posts, never an empty chart.
//! The chart's bucket is the one asked for (hour by default), widened (hour → day → week →
//! month) until the chart has at most [`MAX_BARS`] bars; a chart of a range too long even for
//! months is refused. The trending report draws no bars over time, so any range suits it.

use crate::api_error::ApiError;
use bytes::Bytes;
use chrono::{DateTime, Duration as Span, Utc};
use sde_core::{
    Bucket, ContentInfo, DateRange, Disposition, DownloadLinks, ObjectKey, ObjectStore, Owner,
    PostQuery, PostStats, SearchCriteria, SearchRequest, SignedUrl, StoreError, fill_buckets,
};
use sde_reports::{PostFrequency, Trending, post_frequency_svg, trending_pdf};
use serde::Deserialize;
use serde_json::Value;
use std::num::NonZeroUsize;
use std::time::Duration;
use tracing::info;

/// Most bars a post-frequency chart has.
pub const MAX_BARS: usize = 200;
/// Tags the trending report lists.
pub const TOP_TAGS: NonZeroUsize = NonZeroUsize::MIN.saturating_add(19);
/// The range of a report whose search has no `dateRange`, ending at the hour after the newest
/// post.
pub const DEFAULT_SPAN_HOURS: i64 = 24;

/// The body of `POST /report/graphical` and `POST /report/hybrid`: the original frontend's
/// `{"download": bool}`, plus, as extensions, the `/search` body's `search` array and the
/// chart's `bucket`. Anything else a `/search` body holds (`type`, `results`, `page`) is
/// accepted and ignored.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct ReportRequest {
    /// `true`: a download (attachment); `false` or absent: shown in the page.
    #[serde(default)]
    pub download: Option<Value>,
    /// The search the report describes: terms and a `dateRange`, as `/search` takes them.
    #[serde(default)]
    pub search: Vec<Value>,
    /// `hour` (default), `day`, `week` or `month`: the narrowest bar the chart may have.
    #[serde(default)]
    pub bucket: Option<Value>,
}

/// Settings of the report functions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReportSettings {
    /// How long report links stay valid: as long as export links.
    pub url_ttl: Duration,
}

impl Default for ReportSettings {
    fn default() -> Self {
        ReportSettings {
            url_ttl: Duration::from_secs(24 * 3600),
        }
    }
}

/// What a request asks for, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportPlan {
    /// The search with its date range closed: the report counts exactly its matches.
    pub query: PostQuery,
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    /// The narrowest bar the request allows; the chart widens it (see [`choose_bucket`]).
    pub bucket: Bucket,
    pub download: bool,
}

fn bad(message: impl Into<String>) -> ApiError {
    ApiError::bad_request(message)
}

/// Checks the request and closes its range with what the index holds (see the module's
/// documentation).
pub async fn plan(
    stats: &dyn PostStats,
    request: &ReportRequest,
    now: DateTime<Utc>,
) -> Result<ReportPlan, ApiError> {
    let download = match &request.download {
        None | Some(Value::Null) => false,
        Some(Value::Bool(download)) => *download,
        Some(_) => return Err(bad("\"download\" must be true or false")),
    };
    let asked = match &request.bucket {
        None | Some(Value::Null) => Bucket::Hour,
        Some(Value::String(name)) => Bucket::from_name(name).ok_or_else(|| {
            bad(format!(
                "\"bucket\" must be \"hour\", \"day\", \"week\" or \"month\", not {name:?}"
            ))
        })?,
        Some(_) => {
            return Err(bad(
                "\"bucket\" must be \"hour\", \"day\", \"week\" or \"month\"",
            ));
        }
    };
    let search = SearchRequest {
        search: request.search.clone(),
        ..SearchRequest::default()
    };
    let mut query = SearchCriteria::try_from(&search)?.query;
    let (from, to) = close_range(stats, query.date_range, now).await?;
    query.date_range = DateRange {
        from: Some(from),
        to: Some(to),
    };
    Ok(ReportPlan {
        query,
        from,
        to,
        bucket: asked,
        download,
    })
}

/// The range a report covers (see the module's documentation).
async fn close_range(
    stats: &dyn PostStats,
    range: DateRange,
    now: DateTime<Utc>,
) -> Result<(DateTime<Utc>, DateTime<Utc>), ApiError> {
    if let (Some(from), Some(to)) = (range.from, range.to) {
        return Ok((from, to));
    }
    let index = stats.summary(&PostQuery::default()).await?;
    let hour_after = |at: DateTime<Utc>| Bucket::Hour.start_of(at) + Span::hours(1);
    let default_span = Span::hours(DEFAULT_SPAN_HOURS);
    let to = match (range.to, range.from) {
        (Some(to), _) => to,
        (None, from) => {
            let end = hour_after(index.newest.unwrap_or(now));
            match from {
                Some(from) if end <= from => from + default_span,
                _ => end,
            }
        }
    };
    let from = match range.from {
        Some(from) => from,
        None => match (range.to, index.oldest) {
            (Some(_), Some(oldest)) if oldest < to => Bucket::Hour.start_of(oldest),
            _ => to - default_span,
        },
    };
    Ok((from, to))
}

/// `asked`, or the first wider bucket that draws `from..to` in at most [`MAX_BARS`] bars.
pub fn choose_bucket(
    asked: Bucket,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<Bucket, ApiError> {
    let mut bucket = asked;
    loop {
        if bucket.count_within(from, to, MAX_BARS) <= MAX_BARS {
            return Ok(bucket);
        }
        bucket = bucket.coarser().ok_or_else(|| {
            bad(format!(
                "the date range is too long to chart: it spans more than {MAX_BARS} months; \
                 narrow it"
            ))
        })?;
    }
}

/// `20190721T0000Z`: a range end in a file name.
fn stamp(at: DateTime<Utc>) -> String {
    at.format("%Y%m%dT%H%MZ").to_string()
}

/// `post-frequency-20190721T0000Z-20190722T0000Z.svg`.
pub fn file_name(kind: &str, plan: &ReportPlan, extension: &str) -> String {
    format!("{kind}-{}-{}.{extension}", stamp(plan.from), stamp(plan.to))
}

/// `POST /report/graphical`: the post-frequency chart of the caller's search, stored and
/// signed; returns the URL.
pub async fn report_graphical(
    stats: &dyn PostStats,
    store: &dyn ObjectStore,
    links: &DownloadLinks,
    settings: ReportSettings,
    owner: &Owner,
    request: &ReportRequest,
) -> Result<String, ApiError> {
    let plan = plan(stats, request, Utc::now()).await?;
    let bucket = choose_bucket(plan.bucket, plan.from, plan.to)?;
    let counts = stats.post_frequency(&plan.query, bucket).await?;
    let bars = fill_buckets(bucket, plan.from, plan.to, &counts);
    let svg = post_frequency_svg(&PostFrequency {
        bucket,
        from: plan.from,
        to: plan.to,
        bars: &bars,
    });
    let total: u64 = bars.iter().map(|bar| bar.posts).sum();
    info!(%bucket, bars = bars.len(), total, "post-frequency chart drawn");
    let content = ContentInfo {
        content_type: "image/svg+xml".into(),
        download_name: file_name("post-frequency", &plan, "svg"),
        disposition: disposition(&plan),
    };
    let url = store_report(store, links, settings, owner, &content, svg.into_bytes()).await?;
    Ok(url.into_string())
}

/// `POST /report/hybrid`: the trending-tags PDF of the caller's search, stored and signed;
/// returns the URL.
pub async fn report_hybrid(
    stats: &dyn PostStats,
    store: &dyn ObjectStore,
    links: &DownloadLinks,
    settings: ReportSettings,
    owner: &Owner,
    request: &ReportRequest,
) -> Result<String, ApiError> {
    let plan = plan(stats, request, Utc::now()).await?;
    let top = stats.top_tags(&plan.query, TOP_TAGS).await?;
    let pdf = trending_pdf(&Trending {
        from: plan.from,
        to: plan.to,
        top: &top,
    })
    .map_err(ApiError::internal)?;
    info!(
        tags = top.tags.len(),
        posts = top.posts,
        bytes = pdf.len(),
        "trending report drawn"
    );
    let content = ContentInfo {
        content_type: "application/pdf".into(),
        download_name: file_name("trending-tags", &plan, "pdf"),
        disposition: disposition(&plan),
    };
    let url = store_report(store, links, settings, owner, &content, pdf).await?;
    Ok(url.into_string())
}

/// An attachment when the request asked for a download, shown inline otherwise.
fn disposition(plan: &ReportPlan) -> Disposition {
    if plan.download {
        Disposition::Attachment
    } else {
        Disposition::Inline
    }
}

/// Writes `bytes` to `reports/<owner>/<report id>-<download name>` and issues a lasting link to
/// it, served as `content` says.
async fn store_report(
    store: &dyn ObjectStore,
    links: &DownloadLinks,
    settings: ReportSettings,
    owner: &Owner,
    content: &ContentInfo,
    bytes: Vec<u8>,
) -> Result<SignedUrl, ApiError> {
    let key = ObjectKey::new(format!(
        "reports/{}/{}-{}",
        crate::generate_csv::key_segment(&owner.sub),
        uuid::Uuid::new_v4().simple(),
        content.download_name
    ))
    .map_err(store_failure)?;
    put(store, &key, content, Bytes::from(bytes))
        .await
        .map_err(store_failure)?;
    let ttl = Span::from_std(settings.url_ttl).map_err(ApiError::internal)?;
    Ok(links.issue(&key, content, Utc::now() + ttl))
}

/// Uploads `bytes` in the store's part size; aborts the upload if a part fails.
async fn put(
    store: &dyn ObjectStore,
    key: &ObjectKey,
    content: &ContentInfo,
    bytes: Bytes,
) -> Result<(), StoreError> {
    let mut upload = store.start_upload(key, content).await?;
    let part_size = upload.part_size().max(1);
    let mut rest = bytes;
    loop {
        let part = rest.split_to(part_size.min(rest.len()));
        if let Err(error) = upload.upload_part(part).await {
            let _ = upload.abort().await;
            return Err(error);
        }
        if rest.is_empty() {
            break;
        }
    }
    upload.complete().await?;
    Ok(())
}

fn store_failure(error: StoreError) -> ApiError {
    if error.kind.is_transient() {
        ApiError::new(
            crate::ApiErrorKind::Unavailable,
            "storing the report failed",
        )
        .with_source(error)
    } else {
        ApiError::internal(error)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use async_trait::async_trait;
    use sde_core::{
        BucketCount, DownloadGrant, IndexError, MultipartUpload, PostSummary, SigningKey,
        StoredObject, TagCount, TopTags,
    };
    use serde_json::json;
    use std::sync::{Arc, Mutex};

    fn at(text: &str) -> DateTime<Utc> {
        text.parse().unwrap()
    }

    /// An index whose posts span `oldest..=newest`, answering every count from those.
    #[derive(Debug)]
    struct Spanning {
        oldest: Option<DateTime<Utc>>,
        newest: Option<DateTime<Utc>>,
        asked: Mutex<Vec<(PostQuery, Option<Bucket>)>>,
    }

    fn spanning(oldest: &str, newest: &str) -> Spanning {
        Spanning {
            oldest: Some(at(oldest)),
            newest: Some(at(newest)),
            asked: Mutex::default(),
        }
    }

    #[async_trait]
    impl PostStats for Spanning {
        async fn summary(&self, query: &PostQuery) -> Result<PostSummary, IndexError> {
            self.asked.lock().unwrap().push((query.clone(), None));
            Ok(PostSummary {
                posts: 10,
                oldest: self.oldest,
                newest: self.newest,
            })
        }

        async fn post_frequency(
            &self,
            query: &PostQuery,
            bucket: Bucket,
        ) -> Result<Vec<BucketCount>, IndexError> {
            self.asked
                .lock()
                .unwrap()
                .push((query.clone(), Some(bucket)));
            Ok(vec![BucketCount {
                start: self.newest.map_or(Utc::now(), |at| bucket.start_of(at)),
                posts: 10,
            }])
        }

        async fn top_tags(
            &self,
            query: &PostQuery,
            _: NonZeroUsize,
        ) -> Result<TopTags, IndexError> {
            self.asked.lock().unwrap().push((query.clone(), None));
            Ok(TopTags {
                posts: 10,
                tags: vec![TagCount {
                    tag: "#cats".into(),
                    posts: 4,
                }],
            })
        }
    }

    fn request(body: serde_json::Value) -> ReportRequest {
        serde_json::from_value(body).unwrap()
    }

    async fn planned(stats: &Spanning, body: serde_json::Value) -> Result<ReportPlan, ApiError> {
        plan(stats, &request(body), at("2030-01-01T00:00:00Z")).await
    }

    #[tokio::test]
    async fn without_a_date_range_a_report_covers_the_24_hours_up_to_the_newest_post() {
        let stats = spanning("2019-07-01T00:00:00Z", "2019-07-22T23:59:59Z");
        let plan = planned(&stats, json!({"download": false})).await.unwrap();
        assert_eq!(
            (plan.from, plan.to),
            (at("2019-07-22T00:00:00Z"), at("2019-07-23T00:00:00Z"))
        );
        assert_eq!((plan.bucket, plan.download), (Bucket::Hour, false));
        let empty = Spanning {
            oldest: None,
            newest: None,
            asked: Mutex::default(),
        };
        let plan = planned(&empty, json!({})).await.unwrap();
        assert_eq!(
            (plan.from, plan.to),
            (at("2029-12-31T01:00:00Z"), at("2030-01-01T01:00:00Z")),
            "an empty index: the last 24 hours"
        );
    }

    #[tokio::test]
    async fn a_search_range_is_kept_and_an_open_end_is_closed_from_the_index() {
        let stats = spanning("2019-07-01T10:30:00Z", "2019-07-22T23:59:59Z");
        let both = json!({"search": [{"value": "cats"},
            {"dateRange": ["2019-07-21T00:00:00Z", "2019-07-23T00:00:00Z"]}], "download": true});
        let plan = planned(&stats, both).await.unwrap();
        assert_eq!(
            (plan.from, plan.to, plan.download),
            (at("2019-07-21T00:00:00Z"), at("2019-07-23T00:00:00Z"), true)
        );
        assert_eq!(plan.query.terms, ["cats"]);
        assert!(
            stats.asked.lock().unwrap().is_empty(),
            "a closed range asks nothing"
        );

        let from_only = json!({"search": [{"dateRange": ["2019-07-20T00:00:00Z", null]}]});
        let plan = planned(&stats, from_only).await.unwrap();
        assert_eq!(
            (plan.from, plan.to),
            (at("2019-07-20T00:00:00Z"), at("2019-07-23T00:00:00Z"))
        );
        let to_only = json!({"search": [{"dateRange": [null, "2019-07-10"]}]});
        let plan = planned(&stats, to_only).await.unwrap();
        assert_eq!(
            (plan.from, plan.to, plan.bucket),
            (
                at("2019-07-01T10:00:00Z"),
                at("2019-07-10T00:00:00Z"),
                Bucket::Hour
            )
        );
        assert_eq!(
            choose_bucket(plan.bucket, plan.from, plan.to).unwrap(),
            Bucket::Day,
            "206 hours: too many for hourly bars"
        );
        let after_everything = json!({"search": [{"dateRange": ["2020-01-01", null]}]});
        let plan = planned(&stats, after_everything).await.unwrap();
        assert_eq!(
            (plan.from, plan.to),
            (at("2020-01-01T00:00:00Z"), at("2020-01-02T00:00:00Z"))
        );
    }

    #[test]
    fn a_range_too_long_for_its_bucket_takes_the_next_wider_one() {
        let from = at("2019-01-01T00:00:00Z");
        let cases = [
            ("2019-01-09T08:00:00Z", Bucket::Hour, Bucket::Hour), // 200 hours
            ("2019-01-09T09:00:00Z", Bucket::Hour, Bucket::Day),  // 201 hours
            ("2019-12-31T00:00:00Z", Bucket::Hour, Bucket::Week),
            ("2022-01-01T00:00:00Z", Bucket::Day, Bucket::Week), // 157 weeks
            ("2026-01-01T00:00:00Z", Bucket::Day, Bucket::Month),
            ("2019-02-01T00:00:00Z", Bucket::Month, Bucket::Month),
        ];
        for (to, asked, chosen) in cases {
            let bucket = choose_bucket(asked, from, at(to)).unwrap();
            assert_eq!(bucket, chosen, "{asked} up to {to}");
            assert!(bucket.count_within(from, at(to), MAX_BARS) <= MAX_BARS);
        }
        let error = choose_bucket(Bucket::Hour, from, at("2040-01-01T00:00:00Z")).unwrap_err();
        assert_eq!(error.status(), 400);
        assert!(error.to_string().contains("200 months"), "{error}");
    }

    #[tokio::test]
    async fn bad_fields_are_400s_that_say_which() {
        let stats = spanning("2019-07-01T00:00:00Z", "2019-07-02T00:00:00Z");
        for (body, says) in [
            (json!({"download": "yes"}), "\"download\""),
            (json!({"bucket": "year"}), "\"bucket\""),
            (json!({"bucket": 3}), "\"bucket\""),
            (json!({"search": [{"value": ""}]}), "search[0].value"),
            (
                json!({"search": [{"dateRange": ["2019-07-02", "2019-07-01"]}]}),
                "dateRange",
            ),
            (json!({"search": "cats"}), ""),
        ] {
            let outcome = match serde_json::from_value::<ReportRequest>(body.clone()) {
                Ok(request) => plan(&stats, &request, Utc::now()).await.err(),
                Err(_) => Some(ApiError::bad_request("not a report request")),
            };
            let error = outcome.unwrap_or_else(|| panic!("{body} was accepted"));
            assert_eq!(error.status(), 400, "{body}");
            assert!(error.to_string().contains(says), "{body}: {error}");
        }
    }

    /// What was uploaded: key, content, bytes.
    type Objects = Arc<Mutex<Vec<(String, ContentInfo, Vec<u8>)>>>;

    /// A store that keeps what was uploaded and says in each URL how it was signed.
    #[derive(Debug, Default)]
    struct Kept {
        objects: Objects,
    }

    struct KeptUpload {
        objects: Objects,
        key: String,
        content: ContentInfo,
        bytes: Vec<u8>,
    }

    #[async_trait]
    impl MultipartUpload for KeptUpload {
        fn part_size(&self) -> usize {
            1000
        }

        async fn upload_part(&mut self, part: Bytes) -> Result<(), StoreError> {
            assert!(part.len() <= 1000, "parts no bigger than the part size");
            self.bytes.extend_from_slice(&part);
            Ok(())
        }

        async fn complete(self: Box<Self>) -> Result<StoredObject, StoreError> {
            let key = ObjectKey::new(self.key.clone()).unwrap();
            let bytes = self.bytes.len() as u64;
            self.objects
                .lock()
                .unwrap()
                .push((self.key, self.content, self.bytes));
            Ok(StoredObject { key, bytes })
        }

        async fn abort(self: Box<Self>) -> Result<(), StoreError> {
            Ok(())
        }
    }

    #[async_trait]
    impl ObjectStore for Kept {
        async fn start_upload(
            &self,
            key: &ObjectKey,
            content: &ContentInfo,
        ) -> Result<Box<dyn MultipartUpload>, StoreError> {
            Ok(Box::new(KeptUpload {
                objects: Arc::clone(&self.objects),
                key: key.to_string(),
                content: content.clone(),
                bytes: Vec::new(),
            }))
        }

        async fn presign_get(
            &self,
            key: &ObjectKey,
            _: &ContentInfo,
            _: Duration,
        ) -> Result<SignedUrl, StoreError> {
            Ok(SignedUrl::new(format!("https://store/{key}"), Utc::now()))
        }

        async fn exists(&self, key: &ObjectKey) -> Result<bool, StoreError> {
            let objects = self.objects.lock().unwrap();
            Ok(objects.iter().any(|(kept, _, _)| kept == key.as_str()))
        }

        async fn delete(&self, _: &ObjectKey) -> Result<(), StoreError> {
            Ok(())
        }
    }

    fn links() -> DownloadLinks {
        DownloadLinks::new(SigningKey::from_bytes([7; 32]), "https://api.example/dev")
    }

    /// The grant a link hands out, checked as the download route checks it.
    fn followed(url: &str) -> DownloadGrant {
        let rest = url
            .strip_prefix("https://api.example/dev/download/")
            .unwrap_or_else(|| panic!("not a link to the download route: {url}"));
        let (key, query) = rest.split_once('?').unwrap();
        links().check(key, query, Utc::now()).unwrap()
    }

    fn owner() -> Owner {
        Owner {
            sub: "user/../1".into(),
            email: "u@example.com".into(),
        }
    }

    #[tokio::test]
    async fn the_chart_is_stored_under_the_owners_reports_and_linked_inline_or_as_a_download() {
        let stats = spanning("2019-07-01T00:00:00Z", "2019-07-22T10:15:00Z");
        let store = Kept::default();
        let settings = ReportSettings::default();
        let body = json!({"search": [{"value": "cats"}]});
        let shown = report_graphical(&stats, &store, &links(), settings, &owner(), &request(body))
            .await
            .unwrap();
        let grant = followed(&shown);
        assert!(grant.key.starts_with("reports/user____1/"), "{shown}");
        assert!(
            grant
                .key
                .ends_with("-post-frequency-20190721T1100Z-20190722T1100Z.svg"),
            "{shown}"
        );
        assert_eq!(grant.disposition, Disposition::Inline);
        assert_eq!(grant.content_type, "image/svg+xml");
        let until = grant.expires_at - Utc::now();
        assert!(
            until > Span::hours(23) && until <= Span::hours(24),
            "{until}"
        );
        let downloaded = report_graphical(
            &stats,
            &store,
            &links(),
            settings,
            &owner(),
            &request(json!({"download": true})),
        )
        .await
        .unwrap();
        assert_eq!(followed(&downloaded).disposition, Disposition::Attachment);
        let objects = store.objects.lock().unwrap();
        let (key, content, bytes) = &objects[0];
        assert_eq!(*key, grant.key);
        assert_eq!(content.content_type, "image/svg+xml");
        assert_eq!(
            content.download_name,
            "post-frequency-20190721T1100Z-20190722T1100Z.svg"
        );
        let svg = String::from_utf8(bytes.clone()).unwrap();
        assert!(svg.contains("10 posts in total, 24 bars."), "{svg}");
        let asked = stats.asked.lock().unwrap();
        let (query, bucket) = &asked[1];
        assert_eq!(*bucket, Some(Bucket::Hour));
        assert_eq!(query.terms, ["cats"], "the histogram counts the search");
        assert_eq!(
            query.date_range.from,
            Some(at("2019-07-21T11:00:00Z")),
            "over the closed range"
        );
    }

    #[tokio::test]
    async fn the_trending_report_is_a_pdf_stored_beside_the_charts() {
        let stats = spanning("2019-07-01T00:00:00Z", "2019-07-22T10:15:00Z");
        let store = Kept::default();
        let body = json!({"download": true,
            "search": [{"dateRange": ["2019-07-01", "2019-08-01"]}]});
        let url = report_hybrid(
            &stats,
            &store,
            &links(),
            ReportSettings::default(),
            &owner(),
            &request(body),
        )
        .await
        .unwrap();
        let grant = followed(&url);
        assert!(
            grant
                .key
                .ends_with("-trending-tags-20190701T0000Z-20190801T0000Z.pdf"),
            "{url}"
        );
        assert_eq!(grant.disposition, Disposition::Attachment);
        let objects = store.objects.lock().unwrap();
        let (_, content, bytes) = &objects[0];
        assert_eq!(content.content_type, "application/pdf");
        assert!(bytes.starts_with(b"%PDF-"), "a PDF");
        assert!(bytes.len() > 1000, "in several parts");
    }

    #[tokio::test]
    async fn only_the_chart_refuses_a_range_longer_than_two_hundred_months() {
        let stats = spanning("1990-01-01T00:00:00Z", "2019-07-22T10:15:00Z");
        let store = Kept::default();
        let thirty_years = json!({"search": [{"dateRange": ["1990-01-01", "2020-01-01"]}]});
        let pdf = report_hybrid(
            &stats,
            &store,
            &links(),
            ReportSettings::default(),
            &owner(),
            &request(thirty_years.clone()),
        )
        .await;
        assert!(pdf.is_ok(), "the trending report has no bars: {pdf:?}");
        let chart = report_graphical(
            &stats,
            &store,
            &links(),
            ReportSettings::default(),
            &owner(),
            &request(thirty_years),
        )
        .await
        .unwrap_err();
        assert_eq!(chart.status(), 400);
        assert!(chart.to_string().contains("200 months"), "{chart}");
        assert_eq!(
            store.objects.lock().unwrap().len(),
            1,
            "only the PDF is stored"
        );
    }
}
