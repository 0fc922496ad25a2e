//! The migrator: plans what to run from the files and the history table, then applies or reverts migrations behind
//! the lock, recording each with its checksums. Written once over the [`Backend`] primitives.

mod apply;
mod exec;
mod plan;
mod report;
mod revert;

pub use report::{EntryState, Report, Status, StatusEntry, Step};

use apply::{fingerprint_of, write_head_if_complete};
use report::build_status;

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use crate::backend::{dialect, Backend, SqlDialect, Target, TextRow};
use crate::error::Error;
use crate::head;
use crate::history::{AppliedMigration, History, DEFAULT_TABLE};
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

    /// The history table name (default `_dbwarden_migrations`). It is one name, always quoted: a dot is part of
    /// it, not a schema (`"s.t"` is a table named `s.t` in the session's schema; on PostgreSQL, choose the schema
    /// with the URL's `search_path`). The config file refuses a dot, since that is nearly always the mistake.
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
                    release(run, result).await
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
                release(run, result).await
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
                release(run, result).await
            }
            Err(e) => Err(e),
        };
        backend.close().await;
        result
    }

    /// Pending and applied migrations, edited and missing files. Read-only: no lock, no table created.
    pub async fn status(&self, target: &(impl Target + ?Sized)) -> Result<Status, Error> {
        let loaded = self.source.load()?;
        let (rows, dialect, invalid_indexes) = self.history_of(target, true).await?;
        Ok(Status { invalid_indexes, ..build_status(&loaded, &rows, dialect) })
    }

    /// The rows of the history table, oldest version first. Read-only: through the pool when there is one (two
    /// queries; a probe calling it often costs the pool no connection), else on a connection of its own.
    pub async fn history(&self, target: &(impl Target + ?Sized)) -> Result<Vec<AppliedMigration>, Error> {
        Ok(self.history_of(target, false).await?.0)
    }

    /// [`Migrator::history`], and the server's dialect (which `status` splits pending files for).
    async fn history_of(
        &self,
        target: &(impl Target + ?Sized),
        invalid_indexes: bool,
    ) -> Result<(Vec<AppliedMigration>, dbwarden_core::Dialect, Vec<String>), Error> {
        let read = || Error::db("reading the history table");
        let invalid_sql = |dialect| invalid_indexes.then(|| dialect::of(dialect).invalid_indexes_query()).flatten();
        let names = |rows: Vec<TextRow>| rows.into_iter().filter_map(|r| r.into_iter().next().flatten()).collect();
        let invalid = || Error::db("reading the invalid indexes");
        if let Some(dialect) = target.pool_dialect() {
            let history = History { d: dialect::of(dialect), table: self.table.clone(), prepared: false };
            let columns = target.peek(&history.d.columns_query(&self.table)).await.map_err(read())?;
            let existing = History::column_names(columns);
            let has = |name: &str| existing.iter().any(|c| c == name);
            let rows = if existing.is_empty() {
                Vec::new()
            } else {
                History::rows(target.peek(&history.select_sql(has)).await.map_err(read())?, has)
            };
            let indexes = match invalid_sql(dialect) {
                Some(sql) => names(target.peek(sql).await.map_err(invalid())?),
                None => Vec::new(),
            };
            return Ok((rows, dialect, indexes));
        }
        let mut backend = target.open().await.map_err(Error::db("connecting"))?;
        let dialect = backend.dialect();
        let history = History { d: dialect::of(dialect), table: self.table.clone(), prepared: false };
        let read_all = async {
            let rows = history.read(backend.as_mut()).await.map_err(read())?;
            let indexes = match invalid_sql(dialect) {
                Some(sql) => names(backend.query(sql).await.map_err(invalid())?),
                None => Vec::new(),
            };
            Ok((rows, dialect, indexes))
        };
        let result = read_all.await;
        backend.close().await;
        result
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
            let _ = unlock(run, false).await;
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
            search_path: None,
        })
    }
}

