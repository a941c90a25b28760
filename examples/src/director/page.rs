//! The status page at `/` on the metrics address: the [`Snapshot`] as one small HTML page.
//!
//! Per virtual service its scheduler, flags, the kernel's connection and traffic rates, live
//! real servers and the sorry server; per real server its health as text (`up`, `down`,
//! `quiescent`, `draining`, `maintenance`, `unknown`; colour only repeats it), the weight as
//! configured and as in the kernel, active and inactive connections, the last check's result
//! and duration and a sparkline of the recent check durations (inline SVG whose accessible
//! name gives their minimum, median, maximum and last); the last decisions with their times,
//! as logged. Real tables (`<caption>`, `<th scope>`), a viewport and a small inline style
//! sheet that turns each table row into a card on a narrow screen, no script library: a few
//! lines of inline script fetch `/?fragment=1` (the same renderer's [`fragment`]) every
//! [`REFRESH_SECONDS`] and swap it in; without script the page reloads itself (a `<noscript>`
//! refresh). Read-only: it has no form and changes nothing.
//!
//! One renderer, one source: [`page`] and [`fragment`] read the snapshot and nothing else
//! (`/status.json` is the same snapshot as JSON). Every string in the page that comes from the
//! snapshot (names, addresses, check targets, messages, reasons, errors: configuration and the
//! network) goes through [`escape`]; the only markup is this module's string literals
//! (`&'static str`), so no value can reach the page unescaped.
//!
//! `ipvs-status-page` (a small binary) writes the page of a snapshot saved as JSON
//! (`ipvs-director status --json`, `/status.json`); `scripts/screenshot-status` takes the
//! README's screenshot through it.

use std::borrow::Cow;
use std::fmt::Write;

use super::log::format_unix_ms;
use super::status::{
    human_duration, Health, KernelDestination, KernelStats, RealServerStatus, Snapshot, VirtualServiceStatus,
};

/// How often the page fetches a new fragment (seconds); also the `<noscript>` reload.
pub const REFRESH_SECONDS: u32 = 5;

/// The query of the fragment endpoint (`/?fragment=1`).
pub const FRAGMENT_QUERY: &str = "fragment=1";

/// The `Content-Security-Policy` the page is served with: nothing but its own inline style and
/// script and requests to where it came from (defence in depth: [`escape`] is the defence).
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; style-src 'unsafe-inline'; \
script-src 'unsafe-inline'; connect-src 'self'; img-src 'none'; base-uri 'none'; \
form-action 'none'; frame-ancestors 'none'";

/// Whether a request's query asks for the fragment (`fragment=1` among its parameters).
pub fn wants_fragment(query: Option<&str>) -> bool {
    query.is_some_and(|q| q.split('&').any(|p| p == FRAGMENT_QUERY))
}

/// Escapes text for HTML, in element content and in quoted attribute values alike: `&`, `<`,
/// `>`, `"` and `'` become character references, and control characters other than tab and
/// newline become U+FFFD (they have no business in a page). The one escaping function: every
/// string of the snapshot is written through it.
///
/// ```
/// use ipvs_examples::director::page::escape;
/// assert_eq!(escape("<a href=\"x\">Tom & 'Jerry'</a>"),
///            "&lt;a href=&quot;x&quot;&gt;Tom &amp; &#39;Jerry&#39;&lt;/a&gt;");
/// assert_eq!(escape("10.0.0.1:80"), "10.0.0.1:80");
/// ```
pub fn escape(s: &str) -> Cow<'_, str> {
    let special =
        |c: char| matches!(c, '&' | '<' | '>' | '"' | '\'') || (c.is_control() && c != '\t' && c != '\n');
    if !s.contains(special) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 16);
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c if special(c) => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

/// The page being written: markup only from literals ([`Markup::lit`]), text only through
/// [`escape`] ([`Markup::text`]), numbers as digits ([`Markup::num`]).
#[derive(Debug, Default)]
struct Markup(String);

