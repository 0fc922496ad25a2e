//! PostgreSQL: a session-level advisory lock on the dedicated connection. Waiters poll `pg_try_advisory_lock`
//! instead of blocking in `pg_advisory_lock`, so no waiter holds a snapshot that a holder's
//! `CREATE INDEX CONCURRENTLY` would wait for (the deadlock sqlx users hit).

use std::str::FromStr;

use async_trait::async_trait;
use dbwarden_core::Dialect;
use sha2::{Digest, Sha256};
use sqlx::postgres::{PgConnectOptions, PgConnection};
use sqlx::Connection;

use super::{each_row, Backend, EachRow, LockSession};
use crate::error::DbError;
use crate::lock::LockHolder;

pub(crate) struct PgBackend {
    conn: PgConnection,
}

impl PgBackend {
    pub(crate) async fn connect_url(url: &str) -> Result<PgBackend, DbError> {
        let options = PgConnectOptions::from_str(url).map_err(DbError::from)?;
        PgBackend::connect_with(&options).await
    }

    pub(crate) async fn connect_with(options: &PgConnectOptions) -> Result<PgBackend, DbError> {
        let options = options.clone().application_name("dbwarden");
        let conn = PgConnection::connect_with(&options).await.map_err(DbError::from)?;
        Ok(PgBackend::from_conn(conn).await)
    }

    /// A connection the caller already holds (one detached from an application's pool).
    pub(crate) async fn from_conn(mut conn: PgConnection) -> PgBackend {
        // A holder killed in the middle of a long statement: the server notices the closed socket within a second
        // and ends the session, which frees the advisory lock (PostgreSQL 14+ on Linux; older servers refuse the
        // setting, and notice when they next write to the socket).
        if let Err(e) = sqlx::Executor::execute(&mut conn, "SET client_connection_check_interval = 1000").await {
            tracing::debug!(error = %e, "client_connection_check_interval");
        }
        PgBackend { conn }
    }
}

/// The advisory lock key of a namespace: the first 8 bytes of its SHA-256. Advisory keys are per database already.
pub(crate) fn lock_key(namespace: &str) -> i64 {
    let digest = Sha256::digest(format!("dbwarden:{namespace}").as_bytes());
    i64::from_be_bytes(digest[..8].try_into().expect("8 bytes"))
}

#[async_trait]
impl Backend for PgBackend {
    fn dialect(&self) -> Dialect {
        Dialect::Postgres
    }

    async fn execute(&mut self, sql: &str) -> Result<(), DbError> {
        sqlx::Executor::execute(&mut self.conn, sqlx::raw_sql(sql)).await.map(drop).map_err(DbError::from)
    }

    async fn execute_counted(&mut self, sql: &str) -> Result<(), (usize, DbError)> {
        super::count_completed(sqlx::Executor::execute_many(&mut self.conn, sqlx::raw_sql(sql))).await
    }

    async fn query_each(&mut self, sql: &str, each: &mut EachRow<'_>) -> Result<(), DbError> {
        each_row(sqlx::Executor::fetch(&mut self.conn, sqlx::raw_sql(sql)), each).await
    }

    async fn try_lock(&mut self, namespace: &str, _me: &LockHolder, _then: &str) -> Result<bool, DbError> {
        let rows = self.query(&format!("SELECT CAST(pg_try_advisory_lock({}) AS TEXT)", lock_key(namespace))).await?;
        Ok(rows.first().and_then(|r| r[0].as_deref()) == Some("true"))
    }

    async fn unlock(&mut self, namespace: &str, first: &str) -> Result<(), DbError> {
        let unlock = format!("SELECT pg_advisory_unlock({})", lock_key(namespace));
        super::unlock_after(self, first, &unlock).await
    }

    async fn lock_session(&mut self, namespace: &str) -> Result<Option<LockSession>, DbError> {
        // A bigint advisory key is stored as classid = high 32 bits, objid = low 32 bits, objsubid = 1.
        let key = lock_key(namespace) as u64;
        let sql = format!(
            "SELECT CAST(pid AS TEXT) FROM pg_locks WHERE locktype = 'advisory' AND granted \
             AND database = (SELECT oid FROM pg_database WHERE datname = current_database()) \
             AND classid = {} AND objid = {} AND objsubid = 1",
            key >> 32,
            key & 0xffff_ffff
        );
        let rows = self.query(&sql).await?;
        Ok(rows.into_iter().next().and_then(|r| r.into_iter().next().flatten()).map(LockSession::Server))
    }

    async fn kill_session(&mut self, session: &str) -> Result<bool, DbError> {
        let pid: i64 = session.parse().map_err(|_| DbError::connect(format!("not a backend pid: {session}")))?;
        let rows = self.query(&format!("SELECT CAST(pg_terminate_backend({pid}) AS TEXT)")).await?;
        Ok(rows.first().and_then(|r| r[0].as_deref()) == Some("true"))
    }

    async fn close(self: Box<Self>) {
        let _ = self.conn.close().await;
    }
}
