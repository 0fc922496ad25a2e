//! Errors, one enum per layer: [`DbError`] (a server said no), [`Error`] (the migrator), and
//! [`ConfigError`](crate::config::ConfigError) (configuration). File problems are
//! [`FormatError`](dbwarden_core::file::FormatError). The CLI turns each into a message with a hint.

use std::fmt;

use dbwarden_core::file::FormatError;

use crate::lock::LockHolder;

/// An error reported by the database or the connection to it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct DbError {
    /// The server's (or driver's) message. URLs in it are masked.
    pub message: String,
    /// The server's error code: SQLSTATE on PostgreSQL and MySQL/MariaDB, the result code on SQLite.
    pub code: Option<String>,
    /// Character offset in the SQL text the server pointed at (PostgreSQL), 0-based.
    pub position: Option<usize>,
    /// Whether it happened while connecting.
    pub connect: bool,
}

impl DbError {
    /// Whether the session was ended from outside (terminated, killed, the server gone) rather than the statement
    /// failing: PostgreSQL's admin_shutdown and crash_shutdown, MySQL's interrupted query, or a lost connection.
    ///
    /// ```
    /// assert!(dbwarden::DbError::other("terminating connection due to administrator command").session_ended());
    /// assert!(!dbwarden::DbError::other("relation \"t\" does not exist").session_ended());
    /// ```
    pub fn session_ended(&self) -> bool {
        const CODES: [&str; 5] = ["57P01", "57P02", "57P03", "70100", "08S01"];
        const WORDS: [&str; 7] = [
            "terminating connection",
            "connection was killed",
            "server has gone away",
            "lost connection",
            "error communicating with database",
            "connection reset",
            "broken pipe",
        ];
        let message = self.message.to_ascii_lowercase();
        self.code.as_deref().is_some_and(|c| CODES.contains(&c)) || WORDS.iter().any(|w| message.contains(w))
    }

    /// Whether the error is one of `codes` (SQLSTATEs), or, when its code is none or too broad to tell
    /// (SQLite's numeric codes, MySQL's `42000` and `HY000`), says one of `phrases`. A precise code that is not
    /// listed is not matched by its words: PostgreSQL's duplicate key error says "already exists" too.
    pub(crate) fn names_one_of(&self, codes: &[&str], phrases: &[&str]) -> bool {
        match self.code.as_deref() {
            Some(c) if codes.contains(&c) => true,
            Some(c) if c.len() == 5 && !matches!(c, "42000" | "HY000") => false,
            _ => phrases.iter().any(|p| self.message.contains(p)),
        }
    }

    /// An error that did not come from the server: for instance one a [`query_each`] reader returns to stop the
    /// query. URLs in the message are masked.
    ///
    /// ```
    /// let e = dbwarden::DbError::other("the reader had enough");
    /// assert_eq!(e.to_string(), "the reader had enough");
    /// assert!(e.code.is_none());
    /// ```
    ///
    /// [`query_each`]: crate::backend::Backend::query_each
    pub fn other(message: impl Into<String>) -> DbError {
        DbError { message: crate::url::mask_in_text(&message.into()), code: None, position: None, connect: false }
    }

    pub(crate) fn connect(message: String) -> DbError {
        DbError { message: crate::url::mask_in_text(&message), code: None, position: None, connect: true }
    }

    /// Whether the server refused because the database was busy (SQLite's `database is locked`).
    pub fn is_busy(&self) -> bool {
        matches!(self.code.as_deref(), Some("5") | Some("6") | Some("517") | Some("261"))
            || self.message.contains("database is locked")
    }
}

impl fmt::Display for DbError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)?;
        if let Some(code) = &self.code {
            write!(f, " (code {code})")?;
        }
        Ok(())
    }
}

impl std::error::Error for DbError {}

