//! Running one unit of a migration (its statements and their bookkeeping in one round trip where the server allows)
//! and the bookkeeping SQL that goes with it.

use std::time::{Duration, Instant};

use dbwarden_core::checksum;
use dbwarden_core::file::MigrationFile;
use dbwarden_core::lexer::Statement;

use super::report::Step;
use super::Run;
use crate::error::{DbError, Error, FailedStatement};
use crate::lock;

/// A piece of a migration that runs as one: statements in one transaction, or one statement on its own.
pub(super) struct Unit<'s> {
    pub(super) statements: Vec<(usize, Statement<'s>)>,
    pub(super) transactional: bool,
}

pub(super) fn units<'s>(statements: Vec<Statement<'s>>, transactional: bool, skip: usize) -> Vec<Unit<'s>> {
    let mut units: Vec<Unit<'s>> = Vec::new();
    for (index, statement) in statements.into_iter().enumerate().skip(skip) {
        let alone = !transactional || statement.autocommit;
        match units.last_mut() {
            Some(unit) if unit.transactional && !alone => unit.statements.push((index, statement)),
            _ => units.push(Unit { statements: vec![(index, statement)], transactional: !alone }),
        }
    }
    units
}

/// Before resuming a section at statement `resume + 1` on this run's connection: runs again those of the statements
/// before it that set up the session (`SET`, SQLite's `PRAGMA`), which the connection that ran them took with it.
/// A SQLite table rebuild resumed without its `PRAGMA foreign_keys = OFF` would drop the old table with the keys on,
/// deleting the child rows through ON DELETE CASCADE. (Nothing to do when `resume` is 0.)
pub(super) async fn replay_session_setup(
    run: &mut Run<'_>,
    file: &MigrationFile,
    statements: &[Statement<'_>],
    resume: usize,
) -> Result<(), Error> {
    for s in statements.iter().take(resume).filter(|s| run.d.sets_up_the_session(s.sql)) {
        tracing::info!(file = %file.filename, statement = s.sql, "set up again before resuming");
        run.keep_search_path(std::iter::once(s.sql)).await;
        run.backend.execute(s.sql).await.map_err(Error::db(format!(
            "{}:{}: setting up the session again before resuming",
            file.filename, s.line
        )))?;
    }
    Ok(())
}

/// Whether every statement of `unit` only sets up the session (`SET`, SQLite's `PRAGMA`; assignments that are the
/// same when run again). Until a migration has done more than that, its progress is not recorded: a failure after
/// them leaves nothing to resume or undo (a SQLite rebuild's `PRAGMA foreign_keys = OFF` runs alone, outside the
/// transaction that fails), and the next run starts the migration over.
pub(super) fn sets_up_only(run: &Run<'_>, unit: &Unit<'_>) -> bool {
    unit.statements.iter().all(|(_, s)| run.d.sets_up_the_session(s.sql))
}

/// Whether the autocommit statements of a section may share transactions with their progress rows: none of its
/// statements opens, ends or marks a transaction itself. A `transactional` section without an autocommit statement
/// has nothing to join, and is not lexed for it.
pub(super) fn joins_records(
    statements: &[Statement<'_>],
    transactional: bool,
    dialect: dbwarden_core::Dialect,
) -> bool {
    // (MySQL's XA and LOCK TABLES too: a BEGIN of ours would fail under XA, and release the table locks.)
    const CONTROL: [&str; 10] =
        ["BEGIN", "START", "COMMIT", "END", "ROLLBACK", "ABORT", "SAVEPOINT", "RELEASE", "XA", "LOCK"];
    if transactional && !statements.iter().any(|s| s.autocommit) {
        return true;
    }
    !statements.iter().any(|s| {
        let mut words = dbwarden_core::lexer::word_iter(s.sql, dialect);
        match words.next() {
            Some(w) if CONTROL.contains(&w.as_str()) => true,
            // MySQL's `SET autocommit = 0` opens a transaction that the file commits itself.
            Some(w) if w == "SET" => words.take(3).any(|w| w == "AUTOCOMMIT"),
            _ => false,
        }
    })
}

/// A statement that refuses to run in a transaction (PostgreSQL's active_sql_transaction, SQLite's "within a
/// transaction"), found when it was joined with its progress row: nothing ran, and it runs alone instead.
fn refuses_a_transaction(d: &dyn crate::backend::SqlDialect, e: &DbError) -> bool {
    if d.autocommit_batches() {
        return false; // MySQL: only data statements are joined, and they never refuse.
    }
    if d.batch_is_atomic() {
        e.code.as_deref() == Some("25001")
    } else {
        e.message.contains("within a transaction")
    }
}

/// Which way a migration runs.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Direction {
    Up,
    Down,
}

pub(super) struct ExecCtx<'f> {
    pub(super) file: &'f MigrationFile,
    pub(super) total: usize,
    pub(super) direction: Direction,
    /// Statements of this section that ran in an earlier run.
    pub(super) resume: usize,
    /// An outer transaction (single-transaction mode) is open.
    pub(super) outer: bool,
    /// Whether an autocommit statement may share a transaction with its progress row: not in a section that opens
    /// or ends transactions itself (`BEGIN` .. `COMMIT` in a no-transaction file), where a transaction of ours
    /// would nest (SQLite refuses) or commit the user's early (MySQL). See [`joins_records`].
    pub(super) join_records: bool,
    /// This migration's commits need not wait for the disk ([`crate::backend::SqlDialect::deferred_flush`]): it is not the run's
    /// last, whose commit waits, so that a history that looks complete to anyone is on disk.
    pub(super) defer_flush: bool,
}