impl Markup {
    /// Markup written here (never a value from the snapshot: those are not `'static`).
    fn lit(&mut self, s: &'static str) -> &mut Self {
        self.0.push_str(s);
        self
    }

    /// Text, escaped.
    fn text(&mut self, s: &str) -> &mut Self {
        self.0.push_str(&escape(s));
        self
    }

    /// A number (digits only).
    fn num(&mut self, n: u64) -> &mut Self {
        let _ = write!(self.0, "{n}");
        self
    }

    /// Opens a data cell labelled `label` (the column's header, shown before the value when
    /// the rows become cards on a narrow screen).
    fn td(&mut self, label: &'static str) -> &mut Self {
        self.lit("<td data-label=\"").lit(label).lit("\">")
    }

    /// Opens a right-aligned (numeric) data cell.
    fn td_num(&mut self, label: &'static str) -> &mut Self {
        self.lit("<td class=\"n\" data-label=\"").lit(label).lit("\">")
    }

    /// A table's opening, caption (text) and header row.
    /// Headers marked [`NUM`] are right-aligned, as their column's cells ([`Markup::td_num`]).
    fn table(&mut self, class: &'static str, caption: &str, headers: &[(&'static str, bool)]) -> &mut Self {
        self.lit("<div class=\"scroll\"><table class=\"").lit(class).lit("\">\n<caption>").text(caption);
        self.lit("</caption>\n<thead><tr>");
        for (h, num) in headers {
            self.lit(if *num { "<th scope=\"col\" class=\"n\">" } else { "<th scope=\"col\">" });
            self.lit(h).lit("</th>");
        }
        self.lit("</tr></thead>\n<tbody>\n")
    }

    /// Closes [`Markup::table`].
    fn end_table(&mut self) -> &mut Self {
        self.lit("</tbody>\n</table></div>\n")
    }

    /// A time as `<time>`: `2026-05-01 12:34:56` (UTC).
    fn time(&mut self, unix_ms: u64) -> &mut Self {
        let t = format_unix_ms(unix_ms);
        self.lit("<time datetime=\"").text(&t.replacen(' ', "T", 1)).lit("Z\">").text(&t).lit("</time>")
    }
}

/// A numeric column (right-aligned) in [`Markup::table`]'s headers.
const NUM: bool = true;
/// A text column.
const TXT: bool = false;

