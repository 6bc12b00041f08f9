//! The report a researcher reads: a small document model ([`Report`] → [`Section`]s with
//! paragraphs, tables and charts) and two writers.
//!
//! * [`write_html`] writes ONE self-contained page: inline CSS, charts inlined as SVG, no
//!   scripts and no external resources; all text is HTML-escaped.
//! * [`write_markdown`] writes `report.md`, referencing the PNG charts by relative path
//!   (`charts/xxx.png`); text is escaped so data never turns into Markdown markup.
//!
//! Both are pure functions of the report (no dates, no hostnames), so identical reports give
//! byte-identical files, and both are written atomically through [`crate::output::atomic`].

use std::fmt::Write as _;
use std::path::Path;

use crate::charts::RenderedChart;
use crate::output::{IoError, write_atomic};

/// A whole report page.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Report {
    /// The page title (`<h1>`).
    pub title: String,
    /// A line under the title.
    pub subtitle: Option<String>,
    /// The sections, in order.
    pub sections: Vec<Section>,
}

/// One titled part of a report, rendered in field order: paragraphs, tables, charts.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Section {
    /// The section heading (`<h2>`).
    pub heading: String,
    /// Plain sentences; each element is one paragraph.
    pub paragraphs: Vec<String>,
    /// Tables, after the paragraphs.
    pub tables: Vec<Table>,
    /// Charts, after the tables.
    pub charts: Vec<ChartRef>,
}

/// A table with a header row. Cells that look numeric are right-aligned in HTML.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Table {
    /// A caption above the table.
    pub caption: Option<String>,
    /// Column headings.
    pub header: Vec<String>,
    /// Rows of cells, each as long as the header.
    pub rows: Vec<Vec<String>>,
}

/// A chart placed in a report: its SVG text (inlined into HTML), the PNG path relative to the
/// report file (used by Markdown) and a one-line caption.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ChartRef {
    /// The chart as an SVG document (inlined into HTML).
    pub svg: String,
    /// The PNG, relative to the page (linked from Markdown).
    pub png_path: String,
    /// One line under the chart.
    pub caption: String,
}

impl Report {
    /// A page titled `title`, empty.
    pub fn new(title: impl Into<String>) -> Self {
        Self { title: title.into(), ..Self::default() }
    }

    /// Sets the subtitle.
    pub fn with_subtitle(mut self, subtitle: impl Into<String>) -> Self {
        self.subtitle = Some(subtitle.into());
        self
    }

    /// Adds a section.
    pub fn with_section(mut self, section: Section) -> Self {
        self.sections.push(section);
        self
    }
}

impl Section {
    /// A section headed `heading`, empty.
    pub fn new(heading: impl Into<String>) -> Self {
        Self { heading: heading.into(), ..Self::default() }
    }

    /// Adds a paragraph of plain text.
    pub fn with_paragraph(mut self, text: impl Into<String>) -> Self {
        self.paragraphs.push(text.into());
        self
    }

    /// Adds a table.
    pub fn with_table(mut self, table: Table) -> Self {
        self.tables.push(table);
        self
    }

    /// Adds a chart.
    pub fn with_chart(mut self, chart: ChartRef) -> Self {
        self.charts.push(chart);
        self
    }
}

impl Table {
    /// A table with `header` and `rows`.
    pub fn new(header: Vec<String>, rows: Vec<Vec<String>>) -> Self {
        Self { caption: None, header, rows }
    }

    /// A two-column "Metric | Value" table.
    pub fn key_value<K: Into<String>, V: Into<String>>(pairs: impl IntoIterator<Item = (K, V)>) -> Self {
        Self::new(
            vec!["Metric".to_owned(), "Value".to_owned()],
            pairs.into_iter().map(|(k, v)| vec![k.into(), v.into()]).collect(),
        )
    }

    /// Sets the caption.
    pub fn with_caption(mut self, caption: impl Into<String>) -> Self {
        self.caption = Some(caption.into());
        self
    }
}

impl ChartRef {
    /// A chart from its SVG text, its PNG path relative to the page, and its caption.
    pub fn new(svg: impl Into<String>, png_path: impl Into<String>, caption: impl Into<String>) -> Self {
        Self { svg: svg.into(), png_path: png_path.into(), caption: caption.into() }
    }

    /// From a rendered chart; the PNG is referenced as `<rel_dir>/<file name>` (e.g. `charts`).
    pub fn from_rendered(chart: &RenderedChart, rel_dir: &str, caption: impl Into<String>) -> Self {
        let file = chart.png_path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let rel_dir = rel_dir.trim_end_matches('/');
        let png_path = if rel_dir.is_empty() { file } else { format!("{rel_dir}/{file}") };
        Self::new(chart.svg.clone(), png_path, caption)
    }
}

