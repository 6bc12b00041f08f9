//! Rendering tests: one per chart kind plus the edge cases a real run produces. Each renders
//! PNG and SVG into a temporary folder and checks the files are real images with content.

use std::path::Path;

use super::*;
use crate::output::atomic::test_support::fresh_dir;

/// Deterministic pseudo-random values in [0, 1) (no RNG dependency needed for test data).
fn noise(i: usize, salt: u64) -> f64 {
    let mut z = (i as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15).wrapping_add(salt);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^= z >> 31;
    (z >> 11) as f64 / (1u64 << 53) as f64
}

fn check_outputs(dir: &Path, stem: &str, chart: &Chart) -> RenderedChart {
    let out = render_files(chart, dir, stem).expect("render");
    let png = std::fs::read(&out.png_path).expect("png written");
    assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"), "{stem}: not a PNG");
    assert!(png.len() > 8_000, "{stem}: PNG suspiciously small");
    let svg = std::fs::read_to_string(&out.svg_path).expect("svg written");
    assert_eq!(svg, out.svg);
    assert!(svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"));
    assert!(svg.len() > 800, "{stem}: SVG suspiciously small");
    assert_eq!(render_svg(chart).expect("svg again"), svg, "{stem}: SVG not deterministic");
    let leftovers: Vec<_> = std::fs::read_dir(dir)
        .expect("dir")
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().contains(".tmp-"))
        .collect();
    assert!(leftovers.is_empty(), "temporary files left behind");
    out
}

pub(crate) fn price_chart() -> LineChart {
    let vwap: Vec<(f64, f64)> = (0..200)
        .map(|t| {
            let t = t as f64 * 30.0;
            (t, 100.0 + 40.0 * (-t / 1500.0).exp() + 3.0 * noise(t as usize, 1))
        })
        .collect();
    let ci: Vec<(f64, f64, f64)> = vwap.iter().map(|&(x, y)| (x, y - 4.0, y + 4.0)).collect();
    let eq: Vec<(f64, f64)> = (0..200).map(|t| (t as f64 * 30.0, 100.0)).collect();
    let eq_band: Vec<(f64, f64, f64)> = eq.iter().map(|&(x, y)| (x, y - 2.0, y + 2.0)).collect();
    let trades: Vec<(f64, f64)> = (0..12_000)
        .map(|i| {
            let t = noise(i, 2) * 5970.0;
            (t, 100.0 + 40.0 * (-t / 1500.0).exp() + 16.0 * (noise(i, 3) - 0.5))
        })
        .collect();
    LineChart::new("Price convergence (gpu-inference)", "time (s)", "price per unit (credits)")
        .with_series(LineSeries::new("VWAP", vwap).with_band(Band::new(ci).labelled("VWAP 95% interval")))
        .with_series(
            LineSeries::new("P* midpoint", eq)
                .dashed()
                .with_band(Band::new(eq_band).labelled("equilibrium price range")),
        )
        .with_scatter(ScatterSeries::new("trade prices", trades))
        .with_ref_line(RefLine::new("initial reserve price = 150", 150.0))
}

#[test]
fn line_chart_renders() {
    let dir = fresh_dir("charts-line");
    let out = check_outputs(&dir, "price", &price_chart().into());
    assert!(out.svg.contains("VWAP 95% interval"));
    assert!(out.svg.contains("trade prices (1 in 3 shown)"));
}

