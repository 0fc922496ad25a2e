//! The SQL text that differs between servers, behind one small trait: quoting, literals, casts and the few
//! expressions the bookkeeping needs. Nothing else in dbwarden matches on the dialect to build SQL.

use dbwarden_core::diff::NameFolding;
use dbwarden_core::Dialect;

/// SQL spelling of one dialect.
pub trait SqlDialect: Sync {
    /// Quotes an identifier (`"t"` or `` `t` ``), doubling the quote character inside it.
    fn quote_ident(&self, name: &str) -> String;
    /// A string literal, escaped for this server.
    fn literal(&self, value: &str) -> String {
        let mut s = String::with_capacity(value.len() + 2);
        self.push_literal(&mut s, value);
        s
    }
    /// [`SqlDialect::literal`], appended to `out` (a history row has ten literals, built into one statement).
    fn push_literal(&self, out: &mut String, value: &str) {
        push_quoted(out, value, false)
    }
    /// How a bookkeeping table keyed by one text column declares that key: the column's constraint, and what
    /// follows the column list. Default: a unique column in a table of the server's usual kind.
    fn text_key(&self) -> (&'static str, &'static str) {
        ("UNIQUE", "")
    }
    /// Whether a statement only sets up the session, leaving nothing behind in the database (`SET ...`; SQLite's
    /// connection-scoped `PRAGMA`s): a resumed migration runs those of its statements that ran before again, on its
    /// new connection, and a migration that failed after only such statements has nothing of it left applied.
    /// Default: `SET`, but not `SET TRANSACTION`, `SET CONSTRAINTS` or `SET LOCAL`, which last one transaction, nor
    /// MySQL's `SET GLOBAL`/`PERSIST`/`@@global.x`, `SET PASSWORD`, `SET DEFAULT ROLE`, which outlive the session,
    /// or MariaDB's `SET STATEMENT ... FOR <statement>`, which runs that statement.
    fn sets_up_the_session(&self, sql: &str) -> bool {
        let mut words = sql.split_whitespace().map(str::to_ascii_uppercase);
        if words.next().as_deref() != Some("SET") {
            return false;
        }
        let Some(second) = words.next() else { return false };
        let lasting = ["@@GLOBAL.", "@@PERSIST.", "@@PERSIST_ONLY."].iter().any(|p| second.starts_with(p));
        !lasting
            && !matches!(
                second.as_str(),
                "TRANSACTION"
                    | "CONSTRAINTS"
                    | "LOCAL"
                    | "GLOBAL"
                    | "PERSIST"
                    | "PERSIST_ONLY"
                    | "PASSWORD"
                    | "DEFAULT"
                    | "STATEMENT"
            )
    }
    /// How the server compares names, for (tables, columns): SQLite's both without ASCII case, MySQL's columns
    /// without case (its table names follow `lower_case_table_names`, case-sensitive by default on Linux),
    /// PostgreSQL's quoted names exactly. Default: exactly.
    fn name_folding(&self) -> (NameFolding, NameFolding) {
        (NameFolding::Exact, NameFolding::Exact)
    }
    /// The statement that opens a migration's explicit transaction. Default: `BEGIN`.
    fn begin(&self) -> &'static str {
        "BEGIN"
    }
    /// Casts an expression to text so every backend's rows decode the same way.
    fn text(&self, expr: &str) -> String {
        format!("CAST({expr} AS TEXT)")
    }
    /// A query listing the column names of `table` in the current schema/database.
    fn columns_query(&self, table: &str) -> String;
    /// A query returning the server's clock as Unix microseconds, where [`SqlDialect::elapsed_ms`] needs to know
    /// when a migration began on that clock (asked once per run that applies something). Default: none (the
    /// expression needs no reference, or the database's clock is this machine's).
    fn clock_query(&self) -> Option<&'static str> {
        None
    }
    /// An expression giving the milliseconds a migration took, evaluated by the server where its history row is
    /// written, at the end of the batch that runs its last statements: `started` is when the migration began on the
    /// database's clock (this machine's, or the server's as [`SqlDialect::clock_query`] read it), `before_batch_ms`
    /// how long it had run when that batch was sent. Default: `before_batch_ms`.
    fn elapsed_ms(&self, started: std::time::SystemTime, before_batch_ms: u128) -> String {
        let _ = started;
        before_batch_ms.to_string()
    }
    /// Whether several statements sent as one batch run atomically (PostgreSQL's simple query protocol wraps them
    /// in one implicit transaction).
    fn batch_is_atomic(&self) -> bool {
        false
    }
    /// Whether an autocommit statement may share a round trip with its bookkeeping (no implicit transaction).
    fn autocommit_batches(&self) -> bool {
        false
    }
    /// Whether an autocommit statement (a `no-transaction` file's, a `-- @dbwarden:autocommit` one, any statement on
    /// MySQL) can run in one transaction with its progress row, so that a run ended between the two (a killed
    /// process, a session ended from outside) leaves both or neither, never a statement that ran without its row,
    /// which the next run would run again (an INSERT twice). It still commits on its own, as asked. Those that
    /// cannot keep that gap: MySQL's DDL, which commits itself; PostgreSQL's `CONCURRENTLY`, `VACUUM`, `CALL`/`DO`
    /// (which may commit); SQLite's `VACUUM` and pragmas. Decided from an allow-list of leading keywords, so what it
    /// does not know runs as before. Default: none.
    fn joins_its_record(&self, sql: &str) -> bool {
        let _ = sql;
        false
    }
    /// Text expressions joined end to end (`a || b`; MySQL's `||` is OR, so `CONCAT(a, b)` there).
    fn concat(&self, parts: &[String]) -> String {
        parts.join(" || ")
    }
    /// An aggregate joining a text expression over all rows into one value (`string_agg`, `group_concat`); one row
    /// crosses the wire instead of one per migration. MySQL's is cut at `group_concat_max_len`: callers count the
    /// rows beside it and treat a shortfall as "read the rows".
    fn string_agg(&self, _expr: &str, _sep: &str) -> Option<String> {
        None
    }
    /// Whether `PREPARE name(types) AS ...` / `EXECUTE name(args)` is available, so the bookkeeping statements
    /// repeated for every migration are parsed and planned once per session.
    fn prepares(&self) -> bool {
        false
    }
    /// Whether `sql` changes the session's schema search path (PostgreSQL's `SET search_path`, `set_config`), after
    /// which dbwarden's tables may not be found by their bare names.
    fn changes_search_path(&self, sql: &str) -> bool {
        let _ = sql;
        false
    }
    /// Whether `sql` takes table locks that only the tables it names may be used under (`Some(true)`: MySQL's
    /// `LOCK TABLES`, as mysqldump writes them) or releases them (`Some(false)`: `UNLOCK TABLES`): no history row
    /// can be written in between.
    fn locks_tables(&self, sql: &str) -> Option<bool> {
        let _ = sql;
        None
    }
    /// What ends the session state a failed migration may have left (its own open transaction, table locks) before
    /// the lock is released.
    fn end_session_state(&self) -> &'static [&'static str] {
        &["ROLLBACK"]
    }
    /// A query listing the indexes of the session's schemas that the server keeps but does not use, one name per
    /// row: PostgreSQL's INVALID ones, which a `CREATE INDEX CONCURRENTLY` that failed or was cut off leaves behind
    /// (and one running now has). `None` where there are none.
    fn invalid_indexes_query(&self) -> Option<&'static str> {
        None
    }
    /// A statement that lets the migration transaction it opens commit without waiting for its log to reach disk
    /// (`""` where there is none). Only where that loses nothing a crash could not lose anyway: the log is one
    /// sequence, so a crash keeps a prefix of the commits, each whole (a migration with its row, never half), and a
    /// later commit that waits covers every earlier one. The run's last migration commits as usual (a history that
    /// looks complete to anyone is on disk), and so does the release of the lock, which always writes (the head
    /// record): what `migrate` returns as applied is on disk, or it returns an error saying it is not confirmed.
    fn deferred_flush(&self) -> &'static str {
        ""
    }
    /// SQL inserting many rows into `target` (`table (columns)`) that the server parses faster than a `VALUES`
    /// list of as many literals, to record a whole run's history at once; `None` where that list is the best there
    /// is. `cells` are the rows one after another, `None` for NULL; `numeric` says which of the `numeric.len()`
    /// columns are integers, whose cells are then decimal integers.
    fn insert_rows(&self, target: &str, numeric: &[bool], cells: &[Option<&str>]) -> Option<String> {
        let _ = (target, numeric, cells);
        None
    }
}

