//! The contract and asset commands against real `formica node` processes: deploy the example
//! token, follow its events, call it, query it, read its record; define an asset, attest its
//! reserves, mint within them and read it back; run the asset, invoice, remittance, finance,
//! charity and traceability walkthroughs in `examples/`.

use crate::devnet::{Devnet, Process, binary, formica, target_dir};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const VALIDATORS: usize = 4;

fn wasm(name: &str) -> PathBuf {
    let path = target_dir().join(format!("wasm32-unknown-unknown/release/formica_{name}.wasm"));
    assert!(path.exists(), "{} is missing; run scripts/build-contracts.sh", path.display());
    path
}

#[test]
fn the_cli_deploys_a_token_contract_and_issues_an_asset() {
    let devnet = Devnet::start(VALIDATORS);
    let (dir, rpc) = (devnet.dir.clone(), devnet.rpc.clone());
    let base = rpc.rsplit(':').next().and_then(|port| port.parse::<u16>().ok()).expect("the RPC port");

    let token = wasm("token");
    let deployed = formica(
        &dir,
        &rpc,
        &[
            "contract",
            "deploy",
            token.to_str().expect("utf-8 path"),
            "--arg",
            "string:Dollar",
            "--arg",
            "string:USD",
            "--arg",
            "u128:1000000",
            "--wait",
            "--json",
        ],
    );
    let deployed: serde_json::Value = serde_json::from_str(&deployed).expect("json");
    assert_eq!(deployed["receipt"]["status"], "success", "{deployed}");
    let address = deployed["contract"].as_str().expect("the contract's address").to_string();

    // Follow Transfer events over WebSocket while the transfer is made.
    let bob = format!("0x{}", "07".repeat(32));
    let ws = format!("ws://127.0.0.1:{base}");
    let events = Command::new(binary())
        .args(["contract", "events", "--contract", &address, "--topic", "Transfer", "--count", "1", "--json"])
        .args(["--rpc", &ws, "--dir"])
        .arg(&dir)
        .stdout(Stdio::piped())
        .spawn()
        .expect("events runs");
    let mut events = Process(events);
    std::thread::sleep(Duration::from_secs(2));
    let arg_bob = format!("address:{bob}");
    let called = formica(
        &dir,
        &rpc,
        &["contract", "call", &address, "transfer", "--arg", &arg_bob, "--arg", "u128:250", "--wait", "--json"],
    );
    let called: serde_json::Value = serde_json::from_str(&called).expect("json");
    assert_eq!(called["receipt"]["status"], "success", "{called}");
    assert!(called["receipt"]["gas_used"].as_u64().expect("gas used") > 0);

    let balance =
        formica(&dir, &rpc, &["contract", "query", &address, "balance_of", "--arg", &arg_bob, "--returns", "u128"]);
    assert_eq!(balance.trim(), "250");
    let info = formica(&dir, &rpc, &["contract", "info", &address]);
    assert!(info.contains("\"frozen\": false"), "{info}");

    let deadline = Instant::now() + Duration::from_secs(30);
    let status = loop {
        if let Some(status) = events.0.try_wait().expect("waits") {
            break status;
        }
        assert!(Instant::now() < deadline, "no event arrived");
        std::thread::sleep(Duration::from_millis(200));
    };
    assert!(status.success());
    let mut output = String::new();
    std::io::Read::read_to_string(events.0.stdout.as_mut().expect("piped"), &mut output).expect("reads");
    let event: serde_json::Value = serde_json::from_str(output.trim()).expect("one json event");
    assert_eq!(event["contract"], address.as_str());
    assert_eq!(event["topics"][2], bob.as_str(), "the recipient topic");

    // The asset module: the development account holds the issuer role on the devnet.
    let receipt = |output: String| -> serde_json::Value {
        let value: serde_json::Value = serde_json::from_str(&output).expect("json");
        value["receipt"].clone()
    };
    let defined = receipt(formica(&dir, &rpc, &["asset", "define", "HKD", "--cap", "1000000", "--wait", "--json"]));
    assert_eq!(defined["status"], "success", "{defined}");
    let reference = format!("0x{}", "ab".repeat(32));
    let attested = receipt(formica(
        &dir,
        &rpc,
        &["asset", "attest", "HKD", "--reserves", "5000", "--reference", &reference, "--wait", "--json"],
    ));
    assert_eq!(attested["status"], "success", "{attested}");
    let holding: serde_json::Value =
        serde_json::from_str(&formica(&dir, &rpc, &["asset", "balance", "HKD", "--json"])).expect("json");
    let dev = holding["account"].as_str().expect("the dev account").to_string();
    let minted =
        receipt(formica(&dir, &rpc, &["asset", "mint", "HKD", "--to", &dev, "--amount", "4000", "--wait", "--json"]));
    assert_eq!(minted["status"], "success", "{minted}");
    let refused =
        receipt(formica(&dir, &rpc, &["asset", "mint", "HKD", "--to", &dev, "--amount", "1001", "--wait", "--json"]));
    assert_eq!(refused["status"], "failure", "past the reserves: {refused}");
    assert_eq!(refused["failure_code"], 65, "{refused}");
    let info: serde_json::Value =
        serde_json::from_str(&formica(&dir, &rpc, &["asset", "info", "HKD", "--json"])).expect("json");
    assert_eq!((info["supply"].as_str(), info["reserves"].as_str()), (Some("4000"), Some("5000")), "{info}");
    let holding: serde_json::Value =
        serde_json::from_str(&formica(&dir, &rpc, &["asset", "balance", "HKD", &dev, "--json"])).expect("json");
    assert_eq!(holding["balance"], "4000", "{holding}");

    // The walkthroughs the README quotes run end to end against this network.
    let examples = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../examples");
    let scripts =
        ["assets.sh", "invoices.sh", "remittance.sh", "finance.sh", "charity.sh", "traceability.sh", "notary.sh"];
    for script in scripts {
        let output = Command::new("bash")
            .arg(examples.join(script))
            .env("FORMICA", binary())
            .env("FORMICA_ARGS", format!("--dir {} --rpc {rpc}", dir.display()))
            .output()
            .expect("bash runs");
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(output.status.success(), "{script} failed: {stdout}{}", String::from_utf8_lossy(&output.stderr));
        assert!(stdout.contains("walkthrough: done"), "{script}: {stdout}");
    }
}
