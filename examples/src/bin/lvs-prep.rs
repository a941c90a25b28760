//! `lvs-prep`: prepare a real server or a director for LVS, and undo it.
//!
//! ```text
//! lvs-prep realserver --mode dr|tun --vip VIP[,VIP...] [--dry-run] [--state FILE]
//! lvs-prep director --mode nat [--dry-run] [--state FILE]
//! lvs-prep --undo [--dry-run] [--state FILE]
//! ```
//!
//! Each change is printed as the equivalent `ip` / `sysctl` command (with `--dry-run` nothing
//! else happens); the changes are made through rtnetlink and `/proc/sys` and recorded in
//! `/run/lvs-prep/state`, which `--undo` reads to reverse exactly them. Running the same
//! preparation twice changes nothing the second time. See `ipvs_examples::director::prep`.

use std::path::PathBuf;
use std::process::ExitCode;

use ipvs_examples::director::prep::{apply, Mode, Request};

const USAGE: &str =
    "usage: lvs-prep realserver --mode dr|tun --vip VIP[,VIP...] [--dry-run] [--state FILE]\n       \
lvs-prep director --mode nat [--dry-run] [--state FILE]\n       lvs-prep --undo [--dry-run] [--state FILE]";

struct Args {
    req: Option<Request>,
    dry_run: bool,
    state: PathBuf,
}

fn parse(args: &[String]) -> Result<Args, String> {
    let mut role = None;
    let mut mode = None;
    let mut vips = Vec::new();
    let mut undo = false;
    let mut dry_run = false;
    let mut state = PathBuf::from(apply::DEFAULT_STATE);
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let mut value = || it.next().ok_or_else(|| format!("{a} needs a value"));
        match a.as_str() {
            "realserver" | "director" if role.is_none() => role = Some(a.clone()),
            "--mode" => mode = Some(value()?.parse::<Mode>()?),
            "--vip" => {
                for v in value()?.split(',').filter(|v| !v.is_empty()) {
                    vips.push(v.parse().map_err(|_| format!("--vip: {v:?} is not an address"))?);
                }
            }
            "--undo" => undo = true,
            "--dry-run" | "-n" => dry_run = true,
            "--state" => state = PathBuf::from(value()?),
            "-h" | "--help" => return Err(String::new()),
            s => return Err(format!("unexpected argument {s}")),
        }
    }
    if undo {
        return Ok(Args { req: None, dry_run, state });
    }
    let mode = mode.ok_or("--mode is required")?;
    let req = match role.as_deref() {
        Some("realserver") => Request::RealServer { mode, vips },
        Some("director") => Request::Director { mode },
        _ => return Err("realserver, director or --undo is required".into()),
    };
    Ok(Args { req: Some(req), dry_run, state })
}

fn main() -> ExitCode {
    let argv: Vec<String> = std::env::args().skip(1).collect();
    let args = match parse(&argv) {
        Ok(a) => a,
        Err(e) if e.is_empty() => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!("lvs-prep: {e}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let rt = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("lvs-prep: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = rt.block_on(async {
        match &args.req {
            Some(req) => apply::prepare(req, &args.state, args.dry_run).await,
            None => apply::undo(&args.state, args.dry_run).await,
        }
    });
    match result {
        Ok(changes) => {
            for c in changes {
                println!("{c}");
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("lvs-prep: {e}");
            ExitCode::FAILURE
        }
    }
}