/// The dialect object for `dialect`.
pub fn of(dialect: Dialect) -> &'static dyn SqlDialect {
    match dialect {
        Dialect::Postgres => &Postgres,
        Dialect::MySql => &MySql,
        Dialect::Sqlite => &Sqlite,
    }
}

struct Postgres;
struct MySql;
struct Sqlite;

fn quote_with(name: &str, quote: char) -> String {
    let doubled = format!("{quote}{quote}");
    format!("{quote}{}{quote}", name.replace(quote, &doubled))
}

impl SqlDialect for Postgres {
    fn quote_ident(&self, name: &str) -> String {
        quote_with(name, '"')
    }
    fn columns_query(&self, table: &str) -> String {
        // The catalogs, not information_schema.columns: the view took 5 ms per call in a schema of a thousand
        // tables (a run asks twice); the catalogs answer from their indexes.
        format!(
            "SELECT CAST(a.attname AS TEXT) FROM pg_catalog.pg_attribute a JOIN pg_catalog.pg_class c ON c.oid = a.attrelid \
             WHERE c.relnamespace = (SELECT n.oid FROM pg_catalog.pg_namespace n WHERE n.nspname = current_schema()) \
             AND c.relname = {} AND a.attnum > 0 AND NOT a.attisdropped",
            self.literal(table)
        )
    }
    fn elapsed_ms(&self, _started: std::time::SystemTime, before_batch_ms: u128) -> String {
        // statement_timestamp() is when the whole simple-query message arrived: the batch's own time, on the
        // server's clock, plus the client's measure of what ran before it.
        format!("({before_batch_ms} + CAST(EXTRACT(EPOCH FROM (clock_timestamp() - statement_timestamp())) * 1000 AS BIGINT))")
    }
    fn batch_is_atomic(&self) -> bool {
        true
    }
    fn joins_its_record(&self, sql: &str) -> bool {
        const JOINABLE: [&str; 13] = [
            "INSERT", "UPDATE", "DELETE", "MERGE", "WITH", "SELECT", "CREATE", "ALTER", "DROP", "COMMENT", "GRANT",
            "REVOKE", "TRUNCATE",
        ];
        // Refused in a transaction block (or, for ALTER TYPE .. ADD VALUE on old servers, unusable in it). An
        // extension's statement may refuse one too (a TimescaleDB continuous aggregate's CREATE MATERIALIZED VIEW):
        // the migrator then runs it alone after all, see `exec_unit`.
        const ALONE: [&str; 5] = ["DATABASE", "TABLESPACE", "SYSTEM", "SUBSCRIPTION", "TYPE"];
        let words = dbwarden_core::lexer::words(sql, Dialect::Postgres);
        let (Some(first), second) = (words.first(), words.get(1)) else { return false };
        JOINABLE.contains(&first.as_str())
            && !words.iter().any(|w| w == "CONCURRENTLY")
            && !(matches!(first.as_str(), "CREATE" | "ALTER" | "DROP")
                && second.is_some_and(|w| ALONE.contains(&w.as_str())))
    }
    fn prepares(&self) -> bool {
        true
    }
    fn changes_search_path(&self, sql: &str) -> bool {
        // (Asked of every statement a run sends: the words only where the name occurs at all.)
        let has = |word: &[u8]| sql.as_bytes().windows(word.len()).any(|w| w.eq_ignore_ascii_case(word));
        if !has(b"search_path") {
            return false;
        }
        let words = dbwarden_core::lexer::words(sql, Dialect::Postgres);
        let set = words.first().is_some_and(|w| w == "SET") && words.iter().skip(1).take(2).any(|w| w == "SEARCH_PATH");
        set || has(b"set_config")
    }
    fn invalid_indexes_query(&self) -> Option<&'static str> {
        Some(
            "SELECT quote_ident(n.nspname) || '.' || quote_ident(c.relname) FROM pg_index i \
             JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_namespace n ON n.oid = c.relnamespace \
             WHERE NOT i.indisvalid AND n.nspname = ANY (current_schemas(false)) ORDER BY 1",
        )
    }
    fn deferred_flush(&self) -> &'static str {
        // LOCAL: this transaction only; the session's own setting (perhaps `remote_apply`) governs the rest.
        "SET LOCAL synchronous_commit TO OFF;\n"
    }
    fn string_agg(&self, expr: &str, sep: &str) -> Option<String> {
        Some(format!("string_agg({expr}, {})", self.literal(sep)))
    }
    fn insert_rows(&self, target: &str, numeric: &[bool], cells: &[Option<&str>]) -> Option<String> {
        // One array literal per column, zipped by `unnest`: PostgreSQL parsed and coerced 1,000 rows of twelve
        // literals in 47 ms, twelve arrays of 1,000 in 9 ms. A bare NULL in an array is NULL only while
        // `array_nulls` is on (a role or database may turn it off): on for this transaction.
        let columns = numeric.len();
        let mut sql = String::with_capacity(cells.iter().map(|c| c.map_or(4, |v| v.len() + 3)).sum::<usize>() + 128);
        sql.push_str("SET LOCAL array_nulls = on;\nINSERT INTO ");
        sql.push_str(target);
        // `ROWS FROM` with one qualified `unnest` per array: the multi-array `unnest(a, b)` is syntax for it that
        // cannot be qualified, and an unqualified name follows the session's search_path.
        sql.push_str(" SELECT * FROM ROWS FROM (");
        for (column, numeric) in numeric.iter().enumerate() {
            if column > 0 {
                sql.push_str(", ");
            }
            sql.push_str("pg_catalog.unnest(");
            let values = cells.iter().skip(column).step_by(columns.max(1)).copied();
            push_array(&mut sql, values);
            sql.push_str(if *numeric { "::bigint[])" } else { "::text[])" });
        }
        sql.push(')');
        Some(sql)
    }
}

