//! Checksums of migration sections (SPEC §3).
//!
//! The upgrade and rollback sections are hashed separately, so that fixing a rollback never makes an applied
//! migration look edited. Before hashing, text is normalised so that editor noise (a BOM, CRLF line ends, trailing
//! white space, blank lines at the ends) does not count as an edit.

use sha2::{Digest, Sha256};

/// The algorithm name stored beside every checksum in the history table.
pub const ALGORITHM: &str = "sha256";

/// The algorithm name of rows written by Python DBWarden (no algorithm column): SHA-256 of the upgrade statements
/// as it split them, joined by `;` (see [`legacy_checksum`]).
pub const LEGACY_ALGORITHM: &str = "sha256-dbwarden-py";

/// Normalises a section: BOM removed, CRLF to LF, trailing white space trimmed from every line, blank lines at the
/// start and end removed.
///
/// ```
/// use dbwarden_core::checksum::normalize;
/// assert_eq!(normalize("\u{feff}\r\nCREATE TABLE t (id int);  \r\n\r\n"), "CREATE TABLE t (id int);");
/// ```
pub fn normalize(section: &str) -> String {
    let text = section.strip_prefix('\u{feff}').unwrap_or(section);
    let mut out = String::with_capacity(text.len());
    for line in text.split('\n') {
        out.push_str(line.trim_end());
        out.push('\n');
    }
    let trimmed = out.trim_matches('\n');
    trimmed.to_string()
}

/// Lower-case hex SHA-256 of the normalised section.
///
/// ```
/// use dbwarden_core::checksum::section_checksum;
/// assert_eq!(section_checksum("SELECT 1;\r\n"), section_checksum("SELECT 1;"));
/// assert_ne!(section_checksum("SELECT 1;"), section_checksum("SELECT 2;"));
/// ```
pub fn section_checksum(section: &str) -> String {
    hex(&Sha256::digest(normalize(section).as_bytes()))
}

/// The algorithm of a row whose migration stopped part-way (MySQL, `no-transaction`): its checksum is
/// [`statements_checksum`] of the statements that ran, so a resume can tell whether they are still the file's.
pub const STATEMENTS_ALGORITHM: &str = "sha256-statements-run";

/// SHA-256 of statements (as the lexer split them), each normalised as a section is, separated by `;` lines.
///
/// ```
/// use dbwarden_core::checksum::statements_checksum;
/// assert_eq!(statements_checksum(&["CREATE TABLE a (id int)  "]), statements_checksum(&["CREATE TABLE a (id int)"]));
/// assert_ne!(statements_checksum(&["SELECT 1", "SELECT 2"]), statements_checksum(&["SELECT 1\nSELECT 2"]));
/// ```
pub fn statements_checksum(statements: &[&str]) -> String {
    let mut hasher = StatementsHasher::default();
    statements.iter().for_each(|s| hasher.push(s));
    hasher.checksum()
}

/// [`statements_checksum`] built one statement at a time, readable after each: a migration recording its progress
/// statement by statement hashes each statement once, not all those before it again at every step.
///
/// ```
/// use dbwarden_core::checksum::{statements_checksum, StatementsHasher};
/// let mut ran = StatementsHasher::default();
/// ran.push("SELECT 1");
/// assert_eq!(ran.checksum(), statements_checksum(&["SELECT 1"]));
/// ran.push("SELECT 2");
/// assert_eq!(ran.checksum(), statements_checksum(&["SELECT 1", "SELECT 2"]));
/// ```
#[derive(Debug, Clone, Default)]
pub struct StatementsHasher(Sha256);

impl StatementsHasher {
    /// Adds the next statement.
    pub fn push(&mut self, statement: &str) {
        self.0.update(normalize(statement).as_bytes());
        self.0.update(b"\n;\n");
    }

    /// The checksum of the statements pushed so far.
    pub fn checksum(&self) -> String {
        hex(&self.0.clone().finalize())
    }
}

