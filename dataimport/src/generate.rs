//! A deterministic generator of realistic posts: English-ish sentences from an embedded
//! vocabulary, Zipf-distributed hashtags, users `1..=N`, dates spread over a range, and a few
//! percent of hostile content so exports are exercised for real.
//!
//! Known rates (per post, independent draws), for tests that need a selective or a common term:
//!
//! | term                       | where            | share of posts |
//! |----------------------------|------------------|----------------|
//! | [`SELECTIVE_TAG`] `#aurora`| `Tags` only      | ~2 %           |
//! | [`SELECTIVE_WORD`] `zeppelin` | `Content` only | ~3 %           |
//! | [`COMMON_WORD`] `today`    | `Content` only   | ~60 %          |
//! | edge content               | see [`EDGE_RATE`]| ~4 %           |
//!
//! The same seed yields the same sequence for a given build (the ChaCha8 stream and `rand`'s
//! sampling are stable within the pinned lockfile).

use crate::vocab;
use chrono::{DateTime, TimeZone, Utc};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use sde_core::{Post, UserId};
use std::fmt::Write as _;

/// A rare tag carried by about [`SELECTIVE_TAG_RATE`] of posts; its word appears nowhere else.
pub const SELECTIVE_TAG: &str = "#aurora";
/// Share of posts carrying [`SELECTIVE_TAG`].
pub const SELECTIVE_TAG_RATE: f64 = 0.02;
/// A rare content word carried by about [`SELECTIVE_WORD_RATE`] of posts, never in tags.
pub const SELECTIVE_WORD: &str = "zeppelin";
/// Share of posts whose content mentions [`SELECTIVE_WORD`].
pub const SELECTIVE_WORD_RATE: f64 = 0.03;
/// A common content word carried by about [`COMMON_WORD_RATE`] of posts, never in tags.
pub const COMMON_WORD: &str = "today";
/// Share of posts whose content mentions [`COMMON_WORD`].
pub const COMMON_WORD_RATE: f64 = 0.6;
/// Share of posts with hostile content: commas, quotes, line breaks, non-ASCII text, emoji or a
/// leading `=`, `+`, `-`, `@` (and sometimes an awkward tag). All other posts hold only ASCII
/// letters, spaces and `.`/`!`/`?`.
pub const EDGE_RATE: f64 = 0.04;
/// Share of edge posts that also carry an awkward tag (non-ASCII, comma, quote, `=`).
const EDGE_TAG_RATE: f64 = 0.3;
/// Zipf exponent of the hashtag popularity ranks.
const TAG_ZIPF_EXPONENT: f64 = 1.1;
/// Weights of 0, 1, 2, 3 and 4 tags per post.
const TAG_COUNT_WEIGHTS: [u32; 5] = [20, 30, 25, 15, 10];

/// What to generate. Dates are uniform over `[from, to)` with millisecond precision; the newest
/// `string_user_ids_percent` percent of that range carry Cognito-style `sub` user ids, older
/// posts numeric ids, as in the real index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GeneratorConfig {
    /// Seeds every random choice; the same seed gives the same posts.
    pub seed: u64,
    /// Numeric user ids are drawn from `1..=users` (0 is treated as 1).
    pub users: u32,
    /// Earliest `DateCreated` (inclusive).
    pub from: DateTime<Utc>,
    /// Latest `DateCreated` (exclusive). If not after `from`, every post is dated `from`.
    pub to: DateTime<Utc>,
    /// Percent (0–100) of the date range, counted back from `to`, whose posts carry a string
    /// `sub` instead of a numeric user id. Values above 100 count as 100.
    pub string_user_ids_percent: u8,
}

impl Default for GeneratorConfig {
    /// Seed 42, 5 000 users, the year 2019, the last 20 % of it with string user ids.
    fn default() -> Self {
        GeneratorConfig {
            seed: 42,
            users: 5_000,
            from: Utc
                .with_ymd_and_hms(2019, 1, 1, 0, 0, 0)
                .single()
                .unwrap_or_default(),
            to: Utc
                .with_ymd_and_hms(2020, 1, 1, 0, 0, 0)
                .single()
                .unwrap_or_default(),
            string_user_ids_percent: 20,
        }
    }
}