impl From<sqlx::Error> for DbError {
    fn from(e: sqlx::Error) -> DbError {
        match &e {
            sqlx::Error::Database(db) => {
                let position =
                    db.try_downcast_ref::<sqlx::postgres::PgDatabaseError>().and_then(|pg| match pg.position() {
                        Some(sqlx::postgres::PgErrorPosition::Original(p)) => Some(p.saturating_sub(1)),
                        _ => None,
                    });
                let mut message = db.message().to_string();
                if let Some(pg) = db.try_downcast_ref::<sqlx::postgres::PgDatabaseError>() {
                    if let Some(detail) = pg.detail() {
                        message = format!("{message}: {detail}");
                    }
                }
                DbError {
                    message: crate::url::mask_in_text(&message),
                    code: db.code().map(|c| c.into_owned()),
                    position,
                    connect: false,
                }
            }
            sqlx::Error::Configuration(_)
            | sqlx::Error::Io(_)
            | sqlx::Error::Tls(_)
            | sqlx::Error::PoolTimedOut
            | sqlx::Error::PoolClosed => DbError::connect(e.to_string()),
            _ => DbError {
                message: crate::url::mask_in_text(&e.to_string()),
                code: None,
                position: None,
                connect: false,
            },
        }
    }
}

/// Where in a migration a statement failed.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FailedStatement {
    /// The migration file.
    pub file: String,
    /// The line of the failing statement in the file (or of the first statement of the failed batch).
    pub line: u32,
    /// 1-based index of the statement in its section.
    pub index: usize,
    /// Statements of this migration that ran and stayed applied (MySQL, `no-transaction`); 0 when rolled back.
    pub applied: usize,
    /// Statements in the section.
    pub total: usize,
    /// Whether it happened in the rollback section.
    pub rollback: bool,
    /// The migrations this run applied (or rolled back) before this one, which stay so; empty when the run was one
    /// transaction, rolled back whole.
    pub earlier: Vec<String>,
    /// The run was one transaction (`--single-transaction`), rolled back whole: nothing of it stayed applied.
    pub whole_run: bool,
    /// The statement ran on its own, outside any transaction of dbwarden's, and commits by itself (MySQL's DDL, a
    /// no-transaction or autocommit statement that cannot share a transaction with its progress row): an earlier
    /// run cut off right after it may have left it applied but unrecorded.
    pub alone: bool,
}

