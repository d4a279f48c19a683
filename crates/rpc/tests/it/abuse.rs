//! Abusive clients: oversized and deeply nested bodies, oversized batches, too many connections,
//! slow and silent clients, and clients over their rate. Each test also checks that an honest
//! client keeps being served.

use crate::fake::FakeNode;
use formica_rpc::{FormicaApiClient, RateLimit, RunningServer, ServerConfig, codes, serve};
use jsonrpsee::http_client::HttpClientBuilder;
use jsonrpsee::ws_client::WsClientBuilder;
use serde_json::{Value, json};
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};

async fn start_with(config: ServerConfig) -> RunningServer {
    let node = FakeNode::new(&[1, 2], 1_000_000, 64);
    let config = ServerConfig { listen_address: "127.0.0.1:0".parse().expect("address"), ..config };
    serve(node, config).await.expect("server starts")
}

async fn connect_from(local: Option<IpAddr>, server: SocketAddr) -> TcpStream {
    let socket = TcpSocket::new_v4().expect("a socket");
    if let Some(local) = local {
        socket.bind(SocketAddr::new(local, 0)).expect("binds a loopback address");
    }
    socket.connect(server).await.expect("connects")
}

/// Sends one HTTP POST (closing the connection after) and returns the status code and the body.
async fn post_from(local: Option<IpAddr>, server: SocketAddr, body: &str) -> (u16, String) {
    let mut stream = connect_from(local, server).await;
    let request = format!(
        "POST / HTTP/1.1\r\nHost: {server}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\
         Connection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).await.expect("writes");
    read_response(&mut stream).await
}

async fn read_response(stream: &mut TcpStream) -> (u16, String) {
    let mut response = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut response))
        .await
        .expect("answered in time")
        .expect("reads");
    let response = String::from_utf8_lossy(&response).into_owned();
    let status = response.get(9..12).and_then(|code| code.parse().ok()).unwrap_or_else(|| panic!("{response}"));
    let body = response.split_once("\r\n\r\n").map(|(_, body)| body.to_owned()).unwrap_or_default();
    (status, body)
}

fn json_of(body: &str) -> Value {
    serde_json::from_str(body).unwrap_or_else(|error| panic!("not JSON ({error}): {body}"))
}

fn status_call(id: u64) -> Value {
    json!({ "jsonrpc": "2.0", "id": id, "method": "formica_status", "params": [] })
}

/// Whether the server closes `stream` (EOF or reset) within `limit`, having sent nothing.
async fn closed_within(stream: &mut TcpStream, limit: Duration) -> bool {
    let mut buffer = [0u8; 64];
    matches!(tokio::time::timeout(limit, stream.read(&mut buffer)).await, Ok(Ok(0) | Err(_)))
}

#[tokio::test]
async fn a_body_over_the_limit_is_refused_from_its_content_length_before_it_is_read() {
    let server = start_with(ServerConfig::default()).await;
    let mut stream = connect_from(None, server.local_address).await;
    // A gigabyte announced, not a byte of it sent: only a refusal from the header can answer.
    let head = format!(
        "POST / HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\nContent-Length: 1000000000\r\n\r\n",
        server.local_address
    );
    stream.write_all(head.as_bytes()).await.expect("writes");
    let started = Instant::now();
    let (status, _) = read_response(&mut stream).await;
    assert_eq!(status, 413);
    assert!(started.elapsed() < Duration::from_secs(2), "refused at once, not after a timeout");
    let client = HttpClientBuilder::default().build(server.http_url()).expect("client");
    client.status().await.expect("still serving");
}

#[tokio::test]
async fn batches_over_the_cap_are_refused_whole() {
    let server = start_with(ServerConfig { batch_requests_max: 4, ..ServerConfig::default() }).await;
    let batch = |size: u64| Value::Array((0..size).map(status_call).collect()).to_string();
    let (status, body) = post_from(None, server.local_address, &batch(4)).await;
    assert_eq!(status, 200);
    let answers = json_of(&body);
    assert_eq!(answers.as_array().map(Vec::len), Some(4), "{body}");
    assert!(answers.as_array().expect("array").iter().all(|answer| answer.get("result").is_some()), "{body}");

    let (_, body) = post_from(None, server.local_address, &batch(5)).await;
    let refusal = json_of(&body);
    assert!(refusal.get("result").is_none() && !refusal.is_array(), "no call of it ran: {body}");
    // jsonrpsee's own code for it (which Formica's -32010, unknown sender, shadows: see the docs).
    assert_eq!(refusal["error"]["code"], json!(-32010), "{body}");
    assert!(refusal["error"]["message"].as_str().is_some_and(|text| text.contains("too large")), "{body}");
    assert_eq!(refusal["error"]["data"], json!("Exceeded max limit of 4"), "{body}");
    assert_eq!(post_from(None, server.local_address, &batch(1)).await.0, 200, "still serving");
}