/// The checksum Python DBWarden 0.20 stored for an upgrade section: SHA-256 of its statements joined by `;`, the
/// statements as its `parse_upgrade_statements` made them (0.20.0 to 0.20.11 alike): the section's lines cut into
/// blocks at blank lines, comment lines dropped, a `-- @dbwarden:autocommit` line prefixed to the block after it,
/// then each block split on `;` outside quotes and comments, without the `;`, stripped, empty pieces dropped.
/// Python read the file in text mode, so line ends are `\n` whatever the file had.
///
/// ```
/// // Known answer from Python DBWarden 0.20.11 for this upgrade section.
/// let section = "CREATE TABLE core (id INTEGER);\n\nCREATE TABLE more_core (id INTEGER);\n";
/// assert_eq!(
///     dbwarden_core::checksum::legacy_checksum(section),
///     "a43deffa5a40c8114f46d8f2740a2bc75640fb9be5aa4924ead211e67a88ba37"
/// );
/// ```
pub fn legacy_checksum(upgrade_section: &str) -> String {
    hex(&Sha256::digest(legacy_statements(upgrade_section).join(";").as_bytes()))
}

/// Python DBWarden's marker for a statement run outside the transaction; it kept it in the statement's text.
const LEGACY_AUTOCOMMIT: &str = "-- @dbwarden:autocommit";

/// Python's `str.strip()`: its white space is Unicode's plus the four separators U+001C..U+001F.
fn py_strip(s: &str) -> &str {
    s.trim_matches(|c: char| c.is_whitespace() || ('\u{1c}'..='\u{1f}').contains(&c))
}

/// Python DBWarden's `_extract_section_statements` over one section, then `split_sql_statements` on each block.
fn legacy_statements(section: &str) -> Vec<String> {
    let text = section.replace("\r\n", "\n").replace('\r', "\n");
    let mut blocks: Vec<String> = Vec::new();
    let mut current: Vec<&str> = Vec::new();
    let mut marked = false;
    let mut flush = |current: &mut Vec<&str>, marked: &mut bool| {
        let statement = current.join("\n");
        let statement = py_strip(&statement);
        if !statement.is_empty() {
            blocks.push(if *marked { format!("{LEGACY_AUTOCOMMIT}\n{statement}") } else { statement.to_string() });
        }
        current.clear();
        *marked = false;
    };
    for line in text.split('\n') {
        let stripped = py_strip(line);
        if stripped == "-- upgrade" {
            continue;
        }
        if stripped == LEGACY_AUTOCOMMIT {
            if !current.is_empty() {
                flush(&mut current, &mut marked);
            }
            marked = true;
        } else if !stripped.is_empty() && !stripped.starts_with("--") {
            current.push(line);
        } else if stripped.is_empty() && !current.is_empty() {
            flush(&mut current, &mut marked);
        }
    }
    if !current.is_empty() {
        flush(&mut current, &mut marked);
    }
    let mut statements = Vec::new();
    for block in &blocks {
        legacy_split(block, &mut statements);
    }
    statements
}