/// Writes the head record if the run left one to write, and releases the lock, in one commit on SQLite (one round
/// trip on the servers). Called on every path out of a locked body, errors included; a panic or a dropped future
/// ends the dedicated session instead, which releases server locks (and the SQLite backend's drop releases its row).
async fn unlock(mut run: Run<'_>, failed: bool) -> Result<(), Error> {
    if failed {
        // A failure may leave the session inside a transaction a no-transaction file opened itself (`BEGIN`, MySQL's
        // `SET autocommit = 0`), or holding table locks (MySQL's `LOCK TABLES` of a mysqldump file): end them, or
        // the release would run inside them (SQLite refuses a nested BEGIN; MySQL refuses tables not locked), and
        // the lock would stay held by a live process until the lock timeout. Nothing to end is a harmless error.
        for sql in run.d.end_session_state() {
            let _ = run.backend.execute(sql).await;
        }
    }
    // The session's own value again, so that the release finds dbwarden's tables.
    run.restore_search_path().await;
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

/// Releases the lock after a locked body, which ends with `result` (see [`unlock`] and [`after_unlock`]).
async fn release<T>(run: Run<'_>, result: Result<T, Error>) -> Result<T, Error> {
    let failed = result.is_err();
    after_unlock(result, unlock(run, failed).await)
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
    /// The session's `search_path` before a migration of this run changed it (PostgreSQL: `pg_dump` output empties
    /// it), set again around every bookkeeping statement after that ([`Run::booked`]).
    search_path: Option<String>,
}

impl Run<'_> {
    /// Before statements that change the session's `search_path`: keeps the value it had, once.
    async fn keep_search_path<'s>(&mut self, mut statements: impl Iterator<Item = &'s str>) {
        if self.search_path.is_some() || !statements.any(|s| self.d.changes_search_path(s)) {
            return;
        }
        match self.backend.query("SELECT CAST(pg_catalog.current_setting('search_path') AS TEXT)").await {
            Ok(rows) => self.search_path = rows.into_iter().next().and_then(|r| r.into_iter().next().flatten()),
            Err(e) => tracing::debug!(error = %e, "reading the search_path"),
        }
    }

    /// `record` (bookkeeping SQL), run where dbwarden's tables are found: after a migration changed the session's
    /// `search_path`, the value it had before is set for the record, and the migration's own value again after it
    /// (the record may run inside a transaction the migration opened itself, whose later statements must still
    /// see the migration's value).
    fn booked<'r>(&self, record: &'r str) -> std::borrow::Cow<'r, str> {
        match &self.search_path {
            Some(path) if !record.is_empty() => std::borrow::Cow::Owned(format!(
                "SELECT pg_catalog.set_config('dbwarden.search_path', pg_catalog.current_setting('search_path'), true);\n\
                 SELECT pg_catalog.set_config('search_path', {}, true);\n{record};\n\
                 SELECT pg_catalog.set_config('search_path', pg_catalog.current_setting('dbwarden.search_path'), true)",
                self.d.literal(path)
            )),
            _ => std::borrow::Cow::Borrowed(record),
        }
    }

    /// Sets the session's `search_path` back to what it was before a migration of this run changed it (the run's
    /// migrations are over); the backend, for a query after it.
    async fn restore_search_path(&mut self) -> &mut dyn Backend {
        if let Some(path) = self.search_path.take() {
            let sql = format!("SELECT pg_catalog.set_config('search_path', {}, false)", self.d.literal(&path));
            if let Err(e) = self.backend.execute(&sql).await {
                tracing::debug!(error = %e, "setting the search_path back");
            }
        }
        self.backend
    }

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

/// What the read-only check found.
enum Peek {
    /// Everything applied; `head_writable`: the history is exactly the files' set, but its head record is missing.
    NothingToDo { head_writable: bool },
    /// Work to do, or no way to tell without the lock.
    Unknown,
}
