//! `ipvsadm -R` input: rules text read line by line as ipvsadm reads it, each line parsed like
//! a command line, and the table the rules describe ([`RuleSet`]).
//!
//! ```
//! use ipvs_core::ipvsadm::rules::{restore, CommentMode, RuleSet};
//! use ipvs_core::ipvsadm::cmdline::Parser;
//!
//! let text = "# web\n-A -t 10.0.0.1:80 -s rr\nipvsadm -a -t 10.0.0.1:80 -r 192.168.1.10:80 -m\n";
//! // ipvsadm -R fails on the comment line (and stops there)...
//! let strict = restore(text, CommentMode::Ipvsadm, &Parser::new());
//! assert_eq!(strict.fatal.unwrap().to_string(),
//!            "line 1: Try `ipvsadm -h' or 'ipvsadm --help' for more information.");
//! // ...while ipvsadm-restore drops lines starting with '#'.
//! let lenient = restore(text, CommentMode::Restore, &Parser::new());
//! assert_eq!(lenient.lines.len(), 2);
//! assert_eq!(lenient.lines[1].line, 3);
//!
//! let set = RuleSet::from_text_with(text, CommentMode::Restore, &Parser::new()).unwrap();
//! assert_eq!(set.services.len(), 1);
//! assert_eq!(set.save(true), "-A -t 10.0.0.1:80 -s rr\n-a -t 10.0.0.1:80 -r 192.168.1.10:80 -m -w 1\n");
//! ```
//!
//! # How ipvsadm reads rules
//!
//! Tokens are runs of characters other than space, tab, CR and newline (at most 4096 bytes;
//! longer runs are split); a newline ends a command line; a token that is exactly `ipvsadm`
//! is dropped wherever it is; lines without tokens are skipped. Quirks reproduced:
//! * `#` starts no comment: a comment line is parsed as a command line, fails, and ends the
//!   restore ([`CommentMode::Ipvsadm`]). `ipvsadm-restore` removes lines that start with `#`
//!   first ([`CommentMode::Restore`]).
//! * A last line without a newline is used, unless it ends in two or more blanks: then the
//!   reader hits the end of input while skipping blanks and drops the line.
//! * A line's errors end the restore (the lines before stay applied), except popt's errors
//!   after the command, which are printed and skipped ([`CmdError::ends_restore`]).
//! * `-R` inside the input ends it with the "Try ..." message (exit 255); `-h` and `-v` print
//!   their text and end it with status 0.

use std::borrow::Cow;
use std::fmt;

use thiserror::Error;

use super::cmdline::{CmdError, Command, Parser};
use super::list::{save_rules, sort_dests, sort_services};
use super::NumericResolver;
use crate::backend::Operation;
use crate::dest::{Destination, DestinationKey};
use crate::error::{Error, Object};
use crate::service::{Service, ServiceKey};
use crate::status::{DestinationStatus, ServiceStatus, Stats};

/// How `#` lines are treated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum CommentMode {
    /// As `ipvsadm -R`: no comments at all.
    #[default]
    Ipvsadm,
    /// As the `ipvsadm-restore` script: lines whose first character is `#` are removed first
    /// (and the input gets a final newline, as the script's `echo` gives it).
    Restore,
}

/// One command line of the input: its line number (from 1), its words and the command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleLine {
    /// The line number, from 1.
    pub line: usize,
    /// The words ipvsadm passed to its parser (without `ipvsadm` tokens).
    pub args: Words,
    /// The parsed command.
    pub command: Command,
}

/// The words of a command line, in one allocation.
///
/// ```
/// use ipvs_core::ipvsadm::cmdline::Parser;
/// use ipvs_core::ipvsadm::rules::{restore, CommentMode};
/// let r = restore("ipvsadm -A -t 10.0.0.1:80\n", CommentMode::Ipvsadm, &Parser::new());
/// let args = &r.lines[0].args;
/// assert_eq!(args.len(), 3);
/// assert_eq!(args.iter().collect::<Vec<_>>(), ["-A", "-t", "10.0.0.1:80"]);
/// assert_eq!(*args, vec!["-A".to_string(), "-t".into(), "10.0.0.1:80".into()]);
/// ```
#[derive(Clone, PartialEq, Eq, Hash, Default)]
pub struct Words {
    /// The words, each followed by a NUL (which no word holds: the reader cuts words there).
    joined: String,
    len: usize,
}

