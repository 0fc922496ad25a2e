//! Planning: which migrations a run applies (and where each resumes), refused before anything runs when a file
//! cannot be split or the history does not match the files.

use std::collections::HashMap;

use dbwarden_core::checksum;
use dbwarden_core::file::{MigrationFile, MigrationKind};
use dbwarden_core::lexer::Statement;

use super::exec::RanSoFar;
use super::report::{step, Report};
use super::Migrator;
use crate::backend::{dialect, Backend};
use crate::error::Error;
use crate::history::{AppliedMigration, History, RowState};
use crate::source::Loaded;

/// Why `migrate` would refuse a pending `file` before running anything (see [`check_sections`]), as `status`
/// reports it.
pub(super) fn unsplittable(file: &MigrationFile, dialect: dbwarden_core::Dialect) -> Option<String> {
    check_sections(file, dialect, Sections::Both).err().map(|e| e.to_string())
}

/// Which sections of a file [`check_sections`] checks.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Sections {
    /// The upgrade, and the rollback where it can ever run.
    Both,
    /// The rollback only (a rollback about to run).
    Rollback,
}

/// What a client program does with `sql` that no server runs (a `psql` backslash command such as the `\restrict`
/// lines of `pg_dump`, `COPY ... FROM stdin` whose rows `psql` sends, `mysql`'s `DELIMITER`), as words for the
/// error; `None` for SQL.
fn client_command(sql: &str, dialect: dbwarden_core::Dialect) -> Option<&'static str> {
    if sql.starts_with('\\') {
        return Some("a psql command (a line starting with a backslash)");
    }
    let mut words = dbwarden_core::lexer::word_iter(sql, dialect);
    match words.next()?.as_str() {
        // `COPY t (a, b, ...) FROM stdin`: the source or target itself (a table or column named stdin is no client).
        "COPY" => {
            let words: Vec<String> = words.collect();
            let client = words
                .windows(2)
                .any(|w| matches!(w[0].as_str(), "FROM" | "TO") && matches!(w[1].as_str(), "STDIN" | "STDOUT"));
            client.then_some("COPY from or to the client, whose rows psql sends or receives")
        }
        "DELIMITER" => Some("the mysql client's DELIMITER command"),
        _ => None,
    }
}

/// What a statement does to the session's transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Control {
    /// `BEGIN`, `START TRANSACTION`.
    Opens,
    /// `COMMIT`, `END`, `ROLLBACK` (not `ROLLBACK TO` a savepoint), `ABORT`, `PREPARE TRANSACTION`.
    Ends,
    /// `COMMIT AND CHAIN`, `ROLLBACK AND CHAIN`: ends one and opens the next.
    Chains,
}

/// What `sql` does to the session's transaction, if anything.
fn transaction_control(sql: &str, dialect: dbwarden_core::Dialect) -> Option<Control> {
    let words: Vec<String> = dbwarden_core::lexer::word_iter(sql, dialect).take(4).collect();
    let word = |i: usize| words.get(i).map(String::as_str);
    let ends = || {
        let chained = words.windows(2).any(|w| w[0] == "AND" && w[1] == "CHAIN") && !words.contains(&"NO".into());
        Some(if chained { Control::Chains } else { Control::Ends })
    };
    match word(0)? {
        "BEGIN" => Some(Control::Opens),
        "START" => (word(1) == Some("TRANSACTION")).then_some(Control::Opens),
        // `PREPARE TRANSACTION 'x'` ends the session's transaction (two-phase commit).
        "PREPARE" => (word(1) == Some("TRANSACTION")).then_some(Control::Ends),
        "ABORT" | "END" => ends(),
        // `COMMIT PREPARED 'x'` and `ROLLBACK PREPARED 'x'` finish another, prepared one: none of the session's.
        "COMMIT" if word(1) == Some("PREPARED") => None,
        "COMMIT" => ends(),
        "ROLLBACK" => match word(1) {
            Some("TO" | "PREPARED") => None,
            Some("WORK" | "TRANSACTION") if word(2) == Some("TO") => None,
            _ => ends(),
        },
        _ => None,
    }
}

