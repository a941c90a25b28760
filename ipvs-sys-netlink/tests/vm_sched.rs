//! The reference schedulers and simulator (`ipvs_core::sched`, `ipvs_core::sim`) against the
//! real kernel, flow by flow (`#[ignore]`d: `scripts/test` runs them inside
//! `scripts/ipvs-vm` with `--run-ignored only`).
//!
//! Every scenario runs in a network namespace of its own (the director), with a veth pair the
//! test writes client frames into: every UDP datagram and TCP SYN/ACK goes through the
//! kernel's real receive path to a local virtual address, where IPVS schedules it. After every
//! packet the kernel's whole connection table (`/proc/thread-self/net/ip_vs_conn`: entries and
//! persistence templates) must equal the simulator's, and at the end every real server's
//! ActiveConn/InActConn/PersistConn must too. Configuration changes between flows go to the
//! kernel through Debian's `ipvsadm` and to the simulator at the same point. See
//! `tests/common/flows.rs` for the mechanics.
//!
//! * `random_<scheduler>`: seeded pseudo-random scenarios for each of the 13 schedulers the
//!   VM kernel has (weights including 0, thresholds, sh/mh flags, persistence with netmasks,
//!   fwmark services, IPv6, TCP and UDP, repeated clients, clients closing TCP connections
//!   with a FIN, and weight edits, quiescing, deletions, re-adds from the trash, threshold and
//!   service edits, and refused commands between flows). `IPVS_SCHED_SEEDS=N` (or `A-B`)
//!   runs more seeds.
//! * hand-written scenarios for the behaviours each scheduler is known for.
//! * `table_ops_*`: random table operations through `ipvs_sys_netlink::Client` and through
//!   `MemoryBackend`: same results, same final table.
//! * `schedsim_scenarios`: the files under `examples/scenarios/` through `schedsim` and
//!   through the kernel.
//!
//! twos is not built in Debian's kernel (`# CONFIG_IP_VS_TWOS is not set`) and is random
//! anyway; its distribution is checked statistically on the host (`examples/tests/schedsim.rs`).
//!
//! Not covered here: SCTP (an association needs the server's INIT-ACK and a cookie exchange;
//! the simulator only approximates SCTP), one-packet scheduling (`-o`: the connection is gone
//! before it can be read), and time-driven behaviour (expiry of connections, templates and
//! lblc/lblcr entries: every scenario finishes long before the shortest timeout).
#![allow(clippy::unwrap_used)]

mod common;
#[path = "common/flows.rs"]
mod flows;

use std::fmt::Write as _;

use flows::Scenario;
use ipvs_core::sched::SplitMix64;

// ---------------------------------------------------------------------------------------------
// Random scenarios.

struct Rng(SplitMix64);

impl Rng {
    fn new(seed: u64) -> Self {
        Rng(SplitMix64::new(seed))
    }
    fn below(&mut self, n: u64) -> u64 {
        self.0.next_u64() % n.max(1)
    }
    fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.below(hi - lo + 1)
    }
    fn chance(&mut self, pct: u64) -> bool {
        self.below(100) < pct
    }
    fn pick<'a, T>(&mut self, v: &'a [T]) -> &'a T {
        &v[self.below(v.len() as u64) as usize]
    }
}

#[derive(Clone)]
struct DestCfg {
    addr: String,
    port: u16,
    fwd: &'static str,
    weight: u32,
    upper: u32,
    lower: u32,
}

impl DestCfg {
    /// `-r ADDR:PORT -m -w W [-x U] [-y L]`.
    fn spec(&self, v6: bool) -> String {
        let a = if v6 { format!("[{}]", self.addr) } else { self.addr.clone() };
        let mut s = format!("-r {a}:{} {} -w {}", self.port, self.fwd, self.weight);
        if self.upper > 0 {
            let _ = write!(s, " -x {}", self.upper);
        }
        if self.lower > 0 {
            let _ = write!(s, " -y {}", self.lower);
        }
        s
    }
    fn key(&self, v6: bool) -> String {
        if v6 {
            format!("-r [{}]:{}", self.addr, self.port)
        } else {
            format!("-r {}:{}", self.addr, self.port)
        }
    }
}

struct SvcCfg {
    /// `-u 10.0.0.5:53`, `-f 12`, `-f 12 -6`.
    key: String,
    v6: bool,
    fwmark: u32,
    proto: Option<&'static str>,
    vip: String,
    port: u16,
    sched: &'static str,
    flags: Vec<&'static str>,
    persistent: Option<(u32, String)>,
    dests: Vec<DestCfg>,
    deleted: Vec<DestCfg>,
    next_dest: u32,
    index: u32,
}

impl SvcCfg {
    fn spec(&self) -> String {
        let mut s = format!("{} -s {}", self.key, self.sched);
        if !self.flags.is_empty() {
            let _ = write!(s, " -b {}", self.flags.join(","));
        }
        if let Some((t, m)) = &self.persistent {
            let _ = write!(s, " -p {t} -M {m}");
        }
        s
    }

    fn new_dest(&mut self, rng: &mut Rng) -> DestCfg {
        self.next_dest += 1;
        let n = self.next_dest + 9;
        let addr = if self.v6 {
            format!("2001:db8:{}::{n:x}", self.index)
        } else {
            format!("192.168.{}.{n}", self.index)
        };
        let fwd = if rng.chance(70) { "-m" } else { "-g" };
        // ipvsadm gives direct-routing real servers the service's port.
        let port =
            if fwd == "-m" && self.fwmark == 0 && rng.chance(30) { 8000 + n as u16 } else { self.port };
        let wmax = if self.sched == "wrr" { 8 } else { 5 };
        let weight = match rng.below(100) {
            0..=14 => 0,
            15..=19 => rng.range(10, 120) as u32,
            _ => rng.range(1, wmax) as u32,
        };
        let (upper, lower) = thresholds(rng);
        DestCfg { addr, port, fwd, weight, upper, lower }
    }
}

