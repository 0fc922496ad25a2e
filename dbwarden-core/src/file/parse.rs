use super::{FileName, FormatError};
use crate::checksum;
use crate::lexer::{self, Statement};
use crate::Dialect;

/// One section of a migration file (the text between its marker line and the next).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Section {
    /// The raw text, as in the file (minus a BOM).
    pub text: String,
    /// 1-based line number of the section's first line in the file (the line after its marker).
    pub first_line: u32,
}

impl Section {
    /// Whether the section holds no SQL (only white space and comments).
    pub fn is_empty(&self, dialect: Dialect) -> bool {
        lexer::split(&self.text, dialect).map(|s| s.is_empty()).unwrap_or(false)
    }
}

/// Header directives (the comment lines before `-- upgrade`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Directives {
    /// `-- dbwarden: irreversible`: no rollback, said on purpose.
    pub irreversible: bool,
    /// `-- dbwarden: no-transaction`: the file runs outside a transaction, statement by statement.
    pub no_transaction: bool,
    /// `-- depends_on: ["0004"]`.
    pub depends_on: Vec<String>,
    /// `-- renames: [...]`, kept as written for the generator.
    pub renames: Vec<String>,
    /// `-- dbwarden: file-severity SAFE`: the safety level Python DBWarden's generator wrote into every file it made
    /// (SAFE, INFO, WARN or CRITICAL, upper-cased); kept as written, informational.
    pub file_severity: Option<String>,
}

/// A parsed migration file: its name, directives, both sections and their checksums.
///
/// ```
/// use dbwarden_core::file::MigrationFile;
/// let text = "-- dbwarden: no-transaction\n-- upgrade\nCREATE INDEX CONCURRENTLY i ON t (a);\n-- rollback\nDROP INDEX i;\n";
/// let file = MigrationFile::parse("primary__0002_index.sql", text).unwrap();
/// assert!(file.directives.no_transaction);
/// assert_eq!(file.upgrade.first_line, 3);
/// assert_eq!(file.rollback.text.trim(), "DROP INDEX i;");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MigrationFile {
    /// The parsed file name.
    pub name: FileName,
    /// The file name as found.
    pub filename: String,
    /// Header directives.
    pub directives: Directives,
    /// The `-- upgrade` section.
    pub upgrade: Section,
    /// The `-- rollback` section.
    pub rollback: Section,
    /// [`checksum::section_checksum`] of the upgrade section.
    pub checksum: String,
    /// [`checksum::section_checksum`] of the rollback section.
    pub rollback_checksum: String,
}

