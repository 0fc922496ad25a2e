//! The migration lock: one holder per database and history table, across processes and hosts.
//!
//! Each backend supplies `try_lock`/`unlock` (PostgreSQL advisory lock, MySQL `GET_LOCK`, SQLite a row taken under
//! `BEGIN IMMEDIATE`); the wait loop, the holder record in `dbwarden_lock` and the timeout message live here once.
//! Server locks die with their session, so a crashed holder never blocks; a SQLite row is taken over when its
//! process is gone or its expiry passed.

use std::time::{Duration, Instant};

use serde::Serialize;

use crate::backend::{Backend, LockSession, SqlDialect, TextRow};
use crate::error::{DbError, Error, LockHolderDescription};

/// The table that records who holds the lock (SPEC §4).
pub const LOCK_TABLE: &str = "dbwarden_lock";

/// How long a SQLite lock row stays valid without a heartbeat; renewed after every migration.
pub const ROW_TTL: Duration = Duration::from_secs(300);

/// Who holds (or held) a lock.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LockHolder {
    /// A token unique to one migrator run: `host:pid:pidns:incarnation-nonce` (`pidns`: the process's PID namespace
    /// on Linux, `-` elsewhere; `incarnation`: the process's start). Older rows hold `host:pid:nonce`.
    pub owner: String,
    /// The holder's host name.
    pub host: String,
    /// The holder's process id.
    pub pid: u32,
    /// `held`.
    pub state: String,
    /// When it was taken, in Unix milliseconds.
    pub acquired_at: i64,
    /// Last sign of life, in Unix milliseconds.
    pub heartbeat: i64,
    /// After this instant (Unix milliseconds) a table lock counts as abandoned.
    pub expiry: i64,
}

impl LockHolder {
    /// This process, taking a lock now.
    pub fn me() -> LockHolder {
        let host = gethostname::gethostname().to_string_lossy().into_owned();
        let pid = std::process::id();
        let now = since_epoch();
        let nonce = now.subsec_nanos() ^ (pid.rotate_left(16));
        let ms = now.as_millis() as i64;
        LockHolder {
            owner: format!("{host}:{pid}:{}:{}-{nonce:08x}", pid_namespace(), incarnation()),
            host,
            pid,
            state: "held".into(),
            acquired_at: ms,
            heartbeat: ms,
            expiry: ms + ROW_TTL.as_millis() as i64,
        }
    }

    /// `acquired_at` as an RFC 3339 time.
    pub fn since(&self) -> String {
        rfc3339(self.acquired_at)
    }

    pub(crate) fn from_row(row: &TextRow) -> Option<LockHolder> {
        let text = |i: usize| row.get(i).cloned().flatten().unwrap_or_default();
        let num = |i: usize| text(i).parse::<i64>().unwrap_or_default();
        Some(LockHolder {
            owner: row.first()?.clone()?,
            host: text(1),
            pid: num(2) as u32,
            state: text(3),
            acquired_at: num(4),
            heartbeat: num(5),
            expiry: num(6),
        })
    }

    /// Whether a table lock row was abandoned: its process is known to be gone, or its expiry passed.
    pub fn is_stale(&self, now_ms: i64) -> bool {
        self.expiry < now_ms || self.liveness() == Some(false)
    }

    /// Whether the holder's process is known to run. (Another host's, or another PID namespace's, cannot be checked
    /// from here.)
    pub fn known_running(&self) -> bool {
        self.liveness() == Some(true)
    }

    /// Whether the holder's process runs, where this process can tell: on this host and in this PID namespace
    /// (containers sharing a host name, as with Docker's host network, see other processes under the same pids).
    /// Our own pid is alive, but it is the holder only if this very process wrote the row: one restarted with the
    /// same pid in the same namespace finds its previous incarnation's row, which is gone. (PID 1 of a restarted
    /// container is in a new namespace: its old row cannot be told from a live neighbour's, so it waits for the
    /// row's expiry, or `unlock --force`.)
    fn liveness(&self) -> Option<bool> {
        if !self.on_this_host() {
            return None;
        }
        let parts: Vec<&str> = self.owner.split(':').collect();
        // Rows written before the namespace was recorded: as before, this namespace's view of the pid.
        let (namespace, incarnation_of_row) = match parts.as_slice() {
            [_, _, ns, rest] => (Some(*ns), rest.split('-').next()),
            _ => (None, None),
        };
        let same_namespace = namespace.is_none_or(|ns| ns == pid_namespace() && ns != "-");
        if !same_namespace {
            return None;
        }
        if self.pid == std::process::id() {
            // (An older row with our pid could be a neighbour's: not provably gone.)
            return incarnation_of_row.map(|i| i == incarnation());
        }
        Some(process_alive(self.pid))
    }

