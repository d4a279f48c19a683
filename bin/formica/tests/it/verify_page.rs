//! The product verification page in a real headless browser (Chromium): a genuine history shows
//! as verified with its events; the same page behind a server that alters one event's location
//! shows as NOT VERIFIED and never shows the altered text. Screenshots of both are saved under
//! `<target dir>/formica-screenshots/` for people to look at. `formica verify trace` gives the
//! same verdicts.

use crate::devnet::{Devnet, binary, target_dir};
use base64::Engine as _;
use serde_json::{Value, json};
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const GENUINE_LOCATION: &str = "Port of Tauranga";
/// The genuine text with its first word changed (a record is stored in 64-byte chunks, so the
/// first four bytes of the location are sure to sit in one chunk's hex); the record still decodes.
const FORGED_LOCATION: &str = "Fort of Tauranga";

fn chromium() -> PathBuf {
    for name in ["chromium", "chromium-browser", "google-chrome"] {
        if let Ok(output) = Command::new("which").arg(name).output()
            && output.status.success()
        {
            return PathBuf::from(String::from_utf8_lossy(&output.stdout).trim());
        }
    }
    panic!("no Chromium found: scripts/setup.sh --tests installs it (apt package `chromium`)");
}

/// Headless Chromium driven over the DevTools protocol. The test waits in real time for the
/// page's verdict: Chromium's `--virtual-time-budget` runs out early on a loaded machine,
/// because the verifier compiles on background threads while virtual time runs on, and the DOM
/// was then dumped still saying "Verifying".
struct Browser {
    socket: tungstenite::WebSocket<TcpStream>,
    next_id: u64,
    child: std::process::Child,
    _profile: tempfile::TempDir,
}

impl Browser {
    fn launch() -> Self {
        let profile = tempfile::tempdir().expect("browser profile");
        let child = Command::new(chromium())
            .args(["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run"])
            .args(["--hide-scrollbars", "--remote-debugging-port=0", "--remote-debugging-address=127.0.0.1"])
            .arg(format!("--user-data-dir={}", profile.path().display()))
            .arg("about:blank")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromium starts");
        // Chromium writes its DevTools port and the browser's WebSocket path here once it listens.
        let active = profile.path().join("DevToolsActivePort");
        let deadline = Instant::now() + Duration::from_secs(60);
        let (port, path) = loop {
            let text = std::fs::read_to_string(&active).unwrap_or_default();
            let mut lines = text.lines();
            if let (Some(port), Some(path)) = (lines.next(), lines.next())
                && let Ok(port) = port.trim().parse::<u16>()
            {
                break (port, path.trim().to_string());
            }
            assert!(Instant::now() < deadline, "Chromium did not open its DevTools port");
            std::thread::sleep(Duration::from_millis(100));
        };
        let stream = TcpStream::connect(("127.0.0.1", port)).expect("DevTools connects");
        stream.set_read_timeout(Some(Duration::from_secs(120))).expect("timeout");
        let (socket, _) =
            tungstenite::client(format!("ws://127.0.0.1:{port}{path}"), stream).expect("DevTools handshake");
        Self { socket, next_id: 0, child, _profile: profile }
    }

    /// Sends one DevTools command (to the page `session`, or to the browser) and returns its
    /// result, skipping the events that arrive meanwhile.
    fn call(&mut self, session: Option<&str>, method: &str, params: Value) -> Value {
        self.next_id += 1;
        let id = self.next_id;
        let mut message = json!({ "id": id, "method": method, "params": params });
        if let Some(session) = session {
            message["sessionId"] = json!(session);
        }
        self.socket.send(tungstenite::Message::text(message.to_string())).expect("DevTools send");
        loop {
            let tungstenite::Message::Text(text) = self.socket.read().expect("DevTools answers") else { continue };
            let answer: Value = serde_json::from_str(text.as_str()).expect("DevTools sends JSON");
            if answer["id"].as_u64() == Some(id) {
                assert!(answer.get("error").is_none(), "DevTools {method} failed: {answer}");
                return answer["result"].clone();
            }
        }
    }

    fn evaluate(&mut self, session: &str, expression: &str) -> Value {
        let result =
            self.call(Some(session), "Runtime.evaluate", json!({ "expression": expression, "returnByValue": true }));
        result["result"]["value"].clone()
    }