impl MigrationFile {
    /// Parses a file from its name and text.
    pub fn parse(filename: &str, text: &str) -> Result<MigrationFile, FormatError> {
        let name = FileName::parse(filename)?;
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        let syntax = |line: usize, message: String| FormatError::Syntax {
            file: filename.to_string(),
            line: line as u32,
            message,
        };

        let mut directives = Directives::default();
        let mut upgrade_at: Option<(usize, usize)> = None; // (line index, byte offset after the marker line)
        let mut rollback_at: Option<(usize, usize, usize)> = None; // (line index, marker start, offset after)
                                                                   // Inside a `/* ... */` comment of the header.
        let mut in_comment = false;
        let mut comment_line = 0;
        let mut offset = 0;
        for (index, raw_line) in text.split_inclusive('\n').enumerate() {
            let start = offset;
            offset += raw_line.len();
            let line = raw_line.trim();
            let marker = marker(line);
            match (marker, upgrade_at, rollback_at) {
                (Some(Marker::Upgrade), None, None) if in_comment => {
                    return Err(syntax(
                        comment_line,
                        "this /* comment is not closed before the `-- upgrade` line; close it with */".into(),
                    ))
                }
                (Some(Marker::Upgrade), None, None) => upgrade_at = Some((index, offset)),
                (Some(Marker::Upgrade), _, _) => {
                    return Err(syntax(index + 1, "a second `-- upgrade` line; a file has one upgrade section".into()))
                }
                (Some(Marker::Rollback), None, _) => {
                    return Err(syntax(
                        index + 1,
                        "`-- rollback` comes before `-- upgrade`; put the upgrade section first".into(),
                    ))
                }
                (Some(Marker::Rollback), Some(_), None) => rollback_at = Some((index, start, offset)),
                (Some(Marker::Rollback), Some(_), Some((first, _, _))) => {
                    // Sections are found by line before any SQL is read: a body's `-- rollback` comment is one.
                    return Err(syntax(
                        index + 1,
                        format!(
                            "a second `-- rollback` line (the first is line {}); a file has one rollback section, \
                             and a comment line reading `-- rollback` inside the SQL counts as one: reword it",
                            first + 1
                        ),
                    ));
                }
                (None, None, _) => {
                    // Block comments in the header are comments too, over as many lines as they take, several to a
                    // line; what follows the last one is read as a header line.
                    let mut rest = line;
                    loop {
                        if in_comment {
                            let Some((_, after)) = rest.split_once("*/") else { break };
                            in_comment = false;
                            rest = after.trim();
                        } else if let Some(inside) = rest.strip_prefix("/*") {
                            in_comment = true;
                            comment_line = index + 1;
                            rest = inside;
                        } else {
                            parse_header_line(rest, &mut directives).map_err(|message| syntax(index + 1, message))?;
                            break;
                        }
                    }
                }
                (None, Some(_), _) => {}
            }
        }
        let Some((upgrade_line, upgrade_start)) = upgrade_at else {
            return Err(syntax(
                1,
                "no `-- upgrade` line; a migration file needs `-- upgrade` and `-- rollback` lines".into(),
            ));
        };
        let Some((rollback_line, rollback_marker, rollback_start)) = rollback_at else {
            let lines = text.lines().count().max(1);
            return Err(syntax(
                lines,
                "no `-- rollback` line; add one (leave the section empty and add `-- dbwarden: irreversible` to the header if it cannot be undone)".into(),
            ));
        };
        let upgrade =
            Section { text: text[upgrade_start..rollback_marker].to_string(), first_line: upgrade_line as u32 + 2 };
        let rollback = Section { text: text[rollback_start..].to_string(), first_line: rollback_line as u32 + 2 };
        Ok(MigrationFile {
            checksum: checksum::section_checksum(&upgrade.text),
            rollback_checksum: checksum::section_checksum(&rollback.text),
            name,
            filename: filename.to_string(),
            directives,
            upgrade,
            rollback,
        })
    }

    /// Splits a section into statements; line numbers are lines of the file.
    pub fn statements<'a>(&self, section: &'a Section, dialect: Dialect) -> Result<Vec<Statement<'a>>, FormatError> {
        let base = section.first_line - 1;
        match lexer::split(&section.text, dialect) {
            Ok(mut statements) => {
                for s in &mut statements {
                    s.line += base;
                }
                Ok(statements)
            }
            Err(e) => {
                Err(FormatError::Lex { file: self.filename.clone(), line: e.line + base, message: e.kind.to_string() })
            }
        }
    }
}

enum Marker {
    Upgrade,
    Rollback,
}

fn marker(line: &str) -> Option<Marker> {
    let rest = line.strip_prefix("--")?.trim();
    if rest.eq_ignore_ascii_case("upgrade") {
        Some(Marker::Upgrade)
    } else if rest.eq_ignore_ascii_case("rollback") {
        Some(Marker::Rollback)
    } else {
        None
    }
}

/// Whether a header line is a plain comment: neither a section line nor a directive (nor a near miss of one).
pub(crate) fn is_prose(line: &str) -> bool {
    let mut directives = Directives::default();
    marker(line).is_none() && parse_header_line(line, &mut directives).is_ok() && directives == Directives::default()
}