    pub(crate) fn on_this_host(&self) -> bool {
        // Host names compare without case (DNS).
        self.host.eq_ignore_ascii_case(&gethostname::gethostname().to_string_lossy())
    }
}

/// Now, in Unix milliseconds (the unit of every time in the lock and head tables).
pub(crate) fn now_ms() -> i64 {
    since_epoch().as_millis() as i64
}

/// The time since the Unix epoch (zero on a clock set before it).
fn since_epoch() -> std::time::Duration {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default()
}

/// Unix milliseconds as an RFC 3339 UTC time to the second (`2026-11-23T12:00:00Z`). The proleptic Gregorian
/// calendar from days since the epoch (H. Hinnant's `civil_from_days`), so the runtime needs no date crate.
pub(crate) fn rfc3339(ms: i64) -> String {
    let (days, secs) = (ms.div_euclid(86_400_000), ms.rem_euclid(86_400_000) / 1000);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097); // day of era, [0, 146096]
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z", secs / 3600, secs / 60 % 60, secs % 60)
}

/// This process among all that had its pid: its start in nanoseconds (hex), taken once.
fn incarnation() -> &'static str {
    static INCARNATION: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    INCARNATION.get_or_init(|| format!("{:016x}", since_epoch().as_nanos() as u64))
}

/// This process's PID namespace (Linux: the inode of `/proc/self/ns/pid`), or `-` where it cannot be read.
fn pid_namespace() -> &'static str {
    static NAMESPACE: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    NAMESPACE.get_or_init(|| {
        let link = std::fs::read_link("/proc/self/ns/pid").ok();
        let link = link.as_ref().and_then(|l| l.to_str()).unwrap_or_default();
        // `pid:[4026531836]`
        let inode = link.strip_prefix("pid:[").and_then(|l| l.strip_suffix(']')).unwrap_or_default();
        if inode.is_empty() || !inode.bytes().all(|b| b.is_ascii_digit()) {
            "-".into()
        } else {
            inode.to_string()
        }
    })
}

fn process_alive(pid: u32) -> bool {
    if cfg!(target_os = "linux") {
        std::path::Path::new(&format!("/proc/{pid}")).exists()
    } else {
        true // No cheap portable check: rely on the expiry.
    }
}

pub(crate) fn create_table_sql(d: &dyn SqlDialect) -> String {
    format!(
        "CREATE TABLE IF NOT EXISTS {} (namespace VARCHAR(255) NOT NULL PRIMARY KEY, owner VARCHAR(255) NOT NULL, \
         host VARCHAR(255) NOT NULL, pid BIGINT NOT NULL, state VARCHAR(20) NOT NULL, acquired_at BIGINT NOT NULL, \
         heartbeat BIGINT NOT NULL, expiry BIGINT NOT NULL)",
        d.quote_ident(LOCK_TABLE)
    )
}

pub(crate) fn select_sql(d: &dyn SqlDialect, namespace: &str) -> String {
    let cols = ["owner", "host", "pid", "state", "acquired_at", "heartbeat", "expiry"]
        .map(|c| d.text(&d.quote_ident(c)))
        .join(", ");
    format!("SELECT {cols} FROM {} WHERE namespace = {}", d.quote_ident(LOCK_TABLE), d.literal(namespace))
}

pub(crate) fn write_sql(d: &dyn SqlDialect, namespace: &str, h: &LockHolder) -> String {
    format!(
        "{};\nINSERT INTO {} (namespace, owner, host, pid, state, acquired_at, heartbeat, expiry) VALUES ({}, {}, {}, {}, {}, {}, {}, {})",
        delete_sql(d, namespace, None),
        d.quote_ident(LOCK_TABLE),
        d.literal(namespace),
        d.literal(&h.owner),
        d.literal(&h.host),
        h.pid,
        d.literal(&h.state),
        h.acquired_at,
        h.heartbeat,
        h.expiry
    )
}

