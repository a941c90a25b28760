//! `schedsim`: which real server would the kernel pick for each flow?
//!
//! ```text
//! schedsim --rules RULES --flows FLOWS [--summary] [--plot FILE.svg] [--seed N]
//! ```
//!
//! RULES is `ipvsadm -S`/`-R` text (lines starting with `#` are skipped, as `ipvsadm-restore`
//! does). FLOWS holds one event per line, in order:
//!
//! * a flow, `udp|tcp|sctp CLIENT:PORT VIP:PORT [mark=N]` (IPv6 as `[addr]:port`), a new
//!   connection from that client (or a packet of the connection it already has, when the
//!   client address and port were seen before);
//! * an ipvsadm command line starting with `-` (or with the word `ipvsadm`), for example
//!   `-e -u 10.0.0.1:53 -r 10.50.0.2:53 -m -w 5`, applied at that point;
//! * blank lines and `#` comments.
//!
//! For every flow, one line: the real server as `ipvsadm -Ln` shows it, or `-` when the flow
//! reaches none (no service, no usable real server, or dropped). See `docs/schedsim.md`.
//!
//! All the logic is the library's: the rules are read by [`ipvs_core::ipvsadm::rules`], the
//! commands by [`ipvs_core::ipvsadm::cmdline`], flows by `Flow`'s `FromStr`, and everything
//! runs through [`ipvs_core::sim::Simulator`], which models the Debian 6.1 kernel's IPVS
//! (plus the twos scheduler, which Debian does not build).

use std::collections::HashMap;
use std::fmt::Write as _;
use std::io::{BufWriter, Write};
use std::process::ExitCode;

use ipvs_core::ipvsadm::cmdline::{self, Command};
use ipvs_core::ipvsadm::list::{addr_port, sort_dests, sort_services};
use ipvs_core::ipvsadm::rules::{self, CommentMode};
use ipvs_core::ipvsadm::strerror::{message, Call};
use ipvs_core::ipvsadm::NumericResolver;
use ipvs_core::sched::Time;
use ipvs_core::sim::{Flow, Outcome, Simulator};
use ipvs_core::table::TableConfig;
use ipvs_core::{DestinationKey, Error, Operation, Scheduler, ServiceKey};

const USAGE: &str = "\
usage: schedsim --rules RULES --flows FLOWS [--summary] [--plot FILE.svg] [--seed N]

  --rules RULES    ipvsadm -S / -R text: the initial services and real servers
  --flows FLOWS    one event per line: `udp|tcp|sctp CLIENT:PORT VIP:PORT [mark=N]`,
                   or an ipvsadm command line starting with `-`; `#` starts a comment
  --summary        after the flow lines, a blank line and per-server counts
  --plot FILE.svg  write a bar chart of the flows per real server
  --seed N         seed of the random source (the twos scheduler), default 0

Prints one line per flow: the real server as `ipvsadm -Ln` shows it, or `-` for none.
Exit status: 0, or 2 for bad input (with FILE:LINE: message on standard error).";

/// Milliseconds between two events: flows sent quickly one after the other.
const STEP_MS: u64 = 1;

struct Args {
    rules: String,
    flows: String,
    summary: bool,
    plot: Option<String>,
    seed: u64,
}

fn parse_args() -> Result<Args, String> {
    let mut it = std::env::args().skip(1);
    let (mut rules, mut flows, mut summary, mut plot, mut seed) = (None, None, false, None, 0);
    while let Some(a) = it.next() {
        let (name, inline) = match a.split_once('=') {
            Some((n, v)) if n.starts_with("--") => (n.to_owned(), Some(v.to_owned())),
            _ => (a.clone(), None),
        };
        let mut value =
            |what: &str| inline.clone().or_else(|| it.next()).ok_or_else(|| format!("{what} needs a value"));
        match name.as_str() {
            "--rules" => rules = Some(value("--rules")?),
            "--flows" => flows = Some(value("--flows")?),
            "--plot" => plot = Some(value("--plot")?),
            "--seed" => {
                let v = value("--seed")?;
                seed = v.parse().map_err(|_| format!("--seed: `{v}` is not a number"))?;
            }
            "--summary" => summary = true,
            "-h" | "--help" => return Err(String::new()),
            _ => return Err(format!("unknown argument `{a}`")),
        }
    }
    match (rules, flows) {
        (Some(rules), Some(flows)) => Ok(Args { rules, flows, summary, plot, seed }),
        _ => Err("--rules and --flows are required".into()),
    }
}

/// One line of FLOWS.
enum Event {
    Flow(Flow),
    Command(Operation),
}

/// A bad line: `FILE:LINE: message`.
struct Bad(String);