/// An endless, deterministic stream of posts; take as many as needed with `.take(n)`.
///
/// Post ids are `"{seed:x}-{n:08}"` with `n` counting from 0, so they are unique within a seed.
#[derive(Debug, Clone)]
pub struct PostGenerator {
    seed: u64,
    users: u32,
    rng: ChaCha8Rng,
    next: u64,
    /// First eligible millisecond since the epoch.
    start_ms: i64,
    /// Number of eligible milliseconds; 0 means every post is dated `from`.
    span_ms: i64,
    /// Posts dated at or after this millisecond carry a string user id.
    string_ids_from_ms: i64,
    from: DateTime<Utc>,
    /// Cumulative Zipf weights of [`vocab::TAGS`].
    tag_cumulative: Vec<u32>,
}

impl PostGenerator {
    /// Starts the stream described by `config`.
    pub fn new(config: GeneratorConfig) -> Self {
        let start_ms = ceil_millis(config.from);
        // Exclusive end: the first millisecond not before `to`.
        let end_ms = ceil_millis(config.to);
        let span_ms = (end_ms - start_ms).max(0);
        let percent = i64::from(config.string_user_ids_percent.min(100));
        let string_ids_from_ms = if percent == 0 {
            i64::MAX
        } else {
            // i128 so that huge ranges cannot overflow.
            end_ms - (i128::from(span_ms) * i128::from(percent) / 100) as i64
        };
        let mut total = 0u32;
        let tag_cumulative = (1..=vocab::TAGS.len())
            .map(|rank| {
                total += (1_000_000.0 / (rank as f64).powf(TAG_ZIPF_EXPONENT)) as u32;
                total
            })
            .collect();
        PostGenerator {
            seed: config.seed,
            users: config.users.max(1),
            rng: ChaCha8Rng::seed_from_u64(config.seed),
            next: 0,
            start_ms,
            span_ms,
            string_ids_from_ms,
            from: config.from,
            tag_cumulative,
        }
    }

    fn date_millis(&mut self) -> i64 {
        if self.span_ms == 0 {
            self.start_ms
        } else {
            self.start_ms + self.rng.random_range(0..self.span_ms)
        }
    }

