//! The observers' endpoints, on the daemon's tokio runtime, each answering from a
//! [`StatusHandle`] (so never waiting on a probe, and at most [`StatusHandle::WAIT`] on the
//! event loop):
//!
//! * HTTP (`--metrics ADDR:PORT`, hyper): `/metrics` (Prometheus text, or OpenMetrics when
//!   the `Accept` header asks for it), `/status.json` (the [`Snapshot`]), `/` (the status
//!   page, [`page::page`]) and `/?fragment=1` (its tables, [`page::fragment`], which the page
//!   fetches to refresh itself).
//! * The status socket (`--status-socket PATH`): a Unix stream socket that writes one JSON
//!   [`Snapshot`] to each connection and closes it; [`read_socket`] is its client (the
//!   `status` commands).

use std::convert::Infallible;
use std::io::Read;
use std::os::unix::fs::{FileTypeExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::Duration;

use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::header::{
    HeaderName, HeaderValue, ACCEPT, CACHE_CONTROL, CONTENT_SECURITY_POLICY, CONTENT_TYPE, REFERRER_POLICY,
    X_CONTENT_TYPE_OPTIONS,
};
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, UnixListener};

use super::status::{Snapshot, StatusHandle};
use super::{metrics, page};

/// The JSON document of a snapshot (pretty-printed: people read it too).
pub fn to_json(snapshot: &Snapshot) -> Vec<u8> {
    let mut v = serde_json::to_vec_pretty(snapshot).unwrap_or_default();
    v.push(b'\n');
    v
}

fn response(status: StatusCode, content_type: &'static str, body: impl Into<Bytes>) -> Response<Full<Bytes>> {
    let mut r = Response::new(Full::new(body.into()));
    *r.status_mut() = status;
    r.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    r
}

/// Answers one HTTP request.
pub async fn respond<B>(req: &Request<B>, handle: &StatusHandle) -> Response<Full<Bytes>> {
    const TEXT: &str = "text/plain; charset=utf-8";
    if req.method() != Method::GET && req.method() != Method::HEAD {
        return response(StatusCode::METHOD_NOT_ALLOWED, TEXT, "only GET and HEAD\n");
    }
    let path = req.uri().path();
    if !matches!(path, "/" | "/metrics" | "/status.json") {
        return response(StatusCode::NOT_FOUND, TEXT, "not found: try /, /metrics or /status.json\n");
    }
    let Some(snapshot) = handle.snapshot().await else {
        return response(StatusCode::SERVICE_UNAVAILABLE, TEXT, "no status yet\n");
    };
    let mut r = match path {
        "/metrics" => {
            let accept = req.headers().get(ACCEPT).and_then(|v| v.to_str().ok());
            let om = metrics::wants_openmetrics(accept);
            let ct = if om { metrics::OPENMETRICS_CONTENT_TYPE } else { metrics::PROMETHEUS_CONTENT_TYPE };
            response(StatusCode::OK, ct, metrics::encode(&snapshot, om))
        }
        "/status.json" => response(StatusCode::OK, "application/json", to_json(&snapshot)),
        _ => {
            let body = if page::wants_fragment(req.uri().query()) {
                page::fragment(&snapshot)
            } else {
                page::page(&snapshot)
            };
            let mut r = response(StatusCode::OK, "text/html; charset=utf-8", body);
            let headers: [(HeaderName, &'static str); 4] = [
                (CONTENT_SECURITY_POLICY, page::CONTENT_SECURITY_POLICY),
                (CACHE_CONTROL, "no-store"),
                (X_CONTENT_TYPE_OPTIONS, "nosniff"),
                (REFERRER_POLICY, "no-referrer"),
            ];
            for (name, value) in headers {
                r.headers_mut().insert(name, HeaderValue::from_static(value));
            }
            r
        }
    };
    if req.method() == Method::HEAD {
        *r.body_mut() = Full::new(Bytes::new());
    }
    r
}

/// Serves HTTP on `listener` until the task is dropped: one task per connection.
pub async fn serve_http(listener: TcpListener, handle: StatusHandle) {
    loop {
        let stream = match listener.accept().await {
            Ok((s, _)) => s,
            Err(_) => {
                // Out of descriptors or the like: do not spin.
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let handle = handle.clone();
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |req: Request<Incoming>| {
                let handle = handle.clone();
                async move { Ok::<_, Infallible>(respond(&req, &handle).await) }
            });
            let _ = hyper::server::conn::http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(Duration::from_secs(10))
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

/// Binds the status socket at `path` (mode 0600). A socket file left by a daemon that is gone
/// is replaced; one that answers belongs to a running daemon and is left alone (an error), as
/// is anything at `path` that is not a socket.
pub fn bind_socket(path: &Path) -> std::io::Result<UnixListener> {
    use std::io::{Error, ErrorKind};
    if let Ok(meta) = std::fs::symlink_metadata(path) {
        if !meta.file_type().is_socket() {
            return Err(Error::new(ErrorKind::AlreadyExists, "it exists and is not a socket"));
        }
        match std::os::unix::net::UnixStream::connect(path) {
            Ok(_) => {
                return Err(Error::new(ErrorKind::AddrInUse, "another daemon answers on it"));
            }
            Err(_) => std::fs::remove_file(path)?,
        }
    }
    let listener = std::os::unix::net::UnixListener::bind(path)?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
    listener.set_nonblocking(true)?;
    UnixListener::from_std(listener)
}

/// Removes the status socket when dropped (the daemon's end).
#[derive(Debug)]
pub struct SocketFile(pub PathBuf);

impl Drop for SocketFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// Serves the status socket until the task is dropped: each connection gets one JSON
/// snapshot, then the socket is closed.
pub async fn serve_socket(listener: UnixListener, handle: StatusHandle) {
    loop {
        let mut stream = match listener.accept().await {
            Ok((s, _)) => s,
            Err(_) => {
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let handle = handle.clone();
        tokio::spawn(async move {
            let body = match handle.snapshot().await {
                Some(s) => to_json(&s),
                None => b"{}\n".to_vec(),
            };
            let write = async {
                stream.write_all(&body).await?;
                stream.shutdown().await
            };
            let _ = tokio::time::timeout(Duration::from_secs(10), write).await;
        });
    }
}

/// Why [`read_socket`] found no status.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// Nothing listens there (no socket file, or nobody accepts): not running.
    #[error("no daemon answers on {0}")]
    NotRunning(String),
    /// The socket could not be used (permissions, a timeout, ...).
    #[error("{0}: {1}")]
    Io(String, std::io::Error),
    /// What came back was not a status document.
    #[error("{0}: not a status document: {1}")]
    Garbled(String, String),
}

/// Reads one snapshot from the status socket at `path`, waiting at most `timeout`.
pub fn read_socket(path: &Path, timeout: Duration) -> Result<Snapshot, ReadError> {
    use std::io::ErrorKind;
    let shown = path.display().to_string();
    let mut stream = match std::os::unix::net::UnixStream::connect(path) {
        Ok(s) => s,
        Err(e) if matches!(e.kind(), ErrorKind::NotFound | ErrorKind::ConnectionRefused) => {
            return Err(ReadError::NotRunning(shown))
        }
        Err(e) => return Err(ReadError::Io(shown, e)),
    };
    stream.set_read_timeout(Some(timeout)).map_err(|e| ReadError::Io(shown.clone(), e))?;
    let mut buf = Vec::new();
    stream.read_to_end(&mut buf).map_err(|e| ReadError::Io(shown.clone(), e))?;
    serde_json::from_slice(&buf).map_err(|e| ReadError::Garbled(shown, e.to_string()))
}