/// Refuses, before anything runs, a file whose sections cannot run: one that cannot be split into statements (a
/// rollback section too, where it can ever run: it would apply now and fail only the day someone needs to roll it
/// back), or holds what only a client runs, or whose own transaction statements are wrong (see [`check_section`]).
/// (A repeatable's rollback never runs: a rollback of everything forgets its row instead; nor does an irreversible
/// migration's.)
pub(super) fn check_sections(
    file: &MigrationFile,
    dialect: dbwarden_core::Dialect,
    sections: Sections,
) -> Result<(), Error> {
    if sections == Sections::Both {
        check_section(file, &file.statements(&file.upgrade, dialect)?, false, dialect)?;
    }
    if file.name.kind == MigrationKind::Versioned && !file.directives.irreversible {
        check_section(file, &file.statements(&file.rollback, dialect)?, true, dialect)?;
    }
    Ok(())
}

/// Refuses the `statements` of one section of `file` (its rollback when `rollback`) when one is a client's command
/// ([`client_command`]), or when the section's own `BEGIN`/`COMMIT`/`ROLLBACK` would break the transaction
/// dbwarden runs it in (PostgreSQL and SQLite: a `COMMIT` commits half the migration, a `BEGIN` leaves it all
/// uncommitted while the run reports it applied), or, in a `no-transaction` file, would leave a transaction open at
/// its end (everything after it uncommitted) or end one it never opened. (MySQL commits DDL by itself and runs
/// sections statement by statement: its files' own transactions are left to it.)
pub(super) fn check_section(
    file: &MigrationFile,
    statements: &[Statement<'_>],
    rollback: bool,
    dialect: dbwarden_core::Dialect,
) -> Result<(), Error> {
    let head = |s: &Statement<'_>, words: usize| s.sql.split_whitespace().take(words).collect::<Vec<_>>().join(" ");
    if let Some((s, what)) = statements.iter().find_map(|s| client_command(s.sql, dialect).map(|w| (s, w))) {
        return Err(Error::ClientCommand {
            file: file.filename.clone(),
            line: s.line,
            rollback,
            statement: head(s, 4),
            what,
        });
    }
    if !dialect.transactional_ddl() {
        return Ok(()); // MySQL: its files' own transactions are left to it.
    }
    let transactional = !file.directives.no_transaction;
    let refuse = |s: &Statement<'_>, reason: String| Error::TransactionControl {
        file: file.filename.clone(),
        line: s.line,
        rollback,
        statement: head(s, 3),
        reason,
        transactional,
    };
    let mut open: Option<&Statement<'_>> = None;
    for s in statements {
        match transaction_control(s.sql, dialect) {
            None => {}
            Some(_) if transactional => {
                return Err(refuse(
                    s,
                    "opens or ends a transaction inside the one dbwarden runs the migration in: it would commit part \
                     of the migration, or leave all of it uncommitted"
                        .into(),
                ))
            }
            Some(Control::Opens) => match open {
                Some(first) => {
                    return Err(refuse(s, format!("opens a transaction while the one of line {} is open", first.line)))
                }
                None => open = Some(s),
            },
            Some(Control::Ends | Control::Chains) if open.is_none() => {
                return Err(refuse(s, "ends a transaction the section never opened".into()))
            }
            Some(Control::Ends) => open = None,
            Some(Control::Chains) => open = Some(s),
        }
    }
    match open {
        Some(s) => Err(refuse(s, "opens a transaction the section never ends: its statements would not commit".into())),
        None => Ok(()),
    }
}

/// [`check_sections`] for each file of a plan about to run (or be printed), not in [`Migrator::plan`], which the
/// start-up check also calls only to see whether anything is pending. The upgrade sections too, unless they will not
/// run (`--baseline` records them without running them).
pub(super) fn check_plan(
    plan: &[(&MigrationFile, usize)],
    dialect: dbwarden_core::Dialect,
    upgrades_run: bool,
) -> Result<(), Error> {
    let sections = if upgrades_run { Sections::Both } else { Sections::Rollback };
    for (file, _) in plan {
        check_sections(file, dialect, sections)?;
    }
    Ok(())
}

