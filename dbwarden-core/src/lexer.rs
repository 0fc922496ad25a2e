//! The statement lexer: splits a migration section into the statements a database client would send one by one
//! (SPEC §3).
//!
//! Splitting on `;` is only right outside everything that may legally hold a `;`: quoted strings and identifiers,
//! comments, PostgreSQL dollar-quoted bodies and the `BEGIN ... END` blocks of stored programs and triggers. The lexer
//! knows just enough of each dialect's token rules to tell those apart; it does not parse SQL.
//!
//! It works on bytes: every decision is taken on an ASCII byte and every byte ≥ 0x80 counts as part of an identifier
//! (as in PostgreSQL), so token boundaries, and therefore every offset it hands out, are char boundaries of the input.
//! Each byte is looked at a bounded number of times, so splitting is linear in the input and cannot loop.

use crate::Dialect;

/// One statement of a script.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Statement<'a> {
    /// From the first character of the statement's first token (leading white space and comments skipped) to the end
    /// of its last token, without the terminating `;` and without trailing white space/comments. Borrowed from input.
    pub sql: &'a str,
    /// Byte offset of `sql` in the input.
    pub offset: usize,
    /// 1-based line of `sql`'s first character in the input.
    pub line: u32,
    /// True when a comment line `-- @dbwarden:autocommit` (case-insensitive, surrounding white space allowed) stands
    /// between the previous statement (or the start) and this statement.
    pub autocommit: bool,
}

/// Why a script could not be split, and where.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {kind}")]
pub struct LexError {
    /// 1-based line where the unterminated construct starts.
    pub line: u32,
    /// What is unterminated.
    pub kind: LexErrorKind,
}

/// The constructs the lexer can find unterminated at the end of the input.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum LexErrorKind {
    /// A string or quoted identifier; the char is its opening quote (`'`, `"`, `` ` `` or `[`).
    #[error("unterminated quoted text starting with {0}")]
    UnterminatedQuote(char),
    /// A `/* ... */` comment.
    #[error("unterminated /* comment")]
    UnterminatedComment,
    /// A PostgreSQL dollar-quoted body; the string is its opening tag (`$$`, `$body$`).
    #[error("unterminated dollar-quoted body {0}")]
    UnterminatedDollarQuote(String),
    /// A `BEGIN`/`CASE` of a stored program or trigger without its `END`; the string names the object
    /// (`TRIGGER`, `PROCEDURE`, `FUNCTION`, `EVENT`, or `BEGIN NOT ATOMIC` for a MariaDB compound statement).
    #[error("{0} body opened by BEGIN is never closed by END")]
    UnterminatedBlock(String),
    /// A `-- @dbwarden...` comment line that is not `-- @dbwarden:autocommit`, or a MySQL `# @dbwarden...` one (a
    /// typo would otherwise be a plain comment, and the statement would run inside the transaction); the string is
    /// the comment as written.
    #[error(
        "unknown marker `{0}`; the only one is `-- @dbwarden:autocommit`, on a line of its own before a statement"
    )]
    UnknownMarker(String),
    /// A `-- @dbwarden:autocommit` line with no statement after it in the section.
    #[error("`-- @dbwarden:autocommit` is followed by no statement; put it on the line before the statement it marks")]
    DanglingMarker,
}

/// Splits `input` into statements. Chunks holding only white space and comments are not statements.
///
/// `;` ends a statement only outside quotes, comments, dollar-quoted bodies and `BEGIN ... END` blocks of
/// `CREATE TRIGGER/PROCEDURE/FUNCTION/EVENT` (and MariaDB's `BEGIN NOT ATOMIC`); blank lines never split; the last
/// statement needs no `;`.
///
/// # Errors
///
/// A [`LexError`] when a quote, a `/*` comment, a dollar-quoted body or a `BEGIN ... END` block is still open at
/// the end of the input; its line is where that construct starts.
///
/// ```
/// use dbwarden_core::{lexer::split, Dialect};
///
/// let script = "CREATE TABLE t (a text); -- a comment; not a statement\n\n\
///               -- @dbwarden:autocommit\n\
///               INSERT INTO t VALUES ('a;b')";
/// let statements = split(script, Dialect::Postgres).unwrap();
/// assert_eq!(statements.len(), 2);
/// assert_eq!(statements[0].sql, "CREATE TABLE t (a text)");
/// assert_eq!(statements[1].sql, "INSERT INTO t VALUES ('a;b')");
/// assert_eq!(statements[1].line, 4);
/// assert!(statements[1].autocommit);
/// assert_eq!(&script[statements[1].offset..][..statements[1].sql.len()], statements[1].sql);
///
/// let error = split("SELECT 1;\nSELECT 'oops", Dialect::Sqlite).unwrap_err();
/// assert_eq!(error.to_string(), "line 2: unterminated quoted text starting with '");
/// ```
pub fn split(input: &str, dialect: Dialect) -> Result<Vec<Statement<'_>>, LexError> {
    Splitter {
        lexer: Lexer::new(input, dialect),
        statements: Vec::new(),
        current: None,
        autocommit: false,
        autocommit_line: 0,
    }
    .run()
}

/// The words of `input` as the splitter sees them, for reading a statement's keywords: unquoted words upper-cased,
/// a quoted identifier as `NAME`; strings, symbols and comments left out. Stops at a lexing error (an unterminated
/// quote) with what it read so far.
///
/// ```
/// use dbwarden_core::{lexer::words, Dialect};
/// assert_eq!(words("alter table t -- don't\n drop `email`", Dialect::MySql), ["ALTER", "TABLE", "T", "DROP", "NAME"]);
/// assert_eq!(words("UPDATE t SET a = 'drop column'", Dialect::Postgres), ["UPDATE", "T", "SET", "A"]);
/// ```
pub fn words(input: &str, dialect: Dialect) -> Vec<String> {
    word_iter(input, dialect).collect()
}

/// [`words`], read lazily: what looks at the first keyword or two lexes no further.
///
/// ```
/// use dbwarden_core::{lexer::word_iter, Dialect};
/// assert_eq!(word_iter("-- fill\nINSERT INTO t VALUES (1)", Dialect::MySql).next().as_deref(), Some("INSERT"));
/// ```
pub fn word_iter(input: &str, dialect: Dialect) -> impl Iterator<Item = String> + '_ {
    let mut lexer = Lexer::new(input, dialect);
    std::iter::from_fn(move || {
        while let Ok(Some(token)) = lexer.next_token() {
            let text = &input[token.start..token.end];
            match token.kind {
                Kind::Word => return Some(text.to_uppercase()),
                Kind::Opaque if text.starts_with(['"', '`', '[']) => return Some("NAME".to_string()),
                _ => {}
            }
        }
        None
    })
}

/// `input` with the differences that do not change its meaning taken out, for comparing two texts of one routine,
/// trigger or view: tokens joined by one space (so `x+1` and `x + 1` compare equal), unquoted words lower-cased,
/// comments dropped; strings and quoted names kept as written, and a dollar-quoted body (PostgreSQL) canonical
/// inside its delimiters in turn (one level: dollar quotes inside it are strings). Text that does not lex (a body in another language) is returned as it is, trimmed.
///
/// ```
/// use dbwarden_core::{lexer::canonical, Dialect};
/// assert_eq!(
///     canonical("BEGIN\n    NEW.a := 1; -- set\n    RETURN NEW;\nEND", Dialect::Postgres),
///     canonical("begin new.a:=1; return new; end", Dialect::Postgres)
/// );
/// assert_ne!(canonical("RETURN 'A'", Dialect::MySql), canonical("RETURN 'a'", Dialect::MySql));
/// assert_eq!(
///     canonical("AS $f$\nBEGIN  RETURN 1; END\n$f$", Dialect::Postgres),
///     canonical("AS $f$ begin return 1; end $f$", Dialect::Postgres)
/// );
/// // A dollar-quoted string inside a body is a string.
/// assert_ne!(
///     canonical("AS $$ RETURN $q$Hello$q$ $$", Dialect::Postgres),
///     canonical("AS $$ RETURN $q$hello$q$ $$", Dialect::Postgres)
/// );
/// ```
pub fn canonical(input: &str, dialect: Dialect) -> String {
    canonical_at(input, dialect, true)
}