    /// Opens `url` in a new tab, waits (up to two minutes) until the page reaches a verdict,
    /// saves a screenshot to `screenshot` and returns the page's DOM.
    fn open(&mut self, url: &str, screenshot: &Path) -> String {
        let target = self.call(None, "Target.createTarget", json!({ "url": "about:blank" }))["targetId"].clone();
        let session =
            self.call(None, "Target.attachToTarget", json!({ "targetId": target, "flatten": true }))["sessionId"]
                .as_str()
                .expect("a session")
                .to_string();
        let metrics = json!({ "width": 1000, "height": 1300, "deviceScaleFactor": 1, "mobile": false });
        self.call(Some(&session), "Emulation.setDeviceMetricsOverride", metrics);
        self.call(Some(&session), "Page.navigate", json!({ "url": url }));
        let deadline = Instant::now() + Duration::from_secs(120);
        let verdict = "location.href === %URL% && document.body ? document.body.dataset.verdict : null"
            .replace("%URL%", &json!(url).to_string());
        while Instant::now() < deadline {
            let now = self.evaluate(&session, &verdict);
            if now == "verified" || now == "failed" {
                break;
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        let dom =
            self.evaluate(&session, "document.documentElement.outerHTML").as_str().unwrap_or_default().to_string();
        let png = self.call(Some(&session), "Page.captureScreenshot", json!({ "format": "png" }))["data"].clone();
        let png = base64::engine::general_purpose::STANDARD.decode(png.as_str().expect("image data")).expect("base64");
        std::fs::write(screenshot, png).expect("screenshot saved");
        self.call(None, "Target.closeTarget", json!({ "targetId": target }));
        dom
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// An HTTP proxy in front of `node` (host:port) that passes everything through, except that in
/// answers to `formica_getTraceBundle` it replaces the genuine location's bytes with the forged
/// ones: what a dishonest server showing the page would do.
fn forging_proxy(node: String) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("proxy binds");
    let address = listener.local_addr().expect("bound").to_string();
    std::thread::spawn(move || {
        for connection in listener.incoming().flatten() {
            let node = node.clone();
            std::thread::spawn(move || {
                let _ = relay(connection, &node);
            });
        }
    });
    address
}

fn relay(mut client: TcpStream, node: &str) -> std::io::Result<()> {
    client.set_read_timeout(Some(Duration::from_secs(10)))?;
    let (head, body) = read_request(&mut client)?;
    let mut lines = head.lines();
    let request_line = lines.next().unwrap_or_default().to_string();
    let content_type = head
        .lines()
        .find_map(|line| line.to_ascii_lowercase().strip_prefix("content-type:").map(|value| value.trim().to_string()));
    // HTTP/1.0 to the node: the answer ends when the connection closes, never chunked.
    let mut parts = request_line.split_whitespace();
    let (method, path) = (parts.next().unwrap_or("GET"), parts.next().unwrap_or("/"));
    let mut upstream = TcpStream::connect(node)?;
    let mut request = format!("{method} {path} HTTP/1.0\r\nHost: {node}\r\nContent-Length: {}\r\n", body.len());
    if let Some(content_type) = content_type {
        request.push_str(&format!("Content-Type: {content_type}\r\n"));
    }
    request.push_str("\r\n");
    upstream.write_all(request.as_bytes())?;
    upstream.write_all(&body)?;
    let mut answer = Vec::new();
    upstream.read_to_end(&mut answer)?;
    let split = answer.windows(4).position(|window| window == b"\r\n\r\n").map_or(answer.len(), |at| at + 4);
    let (answer_head, answer_body) = answer.split_at(split);
    let mut answer_body = answer_body.to_vec();
    if String::from_utf8_lossy(&body).contains("formica_getTraceBundle") {
        let genuine = hex_of(&GENUINE_LOCATION[..4]);
        let forged = hex_of(&FORGED_LOCATION[..4]);
        answer_body = String::from_utf8_lossy(&answer_body).replace(&genuine, &forged).into_bytes();
    }
    let head_text = String::from_utf8_lossy(answer_head);
    let mut head_out = String::new();
    for line in head_text.split("\r\n").filter(|line| !line.is_empty()) {
        if !line.to_ascii_lowercase().starts_with("content-length:") {
            head_out.push_str(line);
            head_out.push_str("\r\n");
        }
    }
    head_out.push_str(&format!("Content-Length: {}\r\nConnection: close\r\n\r\n", answer_body.len()));
    client.write_all(head_out.as_bytes())?;
    client.write_all(&answer_body)
}

fn read_request(stream: &mut TcpStream) -> std::io::Result<(String, Vec<u8>)> {
    let mut buffer = Vec::new();
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        let read = stream.read(&mut chunk)?;
        if read == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        buffer.extend_from_slice(&chunk[..read]);
        if let Some(at) = buffer.windows(4).position(|window| window == b"\r\n\r\n") {
            break at + 4;
        }
        if buffer.len() > 64 * 1024 {
            return Err(std::io::ErrorKind::InvalidData.into());
        }
    };
    let head = String::from_utf8_lossy(&buffer[..head_end]).to_string();
    let length = head
        .lines()
        .find_map(|line| {
            line.to_ascii_lowercase().strip_prefix("content-length:").map(|value| value.trim().to_string())
        })
        .and_then(|value| value.parse::<usize>().ok())
        .unwrap_or(0);
    let mut body = buffer[head_end..].to_vec();
    while body.len() < length {
        let read = stream.read(&mut chunk)?;
        if read == 0 {
            break;
        }
        body.extend_from_slice(&chunk[..read]);
    }
    Ok((head, body))
}

fn hex_of(text: &str) -> String {
    text.bytes().map(|byte| format!("{byte:02x}")).collect()
}

/// A devnet with a batch (two events) split into an item (one event); returns the item.
fn traced_item(devnet: &Devnet) -> String {
    let dev = devnet.dev_account();
    let run = |args: &[&str]| devnet.formica(args);
    run(&[
        "trace",
        "register",
        "LOT-1",
        "--product",
        "Whole milk powder 900 g",
        "--origin",
        "Waikato, New Zealand",
        "--produced",
        &dev,
        "--shipped",
        &dev,
        "--received",
        &dev,
        "--wait",
    ]);
    let batch = format!("{dev}:LOT-1");
    run(&["trace", "append", &batch, "--kind", "produced", "--location", "Hamilton plant, line 3", "--wait"]);
    run(&["trace", "append", &batch, "--kind", "shipped", "--location", GENUINE_LOCATION, "--wait"]);
    run(&["trace", "split", &batch, "--item", "LOT-1-C1", "--wait"]);
    let item = format!("{dev}:LOT-1-C1");
    run(&["trace", "append", &item, "--kind", "received", "--location", "Shanghai store 12", "--wait"]);
    item
}

#[test]
fn the_cli_verifies_a_genuine_history_and_refuses_a_forged_one() {
    let devnet = Devnet::start(4);
    let item = traced_item(&devnet);
    let verified = devnet.formica(&["verify", "trace", &item]);
    for text in ["VERIFIED", "Hamilton plant, line 3", GENUINE_LOCATION, "Shanghai store 12"] {
        assert!(verified.contains(text), "the verified history does not show {text:?}:\n{verified}");
    }
    let proxy = forging_proxy(devnet.rpc.trim_start_matches("http://").to_string());
    let refused = Command::new(binary())
        .args(["verify", "trace", &item, "--dir"])
        .arg(&devnet.dir)
        .args(["--rpc", &format!("http://{proxy}")])
        .output()
        .expect("formica runs");
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(!refused.status.success(), "the CLI accepted a forged history");
    assert!(stderr.contains("NOT VERIFIED"), "{stderr}");
}

#[test]
fn the_verification_page_shows_a_genuine_history_verified_and_a_forged_one_refused() {
    let devnet = Devnet::start(4);
    let item = traced_item(&devnet);
    let link = devnet.formica(&["trace", "link", &item]).trim().to_string();
    assert!(link.starts_with(&format!("{}/verify/trace/", devnet.rpc)) && link.contains("#anchor="), "{link}");
    let shots = target_dir().join("formica-screenshots");
    std::fs::create_dir_all(&shots).expect("screenshot folder");

    let mut browser = Browser::launch();
    let genuine = browser.open(&link, &shots.join("trace-verified.png"));
    assert!(genuine.contains(r#"<body data-verdict="verified""#), "the genuine history did not verify:\n{genuine}");
    for text in ["Hamilton plant, line 3", GENUINE_LOCATION, "Shanghai store 12", "Whole milk powder 900 g", "LOT-1-C1"]
    {
        assert!(genuine.contains(text), "the verified page does not show {text:?}:\n{genuine}");
    }

    let proxy = forging_proxy(devnet.rpc.trim_start_matches("http://").to_string());
    let forged_link = link.replace(devnet.rpc.as_str(), &format!("http://{proxy}"));
    let forged = browser.open(&forged_link, &shots.join("trace-forged.png"));
    assert!(forged.contains(r#"<body data-verdict="failed""#), "a forged history was not refused:\n{forged}");
    assert!(!forged.contains(FORGED_LOCATION), "the page showed the forged location");
    eprintln!("screenshots: {}", shots.display());
}