    fn pick<'a>(&mut self, words: &[&'a str]) -> &'a str {
        words[self.rng.random_range(0..words.len())]
    }

    /// Index drawn with the given relative weights.
    fn weighted(&mut self, weights: &[u32]) -> usize {
        let total: u32 = weights.iter().sum();
        let mut roll = self.rng.random_range(0..total);
        for (i, &w) in weights.iter().enumerate() {
            if roll < w {
                return i;
            }
            roll -= w;
        }
        weights.len() - 1
    }

    fn zipf_tag(&mut self) -> &'static str {
        let total = self.tag_cumulative.last().copied().unwrap_or(1);
        let roll = self.rng.random_range(0..total);
        let rank = self.tag_cumulative.partition_point(|&c| c <= roll);
        vocab::TAGS[rank.min(vocab::TAGS.len() - 1)]
    }

    fn noun_phrase(&mut self, out: &mut String) {
        out.push_str(self.pick(vocab::DETERMINERS));
        out.push(' ');
        if self.rng.random_bool(0.6) {
            out.push_str(self.pick(vocab::ADJECTIVES));
            out.push(' ');
        }
        out.push_str(self.pick(vocab::NOUNS));
    }

    /// Appends one sentence (capitalised, with final punctuation); `time` overrides the optional
    /// time phrase.
    fn sentence(&mut self, out: &mut String, time: Option<&str>) {
        let start = out.len();
        let ending = match self.weighted(&[70, 15, 15]) {
            0 => {
                if self.rng.random_bool(0.3) {
                    out.push_str(self.pick(vocab::PRONOUNS));
                } else {
                    self.noun_phrase(out);
                }
                out.push(' ');
                out.push_str(self.pick(vocab::VERBS));
                out.push(' ');
                self.noun_phrase(out);
                if self.rng.random_bool(0.6) {
                    out.push(' ');
                    out.push_str(self.pick(vocab::PREPOSITIONS));
                    out.push(' ');
                    self.noun_phrase(out);
                }
                if self.rng.random_bool(0.15) { '!' } else { '.' }
            }
            1 => {
                out.push_str("can anyone recommend a good ");
                out.push_str(self.pick(vocab::NOUNS));
                out.push(' ');
                out.push_str(self.pick(vocab::PREPOSITIONS));
                out.push(' ');
                self.noun_phrase(out);
                '?'
            }
            _ => {
                out.push_str("what a ");
                out.push_str(self.pick(vocab::ADJECTIVES));
                out.push(' ');
                out.push_str(self.pick(vocab::NOUNS));
                '!'
            }
        };
        match time {
            Some(time) => {
                out.push(' ');
                out.push_str(time);
            }
            None if self.rng.random_bool(0.3) => {
                out.push(' ');
                out.push_str(self.pick(vocab::TIMES));
            }
            None => {}
        }
        out.push(ending);
        // Every vocabulary word starts with an ASCII letter, so this stays on a char boundary.
        out[start..start + 1].make_ascii_uppercase();
    }

    fn content(&mut self) -> String {
        let mut content = String::with_capacity(160);
        let sentences = 1 + self.weighted(&[50, 35, 15]);
        let today = self
            .rng
            .random_bool(COMMON_WORD_RATE)
            .then_some(COMMON_WORD);
        for i in 0..sentences {
            if i > 0 {
                content.push(' ');
            }
            self.sentence(&mut content, if i == 0 { today } else { None });
        }
        if self.rng.random_bool(SELECTIVE_WORD_RATE) {
            content.push_str(" A ");
            content.push_str(SELECTIVE_WORD);
            content.push_str(" drifted over the ");
            content.push_str(self.pick(vocab::NOUNS));
            content.push('.');
        }
        content
    }

    /// Turns ordinary content into hostile content: one or two of formula prefix, punctuation,
    /// line breaks, non-ASCII text and emoji.
    fn make_edge(&mut self, content: String, tags: &mut Vec<String>) -> String {
        let first = self.rng.random_range(0..5u8);
        let second = self
            .rng
            .random_bool(0.3)
            .then(|| self.rng.random_range(0..5u8));
        let has = |kind: u8| first == kind || second == Some(kind);
        let mut content = content;
        if has(1) {
            content.push(' ');
            content.push_str(self.pick(vocab::PUNCTUATION_FRAGMENTS));
        }
        if has(2) {
            let separator = self.pick(vocab::NEWLINES);
            if self.rng.random_bool(0.2) {
                content.push_str(separator);
            } else {
                content.push_str(separator);
                self.sentence(&mut content, None);
            }
        }
        if has(3) {
            let fragment = self.pick(vocab::NON_ASCII_FRAGMENTS);
            if self.rng.random_bool(0.3) {
                content = format!("{fragment} {content}");
            } else {
                content.push(' ');
                content.push_str(fragment);
            }
        }
        if has(4) {
            let emoji = self.pick(vocab::EMOJI);
            if self.rng.random_bool(0.3) {
                content = format!("{emoji} {content}");
            } else {
                content.push(' ');
                content.push_str(emoji);
            }
        }
        // Last, so the sign really leads the cell.
        if has(0) {
            content = format!("{} {content}", self.pick(vocab::FORMULA_PREFIXES));
        }
        if self.rng.random_bool(EDGE_TAG_RATE) {
            let tag = self.pick(vocab::EDGE_TAGS);
            tags.push(tag.to_owned());
        }
        content
    }

    fn user_id(&mut self, date_ms: i64) -> UserId {
        let user = self.rng.random_range(1..=self.users);
        if date_ms >= self.string_ids_from_ms {
            UserId::Text(cognito_sub(self.seed, user))
        } else {
            UserId::Int(i64::from(user))
        }
    }
}

impl Iterator for PostGenerator {
    type Item = Post;