/// What can stop the migrator. Every variant names the file, version or object at fault.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A migration file is malformed.
    #[error(transparent)]
    Format(#[from] FormatError),
    /// The database refused something outside a migration (connecting, bookkeeping).
    #[error("{context}: {source}")]
    Db { context: String, source: DbError },
    /// A statement of a migration failed.
    #[error("{}:{}: {} statement {} of {} failed: {source}{}{}", .at.file, .at.line, if .at.rollback { "rollback" } else { "upgrade" }, .at.index, .at.total, applied_note(.at), earlier_note(.at))]
    Statement { at: FailedStatement, source: DbError },
    /// Applied migrations whose upgrade section changed since they were applied.
    #[error("{} applied migration(s) were edited since they were applied: {}", .files.len(), .files.join(", "))]
    Edited { files: Vec<String> },
    /// A file that took the version of an applied migration it is not (another branch's file, numbered alike).
    #[error("{file} has the version of {applied}, which is recorded (applied, or stopped part-way) and is another migration; running or recording {file} in its place would leave one of them never run")]
    VersionTaken { file: String, applied: String },
    /// A new migration would need a version past the highest a file name can carry (18 digits).
    #[error(
        "{newest} has version {}, the highest a migration file name can carry: no version comes after it",
        dbwarden_core::file::Version::MAX
    )]
    NoVersionAfter { newest: String },
    /// Applied migrations whose files are gone.
    #[error("applied migration(s) have no file any more: {}", .versions.join(", "))]
    Missing { versions: Vec<String> },
    /// A pending migration older than the newest applied one.
    #[error("{file} is pending but the newer version {applied} is already applied")]
    OutOfOrder { file: String, applied: String },
    /// A migration half applied or half rolled back by an earlier run (MySQL or `no-transaction`).
    #[error("{file}: an earlier run stopped part-way ({state}: {done} of {total} statements ran)")]
    Partial { file: String, state: String, done: usize, total: usize },
    /// A migration stopped part-way whose statements that ran are no longer the file's (changed, or fewer now):
    /// resuming would skip what the file now says.
    #[error("{file}: the {section} stopped part-way after statement {ran}, and {}", if *.total < *.ran { format!("the section now has only {total} statement(s)") } else { format!("statements 1 to {ran}, which ran, have changed in the file since") }, section = if *.rollback { "rollback" } else { "upgrade" })]
    RanStatementsEdited { file: String, rollback: bool, ran: usize, total: usize },
    /// The lock could not be taken in time.
    #[error("timed out after {} waiting for the migration lock held by {holder}", waited(*.waited_ms))]
    LockTimeout { waited_ms: u64, holder: LockHolderDescription },
    /// A section whose own transaction statements would break the transaction it runs in, or leave one open.
    #[error("{file}:{line}: {rollback_or_upgrade} statement `{statement}` {reason}", rollback_or_upgrade = if *.rollback { "rollback" } else { "upgrade" })]
    TransactionControl {
        /// The file.
        file: String,
        /// The statement's line.
        line: u32,
        /// Whether it is in the rollback section.
        rollback: bool,
        /// The statement's first words.
        statement: String,
        /// What is wrong with it.
        reason: String,
        /// The section runs in a transaction of dbwarden's.
        transactional: bool,
    },
    /// A statement only a client program runs (psql's backslash commands, `COPY ... FROM stdin`, `DELIMITER`).
    #[error("{file}:{line}: {section} statement `{statement}` is {what}, not SQL a server runs", section = if *.rollback { "rollback" } else { "upgrade" })]
    ClientCommand {
        /// The file.
        file: String,
        /// The statement's line.
        line: u32,
        /// Whether it is in the rollback section.
        rollback: bool,
        /// The statement's first words.
        statement: String,
        /// What it is.
        what: &'static str,
    },
    /// Stopped by Ctrl-C or SIGTERM (`verify`), after cleaning up.
    #[error("interrupted; the scratch database was dropped or emptied")]
    Interrupted,
    /// A rollback asked for a migration that cannot be reverted.
    #[error("{file} is marked `-- dbwarden: irreversible`; it cannot be rolled back")]
    Irreversible { file: String },
    /// A requested version does not exist.
    #[error("version {version} {reason}")]
    UnknownVersion { version: String, reason: String },
    /// Options that do not go together, or no migrations to run.
    #[error("{0}")]
    Usage(String),
    /// `verify` was given a scratch database (`dev_url`) that already holds objects.
    #[error("the scratch database {url} is not empty ({} object(s): {}); verify needs an empty one", .objects.len(), .objects.join(", "))]
    ScratchNotEmpty { url: String, objects: Vec<String> },
    /// The migrations folder does not exist (a typo, or run from another directory).
    #[error("{}: no such migrations folder{}", .path.display(), if .path.is_file() { " (it is a file)" } else { "" })]
    NoMigrationsDir { path: std::path::PathBuf },
    /// The migrations folder holds no migration files but its sub-folders do: it is the root of
    /// `migrations/<db>/`, not one database's folder (`--migrations-dir migrations` for `migrations/app`).
    #[error(
        "{}: no migration files here, but its sub-folder{} {} hold{} some (each database's files live in a folder of \
         their own, migrations/<db>/)",
        .path.display(),
        if .subfolders.len() == 1 { "" } else { "s" },
        .subfolders.join(", "),
        if .subfolders.len() == 1 { "s" } else { "" }
    )]
    MigrationsInSubfolders {
        /// The folder given.
        path: std::path::PathBuf,
        /// Its sub-folders that hold migration files, by name, sorted.
        subfolders: Vec<String>,
    },
    /// `unlock --force` on a lock that is a row (SQLite) whose holder is still running: there is no session to
    /// end, and deleting the row would let a second run start beside it.
    #[error(
        "the lock is held by {}, which is still running; dbwarden cannot end another process's run on SQLite, and \
         releasing the lock under it would let a second migration run beside it",
        LockHolderDescription(Some(.holder.clone()))
    )]
    LockHolderRunning {
        /// The holder, as its row records it.
        holder: LockHolder,
    },
}

