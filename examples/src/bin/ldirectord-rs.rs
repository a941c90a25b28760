//! `ldirectord-rs`: ldirectord's command line and `ldirectord.cf`, on this library.
//!
//! ```text
//! ldirectord-rs [-d|--debug] [--check|--dry-run] [--pid-file PATH] [--] [CONFIG] start|stop|restart|try-restart|reload|force-reload|status
//! ```
//!
//! See `ipvs_examples::director::cli` and the README's "Director" section.

use std::process::ExitCode;

use ipvs_examples::director::cli;

fn main() -> ExitCode {
    let args: Vec<_> = std::env::args_os().skip(1).collect();
    match cli::parse_ldirectord(&args) {
        Ok(a) => cli::run("ldirectord-rs", a),
        Err(e) => {
            eprintln!("ldirectord-rs: {e}\n{}", cli::LDIRECTORD_USAGE);
            ExitCode::FAILURE
        }
    }
}
