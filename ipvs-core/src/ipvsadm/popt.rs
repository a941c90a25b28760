//! The slice of popt 1.19's `poptGetNextOpt` that ipvsadm's option table exercises.
//!
//! Behaviour reproduced (from popt's documented and observed semantics):
//! * long options need two dashes and the exact name (no abbreviations); `--name=value` gives
//!   an argument; a single-dash word is read as a bundle of short options (`-Ln`);
//! * a short option with an argument takes the rest of its bundle (`-s=rr` and `-srr` both
//!   give `rr`; one leading `=` is skipped), else the next word whatever it looks like;
//! * an optional argument (`-p`) is taken from the next word only if that word does not start
//!   with `-`;
//! * `--` makes every later word a plain argument; a lone `-` and any word not starting with
//!   `-` are plain arguments (collected for `poptGetArg`), unless `POSIXLY_CORRECT` is set, in
//!   which case the first plain argument ends option processing;
//! * an option argument containing `!#:+` has it replaced by the next word that does not start
//!   with `-`, which is then removed from the words still to be read (popt's "arg expansion").

/// How an option takes an argument.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ArgKind {
    None,
    Required,
    Optional,
}

/// One entry of an option table.
#[derive(Debug, Clone, Copy)]
pub(crate) struct OptDef<T: Copy> {
    pub long: &'static str,
    pub short: u8,
    pub arg: ArgKind,
    pub tag: T,
}

/// An option found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Hit<T> {
    pub tag: T,
    /// The argument for options that take one (`None` for an absent optional argument).
    pub arg: Option<String>,
}

/// popt's error codes that this table can produce.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PoptErrorKind {
    /// `POPT_ERROR_NOARG`.
    NoArg,
    /// `POPT_ERROR_UNWANTEDARG`.
    UnwantedArg,
    /// `POPT_ERROR_BADOPT`.
    BadOpt,
    /// Not a popt error: popt 1.19 loops forever when `!#:+` finds no later plain word while
    /// words remain (its `findNextArg` retries the same search).
    Loops,
}

impl PoptErrorKind {
    /// `poptStrerror`.
    pub fn message(self) -> &'static str {
        match self {
            PoptErrorKind::NoArg => "missing argument",
            PoptErrorKind::UnwantedArg => "option does not take an argument",
            PoptErrorKind::BadOpt => "unknown option",
            PoptErrorKind::Loops => "`!#:+' found no argument",
        }
    }
}

/// The parser state (`poptContext` without aliases, execs or callbacks).
pub(crate) struct Popt<'t, T: Copy> {
    table: &'t [OptDef<T>],
    args: Vec<String>,
    deleted: Vec<bool>,
    next: usize,
    /// Pending rest of a short-option bundle: (word index, byte offset).
    next_char: Option<(usize, usize)>,
    rest_leftover: bool,
    posixly_correct: bool,
    leftovers: Vec<String>,
    next_leftover: usize,
}

impl<'t, T: Copy> Popt<'t, T> {
    /// A context over `args` (without the program name).
    pub fn new(table: &'t [OptDef<T>], args: Vec<String>, posixly_correct: bool) -> Self {
        let n = args.len();
        Popt {
            table,
            args,
            deleted: vec![false; n],
            next: 0,
            next_char: None,
            rest_leftover: false,
            posixly_correct,
            leftovers: Vec::new(),
            next_leftover: 0,
        }
    }

    /// `poptBadOption(con, POPT_BADOPTION_NOALIAS)`: the last word read, if any.
    pub fn bad_option(&self) -> Option<&str> {
        if self.next == 0 {
            None
        } else {
            self.args.get(self.next - 1).map(String::as_str)
        }
    }

    /// `poptGetArg`: the next plain argument.
    pub fn get_arg(&mut self) -> Option<String> {
        let r = self.leftovers.get(self.next_leftover).cloned();
        if r.is_some() {
            self.next_leftover += 1;
        }
        r
    }