impl Words {
    /// How many words.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The words, in order.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = &str> + '_ {
        let mut rest = self.joined.as_str();
        (0..self.len).map(move |_| {
            let (word, tail) = rest.split_once('\0').unwrap_or((rest, ""));
            rest = tail;
            word
        })
    }

    /// The words as strings.
    pub fn to_vec(&self) -> Vec<String> {
        self.iter().map(str::to_owned).collect()
    }

    /// Words without NULs (as the reader gives them), in one allocation of the right size.
    fn of_words(words: &[&str]) -> Self {
        let mut joined = String::with_capacity(words.iter().map(|w| w.len() + 1).sum());
        for w in words {
            joined.push_str(w);
            joined.push('\0');
        }
        Words { joined, len: words.len() }
    }

    fn push(&mut self, word: &str) {
        self.joined.extend(word.split('\0').next());
        self.joined.push('\0');
        self.len += 1;
    }
}

impl<S: AsRef<str>> FromIterator<S> for Words {
    /// The words, each cut at its first NUL (as C sees it).
    fn from_iter<I: IntoIterator<Item = S>>(iter: I) -> Self {
        let mut w = Words::default();
        for s in iter {
            w.push(s.as_ref());
        }
        w
    }
}

impl fmt::Debug for Words {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

impl<S: AsRef<str>> PartialEq<Vec<S>> for Words {
    fn eq(&self, other: &Vec<S>) -> bool {
        self.len == other.len() && self.iter().zip(other).all(|(a, b)| a == b.as_ref())
    }
}

impl<S: AsRef<str>> PartialEq<[S]> for Words {
    fn eq(&self, other: &[S]) -> bool {
        self.len == other.len() && self.iter().zip(other).all(|(a, b)| a == b.as_ref())
    }
}

impl RuleLine {
    /// The table change the line makes, if it makes one (see [`Command::to_operation`]).
    pub fn operation(&self) -> Option<Operation> {
        self.command.to_operation()
    }
}

/// The table changes of rules text in order, with their line numbers, failing on the first
/// line that does not parse (commands that change nothing, such as `-L`, are left out).
pub fn operations(
    text: &str,
    mode: CommentMode,
    parser: &Parser<'_>,
) -> Result<Vec<(usize, Operation)>, RuleError> {
    Ok(parse_rules(text, mode, parser)?.iter().filter_map(|l| Some((l.line, l.operation()?))).collect())
}

/// A line that failed to parse.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("line {line}: {error}")]
pub struct RuleError {
    /// The line number, from 1.
    pub line: usize,
    /// What ipvsadm would report.
    pub error: CmdError,
}

/// The outcome of reading rules as `ipvsadm -R` does.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Restore {
    /// The commands, in order, up to the end or to the line that ended the restore. A final
    /// [`Command::Help`] or [`Command::Version`] also ends it (ipvsadm prints and exits 0).
    pub lines: Vec<RuleLine>,
    /// Lines skipped after popt errors (ipvsadm prints them and goes on).
    pub errors: Vec<RuleError>,
    /// The error that ended the restore, if one did (ipvsadm exits with its
    /// [`CmdError::exit_code`]).
    pub fatal: Option<RuleError>,
}

/// The command lines of `text` as ipvsadm's reader (`config_stream_read`) splits them: line
/// number and words, for lines with at least one word.
pub fn tokenize(text: &[u8]) -> Vec<(usize, Vec<String>)> {
    let mut out = Vec::new();
    let mut reader = Reader::default();
    let mut words = Vec::new();
    while let Some(line) = reader.next_line(text, &mut words) {
        let words = words
            .iter()
            .map(|&(a, b)| String::from_utf8_lossy(text.get(a..b).unwrap_or_default()).into_owned());
        out.push((line, words.collect()));
    }
    out
}

