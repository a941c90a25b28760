//! keepalived's file format, read as keepalived 2.2 reads it (`lib/parser.c`): lines,
//! comments (`#` or `!` outside double quotes), `include` (with globs, relative to the
//! including file's directory), conditional lines (`@id`, `@^id`), parameters (`$NAME=value`,
//! `$NAME`, `${NAME}`), braces as words of their own, and words split at white space with
//! `"..."` kept whole. The result is a tree of [`Node`]s, each with its `file:line`.

use std::collections::HashMap;
use std::path::{Component, Path, PathBuf};

use super::super::config::{origin, ConfigError, ConfigWarning, Origin, Source};

/// How deep includes may nest (keepalived has no limit; a loop would never end).
const MAX_INCLUDE_DEPTH: usize = 32;
/// How many times one line may be rewritten by parameter substitution.
const MAX_SUBSTITUTIONS: usize = 64;
/// How deep blocks may nest (keepalived's deepest is 5: `virtual_server`, `real_server`,
/// `SMTP_CHECK`, `host`; or `HTTP_GET`, `url`).
const MAX_BLOCK_DEPTH: usize = 16;

/// A keyword line and, when a `{ ... }` block follows it, the block's lines.
#[derive(Debug, Clone)]
pub(super) struct Node {
    /// The words: the keyword first.
    pub words: Vec<String>,
    /// The line's text after comments and substitutions (keepalived re-reads it for script
    /// commands and regular expressions, with its quoting and escape rules).
    pub raw: String,
    /// Where the line is.
    pub origin: Origin,
    /// The block after the line, if any.
    pub block: Option<Vec<Node>>,
    /// Where the block's `{` is (for messages).
    pub block_origin: Option<Origin>,
}

impl Node {
    pub fn keyword(&self) -> &str {
        self.words.first().map_or("", String::as_str)
    }

    /// The words after the keyword.
    pub fn args(&self) -> &[String] {
        self.words.get(1..).unwrap_or(&[])
    }
}

/// One logical line: a brace alone, or words.
struct Logical {
    text: String,
    origin: Origin,
}

/// Reading state: definitions, the config id, warnings.
pub(super) struct Lexer<'a> {
    source: &'a dyn Source,
    config_id: Option<String>,
    defs: HashMap<String, String>,
    out: Vec<Logical>,
    pub warnings: Vec<ConfigWarning>,
}

impl<'a> Lexer<'a> {
    pub fn new(source: &'a dyn Source, config_id: Option<String>) -> Self {
        Lexer { source, config_id, defs: HashMap::new(), out: Vec::new(), warnings: Vec::new() }
    }

    /// Reads `path` (and what it includes) into the tree of keyword lines.
    pub fn read(mut self, path: &Path) -> Result<(Vec<Node>, Vec<ConfigWarning>), ConfigError> {
        let text = self.source.read(path).map_err(|e| {
            ConfigError::new(
                origin(path, 0),
                format!("Unable to read configuration file {}: {e}", path.display()),
            )
        })?;
        let mut stack = vec![path.to_path_buf()];
        self.file(path, &text, &mut stack)?;
        let nodes = tree(std::mem::take(&mut self.out))?;
        Ok((nodes, self.warnings))
    }

    fn file(&mut self, path: &Path, text: &str, stack: &mut Vec<PathBuf>) -> Result<(), ConfigError> {
        for (i, raw) in text.split('\n').enumerate() {
            let at = origin(path, u32::try_from(i + 1).unwrap_or(u32::MAX));
            let raw = raw.strip_suffix('\r').unwrap_or(raw);
            let line = decomment(raw).map_err(|m| ConfigError::new(at.clone(), m))?;
            if line.is_empty() {
                continue;
            }
            self.line(path, line, &at, stack)?;
        }
        Ok(())
    }