#[tokio::test]
async fn extra_connections_are_refused_while_connected_clients_are_served() {
    let server = start_with(ServerConfig { max_connections: 3, ..ServerConfig::default() }).await;
    let honest = WsClientBuilder::default().build(server.ws_url()).await.expect("connects");
    let mut held = vec![connect_from(None, server.local_address).await, connect_from(None, server.local_address).await];
    // Let the server take the held connections before the extra one arrives.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let mut extra = connect_from(None, server.local_address).await;
    assert!(closed_within(&mut extra, Duration::from_secs(2)).await, "the fourth connection is closed at once");
    for _ in 0..3 {
        honest.status().await.expect("the connected client is served");
    }
    held.pop();
    tokio::time::sleep(Duration::from_millis(200)).await;
    let (status, _) = post_from(None, server.local_address, &status_call(1).to_string()).await;
    assert_eq!(status, 200, "a freed slot is taken by the next client");
    honest.status().await.expect("still served");
}

#[tokio::test]
async fn deeply_nested_json_is_refused_and_the_server_stays_up() {
    let server = start_with(ServerConfig::default()).await;
    let deep = "[".repeat(100_000);
    let (status, body) = post_from(None, server.local_address, &deep).await;
    assert_eq!(status, 200, "{body}");
    let refusal = json_of(&body);
    assert_eq!(refusal["error"]["code"], json!(-32700), "{body}");
    // Deep nesting inside parameters (250,000 levels, within the body limit) is skipped over
    // without recursion and refused by the parameter's decoder, for a string and an object.
    let deep_array = format!("{}{}", "[".repeat(250_000), "]".repeat(250_000));
    let deep_object = format!("{}1{}", r#"{"a":"#.repeat(80_000), "}".repeat(80_000));
    let hash = format!("0x{}", "00".repeat(32));
    for params in [format!("[{deep_array}]"), format!(r#"["{hash}",{deep_object}]"#)] {
        let method = if params.starts_with("[[") { "formica_getAccount" } else { "formica_verifyDocument" };
        let request = format!(r#"{{"jsonrpc":"2.0","id":1,"method":"{method}","params":{params}}}"#);
        let (status, body) = post_from(None, server.local_address, &request).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(json_of(&body)["error"]["code"], json!(codes::INVALID_PARAMS), "{method}: {body}");
    }
    let ws = WsClientBuilder::default().build(server.ws_url()).await.expect("connects");
    ws.status().await.expect("still serving");
}

#[tokio::test]
async fn slow_and_silent_clients_are_cut_off_and_others_are_served_meanwhile() {
    let config = ServerConfig {
        max_connections: 4,
        request_head_timeout: Duration::from_secs(1),
        request_timeout: Duration::from_secs(1),
        ..ServerConfig::default()
    };
    let server = start_with(config).await;
    let address = server.local_address;
    let honest = HttpClientBuilder::default().build(server.http_url()).expect("client");
    honest.status().await.expect("served");

    // Silent: connects and sends nothing.
    let silent = tokio::spawn(async move {
        let mut stream = connect_from(None, address).await;
        closed_within(&mut stream, Duration::from_secs(3)).await
    });
    // Trickles its request head a byte every 100 ms, never finishing it.
    let slow_head = tokio::spawn(async move {
        let mut stream = connect_from(None, address).await;
        let started = Instant::now();
        for byte in "POST / HTTP/1.1\r\nHost: x\r\nX-Padding: ".bytes().chain(std::iter::repeat(b'a')) {
            if stream.write_all(&[byte]).await.is_err() || started.elapsed() > Duration::from_secs(5) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        started.elapsed()
    });
    // Sends its head, then trickles the body a byte every 100 ms.
    let slow_body = tokio::spawn(async move {
        let mut stream = connect_from(None, address).await;
        let body = status_call(1).to_string();
        let head = format!(
            "POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
            body.len()
        );
        stream.write_all(head.as_bytes()).await.expect("writes");
        let (mut reader, mut writer) = stream.into_split();
        let trickle = tokio::spawn(async move {
            for byte in body.bytes() {
                if writer.write_all(&[byte]).await.is_err() {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        });
        let mut response = Vec::new();
        let read = tokio::time::timeout(Duration::from_secs(5), reader.read_to_end(&mut response)).await;
        trickle.abort();
        assert!(read.is_ok(), "answered before the body was complete");
        String::from_utf8_lossy(&response).into_owned()
    });

    // Meanwhile the honest client is served promptly, again and again.
    let started = Instant::now();
    while started.elapsed() < Duration::from_millis(1_500) {
        let call = Instant::now();
        honest.status().await.expect("the honest client is served");
        assert!(call.elapsed() < Duration::from_millis(500), "served promptly: {:?}", call.elapsed());
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(silent.await.expect("task"), "a silent connection is closed after the head timeout");
    let cut_after = slow_head.await.expect("task");
    assert!(cut_after < Duration::from_secs(4), "a trickled head is cut off: {cut_after:?}");
    let response = slow_body.await.expect("task");
    assert!(response.starts_with("HTTP/1.1 408"), "a trickled body gets 408: {response}");
    // Their slots are free again: three more connections and the honest client fit.
    let others =
        [connect_from(None, address).await, connect_from(None, address).await, connect_from(None, address).await];
    honest.status().await.expect("still served");
    drop(others);
}

#[tokio::test]
async fn a_client_over_its_rate_is_refused_while_other_clients_are_served() {
    let rate = RateLimit { per_second: 2, burst: 3 };
    let server = start_with(ServerConfig { rate_limit: Some(rate), ..ServerConfig::default() }).await;
    let address = server.local_address;
    let greedy = HttpClientBuilder::default().build(server.http_url()).expect("client");
    for _ in 0..3 {
        greedy.status().await.expect("within the burst");
    }
    match greedy.status().await {
        Err(jsonrpsee::core::ClientError::Call(error)) => {
            assert_eq!(error.code(), codes::RATE_LIMITED);
            assert!(error.message().contains("at most 2 a second"), "{}", error.message());
        }
        other => panic!("expected a rate-limit refusal, got {other:?}"),
    }
    // Another address (127.0.0.2 is loopback too) has its own allowance.
    let other = Some(IpAddr::from([127, 0, 0, 2]));
    for id in 0..3 {
        let (status, body) = post_from(other, address, &status_call(id).to_string()).await;
        assert_eq!(status, 200);
        assert!(json_of(&body).get("result").is_some(), "{body}");
    }
    // After a refill of one token, a whole batch costs that one token.
    tokio::time::sleep(Duration::from_millis(600)).await;
    let batch = Value::Array((0..4).map(status_call).collect()).to_string();
    let (_, body) = post_from(None, address, &batch).await;
    let answers = json_of(&body);
    assert_eq!(answers.as_array().map(Vec::len), Some(4), "{body}");
    assert!(answers.as_array().expect("array").iter().all(|answer| answer.get("result").is_some()), "{body}");
    let (_, body) = post_from(None, address, &batch).await;
    assert_eq!(json_of(&body)["error"]["code"], json!(codes::RATE_LIMITED), "{body}");
    // WebSocket messages draw on the same allowance as HTTP requests from the address.
    let ws = WsClientBuilder::default().build(server.ws_url()).await.expect("connects");
    match ws.status().await {
        Err(jsonrpsee::core::ClientError::Call(error)) => assert_eq!(error.code(), codes::RATE_LIMITED),
        other => panic!("expected a rate-limit refusal over WebSocket, got {other:?}"),
    }
}

#[tokio::test]
async fn the_default_rate_limit_admits_a_burst_of_batches_from_one_client() {
    let server = start_with(ServerConfig::default()).await;
    let client = HttpClientBuilder::default().build(server.http_url()).expect("client");
    // 2,000 requests as fast as one client sends them (each a batch in `formica bench`).
    let calls = (0..2_000).map(|_| client.status());
    let results = futures::future::join_all(calls).await;
    assert!(results.iter().all(Result::is_ok), "none refused");
}