pub(crate) fn delete_sql(d: &dyn SqlDialect, namespace: &str, owner: Option<&str>) -> String {
    let mut sql = format!("DELETE FROM {} WHERE namespace = {}", d.quote_ident(LOCK_TABLE), d.literal(namespace));
    if let Some(owner) = owner {
        sql.push_str(&format!(" AND owner = {}", d.literal(owner)));
    }
    sql
}

/// SQL renewing the holder's heartbeat and expiry (sent with each migration's bookkeeping on SQLite).
pub(crate) fn heartbeat_sql(d: &dyn SqlDialect, namespace: &str, owner: &str) -> String {
    let now = now_ms();
    format!(
        "UPDATE {} SET heartbeat = {now}, expiry = {} WHERE namespace = {} AND owner = {}",
        d.quote_ident(LOCK_TABLE),
        now + ROW_TTL.as_millis() as i64,
        d.literal(namespace),
        d.literal(owner)
    )
}

/// Waits for the lock up to `timeout`, then records this holder and runs `then` (SQL, may be empty: the first
/// thing to do under the lock) with it, in one commit where the lock is a row, in one round trip otherwise. On
/// timeout the error names the holder.
pub(crate) async fn acquire(
    backend: &mut dyn Backend,
    d: &dyn SqlDialect,
    namespace: &str,
    me: &LockHolder,
    timeout: Duration,
    then: &str,
) -> Result<(), Error> {
    let started = Instant::now();
    let mut attempt = 0;
    // Tries again after an error, while Python DBWarden's lock table may be what caused it (a few times: with
    // several runs starting at once on SQLite, another may be moving it, or hold the file, when this one looks).
    let mut python_moves = 0;
    loop {
        let taken = match backend.try_lock(namespace, me, then).await {
            Err(_) if python_moves < PYTHON_MOVES && move_python_lock_table(backend, d).await => {
                python_moves += 1;
                tokio::time::sleep(crate::backend::backoff(python_moves)).await;
                continue;
            }
            taken => taken.map_err(Error::db("taking the migration lock"))?,
        };
        if taken {
            if !backend.table_lock() {
                // Server locks: the row only informs `lock-status` and timeout messages.
                let mut record = format!("{};\n{}", create_table_sql(d), write_sql(d, namespace, me));
                if !then.is_empty() {
                    record = format!("{record};\n{then}");
                }
                let mut result = backend.execute(&record).await;
                if result.is_err() && python_moves < PYTHON_MOVES && move_python_lock_table(backend, d).await {
                    result = backend.execute(&record).await;
                }
                if let Err(e) = result {
                    // (On MySQL the row may have been written before `then` failed: it must not stay, "held".)
                    let _ = backend.unlock(namespace, &delete_sql(d, namespace, Some(&me.owner))).await;
                    return Err(Error::db("recording the lock holder")(e));
                }
            }
            tracing::debug!(namespace, owner = %me.owner, "migration lock taken");
            return Ok(());
        }
        if started.elapsed() >= timeout {
            let holder = read_holder(backend, d, namespace).await.ok().flatten();
            return Err(Error::LockTimeout {
                waited_ms: started.elapsed().as_millis() as u64,
                holder: LockHolderDescription(holder),
            });
        }
        if attempt == 0 {
            tracing::info!(namespace, "waiting for the migration lock");
        }
        tokio::time::sleep(crate::backend::backoff(attempt)).await;
        attempt += 1;
    }
}

/// How many times [`acquire`] tries again after an error that Python DBWarden's lock table may have caused.
const PYTHON_MOVES: u32 = 3;

/// Where Python DBWarden 0.20's own lock table goes when dbwarden adopts a database it migrated.
pub const PYTHON_LOCK_TABLE: &str = "dbwarden_lock_python";