fn thresholds(rng: &mut Rng) -> (u32, u32) {
    if rng.chance(25) {
        let u = rng.range(2, 7) as u32;
        let l = if rng.chance(50) { rng.range(1, u64::from(u) - 1) as u32 } else { 0 };
        (u, l)
    } else {
        (0, 0)
    }
}

/// Schedulers whose choice depends on active (TCP) connections.
fn counts_active(sched: &str) -> bool {
    matches!(sched, "lc" | "wlc" | "sed" | "nq" | "ovf" | "lblc" | "lblcr")
}

fn gen_service(rng: &mut Rng, sched: &'static str, index: u32, used_marks: &mut Vec<u32>) -> SvcCfg {
    let v6 = rng.chance(30);
    let by_dest_addr = matches!(sched, "dh" | "lblc" | "lblcr");
    let fwmark = if rng.chance(if by_dest_addr { 70 } else { 20 }) {
        let mut m = rng.range(1, 200) as u32;
        while used_marks.contains(&m) {
            m += 1;
        }
        used_marks.push(m);
        m
    } else {
        0
    };
    let proto =
        (fwmark == 0)
            .then(|| if rng.chance(if counts_active(sched) { 60 } else { 40 }) { "-t" } else { "-u" });
    let port = *rng.pick(&[53u16, 80, 443, 8080]);
    let vip = if v6 { format!("fd00:1::{}", index) } else { format!("10.0.0.{}", index) };
    let key = match (fwmark, proto) {
        (0, Some(p)) if v6 => format!("{p} [{vip}]:{port}"),
        (0, Some(p)) => format!("{p} {vip}:{port}"),
        (m, _) if v6 => format!("-f {m} -6"),
        (m, _) => format!("-f {m}"),
    };
    let mut flags = Vec::new();
    if sched == "sh" || sched == "mh" {
        for f in ["fallback", "port"] {
            if rng.chance(50) {
                flags.push(if sched == "sh" {
                    if f == "fallback" {
                        "sh-fallback"
                    } else {
                        "sh-port"
                    }
                } else if f == "fallback" {
                    "mh-fallback"
                } else {
                    "mh-port"
                });
            }
        }
    }
    let persistent = rng.chance(25).then(|| {
        let mask = if v6 {
            rng.pick(&["128", "64", "48"]).to_string()
        } else {
            rng.pick(&["255.255.255.255", "255.255.255.0", "255.255.0.0"]).to_string()
        };
        (600, mask)
    });
    let mut svc = SvcCfg {
        key,
        v6,
        fwmark,
        proto,
        vip,
        port: if fwmark != 0 { 0 } else { port },
        sched,
        flags,
        persistent,
        dests: Vec::new(),
        deleted: Vec::new(),
        next_dest: 0,
        index,
    };
    let n = rng.range(2, 6);
    for _ in 0..n {
        let d = svc.new_dest(rng);
        svc.dests.push(d);
    }
    svc
}

/// A client address from a small pool: a few /24s (or /64s), so that persistence netmasks
/// group clients and hashing schedulers see repeats.
fn client_addr(rng: &mut Rng, v6: bool, pool: u64) -> String {
    let n = rng.below(pool);
    if v6 {
        format!("[fc00:{}::{:x}]", n % 3, 1 + n * 7919 % 4093)
    } else {
        format!("100.64.{}.{}", n % 3, 1 + (n * 37) % 250)
    }
}

fn gen_flow(rng: &mut Rng, svc: &SvcCfg, pool: u64) -> String {
    let client = format!("{}:{}", client_addr(rng, svc.v6, pool), rng.range(1024, 65000));
    if svc.fwmark != 0 {
        let proto = if rng.chance(if counts_active(svc.sched) { 60 } else { 40 }) { "tcp" } else { "udp" };
        let vip = if svc.v6 {
            format!("[fd00:1::{:x}]", 0x100 + rng.below(40))
        } else {
            format!("10.0.0.{}", 128 + rng.below(40))
        };
        let port = rng.pick(&[53, 80, 443, 8080]);
        format!("{proto} {client} {vip}:{port} mark={}", svc.fwmark)
    } else {
        let proto = if svc.proto == Some("-t") { "tcp" } else { "udp" };
        let vip = if svc.v6 { format!("[{}]", svc.vip) } else { svc.vip.clone() };
        // Now and then a port no service has: not for IPVS.
        let port = if rng.chance(3) { 9999 } else { svc.port };
        format!("{proto} {client} {vip}:{port}")
    }
}

