//! Database drivers. Each supplies a few primitives (run SQL text, read rows as text, take and release a lock);
//! everything else (history, planning, the lock loop) is written once above them, as in refinery-core.

pub(crate) mod dialect;
mod mysql;
mod postgres;
mod sqlite;

pub(crate) use sqlite::missing_file;

use std::time::Duration;

use async_trait::async_trait;
use dbwarden_core::Dialect;
pub use dialect::SqlDialect;

use crate::error::DbError;

/// A row read back as text, one cell per column (`None` for NULL).
pub type TextRow = Vec<Option<String>>;

/// What [`Backend::query_each`] calls for each row: the row's cells as text borrowed from the driver's buffer.
pub type EachRow<'f> = dyn FnMut(&[Option<&str>]) -> Result<(), DbError> + Send + 'f;

/// One dedicated database session (never a pooled connection that could go back to a pool with a lock or an open
/// transaction on it).
#[async_trait]
pub trait Backend: Send {
    /// The SQL dialect of this session.
    fn dialect(&self) -> Dialect;
    /// Runs SQL text that may hold several statements, in one round trip where the server allows.
    async fn execute(&mut self, sql: &str) -> Result<(), DbError>;
    /// Runs SQL text of several statements in one round trip, counting the statements that completed: on failure,
    /// `Err((completed, error))`, so the caller knows exactly which statement failed.
    async fn execute_counted(&mut self, sql: &str) -> Result<(), (usize, DbError)>;
    /// Runs a query and hands each row to `each` as it arrives, every cell as text borrowed from the driver (no copy
    /// per cell: catalog reads look at thousands of cells and keep few). An error from `each` stops the query and
    /// is returned.
    async fn query_each(&mut self, sql: &str, each: &mut EachRow<'_>) -> Result<(), DbError>;
    /// Runs a query and returns its rows as text.
    async fn query(&mut self, sql: &str) -> Result<Vec<TextRow>, DbError> {
        let mut rows = Vec::new();
        self.query_each(sql, &mut keep_into(&mut rows)).await?;
        Ok(rows)
    }
    /// Tries once to take the lock for `namespace`; `Ok(false)` when someone else holds it. A table lock runs
    /// `then` (SQL, may be empty) in the transaction that writes its row, so both commit at once; if `then` fails the
    /// lock is not taken and the error returned. A server lock ignores it ([`crate::lock`] sends it with the holder
    /// row, right after).
    async fn try_lock(&mut self, namespace: &str, me: &crate::lock::LockHolder, then: &str) -> Result<bool, DbError>;
    /// Whether the lock is the `dbwarden_lock` row itself (SQLite) rather than a server lock.
    fn table_lock(&self) -> bool {
        false
    }
    /// Releases the lock taken by [`Backend::try_lock`], running `first` (SQL, may be empty) just before it: in the
    /// transaction that deletes a table lock's row, in the same round trip as a server lock's release. If `first`
    /// fails, the lock is released all the same and that error returned.
    async fn unlock(&mut self, namespace: &str, first: &str) -> Result<(), DbError>;
    /// The server session holding the lock on `namespace` (PostgreSQL backend pid, MySQL connection id), if the
    /// server tracks one. `Ok(None)` when the lock is free.
    async fn lock_session(&mut self, namespace: &str) -> Result<Option<LockSession>, DbError>;
    /// Ends another server session (`unlock --force`). Returns whether it was ended.
    async fn kill_session(&mut self, session: &str) -> Result<bool, DbError>;
    /// Closes the session cleanly.
    async fn close(self: Box<Self>);
}

/// What the server says about a lock holder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LockSession {
    /// The lock lives in the server (advisory lock, GET_LOCK) and this session holds it.
    Server(String),
    /// The lock lives in the lock table only (SQLite).
    Table,
}

/// How to reach a database: a URL, plus whether a missing SQLite file may be created.
#[derive(Debug, Clone)]
pub struct ConnectSpec {
    /// The database URL (`postgres://…`, `mysql://…`, `sqlite://…`).
    pub url: String,
    /// Create the SQLite file when it does not exist (commands that write).
    pub create: bool,
}

/// Opens a dedicated session from a URL.
pub async fn connect(spec: &ConnectSpec) -> Result<Box<dyn Backend>, DbError> {
    let dialect = crate::url::dialect_of(&spec.url).map_err(|e| DbError::connect(e.to_string()))?;
    match dialect {
        Dialect::Postgres => postgres::PgBackend::connect_url(&spec.url).await.map(boxed),
        Dialect::MySql => mysql::MySqlBackend::connect_url(&spec.url).await.map(boxed),
        Dialect::Sqlite => sqlite::SqliteBackend::connect_url(&spec.url, spec.create).await.map(boxed),
    }
}

