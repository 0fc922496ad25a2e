//! SQLite: the lock is a row in `dbwarden_lock`, written under `BEGIN IMMEDIATE` so that two processes cannot both
//! take it. A row left by a crashed holder is taken over when its process is gone (same host) or its expiry passed.

use std::path::Path;
use std::str::FromStr;

use async_trait::async_trait;
use dbwarden_core::Dialect;
use sqlx::sqlite::{SqliteConnectOptions, SqliteConnection, SqlitePool};
use sqlx::Connection;

use super::{dialect, each_fetched, Backend, EachRow, LockSession};
use crate::error::DbError;
use crate::lock::{self, LockHolder};

/// How long one attempt at the lock waits for another writer; the lock's own timeout bounds the attempts.
const LOCK_ATTEMPT: std::time::Duration = std::time::Duration::from_millis(200);

pub(crate) struct SqliteBackend {
    conn: Option<Conn>,
    /// How to reach the file again to release a lock if this session is dropped while holding it.
    reopen: Reopen,
    held: Option<(String, String)>,
    /// The connection's own busy timeout (ms) while a shorter one is set for attempts at the lock.
    busy_timeout: Option<u64>,
}

enum Conn {
    Own(SqliteConnection),
    Pooled(sqlx::pool::PoolConnection<sqlx::Sqlite>),
}

#[derive(Clone)]
enum Reopen {
    /// Boxed: the options are ~320 bytes, the pool handle 8.
    Options(Box<SqliteConnectOptions>),
    Pool(SqlitePool),
}

/// A database file that does not exist yet (a file, not an in-memory database).
pub(crate) struct MissingFile {
    /// Why it could not be created there either: its folder is missing or is not a folder.
    pub(crate) folder_problem: Option<String>,
    /// The URL's setting that opens it read-only (`mode=ro`, `immutable=true`), so nothing may create it.
    pub(crate) read_only: Option<&'static str>,
}

/// The setting of a SQLite URL that makes the database read-only, as it spells it: `mode=ro` (sticky, as sqlx
/// reads it) or `immutable=true`/`1` (the last `immutable` wins). Read from the URL's query as sqlx parses it, not
/// by a search of the whole text (`immutable=false`, or a file name containing `mode=ro`, is not read-only); not
/// through sqlx's `to_url_lossy`, which panics on some file names.
fn read_only_by(url: &str) -> Option<&'static str> {
    let query = url.split_once('?')?.1;
    let mut mode_ro = false;
    let mut immutable = false;
    for (key, value) in url::form_urlencoded::parse(query.as_bytes()) {
        match (&*key, &*value) {
            ("mode", "ro") => mode_ro = true,
            ("immutable", v) => immutable = v == "true" || v == "1",
            _ => {}
        }
    }
    if mode_ro {
        Some("mode=ro")
    } else if immutable {
        Some("immutable=true")
    } else {
        None
    }
}

/// Whether `options` (parsed from `url`) name a database file that does not exist yet: what the connection error
/// explains, and where `migrate --dry-run` plans on an empty database instead.
pub(crate) fn missing_file(options: &SqliteConnectOptions, url: &str) -> Option<MissingFile> {
    let file = options.get_filename();
    if file.as_os_str().is_empty() || file == Path::new(":memory:") || file.exists() {
        return None;
    }
    let folder = file.parent().filter(|p| !p.as_os_str().is_empty() && !p.is_dir());
    let folder_problem = folder.map(|folder| {
        let what = if folder.exists() { "is not a folder" } else { "does not exist" };
        format!("its folder {} {what}", folder.display())
    });
    Some(MissingFile { folder_problem, read_only: read_only_by(url) })
}

impl SqliteBackend {
    pub(crate) async fn connect_url(url: &str, create: bool) -> Result<SqliteBackend, DbError> {
        let options = SqliteConnectOptions::from_str(url).map_err(DbError::from)?;
        if options.get_filename().as_os_str().is_empty() {
            // SQLite opens a private temporary database for an empty name: a migrate would "succeed" into nothing
            // (typically `sqlite://$UNSET_VARIABLE`).
            return Err(DbError::connect(format!(
                "`{}`: the URL names no database file; give one, such as sqlite://app.db",
                crate::url::mask(url)
            )));
        }
        // Only ever switched on: a URL's own `mode=rwc` stays in force for read-only commands. Off for a read-only
        // URL, `mode=rwc&immutable=true` too (SQLite's read-only and create flags together are undefined: it made an
        // empty file here).
        let options = if read_only_by(url).is_some() {
            options.create_if_missing(false)
        } else if create {
            options.create_if_missing(true)
        } else {
            options
        };
        let conn = SqliteConnection::connect_with(&options).await.map_err(|e| {
            // SQLite's "unable to open database file" names no file: say which, and why when it is simply missing.
            let file = options.get_filename();
            DbError::connect(match missing_file(&options, url) {
                Some(MissingFile { folder_problem: Some(problem), .. }) => format!("{}: {problem}", file.display()),
                Some(MissingFile { read_only: Some(setting), .. }) => {
                    format!(
                        "{}: the database file does not exist, and the URL opens it read-only ({setting}): \
                         create it first, or drop {setting} from the URL",
                        file.display()
                    )
                }
                Some(_) if !create => {
                    format!("{}: the database file does not exist yet (`dbwarden migrate` creates it)", file.display())
                }
                _ => format!("{}: {}", file.display(), DbError::from(e)),
            })
        })?;
        Ok(SqliteBackend {
            conn: Some(Conn::Own(conn)),
            reopen: Reopen::Options(Box::new(options)),
            held: None,
            busy_timeout: None,
        })
    }

