//! The migrator: plans what to run from the files and the history table, then applies or reverts migrations behind
//! the lock, recording each with its checksums. Written once over the [`Backend`] primitives.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use dbwarden_core::checksum;
use dbwarden_core::file::{fingerprint, Fingerprint, FormatError, MigrationFile, MigrationKind};
use dbwarden_core::lexer::Statement;
use serde::Serialize;

use crate::backend::{dialect, Backend, SqlDialect, Target};
use crate::error::{DbError, Error, FailedStatement};
use crate::head;
use crate::history::{AppliedMigration, History, NewRow, RowState, DEFAULT_TABLE};
use crate::lock::{self, LockHolder};
use crate::source::{Loaded, Source};

/// Applies, reverts and inspects migrations. Built with options, then run against a pool or URL.
///
/// ```no_run
/// # async fn run() -> Result<(), dbwarden::Error> {
/// use std::time::Duration;
/// let pool = sqlx::SqlitePool::connect("sqlite://app.db?mode=rwc").await.unwrap();
/// let report = dbwarden::Migrator::new(dbwarden::Source::dir("migrations/primary"))
///     .lock_timeout(Duration::from_secs(30))
///     .target_version(3)
///     .run(&pool)
///     .await?;
/// for step in &report.steps {
///     println!("applied {}", step.filename);
/// }
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct Migrator {
    source: Source,
    table: String,
    lock_timeout: Duration,
    target_version: Option<u64>,
    count: Option<usize>,
    dry_run: bool,
    baseline: bool,
    single_transaction: bool,
    ignore_missing: bool,
    out_of_order: bool,
}

/// Which migrations `rollback` reverts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RollbackTo {
    /// The newest `n` applied migrations.
    Count(usize),
    /// Every applied migration newer than this version (it stays applied; `0` reverts all).
    Version(u64),
}

/// One migration applied or reverted (or that would be, in a dry run).
#[derive(Debug, Clone, Serialize)]
pub struct Step {
    /// `0001`, or none for a repeatable.
    pub version: Option<String>,
    /// The file name.
    pub filename: String,
    /// The description (slug words).
    pub description: String,
    /// Statements run (or to run).
    pub statements: usize,
    /// Wall time.
    pub elapsed_ms: u64,
    /// The SQL that runs, in a dry run.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sql: Option<String>,
    /// Recorded without running (`--baseline`).
    pub baseline: bool,
}

/// What `migrate` or `rollback` did.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// The database name.
    pub database: String,
    /// Migrations applied (migrate) or reverted (rollback), in order.
    pub steps: Vec<Step>,
    /// Nothing was written.
    pub dry_run: bool,
}

/// The state of one migration in `status`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EntryState {
    /// Applied, file unchanged.
    Applied,
    /// Not applied yet.
    Pending,
    /// Applied, but the upgrade section changed since.
    Edited,
    /// Applied, but the file is gone.
    Missing,
    /// Stopped part-way in an upgrade.
    Partial,
    /// Stopped part-way in a rollback.
    RollingBack,
    /// Not applied, and older than the newest applied version: `migrate` refuses it without `out_of_order`.
    OutOfOrder,
}

/// One line of `status`.
#[derive(Debug, Clone, Serialize)]
pub struct StatusEntry {
    /// `0001`, or none for a repeatable.
    pub version: Option<String>,
    /// The file name.
    pub filename: String,
    /// `versioned`, `repeatable_always`, `repeatable_on_change`.
    pub kind: String,
    /// Its state.
    pub state: EntryState,
    /// When it was applied.
    pub applied_at: Option<String>,
    /// Why `migrate` would refuse this pending file before running anything (a section that cannot be split into
    /// statements), naming the file and line.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub problem: Option<String>,
}

/// What `status` reports.
#[derive(Debug, Clone, Serialize)]
pub struct Status {
    /// The database name.
    pub database: String,
    /// Every migration, files and history merged, in order.
    pub entries: Vec<StatusEntry>,
    /// Count of pending entries.
    pub pending: usize,
    /// Count of applied entries (edited ones included).
    pub applied: usize,
    /// Files on disk that the running binary does not embed.
    pub not_embedded: Vec<String>,
}

impl Status {
    /// Whether something needs attention: what stops `migrate` (edited, missing versioned or part-way entries, out
    /// of order files) or files not embedded. A repeatable whose file is gone is listed but is not a problem: migrate
    /// goes on without it, and `repair` forgets its row.
    pub fn has_problems(&self) -> bool {
        !self.not_embedded.is_empty()
            || self.entries.iter().any(|e| e.problem.is_some())
            || self.entries.iter().any(|e| match e.state {
                EntryState::Edited | EntryState::Partial | EntryState::RollingBack | EntryState::OutOfOrder => true,
                EntryState::Missing => e.version.is_some(),
                EntryState::Applied | EntryState::Pending => false,
            })
    }
}

impl Migrator {
    /// A migrator over a source, with default options (table `_dbwarden_migrations`, lock timeout 60 s).
    pub fn new(source: impl Into<Source>) -> Migrator {
        Migrator {
            source: source.into(),
            table: DEFAULT_TABLE.to_string(),
            lock_timeout: Duration::from_secs(60),
            target_version: None,
            count: None,
            dry_run: false,
            baseline: false,
            single_transaction: false,
            ignore_missing: false,
            out_of_order: false,
        }
    }

    /// Reads and checks the migration files now, once, instead of at every call: a long-lived process that migrates
    /// several databases (or a benchmark) pays for resolving only here. Errors in the files surface here too.
    pub fn resolve(mut self) -> Result<Self, Error> {
        self.source = Source::Resolved(self.source.load()?);
        Ok(self)
    }

    /// The migrations this migrator reads (for tools that walk them one by one, such as [`crate::verify`]).
    pub fn source(&self) -> &Source {
        &self.source
    }