/// ipvsadm's reader (`config_stream_read`, one `fscanf("%4096s")` per word) as a state machine
/// over the text: [`Reader::next_line`] gives the next line that has words, as byte ranges of
/// the text, without copying anything.
#[derive(Debug, Clone, Default)]
struct Reader {
    pos: usize,
    /// The number of the line `pos` is in, from 0 (one less than ipvsadm's).
    newlines: usize,
    done: bool,
}

/// How a line of the reader ended.
enum LineEnd {
    /// At a newline: the line is used (if it has words) and reading goes on.
    Newline,
    /// At the end of the input: the line is used (if it has words), and nothing follows.
    End,
    /// At the end of the input while blanks were skipped: the line is dropped.
    EndInBlanks,
}

impl Reader {
    /// The longest word `fscanf("%4096s")` reads; longer runs are split.
    const MAX: usize = 4096;

    fn is_delim(b: u8) -> bool {
        matches!(b, b' ' | b'\t' | b'\n' | b'\r')
    }

    /// The number (from 1) of the next line with words, its words in `words` (byte ranges of
    /// `text`, each cut at its first NUL, without `ipvsadm` tokens); `None` at the end.
    fn next_line(&mut self, text: &[u8], words: &mut Vec<(usize, usize)>) -> Option<usize> {
        while !self.done {
            let line = self.newlines + 1;
            words.clear();
            match self.scan_line(text, words) {
                LineEnd::Newline if words.is_empty() => {}
                LineEnd::Newline => return Some(line),
                LineEnd::End => {
                    self.done = true;
                    return (!words.is_empty()).then_some(line);
                }
                LineEnd::EndInBlanks => self.done = true,
            }
        }
        None
    }

    fn scan_line(&mut self, text: &[u8], words: &mut Vec<(usize, usize)>) -> LineEnd {
        loop {
            let Some(&c) = text.get(self.pos) else { return LineEnd::End };
            if Self::is_delim(c) {
                // The word conversion fails on a delimiter: skip blanks up to a newline.
                loop {
                    let Some(&c) = text.get(self.pos) else { return LineEnd::EndInBlanks };
                    match c {
                        b'\n' => {
                            self.pos += 1;
                            self.newlines += 1;
                            return LineEnd::Newline;
                        }
                        b'\t' | b'\r' | b' ' => self.pos += 1,
                        _ => break,
                    }
                }
                continue;
            }
            let begin = self.pos;
            let limit = text.len().min(begin + Self::MAX);
            let end = text.get(begin..limit).and_then(|w| w.iter().position(|&b| Self::is_delim(b)));
            self.pos = end.map_or(limit, |n| begin + n);
            let word = text.get(begin..self.pos).unwrap_or_default();
            let cut = word.iter().position(|&b| b == 0).map_or(self.pos, |n| begin + n);
            if text.get(begin..cut) != Some(&b"ipvsadm"[..]) {
                words.push((begin, cut));
            }
            if let Some(&tail) = text.get(self.pos).filter(|&&b| Self::is_delim(b)) {
                self.pos += 1;
                if tail == b'\n' {
                    self.newlines += 1;
                    return LineEnd::Newline;
                }
            }
        }
    }
}

fn prepare(text: &str, mode: CommentMode) -> Cow<'_, str> {
    match mode {
        CommentMode::Ipvsadm => Cow::Borrowed(text),
        CommentMode::Restore => {
            // Removed lines are blanked rather than dropped, to keep the line numbers.
            let mut s: String = text
                .split_inclusive('\n')
                .map(|l| {
                    if l.starts_with('#') {
                        if l.ends_with('\n') {
                            "\n"
                        } else {
                            ""
                        }
                    } else {
                        l
                    }
                })
                .collect();
            // `$(...)` drops trailing newlines and `echo` adds one.
            while s.ends_with('\n') {
                s.pop();
            }
            s.push('\n');
            Cow::Owned(s)
        }
    }
}

