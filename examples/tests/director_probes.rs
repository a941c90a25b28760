//! Every probe kind against small servers on 127.0.0.1 (and the ICMP probe against the
//! loopback address): what passes, what fails, and that a probe that hangs ends at its own
//! timeout (an external command's whole process group killed).

#![allow(clippy::unwrap_used)] // test helpers outside #[test] functions

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use ipvs_core::director::config::{Command, HttpMethod, Origin, Probe, StatusRange, Transport, UrlCheck};
use ipvs_core::director::machine::Outcome;
use ipvs_examples::director::probe::{self, http::md5_hex, Prober, Subject};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, UdpSocket};

const T: Duration = Duration::from_secs(5);

async fn run(probe: Probe, target: SocketAddr, timeout: Duration) -> Outcome {
    let check = probe::check(probe.clone(), target, timeout);
    Prober::new().run_check(&probe, &check, None).await
}

fn is_down(o: &Outcome) -> bool {
    matches!(o, Outcome::Down(_))
}

/// An HTTP/1.1 server answering every request with `status` and a body that echoes the
/// request's method, path and Host header.
async fn http_server(status: u16) -> SocketAddr {
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let Ok((s, _)) = l.accept().await else { return };
            tokio::spawn(answer_http(s, status));
        }
    });
    addr
}

async fn answer_http<S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin>(s: S, status: u16) {
    let mut r = BufReader::new(s);
    let mut first = String::new();
    let _ = r.read_line(&mut first).await;
    let mut host = String::new();
    loop {
        let mut l = String::new();
        if r.read_line(&mut l).await.unwrap_or(0) == 0 || l == "\r\n" {
            break;
        }
        if let Some(h) = l.to_ascii_lowercase().strip_prefix("host:") {
            host = h.trim().to_string();
        }
    }
    let body = format!("{} host={host}\n", first.trim_end());
    let resp =
        format!("HTTP/1.1 {status} X\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}", body.len());
    let _ = r.get_mut().write_all(resp.as_bytes()).await;
    let _ = r.get_mut().shutdown().await;
}

fn http(tls: bool, method: HttpMethod, host: Option<&str>, urls: Vec<UrlCheck>) -> Probe {
    Probe::Http { tls, sni: None, method, host: host.map(Into::into), urls }
}

fn url(path: &str, regex: Option<&str>) -> UrlCheck {
    let mut u = UrlCheck::new(path);
    u.regex = regex.map(Into::into);
    u
}

#[tokio::test]
async fn connect_up_and_refused() {
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    assert_eq!(run(Probe::Connect(Transport::Tcp), addr, T).await, Outcome::Up);
    drop(l);
    assert!(is_down(&run(Probe::Connect(Transport::Tcp), addr, T).await));
}

#[tokio::test]
async fn http_status_regex_host_and_digest() {
    let ok = http_server(200).await;
    let o = run(
        http(false, HttpMethod::Get, None, vec![url("/index.html", Some("^GET /index.html HTTP/1.1"))]),
        ok,
        T,
    )
    .await;
    assert_eq!(o, Outcome::Up);
    let host = format!("host=127.0.0.1:{}", ok.port());
    assert_eq!(
        run(http(false, HttpMethod::Get, None, vec![url("/", Some(&host))]), ok, T).await,
        Outcome::Up,
        "default Host header"
    );
    let vh = run(
        http(false, HttpMethod::Get, Some("www.example.org"), vec![url("/", Some("host=www.example.org"))]),
        ok,
        T,
    )
    .await;
    assert_eq!(vh, Outcome::Up, "virtualhost");
    assert!(is_down(&run(http(false, HttpMethod::Get, None, vec![url("/", Some("nope"))]), ok, T).await));
    // Every URL must pass (keepalived issue #258: only the first was checked).
    let two = vec![url("/a", Some("GET /a")), url("/b", Some("GET /x"))];
    assert!(is_down(&run(http(false, HttpMethod::Get, None, two), ok, T).await));
    let mut d = UrlCheck::new("/d");
    d.digest = Some(md5_hex(format!("GET /d HTTP/1.1 host=127.0.0.1:{}\n", ok.port()).as_bytes()));
    assert_eq!(run(http(false, HttpMethod::Get, None, vec![d.clone()]), ok, T).await, Outcome::Up);
    d.digest = Some(md5_hex(b"other"));
    assert!(is_down(&run(http(false, HttpMethod::Get, None, vec![d]), ok, T).await));
    assert_eq!(
        run(http(false, HttpMethod::Head, None, vec![url("/", Some("never checked"))]), ok, T).await,
        Outcome::Up
    );

    let moved = http_server(302).await;
    assert!(is_down(&run(http(false, HttpMethod::Get, None, vec![url("/", None)]), moved, T).await));
    let mut u = url("/", None);
    u.status = vec![StatusRange { low: 300, high: 399 }];
    assert_eq!(
        run(http(false, HttpMethod::Get, None, vec![u]), moved, T).await,
        Outcome::Up,
        "status_code 3xx"
    );
}

