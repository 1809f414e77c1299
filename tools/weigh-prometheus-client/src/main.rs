//! Formats the same metric families as `GET /metrics` (6 counters, a gauge per number,
//! 8 gauges, a 12-bucket histogram) with prometheus-client and with the hand-written
//! formatter of web/src/routes/metrics.rs, 20,000 times each, and prints the time per scrape.

use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;
use std::fmt::Write as _;
use std::time::Instant;

const B: [f64; 12] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
];

fn main() {
    let mut reg = Registry::default();
    let counters: Vec<Counter> = (0..6).map(|_| Counter::default()).collect();
    for (i, c) in counters.iter().enumerate() {
        reg.register(format!("atende_c{i}"), "A counter.", c.clone());
        c.inc_by(12345);
    }
    let fam = Family::<Vec<(String, String)>, Gauge>::default();
    reg.register("atende_outbox_depth", "Per number.", fam.clone());
    for n in 0..4 {
        fam.get_or_create(&vec![("number".into(), format!("10{n}"))])
            .set(n);
    }
    let gauges: Vec<Gauge> = (0..8).map(|_| Gauge::default()).collect();
    for (i, g) in gauges.iter().enumerate() {
        reg.register(format!("atende_g{i}"), "A gauge.", g.clone());
        g.set(42);
    }
    let h = Histogram::new(B.into_iter());
    reg.register(
        "atende_http_request_duration_seconds",
        "Latency.",
        h.clone(),
    );
    for i in 0..1000 {
        h.observe(i as f64 / 1000.0);
    }
    let n = 20000;
    let t = Instant::now();
    let mut len = 0;
    for _ in 0..n {
        let mut out = String::new();
        encode(&mut out, &reg).unwrap();
        len += out.len();
    }
    let crate_ns = t.elapsed().as_nanos() / n;
    // hand-written, same families
    let t = Instant::now();
    let mut len2 = 0;
    for _ in 0..n {
        let mut out = String::new();
        let mut metric = |name: &str, kind: &str, help: &str, lines: Vec<(String, f64)>| {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
            for (labels, value) in lines {
                let _ = writeln!(out, "{name}{labels} {value}");
            }
        };
        for i in 0..6 {
            metric(
                &format!("atende_c{i}_total"),
                "counter",
                "A counter.",
                vec![(String::new(), 12345.0)],
            );
        }
        metric(
            "atende_outbox_depth",
            "gauge",
            "Per number.",
            (0..4)
                .map(|n| (format!("{{number=\"10{n}\"}}"), n as f64))
                .collect(),
        );
        for i in 0..8 {
            metric(
                &format!("atende_g{i}"),
                "gauge",
                "A gauge.",
                vec![(String::new(), 42.0)],
            );
        }
        let mut lines: Vec<(String, f64)> = B
            .iter()
            .map(|b| (format!("_bucket{{le=\"{b}\"}}"), 10.0))
            .collect();
        lines.push(("_bucket{le=\"+Inf\"}".into(), 1000.0));
        lines.push(("_sum".into(), 499.5));
        lines.push(("_count".into(), 1000.0));
        metric(
            "atende_http_request_duration_seconds",
            "histogram",
            "Latency.",
            lines,
        );
        len2 += out.len();
    }
    let hand_ns = t.elapsed().as_nanos() / n;
    println!(
        "prometheus-client encode: {crate_ns} ns/scrape ({} bytes)",
        len / n as usize
    );
    println!(
        "hand-written:             {hand_ns} ns/scrape ({} bytes)",
        len2 / n as usize
    );
}