    /// The history table name (default `_dbwarden_migrations`).
    pub fn table(mut self, table: impl Into<String>) -> Self {
        self.table = table.into();
        self
    }
    /// How long to wait for another run's lock before failing with its holder's name.
    pub fn lock_timeout(mut self, timeout: Duration) -> Self {
        self.lock_timeout = timeout;
        self
    }
    /// Apply up to and including this version.
    pub fn target_version(mut self, version: u64) -> Self {
        self.target_version = Some(version);
        self
    }
    /// Apply at most this many pending migrations.
    pub fn count(mut self, count: usize) -> Self {
        self.count = Some(count);
        self
    }
    /// Report the SQL that would run; take no lock and write nothing.
    pub fn dry_run(mut self, yes: bool) -> Self {
        self.dry_run = yes;
        self
    }
    /// Record pending migrations as applied without running them (adopting an existing schema).
    pub fn baseline(mut self, yes: bool) -> Self {
        self.baseline = yes;
        self
    }
    /// Apply all pending migrations in one transaction: all or nothing (PostgreSQL and SQLite only).
    pub fn single_transaction(mut self, yes: bool) -> Self {
        self.single_transaction = yes;
        self
    }
    /// Run even when applied migrations have no file any more.
    pub fn ignore_missing(mut self, yes: bool) -> Self {
        self.ignore_missing = yes;
        self
    }
    /// Apply pending migrations older than the newest applied one instead of refusing.
    pub fn out_of_order(mut self, yes: bool) -> Self {
        self.out_of_order = yes;
        self
    }

    fn namespace(&self, db: &str) -> String {
        format!("{db}:{}", self.table)
    }

    /// Applies pending migrations behind the lock.
    pub async fn run(&self, target: &(impl Target + ?Sized)) -> Result<Report, Error> {
        let nothing = |db: String| Ok(Report { database: db, steps: Vec::new(), dry_run: false });
        let quick = !self.dry_run && !self.baseline;
        let loaded = if quick {
            match self.head_or_load(target).await? {
                Ok(db) => return nothing(db),
                Err(loaded) => loaded,
            }
        } else {
            self.source.load()?
        };
        if quick {
            match self.peek(target, &loaded).await {
                Peek::NothingToDo { head_writable } => {
                    if head_writable {
                        self.record_head(target, &loaded).await;
                    }
                    return nothing(loaded.db.clone());
                }
                Peek::Unknown => {}
            }
        }
        let mut backend = target.open().await.map_err(Error::db("connecting"))?;
        let result = if self.dry_run {
            self.plan_dry_run(backend.as_mut(), &loaded).await
        } else {
            match self.lock(backend.as_mut(), &loaded.db).await {
                Ok(mut run) => {
                    let result = self.apply_pending(&mut run, &loaded).await;
                    after_unlock(result, unlock(run).await)
                }
                Err(e) => Err(e),
            }
        };
        backend.close().await;
        result
    }

    /// Reverts applied migrations, newest first, behind the lock.
    pub async fn rollback(&self, target: &(impl Target + ?Sized), to: RollbackTo) -> Result<Report, Error> {
        let loaded = self.source.load()?;
        let mut backend = target.open().await.map_err(Error::db("connecting"))?;
        let result = match self.lock(backend.as_mut(), &loaded.db).await {
            Ok(mut run) => {
                let result = self.revert(&mut run, &loaded, to).await;
                after_unlock(result, unlock(run).await)
            }
            Err(e) => Err(e),
        };
        backend.close().await;
        result
    }

    /// Accepts edits and forgets part-way rows, behind the lock: edited applied migrations get their new checksums
    /// recorded; rows of migrations that stopped part-way are deleted (undo their effects by hand first), so they
    /// run again from the start; rows of repeatable migrations whose file is gone are deleted. Returns the files it
    /// changed.
    pub async fn repair(&self, target: &(impl Target + ?Sized)) -> Result<Vec<String>, Error> {
        let loaded = self.source.load()?;
        let mut backend = target.open().await.map_err(Error::db("connecting"))?;
        let result = match self.lock(backend.as_mut(), &loaded.db).await {
            Ok(mut run) => {
                let result = self.repair_locked(&mut run, &loaded).await;
                after_unlock(result, unlock(run).await)
            }
            Err(e) => Err(e),
        };
        backend.close().await;
        result
    }

    /// Pending and applied migrations, edited and missing files. Read-only: no lock, no table created.
    pub async fn status(&self, target: &(impl Target + ?Sized)) -> Result<Status, Error> {
        let loaded = self.source.load()?;
        let (rows, dialect) = self.history_of(target).await?;
        Ok(build_status(&loaded, &rows, dialect))
    }

    /// The rows of the history table, oldest version first. Read-only: through the pool when there is one (two
    /// queries; a probe calling it often costs the pool no connection), else on a connection of its own.
    pub async fn history(&self, target: &(impl Target + ?Sized)) -> Result<Vec<AppliedMigration>, Error> {
        Ok(self.history_of(target).await?.0)
    }

    /// [`Migrator::history`], and the server's dialect (which `status` splits pending files for).
    async fn history_of(
        &self,
        target: &(impl Target + ?Sized),
    ) -> Result<(Vec<AppliedMigration>, dbwarden_core::Dialect), Error> {
        let read = || Error::db("reading the history table");
        if let Some(dialect) = target.pool_dialect() {
            let history = History { d: dialect::of(dialect), table: self.table.clone(), prepared: false };
            let columns = target.peek(&history.d.columns_query(&self.table)).await.map_err(read())?;
            let existing = History::column_names(columns);
            if existing.is_empty() {
                return Ok((Vec::new(), dialect));
            }
            let has = |name: &str| existing.iter().any(|c| c == name);
            let rows = target.peek(&history.select_sql(has)).await.map_err(read())?;
            return Ok((History::rows(rows, has), dialect));
        }
        let mut backend = target.open().await.map_err(Error::db("connecting"))?;
        let dialect = backend.dialect();
        let history = History { d: dialect::of(dialect), table: self.table.clone(), prepared: false };
        let rows = history.read(backend.as_mut()).await.map_err(read());
        backend.close().await;
        Ok((rows?, dialect))
    }

    /// The lock's state. Read-only.
    pub async fn lock_status(&self, target: &(impl Target + ?Sized)) -> Result<lock::LockStatus, Error> {
        let db = self.source.db_name();
        let mut backend = target.open().await.map_err(Error::db("connecting"))?;
        let d = dialect::of(backend.dialect());
        let status = lock::status(backend.as_mut(), d, &self.namespace(&db)).await;
        backend.close().await;
        status
    }

    /// Releases a lock held by someone else (ending its server session). Returns whether it is free now.
    pub async fn force_unlock(&self, target: &(impl Target + ?Sized)) -> Result<bool, Error> {
        let db = self.source.db_name();
        let mut backend = target.open().await.map_err(Error::db("connecting"))?;
        let d = dialect::of(backend.dialect());
        let freed = lock::force_unlock(backend.as_mut(), d, &self.namespace(&db)).await;
        backend.close().await;
        freed
    }

