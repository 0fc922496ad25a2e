//! The head record, `dbwarden_head`: what the last `migrate` that left a database complete saw, so that a start-up
//! with nothing to do reads one row instead of the whole history (flat in the history length, unlike a scan).
//!
//! One row per lock namespace (database and history table): the [`Fingerprint`] of the migration set it applied.
//! The start-up check matches it against the binary's fingerprint (computed at compile time) and against the
//! history table's row count, read in the same query, so deleting or adding a history row by hand (to force a re-run)
//! is noticed. Every locked run that changes the history deletes the row first; only a run that ends with the history
//! exactly equal to its files writes it back. Anything else takes the full path, which reads every row.

use dbwarden_core::file::Fingerprint;

use crate::backend::{SqlDialect, TextRow};

/// The head table (beside `dbwarden_lock`).
pub const HEAD_TABLE: &str = "dbwarden_head";

fn create_table_sql(d: &dyn SqlDialect) -> String {
    format!(
        "CREATE TABLE IF NOT EXISTS {} (namespace VARCHAR(255) NOT NULL PRIMARY KEY, digest VARCHAR(64) NOT NULL, \
         migrations BIGINT NOT NULL, written_at BIGINT NOT NULL)",
        d.quote_ident(HEAD_TABLE)
    )
}

/// The start-up check: the recorded digest and size, and the history table's current row count.
pub(crate) fn check_sql(d: &dyn SqlDialect, namespace: &str, history_table: &str) -> String {
    format!(
        "SELECT {}, {}, {} FROM {} WHERE namespace = {}",
        d.text("digest"),
        d.text("migrations"),
        d.text(&format!("(SELECT COUNT(*) FROM {})", d.quote_ident(history_table))),
        d.quote_ident(HEAD_TABLE),
        d.literal(namespace)
    )
}

/// Whether [`check_sql`]'s rows say that the history is exactly `expected`, fully applied.
pub(crate) fn matches(rows: &[TextRow], expected: &Fingerprint) -> bool {
    let [row] = rows else { return false };
    let text = |i: usize| row.get(i).and_then(|v| v.as_deref());
    let migrations = expected.migrations.to_string();
    text(0) == Some(expected.digest.as_str())
        && text(1) == Some(migrations.as_str())
        && text(2) == Some(migrations.as_str())
}

/// Forgets the record (first thing in a locked run that changes the history); creates the table on first use.
pub(crate) fn clear_sql(d: &dyn SqlDialect, namespace: &str) -> String {
    format!(
        "{};\nDELETE FROM {} WHERE namespace = {}",
        create_table_sql(d),
        d.quote_ident(HEAD_TABLE),
        d.literal(namespace)
    )
}

/// Records that the history now holds exactly the set `fingerprint` describes.
pub(crate) fn write_sql(d: &dyn SqlDialect, namespace: &str, fingerprint: &Fingerprint) -> String {
    format!(
        "{};\nINSERT INTO {} (namespace, digest, migrations, written_at) VALUES ({}, {}, {}, {})",
        clear_sql(d, namespace),
        d.quote_ident(HEAD_TABLE),
        d.literal(namespace),
        d.literal(&fingerprint.digest),
        fingerprint.migrations,
        crate::lock::now_ms()
    )
}
