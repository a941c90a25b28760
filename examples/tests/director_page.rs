//! The status page (`ipvs_examples::director::page`) from recorded snapshots: the committed
//! fixture (`fixtures/status-page.json`: four services, one real server down, one draining,
//! one in maintenance, a sorry server in) renders with its table structure and every state as
//! text; hostile names (markup in a service's name, a checker's request and result, a decision's
//! reason, ...) come out as text; `/` and `/?fragment=1` over HTTP are the renderer's output
//! for the snapshot that `/status.json` serves. `director_metrics.rs` watches the page follow a
//! server down and up on the daemon; `scripts/suites/director-metrics.vm` on the kernel.

#![allow(clippy::unwrap_used)] // test helpers outside #[test] functions

use std::net::SocketAddr;

use ipvs_examples::director::observe;
use ipvs_examples::director::page::{self, escape};
use ipvs_examples::director::status::{Health, KernelDestination, Snapshot, StatusHandle};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

const FIXTURE: &str = include_str!("fixtures/status-page.json");

fn fixture() -> Snapshot {
    serde_json::from_str(FIXTURE).unwrap()
}

/// The elements a page may contain, and those without a closing tag.
const ELEMENTS: &[&str] = &[
    "html", "head", "meta", "title", "noscript", "style", "body", "main", "header", "h1", "h2", "p", "span",
    "strong", "time", "section", "div", "table", "caption", "thead", "tbody", "tr", "th", "td", "a", "br",
    "svg", "polyline", "circle", "footer", "script",
];
const VOID: &[&str] = &["meta", "br"];

/// Checks that the markup nests (every element closed, in order), uses only [`ELEMENTS`], and
/// that no `<` stands outside a tag (text is escaped; style and script have none). Returns the
/// element names in document order.
fn elements(html: &str) -> Vec<String> {
    let body = html.strip_prefix("<!DOCTYPE html>\n").unwrap_or(html);
    let mut stack: Vec<String> = Vec::new();
    let mut seen = Vec::new();
    let mut rest = body;
    while let Some(i) = rest.find('<') {
        let after = &rest[i + 1..];
        let end =
            after.find('>').unwrap_or_else(|| panic!("unclosed tag at {:?}", &after[..after.len().min(60)]));
        let tag = &after[..end];
        assert!(!tag.contains('<'), "a '<' inside a tag: {tag:?}");
        rest = &after[end + 1..];
        if let Some(name) = tag.strip_prefix('/') {
            let open = stack.pop().unwrap_or_else(|| panic!("</{name}> closes nothing"));
            assert_eq!(open, name, "</{name}> closes <{open}>");
            continue;
        }
        let name: String = tag.chars().take_while(|c| c.is_ascii_alphanumeric()).collect();
        assert!(ELEMENTS.contains(&name.as_str()), "unexpected element <{tag}>");
        seen.push(name.clone());
        if !tag.ends_with('/') && !VOID.contains(&name.as_str()) {
            stack.push(name);
        }
    }
    assert!(stack.is_empty(), "left open: {stack:?}");
    seen
}

fn count(html: &str, needle: &str) -> usize {
    html.matches(needle).count()
}

/// The health text of the real server `addr` in each of its rows, in document order (one per
/// service it belongs to).
fn health_texts(html: &str, addr: &str) -> Vec<String> {
    let key = format!("<span class=\"addr\">{}</span>", escape(addr));
    html.lines()
        .filter(|l| l.starts_with("<tr") && l.contains(&key))
        .filter_map(|l| {
            let cell = l.split("data-label=\"Health\">").nth(1)?;
            let badge = cell.split_once("\">")?.1;
            Some(badge.split('<').next()?.to_string())
        })
        .collect()
}

