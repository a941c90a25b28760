//! What the configuration parsers read through: the filesystem ([`FsSource`], including
//! keepalived's `include` globs) and the system's name resolution ([`SystemResolver`]: host
//! names through the C library, service names from `/etc/services`). The parsers themselves
//! (`ipvs_core::director::{ldirectord, keepalived}`) do no I/O.

use std::net::{IpAddr, ToSocketAddrs};
use std::path::{Path, PathBuf};

use ipvs_core::director::config::{NameResolver, Source};
use ipvs_core::{AddressFamily, Protocol};

/// Reads configuration files from the filesystem.
#[derive(Debug, Clone, Copy, Default)]
pub struct FsSource;

impl Source for FsSource {
    fn read(&self, path: &Path) -> std::io::Result<String> {
        std::fs::read_to_string(path)
    }

    fn glob(&self, pattern: &str) -> std::io::Result<Vec<PathBuf>> {
        let paths =
            glob::glob(pattern).map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, e))?;
        let mut out: Vec<PathBuf> = paths.filter_map(Result::ok).collect();
        out.sort();
        Ok(out)
    }
}

/// Host and service names as the system resolves them.
#[derive(Debug, Clone, Default)]
pub struct SystemResolver {
    services: Vec<(String, u16, String)>,
}

impl SystemResolver {
    /// A resolver; `/etc/services` is read once, here.
    pub fn new() -> Self {
        let text = std::fs::read_to_string("/etc/services").unwrap_or_default();
        SystemResolver { services: parse_services(&text) }
    }

    /// The addresses of `host` (an address literal is itself).
    pub fn host(&self, host: &str) -> Vec<IpAddr> {
        if let Ok(ip) = host.parse() {
            return vec![ip];
        }
        let mut out: Vec<IpAddr> = Vec::new();
        if let Ok(addrs) = (host, 0).to_socket_addrs() {
            for a in addrs {
                if !out.contains(&a.ip()) {
                    out.push(a.ip());
                }
            }
        }
        out
    }

    /// The port of service `name` for `protocol` (`tcp`, `udp`), from `/etc/services`.
    pub fn service(&self, name: &str, protocol: &str) -> Option<u16> {
        self.services.iter().find(|(n, _, p)| n == name && p == protocol).map(|(_, port, _)| *port)
    }
}

impl NameResolver for SystemResolver {
    fn host(&self, name: &str, family: AddressFamily) -> Option<IpAddr> {
        let want_v6 = family == AddressFamily::Inet6;
        SystemResolver::host(self, name).into_iter().find(|a| a.is_ipv6() == want_v6)
    }

    fn service(&self, name: &str, protocol: Option<Protocol>) -> Option<u16> {
        match protocol {
            Some(Protocol::Tcp) => SystemResolver::service(self, name, "tcp"),
            Some(Protocol::Udp) => SystemResolver::service(self, name, "udp"),
            Some(Protocol::Sctp) => SystemResolver::service(self, name, "sctp"),
            Some(_) => None,
            None => SystemResolver::service(self, name, "tcp")
                .or_else(|| SystemResolver::service(self, name, "udp")),
        }
    }
}

/// `/etc/services` lines (`name port/proto aliases... # comment`) as (name or alias, port,
/// protocol).
pub fn parse_services(text: &str) -> Vec<(String, u16, String)> {
    let mut out = Vec::new();
    for line in text.lines() {
        let line = line.split('#').next().unwrap_or("");
        let mut words = line.split_whitespace();
        let (Some(name), Some(pp)) = (words.next(), words.next()) else { continue };
        let Some((port, proto)) = pp.split_once('/') else { continue };
        let Ok(port) = port.parse::<u16>() else { continue };
        for n in std::iter::once(name).chain(words) {
            out.push((n.to_owned(), port, proto.to_owned()));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn services_file() {
        let s = parse_services("http 80/tcp www # WorldWideWeb\n# x\ndomain 53/udp\nbad\n");
        assert_eq!(s[0], ("http".into(), 80, "tcp".into()));
        assert_eq!(s[1], ("www".into(), 80, "tcp".into()));
        assert_eq!(s[2], ("domain".into(), 53, "udp".into()));
        assert_eq!(s.len(), 3);
    }

    #[test]
    fn globs_sorted() {
        let dir = std::env::temp_dir().join(format!("ipvs-src-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        for n in ["b.conf", "a.conf", "c.txt"] {
            std::fs::write(dir.join(n), "x").unwrap();
        }
        let got = FsSource.glob(&format!("{}/*.conf", dir.display())).unwrap();
        assert_eq!(got, vec![dir.join("a.conf"), dir.join("b.conf")]);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