/// Python DBWarden 0.20 keeps a lock table of its own under the same name, with other columns (`execution_id`,
/// `owner_id`, ...): on a database it migrated, dbwarden's lock row cannot be written. Called on that error (so a
/// normal run pays nothing): the table is renamed to [`PYTHON_LOCK_TABLE`], once, and the lock is tried again.
/// Returns whether to try the lock again: the table was moved, or another run moved it first, or it cannot be told
/// now (on SQLite nothing orders the runs before the lock, so several may see Python's table and race to rename it,
/// or find the file busy while another does). Only a Python table that stays after a failed rename says no; an
/// error unrelated to it comes back after the caller's few tries.
async fn move_python_lock_table(backend: &mut dyn Backend, d: &dyn SqlDialect) -> bool {
    if python_lock_table(backend, d).await != Some(true) {
        return true;
    }
    let sql = format!("ALTER TABLE {} RENAME TO {}", d.quote_ident(LOCK_TABLE), d.quote_ident(PYTHON_LOCK_TABLE));
    match backend.execute(&sql).await {
        Ok(()) => {
            tracing::warn!(
                "moved Python DBWarden's lock table aside ({LOCK_TABLE} -> {PYTHON_LOCK_TABLE}); dbwarden keeps its own"
            );
            true
        }
        Err(_) if python_lock_table(backend, d).await == Some(false) => true,
        Err(e) => {
            tracing::warn!(error = %e, "could not move Python DBWarden's lock table aside");
            false
        }
    }
}

/// Whether `dbwarden_lock` has Python DBWarden's layout (`Some(false)`: dbwarden's, or no table; `None`: unknown).
async fn python_lock_table(backend: &mut dyn Backend, d: &dyn SqlDialect) -> Option<bool> {
    let columns = crate::history::History::column_names(backend.query(&d.columns_query(LOCK_TABLE)).await.ok()?);
    Some(columns.iter().any(|c| c == "owner_id") && !columns.iter().any(|c| c == "owner"))
}

/// Runs `first` (SQL, may be empty: the last thing to do under the lock), forgets the holder row and releases the
/// lock: one commit where the lock is a row, one round trip otherwise. The lock is released even when `first`
/// fails, whose error is returned.
pub(crate) async fn release(
    backend: &mut dyn Backend,
    d: &dyn SqlDialect,
    namespace: &str,
    me: &LockHolder,
    first: &str,
) -> Result<(), DbError> {
    if backend.table_lock() {
        return backend.unlock(namespace, first).await;
    }
    let forget = delete_sql(d, namespace, Some(&me.owner));
    let before = if first.is_empty() { forget } else { format!("{first};\n{forget}") };
    backend.unlock(namespace, &before).await
}

async fn read_holder(
    backend: &mut dyn Backend,
    d: &dyn SqlDialect,
    namespace: &str,
) -> Result<Option<LockHolder>, DbError> {
    match backend.query(&select_sql(d, namespace)).await {
        Ok(rows) => Ok(rows.first().and_then(LockHolder::from_row)),
        // SQLite with a writer in the middle of a big statement: someone is at work, not "no lock table".
        Err(e) if e.is_busy() => Err(e),
        Err(_) => Ok(None), // no lock table yet
    }
}

/// What `lock-status` reports.
#[derive(Debug, Clone, Serialize)]
pub struct LockStatus {
    /// The lock's namespace (database name and history table).
    pub namespace: String,
    /// Whether someone holds it now.
    pub held: bool,
    /// The recorded holder (for a free lock: the last one, if its row remained).
    pub holder: Option<LockHolder>,
    /// The server session holding it (PostgreSQL pid, MySQL connection id).
    pub session: Option<String>,
}

/// Reads the lock's state without taking it.
pub async fn status(backend: &mut dyn Backend, d: &dyn SqlDialect, namespace: &str) -> Result<LockStatus, Error> {
    let holder = match read_holder(backend, d, namespace).await {
        Ok(holder) => holder,
        // The file is locked by a writer (SQLite): held, by a run whose row cannot be read until it commits.
        Err(e) if e.is_busy() => {
            return Ok(LockStatus { namespace: namespace.to_string(), held: true, holder: None, session: None })
        }
        Err(e) => return Err(Error::db("reading the lock table")(e)),
    };
    let session = backend.lock_session(namespace).await.map_err(Error::db("reading the server lock"))?;
    let (held, session) = match session {
        Some(LockSession::Server(id)) => (true, Some(id)),
        Some(LockSession::Table) => {
            let now = now_ms();
            (holder.as_ref().is_some_and(|h| !h.is_stale(now)), None)
        }
        None => (false, None),
    };
    Ok(LockStatus { namespace: namespace.to_string(), held, holder, session })
}

/// The context of the error when the server refuses to end the holder's session (its hint says why).
pub(crate) const ENDING_HOLDER: &str = "ending the lock holder's session";