#[test]
fn the_fixture_renders_as_tables_with_every_state_as_text() {
    let s = fixture();
    let html = page::page(&s);
    let fragment = page::fragment(&s);
    assert!(html.starts_with("<!DOCTYPE html>\n<html lang=\"en\">"));
    assert!(html.contains("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"));
    assert!(html.contains("<noscript><meta http-equiv=\"refresh\" content=\"5\"></noscript>"));
    assert!(
        html.contains("<main id=\"status\">\n") && html.contains(&fragment),
        "the page holds the fragment"
    );
    assert!(!fragment.contains("<html") && !fragment.contains("<script"));
    let tags = elements(&html);
    assert_eq!(tags.iter().filter(|t| *t == "script").count(), 1, "one script, the refresh");
    assert!(!html.contains(" src=") && !html.contains("://"), "nothing loaded from elsewhere");
    assert!(!html.contains("<form") && !html.contains("method="), "read-only");
    assert!(html.contains("fetch('?fragment=1'") && html.contains("},5000)"));

    // Tables: the services, each service's real servers, the decisions; captions and headers.
    assert_eq!(count(&html, "<table"), 6);
    assert_eq!(count(&html, "<caption>"), 6);
    assert!(html.contains("<caption>4 virtual services: scheduler, live real servers"));
    for key in ["TCP 10.9.9.9:80", "TCP 10.9.9.9:443", "TCP 10.9.9.10:25", "FWM 5"] {
        assert!(html.contains(&format!("<caption>Real servers of {key}</caption>")), "{key}");
        assert!(html.contains(&format!("\">{key}</a></th>")), "{key} in the services' table");
    }
    assert!(html.contains("<caption>The last 6 decisions, newest first, as logged (times in UTC)</caption>"));
    for h in [
        "Service",
        "Scheduler",
        "Flags",
        "Live real servers",
        "Sorry server",
        "Real server",
        "Health",
        "Decision",
    ] {
        assert!(html.contains(&format!("<th scope=\"col\">{h}</th>")), "header {h}");
    }
    for h in
        ["Connections/s", "Packets/s in / out", "Bytes/s in / out", "Weight configured", "Weight in kernel"]
    {
        assert!(html.contains(&format!("<th scope=\"col\" class=\"n\">{h}</th>")), "header {h}");
    }
    let rows = 4 + s.virtual_services.iter().map(|v| v.real_servers.len()).sum::<usize>() + s.decisions.len();
    assert_eq!(count(&html, "<th scope=\"row\">"), rows);

    // Services: scheduler, flags, live servers, rates, the sorry server in.
    assert!(html.contains("<td data-label=\"Flags\">persistent (300 s), sh-port</td>"));
    assert!(html.contains("<td data-label=\"Live real servers\">2 of 3</td>"));
    assert!(html.contains("1 of 2 <strong class=\"fail\">no quorum</strong>"));
    assert!(html.contains("<td class=\"n\" data-label=\"Connections/s\">41</td>"));
    assert!(html.contains("data-label=\"Bytes/s in / out\">48 kB/s / 1.9 MB/s</td>"));
    assert!(html.contains("data-label=\"Connections\">1,532,120</td>"));
    assert!(html.contains("192.168.2.9:25 <strong class=\"h-down\">in</strong>"));
    assert!(html.contains(
        "<strong>Sorry server 192.168.2.9:25 is in</strong> (no quorum): in the kernel with weight 1"
    ));
    assert!(html.contains("192.168.1.9:80 <span class=\"sub\">out</span>"));

    // Real servers: health as text, weights, connections, the last check, the sparkline.
    assert_eq!(health_texts(&html, "192.168.1.2:80"), ["up"]);
    assert_eq!(health_texts(&html, "192.168.1.4:80"), ["down"]);
    assert_eq!(health_texts(&html, "192.168.1.5:443"), ["draining"]);
    assert_eq!(health_texts(&html, "192.168.2.3:25"), ["maintenance"]);
    let down = html.lines().find(|l| l.contains(">192.168.1.4:80</span>")).unwrap();
    assert!(down.starts_with("<tr class=\"bad\">"), "{down}");
    assert!(down.contains("data-label=\"Weight configured\">2</td>"), "{down}");
    assert!(down.contains("data-label=\"Weight in kernel\"><span class=\"sub\">out</span></td>"), "{down}");
    assert!(
        down.contains(
            "<span class=\"fail\">failed:</span> GET /health: connect to 192.168.1.4:80: Connection refused"
        ),
        "{down}"
    );
    assert!(down.contains("(6 failures in a row, 419.0 ms ago)"), "{down}");
    assert!(down.contains("data-label=\"Took\">0.41 ms</td>"), "{down}");
    let draining = html.lines().find(|l| l.contains(">192.168.1.5:443</span>")).unwrap();
    assert!(draining.contains("data-label=\"Weight in kernel\">0</td>"), "{draining}");
    assert!(
        draining.contains("data-label=\"Active\">3</td>")
            && draining.contains("data-label=\"Inactive\">8</td>")
    );
    let up = html.lines().find(|l| l.contains(">192.168.1.2:80</span>")).unwrap();
    assert!(
        up.contains("<svg class=\"spark\"")
            && up.contains("role=\"img\" aria-label=\"32 recent check durations, oldest first: min "),
        "{up}"
    );
    assert_eq!(count(&html, "<svg class=\"spark\""), 9, "one sparkline per real server");

    // Decisions, newest first, with their times.
    let newest = html.find("<time datetime=\"2026-05-01T12:34:49Z\">2026-05-01 12:34:49</time>").unwrap();
    let oldest = html.find("<time datetime=\"2026-04-28T12:34:56Z\">2026-04-28 12:34:56</time>").unwrap();
    assert!(newest < oldest);
    assert!(html.contains("<td data-label=\"Decision\">TCP 10.9.9.10:25: quorum lost: live weight 1 below 2-0: sorry server 192.168.2.9:25 in with weight 1</td>"));
}

