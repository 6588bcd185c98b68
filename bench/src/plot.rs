//! Throughput–latency curves as a hand-written SVG: messages/s on x, latency (ms) on y, both
//! logarithmic; one colour per target, p99 solid with dots, p50 dashed with hollow dots. The
//! runs of one point (its `--rounds`) are drawn as their median, with whiskers and a shaded band
//! from their minimum to their maximum when there are several; each p99 dot is labelled with its
//! load, producers×in-flight (`@rate/s` when paced, `bN` when batched). A curve joins the points
//! of one target that differ only in load (producers, in-flight window, offered rate), ordered
//! by throughput; points with another mode, size, batch, flush mode or load generator form their
//! own curve. `notebooks/throughput.ipynb` draws the committed reports the same way.

use std::collections::BTreeMap;
use std::fmt::Write;

use crate::report::{Point, RunResult};

const W: f64 = 960.0;
const H: f64 = 560.0;
const LEFT: f64 = 80.0;
const RIGHT: f64 = 310.0;
const TOP: f64 = 50.0;
const BOTTOM: f64 = 60.0;

/// The fixed colour of the usual targets (the notebook uses the same ones).
fn fixed_colour(target: &str) -> Option<&'static str> {
    Some(match target {
        "sluice" => "#1f77b4",
        "null" => "#7f7f7f",
        "rocketmq-rust" => "#d62728",
        "rocketmq-java" => "#ff7f0e",
        "rocketmq-java-5.3" => "#8c564b",
        "sluice-async-master" => "#17becf",
        "sluice-sync-master" => "#9467bd",
        "sluice-controller" => "#bcbd22",
        "sluice-prom" => "#aec7e8",
        "rocketmq-java-async-master" => "#ffbb78",
        "rocketmq-java-sync-master" => "#c49c94",
        _ => return None,
    })
}

/// The colour of a target: fixed for the usual ones, else by its rank among the `others`
/// (the targets without one), so that every curve of a target has its colour.
fn colour(target: &str, others: &[&str]) -> &'static str {
    fixed_colour(target).unwrap_or_else(|| {
        let n = others.iter().position(|t| *t == target).unwrap_or(0);
        ["#2ca02c", "#e377c2", "#bcbd22", "#000080", "#800000"][n % 5]
    })
}

/// The curve a run belongs to.
fn curve_key(r: &RunResult) -> String {
    let p = &r.point;
    let mut k = format!("{} {}", r.target, p.mode);
    if p.batch > 1 {
        let _ = write!(k, " batch {}", p.batch);
    }
    let _ = write!(k, " {} B", p.size);
    if p.flush != "ASYNC_FLUSH" {
        let _ = write!(k, " {}", p.flush);
    }
    if p.load != "wire" {
        let _ = write!(k, " ({} client)", p.load);
    }
    k
}

/// A point's load as its label: producers×in-flight, `@rate/s` when paced, `bN` when batched.
pub fn load_label(p: &Point) -> String {
    let mut l = format!("{}×{}", p.producers, p.inflight);
    if p.rate > 0.0 {
        let _ = write!(l, "@{:.0}/s", p.rate);
    }
    if p.batch > 1 {
        let _ = write!(l, " b{}", p.batch);
    }
    l
}

/// Median, minimum and maximum of a non-empty sample.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Spread {
    median: f64,
    min: f64,
    max: f64,
}

impl Spread {
    fn of(mut v: Vec<f64>) -> Spread {
        v.sort_by(f64::total_cmp);
        let n = v.len();
        let median = if n % 2 == 1 {
            v[n / 2]
        } else {
            (v[n / 2 - 1] + v[n / 2]) / 2.0
        };
        Spread {
            median,
            min: v[0],
            max: v[n - 1],
        }
    }
}

/// One point of a curve: the rounds of one target at one sweep point.
struct Agg<'a> {
    point: &'a Point,
    rounds: usize,
    rate: Spread,
    p50: Spread,
    p99: Spread,
}

fn aggregate<'a>(runs: &[&'a RunResult]) -> Vec<Agg<'a>> {
    let mut groups: Vec<(&Point, Vec<&RunResult>)> = Vec::new();
    for r in runs {
        match groups.iter_mut().find(|(p, _)| **p == r.point) {
            Some((_, v)) => v.push(r),
            None => groups.push((&r.point, vec![r])),
        }
    }
    let mut pts: Vec<Agg> = groups
        .into_iter()
        .map(|(point, rs)| Agg {
            point,
            rounds: rs.len(),
            rate: Spread::of(rs.iter().map(|r| r.msgs_per_sec).collect()),
            p50: Spread::of(rs.iter().map(|r| r.latency.p50_ms).collect()),
            p99: Spread::of(rs.iter().map(|r| r.latency.p99_ms).collect()),
        })
        .collect();
    pts.sort_by(|a, b| a.rate.median.total_cmp(&b.rate.median));
    pts
}

