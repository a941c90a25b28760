//! HTTP and HTTPS: ldirectord's `service = http|https` negotiate check (`request`, `receive`,
//! `httpmethod`, `virtualhost`) and keepalived's `HTTP_GET` / `SSL_GET` (every `url` with its
//! `path`, `status_code`, `digest` and `regex`). One connection per URL, HTTP/1.1 with
//! `Connection: close`, through hyper.

use std::sync::Arc;

use http_body_util::{BodyExt, Empty, Limited};
use hyper::body::Bytes;
use hyper::{Method, Request};
use hyper_util::rt::TokioIo;
use ipvs_core::director::config::{Check, HttpMethod, StatusRange, UrlCheck};
use md5::{Digest, Md5};

use super::{connect, tls, Failure};

/// The most of a body a probe reads (a health page; anything larger is a failure).
pub const BODY_LIMIT: usize = 16 << 20;

/// The HTTP(S) check: every URL must pass.
pub async fn check(
    check: &Check,
    tls: Option<(Arc<rustls::ClientConfig>, Option<&str>)>,
    method: HttpMethod,
    host: Option<&str>,
    urls: &[UrlCheck],
) -> Result<(), Failure> {
    let default_url;
    let urls = if urls.is_empty() {
        default_url = [UrlCheck::new("/")];
        &default_url[..]
    } else {
        urls
    };
    let default_host = host.map(str::to_owned).unwrap_or_else(|| host_header(check.target, tls.is_some()));
    for url in urls {
        // keepalived's per-URL `virtualhost` is the Host header and, over TLS, the SNI name.
        let (host, tls) = match &url.host {
            Some(h) => (h.clone(), tls.clone().map(|(c, sni)| (c, sni.or(Some(h.as_str()))))),
            None => (default_host.clone(), tls.clone()),
        };
        fetch(check, tls, method, &host, url)
            .await
            .map_err(|e| format!("{} {}: {e}", method_name(method), url.path))?;
    }
    Ok(())
}

fn method_name(m: HttpMethod) -> &'static str {
    match m {
        HttpMethod::Head => "HEAD",
        _ => "GET",
    }
}

/// The `Host` header for a target: its address, and its port unless it is the scheme's.
pub fn host_header(target: std::net::SocketAddr, tls: bool) -> String {
    let default_port = if tls { 443 } else { 80 };
    let ip = match target.ip() {
        std::net::IpAddr::V6(a) => format!("[{a}]"),
        a => a.to_string(),
    };
    if target.port() == default_port {
        ip
    } else {
        format!("{ip}:{}", target.port())
    }
}

async fn fetch(
    check: &Check,
    tls: Option<(Arc<rustls::ClientConfig>, Option<&str>)>,
    method: HttpMethod,
    host: &str,
    url: &UrlCheck,
) -> Result<(), String> {
    let tcp = connect::stream(check).await.map_err(|e| format!("connect to {}: {e}", check.target))?;
    let path = if url.path.starts_with('/') { url.path.clone() } else { format!("/{}", url.path) };
    let req = Request::builder()
        .method(match method {
            HttpMethod::Head => Method::HEAD,
            _ => Method::GET,
        })
        .uri(path)
        .header(hyper::header::HOST, host)
        .header(hyper::header::USER_AGENT, concat!("ipvs-director/", env!("CARGO_PKG_VERSION")))
        .header(hyper::header::CONNECTION, "close")
        .body(Empty::<Bytes>::new())
        .map_err(|e| format!("bad request: {e}"))?;
    let (status, body) = match tls {
        None => exchange(TokioIo::new(tcp), req, method).await?,
        Some((config, sni)) => {
            let name = tls::server_name(sni, check.target.ip());
            let stream = tokio_rustls::TlsConnector::from(config)
                .connect(name, tcp)
                .await
                .map_err(|e| format!("TLS handshake: {e}"))?;
            exchange(TokioIo::new(stream), req, method).await?
        }
    };
    judge(url, status, body.as_deref())
}