impl ExecCtx<'_> {
    /// Whether `unit`, an autocommit statement, shares one transaction with its bookkeeping (when it has some):
    /// both commit, or neither.
    pub(super) fn joins(&self, d: &dyn crate::backend::SqlDialect, unit: &Unit<'_>, has_record: bool) -> bool {
        !unit.transactional
            && has_record
            && !self.outer
            && self.join_records
            && d.joins_its_record(unit.statements[0].1.sql)
    }
}

/// Whether `unit` is sent alone, its bookkeeping in a round trip of its own: an autocommit statement not `joined`
/// with it, where the server would make a batch one implicit transaction (PostgreSQL) or has no batches of
/// statements that commit one by one.
pub(super) fn sends_alone(d: &dyn crate::backend::SqlDialect, unit: &Unit<'_>, joined: bool) -> bool {
    !unit.transactional && !joined && !d.autocommit_batches()
}

/// The error of statement `index` (0-based) of the section, with `applied` statements of it done and recorded
/// (none while nothing is `recorded`); `alone`: it ran outside any transaction of ours, committing by itself.
#[allow(clippy::too_many_arguments)]
fn failed(
    ctx: &ExecCtx<'_>,
    recorded: bool,
    alone: bool,
    index: usize,
    line: u32,
    applied: usize,
    source: DbError,
) -> Error {
    Error::Statement {
        at: FailedStatement {
            file: ctx.file.filename.clone(),
            line,
            index: index + 1,
            applied: if recorded { applied } else { 0 },
            total: ctx.total,
            rollback: ctx.direction == Direction::Down,
            earlier: Vec::new(),
            whole_run: ctx.outer,
            alone,
        },
        source,
    }
}

/// Sends the one statement of an autocommit `unit` alone, then its bookkeeping: PostgreSQL runs a multi-statement
/// query as one implicit transaction block, which statements like CREATE INDEX CONCURRENTLY refuse.
async fn exec_alone(
    run: &mut Run<'_>,
    ctx: &ExecCtx<'_>,
    unit: &Unit<'_>,
    record: &str,
    recorded: bool,
) -> Result<(), Error> {
    let (index, s) = &unit.statements[0];
    let applied = (*index).max(ctx.resume);
    run.backend.execute(s.sql).await.map_err(|e| failed(ctx, recorded, true, *index, s.line, applied, e))?;
    if !record.is_empty() {
        run.backend.execute(record).await.map_err(Error::db(format!("recording {}", ctx.file.filename)))?;
    }
    Ok(())
}

