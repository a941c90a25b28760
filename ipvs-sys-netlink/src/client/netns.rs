//! Network namespaces: [`NetNs`], an open handle on one, so that a [`Client`](super::Client)
//! can be opened in a namespace other than the calling thread's
//! ([`Client::in_netns`](super::Client::in_netns)).
//!
//! IPVS tables are per network namespace, and a netlink socket talks to the namespace it was
//! created in for its whole life. To open one in another namespace, a short-lived thread
//! enters the namespace (`setns(2)`), opens the socket there and ends; the socket keeps
//! working from any thread, and the caller's thread never changes namespace.
//!
//! Entering a namespace needs `CAP_SYS_ADMIN` (in the calling user namespace and in the one
//! that owns the target namespace); driving IPVS there needs `CAP_NET_ADMIN`, as always.

use std::fs::{File, OpenOptions};
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};
use std::os::unix::fs::{FileTypeExt, MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use ipvs_core::{Error, Result};

use ipvs_core::error::OsError;
use ipvs_core::Privilege;

/// The directory where `ip netns add NAME` bind-mounts the namespace called `NAME`.
const NETNS_RUN_DIR: &str = "/run/netns";

const CONTEXT_NAMED: &str = "opening a named network namespace";
const CONTEXT_PATH: &str = "opening a network namespace";
const CONTEXT_FD: &str = "checking a network namespace handle";
const CONTEXT_CURRENT: &str = "opening the calling thread's network namespace";
const CONTEXT_ENTER: &str = "entering a network namespace";

/// An open handle on a network namespace (a file descriptor of the kernel's `nsfs`), checked
/// to be a network namespace. Keeping it open keeps the namespace alive, even after
/// `ip netns del` or the exit of every process in it.
///
/// Open one with [`NetNs::named`] (`ip netns` names), [`NetNs::path`] (any namespace file, such
/// as `/proc/<pid>/ns/net` or Docker's `/var/run/docker/netns/<id>`), [`NetNs::from_fd`] (a
/// descriptor you already have) or [`NetNs::current`], then open a client in it with
/// [`Client::in_netns`](super::Client::in_netns).
///
/// # Errors
///
/// Every failure is an [`ipvs_core::Error`]:
///
/// * a name that cannot be a namespace name ([`NetNs::named`]: empty, `.`, `..`, with a `/`
///   or a NUL byte): [`Error::Os`] with `errno` `EINVAL`, before anything is opened;
/// * a namespace or path that does not exist: [`Error::Os`] with `errno` `ENOENT`, whose
///   message says which namespace is missing;
/// * a file that is not a network namespace (a regular file, a directory, another kind of
///   namespace): [`Error::Os`] with `errno` `EINVAL`, whose message says what it is instead;
/// * `EPERM` or `EACCES` opening the file: [`Error::PermissionDenied`] naming
///   [`Privilege::FileAccess`]; entering the namespace without `CAP_SYS_ADMIN`:
///   [`Error::PermissionDenied`] naming [`Privilege::SysAdmin`];
/// * anything else: [`Error::Os`] with the errno and the path.
///
/// ```no_run
/// use ipvs_core::Backend;
/// use ipvs_sys_netlink::{Client, ClientOptions, NetNs};
///
/// let ns = NetNs::named("blue")?; // `ip netns add blue`
/// let mut ipvs = Client::in_netns(&ns, ClientOptions::default())?;
/// println!("{} services in blue", ipvs.services()?.len());
/// # Ok::<(), ipvs_core::Error>(())
/// ```
#[derive(Debug)]
pub struct NetNs {
    fd: OwnedFd,
    /// The namespace's inode number in `nsfs` (what `readlink /proc/<pid>/ns/net` shows).
    inode: u64,
    /// Where the handle came from, for messages: a path, or `fd N`.
    origin: String,
}

impl NetNs {
    /// Opens the network namespace that `ip netns add NAME` created: `/run/netns/NAME`.
    ///
    /// `name` must be a plain file name: an empty name, `.`, `..`, or one holding a `/` or a
    /// NUL byte is refused ([`Error::Os`] with `EINVAL`) before anything is opened. A name
    /// with no namespace is [`Error::Os`] with `ENOENT` ("no network namespace named ...");
    /// see [`NetNs`](NetNs#errors) for the other errors.
    ///
    /// ```no_run
    /// use ipvs_sys_netlink::NetNs;
    ///
    /// match NetNs::named("blue") {
    ///     Ok(ns) => println!("blue is net:[{}]", ns.inode()),
    ///     Err(e) if e.errno() == Some(libc::ENOENT) => println!("no namespace blue: {e}"),
    ///     Err(e) => return Err(e),
    /// }
    /// # Ok::<(), ipvs_core::Error>(())
    /// ```
    pub fn named(name: &str) -> Result<NetNs> {
        if let Some(reason) = bad_name(name) {
            return Err(os_message(
                libc::EINVAL,
                CONTEXT_NAMED,
                format!("{name:?} is not a valid network namespace name: {reason}"),
            ));
        }
        let path = Path::new(NETNS_RUN_DIR).join(name);
        open_checked(&path, CONTEXT_NAMED, Some(name))
    }

    /// Opens the network namespace behind a namespace file: `/proc/<pid>/ns/net`,
    /// `/proc/<pid>/task/<tid>/ns/net`, a bind mount such as `/run/netns/NAME` or
    /// `/var/run/docker/netns/<id>`.
    ///
    /// Only a regular file is opened (never a directory, FIFO or device), and it must be a
    /// network namespace: anything else is [`Error::Os`] with `EINVAL` saying what it is. A
    /// missing path is [`Error::Os`] with `ENOENT`; see [`NetNs`](NetNs#errors).
    ///
    /// ```no_run
    /// use ipvs_sys_netlink::{Client, ClientOptions, NetNs};
    ///
    /// // The namespace of a container's process (docker inspect -f '{{.State.Pid}}' NAME).
    /// let pid = 4242;
    /// let ns = NetNs::path(format!("/proc/{pid}/ns/net"))?;
    /// let ipvs = Client::in_netns(&ns, ClientOptions::default())?;
    /// # Ok::<(), ipvs_core::Error>(())
    /// ```
    pub fn path(path: impl AsRef<Path>) -> Result<NetNs> {
        open_checked(path.as_ref(), CONTEXT_PATH, None)
    }

    /// Takes a descriptor of a network namespace the caller already has (a namespace file it
    /// opened, or a descriptor another process passed it). It is checked like [`NetNs::path`]'s
    /// files (a pidfd is not accepted); when the check fails, the descriptor is closed.
    ///
    /// ```no_run
    /// use std::os::fd::OwnedFd;
    /// use ipvs_sys_netlink::NetNs;
    ///
    /// let file = std::fs::File::open("/run/netns/blue")?; // io::Error converts to ipvs_core::Error
    /// let ns = NetNs::from_fd(OwnedFd::from(file))?;
    /// # Ok::<(), ipvs_core::Error>(())
    /// ```
    pub fn from_fd(fd: OwnedFd) -> Result<NetNs> {
        let origin = format!("fd {}", fd.as_raw_fd());
        check(fd, origin, CONTEXT_FD)
    }

    /// The calling thread's network namespace (`/proc/thread-self/ns/net`; on kernels before
    /// 3.17, `/proc/self/task/<tid>/ns/net`).
    ///
    /// ```no_run
    /// use ipvs_sys_netlink::NetNs;
    ///
    /// let here = NetNs::current()?;
    /// let blue = NetNs::named("blue")?;
    /// println!("already in blue: {}", here.inode() == blue.inode());
    /// # Ok::<(), ipvs_core::Error>(())
    /// ```
    pub fn current() -> Result<NetNs> {
        let thread_self = Path::new("/proc/thread-self/ns/net");
        match open_checked(thread_self, CONTEXT_CURRENT, None) {
            Err(Error::Os(e)) if e.errno() == libc::ENOENT && !Path::new("/proc/thread-self").exists() => {
                // SAFETY: gettid takes no arguments, touches no memory and cannot fail.
                let tid = unsafe { libc::gettid() };
                open_checked(&PathBuf::from(format!("/proc/self/task/{tid}/ns/net")), CONTEXT_CURRENT, None)
            }
            r => r,
        }
    }

    /// The namespace's inode number, as `readlink /proc/<pid>/ns/net` shows it
    /// (`net:[4026531840]`) and `ip netns identify` compares: two handles with the same inode
    /// are the same namespace.
    ///
    /// ```no_run
    /// use ipvs_sys_netlink::NetNs;
    ///
    /// let a = NetNs::named("blue")?;
    /// let b = NetNs::path("/run/netns/blue")?;
    /// assert_eq!(a.inode(), b.inode());
    /// # Ok::<(), ipvs_core::Error>(())
    /// ```
    pub fn inode(&self) -> u64 {
        self.inode
    }

    /// A second handle on the same namespace (a duplicated descriptor).
    ///
    /// ```no_run
    /// use ipvs_sys_netlink::NetNs;
    ///
    /// let ns = NetNs::named("blue")?;
    /// let copy = ns.try_clone()?;
    /// assert_eq!(ns.inode(), copy.inode());
    /// # Ok::<(), ipvs_core::Error>(())
    /// ```
    pub fn try_clone(&self) -> Result<NetNs> {
        let fd = self
            .fd
            .try_clone()
            .map_err(|e| os_error(e, "duplicating a network namespace handle", &self.origin))?;
        Ok(NetNs { fd, inode: self.inode, origin: self.origin.clone() })
    }

    /// Runs `f` on a short-lived thread that has entered this namespace, and returns what `f`
    /// returned. The calling thread's namespace never changes. Sockets `f` opens stay in this
    /// namespace for their whole life, whichever thread uses them later; `/proc/thread-self/net`
    /// read by `f` is this namespace's, and so is the network of processes `f` starts.
    ///
    /// Entering needs `CAP_SYS_ADMIN`: without it this is [`Error::PermissionDenied`], and `f`
    /// does not run.
    ///
    /// # Panics
    ///
    /// If `f` panics, the panic is resumed on the calling thread.
    ///
    /// ```no_run
    /// use ipvs_sys_netlink::NetNs;
    ///
    /// let ns = NetNs::named("blue")?;
    /// let conns = ns.run(|| std::fs::read_to_string("/proc/thread-self/net/ip_vs_conn"))?;
    /// # Ok::<(), ipvs_core::Error>(())
    /// ```
    pub fn run<T, F>(&self, f: F) -> Result<T>
    where
        F: FnOnce() -> T + Send,
        T: Send,
    {
        run_in(self.fd.as_fd(), &self.origin, f)
    }
}

impl AsFd for NetNs {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

impl AsRawFd for NetNs {
    fn as_raw_fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }
}

impl From<NetNs> for OwnedFd {
    fn from(ns: NetNs) -> OwnedFd {
        ns.fd
    }
}

/// Why `name` cannot name a namespace under `/run/netns`, if it cannot.
fn bad_name(name: &str) -> Option<&'static str> {
    if name.is_empty() {
        Some("it is empty")
    } else if name == "." || name == ".." {
        Some("it names a directory")
    } else if name.contains('/') {
        Some("it contains '/'")
    } else if name.contains('\0') {
        Some("it contains a NUL byte")
    } else {
        None
    }
}

