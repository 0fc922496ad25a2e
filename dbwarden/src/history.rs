//! The history table `_dbwarden_migrations`: one row per applied migration (SPEC §4).
//!
//! Its first six columns are Python DBWarden's, so a database that tool migrated is adopted: the missing columns
//! are added in place and its rows count as applied.

use serde::Serialize;

use crate::backend::{Backend, SqlDialect, TextRow};
use crate::error::{DbError, Error};

/// The default history table name.
pub const DEFAULT_TABLE: &str = "_dbwarden_migrations";

/// Python DBWarden's columns, then ours. Order matters: rows are read in this order.
const COLUMNS: &[(&str, &str)] = &[
    ("version", "VARCHAR(255)"),
    ("description", "VARCHAR(500)"),
    ("filename", "VARCHAR(500) NOT NULL"), // the key: see create_sql
    ("migration_type", "VARCHAR(50)"),
    ("applied_at", "TIMESTAMP DEFAULT CURRENT_TIMESTAMP"),
    ("checksum", "VARCHAR(128)"),
    ("checksum_algorithm", "VARCHAR(32)"),
    ("rollback_checksum", "VARCHAR(128)"),
    ("execution_time_ms", "BIGINT"),
    ("state", "VARCHAR(20)"),
    ("statements_done", "BIGINT"),
    ("applied_by", "VARCHAR(255)"),
    ("tool_version", "VARCHAR(50)"),
];

/// The columns an INSERT writes (applied_at takes its default).
const INSERT_COLUMNS: &str = "version, description, filename, migration_type, checksum, checksum_algorithm, \
     rollback_checksum, execution_time_ms, state, statements_done, applied_by, tool_version";

/// Which of [`INSERT_COLUMNS`] hold integers (`execution_time_ms`, `statements_done`).
const NUMERIC: [bool; 12] = [false, false, false, false, false, false, false, true, false, true, false, false];

/// A new row's values in [`INSERT_COLUMNS`] order: text, and for the two [`NUMERIC`] columns SQL as the caller
/// wrote it (a decimal integer, or for `elapsed_ms` of a row written as its migration runs, an expression).
fn cells<'r>(row: &'r NewRow<'_>, elapsed_ms: &'r str, done: &'r str) -> [Option<&'r str>; 12] {
    [
        row.version.as_deref(),
        Some(&row.description),
        Some(row.filename),
        Some(row.migration_type),
        Some(row.checksum),
        Some(row.checksum_algorithm),
        Some(row.rollback_checksum),
        Some(elapsed_ms),
        Some(row.state.as_str()),
        Some(done),
        Some(applied_by()),
        Some(env!("CARGO_PKG_VERSION")),
    ]
}

/// Columns added to a table created by Python DBWarden (the first six exist there).
const ADDED_COLUMNS: usize = 6;

/// The state of a history row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RowState {
    /// Fully applied.
    Applied,
    /// An upgrade that stopped part-way; `statements_done` statements ran.
    Partial,
    /// A rollback that stopped part-way; `statements_done` rollback statements ran.
    RollingBack,
}

impl RowState {
    fn as_str(self) -> &'static str {
        match self {
            RowState::Applied => "applied",
            RowState::Partial => "partial",
            RowState::RollingBack => "rolling_back",
        }
    }

    fn parse(text: Option<&str>) -> RowState {
        match text {
            Some("partial") => RowState::Partial,
            Some("rolling_back") => RowState::RollingBack,
            _ => RowState::Applied, // Python DBWarden rows have no state: they were applied.
        }
    }
}

/// One row of the history table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AppliedMigration {
    /// `0001` for versioned migrations; none for repeatables.
    pub version: Option<String>,
    /// Words of the slug.
    pub description: String,
    /// The file name.
    pub filename: String,
    /// `versioned`, `repeatable_always` or `repeatable_on_change`.
    pub migration_type: String,
    /// When it was applied (server time, as the server prints it).
    pub applied_at: Option<String>,
    /// Checksum of the upgrade section.
    pub checksum: Option<String>,
    /// `sha256`, or none for a row written by Python DBWarden.
    pub checksum_algorithm: Option<String>,
    /// Checksum of the rollback section.
    pub rollback_checksum: Option<String>,
    /// How long the upgrade took.
    pub execution_time_ms: Option<i64>,
    /// Applied, or stopped part-way.
    pub state: RowState,
    /// Statements run so far when not fully applied.
    pub statements_done: usize,
    /// `user@host` that applied it.
    pub applied_by: Option<String>,
    /// The dbwarden version that applied it.
    pub tool_version: Option<String>,
}