    /// Whether every migration is applied with its file unchanged, by the read `migrate` itself starts with: one
    /// read-only query through the pool, no lock (for an `AnyPool` or a URL, [`Migrator::status`] on a connection
    /// of its own). A readiness probe for a service that must not start on an old schema; `false` also when the pool
    /// cannot tell (an error: use [`Migrator::status`] for details).
    ///
    /// ```no_run
    /// # async fn probe(pool: &sqlx::PgPool) -> Result<(), dbwarden::Error> {
    /// let migrator = dbwarden::Migrator::new(dbwarden::Source::dir("migrations/primary"));
    /// let ready = migrator.up_to_date(pool).await?;
    /// # Ok(()) }
    /// ```
    pub async fn up_to_date(&self, target: &(impl Target + ?Sized)) -> Result<bool, Error> {
        if target.pool_dialect().is_none() {
            // No pool to peek through (an AnyPool, a URL): the read-only status on a connection of its own.
            let status = self.status(target).await?;
            return Ok(status.pending == 0 && !status.has_problems());
        }
        match self.head_or_load(target).await? {
            Ok(_) => Ok(true),
            Err(loaded) => Ok(matches!(self.peek(target, &loaded).await, Peek::NothingToDo { .. })),
        }
    }

    /// The start-up check: `Ok(database)` when the head record says the history holds exactly this set (see
    /// [`crate::head`]: one read-only query of one row through the pool, no file parsed where the source allows),
    /// else the files, loaded. Any doubt (no pool, no record, an error) is a miss.
    async fn head_or_load(&self, target: &(impl Target + ?Sized)) -> Result<Result<String, Arc<Loaded>>, Error> {
        let (db, fingerprint, loaded) = match self.source.fingerprint() {
            Some((db, fingerprint)) => (db, fingerprint, None),
            None => {
                let loaded = self.source.load()?;
                (loaded.db.clone(), loaded.fingerprint.clone(), Some(loaded))
            }
        };
        if let (Some(fingerprint), Some(dialect)) = (fingerprint, target.pool_dialect()) {
            let sql = head::check_sql(dialect::of(dialect), &self.namespace(&db), &self.table);
            if matches!(target.peek(&sql).await, Ok(rows) if head::matches(&rows, &fingerprint)) {
                if loaded.is_none() {
                    self.source.warn_not_embedded();
                }
                return Ok(Ok(db));
            }
        }
        // On a miss `load` reads the files (and warns about files missing from a binary) once.
        Ok(Err(match loaded {
            Some(loaded) => loaded,
            None => self.source.load()?,
        }))
    }

    /// The read-only check behind the head record: every history row, planned against the files, through the pool,
    /// no dedicated connection and no lock. Anything but an empty plan takes the locked path, which reads the
    /// history again under the lock and decides for real.
    async fn peek(&self, target: &(impl Target + ?Sized), loaded: &Loaded) -> Peek {
        let Some(dialect) = target.pool_dialect() else { return Peek::Unknown };
        let history = History { d: dialect::of(dialect), table: self.table.clone(), prepared: false };
        let Ok(rows) = target.peek(&history.plan_sql()).await else { return Peek::Unknown };
        let Some(rows) = History::plan_rows(rows) else { return Peek::Unknown };
        match self.plan(loaded, &rows, dialect) {
            Ok(plan) if plan.is_empty() => Peek::NothingToDo {
                head_writable: loaded.fingerprint.is_some() && fingerprint_of(&rows) == loaded.fingerprint,
            },
            _ => Peek::Unknown,
        }
    }

    /// Writes the missing head record of a complete history, so the next start-up reads one row. Best effort: the
    /// history was just found complete, so failing here (a read-only role, the lock busy) must not fail `migrate`.
    async fn record_head(&self, target: &(impl Target + ?Sized), loaded: &Loaded) {
        let Ok(mut backend) = target.open().await else { return };
        // One try: someone holding the lock is migrating, and will write the record itself.
        if let Ok(mut run) = self.lock_within(backend.as_mut(), &loaded.db, Duration::ZERO).await {
            write_head_if_complete(&mut run, loaded, None).await;
            // (Nothing ran: the release cannot fail in a way that concerns this call.)
            let _ = unlock(run).await;
        }
        backend.close().await;
    }

    /// Takes the lock; everything done with the returned run happens under it.
    async fn lock<'b>(&self, backend: &'b mut dyn Backend, db: &str) -> Result<Run<'b>, Error> {
        self.lock_within(backend, db, self.lock_timeout).await
    }

    async fn lock_within<'b>(
        &self,
        backend: &'b mut dyn Backend,
        db: &str,
        timeout: Duration,
    ) -> Result<Run<'b>, Error> {
        let d = dialect::of(backend.dialect());
        let namespace = self.namespace(db);
        let me = LockHolder::me();
        // Everything run under the lock may change the history: the head record is void until rewritten. On a new
        // database the history table is created here too: both in the commit that writes the lock's row on SQLite
        // (one commit, a few fsyncs, fewer), in its round trip on the servers.
        let history = History { d, table: self.table.clone(), prepared: false };
        let then = format!("{};\n{}", head::clear_sql(d, &namespace), history.create_sql());
        lock::acquire(backend, d, &namespace, &me, timeout, &then).await?;
        Ok(Run {
            backend,
            d,
            history,
            namespace,
            me,
            last_heartbeat: Instant::now(),
            head: None,
            clock: None,
            unflushed: false,
        })
    }
}

/// Writes the head record if the run left one to write, and releases the lock, in one commit on SQLite (one round
/// trip on the servers). Called on every path out of a locked body, errors included; a panic or a dropped future
/// ends the dedicated session instead, which releases server locks (and the SQLite backend's drop releases its row).
async fn unlock(run: Run<'_>) -> Result<(), Error> {
    // After commits that did not wait for the disk, the release's commit must write something, or PostgreSQL does not
    // wait for its flush (which covers them): the head record, else a record that matches no set of files.
    let marker = (run.head.is_none() && run.unflushed).then(|| head::incomplete_sql(run.d, &run.namespace));
    let first = run.head.as_deref().or(marker.as_deref()).unwrap_or_default();
    match lock::release(run.backend, run.d, &run.namespace, &run.me, first).await {
        Ok(()) => Ok(()),
        Err(e) if run.unflushed => Err(Error::db(
            "releasing the migration lock, whose commit confirms that the migrations this run committed are on disk; \
             the server did not confirm it, so a crash now could undo the last of them (see `dbwarden status` once it answers)",
        )(e)),
        Err(e) => {
            tracing::warn!(
                error = %e,
                "writing the head record or releasing the migration lock failed; the next start-up reads the whole \
                 history, and the lock is released when the session ends"
            );
            Ok(())
        }
    }
}

