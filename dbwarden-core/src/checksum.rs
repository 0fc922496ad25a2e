//! Checksums of migration sections (SPEC §3).
//!
//! The upgrade and rollback sections are hashed separately, so that fixing a rollback never makes an applied
//! migration look edited. Before hashing, text is normalised so that editor noise (a BOM, CRLF line ends, trailing
//! white space, blank lines at the ends) does not count as an edit.

use sha2::{Digest, Sha256};

/// The algorithm name stored beside every checksum in the history table.
pub const ALGORITHM: &str = "sha256";

/// The algorithm name of rows written by Python DBWarden (no algorithm column): SHA-256 of the upgrade statements
/// (split on blank lines, comment lines dropped) joined by `;`.
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

/// The checksum Python DBWarden 0.20 stored: SHA-256 of its upgrade statements joined by `;`, where a statement is a
/// run of non-blank, non-comment lines (it split on blank lines).
pub fn legacy_checksum(upgrade_section: &str) -> String {
    hex(&Sha256::digest(legacy_statements(upgrade_section).join(";").as_bytes()))
}

/// Python DBWarden's statement split: blank lines end a statement, lines starting with `--` are dropped.
fn legacy_statements(section: &str) -> Vec<String> {
    let mut statements = Vec::new();
    let mut current: Vec<&str> = Vec::new();
    let mut flush = |current: &mut Vec<&str>| {
        let statement = current.join("\n");
        let statement = statement.trim();
        if !statement.is_empty() {
            statements.push(statement.to_string());
        }
        current.clear();
    };
    for line in section.split('\n') {
        let line = line.strip_suffix('\r').unwrap_or(line);
        let stripped = line.trim();
        if !stripped.is_empty() && !stripped.starts_with("--") {
            current.push(line);
        } else if stripped.is_empty() && !current.is_empty() {
            flush(&mut current);
        }
    }
    flush(&mut current);
    statements
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

    #[test]
    fn legacy_splits_on_blank_lines_and_drops_comments() {
        let section = "-- note\nCREATE TABLE a (id int);\n\nCREATE TABLE b (\n  id int\n);\n";
        assert_eq!(legacy_statements(section), vec!["CREATE TABLE a (id int);", "CREATE TABLE b (\n  id int\n);"]);
        let expected = hex(&Sha256::digest("CREATE TABLE a (id int);;CREATE TABLE b (\n  id int\n);".as_bytes()));
        assert_eq!(legacy_checksum(section), expected);
    }
}