/// A configuration change between flows (or a command the kernel refuses).
fn gen_change(rng: &mut Rng, svc: &mut SvcCfg) -> String {
    let v6 = svc.v6;
    let roll = rng.below(100);
    if roll < 35 && !svc.dests.is_empty() {
        let i = rng.below(svc.dests.len() as u64) as usize;
        let wmax = if svc.sched == "wrr" { 8 } else { 5 };
        svc.dests[i].weight = if rng.chance(30) { 0 } else { rng.range(1, wmax) as u32 };
        return format!("-e {} {}", svc.key, svc.dests[i].spec(v6));
    }
    if roll < 50 && !svc.dests.is_empty() {
        let i = rng.below(svc.dests.len() as u64) as usize;
        let d = svc.dests.remove(i);
        let cmd = format!("-d {} {}", svc.key, d.key(v6));
        svc.deleted.push(d);
        return cmd;
    }
    if roll < 70 {
        let d = if !svc.deleted.is_empty() && rng.chance(50) {
            // Back from the trash (the kernel revives the same dest object).
            let i = rng.below(svc.deleted.len() as u64) as usize;
            svc.deleted.remove(i)
        } else {
            svc.new_dest(rng)
        };
        svc.dests.insert(0, d.clone());
        return format!("-a {} {}", svc.key, d.spec(v6));
    }
    if roll < 80 && !svc.dests.is_empty() {
        let i = rng.below(svc.dests.len() as u64) as usize;
        let (u, l) = thresholds(rng);
        svc.dests[i].upper = u;
        svc.dests[i].lower = l;
        return format!("-e {} {}", svc.key, svc.dests[i].spec(v6));
    }
    if roll < 90 {
        // Edit the service: same scheduler, other flags or persistence.
        if svc.sched == "sh" || svc.sched == "mh" {
            let f = if svc.sched == "sh" { ["sh-fallback", "sh-port"] } else { ["mh-fallback", "mh-port"] };
            let pick = *rng.pick(&f);
            if let Some(i) = svc.flags.iter().position(|x| *x == pick) {
                svc.flags.remove(i);
            } else {
                svc.flags.push(pick);
            }
        } else if let Some((t, _)) = svc.persistent.as_mut() {
            *t += 60;
        }
        return format!("-E {}", svc.spec());
    }
    // Refused: a real server that exists, or one that does not.
    if rng.chance(50) && !svc.dests.is_empty() {
        let d = svc.dests[0].clone();
        format!("-a {} {}", svc.key, d.spec(v6))
    } else {
        format!("-d {} -r 192.168.250.250:1", svc.key)
    }
}

fn random_scenario(sched: &'static str, seed: u64) -> Scenario {
    let name_hash =
        sched.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3));
    let mut rng = Rng::new(seed ^ name_hash);
    let mut marks = Vec::new();
    let nsvc = if rng.chance(30) { 2 } else { 1 };
    let mut svcs: Vec<SvcCfg> = (0..nsvc).map(|i| gen_service(&mut rng, sched, i + 1, &mut marks)).collect();
    let mut sc = Scenario::new(format!("random {sched} seed {seed}"));
    for s in &svcs {
        sc.cmd(&format!("-A {}", s.spec()));
        // Added in order: the list ends up newest first, as the kernel keeps it.
        for d in s.dests.iter().rev() {
            sc.cmd(&format!("-a {} {}", s.key, d.spec(s.v6)));
        }
    }
    // The generator's lists are newest first, like the kernel's.
    let pool = rng.range(4, 40);
    let nflows = rng.range(40, 70);
    let mut flows: Vec<String> = Vec::new();
    for _ in 0..nflows {
        if rng.chance(12) {
            let i = rng.below(svcs.len() as u64) as usize;
            let c = gen_change(&mut rng, &mut svcs[i]);
            sc.cmd(&c);
        }
        // Now and then a client closes one of its TCP connections (which then counts as
        // inactive); a later SYN from the same port meets the closing connection.
        if rng.chance(8) {
            let tcp: Vec<&String> = flows.iter().filter(|l| l.starts_with("tcp")).collect();
            if !tcp.is_empty() {
                let l = tcp[rng.below(tcp.len() as u64) as usize];
                sc.steps.push(flows::Step::Fin(l.parse().unwrap()));
            }
        }
        let line = if !flows.is_empty() && rng.chance(10) {
            rng.pick(&flows).clone()
        } else {
            let i = rng.below(svcs.len() as u64) as usize;
            gen_flow(&mut rng, &svcs[i], pool)
        };
        sc.flow(&line);
        flows.push(line);
    }
    sc
}

/// The seeds of the random scenarios: 1, 2, 3, or what `IPVS_SCHED_SEEDS` says (`N` for 1 to
/// N, `A-B` for A to B), for longer hunts.
fn seeds() -> Vec<u64> {
    let v = std::env::var("IPVS_SCHED_SEEDS").unwrap_or_default();
    match v.split_once('-') {
        Some((a, b)) => (a.parse().unwrap()..=b.parse().unwrap()).collect(),
        None if !v.is_empty() => (1..=v.parse().unwrap()).collect(),
        None => vec![1, 2, 3],
    }
}

macro_rules! random_tests {
    ($($name:ident => $sched:literal),* $(,)?) => {$(
        #[test]
        #[ignore = "needs a kernel with IPVS: scripts/test runs it in the VM"]
        fn $name() {
            flows::require_kernel();
            flows::run_all(seeds().into_iter().map(|s| random_scenario($sched, s)).collect());
        }
    )*};
}

random_tests! {
    random_rr => "rr",
    random_wrr => "wrr",
    random_lc => "lc",
    random_wlc => "wlc",
    random_sed => "sed",
    random_nq => "nq",
    random_fo => "fo",
    random_ovf => "ovf",
    random_dh => "dh",
    random_sh => "sh",
    random_mh => "mh",
    random_lblc => "lblc",
    random_lblcr => "lblcr",
}

// ---------------------------------------------------------------------------------------------
// Hand-written scenarios.