impl AppliedMigration {
    fn from_row(row: TextRow) -> AppliedMigration {
        let mut it = row.into_iter();
        let mut next = || it.next().flatten();
        AppliedMigration {
            version: next(),
            description: next().unwrap_or_default(),
            filename: next().unwrap_or_default(),
            migration_type: next().unwrap_or_else(|| "versioned".into()),
            applied_at: next(),
            checksum: next(),
            checksum_algorithm: next(),
            rollback_checksum: next(),
            execution_time_ms: next().and_then(|t| t.parse().ok()),
            state: RowState::parse(next().as_deref()),
            statements_done: next().and_then(|t| t.parse().ok()).unwrap_or(0),
            applied_by: next(),
            tool_version: next(),
        }
    }

    /// The version as a number, for ordering.
    pub fn version_number(&self) -> Option<u64> {
        self.version.as_deref().and_then(|v| v.parse().ok())
    }
}

/// Values for a new row.
pub(crate) struct NewRow<'a> {
    pub version: Option<String>,
    pub description: String,
    pub filename: &'a str,
    pub migration_type: &'a str,
    pub checksum: &'a str,
    /// How `checksum` was computed: [`dbwarden_core::checksum::ALGORITHM`], or for a row stopped part-way
    /// [`dbwarden_core::checksum::STATEMENTS_ALGORITHM`].
    pub checksum_algorithm: &'a str,
    pub rollback_checksum: &'a str,
    pub state: RowState,
    pub statements_done: usize,
}

/// `user@host` of this process, for the `applied_by` column; looked up once (a single-transaction run records a
/// thousand rows in one INSERT).
fn applied_by() -> &'static str {
    static APPLIED_BY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    APPLIED_BY.get_or_init(|| {
        let host = gethostname::gethostname().to_string_lossy().into_owned();
        // (A container often has no USER: the host alone then, not "@host".)
        match std::env::var("USER").or_else(|_| std::env::var("USERNAME")) {
            Ok(user) if !user.is_empty() => format!("{user}@{host}"),
            _ => host,
        }
    })
}

/// SQL for one history table.
pub(crate) struct History<'d> {
    pub d: &'d dyn SqlDialect,
    pub table: String,
    /// The bookkeeping statements were prepared on this session ([`History::prepare`]).
    pub prepared: bool,
}