/// `1,532,120`.
fn grouped(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// A byte rate: `512 B/s`, `48.2 kB/s`, `1.9 MB/s` (powers of 1000).
fn byte_rate(n: u64) -> String {
    const UNITS: [&str; 5] = ["kB/s", "MB/s", "GB/s", "TB/s", "PB/s"];
    if n < 1000 {
        return format!("{n} B/s");
    }
    let mut v = n as f64 / 1000.0;
    let mut unit = UNITS[0];
    for u in &UNITS[1..] {
        if v < 1000.0 {
            break;
        }
        v /= 1000.0;
        unit = u;
    }
    if v < 10.0 {
        format!("{v:.1} {unit}")
    } else {
        format!("{v:.0} {unit}")
    }
}

/// How long before the snapshot a time was: `3.1 s ago`.
fn ago(now: u64, t: u64) -> String {
    format!("{} ago", human_duration(now.saturating_sub(t) as f64))
}

/// The whole page: the document around [`fragment`], with the style sheet and the refresh.
pub fn page(s: &Snapshot) -> String {
    let mut m = Markup::default();
    m.lit("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
    m.lit("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>");
    m.text(&s.program).lit(" status");
    if let Some(c) = &s.config_file {
        m.lit(": ").text(c);
    }
    m.lit("</title>\n<noscript><meta http-equiv=\"refresh\" content=\"");
    m.num(REFRESH_SECONDS.into())
        .lit("\"></noscript>\n<style>")
        .lit(STYLE)
        .lit("</style>\n</head>\n<body>\n");
    m.lit("<main id=\"status\">\n");
    m.0.push_str(&fragment(s));
    m.lit("</main>\n<footer><p>Read-only; refreshed every ");
    m.num(REFRESH_SECONDS.into());
    m.lit(" s. Also: <a href=\"status.json\">status.json</a> (this snapshot), ");
    m.lit("<a href=\"metrics\">metrics</a> (Prometheus). <span id=\"refresh\" role=\"status\"></span></p>");
    m.lit("</footer>\n<script>").lit(SCRIPT[0]).num(u64::from(REFRESH_SECONDS) * 1000).lit(SCRIPT[1]);
    m.lit("</script>\n</body>\n</html>\n");
    m.0
}

/// What the page refreshes: everything inside its `<main>` (the header, the tables), as
/// served at `/?fragment=1`.
pub fn fragment(s: &Snapshot) -> String {
    let mut m = Markup::default();
    header(&mut m, s);
    services(&mut m, s);
    for (i, v) in s.virtual_services.iter().enumerate() {
        service(&mut m, s, i + 1, v);
    }
    decisions(&mut m, s);
    m.0
}

/// Refetches the fragment every [`REFRESH_SECONDS`] (the same renderer, so no second one in
/// script); on failure keeps the last tables and says so. The interval (milliseconds) goes
/// between the two halves.
const SCRIPT: [&str; 2] = [
    "(function(){var m=document.getElementById('status'),n=document.getElementById('refresh');\
setInterval(function(){fetch('?fragment=1',{cache:'no-store'}).then(function(r){\
if(!r.ok)throw new Error('HTTP '+r.status);return r.text()}).then(function(t){m.innerHTML=t;n.textContent=''})\
.catch(function(e){n.textContent='Refresh failed ('+e.message+'): showing the last status.'})},",
    ")})();",
];

const STYLE: &str = "\n:root{color-scheme:light dark;--fg:#1f2328;--bg:#fff;--mut:#59636e;--line:#d1d9e0;\
--head:#f6f8fa;--up:#1a7f37;--down:#cf222e;--warn:#9a6700;--info:#0969da;--grey:#6e7781}\n\
@media (prefers-color-scheme:dark){:root{--fg:#e6edf3;--bg:#0d1117;--mut:#9198a1;--line:#3d444d;\
--head:#151b23;--up:#3fb950;--down:#f85149;--warn:#d29922;--info:#4493f8;--grey:#9198a1}}\n\
body{font:15px/1.45 system-ui,-apple-system,'Segoe UI',sans-serif;color:var(--fg);background:var(--bg);\
margin:0 auto;max-width:88em;padding:0 1em 1.5em}\n\
h1{font-size:1.35em;margin:.7em 0 .1em}h2{font-size:1.1em;margin:1.4em 0 .3em}\n\
.sub,.ver{font-weight:400}.n,.nw{white-space:nowrap}.ver{color:var(--mut);font-size:.75em}.meta{color:var(--mut);margin:0 0 .4em}\n\
.meta span+span::before{content:' \\b7  '}.sub{color:var(--mut);font-size:.85em}\n\
.scroll{overflow-x:auto}table{border-collapse:collapse;width:100%;font-variant-numeric:tabular-nums}\n\
caption{text-align:left;font-weight:600;padding:.2em 0 .35em}\n\
th,td{text-align:left;padding:.3em .55em;border-bottom:1px solid var(--line);vertical-align:top}\n\
thead th{background:var(--head);color:var(--mut);font-size:.82em;font-weight:600}.n{text-align:right}\n\
tbody th{font-weight:600;white-space:nowrap}\n\
.badge{display:inline-block;padding:0 .5em;border:1px solid currentColor;border-radius:1em;font-weight:600;\
font-size:.88em}\n\
.h-up{color:var(--up)}.h-down{color:var(--down)}.h-quiescent{color:var(--warn)}.h-draining{color:var(--info)}\n\
.h-maintenance,.h-unknown{color:var(--grey)}.fail{color:var(--down);font-weight:600}\n\
tr.bad>*{background:color-mix(in srgb,var(--down) 7%,transparent)}\n\
tr.warn>*{background:color-mix(in srgb,var(--warn) 8%,transparent)}\n\
.alert,.sorry{margin:.4em 0;padding:.35em .7em;border-left:4px solid var(--down)}.sorry{border-color:var(--warn)}\n\
.spark{vertical-align:middle;color:var(--info)}.spark polyline{fill:none;stroke:currentColor;stroke-width:1.4}\n\
.spark circle{fill:currentColor}footer{color:var(--mut);font-size:.85em;margin-top:1.5em}\n\
@media (max-width:44em){body{padding:0 .6em 1em}table,thead,tbody,tr,th,td,caption{display:block}\n\
thead tr{position:absolute;width:1px;height:1px;overflow:hidden;clip-path:inset(50%)}\n\
tr{border:1px solid var(--line);border-radius:6px;margin:.5em 0;padding:.3em .6em}\n\
th,td{border:0;padding:.12em 0}.n{text-align:left}tbody th{white-space:normal}\n\
td[data-label]::before{content:attr(data-label) ': ';color:var(--mut);font-size:.85em}}\n";

fn header(m: &mut Markup, s: &Snapshot) {
    let now = s.generated_unix_ms;
    m.lit("<header>\n<h1>").text(&s.program).lit(" <span class=\"ver\">").text(&s.version);
    m.lit("</span></h1>\n<p class=\"meta\"><span>");
    match &s.config_file {
        Some(c) => m.text(c),
        None => m.lit("no configuration file"),
    };
    m.lit(" (").text(&s.dialect).lit(")</span><span>pid ").num(s.pid.into());
    m.lit("</span><span>up ").text(&human_duration(now.saturating_sub(s.started_unix_ms) as f64));
    m.lit("</span><span>as of ").time(now).lit(" UTC</span><span>");
    match s.kernel_read_unix_ms {
        Some(t) => m.lit("kernel read ").text(&ago(now, t)),
        None => m.lit("kernel not read yet"),
    };
    m.lit("</span><span>table corrections ").text(&grouped(s.table_corrections));
    m.lit(", refused operations ").text(&grouped(s.table_errors)).lit("</span></p>\n");
    if let Some(e) = &s.kernel_error {
        m.lit("<p class=\"alert\" role=\"alert\"><strong>Kernel table unreadable:</strong> ").text(e);
        m.lit("</p>\n");
    }
    m.lit("</header>\n");
}

/// The flags as shown: `persistent (300 s), sh-port`, or `none`.
fn flags(v: &VirtualServiceStatus) -> String {
    let shown: Vec<String> = v
        .flags
        .iter()
        .map(|f| match v.persistence_timeout {
            Some(t) if f == "persistent" => format!("persistent ({t} s)"),
            _ => f.clone(),
        })
        .collect();
    if shown.is_empty() {
        "none".to_string()
    } else {
        shown.join(", ")
    }
}

/// The kernel's rates (or why there are none) in the cells of the services' table.
fn rates(m: &mut Markup, s: &Snapshot, v: &VirtualServiceStatus) {
    match &v.stats {
        Some(KernelStats {
            connections,
            connections_per_second,
            incoming_packets_per_second,
            outgoing_packets_per_second,
            incoming_bytes_per_second,
            outgoing_bytes_per_second,
            ..
        }) => {
            m.td_num("Connections/s").text(&grouped(*connections_per_second)).lit("</td>");
            m.td_num("Packets/s in / out").text(&grouped(*incoming_packets_per_second)).lit(" / ");
            m.text(&grouped(*outgoing_packets_per_second)).lit("</td>");
            m.td_num("Bytes/s in / out").text(&byte_rate(*incoming_bytes_per_second)).lit(" / ");
            m.text(&byte_rate(*outgoing_bytes_per_second)).lit("</td>");
            m.td_num("Connections").text(&grouped(*connections)).lit("</td>");
        }
        None => {
            let why = if !v.in_kernel && s.kernel_read_unix_ms.is_some() && s.kernel_error.is_none() {
                "not in the kernel's table"
            } else {
                "kernel not read"
            };
            for label in ["Connections/s", "Packets/s in / out", "Bytes/s in / out", "Connections"] {
                m.td_num(label).lit("<span class=\"sub\">").lit(why).lit("</span></td>");
            }
        }
    }
}

fn services(m: &mut Markup, s: &Snapshot) {
    m.lit("<section aria-labelledby=\"services-h\">\n<h2 id=\"services-h\">Virtual services</h2>\n");
    if s.virtual_services.is_empty() {
        m.lit("<p>No virtual services configured.</p>\n</section>\n");
        return;
    }
    let caption = format!(
        "{} virtual service{}: scheduler, live real servers, sorry server, and the kernel's rates",
        s.virtual_services.len(),
        if s.virtual_services.len() == 1 { "" } else { "s" }
    );
    m.table(
        "services",
        &caption,
        &[
            ("Service", TXT),
            ("Scheduler", TXT),
            ("Flags", TXT),
            ("Live real servers", TXT),
            ("Sorry server", TXT),
            ("Connections/s", NUM),
            ("Packets/s in / out", NUM),
            ("Bytes/s in / out", NUM),
            ("Connections", NUM),
        ],
    );
    for (i, v) in s.virtual_services.iter().enumerate() {
        let sorry_in = v.sorry_server.as_ref().is_some_and(|x| x.active);
        m.lit(match (v.live, sorry_in || !v.quorum) {
            (0, _) => "<tr class=\"bad\">",
            (_, true) => "<tr class=\"warn\">",
            _ => "<tr>",
        });
        m.lit("<th scope=\"row\"><a href=\"#vs-").num(i as u64 + 1).lit("\">").text(&v.key).lit("</a></th>");
        m.td("Scheduler").text(&v.scheduler).lit("</td>");
        m.td("Flags").text(&flags(v)).lit("</td>");
        m.td("Live real servers").num(v.live as u64).lit(" of ").num(v.total as u64);
        if !v.quorum {
            m.lit(" <strong class=\"fail\">no quorum</strong>");
        }
        m.lit("</td>");
        m.lit("<td class=\"nw\" data-label=\"Sorry server\">");
        match &v.sorry_server {
            None => m.lit("<span class=\"sub\">none</span>"),
            Some(x) if x.active => m.text(&x.address).lit(" <strong class=\"h-down\">in</strong>"),
            Some(x) => m.text(&x.address).lit(" <span class=\"sub\">out</span>"),
        };
        m.lit("</td>");
        rates(m, s, v);
        m.lit("</tr>\n");
    }
    m.end_table().lit("</section>\n");
}

/// The sparkline of recent check durations: an SVG line scaled to their maximum, named by
/// their count, minimum, median, maximum and last (the text alternative), and the maximum
/// written beside it.
fn sparkline(m: &mut Markup, durations: &[f64]) {
    const W: f64 = 100.0;
    const H: f64 = 22.0;
    let v: Vec<f64> = durations.iter().copied().filter(|d| d.is_finite() && *d >= 0.0).collect();
    let Some(&last) = v.last() else {
        m.lit("<span class=\"sub\">no checks yet</span>");
        return;
    };
    let mut sorted = v.clone();
    sorted.sort_by(f64::total_cmp);
    let (min, max, median) = (sorted[0], sorted[sorted.len() - 1], sorted[sorted.len() / 2]);
    let label = format!(
        "{} recent check duration{}, oldest first: min {}, median {}, max {}, last {}",
        v.len(),
        if v.len() == 1 { "" } else { "s" },
        human_duration(min),
        human_duration(median),
        human_duration(max),
        human_duration(last)
    );
    let point = |i: usize, d: f64| {
        let x = if v.len() == 1 { W / 2.0 } else { 2.0 + i as f64 * (W - 4.0) / (v.len() - 1) as f64 };
        let y = if max > 0.0 { H - 2.0 - d / max * (H - 4.0) } else { H - 2.0 };
        (x, y)
    };
    let mut points = String::new();
    for (i, d) in v.iter().enumerate() {
        let (x, y) = point(i, *d);
        let _ = write!(points, "{}{x:.1},{y:.1}", if i == 0 { "" } else { " " });
    }
    let (lx, ly) = point(v.len() - 1, last);
    m.lit(
        "<svg class=\"spark\" viewBox=\"0 0 100 22\" width=\"100\" height=\"22\" role=\"img\" aria-label=\"",
    );
    m.text(&label).lit("\"><title>").text(&label).lit("</title><polyline points=\"").text(&points);
    m.lit("\"/><circle cx=\"").text(&format!("{lx:.1}")).lit("\" cy=\"").text(&format!("{ly:.1}"));
    m.lit("\" r=\"2\"/></svg> <span class=\"sub\" aria-hidden=\"true\">max ").text(&human_duration(max));
    m.lit("</span>");
}

/// The kernel's weight as shown: `3`, `0 (wanted 2)`, `absent (wanted 1)` or `out`.
fn kernel_weight(m: &mut Markup, r: &RealServerStatus) {
    match (r.weight_kernel, r.weight_desired) {
        (Some(k), Some(w)) if k == w => m.num(k.into()),
        (Some(k), Some(w)) => {
            m.num(k.into()).lit(" <span class=\"sub\">(wanted ").num(w.into()).lit(")</span>")
        }
        (Some(k), None) => m.num(k.into()).lit(" <span class=\"sub\">(wanted out)</span>"),
        (None, Some(w)) => m.lit("absent <span class=\"sub\">(wanted ").num(w.into()).lit(")</span>"),
        (None, None) => m.lit("<span class=\"sub\">out</span>"),
    };
}

fn optional_count(m: &mut Markup, n: Option<u32>) {
    match n {
        Some(n) => m.text(&grouped(n.into())),
        None => m.lit("<span class=\"sub\" title=\"not in the kernel's table\">\u{2013}</span>"),
    };
}

fn real_row(m: &mut Markup, now: u64, r: &RealServerStatus) {
    let h = r.health;
    m.lit(match h {
        Health::Up => "<tr>",
        Health::Down | Health::Unknown => "<tr class=\"bad\">",
        _ => "<tr class=\"warn\">",
    });
    m.lit("<th scope=\"row\"><span class=\"addr\">").text(&r.address).lit("</span> <span class=\"sub\">");
    m.text(&r.forward).lit("</span></th>");
    m.lit("<td class=\"nw\" data-label=\"Health\">")
        .lit("<span class=\"badge ")
        .lit(health_class(h))
        .lit("\">")
        .text(h.name())
        .lit("</span>");
    m.lit(" <span class=\"sub\">for ").text(&human_duration(now.saturating_sub(r.since_unix_ms) as f64));
    m.lit("</span></td>");
    m.td_num("Weight configured").num(r.weight_configured.into()).lit("</td>");
    m.td_num("Weight in kernel");
    kernel_weight(m, r);
    m.lit("</td>");
    m.td_num("Active");
    optional_count(m, r.active_connections);
    m.lit("</td>");
    m.td_num("Inactive");
    optional_count(m, r.inactive_connections);
    m.lit("</td>");
    m.td("Last check");
    match &r.last_check {
        Some(c) if c.ok => {
            m.text(&c.message).lit(" <span class=\"sub\">").text(&ago(now, c.at_unix_ms)).lit("</span>");
        }
        Some(c) => {
            m.lit("<span class=\"fail\">failed:</span> ").text(&c.message).lit(" <span class=\"sub\">(");
            m.num(r.failures.into()).lit(if r.failures == 1 { " failure" } else { " failures" });
            m.lit(" in a row, ").text(&ago(now, c.at_unix_ms)).lit(")</span>");
        }
        None if r.checks.is_empty() => {
            m.lit("<span class=\"sub\">not checked</span>");
        }
        None => {
            m.lit("<span class=\"sub\">no check has ended yet</span>");
        }
    }
    for c in &r.checks {
        m.lit("<br><span class=\"sub\" title=\"").text(&c.origin).lit("\">").text(&c.kind);
        if c.target != r.address {
            m.lit(" of ").text(&c.target);
        }
        m.lit(": ").text(&c.verdict);
        if c.in_flight {
            m.lit(", running");
        }
        m.lit("</span>");
    }
    m.lit("</td>");
    m.td_num("Took");
    match &r.last_check {
        Some(c) => m.text(&human_duration(c.duration_ms)),
        None => m.lit("<span class=\"sub\">\u{2013}</span>"),
    };
    m.lit("</td>");
    m.td("Recent checks");
    sparkline(m, &r.recent_check_durations_ms);
    m.lit("</td></tr>\n");
}

/// The class that colours a health (the text says it too).
fn health_class(h: Health) -> &'static str {
    match h {
        Health::Up => "h-up",
        Health::Down => "h-down",
        Health::Quiescent => "h-quiescent",
        Health::Unknown => "h-unknown",
        Health::Maintenance => "h-maintenance",
        Health::Draining => "h-draining",
    }
}

fn kernel_row(m: &mut Markup, d: &KernelDestination) {
    m.lit("<tr><th scope=\"row\">").text(&d.address).lit("</th>");
    m.td_num("Weight").num(d.weight.into()).lit("</td>");
    m.td_num("Active").text(&grouped(d.active_connections.into())).lit("</td>");
    m.td_num("Inactive").text(&grouped(d.inactive_connections.into())).lit("</td></tr>\n");
}

fn service(m: &mut Markup, s: &Snapshot, n: usize, v: &VirtualServiceStatus) {
    let now = s.generated_unix_ms;
    m.lit("<section class=\"vs\" id=\"vs-").num(n as u64).lit("\" aria-labelledby=\"vs-").num(n as u64);
    m.lit("-h\">\n<h2 id=\"vs-")
        .num(n as u64)
        .lit("-h\">")
        .text(&v.key)
        .lit("</h2>\n<p class=\"meta\"><span>");
    m.text(&v.scheduler).lit("</span><span>flags: ").text(&flags(v)).lit("</span><span>");
    m.num(v.live as u64).lit(" of ").num(v.total as u64).lit(" real servers live, live weight ");
    m.num(v.live_weight).lit(if v.quorum { "</span>" } else { ", no quorum</span>" });
    if let Some(x) = v.sorry_server.as_ref().filter(|x| !x.active) {
        m.lit("<span>sorry server ").text(&x.address).lit(" out</span>");
    }
    m.lit("</p>\n");
    if s.kernel_read_unix_ms.is_some() && s.kernel_error.is_none() && !v.in_kernel {
        m.lit("<p class=\"alert\">Not in the kernel's table.</p>\n");
    }
    if let Some(x) = v.sorry_server.as_ref().filter(|x| x.active) {
        m.lit("<p class=\"sorry\"><strong>Sorry server ").text(&x.address).lit(" is in</strong>");
        m.lit(if v.live == 0 { " (no real server is up)" } else { " (no quorum)" });
        match &x.kernel {
            Some(k) => {
                m.lit(": in the kernel with weight ").num(k.weight.into()).lit(", active ");
                m.text(&grouped(k.active_connections.into())).lit(", inactive ");
                m.text(&grouped(k.inactive_connections.into()));
            }
            None => {
                m.lit(": not in the kernel's table yet");
            }
        }
        m.lit(".</p>\n");
    }
    if v.real_servers.is_empty() {
        m.lit("<p>No real servers.</p>\n");
    } else {
        let caption = format!("Real servers of {}", v.key);
        m.table(
            "reals",
            &caption,
            &[
                ("Real server", TXT),
                ("Health", TXT),
                ("Weight configured", NUM),
                ("Weight in kernel", NUM),
                ("Active", NUM),
                ("Inactive", NUM),
                ("Last check", TXT),
                ("Took", NUM),
                ("Recent checks", TXT),
            ],
        );
        for r in &v.real_servers {
            real_row(m, now, r);
        }
        m.end_table();
    }
    if !v.unlisted_in_kernel.is_empty() {
        let caption = format!("In the kernel's table of {}, not in the configuration", v.key);
        m.table(
            "unlisted",
            &caption,
            &[("Real server", TXT), ("Weight", NUM), ("Active", NUM), ("Inactive", NUM)],
        );
        for d in &v.unlisted_in_kernel {
            kernel_row(m, d);
        }
        m.end_table();
    }
    m.lit("</section>\n");
}

fn decisions(m: &mut Markup, s: &Snapshot) {
    let now = s.generated_unix_ms;
    m.lit("<section aria-labelledby=\"decisions-h\">\n<h2 id=\"decisions-h\">Last decisions</h2>\n");
    if s.decisions.is_empty() {
        m.lit("<p>No decisions yet.</p>\n</section>\n");
        return;
    }
    let caption = format!("The last {} decisions, newest first, as logged (times in UTC)", s.decisions.len());
    m.table(
        "decisions",
        &caption,
        &[("Time", TXT), ("Service", TXT), ("Real server", TXT), ("Decision", TXT)],
    );
    for d in s.decisions.iter().rev() {
        m.lit("<tr><th scope=\"row\">").time(d.at_unix_ms).lit(" <span class=\"sub\">");
        m.text(&ago(now, d.at_unix_ms)).lit("</span></th>");
        m.lit("<td class=\"nw\" data-label=\"Service\">").text(&d.service).lit("</td>");
        m.lit("<td class=\"nw\" data-label=\"Real server\">");
        match &d.real {
            Some(r) => m.text(r),
            None => m.lit("<span class=\"sub\">\u{2013}</span>"),
        };
        m.lit("</td>");
        m.td("Decision").text(&d.message).lit("</td></tr>\n");
    }
    m.end_table().lit("</section>\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup_quotes_and_controls() {
        assert_eq!(escape("plain 10.0.0.1:80"), "plain 10.0.0.1:80");
        assert!(matches!(escape("plain"), Cow::Borrowed(_)));
        assert_eq!(escape("\"><img src=x onerror=alert(1)>"), "&quot;&gt;&lt;img src=x onerror=alert(1)&gt;");
        assert_eq!(escape("a&amp;b 'c'"), "a&amp;amp;b &#39;c&#39;");
        assert_eq!(escape("bell\u{7}\tnl\n"), "bell\u{FFFD}\tnl\n");
        assert_eq!(escape("ünïcødé ✓"), "ünïcødé ✓");
    }

    #[test]
    fn numbers_and_rates() {
        assert_eq!(grouped(0), "0");
        assert_eq!(grouped(999), "999");
        assert_eq!(grouped(1000), "1,000");
        assert_eq!(grouped(1_532_120), "1,532,120");
        assert_eq!(byte_rate(512), "512 B/s");
        assert_eq!(byte_rate(48_213), "48 kB/s");
        assert_eq!(byte_rate(1_893_000), "1.9 MB/s");
        assert_eq!(byte_rate(u64::MAX), "18447 PB/s");
    }

    #[test]
    fn fragment_query() {
        assert!(wants_fragment(Some("fragment=1")));
        assert!(wants_fragment(Some("x=2&fragment=1")));
        assert!(!wants_fragment(Some("fragment=10")));
        assert!(!wants_fragment(None));
    }

    #[test]
    fn sparkline_edges() {
        let mut m = Markup::default();
        sparkline(&mut m, &[]);
        assert!(m.0.contains("no checks yet"));
        let mut m = Markup::default();
        sparkline(&mut m, &[f64::NAN, -1.0, 0.0]);
        assert!(m.0.contains("1 recent check duration,"), "{}", m.0);
        assert!(m.0.contains("points=\"50.0,20.0\""), "{}", m.0);
        let mut m = Markup::default();
        sparkline(&mut m, &[1.0, 2.0, 4.0]);
        assert!(m.0.contains("points=\"2.0,15.5 50.0,11.0 98.0,2.0\""), "{}", m.0);
        assert!(m.0.contains("min 1.0 ms, median 2.0 ms, max 4.0 ms, last 4.0 ms"), "{}", m.0);
    }
}
