//! The head record, `dbwarden_head`: what the last `migrate` that left a database complete saw, so that a start-up
//! with nothing to do reads one row instead of the whole history (flat in the history length, unlike a scan).
//!
//! One row per lock namespace (database and history table): the [`Fingerprint`] of the migration set it applied.
//! The start-up check matches it against the binary's fingerprint (computed at compile time) and against the
//! history table's row count, read in the same query, so deleting or adding a history row by hand (to force a re-run)
//! is noticed. Every locked run that changes the history deletes the row first; only a run that ends with the history
//! exactly equal to its files writes it back (a run that must end with a commit that writes, for the disk flush it
//! waits for, writes a record that matches nothing instead, `incomplete_sql`). Anything else takes the full path,
//! which reads every row.

use dbwarden_core::file::Fingerprint;

use crate::backend::{SqlDialect, TextRow};

/// The head table (beside `dbwarden_lock`).
pub const HEAD_TABLE: &str = "dbwarden_head";

fn create_table_sql(d: &dyn SqlDialect) -> String {
    let q = |c: &str| d.quote_ident(c);
    format!(
        "CREATE TABLE IF NOT EXISTS {} ({} VARCHAR(255) NOT NULL PRIMARY KEY, {} VARCHAR(64) NOT NULL, \
         {} BIGINT NOT NULL, {} BIGINT NOT NULL)",
        q(HEAD_TABLE),
        q("namespace"),
        q("digest"),
        q("migrations"),
        q("written_at")
    )
}

/// The start-up check: the recorded digest and size, and the history table's current row count.
pub(crate) fn check_sql(d: &dyn SqlDialect, namespace: &str, history_table: &str) -> String {
    let q = |c: &str| d.quote_ident(c);
    format!(
        "SELECT {}, {}, {} FROM {} WHERE {} = {}",
        d.text(&q("digest")),
        d.text(&q("migrations")),
        d.text(&format!("(SELECT COUNT(*) FROM {})", q(history_table))),
        q(HEAD_TABLE),
        q("namespace"),
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
        "{};\nDELETE FROM {} WHERE {} = {}",
        create_table_sql(d),
        d.quote_ident(HEAD_TABLE),
        d.quote_ident("namespace"),
        d.literal(namespace)
    )
}

/// Records that the history now holds exactly the set `fingerprint` describes.
pub(crate) fn write_sql(d: &dyn SqlDialect, namespace: &str, fingerprint: &Fingerprint) -> String {
    let columns = ["namespace", "digest", "migrations", "written_at"].map(|c| d.quote_ident(c)).join(", ");
    format!(
        "{};\nINSERT INTO {} ({columns}) VALUES ({}, {}, {}, {})",
        clear_sql(d, namespace),
        d.quote_ident(HEAD_TABLE),
        d.literal(namespace),
        d.literal(&fingerprint.digest),
        fingerprint.migrations,
        crate::lock::now_ms()
    )
}

/// Records that the history is not known to be complete: a record no set of files matches (its digest is empty),
/// written where a run must end with a commit that writes something (see `migrator::unlock`).
pub(crate) fn incomplete_sql(d: &dyn SqlDialect, namespace: &str) -> String {
    write_sql(d, namespace, &Fingerprint { digest: String::new(), migrations: 0 })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_record_matches_only_the_same_set_and_row_count() {
        let expected = Fingerprint { digest: "ab".into(), migrations: 2 };
        let row = |d: &str, m: &str, n: &str| vec![Some(d.to_string()), Some(m.to_string()), Some(n.to_string())];
        assert!(matches(&[row("ab", "2", "2")], &expected));
        assert!(!matches(&[row("ab", "2", "1")], &expected), "a history row deleted by hand");
        assert!(!matches(&[row("ab", "2", "3")], &expected), "a history row added by hand");
        assert!(!matches(&[row("cd", "2", "2")], &expected), "another set of files");
        assert!(!matches(&[], &expected), "no record");
        assert!(!matches(&[vec![None, None, None]], &expected));
        let empty_set = Fingerprint { digest: "e3".into(), migrations: 0 };
        assert!(!matches(&[row("", "0", "0")], &empty_set), "the record of an incomplete history matches no set");
    }

    #[test]
    fn every_identifier_is_quoted() {
        let d = crate::backend::dialect::of(dbwarden_core::Dialect::MySql);
        let sql = write_sql(d, "app:_dbwarden_migrations", &Fingerprint { digest: "ab".into(), migrations: 1 });
        for name in ["dbwarden_head", "namespace", "digest", "migrations", "written_at"] {
            assert!(sql.contains(&format!("`{name}`")), "{name} unquoted in {sql}");
        }
        assert!(check_sql(d, "x", "my`history").contains("`my``history`"));
    }
}