/// Who holds a lock, for messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LockHolderDescription(pub Option<LockHolder>);

impl fmt::Display for LockHolderDescription {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            Some(h) => write!(f, "{} (pid {} on {}, since {})", h.owner, h.pid, h.host, h.since()),
            None => f.write_str("another session (no holder recorded)"),
        }
    }
}

fn earlier_note(at: &FailedStatement) -> String {
    match at.earlier.as_slice() {
        [] => String::new(),
        earlier => format!(
            "\n{} before it in this run, which stay{}: {}",
            if at.rollback { "rolled back" } else { "applied" },
            if at.rollback { " rolled back" } else { " applied" },
            earlier.join(", ")
        ),
    }
}

/// A wait as people read it: whole seconds, or milliseconds under one (`--lock-timeout 1ms` waited "0s").
fn waited(ms: u64) -> String {
    if ms < 1000 {
        format!("{ms} ms")
    } else {
        format!("{}s", ms / 1000)
    }
}

/// `nothing of f.sql stayed applied` (or `rolled back`), for a failure that left nothing of its migration done.
fn nothing_stayed(at: &FailedStatement) -> String {
    format!("nothing of {} stayed {}", at.file, if at.rollback { "rolled back" } else { "applied" })
}

fn applied_note(at: &FailedStatement) -> String {
    match (at.rollback, at.applied) {
        (_, 0) => String::new(),
        (false, n) => format!(
            " ({n} earlier statement(s) of this migration stayed applied and are recorded; fix the file and run migrate again to resume at statement {}, or undo them by hand and run `dbwarden repair`)",
            n + 1
        ),
        (true, n) => format!(
            " ({n} earlier rollback statement(s) ran and are recorded; fix the file and run rollback again to resume)"
        ),
    }
}

impl Error {
    pub(crate) fn db(context: impl Into<String>) -> impl FnOnce(DbError) -> Error {
        let context = context.into();
        move |source| Error::Db { context, source }
    }

