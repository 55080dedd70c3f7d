//! Commands on finished reports: `compare` and `html`.

use crate::cli::{CompareArgs, HtmlArgs};
use crate::report::{compare, html};
use anyhow::{Context as _, bail};

/// `stormdb compare A.json B.json`: prints the comparison; exit 1 with
/// `--fail-on-regression` when B is significantly worse.
pub fn compare_reports(args: &CompareArgs) -> anyhow::Result<i32> {
    if !(args.alpha > 0.0 && args.alpha < 1.0) {
        bail!("--alpha must be between 0 and 1, not {}", args.alpha);
    }
    let a = compare::read(&args.a)?;
    let b = compare::read(&args.b)?;
    let c = compare::compare(&a, &b, args.alpha);
    print!(
        "{}",
        compare::render(
            &c,
            &args.a.display().to_string(),
            &args.b.display().to_string()
        )
    );
    if let Some(path) = &args.json_out {
        let json = serde_json::to_string_pretty(&c)?;
        std::fs::write(path, json + "\n")
            .with_context(|| format!("writing the comparison to {}", path.display()))?;
    }
    Ok(if args.fail_on_regression && c.regression {
        1
    } else {
        0
    })
}

/// `stormdb html REPORT.json -o REPORT.html`.
pub fn html_report(args: &HtmlArgs) -> anyhow::Result<i32> {
    let text = std::fs::read_to_string(&args.report)
        .with_context(|| format!("reading {}", args.report.display()))?;
    // Re-encoded so only well-formed JSON reaches the page.
    let value: serde_json::Value = serde_json::from_str(&text)
        .with_context(|| format!("{} is not JSON", args.report.display()))?;
    if value
        .get("schema_version")
        .and_then(|v| v.as_u64())
        .is_none()
    {
        bail!(
            "{} is not a StormDB report (it has no schema_version)",
            args.report.display()
        );
    }
    if value.get("kind").and_then(|k| k.as_str()) == Some("mix") {
        bail!(
            "{} is the report of a mix; render one of its runs (e.g. `jq '.runs[0]'`)",
            args.report.display()
        );
    }
    html::write(&args.out, &serde_json::to_string(&value)?)
        .with_context(|| format!("writing {}", args.out.display()))?;
    Ok(0)
}
