//! The public verification pages the node serves next to its API, on the same port.
//!
//! `GET /verify/trace/<owner>/<batch id>` is a product's page: static HTML and script that ask
//! this node's JSON-RPC for a `formica_getTraceBundle` and verify it in the browser with
//! `GET /verify/verifier.wasm` (`formica-verify` compiled for wasm32, embedded at build time).
//! The page trusts only the checkpoint digest in the link's fragment (`#anchor=EPOCH:0xDIGEST`),
//! which never reaches the server. `GET /verify/qr.svg?text=...` draws a QR code of a text (the
//! page shows its own link that way).
//!
//! Everything here is static or derived from the request alone: no route reads the chain.

use jsonrpsee::core::BoxError;
use jsonrpsee::server::{HttpBody, HttpRequest, HttpResponse};
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

/// The browser verifier, built by `build.rs`.
pub const VERIFIER_WASM: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/formica_verify.wasm"));
const TRACE_HTML: &str = include_str!("../web/trace.html");
const TRACE_JS: &str = include_str!("../web/trace.js");

/// Where the pages live.
pub const VERIFY_PREFIX: &str = "/verify/";
/// The longest text a QR code is drawn for, in bytes.
pub const QR_TEXT_BYTES_MAX: usize = 1_024;

/// The page's policy: its own script and wasm only, no other origin, no inline script.
const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self' 'wasm-unsafe-eval'; \
     connect-src 'self'; img-src 'self'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'";

/// Adds the pages in front of the API.
#[derive(Clone, Copy, Debug, Default)]
pub struct PagesLayer;

impl<S> tower::Layer<S> for PagesLayer {
    type Service = Pages<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Pages { inner }
    }
}

/// See [`PagesLayer`].
#[derive(Clone, Debug)]
pub struct Pages<S> {
    inner: S,
}

type BoxedResponse = Pin<Box<dyn Future<Output = Result<HttpResponse, BoxError>> + Send + 'static>>;

impl<S> tower::Service<HttpRequest> for Pages<S>
where
    S: tower::Service<HttpRequest, Response = HttpResponse>,
    S::Error: Into<BoxError> + 'static,
    S::Future: Send + 'static,
{
    type Response = HttpResponse;
    type Error = BoxError;
    type Future = BoxedResponse;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx).map_err(Into::into)
    }

    fn call(&mut self, request: HttpRequest) -> Self::Future {
        if request.method() == http::Method::GET && request.uri().path().starts_with(VERIFY_PREFIX) {
            let response = page(request.uri().path(), request.uri().query());
            return Box::pin(std::future::ready(Ok(response)));
        }
        let future = self.inner.call(request);
        Box::pin(async move { future.await.map_err(Into::into) })
    }
}

fn respond(status: http::StatusCode, content_type: &'static str, body: impl Into<HttpBody>) -> HttpResponse {
    let mut response = HttpResponse::new(body.into());
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(http::header::CONTENT_TYPE, http::HeaderValue::from_static(content_type));
    headers.insert(http::header::X_CONTENT_TYPE_OPTIONS, http::HeaderValue::from_static("nosniff"));
    headers.insert(http::header::CONTENT_SECURITY_POLICY, http::HeaderValue::from_static(CONTENT_SECURITY_POLICY));
    headers.insert(http::header::REFERRER_POLICY, http::HeaderValue::from_static("no-referrer"));
    response
}

fn not_found(reason: &str) -> HttpResponse {
    respond(http::StatusCode::NOT_FOUND, "text/plain; charset=utf-8", format!("{reason}\n"))
}

/// The response to `GET path?query` under [`VERIFY_PREFIX`].
pub fn page(path: &str, query: Option<&str>) -> HttpResponse {
    let rest = &path[VERIFY_PREFIX.len()..];
    match rest {
        "verifier.wasm" => respond(http::StatusCode::OK, "application/wasm", VERIFIER_WASM.to_vec()),
        "trace.js" => respond(http::StatusCode::OK, "text/javascript; charset=utf-8", TRACE_JS),
        "qr.svg" => qr(query),
        _ => match rest.strip_prefix("trace/").map(|ids| ids.split('/').collect::<Vec<_>>()) {
            // The page reads the owner and batch id from its own address; they are checked there
            // and by the RPC, so the server only checks the shape.
            Some(parts) if parts.len() == 2 && parts.iter().all(|part| !part.is_empty() && part.len() <= 128) => {
                respond(http::StatusCode::OK, "text/html; charset=utf-8", TRACE_HTML)
            }
            _ => not_found("no such verification page"),
        },
    }
}

