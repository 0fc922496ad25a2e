//! MySQL and MariaDB: `GET_LOCK` on the dedicated connection. The lock name includes the database name, since
//! MySQL's named locks are server-wide.

use std::str::FromStr;

use async_trait::async_trait;
use dbwarden_core::Dialect;
use sha2::{Digest, Sha256};
use sqlx::mysql::{MySqlConnectOptions, MySqlConnection};
use sqlx::Connection;

use super::{each_row, Backend, EachRow, LockSession};
use crate::error::DbError;
use crate::lock::LockHolder;

pub(crate) struct MySqlBackend {
    conn: MySqlConnection,
    database: String,
}

impl MySqlBackend {
    pub(crate) async fn connect_url(url: &str) -> Result<MySqlBackend, DbError> {
        let options = MySqlConnectOptions::from_str(url).map_err(DbError::from)?;
        MySqlBackend::connect_with(&options).await
    }

    pub(crate) async fn connect_with(options: &MySqlConnectOptions) -> Result<MySqlBackend, DbError> {
        let conn = MySqlConnection::connect_with(options).await.map_err(DbError::from)?;
        MySqlBackend::from_conn(conn).await
    }

    /// A connection the caller already holds (one detached from an application's pool).
    pub(crate) async fn from_conn(conn: MySqlConnection) -> Result<MySqlBackend, DbError> {
        let mut backend = MySqlBackend { conn, database: String::new() };
        let rows = backend.query("SELECT CAST(DATABASE() AS CHAR)").await?;
        backend.database = rows.into_iter().next().and_then(|r| r.into_iter().next().flatten()).unwrap_or_default();
        Ok(backend)
    }

    /// A lock name of at most 64 characters, unique per database and namespace.
    fn lock_name(&self, namespace: &str) -> String {
        let digest = Sha256::digest(format!("{}\0{namespace}", self.database).as_bytes());
        let hex: String = digest[..16].iter().map(|b| format!("{b:02x}")).collect();
        format!("dbwarden:{hex}")
    }
}

#[async_trait]
impl Backend for MySqlBackend {
    fn dialect(&self) -> Dialect {
        Dialect::MySql
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
        let sql = format!("SELECT CAST(GET_LOCK('{}', 0) AS CHAR)", self.lock_name(namespace));
        let rows = self.query(&sql).await?;
        Ok(rows.first().and_then(|r| r[0].as_deref()) == Some("1"))
    }

    async fn unlock(&mut self, namespace: &str, first: &str) -> Result<(), DbError> {
        let unlock = format!("SELECT RELEASE_LOCK('{}')", self.lock_name(namespace));
        super::unlock_after(self, first, &unlock).await
    }

    async fn lock_session(&mut self, namespace: &str) -> Result<Option<LockSession>, DbError> {
        let sql = format!("SELECT CAST(IS_USED_LOCK('{}') AS CHAR)", self.lock_name(namespace));
        let rows = self.query(&sql).await?;
        Ok(rows.into_iter().next().and_then(|r| r.into_iter().next().flatten()).map(LockSession::Server))
    }

    async fn kill_session(&mut self, session: &str) -> Result<bool, DbError> {
        let id: u64 = session.parse().map_err(|_| DbError::connect(format!("not a connection id: {session}")))?;
        self.execute(&format!("KILL {id}")).await.map(|()| true)
    }

    async fn close(self: Box<Self>) {
        let _ = self.conn.close().await;
    }
}