/// [`Error::Os`] with a message after the errno's description.
fn os_message(errno: i32, context: &'static str, message: String) -> Error {
    Error::Os(OsError::new(errno, context).with_message(message))
}

/// An I/O error while doing `context` on `origin` (a path, or `fd N`). `EPERM` and `EACCES`
/// are [`Error::PermissionDenied`] for lack of [`Privilege::FileAccess`].
fn os_error(e: io::Error, context: &'static str, origin: &str) -> Error {
    match e.raw_os_error() {
        Some(errno @ (libc::EPERM | libc::EACCES)) => {
            Error::permission_denied(Privilege::FileAccess, format!("{context} {origin}"), errno)
        }
        Some(_) => Error::Os(OsError::from_io(e, format!("{context} {origin}"))),
        // Not from the kernel (e.g. a NUL byte in a path).
        None => {
            let message = e.to_string();
            Error::Os(OsError::from_io(e, format!("{context} {origin}")).with_message(message))
        }
    }
}

fn not_a_netns(context: &'static str, origin: &str, what: &str) -> Error {
    os_message(libc::EINVAL, context, format!("{origin} is not a network namespace ({what})"))
}

/// Opens `path` if it is a regular file (as every `nsfs` inode is) and checks it is a network
/// namespace. `name` is the `ip netns` name, for the message when it does not exist.
fn open_checked(path: &Path, context: &'static str, name: Option<&str>) -> Result<NetNs> {
    let origin = path.display().to_string();
    let open_error = |e: io::Error| {
        match (e.raw_os_error(), name) {
        (Some(libc::ENOENT), Some(name)) => os_message(
            libc::ENOENT,
            context,
            format!("no network namespace named {name:?}: {origin} does not exist (`ip netns add {name}` creates it)"),
        ),
        _ => os_error(e, context, &origin),
    }
    };
    // Look before opening: opening a FIFO or a device can block or have side effects.
    let meta = std::fs::metadata(path).map_err(open_error)?;
    if !meta.is_file() {
        return Err(not_a_netns(context, &origin, file_kind(&meta.file_type())));
    }
    let file = OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_CLOEXEC | libc::O_NOCTTY | libc::O_NONBLOCK)
        .open(path)
        .map_err(open_error)?;
    check(OwnedFd::from(file), origin, context)
}