/// Markup an attacker could put where the page shows text.
const HOSTILE: [&str; 3] =
    ["<script>alert(1)</script>", "\"><img src=x onerror=alert(2)>", "'><svg onload=alert(3)>\u{7}"];

#[test]
fn hostile_names_come_out_as_text() {
    let mut s = fixture();
    let [script, img, svg] = HOSTILE;
    s.program = format!("director{script}");
    s.config_file = Some(format!("/etc/{img}.conf"));
    s.kernel_error = Some(format!("netlink: {svg}"));
    s.dialect = svg.to_string();
    let v = &mut s.virtual_services[0];
    v.key = format!("TCP 10.9.9.9:80{script}");
    v.scheduler = img.to_string();
    v.flags.push(svg.to_string());
    v.in_kernel = false;
    v.unlisted_in_kernel.push(KernelDestination {
        address: img.to_string(),
        ip: img.to_string(),
        port: 1,
        weight: 1,
        active_connections: 0,
        inactive_connections: 0,
    });
    if let Some(sorry) = v.sorry_server.as_mut() {
        sorry.address = script.to_string();
        sorry.active = true;
    }
    let r = &mut v.real_servers[2];
    r.address = format!("192.168.1.4:80{img}");
    r.forward = script.to_string();
    let c = &mut r.checks[0];
    // A checker's request string, in its target, its origin (an attribute) and its result.
    c.target = format!("http://192.168.1.4/{script}");
    c.origin = format!("{img}:1");
    c.kind = svg.to_string();
    c.verdict = img.to_string();
    let last = r.last_check.as_mut().unwrap();
    last.message = format!("GET /{script}{img}: HTTP status 500");
    for d in &mut s.decisions {
        d.service = format!("TCP 10.9.9.9:80{script}");
        d.real = Some(img.to_string());
        d.message = format!("real server down: request {img} got {script}: {svg}");
    }

    for html in [page::page(&s), page::fragment(&s)] {
        let tags = elements(&html);
        assert!(tags.iter().filter(|t| *t == "script").count() <= 1, "only the page's own script");
        assert!(!tags.iter().any(|t| t == "img"));
        assert_eq!(tags.iter().filter(|t| *t == "svg").count(), 9, "only the sparklines");
        for raw in HOSTILE {
            assert!(!html.contains(raw), "raw {raw:?} in the page");
        }
        for raw in ["<script>alert", "<img", "<svg onload", "\u{7}"] {
            assert!(!html.contains(raw), "{raw:?} in the page");
        }
        assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
        assert!(html.contains("&quot;&gt;&lt;img src=x onerror=alert(2)&gt;"));
        assert!(html.contains("&#39;&gt;&lt;svg onload=alert(3)&gt;\u{FFFD}"));
        // Where each went, as text.
        assert!(html.contains("<h2 id=\"vs-1-h\">TCP 10.9.9.9:80&lt;script&gt;alert(1)&lt;/script&gt;</h2>"));
        assert!(
            html.contains("title=\"&quot;&gt;&lt;img src=x onerror=alert(2)&gt;:1\""),
            "the origin, in an attribute"
        );
        assert!(html.contains("GET /&lt;script&gt;alert(1)&lt;/script&gt;&quot;&gt;&lt;img src=x onerror=alert(2)&gt;: HTTP status 500"));
        assert!(html.contains("of http://192.168.1.4/&lt;script&gt;alert(1)&lt;/script&gt;"));
        assert!(html.contains("<td data-label=\"Decision\">real server down: request &quot;&gt;&lt;img src=x onerror=alert(2)&gt; got &lt;script&gt;alert(1)&lt;/script&gt;: "));
        assert!(
            html.contains("Kernel table unreadable:</strong> netlink: &#39;&gt;&lt;svg onload=alert(3)&gt;")
        );
    }
    let html = page::page(&s);
    assert!(
        html.contains("<title>director&lt;script&gt;alert(1)&lt;/script&gt; status: /etc/&quot;&gt;&lt;img")
    );
    assert_eq!(health_texts(&html, &format!("192.168.1.4:80{img}")), ["down"]);
}

