//! `ipvs-director`: the director in the foreground, from keepalived's file (its
//! `virtual_server` part) or ldirectord's.
//!
//! ```text
//! ipvs-director --keepalived /etc/keepalived/keepalived.conf [--check|--dry-run] [-I|--dont-release-ipvs] [-d]
//! ipvs-director --ldirectord /etc/ha.d/ldirectord.cf [--check|--dry-run] [-d]
//! ```
//!
//! See `ipvs_examples::director::cli` and the README's "Director" section.

use std::process::ExitCode;

use ipvs_examples::director::cli;

fn main() -> ExitCode {
    let args: Vec<_> = std::env::args_os().skip(1).collect();
    match cli::parse_director(&args) {
        Ok(a) => cli::run("ipvs-director", a),
        Err(e) => {
            eprintln!("ipvs-director: {e}\n{}", cli::DIRECTOR_USAGE);
            ExitCode::FAILURE
        }
    }
}