/// The locked body's result after [`unlock`]: a failed release is the error only when the body succeeded (it then
/// means the run's migrations are not confirmed on disk); otherwise the body's error stands and the release's is
/// logged.
fn after_unlock<T>(result: Result<T, Error>, released: Result<(), Error>) -> Result<T, Error> {
    match (result, released) {
        (Ok(value), Ok(())) => Ok(value),
        (Ok(_), Err(e)) => Err(e),
        (Err(e), Ok(())) => Err(e),
        (Err(e), Err(release)) => {
            tracing::error!(error = %release, "after the failure, the migrations this run committed before it are not confirmed on disk");
            Err(e)
        }
    }
}

/// A run under the lock.
struct Run<'a> {
    backend: &'a mut dyn Backend,
    d: &'static dyn SqlDialect,
    history: History<'static>,
    namespace: String,
    me: LockHolder,
    last_heartbeat: Instant,
    /// The head record to write as the lock is released (the run ended with the history complete).
    head: Option<String>,
    /// The server's clock at an instant of ours, where the dialect records elapsed times against it.
    clock: Option<(SystemTime, Instant)>,
    /// A commit of this run did not wait for the disk: the release must (see [`unlock`]).
    unflushed: bool,
}

impl Run<'_> {
    /// Reads the server's clock once ([`SqlDialect::clock_query`]), as of the middle of the round trip. If it
    /// cannot be read, this machine's clock stands in (only the recorded execution times would be off).
    async fn read_clock(&mut self) {
        let Some(sql) = self.d.clock_query() else { return };
        let sent = Instant::now();
        match self.backend.query(sql).await {
            Ok(rows) => {
                let micros = rows.first().and_then(|r| r.first()?.as_deref()?.parse::<u64>().ok());
                let at = sent + sent.elapsed() / 2;
                self.clock = micros.map(|us| (SystemTime::UNIX_EPOCH + Duration::from_micros(us), at));
            }
            Err(e) => tracing::debug!(error = %e, "reading the server's clock"),
        }
    }

    /// Now on the database's clock: the server's as last read, moved on by our monotonic clock.
    fn db_now(&self) -> SystemTime {
        match self.clock {
            Some((then, at)) => then + at.elapsed(),
            None => SystemTime::now(),
        }
    }
}

/// Why `migrate` would refuse a pending `file` before running anything (its upgrade, or the rollback it must be
/// able to run later, cannot be split into statements), as `status` reports it.
fn unsplittable(file: &MigrationFile, dialect: dbwarden_core::Dialect) -> Option<String> {
    file.statements(&file.upgrade, dialect).and_then(|_| rollback_splits(file, dialect)).err().map(|e| e.to_string())
}

/// Whether a file's rollback section can be split, where it can ever run. (A repeatable's never does: a rollback
/// of everything forgets its row instead; nor does an irreversible migration's.)
fn rollback_splits(file: &MigrationFile, dialect: dbwarden_core::Dialect) -> Result<(), FormatError> {
    if file.name.kind == MigrationKind::Versioned && !file.directives.irreversible {
        file.statements(&file.rollback, dialect)?;
    }
    Ok(())
}

/// A migration whose rollback section cannot be split would apply now and fail only when someone needs to roll it
/// back: refuse it before anything runs, naming the line. Checked where a plan is about to run (or be printed), not
/// in [`Migrator::plan`], which the start-up check also calls only to see whether anything is pending.
fn rollbacks_split(plan: &[(&MigrationFile, usize)], dialect: dbwarden_core::Dialect) -> Result<(), Error> {
    for (file, _) in plan {
        rollback_splits(file, dialect)?;
    }
    Ok(())
}

/// A piece of a migration that runs as one: statements in one transaction, or one statement on its own.
struct Unit<'s> {
    statements: Vec<(usize, Statement<'s>)>,
    transactional: bool,
}

fn units<'s>(statements: Vec<Statement<'s>>, transactional: bool, skip: usize) -> Vec<Unit<'s>> {
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

/// Which way a migration runs.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Direction {
    Up,
    Down,
}