/// What a file that is not a namespace is, for messages.
fn file_kind(t: &std::fs::FileType) -> &'static str {
    if t.is_dir() {
        "a directory"
    } else if t.is_fifo() {
        "a FIFO"
    } else if t.is_socket() {
        "a socket"
    } else if t.is_block_device() || t.is_char_device() {
        "a device"
    } else if t.is_symlink() {
        "a symbolic link"
    } else {
        "a regular file"
    }
}

/// The name of a namespace type (`CLONE_NEW*`), for messages.
fn ns_kind(nstype: libc::c_int) -> String {
    match nstype {
        libc::CLONE_NEWNS => "a mount namespace".into(),
        libc::CLONE_NEWUTS => "a UTS namespace".into(),
        libc::CLONE_NEWIPC => "an IPC namespace".into(),
        libc::CLONE_NEWUSER => "a user namespace".into(),
        libc::CLONE_NEWPID => "a PID namespace".into(),
        libc::CLONE_NEWCGROUP => "a cgroup namespace".into(),
        0x80 => "a time namespace".into(), // CLONE_NEWTIME
        t => format!("a namespace of type {t:#x}"),
    }
}

/// Checks that `fd` is a network namespace: `ioctl(NS_GET_NSTYPE)` (Linux 4.11), or, where
/// the ioctl is unknown, entering it on a throw-away thread (`setns` refuses anything but a
/// network namespace with `EINVAL`).
fn check(fd: OwnedFd, origin: String, context: &'static str) -> Result<NetNs> {
    let file = File::from(fd);
    let meta = file.metadata().map_err(|e| os_error(e, context, &origin))?;
    if !meta.is_file() {
        return Err(not_a_netns(context, &origin, file_kind(&meta.file_type())));
    }
    let fd = OwnedFd::from(file);
    // SAFETY: `fd` is an open descriptor owned by this function for the whole call;
    // NS_GET_NSTYPE takes no argument and only returns a number. It is only issued on regular
    // files, whose ioctls (nsfs's or a filesystem's) do not act on an unknown request.
    let rc = unsafe { libc::ioctl(fd.as_raw_fd(), libc::NS_GET_NSTYPE) };
    if rc == libc::CLONE_NEWNET {
        return Ok(NetNs { fd, inode: meta.ino(), origin });
    }
    if rc >= 0 {
        return Err(not_a_netns(context, &origin, &ns_kind(rc)));
    }
    let e = io::Error::last_os_error();
    match e.raw_os_error() {
        // Not a namespace file, or a kernel older than 4.11: let setns tell.
        Some(libc::ENOTTY | libc::EINVAL) => match run_in(fd.as_fd(), &origin, || ()) {
            Ok(()) => Ok(NetNs { fd, inode: meta.ino(), origin }),
            Err(Error::Os(e)) if e.errno() == libc::EINVAL => {
                // Every namespace file lives on the one nsfs (or, before 3.19, proc) device.
                let nsfs = std::fs::metadata("/proc/self/ns/net").map(|m| m.dev()).ok();
                let what =
                    if nsfs == Some(meta.dev()) { "a namespace of another kind" } else { "a regular file" };
                Err(not_a_netns(context, &origin, what))
            }
            Err(e) => Err(e),
        },
        _ => Err(os_error(e, context, &origin)),
    }
}