/// Whether a history row records `file`'s migration: by version for a versioned one (a renamed file is the same
/// migration), by file name for a repeatable.
pub(super) fn same_migration(row: &AppliedMigration, file: &MigrationFile) -> bool {
    match (row.version_number(), file.name.version) {
        (Some(v), Some(fv)) => v == fv.0,
        _ => row.filename == file.filename,
    }
}

/// Whether a part-way `row` records the first statements of `file`'s upgrade as those that ran (the check a resume
/// makes, [`RanSoFar::check`], for a row that carries the statements' checksum).
pub(super) fn ran_first(row: &AppliedMigration, file: &MigrationFile, dialect: dbwarden_core::Dialect) -> bool {
    let Ok(statements) = file.statements(&file.upgrade, dialect) else { return false };
    let texts: Vec<&str> = statements.iter().map(|s| s.sql).collect();
    row.checksum_algorithm.as_deref() == Some(checksum::STATEMENTS_ALGORITHM)
        && RanSoFar::new(&texts).check(file, row.statements_done, Some(row)).is_ok()
}

pub(super) fn is_edited(row: &AppliedMigration, file: &MigrationFile) -> bool {
    match (row.checksum_algorithm.as_deref(), row.checksum.as_deref()) {
        (Some(checksum::ALGORITHM), checksum) => checksum != Some(file.checksum.as_str()),
        // A Python DBWarden row: its own checksum of the file's statements (or ours, had someone written it).
        (None, Some(checksum)) => {
            checksum != file.checksum && checksum != checksum::legacy_checksum(&file.upgrade.text)
        }
        // No checksum to compare (a row written by hand): adopted as the file is.
        _ => false,
    }
}

/// Whether a run-on-change file differs from what its row records (a Python DBWarden row by either checksum).
pub(super) fn changed_since_run(row: &AppliedMigration, file: &MigrationFile) -> bool {
    match row.checksum_algorithm {
        None => is_edited(row, file),
        Some(_) => row.checksum.as_deref() != Some(file.checksum.as_str()),
    }
}

impl Migrator {
    /// With `single_transaction`, refuses before anything runs what cannot run in one transaction: a server that
    /// commits DDL by itself, a file (of `plan`) that runs outside a transaction. The run and its dry run alike.
    pub(super) fn single_transaction_fits(
        &self,
        plan: &[(&MigrationFile, usize)],
        dialect: dbwarden_core::Dialect,
    ) -> Result<(), Error> {
        if !self.single_transaction || self.baseline {
            return Ok(());
        }
        if !dialect.transactional_ddl() {
            return Err(Error::Usage(format!(
                "--single-transaction needs transactional DDL; {dialect} commits DDL implicitly"
            )));
        }
        for (file, _) in plan {
            let autocommit = file.statements(&file.upgrade, dialect)?.iter().any(|s| s.autocommit);
            if file.directives.no_transaction || autocommit {
                return Err(Error::Usage(format!(
                    "{} runs outside a transaction (no-transaction or @dbwarden:autocommit); it cannot be part of \
                     --single-transaction",
                    file.filename
                )));
            }
        }
        Ok(())
    }

    pub(super) async fn plan_dry_run(&self, backend: &mut dyn Backend, loaded: &Loaded) -> Result<Report, Error> {
        let d = dialect::of(backend.dialect());
        let history = History { d, table: self.table.clone(), prepared: false };
        let rows = history.read(backend).await.map_err(Error::db("reading the history table"))?;
        let plan = self.plan(loaded, &rows, backend.dialect())?;
        check_plan(&plan, backend.dialect(), !self.baseline)?;
        self.single_transaction_fits(&plan, backend.dialect())?;
        let mut steps = Vec::new();
        for (file, resume) in plan {
            let statements = file.statements(&file.upgrade, backend.dialect())?;
            // What the run itself would refuse (see `apply_one`).
            let texts: Vec<&str> = statements.iter().map(|s| s.sql).collect();
            RanSoFar::new(&texts).check(file, resume, Self::row_of(&rows, file))?;
            // What the run would send: a migration stopped part-way resumes after the statements that ran.
            let mut sql = statements.iter().skip(resume).map(|s| format!("{};", s.sql)).collect::<Vec<_>>().join("\n");
            if resume > 0 && resume == statements.len() {
                sql = format!("-- all {resume} statements ran before (the rest of the file was removed since): nothing runs, the migration is recorded as applied");
            } else if resume > 0 {
                sql = format!(
                    "-- resumes at statement {} of {} (the first {resume} ran before)\n{sql}",
                    resume + 1,
                    statements.len()
                );
            }
            steps.push(step(file, statements.len() - resume.min(statements.len()), 0, Some(sql), self.baseline));
        }
        Ok(Report { database: loaded.db.clone(), steps, dry_run: true })
    }