fn parse_header_line(line: &str, directives: &mut Directives) -> Result<(), String> {
    if line.is_empty() {
        return Ok(());
    }
    let Some(comment) = line.strip_prefix("--") else {
        return Err(format!(
            "SQL before the `-- upgrade` line: `{}`; only comments and directives may stand there",
            truncate(line)
        ));
    };
    let comment = comment.trim();
    // Near misses of a directive would be plain comments, and the file would run without it: say so.
    let lower = comment.to_ascii_lowercase();
    let mut words = lower.split(|c: char| c.is_whitespace() || c == ':').filter(|w| !w.is_empty());
    match (words.next(), words.next()) {
        (Some(first), _) if first.starts_with("@dbwarden") => {
            return Err(format!(
                "`-- {}` before the `-- upgrade` line: file directives are written `-- dbwarden: no-transaction` \
                 (no `@`); `-- @dbwarden:autocommit` marks a statement, on the line before it in a section",
                truncate(comment)
            ))
        }
        (Some("dbwarden"), Some(directive)) if !comment.contains(':') && is_directive(directive) => {
            return Err(format!("`-- {}` lacks its colon: write `-- dbwarden: {directive}`", truncate(comment)))
        }
        // Only with a list after it: `-- Renames users.email to mail` is prose.
        (Some(key @ ("depends_on" | "renames")), Some(next)) if !comment.contains(':') && next.starts_with('[') => {
            return Err(format!("`-- {}` lacks its colon: write `-- {key}: [...]`", truncate(comment)))
        }
        _ => {}
    }
    if let Some((key, value)) = comment.split_once(':') {
        let (key, value) = (key.trim().to_ascii_lowercase(), value.trim());
        match key.as_str() {
            "dbwarden" => {
                for word in value.split(',').map(str::trim) {
                    let lower = word.to_ascii_lowercase();
                    match lower.split_whitespace().collect::<Vec<_>>().as_slice() {
                        ["irreversible"] => directives.irreversible = true,
                        ["no-transaction" | "no_transaction"] => directives.no_transaction = true,
                        ["file-severity" | "file_severity", level @ ("safe" | "info" | "warn" | "critical" | "unknown")] => {
                            directives.file_severity = Some(level.to_ascii_uppercase())
                        }
                        ["file-severity" | "file_severity", ..] => {
                            return Err(format!(
                                "`-- dbwarden: {word}`: file-severity takes one of SAFE, INFO, WARN, CRITICAL, UNKNOWN"
                            ))
                        }
                        // The other markers Python DBWarden 0.20's generator and merge tool write: informational.
                        ["category", _, ..] | ["split-from", ..] | ["data-bundle"] | ["merge-reconciliation"]
                        | ["superseded"] => {}
                        _ => {
                            return Err(format!(
                                "unknown directive `-- dbwarden: {lower}`; known: irreversible, no-transaction \
                                 (and Python DBWarden's informational file-severity, category, split-from, data-bundle, \
                                 merge-reconciliation, superseded)"
                            ))
                        }
                    }
                }
            }
            "depends_on" => directives.depends_on = parse_list(value)?,
            // Python DBWarden writes a JSON list of objects (`[{"from": "t.a", "to": "t.b"}]`): kept as written.
            "renames" => {
                directives.renames = parse_list(value).or_else(|e| match value.starts_with("[{") {
                    true => Ok(vec![value.to_string()]),
                    false => Err(e),
                })?
            }
            _ => {}
        }
    }
    Ok(())
}

/// Whether `word` (lower case) names a `-- dbwarden:` directive, for spotting one written without its colon.
fn is_directive(word: &str) -> bool {
    matches!(word, "irreversible" | "no-transaction" | "no_transaction" | "file-severity" | "file_severity")
}

/// Parses `["a", "b"]` (JSON-style strings, as Python DBWarden writes them).
fn parse_list(value: &str) -> Result<Vec<String>, String> {
    let inner = value
        .strip_prefix('[')
        .and_then(|v| v.strip_suffix(']'))
        .ok_or_else(|| format!("expected a list like [\"0004\"], found `{}`", truncate(value)))?;
    inner
        .split(',')
        .map(str::trim)
        .filter(|item| !item.is_empty())
        .map(|item| {
            item.strip_prefix('"')
                .and_then(|i| i.strip_suffix('"'))
                .or_else(|| item.strip_prefix('\'').and_then(|i| i.strip_suffix('\'')))
                .map(str::to_string)
                .ok_or_else(|| format!("list items must be quoted strings, found `{}`", truncate(item)))
        })
        .collect()
}