    /// One line after its comment is removed: conditionals, definitions, substitutions,
    /// includes, then braces.
    fn line(
        &mut self,
        path: &Path,
        mut line: String,
        at: &Origin,
        stack: &mut Vec<PathBuf>,
    ) -> Result<(), ConfigError> {
        let mut rounds = 0;
        loop {
            if let Some(rest) = line.strip_prefix('@') {
                let (negate, rest) = match rest.strip_prefix('^') {
                    Some(r) => (true, r),
                    None => (false, rest),
                };
                let Some(end) = rest.find([' ', '\t']) else { return Ok(()) };
                let matches = self.config_id.as_deref() == Some(&rest[..end]);
                if matches == negate {
                    return Ok(());
                }
                line = rest[end..].trim_start().to_owned();
            }
            if line.starts_with('$') {
                if let Some((name, value)) = definition(&line) {
                    if value.ends_with('\\') {
                        return Err(ConfigError::new(
                            at.clone(),
                            format!("multi-line definition of ${name} is not supported"),
                        ));
                    }
                    self.defs.insert(name.to_owned(), value.to_owned());
                    return Ok(());
                }
            }
            if line.starts_with("~SEQ") || line.starts_with("~LST") {
                return Err(ConfigError::new(at.clone(), "~SEQ and ~LST blocks are not supported"));
            }
            if !line.contains('$') {
                break;
            }
            let dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
            let Some(next) = self.substitute(&line, &dir, at)? else { break };
            rounds += 1;
            if rounds > MAX_SUBSTITUTIONS {
                return Err(ConfigError::new(
                    at.clone(),
                    "parameter substitution does not end (a definition refers to itself)",
                ));
            }
            line = decomment(&next).map_err(|m| ConfigError::new(at.clone(), m))?;
            if line.is_empty() {
                return Ok(());
            }
        }
        if let Some((kind, pattern)) = include(&line) {
            return self.include(path, kind, pattern, at, stack);
        }
        self.braces(&line, at)
    }