/// `n` flows from distinct clients (`100.64.P.x:port`, or `[fc00:P::x]`) to `vip`.
fn many(sc: &mut Scenario, proto: &str, vip: &str, n: u32, tag: u32) {
    for i in 0..n {
        let client = if vip.starts_with('[') {
            format!("[fc00:{tag}::{:x}]:{}", i + 1, 10_000 + i)
        } else {
            format!("100.{}.{}.{}:{}", 64 + tag / 256, tag % 256, i % 250 + 1, 10_000 + i)
        };
        sc.flow(&format!("{proto} {client} {vip}"));
    }
}

fn wrr_weights_and_edits() -> Scenario {
    let mut sc = Scenario::new("wrr: weights 4 3 2 0, edits, add, delete");
    let k = "-u 10.0.0.2:53";
    sc.cmd(&format!("-A {k} -s wrr"));
    for (i, w) in [4, 3, 2, 0].iter().enumerate() {
        sc.cmd(&format!("-a {k} -r 192.168.2.{}:53 -m -w {w}", 10 + i));
    }
    many(&mut sc, "udp", "10.0.0.2:53", 20, 1);
    sc.cmd(&format!("-e {k} -r 192.168.2.11:53 -m -w 6"));
    many(&mut sc, "udp", "10.0.0.2:53", 15, 2);
    sc.cmd(&format!("-a {k} -r 192.168.2.14:53 -m -w 1"));
    sc.cmd(&format!("-d {k} -r 192.168.2.10:53"));
    many(&mut sc, "udp", "10.0.0.2:53", 15, 3);
    sc.cmd(&format!("-e {k} -r 192.168.2.13:53 -m -w 2"));
    sc.cmd(&format!("-e {k} -r 192.168.2.12:53 -m -w 0"));
    many(&mut sc, "udp", "10.0.0.2:53", 12, 4);
    sc
}

fn rr_quiesce_delete_readd() -> Scenario {
    let mut sc = Scenario::new("rr: quiesce, delete, re-add from the trash, scheduler changes");
    let k = "-t 10.0.0.3:80";
    sc.cmd(&format!("-A {k} -s rr"));
    for i in 0..4 {
        sc.cmd(&format!("-a {k} -r 192.168.3.{}:80 -m", 10 + i));
    }
    many(&mut sc, "tcp", "10.0.0.3:80", 9, 1);
    sc.cmd(&format!("-e {k} -r 192.168.3.11:80 -m -w 0"));
    many(&mut sc, "tcp", "10.0.0.3:80", 7, 2);
    sc.cmd(&format!("-d {k} -r 192.168.3.12:80"));
    // Old connections to the deleted server: their packets are dropped.
    sc.flow("tcp 100.64.1.2:10001 10.0.0.3:80");
    many(&mut sc, "tcp", "10.0.0.3:80", 5, 3);
    sc.cmd(&format!("-a {k} -r 192.168.3.12:80 -m -w 2"));
    sc.flow("tcp 100.64.1.2:10001 10.0.0.3:80");
    many(&mut sc, "tcp", "10.0.0.3:80", 7, 4);
    sc.cmd(&format!("-E {k} -s wrr"));
    many(&mut sc, "tcp", "10.0.0.3:80", 7, 5);
    sc.cmd(&format!("-E {k} -s rr"));
    sc.cmd(&format!("-e {k} -r 192.168.3.11:80 -m -w 1"));
    many(&mut sc, "tcp", "10.0.0.3:80", 7, 6);
    sc
}

fn least_connections(sched: &str) -> Scenario {
    let mut sc = Scenario::new(format!("{sched}: TCP (active) and UDP (inactive) on the same servers"));
    let (t, u) = ("-t 10.0.0.4:80", "-u 10.0.0.4:80");
    for k in [t, u] {
        sc.cmd(&format!("-A {k} -s {sched}"));
        for (i, w) in [1, 2, 3, 0].iter().enumerate() {
            sc.cmd(&format!("-a {k} -r 192.168.4.{}:80 -m -w {w}", 10 + i));
        }
    }
    many(&mut sc, "tcp", "10.0.0.4:80", 14, 1);
    many(&mut sc, "udp", "10.0.0.4:80", 14, 2);
    sc.cmd(&format!("-e {t} -r 192.168.4.13:80 -m -w 4"));
    many(&mut sc, "tcp", "10.0.0.4:80", 10, 3);
    sc.cmd(&format!("-e {t} -r 192.168.4.12:80 -m -w 0"));
    sc.cmd(&format!("-e {u} -r 192.168.4.10:80 -m -w 5"));
    many(&mut sc, "tcp", "10.0.0.4:80", 8, 4);
    many(&mut sc, "udp", "10.0.0.4:80", 8, 5);
    // Clients close half of the first connections (CLOSE_WAIT: inactive, still counted), so
    // the active/inactive split changes; then two of them open again from the same port (a
    // SYN on a closing connection makes it active again, on the same server).
    for i in (0..14).step_by(2) {
        let f = format!("tcp 100.64.1.{}:{} 10.0.0.4:80", i % 250 + 1, 10_000 + i);
        sc.steps.push(flows::Step::Fin(f.parse().unwrap()));
    }
    many(&mut sc, "tcp", "10.0.0.4:80", 10, 6);
    sc.flow("tcp 100.64.1.1:10000 10.0.0.4:80");
    sc.flow("tcp 100.64.1.3:10002 10.0.0.4:80");
    many(&mut sc, "tcp", "10.0.0.4:80", 6, 7);
    sc
}