    /// A hint for people: what to do next.
    pub fn hint(&self) -> Option<String> {
        Some(match self {
            Error::Format(_) => "fix the file named above (every command reads all the files of the folder)".into(),
            Error::Db { source, context } if source.session_ended() && !context.starts_with("connecting") => {
                "the database session was ended from outside (`dbwarden unlock --force` elsewhere, a server restart, \
                 a killed connection); a statement that commits by itself (MySQL DDL, CREATE INDEX CONCURRENTLY) may \
                 have taken effect without being recorded: see `dbwarden status` and check the migration it names \
                 before running migrate again"
                    .into()
            }
            Error::Db { source, .. } if source.connect => {
                "check the URL (`--url`, DATABASE_URL or dbwarden.toml) and that the server is running".into()
            }
            Error::Db { context, .. } if context.starts_with(crate::lock::ENDING_HOLDER) => {
                "this role may not end that session: run `unlock --force` as the holder's role or a superuser \
                 (PostgreSQL: a member of pg_signal_backend ends non-superusers' sessions; MySQL: the \
                 CONNECTION_ADMIN or SUPER privilege; MariaDB: CONNECTION ADMIN or SUPER), or wait for the holder to \
                 finish"
                    .into()
            }
            Error::NoVersionAfter { .. } => "renumber the migrations that are not applied anywhere yet with smaller \
                 versions (`new` and `make-migrations` take the newest version plus one)"
                .into(),
            Error::VersionTaken { file, applied } => format!(
                "give {file} the next free version (renumber it), and restore {applied}, whose rollback section this \
                 needs"
            ),
            Error::Edited { .. } => "restore the applied text (rollback sections may change freely), or accept the edit with `dbwarden repair` (records the new checksums)".into(),
            Error::Missing { .. } => "restore the files (a rollback runs their rollback sections, so it needs them); \
                 `migrate --ignore-missing` applies the rest anyway"
                .into(),
            Error::OutOfOrder { .. } => "give it a version after the newest applied one, or pass --out-of-order to apply it anyway".into(),
            // Only the step that can finish it: after `rollback` refused a part-way upgrade, "or run rollback" read
            // as a contradiction.
            // (`repair` forgets the part-way row: after an upgrade the migration then counts as never applied,
            // after a rollback as rolled back, so what is done by hand differs.)
            Error::RanStatementsEdited { rollback: false, ran, .. } => format!(
                "restore statements 1 to {ran} as they ran (only the statements after them may change) and run \
                 `dbwarden migrate`, or undo what they did by hand and run `dbwarden repair`, which forgets the \
                 part-way record"
            ),
            Error::RanStatementsEdited { rollback: true, ran, .. } => format!(
                "restore rollback statements 1 to {ran} as they ran (only the statements after them may change) and run \
                 `dbwarden rollback`, or finish the rollback by hand and run `dbwarden repair`, which forgets the \
                 part-way record"
            ),
            Error::Partial { state, .. } if state.starts_with("rollback") => "run `dbwarden rollback` to finish it; `dbwarden repair` forgets the partial row once you fixed the schema by hand".into(),
            Error::Partial { .. } => "run `dbwarden migrate` to finish the upgrade; `dbwarden repair` forgets the partial row once you fixed the schema by hand".into(),
            Error::LockTimeout { .. } => "wait for that run to finish; if it is dead, `dbwarden lock-status` shows it and `dbwarden unlock --force` releases it".into(),
            Error::Irreversible { .. } => "roll back to a later version, or write a rollback section and remove the directive".into(),
            Error::ClientCommand { .. } => {
                "remove it: dbwarden sends each statement to the server itself (it splits function and procedure \
                 bodies without DELIMITER); for data, use INSERT statements (`pg_dump --inserts`) or COPY from a \
                 file on the server"
                    .into()
            }
            Error::TransactionControl { transactional: true, .. } => {
                "remove it: dbwarden runs each migration in a transaction of its own (its statements and its history \
                 row commit together); to run the file's own transactions instead, put `-- dbwarden: no-transaction` \
                 above `-- upgrade`"
                    .into()
            }
            Error::TransactionControl { .. } => {
                "end each transaction the section opens (COMMIT) before the section ends, and open one before ending \
                 it: dbwarden records the statements as they commit"
                    .into()
            }
            // PostgreSQL's active_sql_transaction (CREATE INDEX CONCURRENTLY, VACUUM, ALTER TYPE .. ADD VALUE on
            // old servers); SQLite says so in words (VACUUM).
            Error::Statement { source, .. }
                if source.code.as_deref() == Some("25001") || source.message.contains("within a transaction") =>
            {
                "this statement cannot run inside a transaction: put `-- @dbwarden:autocommit` on the line before \
                 it, or `-- dbwarden: no-transaction` above `-- upgrade` for the whole file"
                    .into()
            }
            Error::Statement { source, at } if source.session_ended() => format!(
                "the statement was interrupted or its database session ended from outside (`dbwarden unlock \
                 --force` elsewhere, a server restart, a killed query or connection), not by its own fault{}: see \
                 `dbwarden status`, then run it again{}",
                if at.whole_run { "; the run was one transaction and was rolled back whole" } else { "" },
                if at.alone {
                    " (it ran on its own, outside a transaction, so part of its work may be left: an INVALID index of \
                     CREATE INDEX CONCURRENTLY to DROP INDEX CONCURRENTLY first)"
                } else {
                    ""
                }
            ),
            Error::Statement { at, .. } if at.whole_run => {
                "the run was one transaction and was rolled back whole: none of its migrations stayed applied; fix \
                 the statement and run migrate again"
                    .into()
            }
            // What an earlier run cut off right after a self-committing statement leaves: the object it made.
            Error::Statement { source, at }
                if at.alone
                    && !at.rollback
                    && source.names_one_of(
                        &["42P07", "42701", "42710", "42P06", "42S01", "42S21"],
                        &["already exists", "Duplicate column name", "Duplicate key name"],
                    ) =>
            {
                "the object exists already: if an earlier run was cut off (killed, its session ended) right after \
                 this statement committed by itself (MySQL DDL, a no-transaction or autocommit statement such as \
                 CREATE INDEX CONCURRENTLY), it took effect without being recorded; drop what it made (an index \
                 CREATE INDEX CONCURRENTLY left INVALID too: DROP INDEX CONCURRENTLY) and run migrate again, \
                 otherwise fix the statement"
                    .into()
            }
            Error::Statement { source, at }
                if at.alone
                    && at.rollback
                    && source.names_one_of(&["42P01", "42703", "42704", "42S02", "42S22"], &["Can't DROP", "no such "]) =>
            {
                "the object is gone already: if an earlier rollback was cut off (killed, its session ended) right \
                 after this statement committed by itself (MySQL DDL, a no-transaction or autocommit statement), it \
                 took effect without being recorded; create the object again by hand (empty) and run rollback \
                 again, otherwise fix the statement"
                    .into()
            }
            // A row a column's definition refuses: PostgreSQL's not_null_violation, MariaDB's "Invalid use of NULL
            // value" and "Data truncated" (strict mode), SQLite's NOT NULL constraint.
            Error::Statement { source, at }
                if matches!(source.code.as_deref(), Some("23502" | "22004"))
                    || source.message.contains("Data truncated for column")
                    || source.message.contains("NOT NULL constraint failed") =>
            {
                let again = if at.rollback { "rollback" } else { "migrate" };
                if at.applied > 0 {
                    format!(
                        "rows have no value, or one that does not fit, for a column's new definition: give them one \
                         (UPDATE), then run {again} again: it resumes at statement {}",
                        at.applied + 1
                    )
                } else {
                    format!(
                        "rows have no value, or one that does not fit, for a column's definition (NOT NULL, a length, \
                         a range, enum values); {}: fix those rows, or change the models (a default, or the column \
                         nullable first and NOT NULL once filled) and generate the migration again",
                        nothing_stayed(at)
                    )
                }
            }
            Error::Statement { at, .. } if at.applied == 0 => format!(
                "{}; fix the statement and run {} again",
                nothing_stayed(at),
                if at.rollback { "rollback" } else { "migrate" }
            ),
            Error::Statement { .. } => "fix the statement; the message above says how to resume".into(),
            Error::NoMigrationsDir { .. } => "check the path (--migrations-dir, relative to the current directory, or \
                 migrations_dir in dbwarden.toml, relative to that file), or create it with `dbwarden init` or `dbwarden new`"
                .into(),
            Error::LockHolderRunning { holder } => format!(
                "stop that process first (pid {} on {}), then run `dbwarden unlock`; a holder whose process has gone \
                 (same host) or whose row expired ({}) is taken over by the next run without --force",
                holder.pid,
                holder.host,
                crate::lock::rfc3339(holder.expiry)
            ),
            Error::MigrationsInSubfolders { path, subfolders } => format!(
                "point --migrations-dir (or migrations_dir in dbwarden.toml) at one database's folder, such as {}",
                path.join(&subfolders[0]).display()
            ),
            Error::ScratchNotEmpty { .. } => "point dev_url at a database of its own (verify empties it again after each run), or leave dev_url out and verify creates and drops a throwaway database next to the project's".into(),
            _ => return None,
        })
    }
}