/// Runs one unit and its bookkeeping `record`, atomically where the server allows. `recorded`: whether any
/// progress of this migration is recorded (by this run or an earlier one); until then, the statements before this
/// unit only set up the session ([`sets_up_only`]), and a failure leaves nothing of the migration applied.
pub(super) async fn exec_unit(
    run: &mut Run<'_>,
    ctx: &ExecCtx<'_>,
    unit: &Unit<'_>,
    record: &str,
    recorded: bool,
) -> Result<(), Error> {
    let d = run.d;
    let first_index = unit.statements[0].0;
    run.keep_search_path(unit.statements.iter().map(|(_, s)| s.sql)).await;
    let booked = run.booked(record);
    let record: &str = &booked;
    let joined = ctx.joins(d, unit, !record.is_empty());
    if sends_alone(d, unit, joined) {
        return exec_alone(run, ctx, unit, record, recorded).await;
    }
    // One round trip: the statements and their bookkeeping. PostgreSQL makes the batch one implicit transaction;
    // SQLite gets an explicit one; MySQL statements commit one by one, and the server stops at the first error.
    let explicit = (unit.transactional || joined) && !d.batch_is_atomic() && !ctx.outer;
    let mut sql = String::new();
    let mut lead = 0;
    if explicit {
        sql.push_str(d.begin());
        sql.push_str(";\n");
        lead += 1;
    }
    // A migration's own commit need not wait for the disk: the run's last migration and the commit that releases
    // the lock wait, for all of them (in single-transaction mode there is one commit, which waits as usual).
    if unit.transactional && !ctx.outer && ctx.defer_flush && !d.deferred_flush().is_empty() {
        sql.push_str(d.deferred_flush());
        lead += 1;
        run.unflushed = true;
    }
    // Where each statement starts in the batch, to find the one a PostgreSQL syntax error points at.
    let mut starts = Vec::with_capacity(unit.statements.len());
    for (_, s) in &unit.statements {
        starts.push(sql.len());
        sql.push_str(s.sql);
        sql.push_str(";\n");
    }
    let statements_end = sql.len();
    if !record.is_empty() {
        sql.push_str(record);
        sql.push_str(";\n");
    }
    if explicit {
        sql.push_str("COMMIT;\n");
    }
    match run.backend.execute_counted(&sql).await {
        Ok(()) => Ok(()),
        Err((done, e)) => {
            let e = without_bookkeeping(e, record);
            if explicit {
                let _ = run.backend.execute("ROLLBACK").await;
                if done == 0 {
                    // The BEGIN itself (SQLite's write lock, busy past the busy timeout): no statement's fault.
                    return Err(Error::db(format!("beginning the transaction of {}", ctx.file.filename))(e));
                }
            }
            let mut at = done.saturating_sub(lead);
            // PostgreSQL parses a whole batch before running any of it: a syntax error counts no statement done,
            // but its position (in characters of the batch) names the statement.
            if let Some(byte) = e.position.and_then(|p| sql.char_indices().nth(p).map(|(b, _)| b)) {
                if byte < statements_end {
                    if let Some(k) = starts.iter().rposition(|&start| start <= byte) {
                        at = at.max(k);
                    }
                }
            }
            // The statement itself refused the transaction (nothing of the batch ran: PostgreSQL's block and our
            // explicit one are rolled back): run it alone after all.
            if joined && at == 0 && refuses_a_transaction(d, &e) {
                tracing::info!(file = %ctx.file.filename, "runs outside a transaction after all");
                return exec_alone(run, ctx, unit, record, recorded).await;
            }
            // A MySQL CALL returns a result per SELECT in its body before it fails, which the count takes for
            // statements that ran: with one statement in the unit, the error is that statement's (unless it names
            // the history table, which only the bookkeeping touches).
            let names_history = e.message.contains(run.history.table.as_str());
            let call = unit.statements.len() == 1
                && unit.statements[0].1.sql.split_whitespace().next().is_some_and(|w| w.eq_ignore_ascii_case("CALL"));
            if call && !names_history {
                at = 0;
            }
            // Past the statements and the bookkeeping: the COMMIT failed, on a deferred constraint the statements
            // broke (PostgreSQL's implicit commit counts as the last bookkeeping statement). Named after the last
            // statement; a constraint error only, that does not name dbwarden's own tables, and never on MySQL,
            // which checks constraints at once.
            let len = unit.statements.len();
            let booked = if record.is_empty() { 0 } else { record.matches(";\n").count() + 1 };
            let commit_at = if d.batch_is_atomic() { len + booked.saturating_sub(1) } else { len + booked };
            let ours = names_history || e.message.contains(crate::lock::LOCK_TABLE);
            let constraint = e.code.as_deref().is_some_and(|c| c.starts_with("23"))
                || e.message.contains("FOREIGN KEY constraint failed");
            let deferred = (explicit || d.batch_is_atomic()) && !d.autocommit_batches();
            let at = if deferred && at == commit_at && constraint && !ours { len - 1 } else { at };
            let Some((index, s)) = unit.statements.get(at) else {
                return Err(Error::db(format!("recording {}", ctx.file.filename))(e));
            };
            // What stayed applied: before this unit for a transaction; everything before it for autocommit.
            let applied = match (ctx.outer, unit.transactional) {
                (true, _) => 0,
                (false, true) => first_index,
                (false, false) => *index,
            };
            let alone = !unit.transactional && !joined;
            Err(failed(ctx, recorded, alone, *index, s.line, applied, e))
        }
    }
}