impl Migrator {
    async fn plan_dry_run(&self, backend: &mut dyn Backend, loaded: &Loaded) -> Result<Report, Error> {
        let d = dialect::of(backend.dialect());
        let history = History { d, table: self.table.clone(), prepared: false };
        let rows = history.read(backend).await.map_err(Error::db("reading the history table"))?;
        let plan = self.plan(loaded, &rows, backend.dialect())?;
        rollbacks_split(&plan, backend.dialect())?;
        let mut steps = Vec::new();
        for (file, resume) in plan {
            let statements = file.statements(&file.upgrade, backend.dialect())?;
            // What the run would send: a migration stopped part-way resumes after the statements that ran.
            let mut sql = statements.iter().skip(resume).map(|s| format!("{};", s.sql)).collect::<Vec<_>>().join("\n");
            if resume > 0 {
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

    /// The migrations to apply, in order, each with the statement to resume at.
    fn plan<'f>(
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
                RowState::Partial => {}
                RowState::Applied => {
                    if is_edited(row, file) {
                        edited.push(file.filename.clone());
                    }
                }
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
                MigrationKind::RepeatableAlways => 0,
                MigrationKind::RepeatableOnChange => match by_file.get(file.filename.as_str()) {
                    Some(row) if !changed_since_run(row, file) => continue,
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

    async fn apply_pending(&self, run: &mut Run<'_>, loaded: &Loaded) -> Result<Report, Error> {
        if self.single_transaction && !run.backend.dialect().transactional_ddl() {
            return Err(Error::Usage(format!(
                "--single-transaction needs transactional DDL; {} commits DDL implicitly",
                run.backend.dialect()
            )));
        }
        run.history.ensure(run.backend).await?;
        let mut rows = run.history.read_existing(run.backend).await.map_err(Error::db("reading the history table"))?;
        adopt_legacy_rows(run, loaded, &mut rows).await?;
        let plan = self.plan(loaded, &rows, run.backend.dialect())?;
        rollbacks_split(&plan, run.backend.dialect())?;
        let mut steps = Vec::new();
        if plan.is_empty() {
            // Nothing ran: the rows just read under the lock are the history.
            write_head_if_complete(run, loaded, Some(&rows)).await;
            return Ok(Report { database: loaded.db.clone(), steps, dry_run: false });
        }
        run.history.prepare(run.backend).await;
        run.read_clock().await;
        let outer = self.single_transaction && !self.baseline;
        if outer {
            // Everything must be able to run inside the one transaction: refuse before starting.
            for (file, _) in &plan {
                let autocommit = file.statements(&file.upgrade, run.backend.dialect())?.iter().any(|s| s.autocommit);
                if file.directives.no_transaction || autocommit {
                    return Err(Error::Usage(format!(
                        "{} runs outside a transaction (no-transaction or @dbwarden:autocommit); it cannot be part of --single-transaction",
                        file.filename
                    )));
                }
            }
            run.backend.execute("BEGIN").await.map_err(Error::db("beginning the transaction"))?;
        }
        let mut records = Vec::new();
        let count = plan.len();
        for (n, (file, resume)) in plan.into_iter().enumerate() {
            let existing = rows.iter().find(|r| r.filename == file.filename);
            match self.apply_one(run, file, resume, existing, outer, n + 1 < count).await {
                Ok((step, record)) => {
                    tracing::info!(file = %file.filename, ms = step.elapsed_ms, "applied");
                    records.extend(record);
                    steps.push(step);
                }
                Err(e) => {
                    if outer {
                        let _ = run.backend.execute("ROLLBACK").await;
                        return Err(e);
                    }
                    return Err(with_earlier(e, &steps));
                }
            }
        }
        if outer {
            // One multi-row INSERT records the whole run, inside the same transaction.
            let sql = format!("{};\nCOMMIT", run.history.insert_run(&records));
            if let Err(e) = run.backend.execute(&sql).await {
                let _ = run.backend.execute("ROLLBACK").await;
                return Err(Error::db("recording the migrations")(e));
            }
        }
        write_head_if_complete(run, loaded, None).await;
        Ok(Report { database: loaded.db.clone(), steps, dry_run: false })
    }

    /// Applies one migration. In single-transaction mode (`outer`) its history row is returned instead of written,
    /// so the whole run is recorded by one INSERT.
    async fn apply_one<'f>(
        &self,
        run: &mut Run<'_>,
        file: &'f MigrationFile,
        resume: usize,
        row: Option<&AppliedMigration>,
        outer: bool,
        defer_flush: bool,
    ) -> Result<(Step, Option<(NewRow<'f>, u128)>), Error> {
        let started = Instant::now();
        let wall_started = run.db_now();
        let dialect = run.backend.dialect();
        let row_exists = row.is_some();
        let statements = file.statements(&file.upgrade, dialect)?;
        let total = statements.len();
        let texts: Vec<&str> = statements.iter().map(|s| s.sql).collect();
        if resume > total {
            return Err(Error::Partial {
                file: file.filename.clone(),
                state: "upgrade stopped part-way and the file now has fewer statements".into(),
                done: resume,
                total,
            });
        }
        // Resuming runs statements resume+1.. of the file as it is now: the ones before must be those that ran
        // (only rows written since dbwarden recorded them can tell).
        let mut ran = RanSoFar::new(&texts);
        if let Some(row) =
            row.filter(|r| resume > 0 && r.checksum_algorithm.as_deref() == Some(checksum::STATEMENTS_ALGORITHM))
        {
            if row.checksum.as_deref() != Some(ran.through(resume).as_str()) {
                return Err(Error::Partial {
                    file: file.filename.clone(),
                    state: format!(
                        "upgrade stopped part-way, and statements 1 to {resume}, which ran, have changed in the file since; \
                         restore them (only statements after {resume} may change), or undo their effects by hand and run `dbwarden repair`"
                    ),
                    done: resume,
                    total,
                });
            }
        }
        let repeatable = file.name.kind != MigrationKind::Versioned;
        let new_row = |state, done| NewRow {
            version: file.name.version.map(|v| v.to_string()),
            description: file.name.description(),
            filename: &file.filename,
            migration_type: file.name.kind.as_str(),
            checksum: &file.checksum,
            checksum_algorithm: checksum::ALGORITHM,
            rollback_checksum: &file.rollback_checksum,
            state,
            statements_done: done,
        };
        // A repeatable's row is replaced each time it runs.
        let replace =
            if repeatable && row_exists { format!("{};\n", run.history.delete(&file.filename)) } else { String::new() };
        if self.baseline {
            let sql = format!("{replace}{}", run.history.insert(&new_row(RowState::Applied, 0), "0"));
            run.backend.execute(&sql).await.map_err(Error::db(format!("recording {}", file.filename)))?;
            return Ok((step(file, total, 0, None, true), None));
        }
        let transactional = dialect.transactional_ddl() && !file.directives.no_transaction;
        let units = units(statements, transactional, resume);
        let ctx = ExecCtx { file, total, direction: Direction::Up, resume, outer, defer_flush };
        if outer {
            if !replace.is_empty() {
                run.backend
                    .execute(replace.trim_end_matches(";\n"))
                    .await
                    .map_err(Error::db(format!("recording {}", file.filename)))?;
            }
            for unit in &units {
                exec_unit(run, &ctx, unit, "").await?;
            }
            let elapsed = started.elapsed();
            return Ok((
                step(file, total, elapsed.as_millis() as u64, None, false),
                Some((new_row(RowState::Applied, 0), elapsed.as_millis())),
            ));
        }
        let mut row_written = row_exists && !repeatable;
        if units.is_empty() {
            let record = if row_written {
                run.history.finish(&file.filename, &file.checksum, &file.rollback_checksum, "0")
            } else {
                format!("{replace}{}", run.history.insert(&new_row(RowState::Applied, 0), "0"))
            };
            let record = with_heartbeat(run, record);
            run.backend.execute(&record).await.map_err(Error::db(format!("recording {}", file.filename)))?;
            return Ok((step(file, total, started.elapsed().as_millis() as u64, None, false), None));
        }
        let last = units.len() - 1;
        let finish = |run: &mut Run<'_>, row_written: bool, elapsed: &str| {
            let record = if row_written {
                run.history.finish(&file.filename, &file.checksum, &file.rollback_checksum, elapsed)
            } else {
                format!("{replace}{}", run.history.insert(&new_row(RowState::Applied, 0), elapsed))
            };
            with_heartbeat(run, record)
        };
        for (i, unit) in units.iter().enumerate() {
            let done = unit.statements.last().expect("non-empty unit").0 + 1;
            let record = if i == last {
                if !unit.transactional && !run.d.autocommit_batches() {
                    // A statement that must go alone (CREATE INDEX CONCURRENTLY): its record follows in a round
                    // trip of its own anyway, so it is written once the statement is done, with the whole time.
                    exec_unit(run, &ctx, unit, "").await?;
                    let record = finish(run, row_written, &started.elapsed().as_millis().to_string());
                    run.backend.execute(&record).await.map_err(Error::db(format!("recording {}", file.filename)))?;
                    break;
                }
                let elapsed = run.d.elapsed_ms(wall_started, started.elapsed().as_millis());
                finish(run, row_written, &elapsed)
            } else {
                let ran = ran.through(done);
                if row_written {
                    run.history.progress(&file.filename, RowState::Partial, done, &ran)
                } else {
                    let partial = NewRow {
                        checksum: &ran,
                        checksum_algorithm: checksum::STATEMENTS_ALGORITHM,
                        ..new_row(RowState::Partial, done)
                    };
                    format!("{replace}{}", run.history.insert(&partial, "NULL"))
                }
            };
            exec_unit(run, &ctx, unit, &record).await?;
            row_written = true;
        }
        Ok((step(file, total, started.elapsed().as_millis() as u64, None, false), None))
    }

    async fn revert(&self, run: &mut Run<'_>, loaded: &Loaded, to: RollbackTo) -> Result<Report, Error> {
        run.history.ensure(run.backend).await?;
        let rows = run.history.read_existing(run.backend).await.map_err(Error::db("reading the history table"))?;
        let mut applied: Vec<&AppliedMigration> = rows.iter().filter(|r| r.version_number().is_some()).collect();
        applied.sort_by_key(|r| std::cmp::Reverse(r.version_number()));
        let chosen: Vec<&AppliedMigration> = match to {
            RollbackTo::Count(n) => applied.into_iter().take(n).collect(),
            RollbackTo::Version(v) => {
                if v != 0 && !rows.iter().any(|r| r.version_number() == Some(v)) {
                    return Err(Error::UnknownVersion { version: format!("{v:04}"), reason: "is not applied".into() });
                }
                applied.into_iter().filter(|r| r.version_number() > Some(v)).collect()
            }
        };
        let files: HashMap<u64, &MigrationFile> =
            loaded.files.iter().filter_map(|f| Some((f.name.version?.0, f))).collect();
        // Check every chosen migration before reverting any, so a predictable refusal never stops part-way.
        let mut plan = Vec::new();
        for row in &chosen {
            let file = files
                .get(&row.version_number().expect("versioned"))
                .copied()
                .ok_or_else(|| Error::Missing { versions: vec![row.filename.clone()] })?;
            if file.directives.irreversible {
                return Err(Error::Irreversible { file: file.filename.clone() });
            }
            if row.state == RowState::Partial {
                return Err(Error::Partial {
                    file: file.filename.clone(),
                    state:
                        "upgrade stopped part-way; finish it with migrate or clear it with repair before rolling back"
                            .into(),
                    done: row.statements_done,
                    total: file.statements(&file.upgrade, run.backend.dialect())?.len(),
                });
            }
            let resume = if row.state == RowState::RollingBack { row.statements_done } else { 0 };
            // Lexed here for every chosen file, so a rollback section that cannot be split stops before any runs.
            let statements = file.statements(&file.rollback, run.backend.dialect())?;
            // As for an upgrade: the rollback statements that ran must still be the file's.
            let ran = row.rollback_checksum.as_deref().and_then(|c| c.strip_prefix(ROLLBACK_RAN));
            if let Some(ran) = ran.filter(|_| resume > 0) {
                let texts: Vec<&str> = statements.iter().take(resume).map(|s| s.sql).collect();
                if texts.len() < resume || checksum::statements_checksum(&texts) != ran {
                    return Err(Error::Partial {
                        file: file.filename.clone(),
                        state: format!(
                            "rollback stopped part-way, and rollback statements 1 to {resume}, which ran, have changed \
                             in the file since; restore them (only later statements may change)"
                        ),
                        done: resume,
                        total: statements.len(),
                    });
                }
            }
            plan.push((file, *row, resume, statements));
        }
        run.history.prepare(run.backend).await;
        let mut steps = Vec::new();
        let count = plan.len();
        for (n, (file, row, resume, statements)) in plan.into_iter().enumerate() {
            let started = Instant::now();
            let total = statements.len();
            let transactional = run.backend.dialect().transactional_ddl() && !file.directives.no_transaction;
            let texts: Vec<&str> = statements.iter().map(|s| s.sql).collect();
            let units = units(statements, transactional, resume);
            let ctx =
                ExecCtx { file, total, direction: Direction::Down, resume, outer: false, defer_flush: n + 1 < count };
            let forget = run.history.delete(&row.filename);
            let forget = with_heartbeat(run, forget);
            if units.is_empty() {
                run.backend
                    .execute(&forget)
                    .await
                    .map_err(Error::db(format!("recording the rollback of {}", file.filename)))?;
            }
            let last = units.len().saturating_sub(1);
            let mut ran = RanSoFar::new(&texts);
            for (i, unit) in units.iter().enumerate() {
                let done = unit.statements.last().expect("non-empty unit").0 + 1;
                let record = if i == last {
                    forget.clone()
                } else {
                    let ran = format!("{ROLLBACK_RAN}{}", ran.through(done));
                    run.history.progress(&row.filename, RowState::RollingBack, done, &ran)
                };
                exec_unit(run, &ctx, unit, &record).await.map_err(|e| with_earlier(e, &steps))?;
            }
            tracing::info!(file = %file.filename, "rolled back");
            steps.push(step(file, total, started.elapsed().as_millis() as u64, None, false));
        }
        // Every versioned migration reverted: what the repeatables built went with the tables they ran on, so their
        // rows go too and the next migrate runs them again, as on a new database. (After a partial rollback they
        // stay: a re-run of a seed on tables that kept their rows would duplicate them.)
        let versioned = rows.iter().filter(|r| r.version_number().is_some()).count();
        if !steps.is_empty() && steps.len() == versioned {
            for row in rows.iter().filter(|r| r.version_number().is_none()) {
                let forget = run.history.delete(&row.filename);
                run.backend.execute(&forget).await.map_err(Error::db(format!("forgetting {}", row.filename)))?;
            }
        }
        Ok(Report { database: loaded.db.clone(), steps, dry_run: false })
    }

    async fn repair_locked(&self, run: &mut Run<'_>, loaded: &Loaded) -> Result<Vec<String>, Error> {
        run.history.ensure(run.backend).await?;
        let rows = run.history.read_existing(run.backend).await.map_err(Error::db("reading the history table"))?;
        let mut changed = Vec::new();
        for row in &rows {
            let file = loaded.files.iter().find(|f| match (row.version_number(), f.name.version) {
                (Some(v), Some(fv)) => v == fv.0,
                _ => f.filename == row.filename,
            });
            let sql = match (row.state, file) {
                (RowState::Partial | RowState::RollingBack, _) => run.history.delete(&row.filename),
                // A repeatable whose file is gone will not run again: its row only keeps the head record from
                // matching the files, so every start-up would read the whole history.
                // (Repeatable as `status` tells it: a row without a version.)
                (_, None) if row.version.is_none() => run.history.delete(&row.filename),
                (RowState::Applied, Some(file)) if is_edited(row, file) || row.checksum_algorithm.is_none() => {
                    run.history.set_checksums(&row.filename, &file.checksum, &file.rollback_checksum)
                }
                _ => continue,
            };
            run.backend.execute(&sql).await.map_err(Error::db(format!("repairing the row of {}", row.filename)))?;
            changed.push(row.filename.clone());
        }
        Ok(changed)
    }
}

/// What the read-only check found.
enum Peek {
    /// Everything applied; `head_writable`: the history is exactly the files' set, but its head record is missing.
    NothingToDo { head_writable: bool },
    /// Work to do, or no way to tell without the lock.
    Unknown,
}

/// The fingerprint of history rows read by [`History::plan_sql`], when all of them are applied with our checksum.
fn fingerprint_of(rows: &[AppliedMigration]) -> Option<Fingerprint> {
    let items = rows.iter().map(|r| {
        let checksum = r.checksum.as_deref().filter(|_| r.state == RowState::Applied)?;
        Some(fingerprint::item(r.version_number(), &r.filename, checksum))
    });
    Some(fingerprint::of_items(items.collect::<Option<Vec<_>>>()?))
}

/// Leaves the head record for [`unlock`] to write when the history holds exactly the files' set: `rows` as read
/// under the lock, or read again here (after migrations ran). A failure only costs the next start-up the full
/// read, so it is logged, not returned.
async fn write_head_if_complete(run: &mut Run<'_>, loaded: &Loaded, rows: Option<&[AppliedMigration]>) {
    let Some(expected) = &loaded.fingerprint else { return };
    let found = match rows {
        Some(rows) => fingerprint_of(rows),
        None => match run.backend.query(&run.history.plan_sql()).await {
            Ok(rows) => History::plan_rows(rows).as_deref().and_then(fingerprint_of),
            Err(e) => {
                tracing::debug!(error = %e, "reading the history for the head record");
                return;
            }
        },
    };
    if found.as_ref() != Some(expected) {
        return;
    }
    run.head = Some(head::write_sql(run.d, &run.namespace, expected));
}

fn is_edited(row: &AppliedMigration, file: &MigrationFile) -> bool {
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
fn changed_since_run(row: &AppliedMigration, file: &MigrationFile) -> bool {
    match row.checksum_algorithm {
        None => is_edited(row, file),
        Some(_) => row.checksum.as_deref() != Some(file.checksum.as_str()),
    }
}

/// Python DBWarden rows carry no algorithm: those whose checksum matches the file get ours recorded. One that
/// does not is left alone: the plan refuses it as edited (`repair` accepts the file as it is).
async fn adopt_legacy_rows(run: &mut Run<'_>, loaded: &Loaded, rows: &mut [AppliedMigration]) -> Result<(), Error> {
    for row in rows.iter_mut().filter(|r| r.checksum_algorithm.is_none()) {
        let Some(file) = loaded.files.iter().find(|f| {
            f.filename == row.filename
                || (row.version_number().is_some() && f.name.version.map(|v| v.0) == row.version_number())
        }) else {
            continue;
        };
        if is_edited(row, file) {
            continue;
        }
        let sql = run.history.set_checksums(&row.filename, &file.checksum, &file.rollback_checksum);
        run.backend.execute(&sql).await.map_err(Error::db(format!("adopting the row of {}", row.filename)))?;
        row.checksum = Some(file.checksum.clone());
        row.checksum_algorithm = Some(checksum::ALGORITHM.to_string());
        row.rollback_checksum = Some(file.rollback_checksum.clone());
        tracing::info!(file = %file.filename, "adopted a Python DBWarden history row");
    }
    Ok(())
}

struct ExecCtx<'f> {
    file: &'f MigrationFile,
    total: usize,
    direction: Direction,
    /// Statements of this section that ran in an earlier run.
    resume: usize,
    /// An outer transaction (single-transaction mode) is open.
    outer: bool,
    /// This migration's commits need not wait for the disk ([`SqlDialect::deferred_flush`]): it is not the run's
    /// last, whose commit waits, so that a history that looks complete to anyone is on disk.
    defer_flush: bool,
}

/// Runs one unit and its bookkeeping `record`, atomically where the server allows.
async fn exec_unit(run: &mut Run<'_>, ctx: &ExecCtx<'_>, unit: &Unit<'_>, record: &str) -> Result<(), Error> {
    let d = run.d;
    let first_index = unit.statements[0].0;
    let fail = |index: usize, line: u32, applied: usize, source: DbError| Error::Statement {
        at: FailedStatement {
            file: ctx.file.filename.clone(),
            line,
            index: index + 1,
            applied,
            total: ctx.total,
            rollback: ctx.direction == Direction::Down,
            earlier: Vec::new(),
        },
        source,
    };
    if !unit.transactional && !d.autocommit_batches() {
        // PostgreSQL runs a multi-statement query as one implicit transaction block, which statements like
        // CREATE INDEX CONCURRENTLY refuse: send the statement alone, then its bookkeeping.
        let (index, s) = &unit.statements[0];
        run.backend.execute(s.sql).await.map_err(|e| fail(*index, s.line, (*index).max(ctx.resume), e))?;
        if !record.is_empty() {
            run.backend.execute(record).await.map_err(Error::db(format!("recording {}", ctx.file.filename)))?;
        }
        return Ok(());
    }
    // One round trip: the statements and their bookkeeping. PostgreSQL makes the batch one implicit transaction;
    // SQLite gets an explicit one; MySQL statements commit one by one, and the server stops at the first error.
    let explicit = unit.transactional && !d.batch_is_atomic() && !ctx.outer;
    let mut sql = String::new();
    let mut lead = 0;
    if explicit {
        sql.push_str("BEGIN;\n");
        lead += 1;
    }
    // A migration's own commit need not wait for the disk: the run's last migration and the commit that releases
    // the lock wait, for all of them (in single-transaction mode there is one commit, which waits as usual).
    if unit.transactional && !ctx.outer && ctx.defer_flush && !d.deferred_flush().is_empty() {
        sql.push_str(d.deferred_flush());
        lead += 1;
        run.unflushed = true;
    }
    for (_, s) in &unit.statements {
        sql.push_str(s.sql);
        sql.push_str(";\n");
    }
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
            }
            let mut at = done.saturating_sub(lead);
            // A MySQL CALL returns a result per SELECT in its body before it fails, which the count takes for
            // statements that ran: with one statement in the unit, the error is that statement's (unless it names
            // the history table, which only the bookkeeping touches).
            let call = unit.statements.len() == 1
                && unit.statements[0].1.sql.split_whitespace().next().is_some_and(|w| w.eq_ignore_ascii_case("CALL"));
            if call && !e.message.contains(run.history.table.as_str()) {
                at = 0;
            }
            let Some((index, s)) = unit.statements.get(at) else {
                return Err(Error::db(format!("recording {}", ctx.file.filename))(e));
            };
            // What stayed applied: before this unit for a transaction; everything before it for autocommit.
            let applied = match (ctx.outer, unit.transactional) {
                (true, _) => 0,
                (false, true) => first_index,
                (false, false) => *index,
            };
            Err(fail(*index, s.line, applied, e))
        }
    }
}