    /// The history row a planned file's run continues: its own, or, for a versioned file stopped part-way and
    /// renamed since, the part-way row of its version (the plan resumes it by version, as `status` tells it).
    pub(super) fn row_of<'r>(rows: &'r [AppliedMigration], file: &MigrationFile) -> Option<&'r AppliedMigration> {
        rows.iter().find(|r| r.filename == file.filename).or_else(|| {
            let version = file.name.version?.0;
            rows.iter().find(|r| r.version_number() == Some(version) && r.state == RowState::Partial)
        })
    }

    /// The migrations to apply, in order, each with the statement to resume at.
    pub(super) fn plan<'f>(
        &self,
        loaded: &'f Loaded,
        rows: &[AppliedMigration],
        dialect: dbwarden_core::Dialect,
    ) -> Result<Vec<(&'f MigrationFile, usize)>, Error> {
        let by_version: HashMap<u64, &AppliedMigration> =
            rows.iter().filter_map(|r| Some((r.version_number()?, r))).collect();
        let by_file: HashMap<&str, &AppliedMigration> = rows.iter().map(|r| (r.filename.as_str(), r)).collect();

        let mut edited = Vec::new();
        for file in loaded.files.iter().filter(|f| f.name.kind == MigrationKind::Versioned) {
            let Some(row) = by_version.get(&file.name.version.expect("versioned").0) else {
                continue;
            };
            match row.state {
                RowState::RollingBack => {
                    return Err(Error::Partial {
                        file: file.filename.clone(),
                        state: "rollback stopped part-way".into(),
                        done: row.statements_done,
                        total: file.statements(&file.rollback, dialect).map_or(0, |s| s.len()),
                    })
                }
                // A part-way row under another name is this file's, renamed since, only if the statements that ran
                // are this file's first ones; otherwise it is another migration numbered alike (another branch's).
                RowState::Partial if row.filename != file.filename && !ran_first(row, file, dialect) => {
                    return Err(Error::VersionTaken { file: file.filename.clone(), applied: row.filename.clone() });
                }
                RowState::Partial => {}
                RowState::Applied if is_edited(row, file) => {
                    if row.filename != file.filename {
                        // Another migration numbered alike (another branch's): not an edit `repair` could accept.
                        return Err(Error::VersionTaken { file: file.filename.clone(), applied: row.filename.clone() });
                    }
                    edited.push(file.filename.clone());
                }
                RowState::Applied => {}
            }
        }
        if !edited.is_empty() {
            return Err(Error::Edited { files: edited });
        }
        let known: std::collections::HashSet<u64> =
            loaded.files.iter().filter_map(|f| f.name.version.map(|v| v.0)).collect();
        let missing: Vec<String> = rows
            .iter()
            .filter(|r| r.version_number().is_some_and(|v| !known.contains(&v)))
            .map(|r| r.filename.clone())
            .collect();
        if !missing.is_empty() && !self.ignore_missing {
            return Err(Error::Missing { versions: missing });
        }

        let newest_applied = by_version
            .iter()
            .filter(|(_, r)| r.state == RowState::Applied)
            .map(|(v, r)| (*v, r.filename.clone()))
            .max();
        let mut plan = Vec::new();
        for file in &loaded.files {
            let resume = match file.name.kind {
                MigrationKind::Versioned => {
                    let version = file.name.version.expect("versioned").0;
                    if self.target_version.is_some_and(|t| version > t) {
                        break;
                    }
                    match by_version.get(&version) {
                        Some(row) if row.state == RowState::Applied => continue,
                        Some(row) => row.statements_done,
                        None => {
                            if let Some((newest, newest_file)) = &newest_applied {
                                if version < *newest && !self.out_of_order {
                                    return Err(Error::OutOfOrder {
                                        file: file.filename.clone(),
                                        applied: newest_file.clone(),
                                    });
                                }
                            }
                            0
                        }
                    }
                }
                // Repeatables run after the versioned ones, and only when migrating to the end.
                _ if self.target_version.is_some() || self.count.is_some() => continue,
                // A repeatable stopped part-way resumes after the statements that ran, as a versioned one does.
                _ => match by_file.get(file.filename.as_str()) {
                    Some(row) if row.state == RowState::Partial => row.statements_done,
                    Some(row)
                        if file.name.kind == MigrationKind::RepeatableOnChange && !changed_since_run(row, file) =>
                    {
                        continue
                    }
                    _ => 0,
                },
            };
            plan.push((file, resume));
        }
        if let Some(count) = self.count {
            plan.truncate(count);
        }
        if let Some(t) = self.target_version {
            if !known.contains(&t) && !by_version.contains_key(&t) {
                return Err(Error::UnknownVersion {
                    version: format!("{t:04}"),
                    reason: "matches no migration file".into(),
                });
            }
        }
        Ok(plan)
    }
}