fn qr(query: Option<&str>) -> HttpResponse {
    let text = query
        .into_iter()
        .flat_map(|query| query.split('&'))
        .find_map(|pair| pair.strip_prefix("text="))
        .map(percent_decode);
    let text = match text {
        Some(Ok(text)) if !text.is_empty() && text.len() <= QR_TEXT_BYTES_MAX => text,
        Some(Ok(_)) => return not_found(&format!("the text must be 1 to {QR_TEXT_BYTES_MAX} bytes")),
        Some(Err(reason)) => return not_found(&reason),
        None => return not_found("qr.svg needs ?text=..."),
    };
    match qr_svg(&text) {
        Ok(svg) => respond(http::StatusCode::OK, "image/svg+xml", svg),
        Err(reason) => not_found(&reason),
    }
}

/// A QR code of `text` as SVG.
pub fn qr_svg(text: &str) -> Result<String, String> {
    let code = qrcode::QrCode::with_error_correction_level(text.as_bytes(), qrcode::EcLevel::M)
        .map_err(|error| format!("no QR code for this text: {error}"))?;
    Ok(code.render::<qrcode::render::svg::Color<'_>>().min_dimensions(200, 200).quiet_zone(true).build())
}

/// Decodes `%XX` escapes and `+` (a space) of a query value.
fn percent_decode(text: &str) -> Result<String, String> {
    let mut bytes = Vec::with_capacity(text.len());
    let mut input = text.bytes();
    while let Some(byte) = input.next() {
        match byte {
            b'+' => bytes.push(b' '),
            b'%' => {
                let digits = [input.next(), input.next()];
                let [Some(high), Some(low)] = digits else { return Err("a % escape is cut short".into()) };
                let hex = [high, low];
                let text = std::str::from_utf8(&hex).map_err(|_| "a % escape is not hex".to_string())?;
                bytes.push(u8::from_str_radix(text, 16).map_err(|_| "a % escape is not hex".to_string())?);
            }
            other => bytes.push(other),
        }
    }
    String::from_utf8(bytes).map_err(|_| "the text is not UTF-8".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_verifier_is_a_wasm_module_with_the_entry_points_the_page_calls() {
        assert_eq!(&VERIFIER_WASM[..4], b"\0asm");
        for name in ["formica_alloc", "formica_free", "formica_verify_trace", "memory"] {
            let needle = name.as_bytes();
            assert!(VERIFIER_WASM.windows(needle.len()).any(|window| window == needle), "{name} is not exported");
        }
    }

    #[test]
    fn pages_answer_by_path_and_refuse_anything_else() {
        assert_eq!(page("/verify/trace/0xabc/LOT-1", None).status(), http::StatusCode::OK);
        assert_eq!(page("/verify/verifier.wasm", None).status(), http::StatusCode::OK);
        assert_eq!(page("/verify/trace.js", None).status(), http::StatusCode::OK);
        for path in ["/verify/", "/verify/trace/only-owner", "/verify/trace/a/b/c", "/verify/trace//x", "/verify/other"]
        {
            assert_eq!(page(path, None).status(), http::StatusCode::NOT_FOUND, "{path}");
        }
        let long = format!("/verify/trace/{}/x", "a".repeat(129));
        assert_eq!(page(&long, None).status(), http::StatusCode::NOT_FOUND);
    }

    #[test]
    fn qr_codes_are_drawn_for_bounded_decoded_texts() {
        let response =
            page("/verify/qr.svg", Some("text=http%3A%2F%2Fnode%2Fverify%2Ftrace%2Fa%2Fb%23anchor%3D0%3A0xab"));
        assert_eq!(response.status(), http::StatusCode::OK);
        assert_eq!(percent_decode("a%2Fb+c").expect("decodes"), "a/b c");
        assert!(percent_decode("%4").is_err());
        assert!(percent_decode("%zz").is_err());
        assert_eq!(page("/verify/qr.svg", None).status(), http::StatusCode::NOT_FOUND);
        let long = format!("text={}", "a".repeat(QR_TEXT_BYTES_MAX + 1));
        assert_eq!(page("/verify/qr.svg", Some(&long)).status(), http::StatusCode::NOT_FOUND);
        assert!(qr_svg("hello").expect("drawn").starts_with("<?xml"));
    }
}