fn threshold_scenario(sched: &str) -> Scenario {
    let mut sc = Scenario::new(format!("{sched}: upper and lower thresholds, overload hysteresis"));
    let k = "-u 10.0.0.5:53";
    sc.cmd(&format!("-A {k} -s {sched}"));
    sc.cmd(&format!("-a {k} -r 192.168.5.10:53 -m -w 1"));
    sc.cmd(&format!("-a {k} -r 192.168.5.11:53 -m -w 2 -x 2"));
    sc.cmd(&format!("-a {k} -r 192.168.5.12:53 -m -w 3 -x 3 -y 1"));
    many(&mut sc, "udp", "10.0.0.5:53", 8, 1);
    sc.cmd(&format!("-e {k} -r 192.168.5.10:53 -m -w 1 -x 2"));
    many(&mut sc, "udp", "10.0.0.5:53", 4, 2);
    // Raising a threshold clears the overload bit at once when the count is below it.
    sc.cmd(&format!("-e {k} -r 192.168.5.12:53 -m -w 3 -x 6 -y 4"));
    many(&mut sc, "udp", "10.0.0.5:53", 6, 3);
    sc.cmd(&format!("-e {k} -r 192.168.5.11:53 -m -w 2"));
    many(&mut sc, "udp", "10.0.0.5:53", 6, 4);
    sc
}

fn hashing(sched: &str, v6: bool) -> Scenario {
    let fam = if v6 { "IPv6" } else { "IPv4" };
    let mut sc = Scenario::new(format!("{sched} ({fam}): fallback and port flags, weight 0, overload"));
    let (vip, rs) = if v6 { ("[fd00:1::6]:443", "[2001:db8:6::1") } else { ("10.0.0.6:443", "192.168.6.1") };
    let k = format!("-t {vip}");
    let sep = if v6 { "]" } else { "" };
    sc.cmd(&format!("-A {k} -s {sched}"));
    for (i, (w, x)) in [(1, 0), (2, 0), (0, 0), (1, 2), (3, 0)].iter().enumerate() {
        let x = if *x > 0 { format!(" -x {x}") } else { String::new() };
        sc.cmd(&format!("-a {k} -r {rs}{i}{sep}:443 -m -w {w}{x}"));
    }
    let client = |n: u32, port: u32| {
        if v6 {
            format!("[fc00:6::{:x}]:{port}", n)
        } else {
            format!("100.64.6.{n}:{port}")
        }
    };
    let round = |sc: &mut Scenario, base: u32| {
        for n in 1..=16 {
            for p in 0..2 {
                sc.flow(&format!("tcp {} {vip}", client(n, base + p)));
            }
        }
    };
    round(&mut sc, 20_000);
    let (fb, port) = if sched == "sh" { ("sh-fallback", "sh-port") } else { ("mh-fallback", "mh-port") };
    sc.cmd(&format!("-E {k} -s {sched} -b {fb}"));
    round(&mut sc, 21_000);
    sc.cmd(&format!("-E {k} -s {sched} -b {fb},{port}"));
    round(&mut sc, 22_000);
    sc.cmd(&format!("-e {k} -r {rs}2{sep}:443 -m -w 4"));
    sc.cmd(&format!("-d {k} -r {rs}1{sep}:443"));
    round(&mut sc, 23_000);
    sc
}

fn by_destination() -> Scenario {
    let mut sc = Scenario::new("dh, lblc, lblcr: firewall marks set by nftables on VIP ranges (IPv4, IPv6)");
    sc.marks_by_dscp = false;
    sc.vip_marks = vec![
        ("10.0.0.128/27".into(), 1),
        ("10.0.0.160/27".into(), 2),
        ("10.0.0.192/27".into(), 3),
        ("fd00:1::100/120".into(), 4),
    ];
    let specs = [("-f 1", "dh", "192.168.8"), ("-f 2", "lblc", "192.168.9"), ("-f 3", "lblcr", "192.168.10")];
    for (k, s, net) in specs {
        sc.cmd(&format!("-A {k} -s {s}"));
        for (i, (w, x)) in [(1, 3), (2, 3), (1, 0), (0, 0)].iter().enumerate() {
            let x = if *x > 0 { format!(" -x {x}") } else { String::new() };
            sc.cmd(&format!("-a {k} -r {net}.{}:0 -g -w {w}{x}", 10 + i));
        }
    }
    sc.cmd("-A -f 4 -6 -s lblcr");
    for (i, w) in [2, 1, 1].iter().enumerate() {
        sc.cmd(&format!("-a -f 4 -6 -r [2001:db8:4::{}]:0 -g -w {w} -x 4", 10 + i));
    }
    // Many clients to a few cache addresses of each range.
    for n in 0..30u32 {
        // The mark in the flow is for the reference; the kernel gets it from the rules above.
        for (base, tag) in [(128u32, 1u32), (160, 2), (192, 3)] {
            let vip = base + n % 4;
            sc.flow(&format!("tcp 100.64.{tag}.{}:{} 10.0.0.{vip}:80 mark={tag}", n + 1, 30_000 + n));
        }
        sc.flow(&format!("tcp [fc00:4::{:x}]:{} [fd00:1::{:x}]:80 mark=4", n + 1, 30_000 + n, 0x100 + n % 3));
        if n == 15 {
            sc.cmd("-e -f 2 -r 192.168.9.12:0 -g -w 1 -x 1");
            sc.cmd("-e -f 3 -r 192.168.10.13:0 -g -w 2");
            sc.cmd("-d -f 1 -r 192.168.8.10:0");
        }
    }
    sc
}