/// Appends `values` as an array literal, `E'{"a","b\\"c",NULL}'`: each element double-quoted with `"` and `\`
/// escaped by a backslash (so commas, braces, spaces and the word NULL stay text), NULL bare, in an `E''` string
/// so those backslashes mean the same whatever `standard_conforming_strings` says.
fn push_array<'v>(out: &mut String, values: impl Iterator<Item = Option<&'v str>>) {
    out.push_str("E'{");
    for (i, value) in values.enumerate() {
        if i > 0 {
            out.push(',');
        }
        let Some(value) = value else {
            out.push_str("NULL");
            continue;
        };
        out.push('"');
        for c in value.chars() {
            match c {
                // The array's escape, then the E-string's: `\\` in the SQL text is one backslash in the array.
                '"' => out.push_str("\\\\\""),
                '\\' => out.push_str("\\\\\\\\"),
                '\'' => out.push_str("''"),
                c => out.push(c),
            }
        }
        out.push('"');
    }
    out.push_str("}'");
}

/// MySQL's clock as Unix microseconds, UTC: what [`SqlDialect::clock_query`] reads and `elapsed_ms` measures against,
/// so both read the same clock the same way. (A macro: `concat!` takes only literals.)
macro_rules! mysql_now_us {
    () => {
        "TIMESTAMPDIFF(MICROSECOND, '1970-01-01 00:00:00', UTC_TIMESTAMP(6))"
    };
}