    /// Replaces `${NAME}` and `$NAME` (followed by white space or the end) of defined names
    /// and keepalived's predefined ones; `None` when nothing changed.
    fn substitute(&self, line: &str, dir: &Path, at: &Origin) -> Result<Option<String>, ConfigError> {
        let mut out = String::with_capacity(line.len());
        let mut changed = false;
        let mut rest = line;
        while let Some(i) = rest.find('$') {
            out.push_str(&rest[..i]);
            let after = &rest[i + 1..];
            let (name, len, braced) = if let Some(b) = after.strip_prefix('{') {
                match b.find('}') {
                    Some(end) => (&b[..end], end + 2, true),
                    None => ("", 0, true),
                }
            } else {
                let end =
                    after.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).unwrap_or(after.len());
                (&after[..end], end, false)
            };
            let followed_ok = braced || after[len..].is_empty() || after[len..].starts_with([' ', '\t']);
            let value =
                if name.is_empty() || !followed_ok {
                    None
                } else if let Some(v) = self.defs.get(name) {
                    Some(v.clone())
                } else {
                    match name {
                        "_PWD" => Some(dir.display().to_string()),
                        "_INSTANCE" => self.config_id.clone(),
                        "_HASH" => Some("#".to_owned()),
                        "_BANG" => Some("!".to_owned()),
                        n if n == "_RANDOM" || n.starts_with("_RANDOM ") => return Err(ConfigError::new(
                            at.clone(),
                            "${_RANDOM} is not supported (the configuration would change at each reading)",
                        )),
                        _ => None,
                    }
                };
            match value {
                Some(v) => {
                    out.push_str(&v);
                    changed = true;
                    rest = &after[len..];
                }
                None => {
                    out.push('$');
                    rest = after;
                }
            }
        }
        out.push_str(rest);
        Ok(changed.then_some(out))
    }

    fn include(
        &mut self,
        path: &Path,
        kind: char,
        pattern: &str,
        at: &Origin,
        stack: &mut Vec<PathBuf>,
    ) -> Result<(), ConfigError> {
        if pattern.is_empty() {
            return Err(ConfigError::new(at.clone(), "include without a file name"));
        }
        let dir = path.parent().unwrap_or(Path::new(""));
        let wildcard = pattern.contains(['*', '?', '[']) || pattern.contains('{');
        let mut files = Vec::new();
        let alternatives = expand_braces(pattern).ok_or_else(|| {
            ConfigError::new(
                at.clone(),
                format!("'{pattern}' expands to more than {MAX_BRACE_EXPANSIONS} patterns"),
            )
        })?;
        for alternative in alternatives {
            let full = if alternative.starts_with('/') {
                PathBuf::from(&alternative)
            } else {
                dir.join(&alternative)
            };
            let full = normalize(&full);
            let Some(pat) = full.to_str() else { continue };
            let found = self.source.glob(pat).map_err(|e| {
                ConfigError::new(at.clone(), format!("Error reading config file(s) {pat}: {e}"))
            })?;
            files.extend(found);
        }
        if files.is_empty() {
            // keepalived's plain `include` ignores a pattern that matches nothing: so does
            // this for a wildcard (an optional conf.d), not for a file named outright.
            if !wildcard {
                return Err(ConfigError::new(at.clone(), format!("Config files missing '{pattern}'.")));
            }
            if matches!(kind, 'w' | 'a') {
                return Err(ConfigError::new(at.clone(), format!("No config files matched '{pattern}'.")));
            }
            self.warnings.push(ConfigWarning {
                origin: at.clone(),
                message: format!("No config files matched '{pattern}'."),
            });
            return Ok(());
        }
        for file in files {
            if stack.contains(&file) {
                return Err(ConfigError::new(at.clone(), format!("{} includes itself", file.display())));
            }
            if stack.len() >= MAX_INCLUDE_DEPTH {
                return Err(ConfigError::new(
                    at.clone(),
                    format!("includes nest more than {MAX_INCLUDE_DEPTH} deep"),
                ));
            }
            let text = self.source.read(&file).map_err(|e| {
                ConfigError::new(
                    at.clone(),
                    format!("Configuration file '{}' open problem ({e})", file.display()),
                )
            })?;
            stack.push(file.clone());
            let r = self.file(&file, &text, stack);
            stack.pop();
            r?;
        }
        Ok(())
    }

    /// Splits a line at its braces (outside double quotes): each brace is a line of its own.
    fn braces(&mut self, line: &str, at: &Origin) -> Result<(), ConfigError> {
        let mut rest = line.trim();
        while !rest.is_empty() {
            match find_brace(rest) {
                Some(0) => {
                    self.out.push(Logical { text: rest[..1].to_owned(), origin: at.clone() });
                    rest = rest[1..].trim_start();
                }
                Some(i) => {
                    self.out.push(Logical { text: rest[..i].trim_end().to_owned(), origin: at.clone() });
                    rest = &rest[i..];
                }
                None => {
                    self.out.push(Logical { text: rest.to_owned(), origin: at.clone() });
                    break;
                }
            }
        }
        Ok(())
    }
}

/// keepalived's `decomment`: leading and trailing white space removed, the comment (`#` or
/// `!` outside double quotes) cut; `\#` and `\!` outside quotes are the characters.
fn decomment(raw: &str) -> Result<String, String> {
    let s = raw.trim_start_matches([' ', '\t']);
    let mut out = String::with_capacity(s.len());
    let mut quote = false;
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' => {
                quote = !quote;
                out.push(c);
            }
            '\\' => match chars.peek() {
                Some(&n) if !quote && (n == '#' || n == '!') => {
                    out.push(n);
                    chars.next();
                }
                Some(&n) => {
                    out.push(c);
                    out.push(n);
                    chars.next();
                }
                None => out.push(c),
            },
            '#' | '!' if !quote => break,
            _ => out.push(c),
        }
    }
    if quote {
        return Err(format!("Unterminated quote '{}'", s.trim_end()));
    }
    Ok(out.trim_end_matches([' ', '\t']).to_owned())
}