fn bad(file: &str, line: usize, msg: impl std::fmt::Display) -> Bad {
    Bad(format!("{file}:{line}: {msg}"))
}

fn read(path: &str) -> Result<String, Bad> {
    std::fs::read_to_string(path).map_err(|e| Bad(format!("{path}: {e}")))
}

/// The events of a FLOWS file, with their line numbers.
fn parse_flows(file: &str, text: &str) -> Result<Vec<(usize, Event)>, Bad> {
    let mut out = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let line = i + 1;
        let body = raw.split('#').next().unwrap_or("").trim();
        if body.is_empty() {
            continue;
        }
        if body.starts_with('-') || body.split_whitespace().next() == Some("ipvsadm") {
            let words: Vec<String> =
                rules::tokenize(body.as_bytes()).into_iter().flat_map(|(_, w)| w).collect();
            let cmd = cmdline::parse(&words).map_err(|e| bad(file, line, e))?;
            match cmd.to_operation() {
                Some(op) => out.push((line, Event::Command(op))),
                None if matches!(cmd, Command::Help | Command::Version) => {
                    return Err(bad(file, line, "-h and -v are not table changes"))
                }
                None => {
                    return Err(bad(file, line, "not a table change (only commands that change the table)"))
                }
            }
        } else {
            let flow: Flow = body.parse().map_err(|e| bad(file, line, e))?;
            out.push((line, Event::Flow(flow)));
        }
    }
    Ok(out)
}

/// ipvsadm's message for a refused change.
fn refused(op: &Operation, e: &Error) -> String {
    match e.errno() {
        Some(errno) => message(Call::of(op), errno),
        None => e.to_string(),
    }
}

fn server(d: &DestinationKey) -> String {
    addr_port(&d.addr, d.port, None, true, &NumericResolver)
}

/// What the flow lines showed, per service (in first-seen order) and real server.
#[derive(Default)]
struct Counts {
    order: Vec<Option<ServiceKey>>,
    flows: HashMap<Option<ServiceKey>, Vec<(Option<DestinationKey>, u64)>>,
}

impl Counts {
    fn add(&mut self, svc: Option<ServiceKey>, dest: Option<DestinationKey>) {
        let row = self.flows.entry(svc).or_insert_with(|| {
            self.order.push(svc);
            Vec::new()
        });
        match row.iter_mut().find(|(d, _)| *d == dest) {
            Some((_, n)) => *n += 1,
            None => row.push((dest, 1)),
        }
    }
}

fn run(args: &Args, out: &mut impl Write) -> Result<(), Bad> {
    let rules_text = read(&args.rules)?;
    let flows_text = read(&args.flows)?;
    let ops = rules::operations(&rules_text, CommentMode::Restore, &cmdline::Parser::new())
        .map_err(|e| bad(&args.rules, e.line, &e.error))?;
    let events = parse_flows(&args.flows, &flows_text)?;

    let mut config = TableConfig::default();
    config.schedulers.push(Scheduler::Twos);
    let mut sim = Simulator::new(config, args.seed);
    for (line, op) in &ops {
        sim.apply(Time::ZERO, op).map_err(|e| bad(&args.rules, *line, refused(op, &e)))?;
    }
    let mut counts = Counts::default();
    let w = |e: std::io::Error| Bad(format!("writing the output: {e}"));
    for (i, (line, ev)) in events.iter().enumerate() {
        let now = Time::from_millis(STEP_MS * (i as u64 + 1));
        match ev {
            Event::Command(op) => {
                sim.apply(now, op).map_err(|e| bad(&args.flows, *line, refused(op, &e)))?;
            }
            Event::Flow(f) => {
                let svc = sim.table().lookup_service(f.fwmark, f.protocol, f.vip.ip(), f.vip.port());
                let outcome = sim.flow(&f.clone().at(now));
                let dest = match outcome {
                    Outcome::New { dest, .. } | Outcome::Existing { dest, .. } => Some(dest),
                    _ => None,
                };
                counts.add(svc, dest);
                writeln!(out, "{}", dest.as_ref().map_or_else(|| "-".to_owned(), server)).map_err(w)?;
            }
        }
    }
    if args.summary {
        write!(out, "\n{}", summary(&sim, &counts)).map_err(w)?;
    }
    if let Some(path) = &args.plot {
        std::fs::write(path, plot(&sim, &counts)).map_err(|e| Bad(format!("{path}: {e}")))?;
    }
    out.flush().map_err(w)
}

