//! `formica bench` against real validator processes on loopback: a short run whose report must
//! agree with itself and with the chain (no timing thresholds: figures are measured, not tested).

use crate::devnet::{Ports, binary};
use serde_json::Value;
use std::process::Command;

fn number(report: &Value, field: &str) -> u64 {
    report[field].as_u64().unwrap_or_else(|| panic!("{field} is a whole number in {report}"))
}

fn float(value: &Value, field: &str) -> f64 {
    value[field].as_f64().unwrap_or_else(|| panic!("{field} is a number in {value}"))
}

/// Runs a bench with `arguments` and returns its JSON report.
fn bench(validators: usize, arguments: &[&str]) -> Value {
    let directory = tempfile::tempdir().expect("temp dir");
    let report_path = directory.path().join("report.json");
    let ports = Ports::take();
    let base = ports.base;
    let output = Command::new(binary())
        .args(["bench", "run", "--validators", &validators.to_string(), "--network-dir"])
        .arg(directory.path().join("network"))
        .args(["--rpc-port", &base.to_string(), "--p2p-port", &(base + 8).to_string()])
        .args(["--admin-port", &(base + 24).to_string()])
        .args(["--metrics-port", &(base + 16).to_string(), "--accounts", "300", "--drain", "90", "--json-file"])
        .arg(&report_path)
        .args(arguments)
        .output()
        .expect("formica bench runs");
    assert!(
        output.status.success(),
        "bench failed: {}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    let report: Value = serde_json::from_slice(&std::fs::read(&report_path).expect("report written")).expect("JSON");
    check_consistent(&report, validators);
    // Data folders are measured, then deleted (without `--keep-data`); the logs stay.
    for index in 0..validators {
        let node = directory.path().join(format!("network/node-{index}"));
        assert!(node.join("node.log").exists(), "node-{index}'s log is kept");
        assert!(!node.join("data").exists(), "node-{index}'s data folder is deleted");
    }
    report
}

/// What every report must satisfy, whatever the machine's speed.
fn check_consistent(report: &Value, validators: usize) {
    let (submitted, accepted, finalized) =
        (number(report, "submitted"), number(report, "accepted"), number(report, "finalized"));
    let rejected: u64 =
        report["rejected"].as_object().expect("rejected by reason").values().filter_map(Value::as_u64).sum();
    assert!(submitted > 0, "{report}");
    assert_eq!(submitted, accepted + rejected, "every submission is accepted or rejected: {report}");
    assert_eq!(finalized + number(report, "not_finalized"), accepted, "{report}");
    // The bench followed blocks; the chain counts executed transactions in the senders' nonces
    // (with the workload's set-up, final before the load).
    assert_eq!(
        Some(finalized + number(report, "setup_transactions")),
        report["chain_nonce_sum"].as_u64(),
        "final transactions match the chain: {report}"
    );
    assert_eq!(
        number(report, "block_transactions"),
        finalized,
        "only the bench's transactions are in blocks: {report}"
    );
    assert!(number(report, "blocks") >= 1);
    let latency = &report["latency"];
    let (p50, p95, p99, max) =
        (float(latency, "p50_ms"), float(latency, "p95_ms"), float(latency, "p99_ms"), float(latency, "max_ms"));
    assert!(0.0 < p50 && p50 <= p95 && p95 <= p99 && p99 <= max, "{latency}");
    assert!(float(report, "finalized_tps") > 0.0);
    let nodes = report["nodes"].as_array().expect("nodes");
    assert_eq!(nodes.len(), validators);
    for node in nodes {
        assert!(float(node, "cpu_seconds") > 0.0, "{node}");
        assert!(float(node, "cpu_seconds_per_1000_tx") > 0.0, "{node}");
        assert!(number(node, "peak_rss_bytes") > 1 << 20, "{node}");
        // A light run on a small state: far below a gigabyte (p2p queues sized for one-second
        // bursts from every possible peer once took 3 GiB per node).
        assert!(number(node, "peak_rss_bytes") < 1 << 30, "{node}");
        assert!(number(node, "disk_bytes") > 0, "{node}");
    }
}

#[test]
fn open_loop_bench_on_four_processes_reports_what_the_chain_finalized() {
    let report = bench(4, &["--mode", "open", "--rate", "100", "--duration", "4"]);
    // A light load on an idle pool: nothing is refused and everything becomes final.
    assert_eq!(report["rejected"].as_object().map(|reasons| reasons.len()), Some(0), "{report}");
    assert_eq!(number(&report, "not_finalized"), 0, "{report}");
    assert_eq!(report["target_rate_tps"].as_u64(), Some(100));
}

#[test]
fn closed_loop_bench_on_one_validator_reports_what_the_chain_finalized() {
    let report = bench(1, &["--mode", "closed", "--clients", "8", "--duration", "3", "--distribution", "zipf"]);
    assert_eq!(report["clients"].as_u64(), Some(8));
    assert_eq!(number(&report, "not_finalized"), 0, "{report}");
}

/// A module workload: every measured transaction final and, by node-0's receipts, succeeded.
fn module_workload(workload: &str, setup: u64) {
    let report = bench(
        1,
        &["--workload", workload, "--mode", "closed", "--clients", "16", "--duration", "3", "--transactions", "1500"],
    );
    assert_eq!(report["workload"].as_str(), Some(workload));
    assert_eq!(number(&report, "setup_transactions"), setup, "{report}");
    assert_eq!(number(&report, "not_finalized"), 0, "{report}");
    assert_eq!(report["succeeded"].as_u64(), Some(number(&report, "finalized")), "{report}");
}

#[test]
fn notary_bench_deposits_documents_that_all_succeed() {
    module_workload("notary", 0);
}

#[test]
fn traceability_bench_registers_batches_then_appends_events_that_all_succeed() {
    // 300 accounts, 1,500 events: each account registers one batch.
    module_workload("traceability", 300);
}