// ---------------------------------------------------------------------------------------------
// HTML

const CSS: &str = "\
:root{color-scheme:light}\
body{margin:0;background:#fafafa;color:#1e1e1e;font:16px/1.55 system-ui,-apple-system,'Segoe UI',\
Roboto,'DejaVu Sans',sans-serif}\
main{max-width:1240px;margin:0 auto;padding:24px 32px 64px}\
h1{font-size:2rem;margin:0.4em 0 0.1em}\
.subtitle{color:#555;margin:0 0 1.5em}\
h2{font-size:1.4rem;margin:2em 0 0.6em;padding-bottom:0.2em;border-bottom:1px solid #ddd}\
p{max-width:80ch}\
.table{overflow-x:auto;max-width:100%}\
table{border-collapse:collapse;margin:1em 0;background:#fff;font-variant-numeric:tabular-nums}\
caption{caption-side:top;text-align:left;font-weight:600;padding:0 0 0.4em}\
th,td{border:1px solid #ddd;padding:0.35em 0.8em;text-align:left;vertical-align:top}\
th{background:#f0f0f0}\
td.num{text-align:right}\
figure{margin:1.5em 0;background:#fff;border:1px solid #e2e2e2;padding:8px}\
figure svg{display:block;width:100%;height:auto}\
figcaption{color:#444;padding:0.4em 0.2em 0}\
.omitted{color:#a00}\
";