    fn find_long(&self, name: &[u8]) -> Option<&'t OptDef<T>> {
        self.table.iter().find(|o| o.long.as_bytes() == name)
    }

    fn find_short(&self, c: u8) -> Option<&'t OptDef<T>> {
        if c == 0 {
            return None;
        }
        self.table.iter().find(|o| o.short == c)
    }

    /// `findNextArg(con, 1, 1)`: the next word not starting with `-`, marked as consumed.
    /// popt gives up only when no word is left; otherwise it searches again forever.
    fn find_next_arg(&mut self) -> Result<Option<String>, PoptErrorKind> {
        if self.next >= self.args.len() {
            return Ok(None);
        }
        for i in self.next..self.args.len() {
            if self.deleted[i] || self.args[i].starts_with('-') {
                continue;
            }
            self.deleted[i] = true;
            return Ok(Some(self.args[i].clone()));
        }
        Err(PoptErrorKind::Loops)
    }

    /// `expandNextArg`: replaces each `!#:+` with the next plain word (found once).
    fn expand(&mut self, s: &str) -> Result<String, PoptErrorKind> {
        if !s.contains("!#:+") {
            return Ok(s.to_owned());
        }
        let mut out = String::with_capacity(s.len());
        let mut found: Option<String> = None;
        let mut rest = s;
        while let Some(pos) = rest.find('!') {
            out.push_str(&rest[..pos]);
            let after = &rest[pos + 1..];
            if let Some(tail) = after.strip_prefix("#:+") {
                if found.is_none() {
                    found = self.find_next_arg()?;
                }
                if let Some(a) = &found {
                    out.push_str(a);
                    rest = tail;
                    continue;
                }
            }
            out.push('!');
            rest = after;
        }
        out.push_str(rest);
        Ok(out)
    }

    /// `poptGetNextOpt`: `Ok(Some(hit))` for an option, `Ok(None)` at the end.
    pub fn next_opt(&mut self) -> Result<Option<Hit<T>>, PoptErrorKind> {
        loop {
            let mut long_arg: Option<String> = None;
            let opt: &'t OptDef<T>;
            if self.next_char.is_none() {
                if self.next >= self.args.len() {
                    return Ok(None);
                }
                if self.deleted[self.next] {
                    self.next += 1;
                    continue;
                }
                let idx = self.next;
                self.next += 1;
                let word = self.args[idx].clone();
                let wb = word.as_bytes();
                if self.rest_leftover || wb.first() != Some(&b'-') || wb.len() == 1 {
                    if self.posixly_correct {
                        self.rest_leftover = true;
                    }
                    self.leftovers.push(word);
                    continue;
                }
                if wb.len() == 2 && wb[1] == b'-' {
                    self.rest_leftover = true;
                    continue;
                }
                let (name_start, one_dash) = if wb[1] == b'-' { (2, false) } else { (1, true) };
                let body = &wb[name_start..];
                let name_len = body.iter().position(|&b| b == b'=').unwrap_or(body.len());
                let found = if one_dash { None } else { self.find_long(&body[..name_len]) };
                match found {
                    Some(o) => {
                        opt = o;
                        if name_len < body.len() {
                            long_arg = Some(word[name_start + name_len + 1..].to_owned());
                        }
                    }
                    None if !one_dash => return Err(PoptErrorKind::BadOpt),
                    None => {
                        // A bundle of short options, starting after the dash.
                        self.next_char = Some((idx, 1));
                        match self.short_step()? {
                            Some(o) => opt = o,
                            None => continue,
                        }
                    }
                }
            } else {
                match self.short_step()? {
                    Some(o) => opt = o,
                    None => continue,
                }
            }

            match opt.arg {
                ArgKind::None => {
                    let eq_next = self
                        .next_char
                        .is_some_and(|(w, off)| self.args[w].as_bytes().get(off) == Some(&b'='));
                    if long_arg.is_some() || eq_next {
                        return Err(PoptErrorKind::UnwantedArg);
                    }
                    return Ok(Some(Hit { tag: opt.tag, arg: None }));
                }
                ArgKind::Required | ArgKind::Optional => {
                    let value = if let Some(a) = long_arg {
                        Some(self.expand(&a)?)
                    } else if let Some((w, mut off)) = self.next_char.take() {
                        if self.args[w].as_bytes().get(off) == Some(&b'=') {
                            off += 1;
                        }
                        let raw = self.args[w][off..].to_owned();
                        Some(self.expand(&raw)?)
                    } else if self.next >= self.args.len() {
                        if opt.arg == ArgKind::Required {
                            return Err(PoptErrorKind::NoArg);
                        }
                        None
                    } else if opt.arg == ArgKind::Optional && self.args[self.next].starts_with('-') {
                        None
                    } else {
                        // The next word, even one already taken by an expansion (as popt does).
                        let raw = self.args[self.next].clone();
                        self.next += 1;
                        Some(self.expand(&raw)?)
                    };
                    return Ok(Some(Hit { tag: opt.tag, arg: value }));
                }
            }
        }
    }

    /// Reads the next character of the pending short-option bundle.
    fn short_step(&mut self) -> Result<Option<&'t OptDef<T>>, PoptErrorKind> {
        let Some((w, off)) = self.next_char.take() else { return Ok(None) };
        let c = self.args[w].as_bytes().get(off).copied().unwrap_or(0);
        let opt = self.find_short(c).ok_or(PoptErrorKind::BadOpt)?;
        if off + 1 < self.args[w].len() {
            self.next_char = Some((w, off + 1));
        }
        Ok(Some(opt))
    }
}