/// The checksum of a section's statements that ran, kept up as they run (each statement hashed once).
struct RanSoFar<'t> {
    texts: &'t [&'t str],
    hasher: checksum::StatementsHasher,
    hashed: usize,
}

impl<'t> RanSoFar<'t> {
    fn new(texts: &'t [&'t str]) -> Self {
        RanSoFar { texts, hasher: Default::default(), hashed: 0 }
    }

    /// [`checksum::statements_checksum`] of the first `done` statements (at least as many as asked before: the
    /// units of a section run in order, a resume's first one after the statements it checked).
    fn through(&mut self, done: usize) -> String {
        for text in &self.texts[self.hashed..done] {
            self.hasher.push(text);
        }
        self.hashed = done;
        self.hasher.checksum()
    }
}

/// While a rollback is part-way, the row's rollback checksum holds this prefix and the checksum of the rollback
/// statements that ran ([`checksum::statements_checksum`]); the row is deleted when the rollback completes.
const ROLLBACK_RAN: &str = "sha256-statements-run:";

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
fn with_earlier(e: Error, steps: &[Step]) -> Error {
    match e {
        Error::Statement { mut at, source } => {
            at.earlier = steps.iter().map(|s| s.filename.clone()).collect();
            Error::Statement { at, source }
        }
        other => other,
    }
}