/// Python DBWarden's `split_sql_statements`: `;` ends a statement outside `'`, `"` and `` ` `` quotes (doubled
/// quotes and backslash escapes inside), `--` line comments and (unnested) `/* */` comments.
fn legacy_split(sql: &str, out: &mut Vec<String>) {
    let chars: Vec<char> = sql.chars().collect();
    let mut current = String::new();
    let mut quote: Option<char> = None;
    let (mut line_comment, mut block_comment) = (false, false);
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        current.push(c);
        i += 1;
        if line_comment {
            line_comment = c != '\n';
        } else if block_comment {
            if c == '*' && next == Some('/') {
                current.push('/');
                i += 1;
                block_comment = false;
            }
        } else if let Some(q) = quote {
            if c == q && next == Some(q) {
                current.push(q);
                i += 1;
            } else if c == q {
                quote = None;
            } else if let (true, Some(n)) = (c == '\\', next) {
                current.push(n);
                i += 1;
            }
        } else {
            match c {
                '\'' | '"' | '`' => quote = Some(c),
                '-' if next == Some('-') => line_comment = true,
                '/' if next == Some('*') => block_comment = true,
                ';' => {
                    current.pop();
                    let piece = py_strip(&current);
                    if !piece.is_empty() {
                        out.push(piece.to_string());
                    }
                    current.clear();
                }
                _ => {}
            }
        }
    }
    let piece = py_strip(&current);
    if !piece.is_empty() {
        out.push(piece.to_string());
    }
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    // By table: `write!("{b:02x}")` per byte went through the formatting machinery, 40% of resolving a folder.
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(char::from(DIGITS[usize::from(b >> 4)]));
        s.push(char::from(DIGITS[usize::from(b & 0xf)]));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_vector() {
        // sha256("abc")
        assert_eq!(section_checksum("abc\n"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    }

    #[test]
    fn normalisation_ignores_editor_noise_but_not_content() {
        let a = "CREATE TABLE t (\n  id int\n);\n";
        let b = "\u{feff}\n\nCREATE TABLE t (  \r\n  id int\t\r\n);\r\n\r\n";
        assert_eq!(section_checksum(a), section_checksum(b));
        assert_ne!(section_checksum(a), section_checksum("CREATE TABLE t (\n id int\n);"));
    }

    /// Known answers from Python DBWarden 0.20.11 (0.20.0's code is the same): each file written byte for byte,
    /// then `calculate_checksum(parse_upgrade_statements(path))`.
    #[test]
    fn legacy_checksums_equal_python_dbwarden() {
        let cases = [
            (
                "-- upgrade\nCREATE TABLE a (id INTEGER);\nCREATE TABLE b (id INTEGER);\n-- rollback\n",
                "a63a3ae15ecd0f8644fce997e477442d00dfc1d87c618c10752218dd06727f68",
            ),
            (
                "-- upgrade\n-- a note\nINSERT INTO t VALUES ('a;b', \"c;d\", `e;f`); -- tail; comment\n  /* block; */ UPDATE t SET x = 'it''s; ok';\nSELECT 'back\\\\'; x';\n\n\n-- rollback\nDELETE FROM t;\n",
                "baf15f76646a0633fea4cf680f554420a9469b70490b9cec5a9d01a843778e35",
            ),
            (
                "-- upgrade\nCREATE TABLE a (id INTEGER);\n-- @dbwarden:autocommit\nCREATE INDEX CONCURRENTLY ix ON a (id);\nCREATE TABLE c (id INTEGER);\n-- rollback\n",
                "351cc795ddc0489fb0dadf5269e76ca77be6437f5f7b23120ce8d40a0a233049",
            ),
            (
                "-- upgrade\r\n  CREATE TABLE a (\r\n    id INTEGER\r\n  );\r\n\r\n\tINSERT INTO a VALUES (1);\r\n-- rollback\r\nDROP TABLE a;\r\n",
                "8b41c83b5b6838931e52262746fd0746b61982accb94193db24495208ee4f9fd",
            ),
            (
                "-- upgrade\nINSERT INTO t VALUES ('h\u{e9}llo; w\u{f6}rld');;\n;\n-- rollback\n",
                "e69f67e4d76414e1ff419d270861e826365a151bd759fa93c2667e0062aee38b",
            ),
        ];
        for (text, expected) in cases {
            let file = crate::file::MigrationFile::parse("app__0001_a.sql", text).unwrap();
            assert_eq!(legacy_checksum(&file.upgrade.text), expected, "{text:?}");
        }
        let statements = legacy_statements("SELECT 'back\\\\'; x';\nSELECT 2;\n");
        assert_eq!(statements, ["SELECT 'back\\\\'", "x';\nSELECT 2;"], "an escaped backslash ends no quote");
    }
}