/// Escapes text for HTML element content and attribute values.
pub fn escape_html(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
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

fn looks_numeric(cell: &str) -> bool {
    let t = cell.trim().trim_end_matches('%').trim_start_matches(['+', '-', '−']).replace([',', '_'], "");
    !t.is_empty() && t.parse::<f64>().is_ok()
}

/// Prepares an SVG document for inlining: drops an XML prolog and the `xmlns` attribute (not
/// needed inside HTML, and it is the only URL in the file), adds an accessible label. Refuses
/// anything that is not a plain SVG (e.g. containing scripts or foreign objects).
fn inline_svg(svg: &str, caption: &str) -> Option<String> {
    let mut s = svg.trim();
    if s.starts_with("<?xml") {
        s = s.split_once("?>").map_or("", |(_, rest)| rest).trim_start();
    }
    if !s.starts_with("<svg") || !svg_is_plain(s) {
        return None;
    }
    let s = s.replacen(" xmlns=\"http://www.w3.org/2000/svg\"", "", 1);
    Some(s.replacen("<svg", &format!("<svg role=\"img\" aria-label=\"{}\"", escape_html(caption)), 1))
}

/// True when every tag is plain drawing markup: no scripts, foreign content, links, external
/// images, style sheets or event-handler attributes. (Text content cannot hide a tag: SVG
/// writers escape `<` in text.)
fn svg_is_plain(svg: &str) -> bool {
    svg.split('<').skip(1).all(|part| {
        let tag = part.split('>').next().unwrap_or("").to_ascii_lowercase();
        let name = tag.trim_start_matches('/').split(|c: char| c.is_whitespace() || c == '/').next().unwrap_or("");
        let forbidden_tag =
            matches!(name, "script" | "foreignobject" | "iframe" | "a" | "image" | "use" | "style" | "link");
        let forbidden_attr = tag.split_whitespace().skip(1).any(|attr| {
            let attr_name = attr.split('=').next().unwrap_or("");
            attr_name.starts_with("on") || attr_name.contains("href")
        });
        !forbidden_tag && !forbidden_attr && !tag.contains("javascript:")
    })
}

fn html_table(out: &mut String, table: &Table) {
    // The wrapper scrolls sideways instead of widening the page when a table is too wide.
    out.push_str("<div class=\"table\"><table>\n");
    if let Some(caption) = &table.caption {
        let _ = writeln!(out, "<caption>{}</caption>", escape_html(caption));
    }
    if !table.header.is_empty() {
        out.push_str("<thead><tr>");
        for h in &table.header {
            let _ = write!(out, "<th>{}</th>", escape_html(h));
        }
        out.push_str("</tr></thead>\n");
    }
    out.push_str("<tbody>\n");
    for row in &table.rows {
        out.push_str("<tr>");
        for cell in row {
            if looks_numeric(cell) {
                let _ = write!(out, "<td class=\"num\">{}</td>", escape_html(cell));
            } else {
                let _ = write!(out, "<td>{}</td>", escape_html(cell));
            }
        }
        out.push_str("</tr>\n");
    }
    out.push_str("</tbody>\n</table></div>\n");
}

/// The HTML page for `report` (see the module docs).
pub fn render_html(report: &Report) -> String {
    let mut out = String::new();
    out.push_str("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
    out.push_str("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n");
    let _ = writeln!(out, "<title>{}</title>", escape_html(&report.title));
    let _ = writeln!(out, "<style>{CSS}</style>\n</head>\n<body>\n<main>");
    let _ = writeln!(out, "<h1>{}</h1>", escape_html(&report.title));
    if let Some(subtitle) = &report.subtitle {
        let _ = writeln!(out, "<p class=\"subtitle\">{}</p>", escape_html(subtitle));
    }
    for section in &report.sections {
        let _ = writeln!(out, "<section>\n<h2>{}</h2>", escape_html(&section.heading));
        for p in &section.paragraphs {
            let _ = writeln!(out, "<p>{}</p>", escape_html(p));
        }
        for table in &section.tables {
            html_table(&mut out, table);
        }
        for chart in &section.charts {
            out.push_str("<figure>\n");
            match inline_svg(&chart.svg, &chart.caption) {
                Some(svg) => {
                    out.push_str(&svg);
                    out.push('\n');
                }
                None => out.push_str("<p class=\"omitted\">(chart omitted: not a plain SVG)</p>\n"),
            }
            let _ = writeln!(out, "<figcaption>{}</figcaption>\n</figure>", escape_html(&chart.caption));
        }
        out.push_str("</section>\n");
    }
    out.push_str("</main>\n</body>\n</html>\n");
    out
}

/// Writes the self-contained HTML page atomically.
pub fn write_html(report: &Report, path: impl AsRef<Path>) -> Result<(), IoError> {
    write_atomic(path, render_html(report).as_bytes())
}

// ---------------------------------------------------------------------------------------------
// Markdown

/// Escapes the Markdown punctuation that would turn text into markup, and only that, so the
/// file also reads well as plain text: `baseline (seed 42)`, `fill_rate`, `P* low`, `-14.2`
/// and `15.0 min` stay as written. The rules (CommonMark 0.31):
///
/// - always: `\\`, `[`, `]`, `|` (table cells), `~`;
/// - `*` and `_` only where they could open emphasis: followed by a non-space, and for `_`
///   not inside a word;
/// - `<` only before a letter, `/`, `!` or `?` (a tag or an autolink);
/// - `&` only before a letter or `#` (an entity);
/// - at the start: `#` or `-`, `+` before a space or the end (heading, list), `>` (quote),
///   `1.` / `1)` before a space or the end (ordered list);
/// - text between an even number of backticks is kept as code spans, unescaped.
///
/// Newlines become spaces.
pub fn escape_markdown(s: &str) -> String {
    let text: String = s.chars().map(|c| if c == '\n' || c == '\r' { ' ' } else { c }).collect();
    if text.matches('`').count().is_multiple_of(2) && text.contains('`') {
        // Even backticks: alternate plain text and code spans.
        let mut out = String::with_capacity(text.len() + 8);
        for (k, part) in text.split('`').enumerate() {
            if k % 2 == 1 {
                out.push('`');
                out.push_str(part);
                out.push('`');
            } else if k == 0 {
                out.push_str(&escape_plain(part, true));
            } else {
                out.push_str(&escape_plain(part, false));
            }
        }
        return out;
    }
    escape_plain(&text.replace('`', "\\`"), true).replace("\\\\`", "\\`")
}

/// [`escape_markdown`] of text outside code spans; `at_start`: the text starts the line.
fn escape_plain(text: &str, at_start: bool) -> String {
    let chars: Vec<char> = text.chars().collect();
    let word = |c: Option<&char>| c.is_some_and(|c| c.is_alphanumeric());
    let space_or_end = |c: Option<&char>| c.is_none_or(|c| c.is_whitespace());
    let mut out = String::with_capacity(text.len() + 8);
    for (i, &c) in chars.iter().enumerate() {
        let prev = i.checked_sub(1).and_then(|j| chars.get(j));
        let next = chars.get(i + 1);
        let escape = match c {
            '\\' | '[' | ']' | '|' | '~' => true,
            '*' => !space_or_end(next),
            '_' => !space_or_end(next) && !word(prev),
            '<' => next.is_some_and(|n| n.is_ascii_alphabetic() || matches!(n, '/' | '!' | '?')),
            '&' => next.is_some_and(|n| n.is_ascii_alphabetic() || *n == '#'),
            _ => false,
        };
        if escape {
            out.push('\\');
        }
        out.push(c);
    }
    if at_start {
        let first = chars.first();
        let second = chars.get(1);
        let block = match first {
            Some('>') => true,
            Some('#') => space_or_end(second) || second == Some(&'#'),
            Some('-' | '+') => space_or_end(second),
            _ => false,
        };
        if block {
            out.insert(0, '\\');
        }
        let digits = out.chars().take_while(char::is_ascii_digit).count();
        let after: Vec<char> = out[digits..].chars().take(2).collect();
        if digits > 0 && matches!(after.first(), Some('.' | ')')) && space_or_end(after.get(1)) {
            out.insert(digits, '\\');
        }
    }
    out
}

/// A relative link target; wrapped in `<…>` when it contains spaces or parentheses.
fn markdown_link(path: &str) -> String {
    if path.contains([' ', '(', ')']) { format!("<{}>", path.replace(['<', '>'], "")) } else { path.to_owned() }
}

fn markdown_table(out: &mut String, table: &Table) {
    if let Some(caption) = &table.caption {
        let _ = writeln!(out, "**{}**\n", escape_markdown(caption));
    }
    let width = table.rows.iter().map(Vec::len).chain(std::iter::once(table.header.len())).max().unwrap_or(0);
    if width == 0 {
        return;
    }
    let cell = |row: &[String], i: usize| row.get(i).map_or(String::new(), |c| escape_markdown(c));
    out.push('|');
    for i in 0..width {
        let _ = write!(out, " {} |", cell(&table.header, i));
    }
    out.push_str("\n|");
    for i in 0..width {
        let numeric = !table.rows.is_empty()
            && table.rows.iter().all(|r| r.get(i).is_none_or(|c| c.trim().is_empty() || looks_numeric(c)));
        out.push_str(if numeric { " ---: |" } else { " --- |" });
    }
    out.push('\n');
    for row in &table.rows {
        out.push('|');
        for i in 0..width {
            let _ = write!(out, " {} |", cell(row, i));
        }
        out.push('\n');
    }
    out.push('\n');
}

/// The Markdown text for `report` (see the module docs).
pub fn render_markdown(report: &Report) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "# {}\n", escape_markdown(&report.title));
    if let Some(subtitle) = &report.subtitle {
        let _ = writeln!(out, "*{}*\n", escape_markdown(subtitle));
    }
    for section in &report.sections {
        let _ = writeln!(out, "## {}\n", escape_markdown(&section.heading));
        for p in &section.paragraphs {
            let _ = writeln!(out, "{}\n", escape_markdown(p));
        }
        for table in &section.tables {
            markdown_table(&mut out, table);
        }
        for chart in &section.charts {
            let caption = escape_markdown(&chart.caption);
            let _ = writeln!(out, "![{caption}]({})\n\n*{caption}*\n", markdown_link(&chart.png_path));
        }
    }
    out
}