/// Appends a renewal of the SQLite lock row to `record` when the last one is 30 seconds old.
fn with_heartbeat(run: &mut Run<'_>, record: String) -> String {
    if !run.backend.table_lock() || run.last_heartbeat.elapsed() < Duration::from_secs(30) {
        return record;
    }
    run.last_heartbeat = Instant::now();
    format!("{record};\n{}", lock::heartbeat_sql(run.d, &run.namespace, &run.me.owner))
}

fn step(file: &MigrationFile, statements: usize, elapsed_ms: u64, sql: Option<String>, baseline: bool) -> Step {
    Step {
        version: file.name.version.map(|v| v.to_string()),
        filename: file.filename.clone(),
        description: file.name.description(),
        statements,
        elapsed_ms,
        sql,
        baseline,
    }
}

fn build_status(loaded: &Loaded, rows: &[AppliedMigration], dialect: dbwarden_core::Dialect) -> Status {
    let mut entries = Vec::new();
    // As `migrate` decides: against the newest version fully applied.
    let newest =
        rows.iter().filter(|r| r.state == RowState::Applied).filter_map(AppliedMigration::version_number).max();
    for file in &loaded.files {
        let row = rows.iter().find(|r| match (r.version_number(), file.name.version) {
            (Some(v), Some(fv)) => v == fv.0,
            _ => r.filename == file.filename,
        });
        let state = match row {
            None if file.name.version.is_some_and(|v| newest.is_some_and(|n| v.0 < n)) => EntryState::OutOfOrder,
            None => EntryState::Pending,
            Some(r) if r.state == RowState::Partial => EntryState::Partial,
            Some(r) if r.state == RowState::RollingBack => EntryState::RollingBack,
            Some(r) if file.name.kind == MigrationKind::RepeatableOnChange && changed_since_run(r, file) => {
                EntryState::Pending
            }
            Some(r) if file.name.kind == MigrationKind::Versioned && is_edited(r, file) => EntryState::Edited,
            Some(_) => EntryState::Applied,
        };
        // What `migrate` would refuse before running anything: a pending file whose sections cannot be split.
        let problem = match state {
            EntryState::Pending | EntryState::OutOfOrder => unsplittable(file, dialect),
            _ => None,
        };
        entries.push(StatusEntry {
            version: file.name.version.map(|v| v.to_string()),
            filename: file.filename.clone(),
            kind: file.name.kind.as_str().to_string(),
            state,
            applied_at: row.and_then(|r| r.applied_at.clone()),
            problem,
        });
    }
    for row in rows {
        let known = loaded.files.iter().any(|f| match (row.version_number(), f.name.version) {
            (Some(v), Some(fv)) => v == fv.0,
            _ => f.filename == row.filename,
        });
        if !known {
            // A row that stopped part-way stays a problem whether its file is there or not: something ran.
            let state = match row.state {
                RowState::Partial => EntryState::Partial,
                RowState::RollingBack => EntryState::RollingBack,
                RowState::Applied => EntryState::Missing,
            };
            entries.push(StatusEntry {
                version: row.version.clone(),
                filename: row.filename.clone(),
                kind: row.migration_type.clone(),
                state,
                applied_at: row.applied_at.clone(),
                problem: None,
            });
        }
    }
    entries.sort_by_key(|e| {
        (e.version.is_none(), e.version.as_ref().and_then(|v| v.parse::<u64>().ok()), e.filename.clone())
    });
    let pending = entries.iter().filter(|e| matches!(e.state, EntryState::Pending | EntryState::OutOfOrder)).count();
    let applied = entries.iter().filter(|e| matches!(e.state, EntryState::Applied | EntryState::Edited)).count();
    Status { database: loaded.db.clone(), entries, pending, applied, not_embedded: loaded.not_embedded.clone() }
}