impl History<'_> {
    fn t(&self) -> String {
        self.d.quote_ident(&self.table)
    }

    /// Creates the table if there is none (a Python DBWarden table is left as it is, for [`History::ensure`]).
    pub fn create_sql(&self) -> String {
        let (key, suffix) = self.d.text_key();
        let cols: Vec<String> = COLUMNS
            .iter()
            .map(|(n, ty)| match *n {
                "filename" => format!("{} {ty} {key}", self.d.quote_ident(n)),
                _ => format!("{} {ty}", self.d.quote_ident(n)),
            })
            .collect();
        format!("CREATE TABLE IF NOT EXISTS {} ({}){suffix}", self.t(), cols.join(", "))
    }

    /// Creates the table, or adds the columns a Python DBWarden table lacks. Run under the lock.
    pub async fn ensure(&self, backend: &mut dyn Backend) -> Result<(), Error> {
        let existing: Vec<String> = backend
            .query(&self.d.columns_query(&self.table))
            .await
            .map_err(Error::db(format!("reading the columns of {}", self.table)))?
            .into_iter()
            .filter_map(|r| r.into_iter().next().flatten())
            .map(|c| c.to_ascii_lowercase())
            .collect();
        if existing.is_empty() {
            return backend.execute(&self.create_sql()).await.map_err(Error::db(format!("creating {}", self.table)));
        }
        for (name, ty) in &COLUMNS[ADDED_COLUMNS..] {
            if !existing.iter().any(|c| c == name) {
                tracing::info!(table = %self.table, column = name, "upgrading the history table in place");
                let sql = format!("ALTER TABLE {} ADD COLUMN {} {ty}", self.t(), self.d.quote_ident(name));
                backend.execute(&sql).await.map_err(Error::db(format!("adding column {name} to {}", self.table)))?;
            }
        }
        Ok(())
    }

    /// Every row, read-only: none when the table does not exist yet, and NULL for the columns a Python DBWarden
    /// table does not have yet.
    pub async fn read(&self, backend: &mut dyn Backend) -> Result<Vec<AppliedMigration>, DbError> {
        let existing = Self::column_names(backend.query(&self.d.columns_query(&self.table)).await?);
        if existing.is_empty() {
            return Ok(Vec::new());
        }
        self.select(backend, |name| existing.iter().any(|c| c == name)).await
    }

    /// The history table's column names, lower-cased, from the rows of [`SqlDialect::columns_query`]; none when
    /// there is no table.
    pub fn column_names(rows: Vec<TextRow>) -> Vec<String> {
        rows.into_iter().filter_map(|r| r.into_iter().next().flatten()).map(|c| c.to_ascii_lowercase()).collect()
    }

    /// Every row of a table that [`History::ensure`] brought up to date (one round trip).
    pub async fn read_existing(&self, backend: &mut dyn Backend) -> Result<Vec<AppliedMigration>, DbError> {
        self.select(backend, |_| true).await
    }

    async fn select(
        &self,
        backend: &mut dyn Backend,
        has: impl Fn(&str) -> bool,
    ) -> Result<Vec<AppliedMigration>, DbError> {
        Ok(Self::rows(backend.query(&self.select_sql(&has)).await?, &has))
    }

    /// The query reading every row, only the columns `has` selects (those that exist, or those needed).
    pub fn select_sql(&self, has: impl Fn(&str) -> bool) -> String {
        let cols: Vec<String> =
            COLUMNS.iter().filter(|(n, _)| has(n)).map(|(n, _)| self.d.text(&self.d.quote_ident(n))).collect();
        format!("SELECT {} FROM {}", cols.join(", "), self.t())
    }

    /// The narrowest read planning can work from (the start-up fast path): per row the version (or, for
    /// repeatables, the file name), the checksum, and the state (`legacy` for rows still carrying Python DBWarden's
    /// checksum), as `key:checksum:state`; joined into one value where the server can aggregate text.
    pub fn plan_sql(&self) -> String {
        let q = |c: &str| self.d.quote_ident(c);
        let item = self.d.concat(&[
            format!("COALESCE({}, {})", self.d.text(&q("version")), self.d.text(&q("filename"))),
            "':'".into(),
            format!("COALESCE({}, '')", self.d.text(&q("checksum"))),
            "':'".into(),
            format!(
                "CASE WHEN {} IS NULL THEN 'legacy' ELSE COALESCE({}, 'applied') END",
                q("checksum_algorithm"),
                self.d.text(&q("state"))
            ),
        ]);
        match self.d.string_agg(&item, ",") {
            // The row count beside the aggregate catches one cut short (MySQL's group_concat_max_len).
            Some(agg) => format!("SELECT {}, {} FROM {}", self.d.text(&agg), self.d.text("COUNT(*)"), self.t()),
            None => format!("SELECT {item} FROM {}", self.t()),
        }
    }

    /// Rows read by [`History::plan_sql`]; `None` when one is a legacy row (the locked path adopts it).
    pub fn plan_rows(rows: Vec<TextRow>) -> Option<Vec<AppliedMigration>> {
        // One aggregated row (the aggregate and the row count), or one row per migration.
        let mut expected = None;
        if let [row] = rows.as_slice() {
            if let [_, Some(count)] = row.as_slice() {
                expected = Some(count.parse::<usize>().ok()?);
            }
        }
        let text: Vec<String> = rows.into_iter().filter_map(|r| r.into_iter().next().flatten()).collect();
        let items = text.iter().flat_map(|t| t.split(',')).filter(|item| !item.is_empty()).count();
        if expected.is_some_and(|n| n != items) {
            return None; // cut short: let the locked path read the rows
        }
        text.iter()
            .flat_map(|t| t.split(','))
            .filter(|item| !item.is_empty())
            .map(|item| {
                let mut parts = item.splitn(3, ':');
                let (key, checksum, state) = (parts.next()?, parts.next()?, parts.next()?);
                if state == "legacy" {
                    return None;
                }
                let versioned = !key.ends_with(".sql");
                Some(AppliedMigration {
                    version: versioned.then(|| key.to_string()),
                    description: String::new(),
                    filename: if versioned { String::new() } else { key.to_string() },
                    migration_type: String::new(),
                    applied_at: None,
                    checksum: (!checksum.is_empty()).then(|| checksum.to_string()),
                    checksum_algorithm: Some(dbwarden_core::checksum::ALGORITHM.to_string()),
                    rollback_checksum: None,
                    execution_time_ms: None,
                    state: RowState::parse(Some(state)),
                    statements_done: 0,
                    applied_by: None,
                    tool_version: None,
                })
            })
            .collect()
    }

    /// Rows read by [`History::select_sql`] with the same `has`, oldest version first.
    pub fn rows(rows: Vec<TextRow>, has: impl Fn(&str) -> bool) -> Vec<AppliedMigration> {
        let mut rows: Vec<AppliedMigration> = rows
            .into_iter()
            .map(|row| {
                let mut values = row.into_iter();
                let full = COLUMNS.iter().map(|(n, _)| if has(n) { values.next().flatten() } else { None }).collect();
                AppliedMigration::from_row(full)
            })
            .collect();
        rows.sort_by(|a, b| {
            let key = |r: &AppliedMigration| (r.version_number().is_none(), r.version_number());
            key(a).cmp(&key(b)).then_with(|| a.filename.cmp(&b.filename))
        });
        rows
    }

    /// Records one migration (`elapsed_ms` is an SQL expression, see [`SqlDialect::elapsed_ms`]), through the
    /// statement prepared on this session where there is one.
    pub fn insert(&self, row: &NewRow<'_>, elapsed_ms: &str) -> String {
        if self.prepared {
            return format!("EXECUTE dbwarden_record{}", self.values(row, elapsed_ms));
        }
        format!("INSERT INTO {} ({INSERT_COLUMNS}) VALUES {}", self.t(), self.values(row, elapsed_ms))
    }

    /// One INSERT recording a whole run (single-transaction mode): each row with its execution time. Through the
    /// dialect's [`SqlDialect::insert_rows`] where it has one, else a `VALUES` list.
    pub fn insert_run(&self, rows: &[(NewRow<'_>, u128)]) -> String {
        let numbers: Vec<[String; 2]> =
            rows.iter().map(|(row, ms)| [ms.to_string(), row.statements_done.to_string()]).collect();
        let cells: Vec<Option<&str>> =
            rows.iter().zip(&numbers).flat_map(|((row, _), [ms, done])| cells(row, ms, done)).collect();
        match self.d.insert_rows(&format!("{} ({INSERT_COLUMNS})", self.t()), &NUMERIC, &cells) {
            Some(sql) => sql,
            None => {
                let values: Vec<String> =
                    cells.chunks(NUMERIC.len()).map(|row| self.values_of(row.iter().copied())).collect();
                format!("INSERT INTO {} ({INSERT_COLUMNS}) VALUES {}", self.t(), values.join(", "))
            }
        }
    }

    fn values(&self, row: &NewRow<'_>, elapsed_ms: &str) -> String {
        let done = row.statements_done.to_string();
        self.values_of(cells(row, elapsed_ms, &done).into_iter())
    }

    /// `(v1, v2, ...)` of [`cells`]: text as literals, numbers (and the elapsed-time expression) as they are.
    fn values_of<'v>(&self, cells: impl Iterator<Item = Option<&'v str>>) -> String {
        // Appended piece by piece: this runs once per migration, and `format!` over ten `literal` strings was
        // most of dbwarden's own CPU time per migration on SQLite.
        let mut s = String::with_capacity(320);
        s.push('(');
        for (i, (cell, numeric)) in cells.zip(NUMERIC).enumerate() {
            if i > 0 {
                s.push_str(", ");
            }
            match cell {
                None => s.push_str("NULL"),
                Some(number) if numeric => s.push_str(number),
                Some(text) => self.d.push_literal(&mut s, text),
            }
        }
        s.push(')');
        s
    }

    /// Marks the progress of a migration that runs statement by statement and stopped part-way (`Partial` on the
    /// way up, `RollingBack` on the way down): `done` statements ran, and `ran` identifies them
    /// ([`dbwarden_core::checksum::statements_checksum`]), kept until the migration completes in place of the
    /// file's checksum (up, with its algorithm) or its rollback checksum (down, already carrying its prefix).
    pub fn progress(&self, filename: &str, state: RowState, done: usize, ran: &str) -> String {
        let ran = match state {
            RowState::RollingBack => format!("rollback_checksum = {}", self.d.literal(ran)),
            _ => format!(
                "checksum = {}, checksum_algorithm = {}",
                self.d.literal(ran),
                self.d.literal(dbwarden_core::checksum::STATEMENTS_ALGORITHM)
            ),
        };
        format!(
            "UPDATE {} SET state = {}, statements_done = {done}, {ran} WHERE filename = {}",
            self.t(),
            self.d.literal(state.as_str()),
            self.d.literal(filename)
        )
    }

    /// Gives a row its file's new name (a migration stopped part-way whose file was renamed before it resumed).
    pub fn rename(&self, from: &str, to: &str, description: &str) -> String {
        format!(
            "UPDATE {} SET filename = {}, description = {} WHERE filename = {}",
            self.t(),
            self.d.literal(to),
            self.d.literal(description),
            self.d.literal(from)
        )
    }

    /// Marks a row applied with the file's current checksums.
    pub fn finish(&self, filename: &str, checksum: &str, rollback_checksum: &str, elapsed_ms: &str) -> String {
        format!(
            "UPDATE {} SET state = 'applied', statements_done = 0, checksum = {}, checksum_algorithm = {}, rollback_checksum = {}, execution_time_ms = {elapsed_ms} WHERE filename = {}",
            self.t(),
            self.d.literal(checksum),
            self.d.literal(dbwarden_core::checksum::ALGORITHM),
            self.d.literal(rollback_checksum),
            self.d.literal(filename)
        )
    }

    /// Records new checksums for a row (adoption of a legacy row, `repair`), keeping its other values.
    pub fn set_checksums(&self, filename: &str, checksum: &str, rollback_checksum: &str) -> String {
        format!(
            "UPDATE {} SET checksum = {}, checksum_algorithm = {}, rollback_checksum = {} WHERE filename = {}",
            self.t(),
            self.d.literal(checksum),
            self.d.literal(dbwarden_core::checksum::ALGORITHM),
            self.d.literal(rollback_checksum),
            self.d.literal(filename)
        )
    }

    /// Prepares the statements repeated for every migration (insert, delete) on this session where the dialect
    /// can (PostgreSQL): parsed and planned once instead of a thousand times.
    pub async fn prepare(&mut self, backend: &mut dyn Backend) {
        if !self.d.prepares() || self.prepared {
            return;
        }
        let sql = format!(
            "PREPARE dbwarden_forget(text) AS DELETE FROM {t} WHERE filename = $1;\n\
             PREPARE dbwarden_record(text, text, text, text, text, text, text, bigint, text, bigint, text, text) AS \
             INSERT INTO {t} ({INSERT_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
            t = self.t()
        );
        self.prepared = backend.execute(&sql).await.is_ok();
    }

    /// Forgets a migration's row (its rollback completed), through the statement prepared on this session where
    /// there is one.
    pub fn delete(&self, filename: &str) -> String {
        if self.prepared {
            return format!("EXECUTE dbwarden_forget({})", self.d.literal(filename));
        }
        format!("DELETE FROM {} WHERE filename = {}", self.t(), self.d.literal(filename))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn agg(text: &str, count: usize) -> Vec<TextRow> {
        vec![vec![Some(text.to_string()), Some(count.to_string())]]
    }

    #[test]
    fn an_aggregate_cut_short_sends_the_caller_to_the_rows() {
        let full = "0001:abc:applied,0002:def:applied";
        let rows = History::plan_rows(agg(full, 2)).unwrap();
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[1].version.as_deref(), Some("0002"));
        // group_concat_max_len cut the text: fewer items than rows.
        assert!(History::plan_rows(agg("0001:abc:applied", 2)).is_none());
        // An empty history: no text, a zero count.
        assert_eq!(History::plan_rows(vec![vec![None, Some("0".into())]]).unwrap().len(), 0);
        // Python DBWarden rows go through the locked path, which adopts them.
        assert!(History::plan_rows(agg("0001:abc:legacy", 1)).is_none());
    }
}