#[cfg(test)]
mod tests {
    use super::transaction_control;
    use dbwarden_core::Dialect;

    #[test]
    fn statements_that_open_or_end_the_sessions_transaction() {
        use super::Control::{Chains, Ends, Opens};
        for (sql, expected) in [
            ("BEGIN", Some(Opens)),
            ("begin work", Some(Opens)),
            ("BEGIN IMMEDIATE TRANSACTION", Some(Opens)),
            ("START TRANSACTION ISOLATION LEVEL SERIALIZABLE", Some(Opens)),
            ("COMMIT", Some(Ends)),
            ("END TRANSACTION", Some(Ends)),
            ("ABORT", Some(Ends)),
            ("ROLLBACK", Some(Ends)),
            ("PREPARE TRANSACTION 'x'", Some(Ends)),
            ("COMMIT AND CHAIN", Some(Chains)),
            ("ROLLBACK WORK AND CHAIN", Some(Chains)),
            ("COMMIT AND NO CHAIN", Some(Ends)),
            // Not the session's transaction.
            ("ROLLBACK TO SAVEPOINT s", None),
            ("ROLLBACK WORK TO s", None),
            ("COMMIT PREPARED 'x'", None),
            ("ROLLBACK PREPARED 'x'", None),
            ("PREPARE q AS SELECT 1", None),
            ("START REPLICA", None),
            // Bodies and names.
            ("CREATE FUNCTION f() RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT 1; END", None),
            ("CREATE TRIGGER t AFTER INSERT ON a BEGIN SELECT 1; END", None),
            ("DO $$ BEGIN PERFORM 1; END $$", None),
            ("UPDATE t SET \"end\" = 1", None),
        ] {
            for dialect in [Dialect::Postgres, Dialect::Sqlite] {
                assert_eq!(transaction_control(sql, dialect), expected, "{dialect}: {sql}");
            }
        }
        assert_eq!(transaction_control("ROLLBACK TRANSACTION TO SAVEPOINT s", Dialect::Sqlite), None);
    }

    #[test]
    fn client_commands_are_told_from_sql() {
        use super::client_command;
        let columns = (1..=20).map(|i| format!("c{i}")).collect::<Vec<_>>().join(", ");
        for sql in ["\\restrict x", "COPY t FROM stdin", "COPY t TO STDOUT WITH CSV", "DELIMITER //"] {
            assert!(client_command(sql, Dialect::Postgres).is_some(), "{sql}");
        }
        assert!(client_command(&format!("COPY public.wide ({columns}) FROM stdin"), Dialect::Postgres).is_some());
        for sql in ["COPY stdin FROM '/data.csv'", "COPY (SELECT stdout FROM t) TO '/x'", "SELECT 'stdin'"] {
            assert!(client_command(sql, Dialect::Postgres).is_none(), "{sql}");
        }
    }
}
