//! The I/O half of `lvs-prep`: reads the host's links, addresses and sysctls, and makes
//! [`Change`]s, through rtnetlink (the rust-netlink `rtnetlink` crate) and `/proc/sys`; no
//! `ip` or `sysctl` command is run. The record of what was done lives in a file
//! (`/run/lvs-prep/state` by default: gone at reboot, as the changes are).

use std::net::IpAddr;
use std::path::{Path, PathBuf};

use futures::TryStreamExt;
use netlink_packet_route::address::AddressAttribute;
use netlink_packet_route::link::{LinkAttribute, LinkFlags};
use rtnetlink::{Handle, LinkIp6Tnl, LinkIpIp, LinkUnspec};

use super::{plan, sysctls_for, Change, HostState, Record, Request};

/// Where the record is kept unless `--state` says otherwise.
pub const DEFAULT_STATE: &str = "/run/lvs-prep/state";

/// A failure, in words.
pub type Error = String;

/// A connection to the kernel's routing netlink (needs a tokio runtime).
pub struct Host {
    handle: Handle,
}

impl std::fmt::Debug for Host {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Host").finish_non_exhaustive()
    }
}

fn sysctl_path(key: &str) -> PathBuf {
    Path::new("/proc/sys").join(key)
}

impl Host {
    /// Opens the rtnetlink socket (its connection runs on a task of the current runtime).
    pub fn open() -> Result<Host, Error> {
        let (conn, handle, _) = rtnetlink::new_connection().map_err(|e| format!("rtnetlink: {e}"))?;
        tokio::spawn(conn);
        Ok(Host { handle })
    }

    /// The links, addresses and the sysctls `req` touches.
    pub async fn state(&self, req: Option<&Request>, extra: &[String]) -> Result<HostState, Error> {
        let mut st = HostState::default();
        let mut names = std::collections::HashMap::new();
        let mut links = self.handle.link().get().execute();
        while let Some(msg) = links.try_next().await.map_err(|e| format!("listing links: {e}"))? {
            let name = msg.attributes.iter().find_map(|a| match a {
                LinkAttribute::IfName(n) => Some(n.clone()),
                _ => None,
            });
            if let Some(name) = name {
                names.insert(msg.header.index, name.clone());
                st.links.push((name, msg.header.flags.contains(LinkFlags::Up)));
            }
        }
        let mut addrs = self.handle.address().get().execute();
        while let Some(msg) = addrs.try_next().await.map_err(|e| format!("listing addresses: {e}"))? {
            let Some(dev) = names.get(&msg.header.index) else { continue };
            let addr = msg.attributes.iter().find_map(|a| match a {
                AddressAttribute::Local(ip) => Some(*ip),
                _ => None,
            });
            let addr = addr.or_else(|| {
                msg.attributes.iter().find_map(|a| match a {
                    AddressAttribute::Address(ip) => Some(*ip),
                    _ => None,
                })
            });
            if let Some(addr) = addr {
                st.addrs.push((dev.clone(), addr, msg.header.prefix_len));
            }
        }
        let mut keys: Vec<String> = req.map(sysctls_for).unwrap_or_default();
        keys.extend(extra.iter().cloned());
        for key in keys {
            if let Ok(v) = std::fs::read_to_string(sysctl_path(&key)) {
                st.sysctls.insert(key, v.trim().to_owned());
            }
        }
        Ok(st)
    }

    async fn index(&self, name: &str) -> Result<u32, Error> {
        let mut links = self.handle.link().get().match_name(name.to_owned()).execute();
        match links.try_next().await {
            Ok(Some(msg)) => Ok(msg.header.index),
            Ok(None) => Err(format!("no link {name}")),
            Err(e) => Err(format!("link {name}: {e}")),
        }
    }