/// Reads `text` as `ipvsadm -R` does (or as `ipvsadm-restore` does, with
/// [`CommentMode::Restore`]), parsing each line with `parser`.
pub fn restore(text: &str, mode: CommentMode, parser: &Parser<'_>) -> Restore {
    let mut r = Restore::default();
    for item in restore_items(text, mode, parser) {
        match item {
            RestoreItem::Line(l) => r.lines.push(l),
            RestoreItem::Skipped(e) => r.errors.push(e),
            RestoreItem::Fatal(e) => r.fatal = Some(e),
        }
    }
    r
}

/// One step of reading rules as `ipvsadm -R` does, in line order; see [`restore_items`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RestoreItem {
    /// A command to run ([`Command::Help`] and [`Command::Version`] end the input).
    Line(RuleLine),
    /// A line ipvsadm prints an error for and skips.
    Skipped(RuleError),
    /// The error that ends the restore (the last item).
    Fatal(RuleError),
}

/// [`restore`] one line at a time, so that a caller can start carrying out the first commands
/// while later lines are still being parsed (ipvsadm-rs parses on one thread and sends on
/// another). Each line is read and parsed when the iterator reaches it; lines as `ipvsadm -S`
/// writes them take the parser's fast path (see [`Parser::parse`]), without copying a word.
///
/// ```
/// use ipvs_core::ipvsadm::cmdline::Parser;
/// use ipvs_core::ipvsadm::rules::{restore_items, CommentMode, RestoreItem};
/// let parser = Parser::new();
/// let items: Vec<_> = restore_items("-A -t 10.0.0.1:80\n-X\n-C\n", CommentMode::Ipvsadm, &parser).collect();
/// assert!(matches!(items[0], RestoreItem::Line(_)));
/// assert!(matches!(items[1], RestoreItem::Fatal(_))); // -X ends it: -C is never reached
/// assert_eq!(items.len(), 2);
/// ```
pub fn restore_items<'a>(
    text: &'a str,
    mode: CommentMode,
    parser: &'a Parser<'_>,
) -> impl Iterator<Item = RestoreItem> + 'a {
    RestoreItems {
        text: prepare(text, mode),
        reader: Reader::default(),
        words: Vec::new(),
        parser,
        ended: false,
    }
}

/// The iterator of [`restore_items`].
struct RestoreItems<'a, 'r> {
    text: Cow<'a, str>,
    reader: Reader,
    /// The current line's words, as byte ranges of `text` (kept to reuse the allocation).
    words: Vec<(usize, usize)>,
    parser: &'a Parser<'r>,
    ended: bool,
}

impl Iterator for RestoreItems<'_, '_> {
    type Item = RestoreItem;

    fn next(&mut self) -> Option<RestoreItem> {
        if self.ended {
            return None;
        }
        let text: &str = &self.text;
        let line = self.reader.next_line(text.as_bytes(), &mut self.words)?;
        let args: Words;
        let parsed = {
            /// Lines with up to this many words are parsed from the text itself.
            const INLINE: usize = 32;
            let mut inline = [""; INLINE];
            let whole = self.words.len() <= INLINE
                && self.words.iter().zip(inline.iter_mut()).all(|(&(a, b), slot)| match text.get(a..b) {
                    Some(w) => {
                        *slot = w;
                        true
                    }
                    // A word cut inside a character (at 4096 bytes): read as ipvsadm's
                    // reader passes it on, lossily, below.
                    None => false,
                });
            if whole {
                let words = inline.get(..self.words.len()).unwrap_or_default();
                args = Words::of_words(words);
                self.parser.parse_strs(words)
            } else {
                let bytes = text.as_bytes();
                let owned: Vec<String> = self
                    .words
                    .iter()
                    .map(|&(a, b)| String::from_utf8_lossy(bytes.get(a..b).unwrap_or_default()).into_owned())
                    .collect();
                args = owned.iter().collect();
                let words: Vec<&str> = owned.iter().map(String::as_str).collect();
                self.parser.parse_strs(&words)
            }
        };
        Some(match parsed {
            Ok(Command::Restore) => {
                self.ended = true;
                let error = CmdError::TryHelp { program: self.parser.program_name().to_owned() };
                RestoreItem::Fatal(RuleError { line, error })
            }
            Ok(command) => {
                self.ended = matches!(command, Command::Help | Command::Version);
                RestoreItem::Line(RuleLine { line, args, command })
            }
            Err(error) if error.ends_restore() => {
                self.ended = true;
                RestoreItem::Fatal(RuleError { line, error })
            }
            Err(error) => RestoreItem::Skipped(RuleError { line, error }),
        })
    }
}

