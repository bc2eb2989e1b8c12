//! Progress bars for long imports: drawn on stderr when it is a terminal, hidden otherwise so
//! logs and CI output stay clean.

use indicatif::{ProgressBar, ProgressStyle};
use std::io::IsTerminal;

/// A bar for `total` items (a spinner with a count when the total is unknown), labelled `what`.
/// Hidden when stderr is not a terminal.
pub fn bar(total: Option<u64>, what: &str) -> ProgressBar {
    if !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let (bar, template) = match total {
        Some(total) => (
            ProgressBar::new(total),
            "{msg} [{bar:40.cyan/blue}] {human_pos}/{human_len} ({per_sec}, eta {eta})",
        ),
        None => (
            ProgressBar::new_spinner(),
            "{spinner} {msg} {human_pos} ({per_sec}, {elapsed})",
        ),
    };
    let style = ProgressStyle::with_template(template)
        .map(|style| style.progress_chars("=> "))
        .unwrap_or_else(|_| ProgressStyle::default_bar());
    bar.set_style(style);
    bar.set_message(what.to_owned());
    bar.enable_steady_tick(std::time::Duration::from_millis(200));
    bar
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bar_off_a_terminal_still_counts() {
        // Test output is captured, so stderr is usually not a terminal; either way the bar counts.
        let bar = bar(Some(10), "posts");
        bar.inc(3);
        assert_eq!(bar.position(), 3);
        bar.finish_and_clear();
    }
}