/// Enters the network namespace `fd` on the calling thread.
fn enter(fd: BorrowedFd<'_>, origin: &str) -> Result<()> {
    // SAFETY: `fd` is a descriptor borrowed for the whole call; setns only changes the calling
    // thread's network namespace (this is always a thread spawned for it).
    let rc = unsafe { libc::setns(fd.as_raw_fd(), libc::CLONE_NEWNET) };
    if rc == 0 {
        return Ok(());
    }
    let e = io::Error::last_os_error();
    match e.raw_os_error() {
        Some(libc::EINVAL) => Err(not_a_netns(CONTEXT_ENTER, origin, "setns refused it")),
        // setns needs CAP_SYS_ADMIN in the caller's user namespace and in the one owning the
        // target namespace.
        Some(errno @ libc::EPERM) => {
            Err(Error::permission_denied(Privilege::SysAdmin, format!("{CONTEXT_ENTER} {origin}"), errno))
        }
        _ => Err(os_error(e, CONTEXT_ENTER, origin)),
    }
}

/// Runs `f` on a scoped thread that entered `fd`'s namespace first.
fn run_in<T, F>(fd: BorrowedFd<'_>, origin: &str, f: F) -> Result<T>
where
    F: FnOnce() -> T + Send,
    T: Send,
{
    std::thread::scope(|s| {
        let handle = std::thread::Builder::new()
            .name("ipvs-netns".into())
            .spawn_scoped(s, move || -> Result<T> {
                enter(fd, origin)?;
                Ok(f())
            })
            .map_err(|e| os_error(e, CONTEXT_ENTER, "(starting a thread)"))?;
        match handle.join() {
            Ok(r) => r,
            Err(panic) => std::panic::resume_unwind(panic),
        }
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    /// The errno, context and message of an [`Error::Os`].
    fn os(r: Result<NetNs>) -> (i32, String, String) {
        match r {
            Err(Error::Os(e)) => {
                (e.errno(), e.context().to_owned(), e.message().unwrap_or_default().to_owned())
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn bad_names_are_refused_before_opening() {
        for name in ["", ".", "..", "a/b", "/abs", "../x", "a\0b"] {
            let (errno, context, message) = os(NetNs::named(name));
            assert_eq!((errno, context.as_str()), (libc::EINVAL, CONTEXT_NAMED), "{name:?}");
            assert!(message.contains("not a valid network namespace name"), "{message}");
        }
        assert_eq!(bad_name("blue"), None);
        assert_eq!(bad_name("a.b-c_1"), None);
    }

    #[test]
    fn missing_named_namespace_says_so() {
        let name = format!("ipvs-no-such-ns-{}", std::process::id());
        let (errno, _, message) = os(NetNs::named(&name));
        assert_eq!(errno, libc::ENOENT);
        assert!(message.contains(&format!("no network namespace named {name:?}")), "{message}");
        assert!(message.contains("ip netns add"), "{message}");
        let e = NetNs::path("/nonexistent/ipvs/ns").unwrap_err();
        assert_eq!(e.errno(), Some(libc::ENOENT));
        assert!(e.to_string().contains("/nonexistent/ipvs/ns: No such file or directory"), "{e}");
    }

    #[test]
    fn non_namespaces_are_refused() {
        // A directory: refused before it is opened.
        let (errno, _, message) = os(NetNs::path("/"));
        assert_eq!(errno, libc::EINVAL);
        assert_eq!(message, "/ is not a network namespace (a directory)");
        // A regular file, by path and by descriptor.
        let exe = std::env::current_exe().unwrap();
        let (errno, _, message) = os(NetNs::path(&exe));
        assert_eq!(errno, libc::EINVAL);
        assert!(message.ends_with("is not a network namespace (a regular file)"), "{message}");
        let fd = OwnedFd::from(File::open(&exe).unwrap());
        assert_eq!(os(NetNs::from_fd(fd)).0, libc::EINVAL);
    }

    #[test]
    fn other_namespace_kinds_are_named() {
        // Opening one's own namespaces needs no privilege; NS_GET_NSTYPE needs Linux 4.11.
        let (errno, _, message) = os(NetNs::path("/proc/thread-self/ns/uts"));
        assert_eq!(errno, libc::EINVAL);
        assert!(message.contains("is not a network namespace"), "{message}");
    }

    #[test]
    fn permission_errors_name_the_privilege() {
        let e = os_error(io::Error::from_raw_os_error(libc::EACCES), CONTEXT_PATH, "/run/netns/x");
        assert_eq!(e.kind(), ipvs_core::ErrorKind::PermissionDenied(Privilege::FileAccess));
        assert_eq!(e.errno(), Some(libc::EACCES));
        assert!(e.to_string().contains("/run/netns/x"), "{e}");
    }

    #[test]
    fn current_namespace_opens_and_clones() {
        let here = NetNs::current().unwrap();
        let again = NetNs::path("/proc/self/ns/net").unwrap();
        assert_eq!(here.inode(), again.inode());
        let copy = here.try_clone().unwrap();
        assert_eq!(copy.inode(), here.inode());
        assert_ne!(copy.as_raw_fd(), here.as_raw_fd());
        let fd = OwnedFd::from(copy);
        assert_eq!(NetNs::from_fd(fd).unwrap().inode(), here.inode());
    }

    #[test]
    fn netns_is_send_and_sync() {
        fn both<T: Send + Sync>() {}
        both::<NetNs>();
    }
}
