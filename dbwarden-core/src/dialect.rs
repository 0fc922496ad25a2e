//! The SQL dialects dbwarden speaks. The lexer and the runtime both key their differences off this one enum.

use std::fmt;

/// A family of SQL servers with one lexical and DDL behaviour.
///
/// MariaDB is [`Dialect::MySql`]: the two share quoting, comments and implicit DDL commits.
///
/// ```
/// use dbwarden_core::Dialect;
/// assert_eq!(Dialect::from_url_scheme("postgres"), Some(Dialect::Postgres));
/// assert_eq!(Dialect::from_url_scheme("mariadb"), Some(Dialect::MySql));
/// assert_eq!(Dialect::MySql.to_string(), "mysql");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Dialect {
    /// PostgreSQL: `$$` bodies, `E''` strings, nested block comments, transactional DDL.
    Postgres,
    /// MySQL and MariaDB: backticks, backslash escapes in strings, `#` comments, DDL commits implicitly.
    MySql,
    /// SQLite: `CREATE TRIGGER ... BEGIN ... END` bodies, transactional DDL.
    Sqlite,
}

impl Dialect {
    /// Maps a URL scheme or a config `type` to a dialect.
    pub fn from_url_scheme(scheme: &str) -> Option<Dialect> {
        match scheme.to_ascii_lowercase().as_str() {
            "postgres" | "postgresql" => Some(Dialect::Postgres),
            "mysql" | "mariadb" => Some(Dialect::MySql),
            "sqlite" | "sqlite3" => Some(Dialect::Sqlite),
            _ => None,
        }
    }

    /// Whether DDL statements run inside a transaction and roll back with it.
    pub fn transactional_ddl(self) -> bool {
        !matches!(self, Dialect::MySql)
    }

    /// Whether `name` is too long for a table name: PostgreSQL cuts a name past 63 bytes without a word (two long
    /// names can become one), MySQL refuses one past 64 characters; SQLite has no limit.
    ///
    /// ```
    /// use dbwarden_core::Dialect;
    /// assert!(Dialect::Postgres.name_too_long(&"x".repeat(64)));
    /// assert!(!Dialect::MySql.name_too_long(&"x".repeat(64)));
    /// assert!(!Dialect::Sqlite.name_too_long(&"x".repeat(500)));
    /// ```
    pub fn name_too_long(self, name: &str) -> bool {
        match self {
            Dialect::Postgres => name.len() > 63,
            Dialect::MySql => name.chars().count() > 64,
            Dialect::Sqlite => false,
        }
    }
}

impl fmt::Display for Dialect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Dialect::Postgres => "postgresql",
            Dialect::MySql => "mysql",
            Dialect::Sqlite => "sqlite",
        })
    }
}
