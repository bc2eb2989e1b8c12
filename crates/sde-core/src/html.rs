//! Putting text into HTML: every string that reaches an email or a page from a user, a link or a
//! server goes through [`escape`], in element content and in quoted attribute values alike.

/// `text` with `&`, `<`, `>`, `"` and `'` written as character references, so it is shown as
/// text and never read as markup, in element content or inside a quoted attribute value.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markup_and_quotes_become_text() {
        assert_eq!(
            escape(r#"<a href="x" onclick='y'>Tom & Jerry</a>"#),
            "&lt;a href=&quot;x&quot; onclick=&#39;y&#39;&gt;Tom &amp; Jerry&lt;/a&gt;"
        );
        assert_eq!(escape("ünïcödé 🐈"), "ünïcödé 🐈");
    }
}