#[test]
fn line_chart_edge_cases_render() {
    let dir = fresh_dir("charts-line-edges");
    let empty = LineChart::new("No trades yet", "time (s)", "price (credits)")
        .with_series(LineSeries::new("VWAP", vec![]))
        .with_ref_line(RefLine::new("P*", 100.0));
    let out = check_outputs(&dir, "empty", &empty.into());
    assert!(out.svg.contains("no data"));

    let single = LineChart::new("One interval", "time (s)", "fill rate")
        .with_series(LineSeries::new("fill rate", vec![(60.0, 0.75)]));
    check_outputs(&dir, "single", &single.into());

    let flat = LineChart::new("Flat price", "time (s)", "price (credits)")
        .with_series(LineSeries::new("VWAP", (0..50).map(|i| (i as f64, 42.0)).collect()));
    check_outputs(&dir, "flat", &flat.into());

    let nasty = LineChart::new("NaN and inf are skipped", "x", "y")
        .with_series(LineSeries::new(
            "with gaps",
            vec![(0.0, 1.0), (1.0, f64::NAN), (2.0, 3.0), (f64::INFINITY, 2.0), (4.0, f64::NEG_INFINITY), (5.0, 2.5)],
        ))
        .with_series(LineSeries::new("all NaN", vec![(f64::NAN, f64::NAN)]))
        .with_scatter(ScatterSeries::new("dots", vec![(1.5, 1e300), (2.5, 2.0)]))
        .with_ref_line(RefLine::new("NaN ref", f64::NAN));
    check_outputs(&dir, "nasty", &nasty.into());

    let mut long = LineChart::new(
        "A chart with very many series whose names are long enough to overflow any legend box \
         that was designed without thinking about them",
        "time since the start of the simulated market session (s)",
        "share of requested units that were assigned to a provider (fraction)",
    );
    for k in 0..24 {
        long.series.push(LineSeries::new(
            format!("population {k}: budget-constrained zero-intelligence traders, variant {k}"),
            (0..30).map(|i| (i as f64, k as f64 + noise(i, k as u64))).collect(),
        ));
    }
    check_outputs(&dir, "long_legend", &long.into());

    let fixed = price_chart().with_x_range(1000.0, 3000.0).with_y_range(95.0, 110.0);
    check_outputs(&dir, "fixed_range", &fixed.into());

    let huge = LineChart::new("Large values", "time (ms)", "escrow (credits)")
        .y_from_zero()
        .with_series(LineSeries::new(
            "funds in escrow",
            (0..100).map(|i| (i as f64 * 36_000.0, 2.0e7 + 1.0e6 * noise(i, 9))).collect(),
        ))
        .with_series(LineSeries::new("sweep mean", (0..6).map(|i| (i as f64 * 700_000.0, 1.0e7)).collect()).with_band(
            Band::new((0..6).map(|i| (i as f64 * 700_000.0, 0.8e7, 1.2e7)).collect()).labelled("95% CI").error_bars(),
        ));
    check_outputs(&dir, "huge", &huge.into());
}

