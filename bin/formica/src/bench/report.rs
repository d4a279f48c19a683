//! The bench report (printed, and written as JSON for comparing runs) and the sweep chart (SVG
//! text generated from the reports).

use super::driver::{Outcome, percentile};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt::Write as _;

/// Submit-to-final latency, in milliseconds.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct Latency {
    pub p50_ms: f64,
    pub p95_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
    pub mean_ms: f64,
}

impl Latency {
    pub fn from_sorted_us(sorted: &[u64]) -> Self {
        let ms = |us: u64| us as f64 / 1000.0;
        let mean = if sorted.is_empty() { 0.0 } else { sorted.iter().sum::<u64>() as f64 / sorted.len() as f64 };
        Self {
            p50_ms: ms(percentile(sorted, 50.0)),
            p95_ms: ms(percentile(sorted, 95.0)),
            p99_ms: ms(percentile(sorted, 99.0)),
            max_ms: ms(sorted.last().copied().unwrap_or(0)),
            mean_ms: mean / 1000.0,
        }
    }
}

/// One validator process over the load phase.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct NodeReport {
    pub name: String,
    pub pid: u32,
    /// User plus system CPU time used during the load phase and drain.
    pub cpu_seconds: f64,
    pub cpu_seconds_per_1000_tx: f64,
    /// Peak resident memory since the process started (`VmHWM`).
    pub peak_rss_bytes: u64,
    /// Everything under the node's data folder at the end (state, blocks, indexes, journals).
    pub disk_bytes: u64,
    pub disk_bytes_per_account: f64,
}

/// Where and under what load the run happened.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct MachineReport {
    pub cpus: usize,
    pub kernel: String,
    pub load_average_1m_before: f64,
    pub load_average_1m_after: f64,
    /// CPU time of the bench process itself (submitting, following blocks) during the phase.
    pub bench_cpu_seconds: f64,
}

/// One run (or one point of a sweep). Fields missing from an older report read as defaults.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct Report {
    /// `closed` or `open`.
    pub mode: String,
    /// What the measured transactions do: `transfer` (reports before this field existed),
    /// `remittance`, `notary` or `traceability`.
    pub workload: String,
    /// Transactions the workload's set-up phases made final before the load (remittance
    /// requests and quotes, traceability registrations; none for transfers and deposits). The
    /// workload accounts' nonces count them too.
    pub setup_transactions: u64,
    /// The remittance workload: how many of the submitted remittances node-0 reports settled
    /// after the run. Not read above `--verify-accounts-max`.
    pub settled: Option<u64>,
    /// Module workloads: how many of the submitted transactions node-0's receipts show
    /// succeeded after the run (the rest failed in execution or are not final). Not read above
    /// `--verify-accounts-max`.
    pub succeeded: Option<u64>,
    pub validators: usize,
    /// The genesis limit on transactions per block.
    pub block_transactions_max: u32,
    pub accounts: u64,
    pub distribution: String,
    pub seed: u64,
    /// Closed loop: concurrent clients.
    pub clients: Option<usize>,
    /// Open loop: the rate asked for.
    pub target_rate_tps: Option<u64>,
    pub duration_seconds: f64,
    pub drain_seconds: f64,
    /// Transactions sent (accepted plus rejected).
    pub submitted: u64,
    pub accepted: u64,
    pub rejected: BTreeMap<String, u64>,
    /// Accepted transactions seen in finalized blocks on the first node.
    pub finalized: u64,
    /// Accepted transactions not final when the drain ended.
    pub not_finalized: u64,
    /// Transactions in the finalized blocks observed during the run (the bench's and any other).
    pub block_transactions: u64,
    pub blocks: u64,
    /// The sum of the workload accounts' nonces on node-0 after the run (each phase of a sweep
    /// adds to it): what the chain itself says was executed. Not read above `--verify-accounts-max`.
    pub chain_nonce_sum: Option<u64>,
    /// Submitted per second of the load phase.
    pub offered_tps: f64,
    /// Finalized per second of the load phase (what finalized during it, drain excluded).
    pub finalized_tps: f64,
    pub latency: Latency,
    pub nodes: Vec<NodeReport>,
    pub machine: MachineReport,
}

