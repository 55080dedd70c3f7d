//! The self-contained HTML report: one file, the JSON report embedded in a
//! template that draws its charts with inline script and no network.

/// The page; the report goes where the placeholder is.
const TEMPLATE: &str = include_str!("report.html");
const PLACEHOLDER: &str = "__STORMDB_REPORT_JSON__";

/// The HTML page for a JSON report (`json` must already be valid JSON).
///
/// The JSON sits in a `<script type="application/json">` element. Every
/// `<` is written as the JSON escape `\u003c`, so no string in the report
/// (a plugin's error message, a SQL text) can close the element or open
/// markup: the page reads the data back with `JSON.parse`, which turns the
/// escapes into the original characters.
pub fn render(json: &str) -> String {
    let safe = json.replace('<', "\\u003c");
    TEMPLATE.replacen(PLACEHOLDER, &safe, 1)
}

/// Writes the page for `json` to `path`.
pub fn write(path: &std::path::Path, json: &str) -> std::io::Result<()> {
    std::fs::write(path, render(json))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_template_has_exactly_one_placeholder() {
        assert_eq!(TEMPLATE.matches(PLACEHOLDER).count(), 1);
    }

    #[test]
    fn hostile_strings_cannot_leave_the_data_element() {
        let json =
            serde_json::json!({"error": "</script><script>alert(1)</script><!--"}).to_string();
        let page = render(&json);
        let start = page.find("id=\"report-data\">").unwrap();
        let rest = &page[start..];
        let end = rest.find("</script>").unwrap();
        let data = &rest["id=\"report-data\">".len()..end];
        assert!(!data.contains('<'), "{data}");
        let back: serde_json::Value = serde_json::from_str(data).unwrap();
        assert_eq!(back["error"], "</script><script>alert(1)</script><!--");
    }
}