#[tokio::test]
async fn https_without_certificate_verification() {
    let dir = std::env::temp_dir().join(format!("ipvs-tls-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (key, cert) = (dir.join("key.pem"), dir.join("cert.pem"));
    let st = std::process::Command::new("openssl")
        .args(["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=web1.invalid"])
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .stderr(std::process::Stdio::null())
        .status()
        .unwrap();
    assert!(st.success());
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let certs = vec![CertificateDer::from_pem_slice(&std::fs::read(&cert).unwrap()).unwrap()];
    let key = PrivateKeyDer::from_pem_slice(&std::fs::read(&key).unwrap()).unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let Ok((s, _)) = l.accept().await else { return };
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                if let Ok(tls) = acceptor.accept(s).await {
                    answer_http(tls, 200).await;
                }
            });
        }
    });
    let o = run(http(true, HttpMethod::Get, None, vec![url("/secure", Some("GET /secure"))]), addr, T).await;
    assert_eq!(o, Outcome::Up, "a self-signed certificate for another name is accepted");
    assert!(
        is_down(
            &run(http(false, HttpMethod::Get, None, vec![url("/", None)]), addr, Duration::from_secs(2))
                .await
        ),
        "plain HTTP to a TLS port fails"
    );
}

#[tokio::test]
async fn dns_query_and_answer() {
    use hickory_proto::op::{Message, MessageType, ResponseCode};
    use hickory_proto::rr::{rdata::A, RData, Record};
    let sock = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let addr = sock.local_addr().unwrap();
    tokio::spawn(async move {
        let mut buf = [0u8; 512];
        loop {
            let Ok((n, from)) = sock.recv_from(&mut buf).await else { return };
            let Ok(mut m) = Message::from_vec(&buf[..n]) else { continue };
            m.set_message_type(MessageType::Response);
            let q = m.queries()[0].clone();
            if q.name().to_ascii() == "nx.example.org." {
                m.set_response_code(ResponseCode::NXDomain);
            } else {
                m.add_answer(Record::from_rdata(q.name().clone(), 60, RData::A(A::new(192, 0, 2, 1))));
            }
            let _ = sock.send_to(&m.to_vec().unwrap(), from).await;
        }
    });
    let dns = |name: &str, expect: Option<&str>| Probe::Dns {
        name: name.into(),
        qtype: "A".into(),
        expect: expect.map(Into::into),
    };
    assert_eq!(run(dns("www.example.org", Some("192\\.0\\.2\\.1")), addr, T).await, Outcome::Up);
    assert!(is_down(&run(dns("www.example.org", Some("10\\.")), addr, T).await));
    assert!(is_down(&run(dns("nx.example.org", None), addr, T).await));
}

#[tokio::test]
async fn smtp_greeting_and_helo() {
    async fn smtp_server(greeting: &'static str) -> SocketAddr {
        let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = l.local_addr().unwrap();
        tokio::spawn(async move {
            loop {
                let Ok((s, _)) = l.accept().await else { return };
                tokio::spawn(async move {
                    let mut r = BufReader::new(s);
                    let _ = r.get_mut().write_all(greeting.as_bytes()).await;
                    let mut line = String::new();
                    while r.read_line(&mut line).await.unwrap_or(0) > 0 {
                        let reply: &[u8] =
                            if line.starts_with("HELO director") { b"250 hello\r\n" } else { b"221 bye\r\n" };
                        let _ = r.get_mut().write_all(reply).await;
                        line.clear();
                    }
                });
            }
        });
        addr
    }
    let good = smtp_server("220-mail.example.org\r\n220 ESMTP ready\r\n").await;
    assert_eq!(run(Probe::Smtp { helo: None }, good, T).await, Outcome::Up);
    assert_eq!(run(Probe::Smtp { helo: Some("director".into()) }, good, T).await, Outcome::Up);
    assert!(is_down(&run(Probe::Smtp { helo: Some("other".into()) }, good, T).await));
    let busy = smtp_server("421 busy\r\n").await;
    assert!(is_down(&run(Probe::Smtp { helo: None }, busy, T).await));
}

#[tokio::test]
async fn simple_tcp_send_expect() {
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let Ok((mut s, _)) = l.accept().await else { return };
            tokio::spawn(async move {
                let mut buf = [0u8; 64];
                let n = s.read(&mut buf).await.unwrap_or(0);
                let _ = s.write_all(b"200 hello\r\n").await;
                let _ = s.write_all(&buf[..n]).await;
            });
        }
    });
    let st = |send: &str, expect: &str| Probe::SimpleTcp { send: send.into(), expect: Some(expect.into()) };
    assert_eq!(run(st("PING\r\n", "^PING$"), addr, T).await, Outcome::Up);
    assert_eq!(run(st("x\n", "^2"), addr, T).await, Outcome::Up);
    assert!(is_down(&run(st("x\n", "^5"), addr, T).await));
}