impl SqlDialect for MySql {
    fn quote_ident(&self, name: &str) -> String {
        quote_with(name, '`')
    }
    fn push_literal(&self, out: &mut String, value: &str) {
        // Backslashes escape in MySQL strings unless NO_BACKSLASH_ESCAPES is set; doubling them is right both ways.
        push_quoted(out, value, true)
    }
    fn text(&self, expr: &str) -> String {
        format!("CAST({expr} AS CHAR)")
    }
    fn columns_query(&self, table: &str) -> String {
        format!(
            "SELECT CAST(column_name AS CHAR) FROM information_schema.columns WHERE table_schema = DATABASE() AND table_name = {}",
            self.literal(table)
        )
    }
    fn clock_query(&self) -> Option<&'static str> {
        Some(concat!("SELECT CAST(", mysql_now_us!(), " AS CHAR)"))
    }
    fn elapsed_ms(&self, started: std::time::SystemTime, _before_batch_ms: u128) -> String {
        // The start as a literal on the server's clock, against the time the INSERT runs (after the migration's
        // statements in the same batch). A `SET @t0 = NOW(6)` statement at the head of the batch would need no
        // clock reference, but as one more statement per migration it cost 2-4% of a run of small DDL.
        let micros = started.duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_micros());
        format!(concat!("GREATEST(0, CAST((", mysql_now_us!(), " - {}) / 1000 AS SIGNED))"), micros)
    }
    fn locks_tables(&self, sql: &str) -> Option<bool> {
        // (Asked of every statement of a section: its first two words only, not a whole extended INSERT.)
        let words: Vec<String> = dbwarden_core::lexer::word_iter(sql, Dialect::MySql).take(2).collect();
        match (words.first().map(String::as_str), words.get(1).map(String::as_str)) {
            (Some("LOCK"), Some("TABLES" | "TABLE")) => Some(true),
            (Some("UNLOCK"), Some("TABLES" | "TABLE")) => Some(false),
            _ => None,
        }
    }
    fn end_session_state(&self) -> &'static [&'static str] {
        &["ROLLBACK", "UNLOCK TABLES"]
    }
    fn autocommit_batches(&self) -> bool {
        true
    }
    fn name_folding(&self) -> (NameFolding, NameFolding) {
        (NameFolding::Exact, NameFolding::Unicode)
    }
    fn joins_its_record(&self, sql: &str) -> bool {
        // Only data statements: DDL commits the transaction before and after itself.
        // (Into a MyISAM or Aria table such a statement still commits by itself: the engine has no rollback.)
        let first = dbwarden_core::lexer::word_iter(sql, Dialect::MySql).next();
        first.is_some_and(|w| matches!(w.as_str(), "INSERT" | "UPDATE" | "DELETE" | "REPLACE"))
    }
    fn concat(&self, parts: &[String]) -> String {
        format!("CONCAT({})", parts.join(", "))
    }
    fn string_agg(&self, expr: &str, sep: &str) -> Option<String> {
        Some(format!("GROUP_CONCAT({expr} SEPARATOR {})", self.literal(sep)))
    }
}