    /// A file database gets a dedicated connection from the pool's options, so an open transaction or a dropped
    /// future can never hand a half-used connection back. An in-memory database lives only in the pool's
    /// connections, so one of them is borrowed (a lock there is moot: no other process can see it).
    pub(crate) async fn from_pool(pool: &SqlitePool) -> Result<SqliteBackend, DbError> {
        let options = pool.connect_options();
        let name = options.get_filename().to_string_lossy().into_owned();
        // sqlx names `sqlite::memory:` databases `file:sqlx-in-memory-<n>`.
        if name.starts_with("file:sqlx-in-memory-") || name == ":memory:" || name.contains("mode=memory") {
            let conn = pool.acquire().await.map_err(DbError::from)?;
            return Ok(SqliteBackend {
                conn: Some(Conn::Pooled(conn)),
                reopen: Reopen::Pool(pool.clone()),
                held: None,
                busy_timeout: None,
            });
        }
        let conn = SqliteConnection::connect_with(&options).await.map_err(DbError::from)?;
        Ok(SqliteBackend {
            conn: Some(Conn::Own(conn)),
            reopen: Reopen::Options(Box::new((*options).clone())),
            held: None,
            busy_timeout: None,
        })
    }

    fn conn(&mut self) -> &mut SqliteConnection {
        match self.conn.as_mut().expect("connection is present until close") {
            Conn::Own(c) => c,
            Conn::Pooled(c) => c,
        }
    }

    async fn take_lock_row(&mut self, namespace: &str, me: &LockHolder) -> Result<bool, DbError> {
        let d = dialect::of(Dialect::Sqlite);
        self.execute(&lock::create_table_sql(d)).await?;
        let rows = self.query(&lock::select_sql(d, namespace)).await?;
        if let Some(current) = rows.first().and_then(LockHolder::from_row) {
            if !current.is_stale(crate::lock::now_ms()) {
                return Ok(false);
            }
            tracing::warn!(holder = %current.owner, host = %current.host, pid = current.pid, "taking over a stale migration lock");
        }
        self.execute(&lock::write_sql(d, namespace, me)).await?;
        Ok(true)
    }
}

#[async_trait]
impl Backend for SqliteBackend {
    fn dialect(&self) -> Dialect {
        Dialect::Sqlite
    }

    fn table_lock(&self) -> bool {
        true
    }

    async fn execute(&mut self, sql: &str) -> Result<(), DbError> {
        sqlx::Executor::execute(self.conn(), sqlx::raw_sql(sql)).await.map(drop).map_err(DbError::from)
    }

    async fn execute_counted(&mut self, sql: &str) -> Result<(), (usize, DbError)> {
        super::count_completed(sqlx::Executor::execute_many(self.conn(), sqlx::raw_sql(sql))).await
    }

    async fn query_each(&mut self, sql: &str, each: &mut EachRow<'_>) -> Result<(), DbError> {
        // sqlx runs SQLite on a worker thread that hands rows over a bounded channel: taking them all at once lets
        // it run ahead, where reading them one by one wakes it for each (a 300-table catalog read: 45 -> 35 ms).
        let rows = sqlx::Executor::fetch_all(self.conn(), sqlx::raw_sql(sql)).await?;
        each_fetched(rows, each)
    }