/// The service as the service line of `ipvsadm -Ln` starts.
fn service_title(sim: &Simulator, key: &ServiceKey) -> String {
    let mut s = match key {
        ServiceKey::Addr { protocol, addr, port } => {
            format!("{:<4} {}", protocol.name(), addr_port(addr, *port, None, true, &NumericResolver))
        }
        ServiceKey::Fwmark { mark, family } => {
            let v6 = if matches!(family, ipvs_core::AddressFamily::Inet6) { " IPv6" } else { "" };
            format!("FWM  {mark}{v6}")
        }
    };
    match sim.table().get_service(key) {
        Ok(st) => {
            let svc = &st.service;
            let _ = write!(s, " {}", svc.scheduler);
            let flags = svc.flags.sched_flags_arg(&svc.scheduler);
            if !flags.is_empty() {
                let _ = write!(s, " ({flags})");
            }
            if svc.is_persistent() {
                let _ = write!(s, " persistent {}", svc.timeout);
            }
        }
        Err(_) => s.push_str(" (deleted)"),
    }
    s
}

/// The services to report: the final table in ipvsadm's order, then services that had flows
/// but are gone, then flows that matched no service.
fn report_order(sim: &Simulator, counts: &Counts) -> Vec<Option<ServiceKey>> {
    let mut keys: Vec<ServiceKey> = sim.table().list_services().into_iter().map(|s| s.service.key).collect();
    sort_services(&mut keys, |k| *k);
    let mut order: Vec<Option<ServiceKey>> = keys.into_iter().map(Some).collect();
    for k in &counts.order {
        if k.is_some() && !order.contains(k) {
            order.push(*k);
        }
    }
    if counts.flows.contains_key(&None) {
        order.push(None);
    }
    order
}

/// One row of the report: a real server (or none), its flows and its counters now.
struct Row {
    dest: Option<DestinationKey>,
    flows: u64,
    counters: Option<(u32, u32, u32)>,
}

fn rows(sim: &Simulator, counts: &Counts, key: &Option<ServiceKey>) -> Vec<Row> {
    let seen = counts.flows.get(key).cloned().unwrap_or_default();
    let mut dests: Vec<DestinationKey> = match key {
        Some(k) => sim.distribution(k).iter().map(|d| d.dest.key()).collect(),
        None => Vec::new(),
    };
    for (d, _) in &seen {
        if let Some(d) = d {
            if !dests.contains(d) {
                dests.push(*d);
            }
        }
    }
    sort_dests(&mut dests, |d| *d);
    let dist = key.map(|k| sim.distribution(&k)).unwrap_or_default();
    let mut out: Vec<Row> = dests
        .into_iter()
        .map(|d| Row {
            dest: Some(d),
            flows: seen.iter().find(|(x, _)| *x == Some(d)).map_or(0, |(_, n)| *n),
            counters: dist
                .iter()
                .find(|s| s.dest.key() == d)
                .map(|s| (s.active_conns, s.inactive_conns, s.persist_conns)),
        })
        .collect();
    if let Some((_, n)) = seen.iter().find(|(d, _)| d.is_none()) {
        out.push(Row { dest: None, flows: *n, counters: None });
    }
    out
}

fn summary(sim: &Simulator, counts: &Counts) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "{:<46} {:>7} {:>7} {:>10} {:>10} {:>11}",
        "Service / -> RealServer", "Flows", "Share", "ActiveConn", "InActConn", "PersistConn"
    );
    for key in report_order(sim, counts) {
        let rows = rows(sim, counts, &key);
        let total: u64 = rows.iter().map(|r| r.flows).sum();
        let _ = match &key {
            Some(k) => writeln!(s, "{}", service_title(sim, k)),
            None => writeln!(s, "(no virtual service)"),
        };
        for r in rows {
            let name = match &r.dest {
                Some(d) => server(d),
                None => "- (no real server)".to_owned(),
            };
            let share = if total > 0 { 100.0 * r.flows as f64 / total as f64 } else { 0.0 };
            let _ = write!(s, "  -> {name:<41} {:>7} {:>6.1}%", r.flows, share);
            let _ = match (r.counters, &r.dest) {
                (Some((a, i, p)), _) => writeln!(s, " {a:>10} {i:>10} {p:>11}"),
                (None, Some(_)) => writeln!(s, "  (deleted)"),
                (None, None) => writeln!(s),
            };
        }
    }
    s
}