/// [`connect`] for a database to migrate or inspect: a MySQL URL must name its database (without one, `status`
/// read an empty history from nowhere and `migrate` failed at its first table). Server-level sessions, such as
/// `verify`'s to create its scratch database, use [`connect`].
async fn connect_target(spec: &ConnectSpec) -> Result<Box<dyn Backend>, DbError> {
    if crate::url::dialect_of(&spec.url).ok() == Some(Dialect::MySql) {
        let options = <sqlx::mysql::MySqlConnectOptions as std::str::FromStr>::from_str(&spec.url)?;
        if options.get_database().is_none_or(str::is_empty) {
            return Err(DbError::connect(format!(
                "`{}`: the URL names no database; add one, such as mysql://user@host:3306/app",
                crate::url::mask(&spec.url)
            )));
        }
    }
    connect(spec).await
}

fn boxed<B: Backend + 'static>(b: B) -> Box<dyn Backend> {
    Box::new(b)
}

/// A pool (or URL) dbwarden can migrate: `&PgPool`, `&MySqlPool`, `&SqlitePool`, `&AnyPool`, or a URL `&str`.
///
/// Migrations run on a dedicated connection: one of the pool's, detached from it (PostgreSQL, MySQL), or one opened
/// with the pool's options (SQLite files), so a lock or a transaction can never leak back into the pool. (An
/// in-memory SQLite pool is the exception: its database lives in its connections, so one of them is borrowed.)
#[async_trait]
pub trait Target: Send + Sync {
    #[doc(hidden)]
    async fn open(&self) -> Result<Box<dyn Backend>, DbError>;
    /// A read-only query through the pool itself, for the fast "nothing to do" check; `None` for targets with no
    /// pool (a URL), which always take the locked path. Read-only queries leave no lock or transaction behind, so
    /// a pooled connection is safe here.
    #[doc(hidden)]
    fn pool_dialect(&self) -> Option<Dialect> {
        None
    }
    #[doc(hidden)]
    async fn peek(&self, _sql: &str) -> Result<Vec<TextRow>, DbError> {
        Err(DbError::connect("no pool to peek through".into()))
    }
}

/// A connection of `pool` (waiting as long as the pool's acquire timeout allows, as sqlx's own migrator does), taken
/// out of it for good: a lock or a transaction can never return to the pool, which opens a replacement when it needs
/// one. Migrations run in the session the application configured (`after_connect`: a search_path, say), and no new
/// connection is paid for.
async fn detached<DB: sqlx::Database>(pool: &sqlx::Pool<DB>) -> Result<DB::Connection, DbError> {
    Ok(pool.acquire().await.map_err(DbError::from)?.detach())
}

#[async_trait]
impl Target for sqlx::PgPool {
    async fn open(&self) -> Result<Box<dyn Backend>, DbError> {
        Ok(boxed(postgres::PgBackend::from_conn(detached(self).await?).await))
    }

    fn pool_dialect(&self) -> Option<Dialect> {
        Some(Dialect::Postgres)
    }

    async fn peek(&self, sql: &str) -> Result<Vec<TextRow>, DbError> {
        text_rows(sqlx::Executor::fetch(self, sqlx::raw_sql(sql))).await
    }
}

#[async_trait]
impl Target for sqlx::MySqlPool {
    async fn open(&self) -> Result<Box<dyn Backend>, DbError> {
        mysql::MySqlBackend::from_conn(detached(self).await?).await.map(boxed)
    }

    fn pool_dialect(&self) -> Option<Dialect> {
        Some(Dialect::MySql)
    }

    async fn peek(&self, sql: &str) -> Result<Vec<TextRow>, DbError> {
        text_rows(sqlx::Executor::fetch(self, sqlx::raw_sql(sql))).await
    }
}

#[async_trait]
impl Target for sqlx::SqlitePool {
    async fn open(&self) -> Result<Box<dyn Backend>, DbError> {
        sqlite::SqliteBackend::from_pool(self).await.map(boxed)
    }

    fn pool_dialect(&self) -> Option<Dialect> {
        Some(Dialect::Sqlite)
    }

    async fn peek(&self, sql: &str) -> Result<Vec<TextRow>, DbError> {
        text_rows(sqlx::Executor::fetch(self, sqlx::raw_sql(sql))).await
    }
}

#[async_trait]
impl Target for sqlx::AnyPool {
    async fn open(&self) -> Result<Box<dyn Backend>, DbError> {
        let url = self.connect_options().database_url.to_string();
        connect_target(&ConnectSpec { url, create: true }).await
    }
}

#[async_trait]
impl Target for str {
    async fn open(&self) -> Result<Box<dyn Backend>, DbError> {
        connect_target(&ConnectSpec { url: self.to_string(), create: true }).await
    }
}

#[async_trait]
impl Target for String {
    async fn open(&self) -> Result<Box<dyn Backend>, DbError> {
        self.as_str().open().await
    }
}

#[async_trait]
impl Target for ConnectSpec {
    async fn open(&self) -> Result<Box<dyn Backend>, DbError> {
        connect_target(self).await
    }
}