impl Report {
    /// Fills the transaction figures from a driver outcome.
    pub fn with_outcome(mut self, outcome: &Outcome) -> Self {
        let window = outcome.load_seconds.max(f64::EPSILON);
        self.duration_seconds = outcome.load_seconds;
        self.drain_seconds = outcome.drain_seconds;
        self.submitted = outcome.submitted;
        self.accepted = outcome.accepted;
        self.rejected = outcome.rejected.clone();
        self.finalized = outcome.finalized;
        self.not_finalized = outcome.not_finalized;
        self.block_transactions = outcome.block_transactions;
        self.blocks = outcome.blocks;
        self.offered_tps = outcome.submitted as f64 / window;
        self.finalized_tps = outcome.finalized_in_window as f64 / window;
        self.latency = Latency::from_sorted_us(&outcome.latencies_us);
        self
    }

    /// The human-readable summary.
    pub fn text(&self) -> String {
        let mut out = String::new();
        let load = match (self.clients, self.target_rate_tps) {
            (Some(clients), _) => format!("closed loop, {clients} clients"),
            (_, Some(rate)) => format!("open loop, {rate} tx/s asked"),
            _ => self.mode.clone(),
        };
        let workload = if self.workload.is_empty() { "transfer" } else { &self.workload };
        let _ = writeln!(
            out,
            "{workload} workload, {load}; {} validators; {} accounts ({}); blocks of at most {}; {:.1} s load + {:.1} s drain",
            self.validators,
            self.accounts,
            self.distribution,
            self.block_transactions_max,
            self.duration_seconds,
            self.drain_seconds
        );
        let _ = writeln!(
            out,
            "submitted {}  accepted {}  finalized {}  not finalized {}  blocks {} ({} transactions)",
            self.submitted, self.accepted, self.finalized, self.not_finalized, self.blocks, self.block_transactions
        );
        if let Some(settled) = self.settled {
            let _ = writeln!(out, "settled      {settled} remittances (node-0's records)");
        }
        if let Some(succeeded) = self.succeeded {
            let _ = writeln!(out, "succeeded    {succeeded} of the submitted transactions (node-0's receipts)");
        }
        if let Some(sum) = self.chain_nonce_sum {
            let _ = writeln!(
                out,
                "chain        workload accounts' nonces sum to {sum} ({} of them set-up)",
                self.setup_transactions
            );
        }
        let rejected: Vec<String> = self.rejected.iter().map(|(reason, count)| format!("{reason} {count}")).collect();
        let _ = writeln!(out, "rejected     {}", if rejected.is_empty() { "none".into() } else { rejected.join(", ") });
        let _ = writeln!(out, "offered      {:.0} tx/s", self.offered_tps);
        let _ = writeln!(out, "finalized    {:.0} tx/s", self.finalized_tps);
        let l = &self.latency;
        let _ = writeln!(
            out,
            "latency      p50 {:.0} ms  p95 {:.0} ms  p99 {:.0} ms  max {:.0} ms  (submit to final on node-0)",
            l.p50_ms, l.p95_ms, l.p99_ms, l.max_ms
        );
        for node in &self.nodes {
            let _ = writeln!(
                out,
                "{:<7} cpu {:.1} s ({:.3} s per 1,000 tx)  peak rss {:.0} MiB  disk {:.1} MiB ({:.0} B per account)",
                node.name,
                node.cpu_seconds,
                node.cpu_seconds_per_1000_tx,
                node.peak_rss_bytes as f64 / 1048576.0,
                node.disk_bytes as f64 / 1048576.0,
                node.disk_bytes_per_account
            );
        }
        let m = &self.machine;
        let _ = writeln!(
            out,
            "machine      {} cpus, load {:.2} before / {:.2} after; bench process cpu {:.1} s",
            m.cpus, m.load_average_1m_before, m.load_average_1m_after, m.bench_cpu_seconds
        );
        out
    }
}

