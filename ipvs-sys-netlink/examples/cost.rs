//! `cost`: the user-space work of `ipvsadm-rs -R`, `-Sn` and `--apply` on a large table, one
//! phase at a time, for `scripts/bench-callgrind` (which counts each phase's instructions with
//! valgrind's callgrind: repeatable on a noisy machine, where timings are not).
//!
//! ```text
//! cost PHASE [SERVICES [DESTS]]     PHASE: parse encode plan decode format (default 5000 x 4)
//! ```
//!
//! The rules are those of `scripts/bench` (`ipvsadm -Sn` text: mixed schedulers, NAT, direct
//! routing and tunnels, varied weights, some persistent services), generated here. Everything a
//! phase needs is prepared first; the phase itself is one call to a `phase_*` function, which
//! is all that callgrind counts (`--toggle-collect=*phase_<name>*`):
//!
//! * `parse`: the rules text into operations, as `ipvsadm-rs -R` reads standard input
//!   (`rules::restore_items`, then `Command::to_operation`);
//! * `encode`: the operations into the netlink requests the client sends (validation and
//!   the request's bytes, as `Client::apply_all` writes them);
//! * `plan`: the plan from the table to itself (what a no-op `ipvsadm-rs --apply` computes
//!   after reading the kernel);
//! * `decode`: the kernel's dump replies for the whole table (services with their statistics,
//!   real servers with theirs) into the model, as the client reads them;
//! * `format`: `ipvsadm -Sn` of the table: sorting and formatting every line, one string.
//!
//! It prints the phase's result size (so that nothing is optimised away) and the number of
//! rules lines.

use std::fmt::Write as _;
use std::hint::black_box;

use ipvs_core::ipvsadm::cmdline::Parser;
use ipvs_core::ipvsadm::list;
use ipvs_core::ipvsadm::rules::{restore_items, CommentMode, RestoreItem, RuleSet};
use ipvs_core::ipvsadm::NumericResolver;
use ipvs_core::{AddressFamily, DestinationStatus, Operation, ServiceStatus};
use ipvs_sys_netlink::client::encode::encode_operation;
use ipvs_sys_netlink::codec::{IpvsAttr, IpvsCmd, IpvsMessage, RequestHeader};
use ipvs_sys_netlink::convert;
use netlink_packet_core::{Emitable, NLM_F_ACK};

/// `gen_rules SERVICES DESTS 0` of `scripts/bench`, line for line.
fn rules(services: usize, dests: usize) -> String {
    const SCHED: [&str; 8] = ["wrr", "rr", "lc", "wlc", "sed", "nq", "wrr", "wlc"];
    const FWD: [&str; 3] = ["-m", "-g", "-i"];
    let vip = |i: usize| format!("10.{}.{}.{}", 1 + i / 62500, (i / 250) % 250, i % 250 + 1);
    let rip = |j: usize| format!("172.{}.{}.{}", 16 + j / 62500, (j / 250) % 250, j % 250 + 1);
    let mut out = String::new();
    for i in 0..services {
        let port = if i % 4 == 0 { 443 } else { 80 };
        let _ = write!(out, "-A -t {}:{port} -s {}", vip(i), SCHED[i % SCHED.len()]);
        if i % 10 == 9 {
            out.push_str(" -p 300");
        }
        out.push('\n');
        let f = FWD[i % 3];
        for k in 0..dests {
            let j = i * (dests + 1) + k;
            let w = (i * 7 + k * 13) % 20;
            let rport = if f == "-m" { 8000 + k } else { port };
            let _ = write!(out, "-a -t {}:{port} -r {}:{rport} {f} -w {w}", vip(i), rip(j));
            if f == "-i" {
                out.push_str(" --tun-type ipip");
            }
            out.push('\n');
        }
    }
    out
}

