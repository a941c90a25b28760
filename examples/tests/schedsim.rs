//! `schedsim` from the outside: output, summary, plot, errors, the shipped scenarios, and the
//! twos scheduler (which Debian's kernel does not build, so the VM tests cannot check it flow
//! by flow) checked statistically.
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const BIN: &str = env!("CARGO_BIN_EXE_schedsim");

/// A scratch directory for one test, removed when dropped.
struct Scratch(PathBuf);

impl std::ops::Deref for Scratch {
    type Target = Path;
    fn deref(&self) -> &Path {
        &self.0
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn scratch(name: &str) -> Scratch {
    let d = std::env::temp_dir().join(format!("schedsim-test-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    Scratch(d)
}

fn write(dir: &Path, file: &str, text: &str) -> String {
    let p = dir.join(file);
    std::fs::write(&p, text).unwrap();
    p.to_str().unwrap().to_owned()
}

fn run(args: &[&str]) -> Output {
    Command::new(BIN).args(args).output().unwrap()
}

fn stdout(o: &Output) -> String {
    String::from_utf8(o.stdout.clone()).unwrap()
}

fn stderr(o: &Output) -> String {
    String::from_utf8(o.stderr.clone()).unwrap()
}

const RULES: &str = "\
# two DNS resolvers and an IPv6 web service
-A -u 10.0.0.1:53 -s rr
-a -u 10.0.0.1:53 -r 10.50.0.1:53 -m
-a -u 10.0.0.1:53 -r 10.50.0.2:53 -m
-A -t [2001:db8::1]:80 -s wrr
-a -t [2001:db8::1]:80 -r [2001:db8::10]:8080 -m -w 1
";

#[test]
fn one_line_per_flow() {
    let d = scratch("lines");
    let rules = write(&d, "r.rules", RULES);
    let flows = write(
        &d,
        "f.flows",
        "# rr starts with the newest real server\n\
         udp 198.51.100.1:1000 10.0.0.1:53\n\
         udp 198.51.100.2:1000 10.0.0.1:53\n\
         \n\
         udp 198.51.100.1:1000 10.0.0.1:53   # the same client port: the same connection\n\
         udp 198.51.100.3:1000 10.0.0.1:53\n\
         tcp [2001:db8:1::5]:40000 [2001:db8::1]:80\n\
         udp 198.51.100.4:1000 10.0.0.9:53\n\
         -e -u 10.0.0.1:53 -r 10.50.0.2:53 -m -w 0\n\
         udp 198.51.100.5:1000 10.0.0.1:53\n\
         udp 198.51.100.6:1000 10.0.0.1:53\n\
         ipvsadm -d -u 10.0.0.1:53 -r 10.50.0.1:53\n\
         udp 198.51.100.7:1000 10.0.0.1:53\n\
         udp 198.51.100.5:1000 10.0.0.1:53\n",
    );
    let o = run(&["--rules", &rules, "--flows", &flows]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(
        stdout(&o),
        "10.50.0.2:53\n10.50.0.1:53\n10.50.0.2:53\n10.50.0.2:53\n[2001:db8::10]:8080\n-\n\
         10.50.0.1:53\n10.50.0.1:53\n-\n-\n"
    );
}

#[test]
fn summary_and_plot() {
    let d = scratch("summary");
    let rules = write(&d, "r.rules", RULES);
    let flows: String = (0..10).map(|i| format!("udp 198.51.100.{i}:5000 10.0.0.1:53\n")).collect();
    let flows = write(&d, "f.flows", &(flows + "udp 198.51.100.99:1 10.0.0.77:53\n"));
    let svg = d.join("p.svg");
    let o = run(&["--rules", &rules, "--flows", &flows, "--summary", "--plot", svg.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    let (lines, summary) = out.split_once("\n\n").expect("a blank line before the summary");
    assert_eq!(lines.lines().count(), 11);
    let rows: Vec<&str> = summary.lines().collect();
    assert!(rows[0].starts_with("Service / -> RealServer") && rows[0].contains("InActConn"), "{summary}");
    let row = |server: &str| {
        rows.iter()
            .find(|r| r.contains(server))
            .unwrap_or_else(|| panic!("no {server} in\n{summary}"))
            .to_string()
    };
    // Flows, share, ActiveConn, InActConn, PersistConn.
    let fields = |r: String| r.split_whitespace().skip(2).map(str::to_owned).collect::<Vec<_>>();
    assert_eq!(fields(row("10.50.0.1:53")), ["5", "50.0%", "0", "5", "0"]);
    assert_eq!(fields(row("10.50.0.2:53")), ["5", "50.0%", "0", "5", "0"]);
    assert!(summary.contains("UDP  10.0.0.1:53 rr"), "{summary}");
    assert!(summary.contains("TCP  [2001:db8::1]:80 wrr"), "{summary}");
    assert!(summary.contains("(no virtual service)"), "{summary}");
    let svg = std::fs::read_to_string(svg).unwrap();
    assert!(svg.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\""), "{svg}");
    assert!(svg.trim_end().ends_with("</svg>"));
    for s in ["10.50.0.1:53", "10.50.0.2:53", "[2001:db8::10]:8080", "UDP  10.0.0.1:53 rr"] {
        assert!(svg.contains(s), "{s} missing from the plot");
    }
}

#[test]
fn bad_input_names_file_and_line() {
    let d = scratch("errors");
    let rules = write(&d, "r.rules", RULES);
    let cases = [
        ("udp 198.51.100.1:1 10.0.0.1:53\nudp 198.51.100.1 10.0.0.1:53\n", ":2: bad client address"),
        ("\n\nicmp 198.51.100.1:1 10.0.0.1:53\n", ":3: unknown protocol `icmp`"),
        ("udp 198.51.100.1:1 [2001:db8::1]:53\n", ":1: client 198.51.100.1:1 and virtual address"),
        ("udp 198.51.100.1:1 10.0.0.1:53 mark=x\n", ":1: bad mark"),
        ("-a -u 10.0.0.1:53 -r 10.50.0.1:53\n", ":1: Destination already exists"),
        ("-d -u 10.0.0.1:54 -r 10.50.0.1:53\n", ":1: Service not defined"),
        ("-L -n\n", ":1: not a table change"),
        ("-a -u 10.0.0.1:53 -r\n", ":1: -r: missing argument"),
    ];
    for (text, want) in cases {
        let flows = write(&d, "f.flows", text);
        let o = run(&["--rules", &rules, "--flows", &flows]);
        assert_eq!(o.status.code(), Some(2), "{text:?}: {}", stderr(&o));
        let e = stderr(&o);
        assert!(e.starts_with("schedsim: ") && e.contains(&format!("f.flows{want}")), "{text:?}: {e}");
    }
    let flows = write(&d, "f.flows", "udp 198.51.100.1:1 10.0.0.1:53\n");
    let bad_rules = write(&d, "bad.rules", "-A -u 10.0.0.1:53 -s rr\n-A -u 10.0.0.1:53 -s rr\n");
    let o = run(&["--rules", &bad_rules, "--flows", &flows]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("bad.rules:2: Service already exists"), "{}", stderr(&o));
    let bad_rules = write(&d, "bad.rules", "-A -u 10.0.0.1:53 -s rr\n-a -u 10.0.0.1:53 -r\n");
    let o = run(&["--rules", &bad_rules, "--flows", &flows]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("bad.rules:2: "), "{}", stderr(&o));
    let o = run(&["--rules", &rules]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("--rules and --flows are required"));
    let o = run(&["--rules", &rules, "--flows", "/nonexistent/f"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("/nonexistent/f: "), "{}", stderr(&o));
}

/// The shipped scenarios (which the VM test `vm_sched::schedsim_scenarios` also sends through
/// the kernel) run, with one answer per flow line.
#[test]
fn shipped_scenarios_run() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios");
    let mut n = 0;
    for e in std::fs::read_dir(&dir).unwrap() {
        let p = e.unwrap().path();
        if p.extension().is_none_or(|x| x != "rules") {
            continue;
        }
        let flows = p.with_extension("flows");
        let o = run(&["--rules", p.to_str().unwrap(), "--flows", flows.to_str().unwrap(), "--summary"]);
        assert!(o.status.success(), "{}: {}", p.display(), stderr(&o));
        let text = std::fs::read_to_string(&flows).unwrap();
        let flow_lines = text
            .lines()
            .map(|l| l.split('#').next().unwrap().trim())
            .filter(|l| !l.is_empty() && !l.starts_with('-'))
            .count();
        let out = stdout(&o);
        assert_eq!(out.split_once("\n\n").unwrap().0.lines().count(), flow_lines, "{}", p.display());
        n += 1;
    }
    assert!(n >= 3, "expected the scenarios in {}", dir.display());
}

// ---------------------------------------------------------------------------------------------
// twos.

fn twos_rules(dir: &Path) -> String {
    write(
        dir,
        "twos.rules",
        "-A -u 10.0.0.1:53 -s twos\n\
         -a -u 10.0.0.1:53 -r 10.50.0.1:53 -m -w 1\n\
         -a -u 10.0.0.1:53 -r 10.50.0.2:53 -m -w 0\n\
         -a -u 10.0.0.1:53 -r 10.50.0.3:53 -m -w 2\n\
         -a -u 10.0.0.1:53 -r 10.50.0.4:53 -m -w 3\n",
    )
}

fn twos_flows(dir: &Path, n: u32) -> String {
    let text: String = (0..n)
        .map(|i| format!("udp 198.51.{}.{}:{} 10.0.0.1:53\n", i / 250 % 250, i % 250 + 1, 1024 + i))
        .collect();
    write(dir, "twos.flows", &text)
}

/// Power of two choices keeps every server's load close to its share of the weights, never
/// picks a weight-0 server, and depends on the seed only through the order of its picks.
#[test]
fn twos_balances_by_weight() {
    let d = scratch("twos");
    let rules = twos_rules(&d);
    let n = 6000u32;
    let flows = twos_flows(&d, n);
    let mut outputs = Vec::new();
    for seed in ["1", "2", "1"] {
        let o = run(&["--rules", &rules, "--flows", &flows, "--seed", seed]);
        assert!(o.status.success(), "{}", stderr(&o));
        outputs.push(stdout(&o));
    }
    assert_eq!(outputs[0], outputs[2], "the same seed gives the same picks");
    assert_ne!(outputs[0], outputs[1], "another seed gives other picks");
    for out in &outputs[..2] {
        let count = |s: &str| out.lines().filter(|l| *l == s).count() as f64;
        assert_eq!(count("10.50.0.2:53"), 0.0, "weight 0 is never picked");
        for (server, w) in [("10.50.0.1:53", 1.0), ("10.50.0.3:53", 2.0), ("10.50.0.4:53", 3.0)] {
            let expect = f64::from(n) * w / 6.0;
            let got = count(server);
            // Two choices keep the imbalance to a few connections; 2% is generous.
            assert!(
                (got - expect).abs() <= 0.02 * f64::from(n),
                "{server}: {got} flows, expected about {expect}"
            );
        }
    }
}

/// The first pick of a fresh service (all servers idle) is choice 1 alone, whose distribution
/// is the kernel's: random_u32_below(sum + 1), so the first eligible server in list order has
/// (w + 1) / (sum + 1) and the others w / (sum + 1). A chi-square test over many seeds.
#[test]
fn twos_first_pick_follows_the_kernels_draw() {
    use ipvs_core::sched::Time;
    use ipvs_core::sim::{Flow, Simulator};
    use ipvs_core::table::TableConfig;
    use ipvs_core::{Destination, Operation, Scheduler, Service, ServiceKey};

    let vip = ServiceKey::udp("10.0.0.1".parse().unwrap(), 53);
    // Added in this order, listed newest first: .4 (w 3), .3 (w 2), .2 (w 0), .1 (w 1).
    let dests = [("10.50.0.1:53", 1), ("10.50.0.2:53", 0), ("10.50.0.3:53", 2), ("10.50.0.4:53", 3)];
    let mut config = TableConfig::default();
    config.schedulers.push(Scheduler::Twos);
    let mut base = Simulator::new(config, 0);
    base.apply(Time::ZERO, &Operation::AddService(Service::new(vip).with_scheduler(Scheduler::Twos)))
        .unwrap();
    for (a, w) in dests {
        base.apply(
            Time::ZERO,
            &Operation::AddDestination(vip, Destination::new(a.parse().unwrap()).with_weight(w)),
        )
        .unwrap();
    }
    let trials = 30_000u64;
    let mut counts = std::collections::HashMap::<String, u64>::new();
    let flow =
        Flow::udp(Time::from_secs(1), "198.51.100.1:1000".parse().unwrap(), "10.0.0.1:53".parse().unwrap());
    for seed in 0..trials {
        let mut sim = Simulator::from_table(base.table().clone(), seed);
        let d = sim.flow(&flow).dest().unwrap();
        *counts.entry(d.to_string()).or_default() += 1;
    }
    // sum = 6; the first eligible server in list order is .4.
    let expected = [("10.50.0.4:53", 4.0 / 7.0), ("10.50.0.3:53", 2.0 / 7.0), ("10.50.0.1:53", 1.0 / 7.0)];
    assert_eq!(counts.get("10.50.0.2:53"), None);
    let chi2: f64 = expected
        .iter()
        .map(|(s, p)| {
            let e = p * trials as f64;
            let o = *counts.get(*s).unwrap_or(&0) as f64;
            (o - e) * (o - e) / e
        })
        .sum();
    // Two degrees of freedom: P(chi2 > 13.8) = 0.001.
    assert!(chi2 < 13.8, "chi-square {chi2:.1} for {counts:?}");
}