/// Releases a lock someone else holds: ends the holder's server session (PostgreSQL, MySQL) and deletes the row.
/// Returns whether the lock is free afterwards. A row lock (SQLite) whose holder is known to run (this host, pid
/// alive) is refused ([`Error::LockHolderRunning`]): there is no session to end, only a row whose deletion would let
/// a second run in. Another host's holder cannot be checked, so there `--force` is taken at its word.
pub async fn force_unlock(backend: &mut dyn Backend, d: &dyn SqlDialect, namespace: &str) -> Result<bool, Error> {
    let before = status(backend, d, namespace).await?;
    if let (true, true, Some(holder)) = (backend.table_lock(), before.held, &before.holder) {
        if holder.known_running() {
            return Err(Error::LockHolderRunning { holder: holder.clone() });
        }
        // Another host's process cannot be checked (a container's crashed run, say): --force is the user's word.
        // (On this host the holder's process is gone: nothing to warn about.)
        if !holder.on_this_host() {
            tracing::warn!(holder = %holder.owner, host = %holder.host, pid = holder.pid, "releasing a lock whose holder runs on another host and cannot be checked from here");
        }
    }
    if let Some(session) = &before.session {
        backend.kill_session(session).await.map_err(Error::db(format!("{ENDING_HOLDER} {session}")))?;
    }
    if before.holder.is_some() {
        backend.execute(&delete_sql(d, namespace, None)).await.map_err(Error::db("deleting the lock row"))?;
    }
    // The server needs a moment to end a killed session.
    for attempt in 0..20 {
        let now = status(backend, d, namespace).await?;
        if !now.held {
            return Ok(true);
        }
        tokio::time::sleep(crate::backend::backoff(attempt)).await;
    }
    Ok(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A row with our pid is ours only if this process wrote it: the same pid in a restarted container (PID 1) left
    /// a row that is stale, not "still running".
    #[test]
    fn our_pid_holds_the_lock_only_in_this_process() {
        let me = LockHolder::me();
        assert!(me.known_running() && !me.is_stale(now_ms()));
        let ns = pid_namespace();
        assert!(ns != "-", "Linux names its PID namespaces");
        assert!(me.owner.starts_with(&format!("{}:{}:{ns}:", me.host, me.pid)), "{}", me.owner);
        let owner = |ns: &str| format!("{}:{}:{ns}:0123456789abcdef-00000001", me.host, me.pid);
        // Our pid in our namespace, written by another process: that process is gone.
        let before_restart = LockHolder { owner: owner(ns), ..me.clone() };
        assert!(!before_restart.known_running() && before_restart.is_stale(now_ms()));
        // Our pid in another namespace (a container sharing the host name): cannot be told, so not stale.
        let neighbour = LockHolder { owner: owner("4026531999"), ..me.clone() };
        assert!(!neighbour.known_running() && !neighbour.is_stale(now_ms()));
        // A row from before namespaces were recorded, with our pid: cannot be told either.
        let old = LockHolder { owner: format!("{}:{}:00000001", me.host, me.pid), ..me.clone() };
        assert!(!old.known_running() && !old.is_stale(now_ms()));
        // A pid above any pid_max (2^22) in our namespace: gone.
        let another_process =
            LockHolder { pid: 4_194_305, owner: format!("{}:4194305:{ns}:01-02", me.host), ..me.clone() };
        assert!(another_process.is_stale(now_ms()), "no such pid");
        // The same row once it expired, whatever runs.
        assert!(neighbour.is_stale(neighbour.expiry + 1));
    }

    proptest::proptest! {
        /// The hand-written calendar agrees with chrono's for any millisecond from year 1 to 9999.
        #[test]
        fn rfc3339_agrees_with_chrono(ms in -62_135_596_800_000i64..253_402_300_799_999) {
            let expected = chrono::DateTime::from_timestamp_millis(ms)
                .unwrap()
                .to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
            proptest::prop_assert_eq!(super::rfc3339(ms), expected);
        }
    }

    #[test]
    fn rfc3339_known_instants() {
        assert_eq!(super::rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(super::rfc3339(951_782_400_000), "2000-02-29T00:00:00Z");
        assert_eq!(super::rfc3339(-1), "1969-12-31T23:59:59Z");
    }
}