/// [`canonical`]; `outer`: dollar-quoted tokens here are bodies (a function's), canonical inside. Inside a body they
/// are string constants (`$q$Hello World$q$`), kept as written like any other string.
fn canonical_at(input: &str, dialect: Dialect, outer: bool) -> String {
    let mut lexer = Lexer::new(input, dialect);
    let mut out = String::with_capacity(input.len());
    loop {
        let token = match lexer.next_token() {
            Ok(Some(token)) => token,
            Ok(None) => return out,
            Err(_) => return input.trim().to_string(),
        };
        let text = &input[token.start..token.end];
        let piece = match token.kind {
            Kind::Comment { .. } => continue,
            Kind::Word => text.to_lowercase(),
            Kind::Opaque if outer && text.len() >= 2 && text.starts_with('$') && text.ends_with('$') => {
                // `$tag$ body $tag$`: the body is SQL text again. The tag stays (the body may hold `$$`), which
                // costs nothing where it matters: `pg_get_functiondef` writes its own.
                let tag_end = text[1..].find('$').map_or(0, |i| i + 2);
                let body_start = tag_end.min(text.len());
                let body_end = text.len().saturating_sub(tag_end).max(body_start);
                let tag = &text[..body_start];
                format!("{tag} {} {tag}", canonical_at(&text[body_start..body_end], dialect, false))
            }
            Kind::Opaque | Kind::Semicolon => text.to_string(),
        };
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(&piece);
    }
}

/// The annotation that runs the next statement outside the migration's transaction.
const AUTOCOMMIT: &str = "@dbwarden:autocommit";

/// What starts every marker comment: a line that starts so but is not [`AUTOCOMMIT`] is a typo.
const AUTOCOMMIT_PREFIX: &str = "@dbwarden";

/// How many leading words of a statement are searched for the kind of object it creates.
const HEAD_WORDS: u8 = 12;

/// What a token means to the splitter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// An unquoted identifier, keyword or number.
    Word,
    /// A quoted string or identifier, a dollar-quoted body, or a symbol: part of a statement, never a keyword.
    Opaque,
    /// `;`.
    Semicolon,
    /// A comment; `autocommit` when it is a `-- @dbwarden:autocommit` comment line, `typo` when it is a line that
    /// starts like one but is not.
    Comment { autocommit: bool, typo: bool },
}

#[derive(Debug, Clone, Copy)]
struct Token {
    kind: Kind,
    start: usize,
    end: usize,
}

/// Turns the input into tokens, skipping white space.
struct Lexer<'a> {
    src: &'a str,
    bytes: &'a [u8],
    pos: usize,
    dialect: Dialect,
    /// Line counting is incremental (queries come in input order), which keeps it linear.
    line_pos: usize,
    line: u32,
}

/// SQL white space: what all three servers skip between tokens (including vertical tab, which
/// `u8::is_ascii_whitespace` leaves out).
fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r' | b'\x0b' | b'\x0c')
}

/// A byte that may start an identifier or number. Bytes ≥ 0x80 count, so non-ASCII text is never split inside a char.
fn is_word_start(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b >= 0x80
}

/// A byte that may continue an identifier: all three servers accept `$` after the first char (`a$b`).
fn is_word_char(b: u8) -> bool {
    is_word_start(b) || b == b'$'
}

/// A byte of a dollar-quote tag: an identifier char without `$`.
fn is_tag_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b >= 0x80
}

impl<'a> Lexer<'a> {
    fn new(src: &'a str, dialect: Dialect) -> Self {
        // A BOM is editor noise, not the start of a word.
        let pos = if src.starts_with('\u{feff}') { '\u{feff}'.len_utf8() } else { 0 };
        Lexer { src, bytes: src.as_bytes(), pos, dialect, line_pos: 0, line: 1 }
    }

    /// 1-based line of byte `at`.
    fn line_at(&mut self, at: usize) -> u32 {
        if at < self.line_pos {
            // Never happens (queries come in order), but stay correct rather than wrong if it did.
            self.line_pos = 0;
            self.line = 1;
        }
        let at = at.min(self.bytes.len());
        let newlines = self.bytes[self.line_pos..at].iter().filter(|&&b| b == b'\n').count();
        self.line = self.line.saturating_add(u32::try_from(newlines).unwrap_or(u32::MAX));
        self.line_pos = at;
        self.line
    }

    fn error(&mut self, at: usize, kind: LexErrorKind) -> LexError {
        LexError { line: self.line_at(at), kind }
    }

    fn next_token(&mut self) -> Result<Option<Token>, LexError> {
        let b = self.bytes;
        while self.pos < b.len() && is_space(b[self.pos]) {
            self.pos += 1;
        }
        let start = self.pos;
        let Some(&c) = b.get(start) else {
            return Ok(None);
        };
        let next = b.get(start + 1).copied();
        let mysql = self.dialect == Dialect::MySql;
        let kind = match c {
            b';' => {
                self.pos += 1;
                Kind::Semicolon
            }
            b'-' if next == Some(b'-') && (!mysql || self.mysql_dash_comment(start)) => self.line_comment(start, 2),
            b'#' if mysql => self.line_comment(start, 1),
            b'/' if next == Some(b'*') => self.block_comment(start)?,
            // Only MySQL reads backslash escapes in plain strings; PostgreSQL and SQLite keep `\` literally.
            b'\'' | b'"' => self.quoted(start, start, c, c, mysql)?,
            // Backticks quote identifiers in MySQL and, for compatibility, SQLite; PostgreSQL has no such token.
            b'`' if self.dialect != Dialect::Postgres => self.quoted(start, start, b'`', b'`', false)?,
            // SQLite also accepts MS Access style `[identifier]`, which has no escape.
            b'[' if self.dialect == Dialect::Sqlite => self.quoted(start, start, b'[', b']', false)?,
            b'$' if self.dialect == Dialect::Postgres => self.dollar(start)?,
            c if is_word_start(c) => self.word(start)?,
            _ => {
                // Everything else is a one-byte symbol (all bytes ≥ 0x80 are word bytes, so this is ASCII).
                self.pos += 1;
                Kind::Opaque
            }
        };
        Ok(Some(Token { kind, start, end: self.pos }))
    }

    /// MySQL only takes `--` as a comment when a space or control char (or the end) follows, so `5--3` stays `5 - -3`.
    fn mysql_dash_comment(&self, start: usize) -> bool {
        !matches!(self.bytes.get(start + 2), Some(&b) if b > b' ' && b != 0x7f)
    }

    /// A comment to the end of the line; `prefix` is the length of `--` or `#`. The newline stays white space.
    fn line_comment(&mut self, start: usize, prefix: usize) -> Kind {
        let end = self.bytes[start..].iter().position(|&b| b == b'\n').map_or(self.bytes.len(), |n| start + n);
        self.pos = end;
        let text = self.src[start + prefix..end].trim();
        let own_line = self.starts_line(start);
        let autocommit = prefix == 2 && own_line && text.eq_ignore_ascii_case(AUTOCOMMIT);
        // MySQL's `#` comment is a near miss too: the marker is written with `--` everywhere.
        let typo = own_line
            && !autocommit
            && text.get(..AUTOCOMMIT_PREFIX.len()).is_some_and(|p| p.eq_ignore_ascii_case(AUTOCOMMIT_PREFIX));
        Kind::Comment { autocommit, typo }
    }

    /// Whether only white space stands between the line's start and `at` (the annotation must be a line of its own,
    /// so `VACUUM; -- @dbwarden:autocommit` does not silently move the flag to the statement after).
    fn starts_line(&self, at: usize) -> bool {
        self.bytes[..at].iter().rev().take_while(|&&b| b != b'\n').all(|&b| is_space(b))
    }

    /// `/* ... */`; nested on PostgreSQL, where `/* a /* b */ c */` is one comment. MySQL's `/*! ... */` (and
    /// MariaDB's `/*M! ... */`) executable comments are SQL the server runs: statement text (a chunk made of one is
    /// a statement, as in mysqldump output), but never split inside.
    fn block_comment(&mut self, start: usize) -> Result<Kind, LexError> {
        let b = self.bytes;
        let nests = self.dialect == Dialect::Postgres;
        let executable = self.dialect == Dialect::MySql
            && (b.get(start + 2) == Some(&b'!')
                || (b.get(start + 2) == Some(&b'M') && b.get(start + 3) == Some(&b'!')));
        let mut depth = 1usize;
        let mut i = start + 2;
        while i < b.len() {
            if b[i] == b'*' && b.get(i + 1) == Some(&b'/') {
                depth -= 1;
                i += 2;
                if depth == 0 {
                    self.pos = i;
                    return Ok(if executable {
                        Kind::Opaque
                    } else {
                        Kind::Comment { autocommit: false, typo: false }
                    });
                }
            } else if nests && b[i] == b'/' && b.get(i + 1) == Some(&b'*') {
                depth += 1;
                i += 2;
            } else {
                i += 1;
            }
        }
        Err(self.error(start, LexErrorKind::UnterminatedComment))
    }