/// `$NAME=value` (no space before the `=`): the name and the value.
fn definition(line: &str) -> Option<(&str, &str)> {
    let rest = line.strip_prefix('$')?;
    let end = rest.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))?;
    let name = &rest[..end];
    if name.is_empty() || name.starts_with(|c: char| c.is_ascii_digit()) {
        return None;
    }
    let value = rest[end..].strip_prefix('=')?;
    Some((name, value.trim()))
}

/// `include FILE` and its variants `includer`, `includem`, `includew`, `includeb`,
/// `includea`: the variant letter (` ` for plain) and the pattern.
fn include(line: &str) -> Option<(char, &str)> {
    let rest = line.strip_prefix("include")?;
    let mut chars = rest.chars();
    match chars.next()? {
        ' ' | '\t' => Some((' ', rest.trim())),
        k @ ('r' | 'm' | 'w' | 'b' | 'a') if matches!(chars.next(), Some(' ' | '\t')) => {
            Some((k, rest[1..].trim()))
        }
        _ => None,
    }
}

/// The first `{` or `}` outside double quotes.
fn find_brace(s: &str) -> Option<usize> {
    let mut quote = false;
    for (i, c) in s.char_indices() {
        match c {
            '"' => quote = !quote,
            '{' | '}' if !quote => return Some(i),
            _ => {}
        }
    }
    None
}

/// The most patterns one `include` may expand to.
const MAX_BRACE_EXPANSIONS: usize = 256;

/// csh-style brace expansion (`a{b,c}d` is `abd`, `acd`), as glob's GLOB_BRACE does; `None`
/// when it gives more than [`MAX_BRACE_EXPANSIONS`] patterns.
pub(super) fn expand_braces(pattern: &str) -> Option<Vec<String>> {
    // Patterns still holding braces, expanded one group at a time, in order.
    let mut todo = vec![pattern.to_owned()];
    let mut out = Vec::new();
    let mut steps = 0;
    while let Some(p) = todo.pop() {
        steps += 1;
        if steps > 16 * MAX_BRACE_EXPANSIONS || out.len() + todo.len() > MAX_BRACE_EXPANSIONS {
            return None;
        }
        match first_group(&p) {
            None => out.push(p),
            Some((open, bounds, close)) => {
                let (head, tail) = (&p[..open], &p[close + 1..]);
                // Pushed in reverse, so they come off the stack in order.
                for w in bounds.windows(2).rev() {
                    todo.push(format!("{head}{}{tail}", &p[w[0] + 1..w[1]]));
                }
            }
        }
    }
    Some(out)
}

/// The first brace group of `p`: where it opens, the positions of `{`, its top-level commas
/// and `}`, and where it closes; `None` when there is no closed group.
fn first_group(p: &str) -> Option<(usize, Vec<usize>, usize)> {
    let open = p.find('{')?;
    let mut depth = 0usize;
    let mut bounds = vec![open];
    for (i, b) in p.bytes().enumerate().skip(open) {
        match b {
            b'{' => depth += 1,
            b'}' => {
                depth -= 1;
                if depth == 0 {
                    bounds.push(i);
                    return Some((open, bounds, i));
                }
            }
            b',' if depth == 1 => bounds.push(i),
            _ => {}
        }
    }
    None
}

/// `a/./b/../c` is `a/c`, without reading the filesystem.
fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                if !out.pop() {
                    out.push("..");
                }
            }
            c => out.push(c.as_os_str()),
        }
    }
    out
}