async fn exchange<IO>(
    io: IO,
    req: Request<Empty<Bytes>>,
    method: HttpMethod,
) -> Result<(u16, Option<Bytes>), String>
where
    IO: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
{
    let (mut sender, conn) =
        hyper::client::conn::http1::handshake(io).await.map_err(|e| format!("HTTP handshake: {e}"))?;
    let driver = tokio::spawn(conn);
    let result = async {
        let resp = sender.send_request(req).await.map_err(|e| format!("request: {e}"))?;
        let status = resp.status().as_u16();
        if method == HttpMethod::Head {
            return Ok((status, None));
        }
        let body = Limited::new(resp.into_body(), BODY_LIMIT)
            .collect()
            .await
            .map_err(|e| format!("reading the body: {e}"))?
            .to_bytes();
        Ok((status, Some(body)))
    }
    .await;
    driver.abort();
    result
}

/// Whether a response passes a URL's checks: its status in one of the ranges, then the body's
/// regular expression and MD5 digest (a `HEAD` has no body: only the status counts).
pub fn judge(url: &UrlCheck, status: u16, body: Option<&[u8]>) -> Result<(), String> {
    if !status_ok(&url.status, status) {
        return Err(format!("status {status}"));
    }
    let Some(body) = body else { return Ok(()) };
    if let Some(re) = &url.regex {
        let re = regex::bytes::Regex::new(re).map_err(|e| format!("bad regular expression: {e}"))?;
        match (re.is_match(body), url.regex_no_match) {
            (false, false) => return Err(format!("body does not match /{}/", re.as_str())),
            (true, true) => return Err(format!("body matches /{}/ (regex_no_match)", re.as_str())),
            _ => {}
        }
    }
    if let Some(want) = &url.digest {
        let got = md5_hex(body);
        if !got.eq_ignore_ascii_case(want.trim()) {
            return Err(format!("digest {got}, expected {want}"));
        }
    }
    Ok(())
}

fn status_ok(ranges: &[StatusRange], status: u16) -> bool {
    if ranges.is_empty() {
        return (200..=299).contains(&status);
    }
    ranges.iter().any(|r| (r.low..=r.high).contains(&status))
}

/// The MD5 of `data` in lower-case hex (keepalived's `genhash` prints the same).
pub fn md5_hex(data: &[u8]) -> String {
    Md5::digest(data).iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn judges_status_regex_and_digest() {
        let mut url = UrlCheck::new("/");
        assert!(judge(&url, 204, Some(b"")).is_ok());
        assert_eq!(judge(&url, 302, Some(b"")), Err("status 302".into()));
        url.status = vec![StatusRange { low: 300, high: 399 }];
        assert!(judge(&url, 302, None).is_ok());
        url.status = vec![StatusRange { low: 200, high: 200 }];
        url.regex = Some("web[0-9]".into());
        assert!(judge(&url, 200, Some(b"<p>web2</p>")).is_ok());
        assert!(judge(&url, 200, Some(b"sorry")).is_err());
        assert!(judge(&url, 200, None).is_ok(), "HEAD: status only");
        url.regex_no_match = true;
        assert!(judge(&url, 200, Some(b"sorry")).is_ok());
        assert!(judge(&url, 200, Some(b"web2")).is_err());
        url.regex_no_match = false;
        url.regex = None;
        url.digest = Some(md5_hex(b"web1\n").to_uppercase());
        assert!(judge(&url, 200, Some(b"web1\n")).is_ok());
        assert!(judge(&url, 200, Some(b"web2\n")).unwrap_err().starts_with("digest "));
    }

    #[test]
    fn md5_of_known_text() {
        assert_eq!(md5_hex(b""), "d41d8cd98f00b204e9800998ecf8427e");
    }

    #[test]
    fn host_header_has_port_only_when_not_the_scheme_default() {
        assert_eq!(host_header("10.0.0.1:80".parse().unwrap(), false), "10.0.0.1");
        assert_eq!(host_header("10.0.0.1:8080".parse().unwrap(), false), "10.0.0.1:8080");
        assert_eq!(host_header("[2001:db8::1]:443".parse().unwrap(), true), "[2001:db8::1]");
    }
}