impl SqlDialect for Sqlite {
    fn name_folding(&self) -> (NameFolding, NameFolding) {
        (NameFolding::Ascii, NameFolding::Ascii)
    }
    fn quote_ident(&self, name: &str) -> String {
        quote_with(name, '"')
    }
    fn sets_up_the_session(&self, sql: &str) -> bool {
        // `PRAGMA foreign_keys = OFF` before a table rebuild, above all: without it, the rebuild's DROP TABLE
        // cascades to the child rows. Pragmas stored in the file (`user_version`, `journal_mode`) are not here.
        const SESSION: [&str; 14] = [
            "foreign_keys",
            "legacy_alter_table",
            "defer_foreign_keys",
            "recursive_triggers",
            "ignore_check_constraints",
            "case_sensitive_like",
            "busy_timeout",
            "cache_size",
            "temp_store",
            "automatic_index",
            "reverse_unordered_selects",
            "query_only",
            "trusted_schema",
            "synchronous",
        ];
        let mut words = sql.trim_start().splitn(2, char::is_whitespace);
        if !words.next().is_some_and(|w| w.eq_ignore_ascii_case("PRAGMA")) {
            return false;
        }
        let rest = words.next().unwrap_or_default().trim_start();
        let name =
            rest.split(|c: char| c == '=' || c == '(' || c == ';' || c.is_whitespace()).next().unwrap_or_default();
        let name = name.rsplit('.').next().unwrap_or_default();
        SESSION.iter().any(|p| name.eq_ignore_ascii_case(p))
    }
    fn joins_its_record(&self, sql: &str) -> bool {
        // SQLite's DDL is transactional; VACUUM, pragmas (foreign_keys is ignored inside a transaction), ATTACH and
        // the transaction statements themselves are not here.
        const JOINABLE: [&str; 11] = [
            "INSERT", "UPDATE", "DELETE", "REPLACE", "WITH", "SELECT", "CREATE", "ALTER", "DROP", "REINDEX", "ANALYZE",
        ];
        let first = dbwarden_core::lexer::word_iter(sql, Dialect::Sqlite).next();
        first.is_some_and(|w| JOINABLE.contains(&w.as_str()))
    }
    fn begin(&self) -> &'static str {
        // Takes the write lock at once. A deferred BEGIN whose first statement only reads (`DROP TABLE IF EXISTS`
        // of a missing table) holds a shared lock, and SQLite refuses to make a reader that wants to write wait
        // for another writer (it could deadlock): a process polling for the migration lock, which holds the write
        // lock for a moment, would fail the holder with "database is locked" instead of making it wait.
        "BEGIN IMMEDIATE"
    }
    fn columns_query(&self, table: &str) -> String {
        format!("SELECT name FROM pragma_table_info({})", self.literal(table))
    }
    fn text_key(&self) -> (&'static str, &'static str) {
        // One b-tree keyed by the text instead of a rowid table plus an index on it: each migration's row then
        // writes one page fewer in its commit.
        ("PRIMARY KEY", " WITHOUT ROWID")
    }
    fn string_agg(&self, expr: &str, sep: &str) -> Option<String> {
        Some(format!("group_concat({expr}, {})", self.literal(sep)))
    }
    fn elapsed_ms(&self, started: std::time::SystemTime, _before_batch_ms: u128) -> String {
        // SQLite's clock is this machine's: 'now' is read when the INSERT runs, after the migration's statements in
        // the same batch, against the start as a Julian day (the same instant `julianday('now')` would have given).
        let unix_ms = started.duration_since(std::time::UNIX_EPOCH).map_or(0.0, |d| d.as_secs_f64() * 1000.0);
        let julian = unix_ms / 86_400_000.0 + 2_440_587.5;
        format!("MAX(0, CAST(ROUND((julianday('now') - {julian:.10}) * 86400000.0) AS INTEGER))")
    }
}