/// The words of a line as keepalived splits them (`alloc_strvec`): at white space, a word
/// that starts with `"` running to the next `"`; a quote ends an unquoted word.
pub(super) fn words(text: &str) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    let mut rest = text;
    loop {
        rest = rest.trim_start_matches(is_white);
        if rest.is_empty() {
            return Ok(out);
        }
        if let Some(r) = rest.strip_prefix('"') {
            let end = r.find('"').ok_or_else(|| format!("Unmatched quote: '{text}'"))?;
            out.push(r[..end].to_owned());
            rest = &r[end + 1..];
        } else {
            let end = rest.find(|c: char| is_white(c) || c == '"').unwrap_or(rest.len());
            out.push(rest[..end].to_owned());
            rest = &rest[end..];
        }
    }
}

fn is_white(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n' | '\r' | '\x0b' | '\x0c')
}

/// The words of a line with shell-like quoting (`alloc_strvec_quoted_escaped`): `"..."` and
/// `'...'` quote, `\` escapes (`\n`, `\t`, `\xHH`, `\ooo`, `\cX`, ...).
pub(super) fn quoted_words(text: &str) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    let chars: Vec<char> = text.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        while i < chars.len() && is_white(chars[i]) {
            i += 1;
        }
        if i >= chars.len() {
            break;
        }
        let mut word = String::new();
        let mut quote: Option<char> = None;
        while i < chars.len() {
            let c = chars[i];
            if c == '\\' {
                i += 1;
                let Some(&e) = chars.get(i) else {
                    return Err(format!("Missing escape char at end: '{text}'"));
                };
                i += 1;
                match e {
                    'x' if chars.get(i).is_some_and(char::is_ascii_hexdigit) => {
                        let mut v: u32 = 0;
                        while let Some(d) = chars.get(i).and_then(|c| c.to_digit(16)) {
                            v = (v << 4 | d) & 0xff;
                            i += 1;
                        }
                        word.push(char::from(v as u8));
                    }
                    'c' if i < chars.len() => {
                        word.push(char::from((chars[i] as u32 & 0x1f) as u8));
                        i += 1;
                    }
                    '0'..='7' => {
                        let mut v = e.to_digit(8).unwrap_or(0);
                        for _ in 0..2 {
                            match chars.get(i).and_then(|c| c.to_digit(8)) {
                                Some(d) => {
                                    v = v << 3 | d;
                                    i += 1;
                                }
                                None => break,
                            }
                        }
                        word.push(char::from((v & 0xff) as u8));
                    }
                    'a' => word.push('\x07'),
                    'b' => word.push('\x08'),
                    'E' => word.push('\x1b'),
                    'f' => word.push('\x0c'),
                    'n' => word.push('\n'),
                    'r' => word.push('\r'),
                    't' => word.push('\t'),
                    'v' => word.push('\x0b'),
                    other => word.push(other),
                }
                continue;
            }
            match quote {
                Some(q) if c == q => {
                    quote = None;
                    i += 1;
                }
                Some(_) => {
                    word.push(c);
                    i += 1;
                }
                None if c == '"' || c == '\'' => {
                    quote = Some(c);
                    i += 1;
                }
                None if is_white(c) => break,
                None => {
                    word.push(c);
                    i += 1;
                }
            }
        }
        if let Some(q) = quote {
            return Err(format!("String '{text}': missing terminating {q}"));
        }
        out.push(word);
    }
    Ok(out)
}