    /// Quoted text opened at `open` (the token starts at `start`, before any `E` prefix) and closed by `close`; a
    /// doubled closing quote is an escaped one, and with `backslash` a `\` escapes the next byte.
    fn quoted(&mut self, start: usize, open: usize, quote: u8, close: u8, backslash: bool) -> Result<Kind, LexError> {
        let b = self.bytes;
        let mut i = open + 1;
        loop {
            match b.get(i) {
                None => return Err(self.error(start, LexErrorKind::UnterminatedQuote(char::from(quote)))),
                Some(&c) if c == close => {
                    // `[...]` has no doubling; for the others `''` is a quote inside the text.
                    if quote == close && b.get(i + 1) == Some(&close) {
                        i += 2;
                    } else {
                        self.pos = i + 1;
                        return Ok(Kind::Opaque);
                    }
                }
                // Skipping one byte may land inside a multi-byte char; harmless, since only ASCII is compared.
                Some(b'\\') if backslash => i += 2,
                Some(_) => i += 1,
            }
        }
    }

    /// At `$` on PostgreSQL: a `$$` or `$tag$` body runs to the same tag; anything else (`$1`, a lone `$`) is a symbol.
    fn dollar(&mut self, start: usize) -> Result<Kind, LexError> {
        let b = self.bytes;
        let mut i = start + 1;
        // A tag does not start with a digit, which is what keeps `$1` a parameter.
        if b.get(i).is_some_and(|&c| is_tag_char(c) && !c.is_ascii_digit()) {
            while b.get(i).is_some_and(|&c| is_tag_char(c)) {
                i += 1;
            }
        }
        if b.get(i) != Some(&b'$') {
            self.pos = start + 1;
            return Ok(Kind::Opaque);
        }
        let tag = &self.src[start..=i];
        let body = i + 1;
        match self.src[body..].find(tag) {
            Some(n) => {
                self.pos = body + n + tag.len();
                Ok(Kind::Opaque)
            }
            None => Err(self.error(start, LexErrorKind::UnterminatedDollarQuote(tag.to_string()))),
        }
    }

    /// An identifier, keyword or number; on PostgreSQL a lone `E`/`e` glued to `'` opens an escape string.
    fn word(&mut self, start: usize) -> Result<Kind, LexError> {
        let b = self.bytes;
        let mut i = start + 1;
        while b.get(i).is_some_and(|&c| is_word_char(c)) {
            i += 1;
        }
        if self.dialect == Dialect::Postgres && i == start + 1 && b[start] | 0x20 == b'e' && b.get(i) == Some(&b'\'') {
            return self.quoted(start, i, b'\'', b'\'', true);
        }
        self.pos = i;
        Ok(Kind::Word)
    }
}

/// The statement being read.
struct Current {
    start: usize,
    end: usize,
    line: u32,
    autocommit: bool,
    /// Words seen so far, counted up to [`HEAD_WORDS`].
    words: u8,
    /// The first word is `CREATE`.
    create: bool,
    /// How many of the first words spell MariaDB's `BEGIN NOT ATOMIC` (a compound statement outside any CREATE).
    compound: u8,
    /// Set when the statement creates a TRIGGER, PROCEDURE, FUNCTION or EVENT, whose body may hold `;`.
    block: Option<&'static str>,
    /// Open `BEGIN`/`CASE` levels.
    level: u32,
    /// Line of the `BEGIN`/`CASE` that opened level 1, for the error if it never closes.
    opener_line: u32,
    /// An `END` was seen at level > 0; whether it closes depends on the next token (`END IF` closes nothing).
    pending_end: bool,
    /// The token before the one being read, in a statement that may hold a block.
    prev: Option<Token>,
}

struct Splitter<'a> {
    lexer: Lexer<'a>,
    statements: Vec<Statement<'a>>,
    current: Option<Current>,
    /// An annotation seen since the last statement; it waits for the next one, across empty chunks.
    autocommit: bool,
    /// The line of that annotation, for the error if no statement follows.
    autocommit_line: u32,
}

fn word_is(word: &str, keywords: &[&str]) -> bool {
    keywords.iter().any(|k| word.eq_ignore_ascii_case(k))
}

