//! Formatting numbers and dates for people: thousands separators, UTC dates, shortened labels.

use chrono::{DateTime, Utc};

/// `1234567` as `1,234,567`.
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, digit) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(digit);
    }
    out
}

/// `21 Jul 2019 08:00 UTC`.
pub fn moment(at: DateTime<Utc>) -> String {
    at.format("%-d %b %Y %H:%M UTC").to_string()
}

/// `21 Jul 2019 00:00 – 22 Jul 2019 00:00 UTC`: a half-open range, the zone said once.
pub fn range(from: DateTime<Utc>, to: DateTime<Utc>) -> String {
    format!("{} – {}", from.format("%-d %b %Y %H:%M"), moment(to))
}

/// `text` cut to `max` characters, ending in `…` when cut.
pub fn shorten(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let mut short: String = text.chars().take(max.saturating_sub(1)).collect();
    short.push('…');
    short
}

/// `n` as a percentage of `of` with one decimal (`0.0 %` of nothing).
pub fn share(n: u64, of: u64) -> String {
    if of == 0 {
        return "0.0 %".to_owned();
    }
    format!("{:.1} %", n as f64 * 100.0 / of as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_get_thousands_separators() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1_000), "1,000");
        assert_eq!(thousands(1_234_567), "1,234,567");
    }

    #[test]
    fn long_labels_are_shortened_with_an_ellipsis() {
        assert_eq!(shorten("#cats", 10), "#cats");
        assert_eq!(shorten("#ünïcödé-and-more", 6), "#ünïc…");
    }

    #[test]
    fn shares_have_one_decimal() {
        assert_eq!(share(1, 3), "33.3 %");
        assert_eq!(share(0, 0), "0.0 %");
    }
}