    fn next(&mut self) -> Option<Post> {
        let n = self.next;
        self.next += 1;
        let date_ms = self.date_millis();
        let user_id = self.user_id(date_ms);
        let mut content = self.content();
        let tag_count = self.weighted(&TAG_COUNT_WEIGHTS);
        let mut tags: Vec<String> = Vec::with_capacity(tag_count + 1);
        for _ in 0..tag_count {
            let tag = self.zipf_tag();
            if !tags.iter().any(|t| t == tag) {
                tags.push(tag.to_owned());
            }
        }
        if self.rng.random_bool(SELECTIVE_TAG_RATE) {
            tags.push(SELECTIVE_TAG.to_owned());
        }
        if self.rng.random_bool(EDGE_RATE) {
            content = self.make_edge(content, &mut tags);
        }
        let date_created = DateTime::<Utc>::from_timestamp_millis(date_ms).unwrap_or(self.from);
        let mut id = String::with_capacity(24);
        let _ = write!(id, "{:x}-{n:08}", self.seed);
        Some(Post {
            id,
            user_id,
            date_created,
            content,
            tags,
        })
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (usize::MAX, None)
    }
}

impl std::iter::FusedIterator for PostGenerator {}

/// Milliseconds since the epoch, rounded up, so the result is never before `t`.
fn ceil_millis(t: DateTime<Utc>) -> i64 {
    let floor = t.timestamp_millis();
    if t.timestamp_subsec_nanos() == t.timestamp_subsec_millis() * 1_000_000 {
        floor
    } else {
        floor + 1
    }
}

/// A UUID v4-shaped `sub` that is stable per `(seed, user)`, as a Cognito user keeps their `sub`.
fn cognito_sub(seed: u64, user: u32) -> String {
    let high = splitmix64(seed ^ splitmix64(u64::from(user)));
    let low = splitmix64(high ^ 0x5bd1_e995_9e37_79b9);
    let high = (high & 0xffff_ffff_ffff_0fff) | 0x0000_0000_0000_4000; // version 4
    let low = (low & 0x3fff_ffff_ffff_ffff) | 0x8000_0000_0000_0000; // RFC 4122 variant
    format!(
        "{:08x}-{:04x}-{:04x}-{:04x}-{:012x}",
        high >> 32,
        (high >> 16) & 0xffff,
        high & 0xffff,
        low >> 48,
        low & 0xffff_ffff_ffff
    )
}