    /// Makes one change.
    pub async fn make(&self, change: &Change) -> Result<(), Error> {
        let fail = |e: rtnetlink::Error| format!("{change}: {e}");
        match change {
            Change::CreateTunnel { name, kind } => {
                // Creating a link of this kind loads the tunnel module, whose fallback device
                // (tunl0, ip6tnl0) appears in every namespace; asking for a second device of
                // that name then fails with EEXIST, which is the outcome wanted.
                let msg = if kind == "ip6tnl" {
                    LinkIp6Tnl::new(name).build()
                } else {
                    LinkIpIp::new(name).build()
                };
                let r = self.handle.link().add(msg).execute().await;
                match self.index(name).await {
                    Ok(_) => Ok(()),
                    Err(_) => r.map_err(fail).and(Err(format!("{change}: the device did not appear"))),
                }
            }
            Change::LinkUp(n) | Change::LinkDown(n) => {
                let idx = self.index(n).await?;
                let b = LinkUnspec::new_with_index(idx);
                let msg = if matches!(change, Change::LinkUp(_)) { b.up().build() } else { b.down().build() };
                self.handle.link().set(msg).execute().await.map_err(fail)
            }
            Change::AddAddr { dev, addr, prefix } => {
                let idx = self.index(dev).await?;
                self.handle.address().add(idx, *addr, *prefix).execute().await.map_err(fail)
            }
            Change::DelAddr { dev, addr, prefix } => {
                let idx = self.index(dev).await?;
                let mut found = self
                    .handle
                    .address()
                    .get()
                    .set_link_index_filter(idx)
                    .set_address_filter(*addr)
                    .set_prefix_length_filter(*prefix)
                    .execute();
                match found.try_next().await.map_err(fail)? {
                    Some(msg) => self.handle.address().del(msg).execute().await.map_err(fail),
                    None => Ok(()),
                }
            }
            Change::Sysctl { key, to, .. } => {
                std::fs::write(sysctl_path(key), format!("{to}\n")).map_err(|e| format!("{change}: {e}"))
            }
        }
    }
}

/// Reads the record (empty when there is none).
pub fn read_record(path: &Path) -> Result<Record, Error> {
    match std::fs::read_to_string(path) {
        Ok(t) => Record::from_text(&t).map_err(|e| format!("{}: {e}", path.display())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Record::default()),
        Err(e) => Err(format!("{}: {e}", path.display())),
    }
}

/// Writes the record (removes the file when it is empty).
pub fn write_record(path: &Path, record: &Record) -> Result<(), Error> {
    if record.changes.is_empty() {
        return match std::fs::remove_file(path) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(format!("{}: {e}", path.display())),
        };
    }
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    }
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, record.to_text()).map_err(|e| format!("{}: {e}", tmp.display()))?;
    std::fs::rename(&tmp, path).map_err(|e| format!("{}: {e}", path.display()))
}

/// Prepares the host for `req`: prints each change (as the equivalent command) and, unless
/// `dry_run`, makes it and records it in `state`. Returns the changes.
pub async fn prepare(req: &Request, state: &Path, dry_run: bool) -> Result<Vec<Change>, Error> {
    let host = Host::open()?;
    let before = host.state(Some(req), &[]).await?;
    let mut changes = plan(req, &before).map_err(|e| e.to_string())?;
    if dry_run {
        return Ok(changes);
    }
    let mut record = read_record(state)?;
    let mut done = Vec::new();
    // A tunnel created now comes with its own sysctls (inherited from `default`): make it,
    // then plan the rest again on what the host has then.
    let tunnels: Vec<Change> =
        changes.iter().filter(|c| matches!(c, Change::CreateTunnel { .. })).cloned().collect();
    if !tunnels.is_empty() {
        for c in &tunnels {
            host.make(c).await?;
            done.push(c.clone());
        }
        let now = host.state(Some(req), &[]).await?;
        changes = plan(req, &now).map_err(|e| e.to_string())?;
    }
    let mut result = Ok(());
    for c in &changes {
        if let Err(e) = host.make(c).await {
            result = Err(e);
            break;
        }
        done.push(c.clone());
    }
    record = record.with(&done);
    write_record(state, &record)?;
    result.map(|()| done)
}

/// Undoes what the record in `state` says was done (what still is as we left it), newest
/// first; removes the record. Returns the changes.
pub async fn undo(state: &Path, dry_run: bool) -> Result<Vec<Change>, Error> {
    let record = read_record(state)?;
    let host = Host::open()?;
    let keys: Vec<String> = record.changes.iter().filter_map(|c| c.sysctl_key().map(str::to_owned)).collect();
    let now = host.state(None, &keys).await?;
    let changes = record.undo_on(&now);
    if dry_run {
        return Ok(changes);
    }
    let mut left = record.clone();
    for c in &changes {
        host.make(c).await?;
        left = left.with(std::slice::from_ref(c));
    }
    // What was skipped (no longer ours) is forgotten too.
    write_record(state, &Record::default())?;
    Ok(changes)
}

/// The addresses on `dev` (for tests and `status`).
pub async fn addresses(dev: &str) -> Result<Vec<(IpAddr, u8)>, Error> {
    let host = Host::open()?;
    let st = host.state(None, &[]).await?;
    Ok(st.addrs.into_iter().filter(|(d, _, _)| d == dev).map(|(_, a, p)| (a, p)).collect())
}
