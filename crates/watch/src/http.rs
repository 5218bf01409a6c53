//! The HTTP side: `POST /ingest` (NDJSON or a JSON array, optionally gzip), answered only once
//! its records are committed; `GET /healthz`; `GET /metrics` (Prometheus text). Every path
//! but `/healthz` requires the bearer token, checked before the body is read; bodies over the
//! limit (before or after decompression) are refused with 413.

use crate::chunk::{Accepted, Chunk, Framed};
use crate::metrics::Metrics;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use crossbeam_channel::Sender;
use dwell_ingest::Registry;
use std::io::Read;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Instant;

/// What the handlers share.
#[derive(Clone)]
pub struct Http {
    /// To the detector; `None` on a server that only serves metrics.
    pub tx: Option<Sender<Chunk>>,
    /// The formats.
    pub registry: Registry,
    /// The bearer token; `None` only for a metrics-only server with no token configured.
    pub token: Option<Arc<str>>,
    /// Counters.
    pub metrics: Arc<Metrics>,
    /// Largest body, in bytes, compressed or not.
    pub max_body: usize,
}

/// The routes.
pub fn router(h: Http) -> Router {
    let limit = h.max_body;
    let mut r = Router::new().route("/metrics", get(metrics));
    if h.tx.is_some() {
        r = r.route("/ingest", post(ingest));
    }
    r.layer(axum::middleware::from_fn_with_state(h.clone(), auth))
        .route("/healthz", get(healthz))
        .layer(DefaultBodyLimit::max(limit))
        .with_state(h)
}

/// Compares in time independent of where the strings differ.
fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

async fn auth(State(h): State<Http>, req: Request, next: Next) -> Response {
    if let Some(token) = &h.token {
        let given = req
            .headers()
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .unwrap_or("");
        if !same(given.as_bytes(), token.as_bytes()) {
            return (
                StatusCode::UNAUTHORIZED,
                [(header::WWW_AUTHENTICATE, "Bearer")],
                "a valid bearer token is required\n",
            )
                .into_response();
        }
    }
    next.run(req).await
}

async fn healthz(State(h): State<Http>) -> Response {
    if h.metrics.healthy.load(Ordering::Relaxed) {
        (StatusCode::OK, "ok\n").into_response()
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "not running\n").into_response()
    }
}

async fn metrics(State(h): State<Http>) -> Response {
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        h.metrics.render(),
    )
        .into_response()
}

fn error(status: StatusCode, why: &str) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        serde_json::json!({ "error": why }).to_string(),
    )
        .into_response()
}

async fn ingest(State(h): State<Http>, headers: HeaderMap, body: Bytes) -> Response {
    let arrived = Instant::now();
    let Some(tx) = h.tx.clone() else {
        return error(StatusCode::NOT_FOUND, "no ingest here");
    };
    let gzip = headers
        .get(header::CONTENT_ENCODING)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("gzip"));
    let body: Vec<u8> = if gzip {
        let mut out = Vec::new();
        let mut d = flate2::read::MultiGzDecoder::new(&body[..]).take(h.max_body as u64 + 1);
        if let Err(e) = d.read_to_end(&mut out) {
            return error(
                StatusCode::BAD_REQUEST,
                &format!("the gzip body cannot be read: {e}"),
            );
        }
        if out.len() > h.max_body {
            return error(
                StatusCode::PAYLOAD_TOO_LARGE,
                &format!("the body is over {} bytes once decompressed", h.max_body),
            );
        }
        out
    } else {
        body.to_vec()
    };
    if body.iter().all(u8::is_ascii_whitespace) {
        return error(StatusCode::BAD_REQUEST, "the body is empty");
    }
    let mut framed = match Framed::open(&h.registry, None, &body, crate::chunk::now_ns(), 1) {
        Ok(f) => f,
        Err(e) => return error(StatusCode::UNSUPPORTED_MEDIA_TYPE, &e.0),
    };
    let (text, pieces, _) = framed.push(&body, true);
    let records = pieces.len();
    let (ack, done) = crossbeam_channel::bounded::<Accepted>(1);
    let chunk = Chunk {
        text,
        pieces,
        arrived,
        ack: Some(Box::new(move |a| {
            let _ = ack.send(a);
        })),
        urgent: true,
        ..Chunk::new(
            format!("http:{}", framed.format.name()),
            framed.format.clone(),
            framed.unit(),
        )
    };
    // Sending waits while the detector is behind (backpressure), and the answer waits for
    // the commit: off the async threads.
    let got = tokio::task::spawn_blocking(move || {
        tx.send(chunk).ok()?;
        done.recv().ok()
    })
    .await
    .ok()
    .flatten();
    match got {
        Some(a) => (
            StatusCode::OK,
            [(header::CONTENT_TYPE, "application/json")],
            serde_json::json!({
                "records": records,
                "accepted": a.events,
                "rejected": a.rejected,
                "problems": a.problems,
            })
            .to_string(),
        )
            .into_response(),
        None => error(StatusCode::SERVICE_UNAVAILABLE, "dwell watch is stopping"),
    }
}