impl<'a> Splitter<'a> {
    fn run(mut self) -> Result<Vec<Statement<'a>>, LexError> {
        while let Some(token) = self.lexer.next_token()? {
            match token.kind {
                Kind::Comment { autocommit, typo } => {
                    // Comments inside a statement belong to it; only those between statements annotate (so only
                    // there is a misspelt marker an error).
                    if self.current.is_none() && typo {
                        let text = self.text(token).trim().chars().take(60).collect();
                        return Err(LexError {
                            line: self.lexer.line_at(token.start),
                            kind: LexErrorKind::UnknownMarker(text),
                        });
                    }
                    if self.current.is_none() && autocommit {
                        self.autocommit = true;
                        self.autocommit_line = self.lexer.line_at(token.start);
                    }
                }
                Kind::Semicolon => {
                    // No current statement: an empty chunk, not a statement.
                    let Some(mut current) = self.current.take() else { continue };
                    self.block_token(&mut current, token);
                    if current.level == 0 {
                        self.emit(current);
                    } else {
                        current.end = token.end;
                        self.current = Some(current);
                    }
                }
                Kind::Word | Kind::Opaque => {
                    let mut current = match self.current.take() {
                        Some(current) => current,
                        None => Current {
                            start: token.start,
                            end: token.end,
                            line: self.lexer.line_at(token.start),
                            autocommit: std::mem::take(&mut self.autocommit),
                            words: 0,
                            create: false,
                            compound: 0,
                            block: None,
                            level: 0,
                            opener_line: 0,
                            pending_end: false,
                            prev: None,
                        },
                    };
                    if token.kind == Kind::Word {
                        self.head_word(&mut current, token);
                    }
                    self.block_token(&mut current, token);
                    current.end = token.end;
                    self.current = Some(current);
                }
            }
        }
        if let Some(mut current) = self.current.take() {
            if current.pending_end {
                current.level -= 1;
            }
            if current.level > 0 {
                let what = current.block.unwrap_or("BEGIN").to_string();
                return Err(LexError { line: current.opener_line, kind: LexErrorKind::UnterminatedBlock(what) });
            }
            self.emit(current);
        }
        if self.autocommit {
            return Err(LexError { line: self.autocommit_line, kind: LexErrorKind::DanglingMarker });
        }
        Ok(self.statements)
    }

    fn text(&self, token: Token) -> &'a str {
        &self.lexer.src[token.start..token.end]
    }

    /// Looks at the statement's first words for `CREATE ... TRIGGER|PROCEDURE|FUNCTION|EVENT`; modifiers such as
    /// `OR REPLACE`, `TEMPORARY`, `DEFINER = x` or `IF NOT EXISTS` may stand between.
    fn head_word(&self, current: &mut Current, token: Token) {
        if current.words >= HEAD_WORDS {
            return;
        }
        current.words += 1;
        let word = self.text(token);
        if current.words == 1 {
            current.create = word.eq_ignore_ascii_case("CREATE");
        } else if current.create && current.block.is_none() {
            current.block =
                ["TRIGGER", "PROCEDURE", "FUNCTION", "EVENT"].into_iter().find(|k| word.eq_ignore_ascii_case(k));
        }
        // Only while every word so far matched: `compound` then equals the index of this word.
        let compound = ["BEGIN", "NOT", "ATOMIC"];
        if self.lexer.dialect == Dialect::MySql
            && usize::from(current.compound) + 1 == usize::from(current.words)
            && compound.get(usize::from(current.compound)).is_some_and(|k| word.eq_ignore_ascii_case(k))
        {
            current.compound += 1;
            if usize::from(current.compound) == compound.len() {
                // The leading BEGIN was read before the statement was known to hold a block: count it now.
                current.block = Some("BEGIN NOT ATOMIC");
                current.level = 1;
                current.opener_line = current.line;
            }
        }
    }

    /// Tracks `BEGIN`/`CASE` ... `END` levels of a statement that may hold a block. Any token but a comment may
    /// settle a pending `END`.
    fn block_token(&mut self, current: &mut Current, token: Token) {
        if current.block.is_none() {
            return;
        }
        self.block_keyword(current, token);
        current.prev = Some(token);
    }

    /// Whether `word` (`BEGIN` or `END`) after `prev` stands where a value or a name does (`SET end = 1`,
    /// `IF(begin IS NULL, ..)`, `WHERE end > 1`, `@end`): there it is a column or variable, not a keyword. A
    /// block's `BEGIN` follows `)`, `;`, a label's `:`, THEN, ELSE, DO, ROW or a routine's characteristics; an `END`
    /// follows `;`, `BEGIN` or a CASE branch's value, never THEN, ELSE, FROM and the like (a branch or statement
    /// list cannot be empty).
    fn names_a_value(&self, word: &str, prev: Option<Token>) -> bool {
        let Some(prev) = prev else { return false };
        let text = self.text(prev);
        match prev.kind {
            Kind::Opaque => matches!(
                text,
                "(" | "," | "." | "=" | "<" | ">" | "+" | "-" | "*" | "/" | "%" | "!" | "|" | "&" | "^" | "~" | "@"
            ),
            Kind::Word => {
                word_is(
                    text,
                    &[
                        "SET", "SELECT", "WHERE", "AND", "OR", "XOR", "NOT", "IS", "BY", "ON", "WHEN", "IN", "INTO",
                        "LIKE", "BETWEEN", "DISTINCT", "RETURN", "VALUES", "DIV", "MOD", "NEW", "OLD",
                    ],
                ) || word.eq_ignore_ascii_case("END")
                    && word_is(text, &["THEN", "ELSE", "FROM", "JOIN", "AS", "HAVING", "CASE", "UPDATE"])
            }
            _ => false,
        }
    }

    fn block_keyword(&mut self, current: &mut Current, token: Token) {
        let word = (token.kind == Kind::Word).then(|| self.text(token));
        if current.pending_end {
            current.pending_end = false;
            // `END IF`, `END LOOP`, ... close constructs whose openers were never counted.
            if word.is_some_and(|w| word_is(w, &["IF", "LOOP", "WHILE", "REPEAT", "FOR"])) {
                return;
            }
            current.level -= 1;
            // `END CASE` closes the level its `CASE` opened; that `CASE` opens nothing.
            if word.is_some_and(|w| w.eq_ignore_ascii_case("CASE")) {
                return;
            }
        }
        let Some(word) = word else { return };
        if word_is(word, &["BEGIN", "END"]) && self.names_a_value(word, current.prev) {
            return;
        }
        if word_is(word, &["BEGIN", "CASE"]) {
            if current.level == 0 {
                current.opener_line = self.lexer.line_at(token.start);
            }
            current.level = current.level.saturating_add(1);
        } else if word.eq_ignore_ascii_case("END") && current.level > 0 {
            current.pending_end = true;
        }
    }

    fn emit(&mut self, current: Current) {
        self.statements.push(Statement {
            sql: &self.lexer.src[current.start..current.end],
            offset: current.start,
            line: current.line,
            autocommit: current.autocommit,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const ALL: [Dialect; 3] = [Dialect::Postgres, Dialect::MySql, Dialect::Sqlite];

    /// Splits and checks the invariants every result must satisfy.
    fn checked(input: &str, dialect: Dialect) -> Result<Vec<Statement<'_>>, LexError> {
        let result = split(input, dialect);
        match &result {
            Ok(statements) => {
                // Counted incrementally: the check itself must stay linear for the long inputs.
                let (mut previous_end, mut newlines) = (0, 0);
                for s in statements {
                    assert!(input.is_char_boundary(s.offset), "offset {} not a char boundary", s.offset);
                    assert!(s.offset >= previous_end, "statements overlap or are out of order");
                    assert_eq!(input.get(s.offset..s.offset + s.sql.len()), Some(s.sql));
                    assert!(!s.sql.is_empty());
                    assert_eq!(s.sql.trim_matches(|c: char| c.is_ascii_whitespace()), s.sql);
                    newlines += input.as_bytes()[previous_end..s.offset].iter().filter(|&&b| b == b'\n').count();
                    assert_eq!(s.line as usize, newlines + 1);
                    newlines += s.sql.bytes().filter(|&b| b == b'\n').count();
                    previous_end = s.offset + s.sql.len();
                }
            }
            Err(e) => {
                let lines = input.bytes().filter(|&b| b == b'\n').count() + 1;
                assert!(e.line >= 1 && e.line as usize <= lines, "error line {} out of range", e.line);
            }
        }
        result
    }

    fn sqls(input: &str, dialect: Dialect) -> Vec<&str> {
        checked(input, dialect).unwrap_or_else(|e| panic!("{dialect}: {e}")).into_iter().map(|s| s.sql).collect()
    }

    fn error(input: &str, dialect: Dialect) -> LexError {
        checked(input, dialect).expect_err("expected a lex error")
    }

    #[test]
    fn splits_simple_statements_on_every_dialect() {
        for d in ALL {
            assert_eq!(sqls("SELECT 1; SELECT 2;", d), ["SELECT 1", "SELECT 2"]);
            assert_eq!(sqls("SELECT 1;\nSELECT 2", d), ["SELECT 1", "SELECT 2"], "no final ;");
            assert_eq!(sqls("  \n\t SELECT 1 \n ; \n", d), ["SELECT 1"]);
            assert_eq!(sqls(";;; SELECT 1 ;; ;", d), ["SELECT 1"]);
            assert!(sqls("", d).is_empty());
            assert!(sqls(" \n\r\n\t ", d).is_empty());
            assert!(sqls("-- only a comment; really\n/* and; another */ ;\n", d).is_empty());
        }
    }

    #[test]
    fn blank_lines_never_split() {
        for d in ALL {
            assert_eq!(
                sqls("CREATE TABLE t (\n\n  a int,\n\n\n  b int\n);\n\n\nDROP TABLE u;", d),
                ["CREATE TABLE t (\n\n  a int,\n\n\n  b int\n)", "DROP TABLE u"]
            );
        }
    }

    #[test]
    fn offsets_and_lines() {
        let input = "-- header\n\n  SELECT 1;  /* c */ SELECT\n2 -- tail\n;\n\n\nSELECT 'é' ;";
        for d in ALL {
            let statements = checked(input, d).unwrap();
            let got: Vec<_> = statements.iter().map(|s| (s.sql, s.offset, s.line)).collect();
            assert_eq!(got, [("SELECT 1", 13, 3), ("SELECT\n2", 32, 3), ("SELECT 'é'", 53, 8)]);
            for s in &statements {
                assert_eq!(&input[s.offset..s.offset + s.sql.len()], s.sql);
            }
        }
    }

    #[test]
    fn crlf_and_bom() {
        let input = "\u{feff}SELECT 1;\r\n\r\nSELECT 2;\r\n";
        for d in ALL {
            let statements = checked(input, d).unwrap();
            assert_eq!(statements[0].sql, "SELECT 1");
            assert_eq!(statements[0].offset, 3);
            assert_eq!((statements[1].sql, statements[1].line), ("SELECT 2", 3));
        }
    }

    #[test]
    fn single_quotes_with_doubled_quotes() {
        for d in ALL {
            assert_eq!(sqls("SELECT 'it''s; ok'; SELECT ''';'", d), ["SELECT 'it''s; ok'", "SELECT ''';'"]);
            assert_eq!(sqls("INSERT INTO t VALUES ('a;\n\nb')", d), ["INSERT INTO t VALUES ('a;\n\nb')"]);
        }
    }

    #[test]
    fn backslash_escapes_only_where_the_dialect_has_them() {
        // MySQL: a backslash escapes the next char in '...' and "...".
        assert_eq!(sqls(r"SELECT 'it\'s;'; SELECT 2", Dialect::MySql), [r"SELECT 'it\'s;'", "SELECT 2"]);
        assert_eq!(sqls(r#"SELECT "a\";b"; SELECT 2"#, Dialect::MySql), [r#"SELECT "a\";b""#, "SELECT 2"]);
        assert_eq!(sqls(r"SELECT 'a\\'; SELECT 2", Dialect::MySql), [r"SELECT 'a\\'", "SELECT 2"]);
        // PostgreSQL and SQLite: a backslash in a plain string is just a char.
        for d in [Dialect::Postgres, Dialect::Sqlite] {
            assert_eq!(sqls(r"SELECT '\'; SELECT 2", d), [r"SELECT '\'", "SELECT 2"]);
        }
        assert_eq!(error(r"SELECT '\'; SELECT 2", Dialect::MySql).kind, LexErrorKind::UnterminatedQuote('\''));
    }

    #[test]
    fn postgres_escape_strings() {
        let pg = Dialect::Postgres;
        assert_eq!(sqls(r"SELECT E'a\'b;'; SELECT 2", pg), [r"SELECT E'a\'b;'", "SELECT 2"]);
        assert_eq!(sqls(r"SELECT e'a\\'; SELECT 2", pg), [r"SELECT e'a\\'", "SELECT 2"]);
        assert_eq!(sqls(r"SELECT E'it''s\n;'; SELECT 2", pg), [r"SELECT E'it''s\n;'", "SELECT 2"]);
        // Only a lone E glued to the quote prefixes a string: `tablE'...'` and `E '...'` are plain strings.
        assert_eq!(sqls(r"SELECT tablE'\'; SELECT 2", pg), [r"SELECT tablE'\'", "SELECT 2"]);
        assert_eq!(sqls(r"SELECT E '\'; SELECT 2", pg), [r"SELECT E '\'", "SELECT 2"]);
        // Not an E-string anywhere else.
        assert_eq!(sqls(r"SELECT E'\'; SELECT 2", Dialect::Sqlite), [r"SELECT E'\'", "SELECT 2"]);
        // `E` at the very end, or before a lone quote.
        assert_eq!(sqls("SELECT E", pg), ["SELECT E"]);
        assert_eq!(
            error("SELECT 1;\nSELECT E'\\'", pg),
            LexError { line: 2, kind: LexErrorKind::UnterminatedQuote('\'') }
        );
    }

    #[test]
    fn double_quoted_identifiers() {
        for d in ALL {
            assert_eq!(sqls(r#"SELECT "a;""b" FROM t; SELECT 2"#, d), [r#"SELECT "a;""b" FROM t"#, "SELECT 2"]);
        }
    }

    #[test]
    fn backticks_and_brackets() {
        assert_eq!(sqls("SELECT `a;``b` FROM t; SELECT 2", Dialect::MySql), ["SELECT `a;``b` FROM t", "SELECT 2"]);
        assert_eq!(sqls("SELECT `a;b` FROM t; SELECT 2", Dialect::Sqlite), ["SELECT `a;b` FROM t", "SELECT 2"]);
        assert_eq!(sqls("SELECT [a;b] FROM t; SELECT 2", Dialect::Sqlite), ["SELECT [a;b] FROM t", "SELECT 2"]);
        // PostgreSQL has neither; `[` is array syntax there.
        assert_eq!(sqls("SELECT `a;b`", Dialect::Postgres), ["SELECT `a", "b`"]);
        assert_eq!(sqls("SELECT a[1]; SELECT 2", Dialect::Postgres), ["SELECT a[1]", "SELECT 2"]);
        assert_eq!(error("SELECT `a", Dialect::MySql).kind, LexErrorKind::UnterminatedQuote('`'));
        assert_eq!(error("SELECT [a", Dialect::Sqlite).kind, LexErrorKind::UnterminatedQuote('['));
    }

    #[test]
    fn line_comments() {
        for d in ALL {
            assert_eq!(
                sqls("SELECT 1 -- not; the end\n, 2; -- after; \nSELECT 3 -- ;", d),
                ["SELECT 1 -- not; the end\n, 2", "SELECT 3"]
            );
            assert_eq!(sqls("-- ;\n--\nSELECT 1", d), ["SELECT 1"]);
        }
        for d in [Dialect::Postgres, Dialect::Sqlite] {
            assert_eq!(sqls("--;\nSELECT 1 --;", d), ["SELECT 1"]);
            assert_eq!(sqls("SELECT 5--3; SELECT 2", d), ["SELECT 5"]);
        }
        // `#` comments are MySQL's only; on PostgreSQL `#` is an operator.
        assert_eq!(sqls("SELECT 1 # x; y\n, 2; SELECT 3", Dialect::MySql), ["SELECT 1 # x; y\n, 2", "SELECT 3"]);
        assert_eq!(sqls("SELECT 1 # x; y\n; SELECT 2", Dialect::MySql), ["SELECT 1", "SELECT 2"]);
        assert_eq!(sqls("SELECT 1 # 2; SELECT 3", Dialect::Postgres), ["SELECT 1 # 2", "SELECT 3"]);
        // MySQL needs white space after `--`: `5--3` is arithmetic.
        assert_eq!(sqls("SELECT 5--3; SELECT 2", Dialect::MySql), ["SELECT 5--3", "SELECT 2"]);
        assert_eq!(sqls("SELECT 5--\t3; SELECT 2", Dialect::MySql), ["SELECT 5"]);
        assert_eq!(sqls("SELECT 1 --", Dialect::MySql), ["SELECT 1"]);
    }

    #[test]
    fn block_comments() {
        for d in ALL {
            assert_eq!(sqls("SELECT /* ; */ 1; /* x; */ SELECT 2 /* ; */", d), ["SELECT /* ; */ 1", "SELECT 2"]);
            assert_eq!(sqls("SELECT /**/ 1 /*/ ; */", d), ["SELECT /**/ 1"]);
            // A stray `*/` is just two symbols.
            assert_eq!(sqls("SELECT 2 */ 3; x", d), ["SELECT 2 */ 3", "x"]);
            assert_eq!(error("SELECT 1;\n\n/* open", d), LexError { line: 3, kind: LexErrorKind::UnterminatedComment });
        }
        // They nest on PostgreSQL only.
        assert_eq!(sqls("/* a /* b */ c; */ SELECT 1; SELECT 2", Dialect::Postgres), ["SELECT 1", "SELECT 2"]);
        for d in [Dialect::MySql, Dialect::Sqlite] {
            assert_eq!(sqls("/* a /* b */ c; */ SELECT 1", d), ["c", "*/ SELECT 1"]);
        }
        assert_eq!(error("/* a /* b */ c; SELECT 1;", Dialect::Postgres).kind, LexErrorKind::UnterminatedComment);
        // MySQL's executable comments never split.
        assert_eq!(
            sqls("/*!40101 SET @x = 1; */; SELECT 2", Dialect::MySql),
            ["/*!40101 SET @x = 1; */", "SELECT 2"],
            "the server runs a /*! */ comment: it is a statement (mysqldump writes whole statements so)"
        );
        assert_eq!(
            sqls("/*!50003 CREATE*/ /*!50003 TRIGGER x */;\n/*M!100100 SET y */;", Dialect::MySql),
            ["/*!50003 CREATE*/ /*!50003 TRIGGER x */", "/*M!100100 SET y */"]
        );
        assert_eq!(
            sqls("/*!40101 SET @x = 1 */; SELECT 2", Dialect::Postgres),
            ["SELECT 2"],
            "a plain comment elsewhere"
        );
        assert_eq!(sqls("SET /*!40101 a = 1; */ b = 2; x", Dialect::MySql), ["SET /*!40101 a = 1; */ b = 2", "x"]);
    }

    #[test]
    fn dollar_quotes() {
        let pg = Dialect::Postgres;
        assert_eq!(sqls("SELECT $$a; b$$; SELECT 2", pg), ["SELECT $$a; b$$", "SELECT 2"]);
        assert_eq!(sqls("SELECT $x$ $$; $y$ ; $x$; SELECT 2", pg), ["SELECT $x$ $$; $y$ ; $x$", "SELECT 2"]);
        assert_eq!(sqls("SELECT $_1é$ ; $_1é$; SELECT 2", pg), ["SELECT $_1é$ ; $_1é$", "SELECT 2"]);
        // `$1` is a parameter, a lone `$` a symbol, `a$b` and `a$$b` identifiers.
        assert_eq!(sqls("SELECT $1; SELECT $2 $", pg), ["SELECT $1", "SELECT $2 $"]);
        assert_eq!(sqls("SELECT a$b, a$$b; SELECT $", pg), ["SELECT a$b, a$$b", "SELECT $"]);
        assert_eq!(sqls("SELECT $1$; x", pg), ["SELECT $1$", "x"]);
        // Dollar quotes are PostgreSQL's only.
        for d in [Dialect::MySql, Dialect::Sqlite] {
            assert_eq!(sqls("SELECT $$a; b$$", d), ["SELECT $$a", "b$$"]);
        }
        let e = error("SELECT 1;\nDO $body$ BEGIN; END; $$ ; $bod$", pg);
        assert_eq!(e, LexError { line: 2, kind: LexErrorKind::UnterminatedDollarQuote("$body$".into()) });
        assert_eq!(e.to_string(), "line 2: unterminated dollar-quoted body $body$");
    }

    #[test]
    fn postgres_function_with_dollar_body() {
        let input = "CREATE OR REPLACE FUNCTION f() RETURNS trigger AS\n    $body$\nBEGIN\n  IF NEW.a THEN\n    \
                     RETURN NULL;\n  END IF;\n  RETURN NEW;\nEND;\n    $body$ LANGUAGE plpgsql;\n\n\
                     CREATE TRIGGER t BEFORE INSERT ON x FOR EACH ROW EXECUTE PROCEDURE f();\n\
                     DO $$ BEGIN PERFORM 1; END $$;";
        let statements = checked(input, Dialect::Postgres).unwrap();
        assert_eq!(statements.len(), 3);
        assert!(statements[0].sql.starts_with("CREATE OR REPLACE FUNCTION"));
        assert!(statements[0].sql.ends_with("$body$ LANGUAGE plpgsql"));
        assert_eq!(statements[1].line, 11);
        assert_eq!(statements[2].sql, "DO $$ BEGIN PERFORM 1; END $$");
    }

    #[test]
    fn postgres_begin_atomic() {
        let input = "CREATE FUNCTION f(a int) RETURNS int LANGUAGE sql\nBEGIN ATOMIC\n  SELECT CASE WHEN a > 0 \
                     THEN 1 ELSE 2 END;\n  SELECT 3;\nEND;\nCREATE PROCEDURE p() LANGUAGE sql BEGIN ATOMIC INSERT \
                     INTO t VALUES (1); END; SELECT 1";
        let got = sqls(input, Dialect::Postgres);
        assert_eq!(got.len(), 3, "{got:#?}");
        assert!(got[0].ends_with("SELECT 3;\nEND"));
        assert_eq!(got[1], "CREATE PROCEDURE p() LANGUAGE sql BEGIN ATOMIC INSERT INTO t VALUES (1); END");
    }

    #[test]
    fn mysql_procedure_with_if_and_loops() {
        let input = "DROP PROCEDURE IF EXISTS p;\n\n\
            CREATE DEFINER = `root`@`localhost` PROCEDURE p(IN n INT)\nBEGIN\n  DECLARE i INT DEFAULT 0;\n  \
            IF n > 0 THEN\n    SET @q = CONCAT('a', ';');\n  ELSEIF n < 0 THEN\n    SET i = 1;\n  END IF;\n  \
            lbl: WHILE i < n DO\n    SET i = i + 1;\n  END WHILE lbl;\n  REPEAT SET i = i - 1; UNTIL i = 0 END REPEAT;\n  \
            l2: LOOP LEAVE l2; END LOOP;\n  CASE n WHEN 1 THEN SELECT 1; ELSE SELECT CASE WHEN n THEN 2 END; END CASE;\n  \
            BEGIN SELECT 3; END;\nEND;\nCALL p(1);";
        let got = sqls(input, Dialect::MySql);
        assert_eq!(got.len(), 3, "{got:#?}");
        assert!(got[1].starts_with("CREATE DEFINER"));
        assert!(got[1].ends_with("BEGIN SELECT 3; END;\nEND"));
        assert_eq!(got[2], "CALL p(1)");
    }

    #[test]
    fn mysql_trigger_event_and_function() {
        let input = "CREATE TRIGGER t BEFORE INSERT ON x FOR EACH ROW BEGIN SET NEW.a = 1; END;\n\
                     CREATE TRIGGER u BEFORE INSERT ON x FOR EACH ROW SET NEW.a = 1;\n\
                     CREATE EVENT e ON SCHEDULE EVERY 1 DAY DO BEGIN DELETE FROM x; END;\n\
                     CREATE FUNCTION f() RETURNS INT DETERMINISTIC RETURN CASE WHEN 1 THEN 2 END;\n\
                     SELECT 1";
        let got = sqls(input, Dialect::MySql);
        assert_eq!(got.len(), 5, "{got:#?}");
        assert!(got[0].ends_with("END"));
        assert_eq!(got[1], "CREATE TRIGGER u BEFORE INSERT ON x FOR EACH ROW SET NEW.a = 1");
        assert!(got[2].ends_with("DELETE FROM x; END"));
    }

    /// `begin` and `end` are ordinary column names in MariaDB and SQLite; inside a body they were taken for the
    /// block's keywords, so a procedure was split in the middle (its first part committed) or refused.
    #[test]
    fn begin_and_end_as_column_names_inside_bodies() {
        let mysql = "CREATE PROCEDURE p1() BEGIN UPDATE ev SET end = NULL WHERE id = 1; END;\n\
                     CREATE PROCEDURE p2() BEGIN UPDATE ev SET status = IF(begin IS NULL, 1, 2), x = end + 1; END;\n\
                     CREATE PROCEDURE p3() BEGIN SELECT begin, end FROM ev WHERE end > begin ORDER BY end; END;\n\
                     CREATE TRIGGER t BEFORE UPDATE ON ev FOR EACH ROW BEGIN SET NEW.end = OLD.begin; IF NEW.end IS NULL THEN BEGIN SET NEW.end = 1; END; END IF; END;\n\
                     SELECT 1";
        let got = sqls(mysql, Dialect::MySql);
        assert_eq!(got.len(), 5, "{got:#?}");
        assert!(got[0].ends_with("WHERE id = 1; END") && got[3].ends_with("END IF; END"), "{got:#?}");
        let sqlite =
            "CREATE TRIGGER t AFTER UPDATE ON ev BEGIN UPDATE ev SET end = new.begin WHERE end IS NULL; END;\nSELECT 1";
        assert_eq!(sqls(sqlite, Dialect::Sqlite).len(), 2);
        // After THEN, ELSE, FROM, AS and `@`, `end` is a value; the keywords still open and close where they are.
        let more = "CREATE PROCEDURE p4() BEGIN\n  SET @end = NOW();\n  SELECT CASE WHEN x THEN 1 ELSE end END AS e FROM ev;\n  \
                    SELECT a AS end FROM ev;\n  IF x THEN BEGIN SELECT 1; END; ELSE BEGIN SELECT 2; END; END IF;\n  \
                    lbl: BEGIN SELECT 3; END lbl;\n  BEGIN DECLARE CONTINUE HANDLER FOR SQLSTATE '23000' BEGIN END; SELECT 4; END;\nEND;\n\
                    CREATE TRIGGER t2 BEFORE INSERT ON ev FOR EACH ROW FOLLOWS t BEGIN SET NEW.end = 1; END;\n\
                    BEGIN NOT ATOMIC SELECT CASE WHEN begin THEN 1 END FROM ev; END;\nSELECT 5";
        let got = sqls(more, Dialect::MySql);
        assert_eq!(got.len(), 4, "{got:#?}");
        assert!(got[0].ends_with("SELECT 4; END;\nEND") && got[2].starts_with("BEGIN NOT ATOMIC"), "{got:#?}");
    }

    #[test]
    fn sqlite_trigger_with_case() {
        let input = "CREATE TEMP TRIGGER IF NOT EXISTS tr AFTER UPDATE ON t\nWHEN new.a IS NOT old.a\nBEGIN\n  \
                     UPDATE t SET b = CASE WHEN new.a > 0 THEN 'pos;' ELSE 'neg' END WHERE id = new.id;\n  \
                     INSERT INTO log VALUES (case new.a when 1 then 'one' end);\nend;\n\nSELECT 1;";
        let statements = checked(input, Dialect::Sqlite).unwrap();
        assert_eq!(statements.len(), 2);
        assert!(statements[0].sql.ends_with("end);\nend"));
        assert_eq!((statements[1].sql, statements[1].line), ("SELECT 1", 8));
    }

    #[test]
    fn transactions_and_non_body_creates_are_plain_statements() {
        for d in ALL {
            assert_eq!(
                sqls("BEGIN;\nCREATE TABLE t (a int);\nCOMMIT;", d),
                ["BEGIN", "CREATE TABLE t (a int)", "COMMIT"]
            );
            assert_eq!(sqls("BEGIN TRANSACTION; SELECT 1; END;", d), ["BEGIN TRANSACTION", "SELECT 1", "END"]);
            // Not a CREATE: the words do not matter.
            assert_eq!(sqls("DROP TRIGGER IF EXISTS begin; SELECT 1", d), ["DROP TRIGGER IF EXISTS begin", "SELECT 1"]);
            // A body-capable CREATE without a block, and an END closing nothing.
            assert_eq!(
                sqls("CREATE FUNCTION f() RETURNS int RETURN 1; x", d),
                ["CREATE FUNCTION f() RETURNS int RETURN 1", "x"]
            );
            assert_eq!(sqls("CREATE TABLE event (\"end\" int, end_at int); x", d)[1], "x");
            // The object keyword must be among the first 12 words.
            assert_eq!(sqls("CREATE TABLE a b c d e f g h i j k trigger begin; x", d).len(), 2);
        }
        assert_eq!(sqls("CREATE TABLE `end` (a int); x", Dialect::MySql).len(), 2);
    }

    #[test]
    fn block_words_inside_quotes_and_comments_do_not_count() {
        let input = "CREATE TRIGGER t AFTER INSERT ON x BEGIN SELECT 'END'; /* END */ SELECT \"end\"; -- END\nEND; x";
        for d in ALL {
            assert_eq!(sqls(input, d).len(), 2, "{d}");
        }
        assert_eq!(
            sqls("CREATE FUNCTION f() AS $$ BEGIN x; $$; SELECT 1", Dialect::Postgres),
            ["CREATE FUNCTION f() AS $$ BEGIN x; $$", "SELECT 1"]
        );
        // `END` then a comment then `IF` is still `END IF`.
        let input = "CREATE PROCEDURE p() BEGIN IF 1 THEN SELECT 1; END /* c */ IF; END; x";
        assert_eq!(sqls(input, Dialect::MySql).len(), 2);
    }

    #[test]
    fn mariadb_begin_not_atomic() {
        let input =
            "BEGIN NOT ATOMIC\n  DECLARE x INT;\n  IF x THEN SELECT 1; END IF;\nEND;\nBEGIN;\nSELECT 2;\nCOMMIT";
        assert_eq!(
            sqls(input, Dialect::MySql),
            ["BEGIN NOT ATOMIC\n  DECLARE x INT;\n  IF x THEN SELECT 1; END IF;\nEND", "BEGIN", "SELECT 2", "COMMIT"]
        );
        let e = error("SELECT 1;\nbegin not atomic SELECT 1; SELECT 2;", Dialect::MySql);
        assert_eq!(e, LexError { line: 2, kind: LexErrorKind::UnterminatedBlock("BEGIN NOT ATOMIC".into()) });
        // Only MariaDB has it.
        assert_eq!(sqls("BEGIN NOT ATOMIC SELECT 1; END", Dialect::Postgres).len(), 2);
        // A near miss is a plain statement.
        assert_eq!(sqls("BEGIN NOT WORK; SELECT 1", Dialect::MySql).len(), 2);
    }

    #[test]
    fn unterminated_block() {
        let input = "SELECT 1;\nCREATE TRIGGER t AFTER INSERT ON x\nBEGIN\n  SELECT 1;\n";
        for d in ALL {
            let e = error(input, d);
            assert_eq!(e, LexError { line: 3, kind: LexErrorKind::UnterminatedBlock("TRIGGER".into()) });
            assert_eq!(e.to_string(), "line 3: TRIGGER body opened by BEGIN is never closed by END");
        }
        let e = error("CREATE PROCEDURE p() BEGIN IF 1 THEN SELECT 1; END IF;", Dialect::MySql);
        assert_eq!(e.kind, LexErrorKind::UnterminatedBlock("PROCEDURE".into()));
        // A final END without `;` still closes.
        assert_eq!(sqls("CREATE TRIGGER t AFTER INSERT ON x BEGIN SELECT 1; END", Dialect::Sqlite).len(), 1);
    }

    #[test]
    fn autocommit_annotation() {
        let input = "SELECT 1;\n-- @dbwarden:autocommit\nCREATE INDEX CONCURRENTLY i ON t (a);\n\
                     SELECT 2;\n  --   @DBWarden:AutoCommit   \n\n/* c */\nVACUUM;\n\
                     SELECT 3; -- @dbwarden:autocommit\nSELECT 4;\n-- @dbwarden:autocommit\n;\nSELECT 5\n\
                     -- @dbwarden:autocommit\n;SELECT 6;\nSELECT 7; -- @dbwarden:autocomit\nSELECT 8";
        for d in ALL {
            let flags: Vec<_> = checked(input, d).unwrap().into_iter().map(|s| (s.sql, s.autocommit)).collect();
            assert_eq!(
                flags,
                [
                    ("SELECT 1", false),
                    ("CREATE INDEX CONCURRENTLY i ON t (a)", true),
                    ("SELECT 2", false),
                    ("VACUUM", true),
                    ("SELECT 3", false),
                    ("SELECT 4", false), // trailing comment on a statement's line: not a line
                    ("SELECT 5", true),  // carried over an empty chunk
                    ("SELECT 6", false), // inside SELECT 5, before its `;`
                    ("SELECT 7", false),
                    ("SELECT 8", false), // a comment on a statement's line is no marker, whatever it says
                ],
                "{d}"
            );
        }
        assert!(split("-- @dbwarden:autocommit\nSELECT 1", Dialect::Sqlite).unwrap()[0].autocommit);
        assert!(split("--@dbwarden:autocommit\nSELECT 1", Dialect::Sqlite).unwrap()[0].autocommit);
        // On MySQL `--@` is no comment at all (see `line_comments`), so it cannot annotate.
        assert_eq!(sqls("--@dbwarden:autocommit\nSELECT 1", Dialect::MySql), ["--@dbwarden:autocommit\nSELECT 1"]);
        // `#` comments do not annotate: a marker written with one is an error at its line, naming it as written.
        let e = split("SELECT 0;\n# @dbwarden:autocommit\nSELECT 1", Dialect::MySql).unwrap_err();
        assert_eq!((e.line, e.kind.clone()), (2, LexErrorKind::UnknownMarker("# @dbwarden:autocommit".into())));
        assert!(e
            .to_string()
            .contains("unknown marker `# @dbwarden:autocommit`; the only one is `-- @dbwarden:autocommit`"));
        assert!(!split("# just a note\nSELECT 1", Dialect::MySql).unwrap()[0].autocommit);
        // A marker line with a typo, or with no statement after it, would leave its statement in the transaction
        // without a word: an error at its line.
        for d in ALL {
            for typo in ["-- @dbwarden:autocomit", "-- @dbwarden: autocommit", "--  @DBWARDEN:autocommit please"] {
                let e = split(&format!("SELECT 1;\n{typo}\nSELECT 2;"), d).unwrap_err();
                assert!(e.line == 2 && matches!(e.kind, LexErrorKind::UnknownMarker(_)), "{d} {typo}: {e}");
                // Inside a statement a marker means nothing, spelt right or not: a comment of the statement.
                assert_eq!(split(&format!("SELECT 1,\n{typo}\n2;"), d).unwrap().len(), 1, "{d} {typo}");
            }
            for dangling in
                ["SELECT 1;\n-- @dbwarden:autocommit\n", "SELECT 1;\n\n-- @dbwarden:autocommit\n;\n-- done\n"]
            {
                let e = split(dangling, d).unwrap_err();
                assert_eq!(
                    (e.line, e.kind),
                    (if dangling.contains("\n\n") { 3 } else { 2 }, LexErrorKind::DanglingMarker),
                    "{d}"
                );
            }
        }
    }

    #[test]
    fn error_lines_point_at_the_start() {
        for d in ALL {
            let e = error("SELECT 1;\n\nSELECT 'a\n\nb", d);
            assert_eq!(e, LexError { line: 3, kind: LexErrorKind::UnterminatedQuote('\'') });
            assert_eq!(e.to_string(), "line 3: unterminated quoted text starting with '");
            assert_eq!(error("\nSELECT \"a", d).kind, LexErrorKind::UnterminatedQuote('"'));
        }
    }

    #[test]
    fn odd_inputs_do_not_panic() {
        let odd = [
            "$",
            "$$",
            "$a",
            "$a$",
            "E",
            "e'",
            "E'\\",
            "'",
            "\"",
            "`",
            "[",
            "/*",
            "/",
            "*/",
            "-",
            "--",
            "#",
            "\\",
            "é",
            "\u{feff}",
            "\u{feff}é;",
            "\0;\0",
            "CREATE",
            "CREATE TRIGGER",
            "CREATE TRIGGER x BEGIN END END END",
            "CREATE PROCEDURE END",
            "CREATE FUNCTION f BEGIN END",
            "'\\",
            "$é$ $é",
            "a$",
            "E$$",
        ];
        for d in ALL {
            for input in odd {
                let _ = checked(input, d);
            }
        }
    }

    #[test]
    fn long_inputs_are_linear() {
        // Quadratic behaviour would make these take minutes.
        let many = "SELECT 'a;b' /* c; */ -- d;\n;".repeat(50_000);
        for d in ALL {
            assert_eq!(checked(&many, d).unwrap().len(), 50_000);
        }
        let unterminated = format!("SELECT 1; $a$ {}", "$b ".repeat(100_000));
        assert!(split(&unterminated, Dialect::Postgres).is_err());
        let comment_lines = format!("{}SELECT 1", "   -- @dbwarden:autocommit\n".repeat(100_000));
        assert!(split(&comment_lines, Dialect::Postgres).unwrap()[0].autocommit);
    }

    // ---- corpus of real migration histories ----

    #[test]
    fn real_corpus_splits() {
        use std::path::Path;
        let root = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/corpus"));
        assert!(root.is_dir(), "corpus folder {} is missing", root.display());
        let mut files = 0;
        let mut statements_seen = 0;
        let mut procedures_checked = 0;
        for project in std::fs::read_dir(root).unwrap() {
            let project = project.unwrap().path();
            if !project.is_dir() {
                continue;
            }
            let name = project.file_name().unwrap().to_string_lossy().to_lowercase();
            let dialect = if name.contains("postgresql") {
                Dialect::Postgres
            } else if name.contains("mysql") {
                Dialect::MySql
            } else if name.contains("sqlite") {
                Dialect::Sqlite
            } else {
                continue;
            };
            for dir in std::fs::read_dir(&project).unwrap() {
                let dir = dir.unwrap().path();
                if !dir.is_dir() {
                    continue;
                }
                for file in std::fs::read_dir(&dir).unwrap() {
                    let path = file.unwrap().path();
                    if path.extension().and_then(|e| e.to_str()) != Some("sql") {
                        continue;
                    }
                    files += 1;
                    let text = std::fs::read_to_string(&path).unwrap();
                    let (upgrade, rollback) = sections(&text)
                        .unwrap_or_else(|| panic!("{}: no -- upgrade / -- rollback lines", path.display()));
                    let file_name = path.file_name().unwrap().to_string_lossy();
                    for (label, section) in [("upgrade", upgrade), ("rollback", rollback)] {
                        let statements = checked(section, dialect)
                            .unwrap_or_else(|e| panic!("{} ({label}, {dialect}): {e}", path.display()));
                        if label == "upgrade" && !section.trim().is_empty() {
                            assert!(!statements.is_empty(), "{}: no statement in the upgrade section", path.display());
                        }
                        for s in &statements {
                            // A dollar body is never cut in two.
                            if dialect == Dialect::Postgres {
                                assert_eq!(s.sql.matches("$$").count() % 2, 0, "{}: {}", path.display(), s.sql);
                            }
                        }
                        statements_seen += statements.len();
                        if file_name == "authelia__0007_consistencyfixes.sql" {
                            let expected = section.matches("CREATE PROCEDURE").count();
                            let procedures: Vec<_> =
                                statements.iter().filter(|s| s.sql.starts_with("CREATE PROCEDURE")).collect();
                            assert_eq!(procedures.len(), expected, "{label}: {procedures:#?}");
                            for p in procedures {
                                assert!(p.sql.ends_with("END"), "{label}: {}", p.sql);
                                assert!(p.sql.contains("END IF;"), "{label}: {}", p.sql);
                                procedures_checked += 1;
                            }
                        }
                    }
                }
            }
        }
        assert!(files > 0, "no .sql file under {}", root.display());
        assert!(statements_seen > files, "suspiciously few statements: {statements_seen}");
        assert!(procedures_checked >= 2, "authelia__0007_consistencyfixes.sql not found or its procedures not split");
    }

    /// The text between the `-- upgrade` and `-- rollback` lines, and the text after `-- rollback`.
    fn sections(text: &str) -> Option<(&str, &str)> {
        let mut upgrade = None;
        let mut offset = 0;
        for line in text.split_inclusive('\n') {
            let next = offset + line.len();
            match line.trim() {
                "-- upgrade" if upgrade.is_none() => upgrade = Some(next),
                "-- rollback" => return Some((&text[upgrade?..offset], &text[next..])),
                _ => {}
            }
            offset = next;
        }
        None
    }

    // ---- property tests ----

    fn dialect() -> impl Strategy<Value = Dialect> {
        prop_oneof![Just(Dialect::Postgres), Just(Dialect::MySql), Just(Dialect::Sqlite)]
    }

    /// Inputs made of the pieces the lexer reacts to, so that the rare paths get hit, not just random text.
    fn sqlish() -> impl Strategy<Value = String> {
        let piece = prop::sample::select(vec![
            ";",
            "'",
            "\"",
            "`",
            "[",
            "]",
            "$",
            "$$",
            "$a$",
            "$1",
            "/*",
            "*/",
            "--",
            "#",
            "\\",
            "E'",
            "e",
            "\n",
            " ",
            "\r\n",
            "begin",
            "END",
            "case",
            "if",
            "CREATE",
            "trigger",
            "Procedure",
            "x",
            "é",
            "\u{feff}",
            "-- @dbwarden:autocommit\n",
            "0",
        ]);
        prop::collection::vec(piece, 0..60).prop_map(|pieces| pieces.concat())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        #[test]
        fn any_input_keeps_the_invariants(
            input in prop_oneof![any::<String>(), "[ -~\n\t]{0,200}", sqlish()],
            d in dialect(),
        ) {
            // `checked` asserts the offset, slice and line invariants; here only "no panic" is left to prove.
            let _ = checked(&input, d);
        }

        #[test]
        fn generated_statements_split_back(
            (d, statements, final_semicolon) in dialect().prop_flat_map(|d| {
                (Just(d), prop::collection::vec(statement(d), 1..6), any::<bool>())
            })
        ) {
            let mut input = statements.join(";\n");
            if final_semicolon {
                input.push(';');
            }
            let got = checked(&input, d).map_err(|e| TestCaseError::fail(format!("{e}\n{input}")))?;
            let got: Vec<&str> = got.iter().map(|s| s.sql).collect();
            prop_assert_eq!(got, statements, "{}", input);
        }
    }

    /// A statement: a word, safe fragments (any of which may hold `;`), and a word, joined by spaces.
    fn statement(d: Dialect) -> impl Strategy<Value = String> {
        (word(), prop::collection::vec(fragment(d), 0..8), word()).prop_map(|(first, middle, last)| {
            let mut parts = vec![first];
            parts.extend(middle);
            parts.push(last);
            parts.join(" ")
        })
    }

    /// A word that never makes the statement a `CREATE ... TRIGGER` or an escape string.
    fn word() -> impl Strategy<Value = String> {
        "[a-zA-Z_][a-zA-Z0-9_]{0,7}".prop_filter("keyword", |w| !w.eq_ignore_ascii_case("create"))
    }

    fn fragment(d: Dialect) -> BoxedStrategy<String> {
        let text = "[a-z ;\"`$#*/\n-]{0,10}";
        let mut options: Vec<BoxedStrategy<String>> = vec![
            word().boxed(),
            "[0-9]{1,4}".boxed(),
            prop::sample::select(vec!["(", ")", ",", "=", "+", "*", "<", ">", ".", "||"])
                .prop_map(String::from)
                .boxed(),
            // Strings and identifiers with doubled quotes and `;`.
            prop::collection::vec(text, 1..3).prop_map(|p| format!("'{}'", p.join("''"))).boxed(),
            prop::collection::vec("[a-z ;'`$#*/-]{0,10}", 1..3).prop_map(|p| format!("\"{}\"", p.join("\"\""))).boxed(),
            // Comments holding `;` (a line comment ends at its newline).
            "[a-z ;'\"`$\n-]{0,12}".prop_map(|t| format!("/*{t}*/")).boxed(),
            "[a-z ;'\"`$*/]{0,12}".prop_map(|t| format!("-- {t}\n")).boxed(),
        ];
        match d {
            Dialect::Postgres => {
                options.push("[a-z ;'\"\n]{0,12}".prop_map(|t| format!("$${t}$$")).boxed());
                options.push("[a-z ;'\"\n]{0,12}".prop_map(|t| format!("$body$ {t} $$ ; $b$ $body$")).boxed());
                options.push("[a-z ;'\"\n]{0,12}".prop_map(|t| format!("/* x /* {t} */ ; */")).boxed());
                options.push("[a-z ;\"]{0,8}".prop_map(|t| format!(r"E'{t}\';\\'")).boxed());
            }
            Dialect::MySql => {
                options.push("[a-z ;\"]{0,8}".prop_map(|t| format!(r"'\';{t}\\'")).boxed());
                options.push("[a-z ;'\"`]{0,12}".prop_map(|t| format!("# {t}\n")).boxed());
                options.push("[a-z ;'\"]{0,8}".prop_map(|t| format!("`{t}``;`")).boxed());
                options.push("[a-z ;'\"]{0,8}".prop_map(|t| format!("/*!40101 {t} */")).boxed());
            }
            Dialect::Sqlite => {
                options.push("[a-z ;'\"]{0,8}".prop_map(|t| format!("`{t}``;`")).boxed());
                options.push("[a-z ;'\"`]{0,8}".prop_map(|t| format!("[{t};]")).boxed());
            }
        }
        prop::strategy::Union::new(options).boxed()
    }
}
