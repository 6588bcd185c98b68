//! Throughput–latency curves as a hand-written SVG: messages/s on x, latency (ms) on y, both
//! logarithmic; one colour per target, p99 solid with dots, p50 dashed. A curve joins the points
//! of one target that differ only in load (producers, in-flight window, offered rate), ordered
//! by throughput; points with another mode, size, batch or flush mode form their own curve.

use std::collections::BTreeMap;
use std::fmt::Write;

use crate::report::RunResult;

const W: f64 = 900.0;
const H: f64 = 560.0;
const LEFT: f64 = 80.0;
const RIGHT: f64 = 250.0;
const TOP: f64 = 50.0;
const BOTTOM: f64 = 60.0;

fn colour(target: &str, n: usize) -> &'static str {
    match target {
        "sluice" => "#1f77b4",
        "null" => "#7f7f7f",
        "rocketmq-rust" => "#d62728",
        _ => ["#2ca02c", "#9467bd", "#8c564b", "#e377c2", "#bcbd22"][n % 5],
    }
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
    k
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

    let mut legend_y = TOP + 10.0;
    for (n, (key, mut pts)) in curves.into_iter().enumerate() {
        pts.sort_by(|a, b| a.msgs_per_sec.total_cmp(&b.msgs_per_sec));
        let c = colour(&pts[0].target, n);
        // p99 solid, p50 dashed.
        for (pick, dash) in [(0usize, ""), (1, r#" stroke-dasharray="6 4""#)] {
            let path: Vec<String> = pts
                .iter()
                .map(|r| {
                    let y = if pick == 0 {
                        r.latency.p99_ms
                    } else {
                        r.latency.p50_ms
                    };
                    format!("{:.1},{:.1}", px(r.msgs_per_sec), py(y))
                })
                .collect();
            let _ = writeln!(
                s,
                r#"<polyline points="{}" fill="none" stroke="{c}" stroke-width="2"{dash}/>"#,
                path.join(" ")
            );
            for r in &pts {
                let y = if pick == 0 {
                    r.latency.p99_ms
                } else {
                    r.latency.p50_ms
                };
                let _ = writeln!(
                    s,
                    r#"<circle cx="{:.1}" cy="{:.1}" r="3" fill="{}" stroke="{c}"><title>{} p={} inflight={} rate={}: {:.0} msg/s, p50 {:.3} ms, p99 {:.3} ms</title></circle>"#,
                    px(r.msgs_per_sec),
                    py(y),
                    if pick == 0 { c } else { "white" },
                    escape(&key),
                    r.point.producers,
                    r.point.inflight,
                    r.point.rate,
                    r.msgs_per_sec,
                    r.latency.p50_ms,
                    r.latency.p99_ms
                );
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
    s.push_str("</svg>\n");
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::{Latency, Point};

    #[test]
    fn draws_one_curve_per_target() {
        let run = |target: &str, rate: f64, p99: f64| RunResult {
            target: target.into(),
            point: Point {
                producers: 1,
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
            round: 0,
            start_to_first_ack_secs: None,
        };
        let runs = [
            run("sluice", 10_000.0, 0.4),
            run("sluice", 90_000.0, 2.0),
            run("null", 200_000.0, 1.0),
            run("rocketmq-rust", 1_600.0, 9.0),
        ];
        let svg = throughput_latency_svg("t", &runs);
        assert!(svg.starts_with("<svg"));
        assert!(svg.trim_end().ends_with("</svg>"));
        assert_eq!(svg.matches("<polyline").count(), 6);
        assert!(svg.contains("rocketmq-rust producer 1024 B"));
    }
}