/// Builds the tree: a `{` line opens the block of the keyword line before it, `}` closes it.
fn tree(lines: Vec<Logical>) -> Result<Vec<Node>, ConfigError> {
    // The stack of open blocks: the nodes read so far at each level.
    let mut stack: Vec<Vec<Node>> = vec![Vec::new()];
    for l in lines {
        match l.text.as_str() {
            "{" => {
                let depth = stack.len();
                let level =
                    stack.last_mut().ok_or_else(|| ConfigError::new(l.origin.clone(), "Unexpected '{'"))?;
                match level.last_mut() {
                    Some(_) if depth > MAX_BLOCK_DEPTH => {
                        return Err(ConfigError::new(
                            l.origin,
                            format!("blocks nest more than {MAX_BLOCK_DEPTH} deep"),
                        ))
                    }
                    Some(n) if n.block.is_none() => {
                        n.block_origin = Some(l.origin.clone());
                        n.block = Some(Vec::new());
                        stack.push(Vec::new());
                    }
                    _ => return Err(ConfigError::new(l.origin, "Unexpected '{' (no keyword before it)")),
                }
            }
            "}" => {
                if stack.len() < 2 {
                    return Err(ConfigError::new(l.origin, "Extra '}' found"));
                }
                let done = stack.pop().unwrap_or_default();
                if let Some(parent) = stack.last_mut().and_then(|lvl| lvl.last_mut()) {
                    parent.block = Some(done);
                }
            }
            text => {
                let words = words(text).map_err(|m| ConfigError::new(l.origin.clone(), m))?;
                if words.is_empty() {
                    continue;
                }
                let node =
                    Node { words, raw: text.to_owned(), origin: l.origin, block: None, block_origin: None };
                if let Some(level) = stack.last_mut() {
                    level.push(node);
                }
            }
        }
    }
    if stack.len() > 1 {
        // Report the innermost block left open.
        let open = stack
            .iter()
            .rev()
            .nth(1)
            .and_then(|lvl| lvl.last())
            .map(|n| n.block_origin.clone().unwrap_or_else(|| n.origin.clone()))
            .unwrap_or_default();
        return Err(ConfigError::new(open, "this block has no closing '}'"));
    }
    Ok(stack.pop().unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn comments_and_quotes() {
        assert_eq!(decomment("  weight 1 # one").unwrap(), "weight 1");
        assert_eq!(decomment("path \"/a#b\" ! c").unwrap(), "path \"/a#b\"");
        assert_eq!(decomment("x \\#y").unwrap(), "x #y");
        assert!(decomment("x \"y").is_err());
        assert_eq!(words("a \"b c\" d\"e\"").unwrap(), ["a", "b c", "d", "e"]);
        assert_eq!(
            quoted_words("misc_path '/bin/x a' \"b\\tc\" \\x41").unwrap(),
            ["misc_path", "/bin/x a", "b\tc", "A"]
        );
    }

    #[test]
    fn braces_expand() {
        assert_eq!(expand_braces("/a/{b,c{d,e}}.conf").unwrap(), ["/a/b.conf", "/a/cd.conf", "/a/ce.conf"]);
        assert_eq!(expand_braces("/a/{1,2}{x,y}").unwrap(), ["/a/1x", "/a/1y", "/a/2x", "/a/2y"]);
        assert_eq!(expand_braces("/a/*.conf").unwrap(), ["/a/*.conf"]);
        assert_eq!(expand_braces("/a/{b").unwrap(), ["/a/{b"]);
        assert!(expand_braces(&"{a,b}".repeat(20)).is_none());
        assert_eq!(expand_braces(&format!("{}x{}", "{".repeat(100), "}".repeat(100))).unwrap(), ["x"]);
        assert!(expand_braces(&format!("{}x{}", "{".repeat(5000), "}".repeat(5000))).is_none());
        assert_eq!(normalize(Path::new("/etc/k/./x/../y.conf")), PathBuf::from("/etc/k/y.conf"));
    }

    #[test]
    fn include_forms() {
        assert_eq!(include("include /a"), Some((' ', "/a")));
        assert_eq!(include("includer  b/*.conf"), Some(('r', "b/*.conf")));
        assert_eq!(include("include_check x"), None);
        assert_eq!(include("includex y"), None);
        assert_eq!(definition("$A_1=x y"), Some(("A_1", "x y")));
        assert_eq!(definition("$A =x"), None);
        assert_eq!(definition("$1A=x"), None);
    }
}