#[inline(never)]
fn phase_parse(text: &str) -> Vec<Operation> {
    let parser = Parser::new();
    let mut ops = Vec::new();
    for item in restore_items(text, CommentMode::Ipvsadm, &parser) {
        if let RestoreItem::Line(line) = item {
            if let Some(op) = line.command.to_operation() {
                ops.push(op);
            }
        }
    }
    ops
}

#[inline(never)]
fn phase_encode(ops: &[Operation]) -> usize {
    let mut tx = Vec::new();
    let mut bytes = 0;
    for (seq, chunk) in (1u32..).zip(ops.chunks(256)) {
        tx.clear();
        for op in chunk {
            if op.validate().is_err() {
                continue;
            }
            let header = RequestHeader { family_id: 0x23, flags: NLM_F_ACK, sequence: seq, port: 0 };
            let _ = encode_operation(&mut tx, op, header);
        }
        bytes += black_box(&tx).len();
    }
    bytes
}

#[inline(never)]
fn phase_plan(table: &[(ServiceStatus, Vec<DestinationStatus>)], desired: &RuleSet) -> usize {
    ipvs_core::plan::plan(table, &desired.services).map_or(usize::MAX, |p| p.len())
}

/// A generic-netlink payload (genl header, then the attributes), as the kernel sends it.
fn genl_payload(cmd: IpvsCmd, attrs: Vec<IpvsAttr>) -> Vec<u8> {
    let m = IpvsMessage::new(cmd, attrs);
    let mut b = vec![0; 4 + m.buffer_len()];
    b[0] = cmd.into();
    b[1] = 1;
    m.emit(&mut b[4..]);
    b
}

type Replies = Vec<(Vec<u8>, AddressFamily, Vec<Vec<u8>>)>;

#[inline(never)]
fn phase_decode(replies: &Replies) -> usize {
    let mut n = 0;
    for (svc, family, dests) in replies {
        let s = convert::service_status_from_genl(svc);
        let d: Vec<_> =
            dests.iter().filter_map(|m| convert::dest_status_from_genl(m, *family).ok()).collect();
        n += usize::from(s.is_ok()) + black_box(d).len();
    }
    n
}

#[inline(never)]
fn phase_format(table: &[(ServiceStatus, Vec<DestinationStatus>)]) -> usize {
    list::save(table, true, &NumericResolver).len()
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let usage = "usage: cost parse|encode|plan|decode|format [SERVICES [DESTS]]";
    let phase = args.first().map(String::as_str).unwrap_or("");
    let services = args.get(1).and_then(|s| s.parse().ok()).unwrap_or(5000);
    let dests = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(4);
    let text = rules(services, dests);
    let lines = text.lines().count();
    let result = match phase {
        "parse" => phase_parse(&text).len(),
        "encode" => phase_encode(&phase_parse(&text)),
        "plan" | "decode" | "format" => {
            let set = match RuleSet::from_text(&text) {
                Ok(set) => set,
                Err(e) => {
                    eprintln!("cost: the rules do not parse: {e}");
                    std::process::exit(2);
                }
            };
            let table = set.to_statuses();
            match phase {
                "plan" => phase_plan(&table, &set),
                "format" => phase_format(&table),
                _ => {
                    let replies: Replies = table
                        .iter()
                        .map(|(s, ds)| {
                            let svc = genl_payload(
                                IpvsCmd::NewService,
                                vec![IpvsAttr::Service(convert::service_reply_attrs(s))],
                            );
                            let dests = ds
                                .iter()
                                .map(|d| {
                                    genl_payload(
                                        IpvsCmd::NewDest,
                                        vec![IpvsAttr::Dest(convert::dest_reply_attrs(d))],
                                    )
                                })
                                .collect();
                            (svc, s.service.key.family(), dests)
                        })
                        .collect();
                    phase_decode(&replies)
                }
            }
        }
        _ => {
            eprintln!("{usage}");
            std::process::exit(2);
        }
    };
    println!("cost {phase}: {lines} rules lines, result {result}");
}