#[test]
fn bar_charts_render() {
    let dir = fresh_dir("charts-bar");
    let strategies: Vec<String> = [
        "zero-intelligence constrained",
        "truthful",
        "Kaplan sniper",
        "reputation-aware provider with undercutting",
        "shill",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let welfare = BarChart::new("Welfare by strategy", "agent strategy", "credits per agent", strategies)
        .with_series(BarSeries::new("profit", vec![1520.0, 980.5, 2210.0, 640.0, -310.0]))
        .with_series(BarSeries::new("surplus", vec![1800.0, 1200.0, 2500.0, 900.0, -120.0]));
    check_outputs(&dir, "welfare", &welfare.into());

    let tiers = BarChart::new(
        "SLA compliance by reputation tier",
        "",
        "compliance rate",
        vec!["low".into(), "medium".into(), "high".into()],
    )
    .with_series(BarSeries::new("compliance", vec![0.71, 0.9, 0.985]))
    .with_ref_line(RefLine::new("target 95%", 0.95))
    .with_y_range(0.0, 1.0);
    check_outputs(&dir, "sla_tiers", &tiers.into());

    let compliance = BarChart::new(
        "Policy violations",
        "violation kind",
        "count",
        vec!["usage cap".into(), "privacy".into(), "forged call".into(), "unauthorised".into()],
    )
    .with_series(BarSeries::new("attempted", vec![120.0, 14.0, 33.0, f64::NAN]))
    .with_series(BarSeries::new("detected", vec![120.0, 9.0, 33.0]));
    check_outputs(&dir, "violations", &compliance.into());

    let empty = BarChart::new("Nothing to compare", "tier", "count", vec![]);
    let out = check_outputs(&dir, "empty", &empty.into());
    assert!(out.svg.contains("no data"));

    let zeros = BarChart::new("All zero", "tier", "count", vec!["a".into(), "b".into()])
        .with_series(BarSeries::new("n", vec![0.0, 0.0]));
    check_outputs(&dir, "zeros", &zeros.into());
}

#[test]
fn panel_chart_renders() {
    let dir = fresh_dir("charts-panels");
    let tasks = ["gpu-inference", "cpu-batch", "storage"];
    let panel = |title: &str, unit: &str, scale: f64, salt: u64| {
        let mut c = LineChart::new(title, "time (s)", unit).y_from_zero();
        for (k, task) in tasks.iter().enumerate() {
            c.series.push(LineSeries::new(
                *task,
                (0..120)
                    .map(|i| (i as f64 * 60.0, scale * (0.5 + 0.1 * k as f64 + 0.2 * noise(i, salt + k as u64))))
                    .collect(),
            ));
        }
        c
    };
    let grid = PanelChart::new("Liquidity")
        .with_panel(panel("Fill rate", "fraction", 1.0, 10))
        .with_panel(panel("Resting depth", "offer units", 5000.0, 20))
        .with_panel(panel("Spread", "credits", 12.0, 30))
        .with_panel(LineChart::new("Time to first match (p50)", "time (s)", "seconds"));
    let out = check_outputs(&dir, "liquidity", &grid.into());
    assert!(out.svg.contains("no data"));
    // The shared legend names each task type once.
    assert_eq!(out.svg.matches("\ncpu-batch\n").count(), 1);

    let three = PanelChart::new("Price by task type").with_columns(3);
    let three = tasks.iter().fold(three, |acc, t| {
        let mut p = price_chart();
        p.title = (*t).to_owned();
        acc.with_panel(p)
    });
    check_outputs(&dir, "price_by_task", &three.into());

    check_outputs(&dir, "no_panels", &PanelChart::new("Empty grid").into());
}

#[test]
fn png_bytes_are_deterministic() {
    let dir = fresh_dir("charts-png-det");
    let chart: Chart = price_chart().into();
    render_png(&chart, dir.join("a.png")).expect("a");
    render_png(&chart, dir.join("b.png")).expect("b");
    let a = std::fs::read(dir.join("a.png")).expect("read a");
    assert_eq!(a, std::fs::read(dir.join("b.png")).expect("read b"));
}

#[test]
fn png_error_names_the_path() {
    let dir = fresh_dir("charts-png-err");
    std::fs::write(dir.join("blocker"), b"x").expect("blocker");
    let err = render_png(&price_chart().into(), dir.join("blocker/x.png")).unwrap_err();
    assert!(err.to_string().contains("blocker"), "{err}");
}

// ---- golden SVGs and text on the canvas -----------------------------------------------------

/// One small, fixed chart of each kind the reports draw, with the features this renderer
/// promises: labelled time-axis ends, x marks, a band too thin to show (not in the legend), a
/// note in place of an empty panel, stacked panels sharing one x title, grouped and disjoint
/// bars with value labels in the axis scale.
fn golden_charts() -> Vec<(&'static str, Chart)> {
    let days = |n: usize, f: &dyn Fn(usize) -> f64| -> Vec<(f64, f64)> {
        (0..=n).map(|i| (i as f64 * 7.0 / n as f64, f(i))).collect()
    };
    let price = LineChart::new("task type: unit", "simulated time (days)", "tokens / unit")
        .with_x_range(0.0, 7.0)
        .with_x_ends_labelled()
        .with_x_mark(XMark::new("period boundary", 3.5))
        .with_series(
            LineSeries::new("P*", days(14, &|_| 100.0))
                .dashed()
                .with_band(Band::new((0..=14).map(|i| (i as f64 * 0.5, 100.0, 100.0)).collect()).labelled("range")),
        )
        .with_series(LineSeries::new("VWAP", days(14, &|i| 100.0 + 20.0 * noise(i, 5))));
    let empty = LineChart::new("Disputes per interval", "simulated time (days)", "disputes")
        .with_x_range(0.0, 7.0)
        .with_x_ends_labelled()
        .with_series(LineSeries::new("raised", days(14, &|_| 0.0)))
        .with_note("no disputes in this run");
    let stacked = PanelChart::new("Stacked panels").with_columns(1).with_panel(price.clone()).with_panel(empty.clone());
    let bars = BarChart::new("Grouped bars", "tier", "fraction", vec!["low".into(), "high".into()])
        .with_series(BarSeries::new("compliance", vec![0.5, 0.9]))
        .with_series(BarSeries::new("share", vec![0.2, 0.8]));
    let welfare = BarChart::new("Disjoint bars", "population", "tokens per agent", vec!["a".into(), "b".into()])
        .disjoint()
        .with_series(BarSeries::new("surplus", vec![498_000.0, f64::NAN]))
        .with_series(BarSeries::new("profit", vec![f64::NAN, 85_520.0]));
    let none = BarChart::new("Violations", "kind", "count", vec!["relay".into()])
        .with_series(BarSeries::new("attempted", vec![0.0]))
        .with_note("no violations attempted or detected in this run");
    vec![
        ("line", price.into()),
        ("note", empty.into()),
        ("panels", stacked.into()),
        ("bars", bars.into()),
        ("bars_disjoint", welfare.into()),
        ("bars_note", none.into()),
    ]
}

fn golden_dir() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src/charts/golden")
}