/// Decades from 10^floor(log10 lo) to 10^ceil(log10 hi), at least one decade wide.
fn log_range(lo: f64, hi: f64) -> (f64, f64) {
    let lo = lo.max(1e-3).log10().floor();
    let hi = hi.max(1e-3).log10().ceil();
    (lo, if hi <= lo { lo + 1.0 } else { hi })
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

fn tick_label(v: f64) -> String {
    if v >= 1e6 {
        format!("{}M", v / 1e6)
    } else if v >= 1e3 {
        format!("{}k", v / 1e3)
    } else {
        format!("{v}")
    }
}

/// The SVG document for `runs` (runs without latency samples are left out).
pub fn throughput_latency_svg(title: &str, runs: &[RunResult]) -> String {
    let runs: Vec<&RunResult> = runs
        .iter()
        .filter(|r| r.latency.samples > 0 && r.msgs_per_sec > 0.0)
        .collect();
    let mut curves: BTreeMap<String, Vec<&RunResult>> = BTreeMap::new();
    for r in &runs {
        curves.entry(curve_key(r)).or_default().push(r);
    }
    let xs = runs.iter().map(|r| r.msgs_per_sec);
    let ys = runs.iter().flat_map(|r| [r.latency.p50_ms, r.latency.p99_ms]);
    let (x0, x1) = log_range(xs.clone().fold(f64::INFINITY, f64::min), xs.fold(0.0, f64::max));
    let (y0, y1) = log_range(
        ys.clone().filter(|v| *v > 0.0).fold(f64::INFINITY, f64::min),
        ys.fold(0.0, f64::max),
    );
    let pw = W - LEFT - RIGHT;
    let ph = H - TOP - BOTTOM;
    let px = |v: f64| LEFT + (v.max(1e-3).log10() - x0) / (x1 - x0) * pw;
    let py = |v: f64| TOP + ph - (v.max(10f64.powf(y0)).log10() - y0) / (y1 - y0) * ph;

    let mut s = String::new();
    let _ = writeln!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" viewBox="0 0 {W} {H}" font-family="sans-serif" font-size="12">"#
    );
    let _ = writeln!(s, r#"<rect width="{W}" height="{H}" fill="white"/>"#);
    let _ = writeln!(
        s,
        r#"<text x="{}" y="28" font-size="15" text-anchor="middle">{}</text>"#,
        LEFT + pw / 2.0,
        escape(title)
    );
    // Grid and ticks at 1, 2, 5 × 10^k.
    for (lo, hi, horizontal) in [(x0, x1, false), (y0, y1, true)] {
        let mut e = lo;
        while e <= hi {
            for m in [1.0, 2.0, 5.0] {
                let v = m * 10f64.powf(e);
                if v.log10() > hi + 1e-9 {
                    break;
                }
                let stroke = if m == 1.0 { "#bbbbbb" } else { "#eeeeee" };
                if horizontal {
                    let y = py(v);
                    let _ = writeln!(
                        s,
                        r#"<line x1="{LEFT}" y1="{y:.1}" x2="{:.1}" y2="{y:.1}" stroke="{stroke}"/><text x="{:.1}" y="{:.1}" text-anchor="end">{}</text>"#,
                        LEFT + pw,
                        LEFT - 6.0,
                        y + 4.0,
                        tick_label(v)
                    );
                } else {
                    let x = px(v);
                    let _ = writeln!(
                        s,
                        r#"<line x1="{x:.1}" y1="{TOP}" x2="{x:.1}" y2="{:.1}" stroke="{stroke}"/><text x="{x:.1}" y="{:.1}" text-anchor="middle">{}</text>"#,
                        TOP + ph,
                        TOP + ph + 16.0,
                        tick_label(v)
                    );
                }
            }
            e += 1.0;
        }
    }
    let _ = writeln!(
        s,
        r#"<rect x="{LEFT}" y="{TOP}" width="{pw}" height="{ph}" fill="none" stroke="black"/>"#
    );
    let _ = writeln!(
        s,
        r#"<text x="{:.1}" y="{:.1}" text-anchor="middle">throughput (messages/s, log)</text>"#,
        LEFT + pw / 2.0,
        H - 18.0
    );
    let _ = writeln!(
        s,
        r#"<text transform="translate(22 {:.1}) rotate(-90)" text-anchor="middle">latency (ms, log): p99 solid, p50 dashed</text>"#,
        TOP + ph / 2.0
    );

    let mut others: Vec<&str> = Vec::new();
    for r in &runs {
        if fixed_colour(&r.target).is_none() && !others.contains(&r.target.as_str()) {
            others.push(&r.target);
        }
    }
    let mut legend_y = TOP + 10.0;
    let mut banded = false;
    for (key, members) in curves {
        let pts = aggregate(&members);
        let c = colour(&members[0].target, &others);
        let p99: fn(&Agg) -> Spread = |a| a.p99;
        let p50: fn(&Agg) -> Spread = |a| a.p50;
        for (solid, pick) in [(true, p99), (false, p50)] {
            // The rounds' min–max band along the curve, then whiskers at each point.
            if pts.len() > 1 && pts.iter().any(|a| a.rounds > 1) {
                banded = true;
                let upper = pts.iter().map(|a| (a.rate.median, pick(a).max));
                let lower = pts.iter().rev().map(|a| (a.rate.median, pick(a).min));
                let outline: Vec<String> = upper
                    .chain(lower)
                    .map(|(x, y)| format!("{:.1},{:.1}", px(x), py(y)))
                    .collect();
                let _ = writeln!(
                    s,
                    r#"<polygon class="band" points="{}" fill="{c}" fill-opacity="0.15" stroke="none"/>"#,
                    outline.join(" ")
                );
            }
            for a in pts.iter().filter(|a| a.rounds > 1) {
                banded = true;
                let (x, y) = (px(a.rate.median), py(pick(a).median));
                let _ = writeln!(
                    s,
                    r#"<path class="range" d="M{:.1},{y:.1}H{:.1}M{x:.1},{:.1}V{:.1}" stroke="{c}" stroke-width="1"/>"#,
                    px(a.rate.min),
                    px(a.rate.max),
                    py(pick(a).min),
                    py(pick(a).max)
                );
            }
            let path: Vec<String> = pts
                .iter()
                .map(|a| format!("{:.1},{:.1}", px(a.rate.median), py(pick(a).median)))
                .collect();
            let dash = if solid { "" } else { r#" stroke-dasharray="6 4""# };
            let _ = writeln!(
                s,
                r#"<polyline points="{}" fill="none" stroke="{c}" stroke-width="2"{dash}/>"#,
                path.join(" ")
            );
            for a in &pts {
                let (x, y) = (px(a.rate.median), py(pick(a).median));
                let _ = writeln!(
                    s,
                    r#"<circle cx="{x:.1}" cy="{y:.1}" r="3" fill="{}" stroke="{c}"><title>{} {}: median of {} round(s) {:.0} msg/s [{:.0}–{:.0}], p50 {:.3} ms [{:.3}–{:.3}], p99 {:.3} ms [{:.3}–{:.3}]</title></circle>"#,
                    if solid { c } else { "white" },
                    escape(&key),
                    load_label(a.point),
                    a.rounds,
                    a.rate.median,
                    a.rate.min,
                    a.rate.max,
                    a.p50.median,
                    a.p50.min,
                    a.p50.max,
                    a.p99.median,
                    a.p99.min,
                    a.p99.max
                );
                if solid {
                    let _ = writeln!(
                        s,
                        r#"<text class="point-label" x="{:.1}" y="{:.1}" font-size="10" fill="{c}">{}</text>"#,
                        x + 5.0,
                        y - 5.0,
                        escape(&load_label(a.point))
                    );
                }
            }
        }
        let lx = LEFT + pw + 14.0;
        let _ = writeln!(
            s,
            r#"<line x1="{lx}" y1="{legend_y:.1}" x2="{:.1}" y2="{legend_y:.1}" stroke="{c}" stroke-width="2"/><text x="{:.1}" y="{:.1}">{}</text>"#,
            lx + 24.0,
            lx + 30.0,
            legend_y + 4.0,
            escape(&key)
        );
        legend_y += 18.0;
    }
    let lx = LEFT + pw + 14.0;
    let _ = writeln!(
        s,
        r##"<text x="{lx}" y="{:.1}" font-size="10" fill="#555555">labels: producers×in-flight</text>"##,
        legend_y + 10.0
    );
    if banded {
        let _ = writeln!(
            s,
            r##"<text x="{lx}" y="{:.1}" font-size="10" fill="#555555">dots: medians of the rounds;</text><text x="{lx}" y="{:.1}" font-size="10" fill="#555555">bars, bands: their min–max</text>"##,
            legend_y + 24.0,
            legend_y + 37.0
        );
    }
    s.push_str("</svg>\n");
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::{Latency, Point};

    fn run(target: &str, producers: usize, round: u32, rate: f64, p99: f64) -> RunResult {
        RunResult {
            target: target.into(),
            point: Point {
                producers,
                ..Point::default()
            },
            elapsed_secs: 1.0,
            msgs: rate as u64,
            requests: rate as u64,
            errors: 0,
            first_error: None,
            msgs_per_sec: rate,
            mb_per_sec: rate * 1024.0 / 1e6,
            latency_kind: "send".into(),
            latency: Latency {
                samples: 10,
                p50_ms: p99 / 2.0,
                p99_ms: p99,
                ..Latency::default()
            },
            consumed: 0,
            broker_cpu_secs: 0.0,
            broker_peak_rss_bytes: 0,
            broker_peak_rss_anon_bytes: 0,
            round,
            start_to_first_ack_secs: None,
            cpu_by_thread: Vec::new(),
        }
    }

    #[test]
    fn draws_one_curve_per_target() {
        let runs = [
            run("sluice", 1, 0, 10_000.0, 0.4),
            run("sluice", 16, 0, 90_000.0, 2.0),
            run("null", 1, 0, 200_000.0, 1.0),
            run("rocketmq-rust", 1, 0, 1_600.0, 9.0),
        ];
        let svg = throughput_latency_svg("t", &runs);
        assert!(svg.starts_with("<svg"));
        assert!(svg.trim_end().ends_with("</svg>"));
        assert_eq!(svg.matches("<polyline").count(), 6);
        assert!(svg.contains("rocketmq-rust producer 1024 B"));
        // One round each: no band, no whiskers, but every point labelled.
        assert_eq!(svg.matches(r#"class="band""#).count(), 0);
        assert_eq!(svg.matches(r#"class="range""#).count(), 0);
        assert!(svg.contains(">16×1</text>"));
        assert_eq!(svg.matches(r#"class="point-label""#).count(), 4);
    }

    #[test]
    fn rounds_draw_medians_with_a_min_max_band() {
        // Two points of sluice, three rounds each, and an unknown target with one point.
        let mut runs = Vec::new();
        for (round, (a, b)) in [(10_000.0, 80_000.0), (12_000.0, 90_000.0), (11_000.0, 70_000.0)]
            .into_iter()
            .enumerate()
        {
            runs.push(run("sluice", 1, round as u32, a, 0.2 + round as f64 / 10.0));
            runs.push(run("sluice", 16, round as u32, b, 2.0 + round as f64));
        }
        runs.push(run("other", 4, 0, 5_000.0, 3.0));
        let svg = throughput_latency_svg("t", &runs);
        // A band per latency (p99, p50) on the curve with rounds; none on the single point.
        assert_eq!(svg.matches(r#"class="band""#).count(), 2);
        // Whiskers at the 2 points × 2 latencies with rounds.
        assert_eq!(svg.matches(r#"class="range""#).count(), 4);
        // One dot per point and latency: medians, not one per round.
        assert_eq!(svg.matches("<circle").count(), 6);
        assert!(svg.contains("median of 3 round(s) 11000 msg/s [10000–12000]"));
        assert!(svg.contains(">1×1</text>") && svg.contains(">16×1</text>"));
        assert!(svg.contains(">4×1</text>"));
        assert!(svg.contains("bars, bands: their min–max"));
        // Every curve of a target in its colour; the unknown target in the first spare colour.
        assert!(svg.contains(r##"fill="#1f77b4" fill-opacity="0.15""##));
        assert!(svg.contains(r##"stroke="#2ca02c""##));
    }

    #[test]
    fn labels_carry_rate_and_batch() {
        let p = Point {
            producers: 16,
            inflight: 64,
            rate: 32_600.0,
            batch: 32,
            ..Point::default()
        };
        assert_eq!(load_label(&p), "16×64@32600/s b32");
        assert_eq!(Spread::of(vec![3.0, 1.0, 2.0, 4.0]).median, 2.5);
    }
}