/// A chart of finalized throughput (left axis, linear) and p99 latency (right axis, logarithmic
/// from 10 ms: overload latencies are orders of magnitude above light-load ones) against the
/// offered rate, one point per sweep step.
pub fn sweep_svg(points: &[Report], title: &str) -> String {
    const WIDTH: f64 = 760.0;
    const HEIGHT: f64 = 440.0;
    const LEFT: f64 = 80.0;
    const RIGHT: f64 = 80.0;
    const TOP: f64 = 50.0;
    const BOTTOM: f64 = 60.0;
    let plot_width = WIDTH - LEFT - RIGHT;
    let plot_height = HEIGHT - TOP - BOTTOM;
    let x_max = nice_ceiling(points.iter().map(|p| p.offered_tps).fold(1.0, f64::max));
    let tps_max = nice_ceiling(points.iter().map(|p| p.finalized_tps.max(p.offered_tps)).fold(1.0, f64::max));
    // Powers of ten from 10 ms to the first at or above the largest p99.
    let decades = points.iter().map(|p| p.latency.p99_ms).fold(100.0, f64::max).log10().ceil().max(2.0) - 1.0;
    let x = |value: f64| LEFT + value / x_max * plot_width;
    let y_tps = |value: f64| TOP + plot_height - value / tps_max * plot_height;
    let y_latency = |value: f64| TOP + plot_height - (value.max(10.0).log10() - 1.0) / decades * plot_height;

    let mut svg = String::new();
    let _ = writeln!(
        svg,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" viewBox="0 0 {WIDTH} {HEIGHT}" font-family="sans-serif" font-size="12">"#
    );
    let _ = writeln!(svg, r#"<rect width="{WIDTH}" height="{HEIGHT}" fill="white"/>"#);
    let _ = writeln!(
        svg,
        r#"<text x="{}" y="24" text-anchor="middle" font-size="15">{}</text>"#,
        WIDTH / 2.0,
        escape(title)
    );
    for step in 0..=5 {
        let fraction = f64::from(step) / 5.0;
        let (gx, gy) = (LEFT + fraction * plot_width, TOP + plot_height - fraction * plot_height);
        let _ = writeln!(
            svg,
            r##"<line x1="{LEFT}" y1="{gy:.1}" x2="{:.1}" y2="{gy:.1}" stroke="#ddd"/>"##,
            LEFT + plot_width
        );
        let _ = writeln!(
            svg,
            r#"<text x="{gx:.1}" y="{:.1}" text-anchor="middle">{:.0}</text>"#,
            TOP + plot_height + 18.0,
            fraction * x_max
        );
        let _ = writeln!(
            svg,
            r##"<text x="{:.1}" y="{:.1}" text-anchor="end" fill="#1f5fa8">{:.0}</text>"##,
            LEFT - 6.0,
            gy + 4.0,
            fraction * tps_max
        );
    }
    for decade in 0..=decades as i32 {
        let value = 10f64.powi(decade + 1);
        let _ = writeln!(
            svg,
            r##"<text x="{:.1}" y="{:.1}" fill="#c0392b">{value:.0}</text>"##,
            LEFT + plot_width + 6.0,
            y_latency(value) + 4.0
        );
    }
    let _ = writeln!(
        svg,
        r##"<rect x="{LEFT}" y="{TOP}" width="{plot_width}" height="{plot_height}" fill="none" stroke="#333"/>"##
    );
    let _ = writeln!(
        svg,
        r#"<text x="{:.1}" y="{:.1}" text-anchor="middle">offered load (tx/s)</text>"#,
        LEFT + plot_width / 2.0,
        HEIGHT - 18.0
    );
    let _ = writeln!(
        svg,
        r##"<text transform="translate(22 {:.1}) rotate(-90)" text-anchor="middle" fill="#1f5fa8">finalized throughput (tx/s)</text>"##,
        TOP + plot_height / 2.0
    );
    let _ = writeln!(
        svg,
        r##"<text transform="translate({:.1} {:.1}) rotate(90)" text-anchor="middle" fill="#c0392b">p99 submit-to-final latency (ms, log)</text>"##,
        WIDTH - 22.0,
        TOP + plot_height / 2.0
    );
    let mut series = |colour: &str, dash: &str, value: &dyn Fn(&Report) -> (f64, f64)| {
        let coordinates: Vec<String> = points
            .iter()
            .map(|point| {
                let (px, py) = value(point);
                format!("{px:.1},{py:.1}")
            })
            .collect();
        let _ = writeln!(
            svg,
            r#"<polyline points="{}" fill="none" stroke="{colour}" stroke-width="2" stroke-dasharray="{dash}"/>"#,
            coordinates.join(" ")
        );
        for coordinate in &coordinates {
            let (px, py) = coordinate.split_once(',').expect("formatted with a comma");
            let _ = writeln!(svg, r#"<circle cx="{px}" cy="{py}" r="3.5" fill="{colour}"/>"#);
        }
    };
    series("#1f5fa8", "", &|point| (x(point.offered_tps), y_tps(point.finalized_tps)));
    series("#c0392b", "6 4", &|point| (x(point.offered_tps), y_latency(point.latency.p99_ms)));
    let _ = writeln!(
        svg,
        r##"<line x1="{LEFT}" y1="{:.1}" x2="{:.1}" y2="{:.1}" stroke="#999" stroke-dasharray="2 3"/>"##,
        y_tps(0.0),
        x(x_max.min(tps_max)),
        y_tps(x_max.min(tps_max))
    );
    let legend_y = TOP + 16.0;
    let _ = writeln!(
        svg,
        r##"<text x="{:.1}" y="{legend_y:.1}" fill="#1f5fa8">● finalized tx/s</text><text x="{:.1}" y="{legend_y:.1}" fill="#c0392b">● p99 latency (ms)</text><text x="{:.1}" y="{legend_y:.1}" fill="#999">┈ finalized = offered</text>"##,
        LEFT + 10.0,
        LEFT + 140.0,
        LEFT + 280.0
    );
    svg.push_str("</svg>\n");
    svg
}

/// The smallest of 1, 2, 2.5, 5 times a power of ten that is at least `value`.
fn nice_ceiling(value: f64) -> f64 {
    let magnitude = 10f64.powf(value.max(1.0).log10().floor());
    [1.0, 2.0, 2.5, 5.0, 10.0]
        .iter()
        .map(|step| step * magnitude)
        .find(|candidate| *candidate >= value)
        .unwrap_or(10.0 * magnitude)
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn latency_summary_orders_percentiles() {
        let sorted: Vec<u64> = (1..=1000).map(|ms| ms * 1000).collect();
        let latency = Latency::from_sorted_us(&sorted);
        assert_eq!((latency.p50_ms, latency.p95_ms, latency.p99_ms, latency.max_ms), (500.0, 950.0, 990.0, 1000.0));
        assert!((latency.mean_ms - 500.5).abs() < 1e-9);
    }

    #[test]
    fn nice_ceilings() {
        assert_eq!(nice_ceiling(730.0), 1000.0);
        assert_eq!(nice_ceiling(1000.0), 1000.0);
        assert_eq!(nice_ceiling(2100.0), 2500.0);
        assert_eq!(nice_ceiling(0.2), 1.0);
    }

    #[test]
    fn chart_places_one_marker_per_point_and_series() {
        let point = |offered: f64, finalized: f64, p99: f64| Report {
            offered_tps: offered,
            finalized_tps: finalized,
            latency: Latency { p99_ms: p99, ..Latency::default() },
            ..Report::default()
        };
        let svg = sweep_svg(
            &[point(100.0, 100.0, 400.0), point(1000.0, 900.0, 900.0), point(2000.0, 1100.0, 3000.0)],
            "t<1>",
        );
        assert!(svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"));
        assert_eq!(svg.matches("<circle").count(), 6);
        assert_eq!(svg.matches("<polyline").count(), 2);
        assert!(svg.contains("t&lt;1&gt;"));
        // The x axis ends at 2000 tx/s: the last throughput marker sits at the plot's right edge.
        assert!(svg.contains(r#"<circle cx="680.0""#), "{svg}");
        // p99 of 3000 ms on a 10 ms to 10 s log axis: 2.48 of 3 decades up the plot.
        let expected = 50.0 + 330.0 - (3000f64.log10() - 1.0) / 3.0 * 330.0;
        assert!(svg.contains(&format!(r#"cx="680.0" cy="{expected:.1}""#)), "{svg}");
    }
}