/// Appends `value` as a single-quoted SQL string: quotes doubled, and backslashes too with `backslashes` (MySQL).
/// Copied in runs between the characters to double (a history row's values have none): a row has ten literals.
fn push_quoted(out: &mut String, value: &str, backslashes: bool) {
    out.reserve(value.len() + 2);
    out.push('\'');
    let mut rest = value;
    while let Some(at) = rest.find(|c| c == '\'' || backslashes && c == '\\') {
        // Both characters are ASCII: `at + 1` is a boundary, and the character goes out twice.
        out.push_str(&rest[..=at]);
        out.push_str(&rest[at..=at]);
        rest = &rest[at + 1..];
    }
    out.push_str(rest);
    out.push('\'');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statements_that_can_share_a_transaction_with_their_row() {
        let (pg, my, lite) = (of(Dialect::Postgres), of(Dialect::MySql), of(Dialect::Sqlite));
        for sql in
            ["INSERT INTO t VALUES (1)", "update t set a = 1", "CREATE INDEX ix ON t (a)", "ALTER TABLE t ADD b INT"]
        {
            assert!(pg.joins_its_record(sql) && lite.joins_its_record(sql), "{sql}");
        }
        for sql in [
            "CREATE INDEX CONCURRENTLY ix ON t (a)",
            "DROP INDEX CONCURRENTLY ix",
            "VACUUM t",
            "CREATE DATABASE x",
            "ALTER TYPE mood ADD VALUE 'meh'",
            "CALL purge()",
            "DO $$ BEGIN COMMIT; END $$",
        ] {
            assert!(!pg.joins_its_record(sql), "{sql}");
        }
        for sql in ["PRAGMA foreign_keys = OFF", "VACUUM", "ATTACH 'x.db' AS x", "COMMIT"] {
            assert!(!lite.joins_its_record(sql), "{sql}");
        }
        assert!(my.joins_its_record("-- fill\nINSERT INTO t VALUES (1)") && my.joins_its_record("DELETE FROM t"));
        for sql in ["CREATE TABLE t (a INT)", "ALTER TABLE t ADD b INT", "SET FOREIGN_KEY_CHECKS = 0", "CALL p()"] {
            assert!(!my.joins_its_record(sql), "{sql}");
        }
    }

    #[test]
    fn only_statements_that_leave_nothing_behind_set_up_the_session() {
        let (pg, my, lite) = (of(Dialect::Postgres), of(Dialect::MySql), of(Dialect::Sqlite));
        for sql in ["SET lock_timeout = '2s'", "SET search_path TO app", "set session statement_timeout = 0"] {
            assert!(pg.sets_up_the_session(sql), "{sql}");
        }
        for sql in ["SET FOREIGN_KEY_CHECKS = 0", "SET NAMES utf8mb4", "SET @x = 1", "SET SESSION sql_mode = ''"] {
            assert!(my.sets_up_the_session(sql), "{sql}");
        }
        for sql in [
            "SET TRANSACTION ISOLATION LEVEL SERIALIZABLE",
            "SET LOCAL lock_timeout = '1s'",
            "SET GLOBAL max_connections = 500",
            "SET @@global.max_connections = 500",
            "SET PERSIST max_connections = 500",
            "SET PASSWORD FOR app = PASSWORD('x')",
            "SET DEFAULT ROLE admin TO app",
            "SET STATEMENT max_statement_time = 0 FOR INSERT INTO a SELECT * FROM b",
            "SELECT 1",
            "SET",
        ] {
            assert!(!my.sets_up_the_session(sql) && !pg.sets_up_the_session(sql), "{sql}");
        }
        for sql in ["PRAGMA foreign_keys = OFF", "pragma main.legacy_alter_table=ON", "PRAGMA busy_timeout(5000)"] {
            assert!(lite.sets_up_the_session(sql), "{sql}");
        }
        for sql in ["PRAGMA user_version = 5", "PRAGMA journal_mode = WAL", "PRAGMA foreign_key_check", "SET x = 1"] {
            assert!(!lite.sets_up_the_session(sql), "{sql}");
        }
    }

    #[test]
    fn quoting_doubles_quote_characters() {
        assert_eq!(of(Dialect::Postgres).quote_ident("we\"ird"), "\"we\"\"ird\"");
        assert_eq!(of(Dialect::MySql).quote_ident("or`der"), "`or``der`");
        assert_eq!(of(Dialect::Sqlite).quote_ident("user"), "\"user\"");
        assert_eq!(of(Dialect::MySql).literal("a'b\\"), "'a''b\\\\'");
        assert_eq!(of(Dialect::Postgres).literal("a'b\\"), "'a''b\\'");
    }

    #[test]
    fn postgres_reads_many_rows_from_one_array_per_column() {
        let cells = [Some("a\"b"), Some("1"), Some("c\\d'e"), None, Some("{x,y} NULL"), Some("22")];
        assert_eq!(
            of(Dialect::Postgres).insert_rows("t (a, b)", &[false, true], &cells).unwrap(),
            "SET LOCAL array_nulls = on;\n\
             INSERT INTO t (a, b) SELECT * FROM ROWS FROM (\
             pg_catalog.unnest(E'{\"a\\\\\"b\",\"c\\\\\\\\d''e\",\"{x,y} NULL\"}'::text[]), \
             pg_catalog.unnest(E'{\"1\",NULL,\"22\"}'::bigint[]))"
        );
        assert_eq!(of(Dialect::Sqlite).insert_rows("t (a)", &[false], &[Some("a")]), None, "a VALUES list there");
        assert_eq!(of(Dialect::MySql).insert_rows("t (a)", &[false], &[Some("a")]), None);
    }

    /// Whatever the text, PostgreSQL reads back from the array exactly what went in.
    #[tokio::test]
    async fn postgres_reads_every_value_back_from_an_array() {
        use proptest::strategy::{Strategy, ValueTree};
        use sqlx::{Connection, Row};
        let url = std::env::var("DBWARDEN_TEST_PG_URL")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_string());
        let mut conn = sqlx::PgConnection::connect(&url).await.expect("PostgreSQL (DBWARDEN_TEST_PG_URL)");
        let mut values: Vec<Option<String>> = [
            "",
            "NULL",
            "null",
            " lead",
            "trail ",
            "\t\ttab",
            "new\nline",
            "\\n",
            "\\101",
            "\\x41",
            "\\u0041",
            "\\\"",
            "\\\\",
            "\"\"",
            "'",
            "''",
            "{}",
            "{a,b}",
            ",",
            "a\\",
            "é ü 漢",
            "$$",
            "E'x'",
        ]
        .iter()
        .map(|v| Some(v.to_string()))
        .collect();
        values.push(None);
        let mut runner = proptest::test_runner::TestRunner::deterministic();
        let text = proptest::string::string_regex("[^\\x00]{0,16}").unwrap();
        values.extend((0..300).map(|_| Some(text.new_tree(&mut runner).unwrap().current())));
        let mut array = String::new();
        push_array(&mut array, values.iter().map(|v| v.as_deref()));
        let sql = format!("SELECT v FROM pg_catalog.unnest({array}::text[]) WITH ORDINALITY AS u(v, i) ORDER BY i");
        let rows = sqlx::raw_sql(&sql).fetch_all(&mut conn).await.unwrap();
        let back: Vec<Option<String>> = rows.iter().map(|r| r.get(0)).collect();
        assert_eq!(back, values);
    }

    proptest::proptest! {
        #[test]
        fn literals_escape_as_replace_does(value in ".*") {
            proptest::prop_assert_eq!(of(Dialect::Postgres).literal(&value), format!("'{}'", value.replace('\'', "''")));
            proptest::prop_assert_eq!(
                of(Dialect::MySql).literal(&value),
                format!("'{}'", value.replace('\\', "\\\\").replace('\'', "''"))
            );
        }
    }
}