fn persistence() -> Scenario {
    let mut sc = Scenario::new("persistence: netmasks, fwmark and port-zero templates, quiesce, delete");
    sc.cmd("-A -u 10.0.0.7:53 -s rr -p 600 -M 255.255.255.0");
    sc.cmd("-A -f 9 -s wlc -p 600");
    sc.cmd("-A -t 10.0.0.8:0 -s rr -p 600 -M 255.255.0.0");
    sc.cmd("-A -t [fd00:1::7]:80 -s rr -p 600 -M 64");
    for i in 0..3 {
        sc.cmd(&format!("-a -u 10.0.0.7:53 -r 192.168.7.{}:53 -m", 10 + i));
        sc.cmd(&format!("-a -f 9 -r 192.168.17.{}:0 -g", 10 + i));
        sc.cmd(&format!("-a -t 10.0.0.8:0 -r 192.168.18.{}:0 -g", 10 + i));
        sc.cmd(&format!("-a -t [fd00:1::7]:80 -r [2001:db8:7::{}]:80 -m", 10 + i));
    }
    let round = |sc: &mut Scenario, base: u32| {
        for n in 0..12u32 {
            let net = n % 4;
            let host = 1 + n * 7;
            sc.flow(&format!("udp 100.64.{net}.{host}:{} 10.0.0.7:53", base + n));
            sc.flow(&format!(
                "tcp 100.{}.{net}.{host}:{} 10.0.0.{}:{} mark=9",
                64 + n % 2,
                base + n,
                100 + n % 5,
                [80, 443][n as usize % 2]
            ));
            sc.flow(&format!(
                "tcp 100.{}.1.{host}:{} 10.0.0.8:{}",
                64 + net,
                base + n,
                [22, 80, 8443][n as usize % 3]
            ));
            sc.flow(&format!("tcp [fc00:{net}::{host:x}]:{} [fd00:1::7]:80", base + n));
        }
    };
    round(&mut sc, 40_000);
    sc.cmd("-e -u 10.0.0.7:53 -r 192.168.7.11:53 -m -w 0");
    sc.cmd("-e -f 9 -r 192.168.17.10:0 -g -w 0");
    round(&mut sc, 41_000);
    sc.cmd("-d -u 10.0.0.7:53 -r 192.168.7.10:53");
    sc.cmd("-d -t 10.0.0.8:0 -r 192.168.18.11:0");
    sc.cmd("-d -t [fd00:1::7]:80 -r [2001:db8:7::b]:80");
    round(&mut sc, 42_000);
    sc.cmd("-a -u 10.0.0.7:53 -r 192.168.7.10:53 -m");
    round(&mut sc, 43_000);
    sc
}

#[test]
#[ignore = "needs a kernel with IPVS: scripts/test runs it in the VM"]
fn handwritten_rr_wrr() {
    flows::require_kernel();
    flows::run_all(vec![wrr_weights_and_edits(), rr_quiesce_delete_readd()]);
}

#[test]
#[ignore = "needs a kernel with IPVS: scripts/test runs it in the VM"]
fn handwritten_least_connections() {
    flows::require_kernel();
    flows::run_all(["lc", "wlc", "sed", "nq"].iter().map(|s| least_connections(s)).collect());
}

#[test]
#[ignore = "needs a kernel with IPVS: scripts/test runs it in the VM"]
fn handwritten_thresholds() {
    flows::require_kernel();
    flows::run_all(["ovf", "fo", "wlc", "rr"].iter().map(|s| threshold_scenario(s)).collect());
}

#[test]
#[ignore = "needs a kernel with IPVS: scripts/test runs it in the VM"]
fn handwritten_sh_mh() {
    flows::require_kernel();
    flows::run_all(vec![
        hashing("sh", false),
        hashing("mh", false),
        hashing("sh", true),
        hashing("mh", true),
    ]);
}

#[test]
#[ignore = "needs a kernel with IPVS: scripts/test runs it in the VM"]
fn handwritten_by_destination_and_persistence() {
    flows::require_kernel();
    flows::run_all(vec![by_destination(), persistence()]);
}

// ---------------------------------------------------------------------------------------------
// Table operations: the kernel (through the netlink client) and MemoryBackend.

