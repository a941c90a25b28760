//! Reading the IPVS files under `/proc/<...>/net` of the client's namespace: the connection
//! table has no netlink command.
//!
//! # Whole reads
//!
//! `/proc/net/ip_vs_conn` (and `ip_vs_conn_sync`) is a `seq_file` over the kernel's one
//! connection hash table, shared by every namespace: each `read(2)` returns at most a page of
//! lines and the next one starts again from the top, counting entries up to its position,
//! those of every namespace included (`ip_vs_conn_array`, Linux 6.1). A connection made or
//! expired anywhere, in another namespace too, between two `read`s shifts that position: the
//! next chunk repeats an entry or skips one. A read that took one `read` call was produced in
//! one walk and is whole. So, as the netlink dumps are settled (`dump.rs`), a table that took
//! more than one chunk is read again until two reads in a row hold the same entries (by
//! identity: protocol, addresses and ports; the expiry counts down between reads), up to
//! [`ATTEMPTS`] reads; an entry a read repeats is dropped. When the table itself keeps changing
//! so that no two reads agree, the result is the union of the last two reads: every entry that
//! lasted through both, and those that came or went in between.

use std::collections::HashSet;
use std::io::Read;
use std::os::unix::fs::MetadataExt;

use ipvs_core::Result;

use super::errno;
use super::netns::NetNs;

/// The most reads of one connection table (see the [module docs](self)).
pub(crate) const ATTEMPTS: usize = 8;

/// Reads `/proc/thread-self/net/<name>` in namespace `ns` whole (see the
/// [module docs](self)): on the calling thread when it is in `ns` (or when there is no `ns`),
/// on a short-lived thread that enters `ns` otherwise.
pub(crate) fn read_proc_net(ns: Option<&NetNs>, name: &str) -> Result<String> {
    match ns {
        Some(ns) if !in_namespace(ns) => ns.run(|| read_whole(name))?,
        _ => read_whole(name),
    }
}

/// Whether the calling thread is in `ns` (same `nsfs` inode).
fn in_namespace(ns: &NetNs) -> bool {
    std::fs::metadata("/proc/thread-self/ns/net").is_ok_and(|m| m.ino() == ns.inode())
}

/// One read of a connection table: its lines (header first), without repeated entries, and
/// their identities.
struct Table {
    header: String,
    lines: Vec<String>,
    ids: HashSet<String>,
    chunks: usize,
}

impl Table {
    fn parse(text: &str, chunks: usize) -> Table {
        let mut it = text.split_inclusive('\n');
        let header = it.next().unwrap_or_default().to_owned();
        let mut ids = HashSet::new();
        let mut lines = Vec::new();
        for line in it {
            if ids.insert(identity(line)) {
                lines.push(line.to_owned());
            }
        }
        Table { header, lines, ids, chunks }
    }

    fn text(&self) -> String {
        let mut s = self.header.clone();
        for l in &self.lines {
            s.push_str(l);
        }
        s
    }

    /// `self` with the entries of `earlier` it lacks.
    fn union(mut self, earlier: &Table) -> Table {
        for l in &earlier.lines {
            if self.ids.insert(identity(l)) {
                self.lines.push(l.clone());
            }
        }
        self
    }
}

/// An entry's identity: its first seven fields (protocol, client, virtual and real-server
/// address and port), the same in both files.
fn identity(line: &str) -> String {
    line.split_ascii_whitespace().take(7).collect::<Vec<_>>().join(" ")
}

fn read_whole(name: &str) -> Result<String> {
    let mut prev: Option<Table> = None;
    for attempt in 1..=ATTEMPTS {
        let (text, chunks) = read_here(name)?;
        let table = Table::parse(&text, chunks);
        // One chunk was produced in one walk; two reads that agree were not shifted.
        if table.chunks <= 1 || prev.as_ref().is_some_and(|p| p.ids == table.ids) {
            return Ok(table.text());
        }
        if attempt == ATTEMPTS {
            // No two reads agreed: the table itself is changing.
            return Ok(match &prev {
                Some(p) => table.union(p).text(),
                None => table.text(),
            });
        }
        prev = Some(table);
    }
    Ok(prev.map(|p| p.text()).unwrap_or_default())
}

/// Reads `/proc/thread-self/net/<name>` (the calling thread's namespace), or
/// `/proc/self/net/<name>` on kernels without `thread-self` (before 3.17). Returns the text
/// and how many `read` calls returned data.
fn read_here(name: &str) -> Result<(String, usize)> {
    const CONTEXT: &str = "reading the IPVS connection table under /proc/thread-self/net";
    let file = match std::fs::File::open(format!("/proc/thread-self/net/{name}")) {
        Ok(f) => f,
        Err(e)
            if e.kind() == std::io::ErrorKind::NotFound
                && !std::path::Path::new("/proc/thread-self").exists() =>
        {
            std::fs::File::open(format!("/proc/self/net/{name}")).map_err(|e| errno::io(&e, CONTEXT))?
        }
        Err(e) => return Err(errno::io(&e, CONTEXT)),
    };
    read_chunks(file).map_err(|e| errno::io(&e, CONTEXT))
}

/// Reads `r` to its end, counting the reads that returned data.
fn read_chunks(mut r: impl Read) -> std::io::Result<(String, usize)> {
    let mut buf = Vec::new();
    let mut chunk = vec![0u8; 64 * 1024];
    let mut chunks = 0;
    loop {
        match r.read(&mut chunk) {
            Ok(0) => break,
            Ok(n) => {
                chunks += 1;
                buf.extend_from_slice(chunk.get(..n).unwrap_or_default());
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    String::from_utf8(buf)
        .map(|s| (s, chunks))
        .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEADER: &str = "Pro FromIP   FPrt ToIP     TPrt DestIP   DPrt State       Expires PEName PEData\n";

    fn line(n: u8, expires: u32) -> String {
        format!("UDP 0A0000{n:02X} 13C4 0A000001 0035 C0A8010B 0035 UDP         {expires:>7}\n")
    }

    #[test]
    fn a_repeated_entry_is_dropped_and_expiry_is_not_identity() {
        let text = format!("{HEADER}{}{}{}", line(1, 59), line(2, 59), line(1, 58));
        let t = Table::parse(&text, 2);
        assert_eq!(t.lines.len(), 2);
        assert_eq!(t.text(), format!("{HEADER}{}{}", line(1, 59), line(2, 59)));
        let later = Table::parse(&format!("{HEADER}{}{}", line(2, 57), line(1, 57)), 2);
        assert_eq!(later.ids, t.ids);
    }

    #[test]
    fn union_keeps_the_later_read_and_adds_what_it_skipped() {
        let a = Table::parse(&format!("{HEADER}{}{}", line(1, 9), line(2, 9)), 2);
        let b = Table::parse(&format!("{HEADER}{}{}", line(2, 8), line(3, 8)), 2);
        assert_eq!(b.union(&a).text(), format!("{HEADER}{}{}{}", line(2, 8), line(3, 8), line(1, 9)));
    }

    #[test]
    fn reads_are_counted() {
        struct Chunks(Vec<&'static [u8]>);
        impl Read for Chunks {
            fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
                if self.0.is_empty() {
                    return Ok(0);
                }
                let c = self.0.remove(0);
                buf[..c.len()].copy_from_slice(c);
                Ok(c.len())
            }
        }
        assert_eq!(read_chunks(Chunks(vec![b"ab", b"c"])).unwrap(), ("abc".to_owned(), 2));
        assert_eq!(read_chunks(Chunks(vec![])).unwrap(), (String::new(), 0));
    }
}