#[test]
fn sparse_snapshots_render() {
    let mut s = fixture();
    s.decisions.clear();
    s.kernel_read_unix_ms = None;
    s.config_file = None;
    let v = &mut s.virtual_services[0];
    v.stats = None;
    v.in_kernel = false;
    v.live = 0;
    let r = &mut v.real_servers[0];
    r.health = Health::Unknown;
    r.last_check = None;
    r.recent_check_durations_ms.clear();
    r.weight_kernel = None;
    r.checks.clear();
    let q = &mut v.real_servers[1];
    q.health = Health::Quiescent;
    q.weight_desired = Some(0);
    q.weight_kernel = Some(0);
    s.virtual_services[1].real_servers.clear();
    let html = page::page(&s);
    elements(&html);
    assert!(html.contains("<p>No decisions yet.</p>"));
    assert!(html.contains("kernel not read yet") && html.contains("no configuration file"));
    assert!(html.contains("<span class=\"sub\">kernel not read</span>"));
    assert!(html.contains("<p>No real servers.</p>"));
    assert_eq!(health_texts(&html, "192.168.1.2:80"), ["unknown"]);
    assert_eq!(health_texts(&html, "192.168.1.3:80"), ["quiescent"]);
    let row = html.lines().find(|l| l.contains(">192.168.1.2:80</span>")).unwrap();
    assert!(row.contains("not checked") && row.contains("no checks yet"), "{row}");
    assert!(row.contains("absent <span class=\"sub\">(wanted 3)</span>"), "{row}");
    s.virtual_services.clear();
    let html = page::page(&s);
    elements(&html);
    assert!(html.contains("<p>No virtual services configured.</p>"));
}

/// A plain HTTP/1.1 request: (status, headers, body).
async fn request(addr: SocketAddr, method: &str, path: &str) -> (u16, String, String) {
    let mut s = TcpStream::connect(addr).await.unwrap();
    let req = format!("{method} {path} HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n");
    s.write_all(req.as_bytes()).await.unwrap();
    let mut buf = Vec::new();
    s.read_to_end(&mut buf).await.unwrap();
    let text = String::from_utf8(buf).unwrap();
    let (head, body) = text.split_once("\r\n\r\n").unwrap();
    (head.split(' ').nth(1).unwrap().parse().unwrap(), head.to_ascii_lowercase(), body.to_string())
}

#[tokio::test(flavor = "current_thread")]
async fn the_page_and_its_fragment_over_http_are_the_snapshot_of_status_json() {
    let s = fixture();
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    let server = tokio::spawn(observe::serve_http(l, StatusHandle::fixed(s.clone())));

    let (status, head, body) = request(addr, "GET", "/").await;
    assert_eq!(status, 200);
    assert!(head.contains("content-type: text/html; charset=utf-8"), "{head}");
    assert!(head.contains(&format!("content-security-policy: {}", page::CONTENT_SECURITY_POLICY)), "{head}");
    assert!(head.contains("cache-control: no-store") && head.contains("x-content-type-options: nosniff"));
    assert_eq!(body, page::page(&s));
    let (status, head, body) = request(addr, "GET", "/?fragment=1").await;
    assert_eq!(status, 200);
    assert!(head.contains("content-type: text/html"), "{head}");
    assert_eq!(body, page::fragment(&s));
    let (status, _, body) = request(addr, "HEAD", "/").await;
    assert_eq!((status, body.as_str()), (200, ""));
    let (status, _, json) = request(addr, "GET", "/status.json").await;
    assert_eq!(status, 200);
    let served: Snapshot = serde_json::from_str(&json).unwrap();
    assert_eq!(served, s);
    assert_eq!(page::page(&served), page::page(&s), "the page is a function of the document");
    assert_eq!(request(addr, "POST", "/").await.0, 405, "read-only");
    server.abort();
}