#[cfg(test)]
mod tests {
    /// The hint names the one step that finishes the part-way migration, not both directions.
    #[test]
    fn a_part_way_hint_names_the_step_that_finishes_it() {
        let partial =
            |state: &str| super::Error::Partial { file: "f.sql".into(), state: state.into(), done: 1, total: 2 };
        let up =
            partial("upgrade stopped part-way; finish it with migrate or clear it with repair before rolling back");
        let up = up.hint().unwrap();
        assert!(up.contains("dbwarden migrate") && !up.contains("dbwarden rollback"), "{up}");
        let down = partial("rollback stopped part-way").hint().unwrap();
        assert!(down.contains("dbwarden rollback") && !down.contains("dbwarden migrate"), "{down}");
    }

    /// A statement whose object exists already (or, rolling back, is gone already) may be one an earlier run ran
    /// and was cut off before recording: the hint says how to tell and what to do; other errors do not get it.
    #[test]
    fn an_object_left_by_a_cut_off_run_is_explained() {
        use super::{DbError, Error, FailedStatement};
        let failed = |rollback: bool, message: &str, code: &str| Error::Statement {
            at: FailedStatement {
                file: "app__0002_ix.sql".into(),
                line: 3,
                index: 1,
                applied: 0,
                total: 1,
                rollback,
                earlier: Vec::new(),
                whole_run: false,
                alone: true,
            },
            source: DbError { code: Some(code.into()), ..DbError::other(message) },
        };
        let hint = |e: Error| e.hint().unwrap();
        let exists = hint(failed(false, "relation \"ix_big_b\" already exists", "42P07"));
        assert!(exists.contains("cut off") && exists.contains("DROP INDEX CONCURRENTLY"), "{exists}");
        assert!(hint(failed(false, "Table 't_59' already exists", "42S01")).contains("drop what it made"));
        let gone = hint(failed(true, "Can't DROP COLUMN `c_157`; check that it exists", "42000"));
        assert!(gone.contains("create the object again by hand"), "{gone}");
        for (message, code) in
            [("Can't DROP INDEX `ix_264`; check that it exists", "42000"), ("Unknown table 'x.t_205'", "42S02")]
        {
            assert!(hint(failed(true, message, code)).contains("create the object again by hand"), "{message}");
        }
        let other = hint(failed(false, "syntax error at or near \"CREAT\"", "42601"));
        assert!(!other.contains("cut off"), "{other}");
        // A duplicate key says "already exists" in its detail: not an object left behind.
        let key = hint(failed(
            false,
            "duplicate key value violates unique constraint: Key (id)=(1) already exists.",
            "23505",
        ));
        assert!(!key.contains("cut off"), "{key}");
        // In a transaction (not alone), nothing can have run unrecorded.
        let mut inside = failed(false, "relation \"t\" already exists", "42P07");
        if let Error::Statement { at, .. } = &mut inside {
            at.alone = false;
        }
        assert!(!hint(inside).contains("cut off"));
        let cut = hint(failed(false, "terminating connection due to administrator command", "57P01"));
        assert!(cut.contains("ended from outside") && cut.contains("INVALID index"), "{cut}");
        let ended = Error::Db {
            context: "recording f.sql".into(),
            source: DbError::connect("error communicating with database: Connection reset by peer".into()),
        };
        let ended = hint(ended);
        assert!(ended.contains("ended from outside") && !ended.contains("check the URL"), "{ended}");
    }

    #[test]
    fn a_wait_under_a_second_is_told_in_milliseconds() {
        assert_eq!(super::waited(1), "1 ms");
        assert_eq!(super::waited(999), "999 ms");
        assert_eq!(super::waited(1_000), "1s");
        assert_eq!(super::waited(61_500), "61s");
    }
}