/// A random ipvsadm command line over a small universe of services and real servers, so that
/// additions collide, edits and deletions hit and miss, and some commands are refused.
fn random_op_line(rng: &mut Rng) -> String {
    let svcs = [
        "-t 10.1.0.1:80",
        "-t 10.1.0.1:443",
        "-u 10.1.0.2:53",
        "-t 10.1.0.3:0",
        "-f 1",
        "-f 2 -6",
        "-u [2001:db8:1::1]:53",
        "--sctp-service 10.1.0.4:9",
    ];
    let svc = *rng.pick(&svcs);
    let v6 = svc.contains("2001:db8") || svc.ends_with("-6");
    let scheds = [
        "rr", "wrr", "lc", "wlc", "sed", "nq", "fo", "ovf", "dh", "sh", "mh", "lblc", "lblcr", "none", "twos",
    ];
    let svc_spec = |rng: &mut Rng| {
        let mut s = format!("{svc} -s {}", rng.pick(&scheds));
        // A port-zero service must be persistent.
        if svc.ends_with(":0") || rng.chance(30) {
            let _ = write!(s, " -p {}", rng.pick(&[60, 300, 3600]));
            if rng.chance(50) {
                let _ = write!(
                    s,
                    " -M {}",
                    if v6 { rng.pick(&["64", "128"]) } else { rng.pick(&["255.255.255.0", "255.255.0.0"]) }
                );
            }
            if svc.starts_with("-u 10") && rng.chance(20) {
                s.push_str(" --pe sip");
            }
        }
        if rng.chance(20) {
            s.push_str(&format!(
                " -b {}",
                rng.pick(&["sh-fallback", "sh-port", "mh-fallback,mh-port", "flag-3"])
            ));
        }
        if svc.starts_with("-u") && rng.chance(20) {
            s.push_str(" -o");
        }
        s
    };
    let dest = |rng: &mut Rng| {
        let n = rng.range(1, 4);
        let port = if svc.starts_with("-f") || svc.ends_with(":0") {
            String::new()
        } else {
            format!(":{}", rng.pick(&[80, 8080]))
        };
        // A v6 real server in a v4 service is allowed for tunnels only.
        let mixed = !v6 && rng.chance(8);
        if v6 || mixed {
            format!("[2001:db8:2::{n}]{}", if port.is_empty() { String::new() } else { port.clone() })
        } else {
            format!("192.168.20.{n}{port}")
        }
    };
    let dest_spec = |rng: &mut Rng| {
        let d = dest(rng);
        let fwd = *rng.pick(&[
            "-m",
            "-g",
            "-i",
            "-i --tun-type gue --tun-port 6080",
            "-i --tun-type gre --tun-nocsum",
        ]);
        let mut s = format!("{svc} -r {d} {fwd} -w {}", rng.pick(&[0, 1, 2, 5, 100, 65535]));
        if rng.chance(25) {
            let u = rng.range(0, 10);
            let l = rng.range(0, 12);
            let _ = write!(s, " -x {u} -y {l}");
        }
        s
    };
    match rng.below(200) {
        0..=29 => format!("-A {}", svc_spec(rng)),
        30..=59 => format!("-E {}", svc_spec(rng)),
        60..=64 => format!("-D {svc}"),
        65..=67 => format!("-a {}", dest_spec(rng)),
        68..=129 => format!("-a {}", dest_spec(rng)),
        130..=159 => format!("-e {}", dest_spec(rng)),
        160..=182 => format!("-d {svc} -r {}", dest(rng)),
        183..=188 => format!("-Z {svc}"),
        189 => "-Z".into(),
        190..=197 => {
            format!("--set {} {} {}", rng.pick(&[0, 1, 900]), rng.pick(&[0, 60]), rng.pick(&[0, 5, 300]))
        }
        // Rarely: everything goes (and comes back one -A at a time).
        _ if rng.chance(20) => "-C".into(),
        _ => format!("-a {}", dest_spec(rng)),
    }
}

type TableDump = Vec<(ipvs_core::Service, Vec<ipvs_core::DestinationStatus>)>;

fn dump(b: &mut dyn ipvs_core::Backend) -> TableDump {
    let mut out = Vec::new();
    for s in b.services().unwrap() {
        let mut ds = b.destinations(&s.service.key).unwrap();
        ds.sort_by_key(|d| d.dest.key());
        out.push((s.service, ds));
    }
    out.sort_by_key(|(s, _)| s.key.to_string());
    out
}

fn table_ops(seed: u64, n: usize) -> Result<std::collections::BTreeMap<String, usize>, String> {
    use ipvs_core::{Backend, Operation};
    let mut rng = Rng::new(seed);
    let mut kernel = ipvs_sys_netlink::Client::new().expect("open the netlink client");
    let mut mem = ipvs_core::table::MemoryBackend::new();
    let mut log = String::new();
    let mut results = std::collections::BTreeMap::new();
    // Every service first, then random changes.
    let prologue = [
        "-A -t 10.1.0.1:80",
        "-A -t 10.1.0.1:443 -s wrr",
        "-A -u 10.1.0.2:53 -s sh",
        "-A -t 10.1.0.3:0 -p",
        "-A -f 1 -s mh",
        "-A -f 2 -6 -s lblcr",
        "-A -u [2001:db8:1::1]:53 -s dh",
        "-A --sctp-service 10.1.0.4:9 -s rr",
    ];
    for i in 0..n {
        let line = match prologue.get(i) {
            Some(l) => (*l).to_owned(),
            None => random_op_line(&mut rng),
        };
        let words: Vec<&str> = line.split_whitespace().collect();
        let op: Operation = match ipvs_core::ipvsadm::cmdline::parse(&words) {
            Ok(c) => match c.to_operation() {
                Some(op) => op,
                None => continue,
            },
            // ipvsadm itself refuses the line: nothing to send.
            Err(_) => continue,
        };
        let k = kernel.apply(&op);
        let m = mem.apply(&op);
        let _ = writeln!(log, "  {i:>3} ipvsadm {line}  -> {m:?}");
        if k != m {
            return Err(format!(
                "seed {seed}, op {i} `ipvsadm {line}` ({op:?}): kernel {k:?}, MemoryBackend {m:?}\n  ops so far:\n{log}"
            ));
        }
        let kind = match &k {
            Ok(()) => "ok".to_owned(),
            Err(e) => {
                format!("{e:?}").split('(').next().unwrap_or("").split(' ').next().unwrap_or("").to_owned()
                    + &match e {
                        ipvs_core::Error::Exists { object: o, .. }
                        | ipvs_core::Error::NotFound { object: o, .. } => {
                            format!("({o:?})")
                        }
                        _ => String::new(),
                    }
            }
        };
        *results.entry(kind).or_insert(0) += 1;
        // Now and then, and at the end, the whole table.
        if i % 25 == 24 || i == n - 1 {
            let (kd, md) = (dump(&mut kernel), dump(&mut mem));
            if kd != md {
                return Err(format!(
                    "seed {seed}, after op {i}: tables differ\n  kernel:         {kd:#?}\n  MemoryBackend:  {md:#?}\n  ops:\n{log}"
                ));
            }
            let (kt, mt) = (kernel.timeouts().unwrap(), mem.timeouts().unwrap());
            if kt != mt {
                return Err(format!("seed {seed}, after op {i}: timeouts {kt:?} vs {mt:?}\n{log}"));
            }
        }
    }
    Ok(results)
}

