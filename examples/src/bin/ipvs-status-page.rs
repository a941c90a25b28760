//! `ipvs-status-page`: the director's status page (what `/` on `--metrics` serves) of a
//! snapshot saved as JSON, written to standard output.
//!
//! ```text
//! ipvs-status-page [--fragment] [FILE|-]
//! ipvs-director status --json | ipvs-status-page > status.html
//! curl -s http://127.0.0.1:9100/status.json | ipvs-status-page > status.html
//! ```
//!
//! The page comes from the same renderer as the daemon's (`ipvs_examples::director::page`);
//! `--fragment` writes only its tables (as `/?fragment=1`). `scripts/screenshot-status` takes
//! the README's screenshot through it.

use std::io::{Read, Write};
use std::process::ExitCode;

use ipvs_examples::director::page;
use ipvs_examples::director::status::Snapshot;

const USAGE: &str = "usage: ipvs-status-page [--fragment] [FILE|-]";

fn main() -> ExitCode {
    let mut fragment = false;
    let mut file = None;
    for a in std::env::args().skip(1) {
        match a.as_str() {
            "--fragment" => fragment = true,
            "-h" | "--help" => {
                println!("{USAGE}");
                return ExitCode::SUCCESS;
            }
            s if s.starts_with('-') && s != "-" => {
                eprintln!("ipvs-status-page: unknown option {s}\n{USAGE}");
                return ExitCode::FAILURE;
            }
            _ if file.is_some() => {
                eprintln!("ipvs-status-page: one file at most\n{USAGE}");
                return ExitCode::FAILURE;
            }
            _ => file = Some(a),
        }
    }
    let mut json = Vec::new();
    let (shown, read) = match file.as_deref() {
        None | Some("-") => ("standard input".to_string(), std::io::stdin().read_to_end(&mut json)),
        Some(f) => (f.to_string(), std::fs::File::open(f).and_then(|mut f| f.read_to_end(&mut json))),
    };
    if let Err(e) = read {
        eprintln!("ipvs-status-page: {shown}: {e}");
        return ExitCode::FAILURE;
    }
    let snapshot: Snapshot = match serde_json::from_slice(&json) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("ipvs-status-page: {shown}: not a status document: {e}");
            return ExitCode::FAILURE;
        }
    };
    let html = if fragment { page::fragment(&snapshot) } else { page::page(&snapshot) };
    match std::io::stdout().lock().write_all(html.as_bytes()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("ipvs-status-page: standard output: {e}");
            ExitCode::FAILURE
        }
    }
}