    async fn try_lock(&mut self, namespace: &str, me: &LockHolder, then: &str) -> Result<bool, DbError> {
        // BEGIN IMMEDIATE takes SQLite's write lock: two processes cannot both see "free" and both insert. While
        // another writer is at work it waits the busy timeout (sqlx's 5 s): short here, so a lock timeout of 1 s
        // means about 1 s (reading the holder's row to name it, too); the connection's own wait (its options'
        // busy_timeout) is back once the lock is taken, for the work under it.
        if self.busy_timeout.is_none() {
            let rows = self.query("PRAGMA busy_timeout").await?;
            let ms = rows.first().and_then(|r| r.first().cloned().flatten()).and_then(|v| v.parse().ok());
            self.busy_timeout = Some(ms.unwrap_or(5000));
            self.execute(&format!("PRAGMA busy_timeout = {}", LOCK_ATTEMPT.as_millis())).await?;
        }
        match self.execute("BEGIN IMMEDIATE").await {
            Ok(()) => {
                let ms = self.busy_timeout.take().unwrap_or(5000);
                if let Err(e) = self.execute(&format!("PRAGMA busy_timeout = {ms}")).await {
                    let _ = self.execute("ROLLBACK").await;
                    return Err(e);
                }
            }
            Err(e) if e.is_busy() => return Ok(false),
            Err(e) => return Err(e),
        }
        let mut taken = self.take_lock_row(namespace, me).await;
        if matches!(taken, Ok(true)) && !then.is_empty() {
            // One commit (a few fsyncs) for the row and what comes with it.
            if let Err(e) = self.execute(then).await {
                taken = Err(e);
            }
        }
        let end = if matches!(taken, Ok(true)) { "COMMIT" } else { "ROLLBACK" };
        match (taken, self.execute(end).await) {
            (Ok(true), Ok(())) => {
                self.held = Some((namespace.to_string(), me.owner.clone()));
                Ok(true)
            }
            (Ok(_), Err(e)) if e.is_busy() => Ok(false),
            (Ok(_), Err(e)) => Err(e),
            (Ok(false), _) => Ok(false),
            (Err(e), _) if e.is_busy() => Ok(false),
            (Err(e), _) => Err(e),
        }
    }

    async fn unlock(&mut self, namespace: &str, first: &str) -> Result<(), DbError> {
        let owner = self.held.take().map(|(_, owner)| owner).unwrap_or_default();
        let d = dialect::of(Dialect::Sqlite);
        let delete = lock::delete_sql(d, namespace, Some(&owner));
        if first.is_empty() {
            return self.execute(&delete).await;
        }
        // One commit for both, begun as a migration's is (`first` may start by reading: see `SqlDialect::begin`).
        match self.execute(&format!("{};\n{first};\n{delete};\nCOMMIT", d.begin())).await {
            Ok(()) => Ok(()),
            Err(e) => {
                let _ = self.execute("ROLLBACK").await;
                self.execute(&delete).await?;
                Err(e)
            }
        }
    }

    async fn lock_session(&mut self, _namespace: &str) -> Result<Option<LockSession>, DbError> {
        Ok(Some(LockSession::Table))
    }

    async fn kill_session(&mut self, _session: &str) -> Result<bool, DbError> {
        Ok(false)
    }

    async fn close(mut self: Box<Self>) {
        match self.conn.take() {
            Some(Conn::Own(conn)) => {
                let _ = conn.close().await;
            }
            Some(Conn::Pooled(conn)) => drop(conn),
            None => {}
        }
    }
}

impl Drop for SqliteBackend {
    /// Released on every path: if this session is dropped while holding the lock (a panic, a cancelled future),
    /// the row is deleted from a fresh connection on the runtime.
    fn drop(&mut self) {
        let Some((namespace, owner)) = self.held.take() else {
            return;
        };
        let Ok(handle) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let reopen = self.reopen.clone();
        drop(self.conn.take());
        handle.spawn(async move {
            let sql = lock::delete_sql(dialect::of(Dialect::Sqlite), &namespace, Some(&owner));
            // The dropped connection's statement runs on to its end on sqlx's worker thread, holding the file's
            // write lock: until then the DELETE is busy, so it is tried again (up to the row's own expiry, after
            // which anyone takes the lock over anyway).
            let deadline = std::time::Instant::now() + lock::ROW_TTL;
            for attempt in 0u32.. {
                let conn = match &reopen {
                    Reopen::Options(options) => SqliteConnection::connect_with(options).await,
                    Reopen::Pool(pool) => pool.acquire().await.map(|c| c.detach()),
                };
                let busy = match conn {
                    Ok(mut conn) => {
                        let result = sqlx::Executor::execute(&mut conn, sqlx::raw_sql(&sql)).await;
                        let _ = conn.close().await;
                        result.err().is_some_and(|e| DbError::from(e).is_busy())
                    }
                    Err(e) => DbError::from(e).is_busy(),
                };
                if !busy || std::time::Instant::now() >= deadline {
                    break;
                }
                tokio::time::sleep(super::backoff(attempt)).await;
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::read_only_by;

    #[test]
    fn read_only_urls_are_told_by_their_query() {
        assert_eq!(read_only_by("sqlite://app.db?mode=ro"), Some("mode=ro"));
        assert_eq!(read_only_by("sqlite://app.db?mode=ro&mode=rwc"), Some("mode=ro"), "sqlx keeps read_only");
        assert_eq!(read_only_by("sqlite://app.db?immutable=1"), Some("immutable=true"));
        assert_eq!(read_only_by("sqlite://app.db?mode=rwc&immutable=true"), Some("immutable=true"));
        assert_eq!(read_only_by("sqlite://app.db?immutable=true&immutable=false"), None, "the last one wins");
        assert_eq!(read_only_by("sqlite://app.db?immutable=false"), None);
        assert_eq!(read_only_by("sqlite://mode=ro.db"), None, "a file name is not a setting");
        assert_eq!(read_only_by("sqlite::memory:"), None);
        assert_eq!(read_only_by("sqlite://a:b.db?mode=rwc"), None);
    }
}