/// Writes `report.md`-style Markdown atomically.
pub fn write_markdown(report: &Report, path: impl AsRef<Path>) -> Result<(), IoError> {
    write_atomic(path, render_markdown(report).as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::charts::{self, BarChart, BarSeries, LineChart, LineSeries};
    use crate::output::atomic::test_support::fresh_dir;

    const NASTY: &str = "<script>alert(\"x\") & 'y'</script>";

    fn sample(dir: &Path) -> Report {
        let line = LineChart::new("Fill rate", "time (s)", "fraction")
            .with_series(LineSeries::new("fill rate", (0..20).map(|i| (i as f64, 0.5 + i as f64 / 50.0)).collect()));
        let rendered = charts::render_files(&line.into(), dir.join("charts"), "fill_rate").expect("render line");
        let bar = BarChart::new("Welfare", "strategy", "credits", vec!["zi".into(), "gd".into()])
            .with_series(BarSeries::new("profit", vec![10.0, 12.5]));
        let bar = charts::render_files(&bar.into(), dir.join("charts"), "welfare").expect("render bar");
        Report::new(format!("Run report {NASTY}"))
            .with_subtitle("scenario baseline, seed 7")
            .with_section(
                Section::new("Summary")
                    .with_paragraph(format!("Prices converged; note {NASTY}."))
                    .with_paragraph("Markdown *must* stay literal: a_b [x](y) | pipe # hash")
                    .with_table(
                        Table::key_value([("fill rate", "0.93"), ("trades", "1,204"), ("odd | key", NASTY)])
                            .with_caption("End-of-run values"),
                    ),
            )
            .with_section(
                Section::new("Charts")
                    .with_chart(ChartRef::from_rendered(&rendered, "charts", "Fill rate over time"))
                    .with_chart(ChartRef::from_rendered(&bar, "charts/", format!("Welfare {NASTY}"))),
            )
    }

    #[test]
    fn html_escapes_and_is_self_contained() {
        let dir = fresh_dir("report-html");
        let report = sample(&dir);
        let html = render_html(&report);
        assert!(!html.contains("<script"), "unescaped script tag");
        assert!(html.contains("&lt;script&gt;alert(&quot;x&quot;) &amp; &#39;y&#39;&lt;/script&gt;"));
        let lower = html.to_ascii_lowercase();
        assert!(!lower.contains("http"), "external reference in HTML");
        assert!(!lower.contains("src=") && !lower.contains("href="));
        assert!(!lower.contains("@import") && !lower.contains("url("));
        assert_eq!(html.matches("<svg role=\"img\"").count(), 2);
        assert!(html.contains("<td class=\"num\">1,204</td>"));
        assert!(html.ends_with("</html>\n"));
    }

    #[test]
    fn svg_with_script_is_not_inlined() {
        let report = Report::new("x").with_section(Section::new("s").with_chart(ChartRef::new(
            "<svg><script>alert(1)</script></svg>",
            "charts/x.png",
            "bad",
        )));
        let html = render_html(&report);
        assert!(!html.contains("<script"));
        assert!(html.contains("chart omitted"));
    }

    #[test]
    fn markdown_escapes_and_references_pngs() {
        let dir = fresh_dir("report-md");
        let md = render_markdown(&sample(&dir));
        assert!(md.starts_with("# Run report \\<script>"));
        assert!(md.contains("![Fill rate over time](charts/fill_rate.png)"));
        assert!(md.contains("](charts/welfare.png)"));
        assert!(md.contains("a_b \\[x\\](y) \\| pipe # hash"));
        assert!(md.contains("| odd \\| key |"));
        assert!(md.contains("| --- | --- |"));
        assert!(md.contains("\\<script>alert(\"x\") & 'y'"), "{md}");
        let cases = [
            ("1. not a list", "1\\. not a list"),
            ("- not a list", "\\- not a list"),
            ("# not a heading", "\\# not a heading"),
            ("> not a quote", "\\> not a quote"),
            ("baseline (seed 42)", "baseline (seed 42)"),
            ("15.0 min", "15.0 min"),
            ("-14.2037", "-14.2037"),
            ("P* low and P* high", "P* low and P* high"),
            ("fill_rate _emphasis_ *strong*", "fill_rate \\_emphasis_ \\*strong*"),
            ("&amp; & ok", "\\&amp; & ok"),
            ("a <b> c < d", "a \\<b> c < d"),
            ("run `synmarket run <x> --set a_b=1` now", "run `synmarket run <x> --set a_b=1` now"),
            ("odd ` tick *x*", "odd \\` tick \\*x*"),
        ];
        for (plain, escaped) in cases {
            assert_eq!(escape_markdown(plain), escaped, "{plain:?}");
        }
        assert!(!md.contains("<svg"));
    }

    #[test]
    fn writers_are_atomic_and_deterministic() {
        let dir = fresh_dir("report-write");
        let report = sample(&dir);
        write_html(&report, dir.join("a/report.html")).expect("html a");
        write_html(&report, dir.join("b/report.html")).expect("html b");
        write_markdown(&report, dir.join("a/report.md")).expect("md a");
        write_markdown(&report, dir.join("b/report.md")).expect("md b");
        for name in ["report.html", "report.md"] {
            let a = std::fs::read(dir.join("a").join(name)).expect("read a");
            let b = std::fs::read(dir.join("b").join(name)).expect("read b");
            assert_eq!(a, b, "{name} not deterministic");
            assert!(a.len() > 200);
        }
        // Rendering the charts again gives the same page.
        let again = sample(&fresh_dir("report-write-again"));
        assert_eq!(render_html(&again), render_html(&report));
    }

    #[test]
    fn numeric_detection() {
        for s in ["1", "-2.5", "1,204", "93%", "+0.1", "1e-3"] {
            assert!(looks_numeric(s), "{s}");
        }
        for s in ["", "abc", "1 2", "n/a"] {
            assert!(!looks_numeric(s), "{s}");
        }
    }
}