#[tokio::test]
async fn udp_with_and_without_reply() {
    let echo = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let addr = echo.local_addr().unwrap();
    tokio::spawn(async move {
        let mut buf = [0u8; 512];
        while let Ok((n, from)) = echo.recv_from(&mut buf).await {
            let _ = echo.send_to(&buf[..n], from).await;
        }
    });
    let udp = |reply: bool| Probe::Udp { payload: b"hello".to_vec(), require_reply: reply };
    assert_eq!(run(udp(true), addr, T).await, Outcome::Up);
    // A port nobody listens on: the ICMP port unreachable fails both forms.
    let closed = UdpSocket::bind("127.0.0.1:0").await.unwrap().local_addr().unwrap();
    let short = Duration::from_secs(2);
    assert!(is_down(&run(udp(true), closed, short).await));
    assert!(is_down(&run(udp(false), closed, short).await));
    assert!(is_down(&run(Probe::Connect(Transport::Udp), closed, short).await));
    assert_eq!(run(Probe::Connect(Transport::Udp), addr, short).await, Outcome::Up);
}

#[tokio::test]
async fn ping_loopback() {
    // Needs an ICMP socket: raw (root) or datagram (ping_group_range); skip where neither works.
    let o = run(Probe::Ping, "127.0.0.1:0".parse().unwrap(), T).await;
    match &o {
        Outcome::Down(why) if why.contains("ICMP socket") => eprintln!("skipped: {why}"),
        _ => assert_eq!(o, Outcome::Up),
    }
}

fn cmd(line: &str, ldirectord_args: bool, dynamic_weight: bool) -> Probe {
    Probe::Command {
        command: Command { line: line.into(), origin: Origin::default() },
        ldirectord_args,
        dynamic_weight,
    }
}

#[tokio::test]
async fn external_commands() {
    let any: SocketAddr = "127.0.0.1:80".parse().unwrap();
    assert_eq!(run(cmd("true", false, false), any, T).await, Outcome::Up);
    assert!(is_down(&run(cmd("exit 3", false, false), any, T).await));
    assert_eq!(run(cmd("exit 12", false, true), any, T).await, Outcome::UpWithWeight(10));
    assert!(is_down(&run(cmd("exit 1", false, true), any, T).await));
    // ldirectord's arguments: VIP VPORT RIP RPORT.
    let probe = cmd("f() { test \"$*\" = \"10.0.0.1 80 192.168.1.2 8080\"; }; f", true, false);
    let check = probe::check(probe.clone(), "192.168.1.2:8080".parse().unwrap(), T);
    let subject = Subject {
        service: ipvs_core::ServiceKey::tcp("10.0.0.1".parse().unwrap(), 80),
        real: "192.168.1.2:8080".parse::<SocketAddr>().unwrap().into(),
    };
    assert_eq!(Prober::new().run_check(&probe, &check, Some(subject)).await, Outcome::Up);
}

#[tokio::test]
async fn a_command_that_hangs_is_killed_with_its_children() {
    let dir = std::env::temp_dir().join(format!("ipvs-cmd-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let pidfile = dir.join("child.pid");
    let line = format!("sleep 300 & echo $! > {}; wait", pidfile.display());
    let o = run(cmd(&line, false, false), "127.0.0.1:80".parse().unwrap(), Duration::from_millis(500)).await;
    assert!(matches!(&o, Outcome::Down(why) if why.contains("no answer within")), "{o:?}");
    let pid: i32 = std::fs::read_to_string(&pidfile).unwrap().trim().parse().unwrap();
    // The background sleep was in the command's process group: it is killed too.
    let mut gone = false;
    for _ in 0..100 {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        // Gone, or a zombie waiting for init to reap it.
        if stat.is_empty() || stat.split_whitespace().nth(2) == Some("Z") {
            gone = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    std::fs::remove_dir_all(&dir).unwrap();
    assert!(gone, "the command's child {pid} still runs");
}

#[tokio::test]
async fn fixed_and_timeouts() {
    let any: SocketAddr = "127.0.0.1:80".parse().unwrap();
    assert_eq!(run(Probe::Fixed(true), any, T).await, Outcome::Up);
    assert!(is_down(&run(Probe::Fixed(false), any, T).await));
    // A server that accepts and never answers: the HTTP probe ends at its own timeout.
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    let _keep = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((s, _)) = l.accept().await {
            held.push(s);
        }
    });
    let o =
        run(http(false, HttpMethod::Get, None, vec![url("/", None)]), addr, Duration::from_millis(300)).await;
    assert_eq!(o, Outcome::Down("no answer within 300ms".into()));
}