fn splitmix64(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    const SAMPLE: usize = 10_000;

    fn sample(config: GeneratorConfig) -> Vec<Post> {
        PostGenerator::new(config).take(SAMPLE).collect()
    }

    fn default_sample() -> Vec<Post> {
        sample(GeneratorConfig::default())
    }

    fn share(posts: &[Post], pred: impl Fn(&Post) -> bool) -> f64 {
        posts.iter().filter(|p| pred(p)).count() as f64 / posts.len() as f64
    }

    /// Lowercase alphanumeric tokens, roughly what a standard analyzer produces.
    fn has_token(text: &str, token: &str) -> bool {
        text.split(|c: char| !c.is_alphanumeric())
            .any(|t| t.eq_ignore_ascii_case(token))
    }

    fn mentions(post: &Post, token: &str) -> bool {
        has_token(&post.content, token) || post.tags.iter().any(|t| has_token(t, token))
    }

    fn is_edge_text(text: &str) -> bool {
        text.chars()
            .any(|c| !c.is_ascii() || matches!(c, ',' | '"' | '\r' | '\n' | '\t' | '\\'))
    }

    fn is_edge(post: &Post) -> bool {
        is_edge_text(&post.content)
            || post.content.starts_with(['=', '+', '-', '@'])
            || post
                .tags
                .iter()
                .any(|t| is_edge_text(t) || t.starts_with("#="))
    }

    #[test]
    fn the_same_seed_yields_the_same_posts() {
        assert_eq!(default_sample(), default_sample());
    }

    #[test]
    fn different_seeds_yield_different_posts() {
        let other = sample(GeneratorConfig {
            seed: 43,
            ..GeneratorConfig::default()
        });
        let same = default_sample()
            .iter()
            .zip(&other)
            .filter(|(a, b)| a.content == b.content)
            .count();
        assert!(same < SAMPLE / 100, "{same} identical contents");
    }

    #[test]
    fn ids_are_unique_and_derived_from_the_seed() {
        let posts = default_sample();
        assert_eq!(posts[0].id, "2a-00000000");
        assert_eq!(posts[12].id, "2a-00000012");
        let unique: std::collections::HashSet<_> = posts.iter().map(|p| &p.id).collect();
        assert_eq!(unique.len(), posts.len());
    }

    #[test]
    fn dates_fall_within_the_range_with_millisecond_precision() {
        let config = GeneratorConfig {
            from: "2019-07-21T00:00:00.000250Z".parse().unwrap(),
            to: "2019-07-23T00:00:00Z".parse().unwrap(),
            ..GeneratorConfig::default()
        };
        let posts = sample(config.clone());
        for post in &posts {
            assert!(post.date_created >= config.from && post.date_created < config.to);
            assert_eq!(post.date_created.timestamp_subsec_nanos() % 1_000_000, 0);
        }
        let distinct_days: std::collections::HashSet<_> =
            posts.iter().map(|p| p.date_created.date_naive()).collect();
        assert_eq!(distinct_days.len(), 2, "dates spread over the whole range");
    }

    #[test]
    fn an_empty_range_dates_every_post_at_its_start() {
        let from: DateTime<Utc> = "2019-07-21T00:00:00Z".parse().unwrap();
        let posts: Vec<Post> = PostGenerator::new(GeneratorConfig {
            from,
            to: from,
            ..GeneratorConfig::default()
        })
        .take(100)
        .collect();
        assert!(posts.iter().all(|p| p.date_created == from));
    }

    #[test]
    fn numeric_user_ids_stay_within_one_to_n() {
        let posts = sample(GeneratorConfig {
            users: 50,
            string_user_ids_percent: 0,
            ..GeneratorConfig::default()
        });
        let mut seen = std::collections::HashSet::new();
        for post in &posts {
            match post.user_id {
                UserId::Int(n) => assert!((1..=50).contains(&n), "user {n}"),
                UserId::Text(ref s) => panic!("unexpected string user id {s}"),
            }
            seen.insert(post.user_id.clone());
        }
        assert_eq!(seen.len(), 50, "every user posts something");
    }

    #[test]
    fn the_newest_posts_carry_cognito_style_string_user_ids() {
        let posts = sample(GeneratorConfig {
            users: 20,
            string_user_ids_percent: 25,
            ..GeneratorConfig::default()
        });
        let text_share = share(&posts, |p| matches!(p.user_id, UserId::Text(_)));
        assert!((0.22..0.28).contains(&text_share), "{text_share}");
        let newest_int = posts
            .iter()
            .filter(|p| matches!(p.user_id, UserId::Int(_)))
            .map(|p| p.date_created)
            .max();
        let oldest_text = posts
            .iter()
            .filter(|p| matches!(p.user_id, UserId::Text(_)))
            .map(|p| p.date_created)
            .min();
        assert!(newest_int < oldest_text, "string ids are the newer posts");
        let mut subs = std::collections::HashSet::new();
        for post in &posts {
            if let UserId::Text(sub) = &post.user_id {
                let groups: Vec<&str> = sub.split('-').collect();
                let lengths: Vec<usize> = groups.iter().map(|g| g.len()).collect();
                assert_eq!(lengths, [8, 4, 4, 4, 12], "{sub}");
                assert!(
                    sub.chars()
                        .all(|c| c == '-' || matches!(c, '0'..='9' | 'a'..='f'))
                );
                assert!(groups[2].starts_with('4'), "version 4: {sub}");
                assert!(
                    groups[3].starts_with(['8', '9', 'a', 'b']),
                    "variant: {sub}"
                );
                subs.insert(sub.clone());
            }
        }
        assert_eq!(subs.len(), 20, "one stable sub per user");
    }

    #[test]
    fn about_four_percent_of_posts_carry_edge_content() {
        let edge = share(&default_sample(), is_edge);
        assert!((0.03..=0.05).contains(&edge), "edge share {edge}");
    }

    #[test]
    fn ordinary_posts_hold_only_letters_spaces_and_sentence_ends() {
        for post in default_sample().iter().filter(|p| !is_edge(p)) {
            assert!(
                post.content
                    .chars()
                    .all(|c| c.is_ascii_alphabetic() || matches!(c, ' ' | '.' | '!' | '?')),
                "{:?}",
                post.content
            );
            assert!(post.content.starts_with(|c: char| c.is_ascii_uppercase()));
        }
    }

    #[test]
    fn every_kind_of_edge_case_occurs_in_ten_thousand_posts() {
        let posts = default_sample();
        let any_content = |pred: &dyn Fn(&str) -> bool| posts.iter().any(|p| pred(&p.content));
        assert!(any_content(&|c| c.contains(',')), "comma");
        assert!(any_content(&|c| c.contains('"')), "double quote");
        assert!(any_content(&|c| c.contains("\r\n")), "CRLF");
        assert!(
            any_content(&|c| c.contains('\n') && !c.contains('\r')),
            "LF"
        );
        assert!(
            any_content(&|c| c.chars().any(|c| ('À'..='ž').contains(&c))),
            "accents"
        );
        assert!(
            any_content(&|c| c.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c))),
            "CJK"
        );
        assert!(
            any_content(&|c| c.chars().any(|c| ('\u{0590}'..='\u{06ff}').contains(&c))),
            "RTL"
        );
        assert!(
            any_content(&|c| c.chars().any(|c| c >= '\u{1f300}')),
            "emoji"
        );
        for sign in ['=', '+', '-', '@'] {
            assert!(any_content(&|c| c.starts_with(sign)), "leading {sign}");
        }
        let any_tag =
            |pred: &dyn Fn(&str) -> bool| posts.iter().flat_map(|p| &p.tags).any(|t| pred(t));
        assert!(any_tag(&|t| !t.is_ascii()), "non-ASCII tag");
        assert!(any_tag(&|t| t.contains(',')), "tag with a comma");
        assert!(any_tag(&|t| t.contains('"')), "tag with a quote");
    }

    #[test]
    fn the_selective_tag_matches_about_two_percent_of_posts() {
        let posts = default_sample();
        let tagged = share(&posts, |p| p.tags.iter().any(|t| t == SELECTIVE_TAG));
        let matching = share(&posts, |p| mentions(p, "aurora"));
        assert!((0.01..=0.03).contains(&tagged), "{tagged}");
        assert_eq!(tagged, matching, "the word appears only as the tag");
    }

    #[test]
    fn the_selective_word_matches_about_three_percent_of_posts() {
        let posts = default_sample();
        let matching = share(&posts, |p| mentions(p, SELECTIVE_WORD));
        assert!((0.02..=0.04).contains(&matching), "{matching}");
        assert!(
            posts
                .iter()
                .flat_map(|p| &p.tags)
                .all(|t| !has_token(t, SELECTIVE_WORD))
        );
    }

    #[test]
    fn the_common_word_matches_most_posts() {
        let matching = share(&default_sample(), |p| mentions(p, COMMON_WORD));
        assert!((0.55..=0.65).contains(&matching), "{matching}");
    }

    #[test]
    fn posts_carry_up_to_four_distinct_hashtags_with_skewed_popularity() {
        let posts = default_sample();
        let mut counts: HashMap<&str, usize> = HashMap::new();
        for post in &posts {
            let ordinary: Vec<&String> = post
                .tags
                .iter()
                .filter(|t| vocab::TAGS.contains(&t.as_str()))
                .collect();
            assert!(ordinary.len() <= 4, "{:?}", post.tags);
            assert!(post.tags.iter().all(|t| t.starts_with('#')));
            let distinct: std::collections::HashSet<_> = post.tags.iter().collect();
            assert_eq!(distinct.len(), post.tags.len(), "{:?}", post.tags);
            for tag in ordinary {
                *counts.entry(tag.as_str()).or_default() += 1;
            }
        }
        let top = share(&posts, |p| p.tags.iter().any(|t| t == vocab::TAGS[0]));
        let rarest = counts.values().copied().min().unwrap_or(0) as f64 / posts.len() as f64;
        assert!(top > 0.2, "most popular tag share {top}");
        assert!(rarest < 0.01, "rarest tag share {rarest}");
        assert!(
            share(&posts, |p| p.tags.is_empty()) > 0.1,
            "some posts have no tags"
        );
    }
}