#[async_trait]
impl<T: Target + ?Sized> Target for &T {
    async fn open(&self) -> Result<Box<dyn Backend>, DbError> {
        (**self).open().await
    }
    fn pool_dialect(&self) -> Option<Dialect> {
        (**self).pool_dialect()
    }
    async fn peek(&self, sql: &str) -> Result<Vec<TextRow>, DbError> {
        (**self).peek(sql).await
    }
}

/// Drains sqlx's per-statement result stream, counting completed statements.
async fn count_completed<T>(
    mut stream: futures_util::stream::BoxStream<'_, Result<T, sqlx::Error>>,
) -> Result<(), (usize, DbError)> {
    use futures_util::StreamExt;
    let mut done = 0;
    while let Some(result) = stream.next().await {
        match result {
            Ok(_) => done += 1,
            Err(e) => return Err((done, DbError::from(e))),
        }
    }
    Ok(())
}

/// Hands every row of a `raw_sql` result to `each` as text cells, as the rows stream in.
///
/// `raw_sql` runs PostgreSQL's simple query protocol and MySQL's text protocol, where every value arrives as its
/// text, and SQLite converts any value to text on request; so sqlx's type check is skipped (`try_get_unchecked`)
/// and a number, a boolean or a `name` reads as text without a `CAST` in the query (casts cost the server time on
/// catalog queries of thousands of rows).
async fn each_row<R: sqlx::Row>(
    mut stream: futures_util::stream::BoxStream<'_, Result<R, sqlx::Error>>,
    each: &mut EachRow<'_>,
) -> Result<(), DbError>
where
    usize: sqlx::ColumnIndex<R>,
    for<'r> Option<&'r str>: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
{
    use futures_util::StreamExt;
    while let Some(row) = stream.next().await {
        if let Err(e) = lend(&row?, each) {
            // Read the rest: left unread, what the server still sends for this query (an error included) would
            // surface on the session's next query.
            while stream.next().await.is_some() {}
            return Err(e);
        }
    }
    Ok(())
}

/// [`each_row`] for rows already fetched.
fn each_fetched<R: sqlx::Row>(rows: Vec<R>, each: &mut EachRow<'_>) -> Result<(), DbError>
where
    usize: sqlx::ColumnIndex<R>,
    for<'r> Option<&'r str>: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
{
    for row in &rows {
        lend(row, each)?;
    }
    Ok(())
}

/// Lends `row`'s cells to `each`, from the stack when the row is narrow (catalog rows are: no allocation per row).
fn lend<R: sqlx::Row>(row: &R, each: &mut EachRow<'_>) -> Result<(), DbError>
where
    usize: sqlx::ColumnIndex<R>,
    for<'r> Option<&'r str>: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
{
    const NARROW: usize = 12;
    let n = row.len();
    if n > NARROW {
        return each(&cells(row)?);
    }
    let mut cells: [Option<&str>; NARROW] = [None; NARROW];
    for (i, cell) in cells[..n].iter_mut().enumerate() {
        *cell = row.try_get_unchecked::<Option<&str>, usize>(i)?;
    }
    each(&cells[..n])
}

/// A row's cells as text (see [`each_row`] for why unchecked).
fn cells<R: sqlx::Row>(row: &R) -> Result<Vec<Option<&str>>, sqlx::Error>
where
    usize: sqlx::ColumnIndex<R>,
    for<'r> Option<&'r str>: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
{
    (0..row.len()).map(|i| row.try_get_unchecked::<Option<&str>, usize>(i)).collect()
}

/// Every row of a `raw_sql` result as owned text (see [`each_row`]).
async fn text_rows<R: sqlx::Row>(
    stream: futures_util::stream::BoxStream<'_, Result<R, sqlx::Error>>,
) -> Result<Vec<TextRow>, DbError>
where
    usize: sqlx::ColumnIndex<R>,
    for<'r> Option<&'r str>: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
{
    let mut rows = Vec::new();
    each_row(stream, &mut keep_into(&mut rows)).await?;
    Ok(rows)
}

/// A reader that keeps every row it is lent, copied into `rows`.
fn keep_into(rows: &mut Vec<TextRow>) -> impl FnMut(&[Option<&str>]) -> Result<(), DbError> + Send + '_ {
    move |cells| {
        rows.push(cells.iter().map(|c| c.map(str::to_string)).collect());
        Ok(())
    }
}

/// How long to wait between two tries of a lock: short at first, then up to half a second.
pub(crate) fn backoff(attempt: u32) -> Duration {
    Duration::from_millis((20u64 << attempt.min(5)).min(500))
}

/// A server lock's release with `first` in the same round trip; if `first` fails, the release alone, then the
/// error (a failed statement stops the batch before the release).
async fn unlock_after(backend: &mut dyn Backend, first: &str, unlock: &str) -> Result<(), DbError> {
    if first.is_empty() {
        return backend.execute(unlock).await;
    }
    match backend.execute(&format!("{first};\n{unlock}")).await {
        Ok(()) => Ok(()),
        Err(e) => {
            backend.execute(unlock).await?;
            Err(e)
        }
    }
}