/// Each chart kind draws the same SVG as its checked-in golden file (the SVG is a pure function
/// of the description). After an intended change of the drawing, regenerate the files with
/// `SYNMARKET_UPDATE_GOLDEN=1 cargo test -p synmarket --lib golden` and look at them.
#[test]
fn golden_svgs() {
    let update = std::env::var_os("SYNMARKET_UPDATE_GOLDEN").is_some();
    let mut differ = Vec::new();
    for (stem, chart) in golden_charts() {
        let svg = render_svg(&chart).expect("render");
        let path = golden_dir().join(format!("{stem}.svg"));
        if update {
            std::fs::create_dir_all(golden_dir()).expect("golden dir");
            std::fs::write(&path, &svg).expect("write golden");
            // A PNG beside each, in the temporary folder, to look at.
            let png = std::env::temp_dir().join(format!("synmarket-golden-{stem}.png"));
            std::fs::write(png, rasterize(&svg).expect("rasterize")).expect("write png");
            continue;
        }
        let want = std::fs::read_to_string(&path).unwrap_or_default();
        if want != svg {
            let actual = std::env::temp_dir().join(format!("synmarket-golden-{stem}.svg"));
            std::fs::write(&actual, &svg).expect("write actual");
            differ.push(format!("{} (drawn now: {})", path.display(), actual.display()));
        }
    }
    assert!(differ.is_empty(), "SVGs differ from their golden files:\n{}", differ.join("\n"));
}

/// Every text item lies within the canvas and none was cut with "…" (except the legend's
/// "… and N more"), for the golden charts and for long titles, labels and legends.
#[test]
fn no_text_is_clipped() {
    let long = "a title long enough to need the whole width of the image and then some more words";
    let mut charts = golden_charts();
    charts.push(("long", LineChart::new(long, long, long).with_series(LineSeries::new(long, vec![(0.0, 1.0)])).into()));
    for (stem, chart) in charts {
        let svg = render_svg(&chart).expect("render");
        let boxes = text_boxes(&svg).expect("parse");
        assert!(!boxes.is_empty(), "{stem}: no text found");
        for b in &boxes {
            let [l, t, r, bottom] = b.bounds;
            assert!(
                l >= 0.0 && t >= 0.0 && r <= WIDTH as f32 && bottom <= HEIGHT as f32,
                "{stem}: {:?} at {:?} leaves the canvas",
                b.text,
                b.bounds
            );
        }
        if stem != "long" {
            assert!(!boxes.iter().any(|b| b.text.contains('…')), "{stem}: some text was cut");
        }
    }
}

#[test]
fn time_axes_label_both_ends_and_empty_panels_say_why() {
    let charts = golden_charts();
    let texts = |c: &Chart| -> Vec<String> {
        text_boxes(&render_svg(c).expect("render")).expect("parse").into_iter().map(|b| b.text).collect()
    };
    let line = texts(&charts[0].1);
    assert!(line.iter().any(|t| t == "0") && line.iter().any(|t| t == "7"), "{line:?}");
    // The zero-width band is not in the legend; the x mark is.
    assert!(!line.iter().any(|t| t == "range") && line.iter().any(|t| t == "period boundary"), "{line:?}");
    let note = texts(&charts[1].1);
    assert!(note.iter().any(|t| t == "no disputes in this run") && !note.iter().any(|t| t == "raised"), "{note:?}");
    let panels = texts(&charts[2].1);
    assert_eq!(panels.iter().filter(|t| *t == "simulated time (days)").count(), 1, "{panels:?}");
    let disjoint = texts(&charts[4].1);
    assert!(disjoint.iter().any(|t| t == "498k") && disjoint.iter().any(|t| t == "86k"), "{disjoint:?}");
    assert!(!disjoint.iter().any(|t| t == "n/a"), "{disjoint:?}");
}