fn xml(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

/// A bar chart of the flows per real server, one colour per service.
fn plot(sim: &Simulator, counts: &Counts) -> String {
    const COLOURS: [&str; 6] = ["#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2", "#b07aa1"];
    let groups: Vec<(String, Vec<Row>)> = report_order(sim, counts)
        .into_iter()
        .map(|k| {
            let title = k.map_or_else(|| "(no virtual service)".to_owned(), |k| service_title(sim, &k));
            (title, rows(sim, counts, &k))
        })
        .filter(|(_, r)| !r.is_empty())
        .collect();
    let bars: usize = groups.iter().map(|(_, r)| r.len()).sum::<usize>().max(1);
    let most = groups.iter().flat_map(|(_, r)| r.iter().map(|x| x.flows)).max().unwrap_or(0).max(1);
    // A round tick step (1, 2 or 5 times a power of ten) giving at most five ticks.
    let mut step = 1u64;
    while most.div_ceil(step) > 5 {
        step = match step.to_string().as_bytes()[0] {
            b'1' => step * 2,
            b'2' => step / 2 * 5,
            _ => step * 2,
        };
    }
    let max = most.div_ceil(step) * step;
    let (left, top, bar_w, gap, group_gap, plot_h) = (70.0, 50.0, 44.0, 12.0, 36.0, 260.0);
    let width = left + bars as f64 * (bar_w + gap) + groups.len() as f64 * group_gap + 40.0;
    let legend_h = 22.0 * groups.len() as f64;
    let height = top + plot_h + 150.0 + legend_h;
    let mut s = String::new();
    let _ = writeln!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0}" height="{height:.0}" viewBox="0 0 {width:.0} {height:.0}" font-family="sans-serif" font-size="12">"#
    );
    let _ = writeln!(s, r#"<rect width="100%" height="100%" fill="white"/>"#);
    let _ = writeln!(s, r#"<text x="{left}" y="24" font-size="16">Flows per real server</text>"#);
    let base = top + plot_h;
    for v in (0..=max).step_by(step as usize) {
        let y = base - plot_h * v as f64 / max as f64;
        let _ = writeln!(
            s,
            r##"<line x1="{l:.1}" y1="{y:.1}" x2="{r:.1}" y2="{y:.1}" stroke="#ddd"/><text x="{tx:.1}" y="{ty:.1}" text-anchor="end">{v}</text>"##,
            l = left,
            r = width - 20.0,
            tx = left - 6.0,
            ty = y + 4.0
        );
    }
    let _ = writeln!(s, r#"<line x1="{left}" y1="{top}" x2="{left}" y2="{base}" stroke="black"/>"#);
    let mut x = left + gap;
    for (g, (title, rows)) in groups.iter().enumerate() {
        let colour = if rows.iter().all(|r| r.dest.is_none()) { "#999" } else { COLOURS[g % COLOURS.len()] };
        for r in rows {
            let h = plot_h * r.flows as f64 / max as f64;
            let label = r.dest.as_ref().map_or_else(|| "-".to_owned(), server);
            let fill = if r.dest.is_some() { colour } else { "#999" };
            let _ = writeln!(
                s,
                r#"<rect x="{x:.1}" y="{y:.1}" width="{bar_w}" height="{h:.1}" fill="{fill}"><title>{t}: {n}</title></rect>"#,
                y = base - h,
                t = xml(&label),
                n = r.flows
            );
            let _ = writeln!(
                s,
                r#"<text x="{cx:.1}" y="{ny:.1}" text-anchor="middle">{n}</text>"#,
                cx = x + bar_w / 2.0,
                ny = base - h - 4.0,
                n = r.flows
            );
            let _ = writeln!(
                s,
                r#"<text transform="translate({cx:.1},{ly:.1}) rotate(45)" font-size="11">{t}</text>"#,
                cx = x + bar_w / 2.0,
                ly = base + 14.0,
                t = xml(&label)
            );
            x += bar_w + gap;
        }
        x += group_gap;
        let ly = base + 140.0 + 22.0 * g as f64;
        let _ = writeln!(
            s,
            r#"<rect x="{left}" y="{y:.1}" width="14" height="14" fill="{colour}"/><text x="{tx}" y="{ty:.1}">{t}</text>"#,
            y = ly - 11.0,
            tx = left + 20.0,
            ty = ly,
            t = xml(title)
        );
    }
    let _ = writeln!(
        s,
        r#"<line x1="{left}" y1="{base}" x2="{r:.1}" y2="{base}" stroke="black"/>"#,
        r = width - 20.0
    );
    s.push_str("</svg>\n");
    s
}

fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) if e.is_empty() => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!("schedsim: {e}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let stdout = std::io::stdout();
    let mut out = BufWriter::new(stdout.lock());
    match run(&args, &mut out) {
        Ok(()) => ExitCode::SUCCESS,
        Err(Bad(msg)) => {
            let _ = out.flush();
            eprintln!("schedsim: {msg}");
            ExitCode::from(2)
        }
    }
}
