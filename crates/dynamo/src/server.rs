//! The HTTP side: DynamoDB's JSON 1.0 protocol over HTTP/1.1, SigV4 verification, dispatch by
//! `X-Amz-Target`, and responses carrying `x-amzn-RequestId` and `x-amz-crc32`.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use dynamo_model::{DynamoError, ErrorKind};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;

use crate::error::ApiError;
use crate::ops;
use crate::state::State;

/// Requests larger than this are refused before parsing (DynamoDB's own limit is 16 MB).
const MAX_REQUEST_BYTES: usize = 16 * 1024 * 1024;
const TARGET_PREFIX: &str = "DynamoDB_20120810.";

pub async fn serve(listener: TcpListener, state: Arc<State>) -> std::io::Result<()> {
    loop {
        let (stream, peer) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(e) => {
                // Out of file descriptors and similar: log and keep serving.
                tracing::warn!(error = %e, "accept failed");
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let state = state.clone();
        tokio::spawn(async move {
            let service = service_fn(move |request| {
                let state = state.clone();
                async move { Ok::<_, Infallible>(handle(state, request, peer).await) }
            });
            if let Err(e) = http1::Builder::new().keep_alive(true).serve_connection(TokioIo::new(stream), service).await {
                tracing::debug!(error = %e, %peer, "connection ended with an error");
            }
        });
    }
}

fn now_seconds() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0)
}

async fn handle(state: Arc<State>, request: Request<Incoming>, peer: SocketAddr) -> Response<Full<Bytes>> {
    let mut request_id = uuid::Uuid::encode_buffer();
    let request_id: &str = uuid::Uuid::new_v4().simple().encode_upper(&mut request_id);
    if request.method() == hyper::Method::GET {
        // Health check, as DynamoDB answers `GET /`.
        return respond(request_id, StatusCode::OK, "text/plain", Bytes::from_static(b"healthy: sweetlies-dynamo"));
    }
    let (parts, body) = request.into_parts();
    let body = match Limited::new(body, MAX_REQUEST_BYTES).collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(_) => {
            let error = DynamoError::validation(format!("Request size exceeds {MAX_REQUEST_BYTES} bytes"));
            return error_response(request_id, &error.into());
        }
    };
    let operation = parts
        .headers
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let result = async {
        let caller = crate::sigv4::verify(
            parts.method.as_str(),
            parts.uri.path(),
            parts.uri.query().unwrap_or(""),
            &parts.headers,
            &body,
            &state.access_keys,
            now_seconds(),
        )
        .map_err(ApiError::from)?;
        let Some(operation) = operation.strip_prefix(TARGET_PREFIX) else {
            return Err(DynamoError::new(ErrorKind::UnknownOperation, "").into());
        };
        let input: serde_json::Value = serde_json::from_slice(&body)
            .map_err(|e| ApiError::from(DynamoError::serialization(format!("Start of structure or map found where not expected: {e}"))))?;
        if !input.is_object() {
            return Err(DynamoError::serialization("Start of structure or map expected").into());
        }
        ops::dispatch(&state, &caller, operation, input).await
    }
    .await;
    match result {
        Ok(output) => {
            let body = serde_json::to_vec(&output).expect("JSON values serialize");
            respond(request_id, StatusCode::OK, "application/x-amz-json-1.0", Bytes::from(body))
        }
        Err(error) => {
            if error.kind() == ErrorKind::InternalServerError {
                tracing::error!(%request_id, %peer, operation, message = %error.error.message, "internal error");
            } else {
                tracing::debug!(%request_id, operation, error = %error.error, "request failed");
            }
            error_response(request_id, &error)
        }
    }
}

fn error_response(request_id: &str, error: &ApiError) -> Response<Full<Bytes>> {
    let status = StatusCode::from_u16(error.kind().http_status()).unwrap_or(StatusCode::BAD_REQUEST);
    respond(request_id, status, "application/x-amz-json-1.0", Bytes::from(error.body()))
}

fn respond(request_id: &str, status: StatusCode, content_type: &str, body: Bytes) -> Response<Full<Bytes>> {
    let crc = crc32fast::hash(&body);
    Response::builder()
        .status(status)
        .header("content-type", content_type)
        .header("x-amzn-requestid", request_id)
        .header("x-amz-crc32", crc.to_string())
        .body(Full::new(body))
        .expect("static headers are valid")
}