fn truncate(text: &str) -> String {
    let mut out: String = text.chars().take(60).collect();
    if out.len() < text.len() {
        out.push('…');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(text: &str) -> FormatError {
        MigrationFile::parse("db__0001_x.sql", text).unwrap_err()
    }

    #[test]
    fn sections_and_directives() {
        let text = "-- generated by dbwarden\n-- depends_on: [\"0004\", \"0005\"]\n-- dbwarden: irreversible, no-transaction\n\n-- upgrade\nCREATE TABLE a (id int);\n\n-- rollback\n";
        let f = MigrationFile::parse("db__0006_x.sql", text).unwrap();
        assert_eq!(f.directives.depends_on, vec!["0004", "0005"]);
        assert!(f.directives.irreversible && f.directives.no_transaction);
        assert_eq!(f.upgrade.text, "CREATE TABLE a (id int);\n\n");
        assert_eq!(f.upgrade.first_line, 6);
        assert_eq!(f.rollback.text, "");
        assert!(f.rollback.is_empty(Dialect::Sqlite));
        assert_eq!(f.directives.file_severity, None);
    }

    /// Python DBWarden 0.20's generator heads every file with `-- dbwarden: file-severity <LEVEL>`.
    #[test]
    fn python_dbwardens_file_severity_is_a_known_directive() {
        let text = "-- dbwarden: file-severity SAFE\n-- upgrade\nCREATE TABLE a (id int);\n-- rollback\n";
        let f = MigrationFile::parse("db__0001_x.sql", text).unwrap();
        assert_eq!(f.directives.file_severity.as_deref(), Some("SAFE"));
        let f = MigrationFile::parse("db__0001_x.sql", &text.replace("SAFE", "critical, no-transaction")).unwrap();
        assert_eq!(f.directives.file_severity.as_deref(), Some("CRITICAL"));
        assert!(f.directives.no_transaction);
        let message = err(&text.replace("SAFE", "MAYBE")).to_string();
        assert!(message.contains("db__0001_x.sql:1") && message.contains("SAFE, INFO, WARN, CRITICAL"), "{message}");
        // A whole header as its generator and merge tool write them (generation.py, merge/*.py).
        let python = "-- dbwarden:merge-reconciliation\n-- merge_base: 0003\n-- dbwarden: data-bundle\n\
                      -- renames: [{\"from\": \"t.a\", \"to\": \"t.b\"}]\n-- base_checksum: ab12\n\
                      -- dbwarden: file-severity UNKNOWN\n-- dbwarden: category deferred\n\
                      -- dbwarden: split-from 0004 (threshold WARN)\n-- depends_on: [\"0004\"]\n-- dbwarden:superseded\n\
                      -- upgrade\nSELECT 1;\n-- rollback\n";
        let f = MigrationFile::parse("db__0005_x.sql", python).unwrap();
        assert_eq!(f.directives.file_severity.as_deref(), Some("UNKNOWN"));
        assert_eq!(f.directives.renames, ["[{\"from\": \"t.a\", \"to\": \"t.b\"}]"]);
        assert!(!f.directives.irreversible && !f.directives.no_transaction);
        // A typo of a directive that changes how the file runs is still an error.
        assert!(err(&text.replace("file-severity SAFE", "no-transation")).to_string().contains("unknown directive"));
    }

    /// The header may hold `/* */` comments, over several lines; a second `-- rollback` names the first.
    #[test]
    fn block_comments_in_the_header_and_a_second_rollback_line() {
        let text = "/* Adds users.\n   Reviewed. */\n/* one line */ -- dbwarden: irreversible\n-- upgrade\nSELECT 1;\n-- rollback\n";
        let f = MigrationFile::parse("db__0001_x.sql", text).unwrap();
        assert!(f.directives.irreversible);
        let e = err("/* a */ SELECT 1;\n-- upgrade\n-- rollback\n");
        assert!(matches!(e, FormatError::Syntax { line: 1, .. }), "{e}");
        assert!(MigrationFile::parse("db__0001_x.sql", "/* a */ /* b */\n-- upgrade\n-- rollback\n").is_ok());
        let e = err("-- a\n/* never closed\n-- upgrade\n-- rollback\n");
        assert!(matches!(e, FormatError::Syntax { line: 2, .. }) && e.to_string().contains("not closed"), "{e}");
        let body =
            "-- upgrade\nCREATE FUNCTION f() RETURNS int AS $$\n-- Rollback\nSELECT 1 $$ LANGUAGE sql;\n-- rollback\n";
        let e = err(body).to_string();
        assert!(e.starts_with("db__0001_x.sql:5: a second `-- rollback` line (the first is line 3)"), "{e}");
    }

    /// A directive written slightly wrong would be a plain comment, and the file would run without it: an error at
    /// its line. Comments that merely mention dbwarden stay comments.
    #[test]
    fn near_misses_of_directives_are_errors() {
        for (line, expect) in [
            ("-- dbwarden no-transaction", "write `-- dbwarden: no-transaction`"),
            ("--   DBWarden  irreversible", "write `-- dbwarden: irreversible`"),
            ("-- @dbwarden: no-transaction", "(no `@`)"),
            ("-- @dbwarden:autocommit", "marks a statement"),
            ("-- depends_on [\"0002\"]", "write `-- depends_on: [...]`"),
        ] {
            let e = err(&format!("-- a comment\n{line}\n-- upgrade\nSELECT 1;\n-- rollback\n"));
            assert!(matches!(e, FormatError::Syntax { line: 2, .. }), "{line}: {e}");
            assert!(e.to_string().contains(expect), "{line}: {e}");
        }
        for comment in [
            "-- dbwarden generated this file",
            "-- dbwarden: irreversible",
            "-- written for dbwarden no-transaction tests",
            "-- Renames users.email to mail",
            "-- depends_on nothing else",
        ] {
            let text = format!("{comment}\n-- upgrade\nSELECT 1;\n-- rollback\n");
            assert!(MigrationFile::parse("db__0001_x.sql", &text).is_ok(), "{comment}");
        }
    }

    #[test]
    fn rollback_edit_does_not_change_upgrade_checksum() {
        let a = MigrationFile::parse("db__0001_x.sql", "-- upgrade\nSELECT 1;\n-- rollback\nSELECT 2;\n").unwrap();
        let b =
            MigrationFile::parse("db__0001_x.sql", "-- upgrade\r\nSELECT 1;\r\n-- rollback\r\nSELECT 3;\r\n").unwrap();
        assert_eq!(a.checksum, b.checksum);
        assert_ne!(a.rollback_checksum, b.rollback_checksum);
    }

    #[test]
    fn errors_name_the_line() {
        assert!(matches!(err("SELECT 1;\n-- upgrade\n-- rollback\n"), FormatError::Syntax { line: 1, .. }));
        assert!(matches!(err("-- upgrade\nSELECT 1;\n"), FormatError::Syntax { line: 2, .. }));
        assert!(matches!(err("-- rollback\n-- upgrade\n"), FormatError::Syntax { line: 1, .. }));
        assert!(matches!(err("-- upgrade\n-- rollback\n-- upgrade\n"), FormatError::Syntax { line: 3, .. }));
        assert!(matches!(
            err("-- dbwarden: irreversable\n-- upgrade\n-- rollback\n"),
            FormatError::Syntax { line: 1, .. }
        ));
        assert!(matches!(err("-- depends_on: 0004\n-- upgrade\n-- rollback\n"), FormatError::Syntax { line: 1, .. }));
        assert!(matches!(err("-- foo\n"), FormatError::Syntax { line: 1, .. }));
        let msg = err("-- upgrade\nSELECT 1;\n").to_string();
        assert!(msg.starts_with("db__0001_x.sql:2: no `-- rollback` line"), "{msg}");
    }

    #[test]
    fn statement_lines_are_file_lines() {
        let f = MigrationFile::parse("db__0001_x.sql", "-- upgrade\n\nSELECT 1;\nSELECT 2;\n-- rollback\nSELECT 3;\n")
            .unwrap();
        let lines: Vec<u32> = f.statements(&f.upgrade, Dialect::Postgres).unwrap().iter().map(|s| s.line).collect();
        assert_eq!(lines, vec![3, 4]);
        let rb: Vec<u32> = f.statements(&f.rollback, Dialect::Postgres).unwrap().iter().map(|s| s.line).collect();
        assert_eq!(rb, vec![6]);
        let bad = MigrationFile::parse("db__0001_x.sql", "-- upgrade\nSELECT 1;\nSELECT 'x;\n-- rollback\n").unwrap();
        match bad.statements(&bad.upgrade, Dialect::Postgres).unwrap_err() {
            FormatError::Lex { line, .. } => assert_eq!(line, 3),
            other => panic!("{other:?}"),
        }
    }
}