/// Parses rules text, failing on the first line that does not parse (a stricter reading than
/// ipvsadm's, which skips some errors), or that is `-R`.
pub fn parse_rules(text: &str, mode: CommentMode, parser: &Parser<'_>) -> Result<Vec<RuleLine>, RuleError> {
    let r = restore(text, mode, parser);
    if let Some(e) = r.errors.into_iter().next() {
        // A skipped line comes before any fatal one.
        return Err(e);
    }
    match r.fatal {
        Some(e) => Err(e),
        None => Ok(r.lines),
    }
}

/// Why rules text does not give a table.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum RulesError {
    /// A line does not parse.
    #[error(transparent)]
    Parse(#[from] RuleError),
    /// A line's change would fail in the kernel (for example a real server of a service that
    /// does not exist).
    #[error("line {line}: {error}")]
    Apply {
        /// The line number, from 1.
        line: usize,
        /// The error the kernel would return.
        error: Error,
    },
}

/// The virtual services and real servers the kernel would hold after a sequence of commands,
/// starting from an empty table.
///
/// Services are in the order they were added; each service's real servers are in the kernel's
/// list order, newest first (the order schedulers see them). [`RuleSet::sorted`] gives
/// ipvsadm's listing order instead.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RuleSet {
    /// Each service with its real servers.
    pub services: Vec<(Service, Vec<Destination>)>,
}

impl RuleSet {
    /// An empty table.
    pub fn new() -> Self {
        RuleSet::default()
    }

    /// The service with this key and its real servers.
    pub fn service(&self, key: &ServiceKey) -> Option<&(Service, Vec<Destination>)> {
        self.services.iter().find(|(s, _)| s.key == *key)
    }

    /// Applies one change as the kernel would: the operation is validated first, adding what
    /// exists fails with [`Error::Exists`], changing what does not with [`Error::NotFound`].
    /// Counters, timeouts and daemons are not part of the set, so `-Z`, `--set` and the daemon
    /// commands change nothing. Scheduler and engine names are not checked against a kernel.
    pub fn apply(&mut self, op: &Operation) -> Result<(), Error> {
        let mut index = ServiceIndex::of(&self.services);
        self.apply_indexed(op, &mut index)
    }

    /// [`RuleSet::apply`] with a service index kept across calls (the index must describe
    /// `self.services`; every change here keeps it so).
    fn apply_indexed(&mut self, op: &Operation, index: &mut ServiceIndex) -> Result<(), Error> {
        op.validate()?;
        match op {
            Operation::AddService(s) => {
                if index.0.contains_key(&s.key) {
                    return Err(Error::exists(Object::Service));
                }
                let mut s = s.clone();
                s.flags = s.flags_to_write();
                index.0.insert(s.key, self.services.len());
                self.services.push((s, Vec::new()));
            }
            Operation::EditService(s) => {
                let i = index.find(&s.key)?;
                let mut s = s.clone();
                s.flags = s.flags_to_write();
                self.services[i].0 = s;
            }
            Operation::DeleteService(k) => {
                let i = index.find(k)?;
                self.services.remove(i);
                *index = ServiceIndex::of(&self.services);
            }
            Operation::AddDestination(k, d) => {
                let dests = &mut self.services[index.find(k)?].1;
                if dests.iter().any(|x| x.key() == d.key()) {
                    return Err(Error::exists(Object::Destination));
                }
                dests.insert(0, d.clone());
            }
            Operation::EditDestination(k, d) => {
                let slot = self.services[index.find(k)?]
                    .1
                    .iter_mut()
                    .find(|x| x.key() == d.key())
                    .ok_or(Error::not_found(Object::Destination))?;
                *slot = d.clone();
            }
            Operation::DeleteDestination(k, dk) => {
                let dests = &mut self.services[index.find(k)?].1;
                let j =
                    dests.iter().position(|x| x.key() == *dk).ok_or(Error::not_found(Object::Destination))?;
                dests.remove(j);
            }
            Operation::Flush => {
                self.services.clear();
                index.0.clear();
            }
            _ => {}
        }
        Ok(())
    }

