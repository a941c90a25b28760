//! Reading the IPVS files under `/proc/<...>/net` of the client's namespace: the connection
//! table has no netlink command.

use std::os::unix::fs::MetadataExt;

use ipvs_core::Result;

use super::errno;
use super::netns::NetNs;

/// Reads `/proc/thread-self/net/<name>` in namespace `ns`: on the calling thread when it is in
/// `ns` (or when there is no `ns`), on a short-lived thread that enters `ns` otherwise.
pub(crate) fn read_proc_net(ns: Option<&NetNs>, name: &str) -> Result<String> {
    match ns {
        Some(ns) if !in_namespace(ns) => ns.run(|| read_here(name))?,
        _ => read_here(name),
    }
}

/// Whether the calling thread is in `ns` (same `nsfs` inode).
fn in_namespace(ns: &NetNs) -> bool {
    std::fs::metadata("/proc/thread-self/ns/net").is_ok_and(|m| m.ino() == ns.inode())
}

/// Reads `/proc/thread-self/net/<name>` (the calling thread's namespace), or
/// `/proc/self/net/<name>` on kernels without `thread-self` (before 3.17).
fn read_here(name: &str) -> Result<String> {
    const CONTEXT: &str = "reading the IPVS connection table under /proc/thread-self/net";
    match std::fs::read_to_string(format!("/proc/thread-self/net/{name}")) {
        Ok(s) => Ok(s),
        Err(e)
            if e.kind() == std::io::ErrorKind::NotFound
                && !std::path::Path::new("/proc/thread-self").exists() =>
        {
            std::fs::read_to_string(format!("/proc/self/net/{name}")).map_err(|e| errno::io(&e, CONTEXT))
        }
        Err(e) => Err(errno::io(&e, CONTEXT)),
    }
}