#[test]
#[ignore = "needs a kernel with IPVS: scripts/test runs it in the VM"]
fn table_ops_kernel_and_memory_backend_agree() {
    flows::require_kernel();
    let mut failures = Vec::new();
    for seed in 1..=8u64 {
        let r = std::thread::spawn(move || {
            flows::enter_netns();
            table_ops(seed, 150)
        })
        .join()
        .unwrap();
        match r {
            Ok(results) => eprintln!("ok   seed {seed}: 150 ops, results {results:?}"),
            Err(e) => {
                eprintln!("FAIL {e}");
                failures.push(e);
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

// ---------------------------------------------------------------------------------------------
// schedsim's scenarios.

/// The scenario files `examples/scenarios/NAME.{rules,flows}` as a lab scenario, read as
/// `schedsim` reads them: the rules as `ipvsadm-restore` reads them, the flows line by line
/// (`#` starts a comment; a line starting with `-` or `ipvsadm` is a command, any other a flow).
fn scenario_files(name: &str) -> (Scenario, String, String) {
    use ipvs_core::ipvsadm::{cmdline, rules};
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../examples/scenarios");
    let (rp, fp) = (format!("{dir}/{name}.rules"), format!("{dir}/{name}.flows"));
    let rules_text = std::fs::read_to_string(&rp).unwrap();
    let flows_text = std::fs::read_to_string(&fp).unwrap();
    let mut sc = Scenario::new(format!("schedsim scenario {name}"));
    for l in rules::parse_rules(&rules_text, rules::CommentMode::Restore, &cmdline::Parser::new()).unwrap() {
        sc.steps.push(flows::Step::Ipvsadm(l.args.to_vec()));
    }
    for (i, raw) in flows_text.lines().enumerate() {
        let body = raw.split('#').next().unwrap_or("").trim();
        if body.is_empty() {
            continue;
        }
        if body.starts_with('-') || body.split_whitespace().next() == Some("ipvsadm") {
            let words = rules::tokenize(body.as_bytes()).into_iter().flat_map(|(_, w)| w).collect();
            sc.steps.push(flows::Step::Ipvsadm(words));
        } else {
            let f = body.parse().unwrap_or_else(|e| panic!("{fp}:{}: {e}", i + 1));
            sc.steps.push(flows::Step::Flow(f));
        }
    }
    (sc, rp, fp)
}

/// `target/release/schedsim` (or `$SCHEDSIM`), if it has been built.
fn schedsim_binary() -> Option<std::path::PathBuf> {
    let p = std::env::var_os("SCHEDSIM").map(std::path::PathBuf::from).unwrap_or_else(|| {
        std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../target/release/schedsim")).to_path_buf()
    });
    p.exists().then_some(p)
}

#[test]
#[ignore = "needs a kernel with IPVS: scripts/test runs it in the VM"]
fn schedsim_scenarios() {
    use ipvs_core::ipvsadm::{list::addr_port, NumericResolver};
    flows::require_kernel();
    let bin = schedsim_binary();
    if bin.is_none() {
        eprintln!("note: no target/release/schedsim (cargo build --release --bins): comparing with the library only");
    }
    let show = |d: &Option<ipvs_core::DestinationKey>| {
        d.map_or_else(|| "-".to_owned(), |d| addr_port(&d.addr, d.port, None, true, &NumericResolver))
    };
    let mut failures = Vec::new();
    for name in ["dns-maintenance", "web-persistent", "cache-fwmark"] {
        let (sc, rp, fp) = scenario_files(name);
        let report = match flows::run_isolated(sc) {
            Ok(r) => r,
            Err(e) => {
                failures.push(e);
                continue;
            }
        };
        let kernel: Vec<String> = report.kernel_choices.iter().map(show).collect();
        let library: Vec<String> = report.sim_choices.iter().map(show).collect();
        let mut problems = Vec::new();
        if kernel != library {
            problems.push(format!("kernel {kernel:?}\n  library {library:?}"));
        }
        if let Some(bin) = &bin {
            let out =
                std::process::Command::new(bin).args(["--rules", &rp, "--flows", &fp]).output().unwrap();
            assert!(out.status.success(), "schedsim failed: {}", String::from_utf8_lossy(&out.stderr));
            let lines: Vec<String> =
                String::from_utf8(out.stdout).unwrap().lines().map(str::to_owned).collect();
            for (i, (s, k)) in lines.iter().zip(&kernel).enumerate() {
                if s != k {
                    problems.push(format!("flow {i}: schedsim says {s}, the kernel chose {k}"));
                }
            }
            if lines.len() != kernel.len() {
                problems.push(format!("schedsim printed {} lines for {} flows", lines.len(), kernel.len()));
            }
        }
        let mut tally = std::collections::BTreeMap::<&str, usize>::new();
        for x in &kernel {
            *tally.entry(x.as_str()).or_default() += 1;
        }
        eprintln!(
            "{} {name}: {} flows, {} packets, {:.2?}; kernel's choices per server {:?}",
            if problems.is_empty() { "ok  " } else { "FAIL" },
            kernel.len(),
            report.packets,
            report.elapsed,
            tally
        );
        if !problems.is_empty() {
            failures.push(format!("scenario {name}:\n  {}", problems.join("\n  ")));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