    /// Applies the commands of `lines` in order, stopping at the first change that fails.
    pub fn from_lines(lines: &[RuleLine]) -> Result<RuleSet, RulesError> {
        let mut set = RuleSet::new();
        let mut index = ServiceIndex::default();
        for l in lines {
            if let Some(op) = l.command.to_operation() {
                set.apply_indexed(&op, &mut index)
                    .map_err(|error| RulesError::Apply { line: l.line, error })?;
            }
        }
        Ok(set)
    }

    /// The table described by rules text (as `ipvsadm -R` reads it, numeric only), failing
    /// on the first line that does not parse or apply.
    pub fn from_text(text: &str) -> Result<RuleSet, RulesError> {
        RuleSet::from_text_with(text, CommentMode::Ipvsadm, &Parser::new())
    }

    /// [`RuleSet::from_text`] with a comment mode and a parser of your choice.
    pub fn from_text_with(text: &str, mode: CommentMode, parser: &Parser<'_>) -> Result<RuleSet, RulesError> {
        RuleSet::from_lines(&parse_rules(text, mode, parser)?)
    }

    /// The same table in ipvsadm's listing order (services and real servers sorted as
    /// `ipvsadm -L` sorts them).
    pub fn sorted(&self) -> RuleSet {
        let mut services = self.services.clone();
        sort_services(&mut services, |(s, _)| s.key);
        for (_, d) in &mut services {
            sort_dests(d, |x: &Destination| x.key());
        }
        RuleSet { services }
    }

    /// `ipvsadm -S` of this table (`-S -n` with `numeric`; without it names would need a
    /// resolver, see [`save_rules`]).
    pub fn save(&self, numeric: bool) -> String {
        save_rules(&self.services, numeric, &NumericResolver)
    }

    /// The table as a backend would report it, with zero counters (for the listing functions).
    pub fn to_statuses(&self) -> Vec<(ServiceStatus, Vec<DestinationStatus>)> {
        self.services
            .iter()
            .map(|(s, ds)| {
                let status =
                    ServiceStatus { service: s.clone(), stats: Stats::default(), stats32: Stats::default() };
                (status, ds.iter().cloned().map(DestinationStatus::new).collect())
            })
            .collect()
    }

    /// The real-server keys of a service, if it exists.
    pub fn dest_keys(&self, key: &ServiceKey) -> Option<Vec<DestinationKey>> {
        self.service(key).map(|(_, d)| d.iter().map(Destination::key).collect())
    }
}

/// Where each service of a [`RuleSet`] is in its list, so that a restore of thousands of
/// services does not search the list for every line.
#[derive(Debug, Default)]
struct ServiceIndex(std::collections::HashMap<ServiceKey, usize>);

impl ServiceIndex {
    fn of(services: &[(Service, Vec<Destination>)]) -> Self {
        ServiceIndex(services.iter().enumerate().map(|(i, (s, _))| (s.key, i)).collect())
    }

    fn find(&self, key: &ServiceKey) -> Result<usize, Error> {
        self.0.get(key).copied().ok_or(Error::not_found(Object::Service))
    }
}

impl fmt::Display for RuleSet {
    /// The `ipvsadm -S -n` text of the table.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.save(true))
    }
}