/// The checksum of a section's statements that ran, kept up as they run (each statement hashed once).
pub(super) struct RanSoFar<'t> {
    texts: &'t [&'t str],
    hasher: checksum::StatementsHasher,
    hashed: usize,
}

impl<'t> RanSoFar<'t> {
    pub(super) fn new(texts: &'t [&'t str]) -> Self {
        RanSoFar { texts, hasher: Default::default(), hashed: 0 }
    }

    /// That the first `resume` statements of the upgrade section are those an earlier run stopped after (its
    /// `row`): a resume would skip them, and record the file as applied. Only rows written since dbwarden recorded
    /// the statements that ran can tell; a file now shorter than what ran is refused whatever the row.
    pub(super) fn check(
        &mut self,
        file: &MigrationFile,
        resume: usize,
        row: Option<&crate::history::AppliedMigration>,
    ) -> Result<(), Error> {
        let total = self.texts.len();
        let edited = || Error::RanStatementsEdited { file: file.filename.clone(), rollback: false, ran: resume, total };
        if resume > total {
            return Err(edited());
        }
        let by_statements =
            row.filter(|r| resume > 0 && r.checksum_algorithm.as_deref() == Some(checksum::STATEMENTS_ALGORITHM));
        match by_statements {
            Some(row) if row.checksum.as_deref() != Some(self.through(resume).as_str()) => Err(edited()),
            _ => Ok(()),
        }
    }

    /// [`checksum::statements_checksum`] of the first `done` statements (at least as many as asked before: the
    /// units of a section run in order, a resume's first one after the statements it checked).
    pub(super) fn through(&mut self, done: usize) -> String {
        for text in &self.texts[self.hashed..done] {
            self.hasher.push(text);
        }
        self.hashed = done;
        self.hasher.checksum()
    }
}

/// MySQL quotes the rest of the batch after a syntax error (`near 'foo);\nUPDATE `_dbwarden_migrations` SET ...'`):
/// cut the quote where dbwarden's own bookkeeping (`record`, sent in the same batch) begins.
fn without_bookkeeping(mut e: DbError, record: &str) -> DbError {
    let probe: String = record.chars().take(20).collect();
    if probe.chars().count() < 20 {
        return e;
    }
    if let Some(at) = e.message.find(&probe) {
        let tail = e.message[at..].find("' at line").map_or("'", |i| &e.message[at + i..]).to_string();
        e.message = format!("{}{tail}", e.message[..at].trim_end());
    }
    e
}

/// Names, in a failed statement's error, the migrations this run finished before it (they stay done).
pub(super) fn with_earlier(e: Error, steps: &[Step]) -> Error {
    match e {
        Error::Statement { mut at, source } => {
            at.earlier = steps.iter().map(|s| s.filename.clone()).collect();
            Error::Statement { at, source }
        }
        other => other,
    }
}

/// For each unit of a section, whether it still holds table locks after the unit (MySQL's `LOCK TABLES` without
/// its `UNLOCK TABLES` yet), when no history row can be written: its progress is recorded after the unlock instead.
pub(super) fn tables_locked_after(run: &Run<'_>, units: &[Unit<'_>]) -> Vec<bool> {
    let mut locked = false;
    units
        .iter()
        .map(|u| {
            for (_, s) in &u.statements {
                locked = run.d.locks_tables(s.sql).unwrap_or(locked);
            }
            locked
        })
        .collect()
}

/// Appends a renewal of the SQLite lock row to `record` when the last one is 30 seconds old.
pub(super) fn with_heartbeat(run: &mut Run<'_>, record: String) -> String {
    if !run.backend.table_lock() || run.last_heartbeat.elapsed() < Duration::from_secs(30) {
        return record;
    }
    run.last_heartbeat = Instant::now();
    format!("{record};\n{}", lock::heartbeat_sql(run.d, &run.namespace, &run.me.owner))
}
