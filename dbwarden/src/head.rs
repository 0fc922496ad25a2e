//! The head record, `dbwarden_head`: what the last `migrate` that left a database complete saw, so that a start-up
//! with nothing to do reads one row instead of the whole history, flat in the history length.
//!
//! One row per lock namespace (database and history table): the [`Fingerprint`] of the migration set it applied.
//! The start-up check matches it against the binary's fingerprint (computed at compile time). What keeps the row
//! honest when someone edits the history by hand (deletes a row to force a re-run, adds one, changes a checksum):
//! triggers on the history table ("the guard", [`SqlDialect::head_guard`]) delete the row on any INSERT, UPDATE,
//! DELETE (and TRUNCATE on PostgreSQL), and the check reads whether the history table still exists and holds a row
//! (MySQL's TRUNCATE fires no trigger; a dropped table takes its triggers along). Where the triggers cannot be
//! created (MySQL with binary logging and no SUPER, say) the row says so (`watched = 0`) and the check counts the
//! history's rows instead, as every row count change is a hand edit: correct, but growing with the history.
//!
//! Every locked run deletes the row first (in the lock's commit); only a run that ends with the history exactly
//! equal to its files writes it back, and only if the history still has the row count it read. Anything else takes
//! the full path, which reads every row.

use dbwarden_core::file::Fingerprint;
use sha2::{Digest, Sha256};

use crate::backend::{Backend, SqlDialect, TextRow};

/// The head table (beside `dbwarden_lock`).
pub const HEAD_TABLE: &str = "dbwarden_head";

/// The column added after the first version of the table (a table without it is upgraded in place).
const WATCHED: &str = "watched";

fn create_table_sql(d: &dyn SqlDialect) -> String {
    let q = |c: &str| d.quote_ident(c);
    format!(
        "CREATE TABLE IF NOT EXISTS {} ({} VARCHAR(255) NOT NULL PRIMARY KEY, {} VARCHAR(64) NOT NULL, \
         {} BIGINT NOT NULL, {} BIGINT NOT NULL, {} BIGINT NOT NULL DEFAULT 0)",
        q(HEAD_TABLE),
        q("namespace"),
        q("digest"),
        q("migrations"),
        q("written_at"),
        q(WATCHED)
    )
}

/// The start-up check: the recorded digest and size, whether the guard watches the history, and whether the
/// history table exists and holds a row (an error if it is gone, which is a miss).
pub(crate) fn check_sql(d: &dyn SqlDialect, namespace: &str, history_table: &str) -> String {
    let q = |c: &str| d.quote_ident(c);
    format!(
        "SELECT {}, {}, {}, {} FROM {} WHERE {} = {}",
        d.text(&q("digest")),
        d.text(&q("migrations")),
        d.text(&q(WATCHED)),
        d.text(&format!("CASE WHEN EXISTS (SELECT 1 FROM {}) THEN 1 ELSE 0 END", q(history_table))),
        q(HEAD_TABLE),
        q("namespace"),
        d.literal(namespace)
    )
}

/// What [`check_sql`]'s rows say.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Check {
    /// The history is exactly the expected set, fully applied.
    Current,
    /// The record matches, but no guard watches the history: its row count decides ([`count_sql`]).
    CountRows,
    /// No record, another set, an emptied history: read every row.
    Stale,
}

/// Judges [`check_sql`]'s rows against the set the caller expects.
pub(crate) fn judge(rows: &[TextRow], expected: &Fingerprint) -> Check {
    let [row] = rows else { return Check::Stale };
    let text = |i: usize| row.get(i).and_then(|v| v.as_deref());
    if text(0) != Some(expected.digest.as_str()) || text(1) != Some(expected.migrations.to_string().as_str()) {
        return Check::Stale;
    }
    // Exact values only: SQLite reads a double-quoted name it cannot find as a string, so a head table from before
    // the guard answers `watched` here.
    match (text(2), text(3)) {
        (Some("1"), Some("1")) => Check::Current,
        (Some("0"), Some("1")) => Check::CountRows,
        _ => Check::Stale,
    }
}

/// The history's row count, for a record no guard watches.
pub(crate) fn count_sql(d: &dyn SqlDialect, history_table: &str) -> String {
    format!("SELECT {}", d.text(&format!("(SELECT COUNT(*) FROM {})", d.quote_ident(history_table))))
}

/// Whether [`count_sql`]'s rows give the expected number of migrations.
pub(crate) fn count_matches(rows: &[TextRow], expected: &Fingerprint) -> bool {
    let [row] = rows else { return false };
    row.first().and_then(|v| v.as_deref()) == Some(expected.migrations.to_string().as_str())
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

/// The name of the guard's trigger(s) for `namespace`: short, and distinct per namespace, since SQLite and MySQL
/// name triggers per schema, not per table. (A dialect that needs one trigger per event adds a suffix.)
fn guard_name(namespace: &str) -> String {
    let hash = Sha256::digest(namespace.as_bytes());
    let hex: String = hash.iter().take(4).map(|b| format!("{b:02x}")).collect();
    format!("{HEAD_TABLE}_{hex}")
}

/// Puts the guard on the history table (idempotent; run under the lock, outside any transaction, before the record
/// is written), upgrading a head table from before the guard first. Returns whether the guard is in place; a
/// failure (no privilege to create triggers) is logged and answered by a record the check verifies by counting.
pub(crate) async fn guard(backend: &mut dyn Backend, d: &dyn SqlDialect, namespace: &str, history: &str) -> bool {
    let columns = match backend.query(&d.columns_query(HEAD_TABLE)).await {
        Ok(rows) => rows,
        Err(e) => {
            tracing::debug!(error = %e, "reading the head table's columns");
            return false;
        }
    };
    if !columns.iter().any(|row| row.first().and_then(|v| v.as_deref()) == Some(WATCHED)) {
        let sql = format!(
            "ALTER TABLE {} ADD COLUMN {} BIGINT NOT NULL DEFAULT 0",
            d.quote_ident(HEAD_TABLE),
            d.quote_ident(WATCHED)
        );
        if let Err(e) = backend.execute(&sql).await {
            tracing::debug!(error = %e, "upgrading the head table");
            return false;
        }
    }
    match backend.execute(&d.head_guard(history, HEAD_TABLE, namespace, &guard_name(namespace))).await {
        Ok(()) => true,
        Err(e) => {
            // SQLite's guard is a transaction of its own: do not leave it open (elsewhere a harmless no-op).
            let _ = backend.execute("ROLLBACK").await;
            tracing::info!(
                error = %e,
                table = history,
                "could not create the triggers that watch the history table; start-up checks count its rows instead"
            );
            false
        }
    }
}

/// Records that the history now holds exactly the set `fingerprint` describes: written only if the history still
/// has that many rows, so a hand edit made since the run read it is not covered up.
pub(crate) fn write_sql(
    d: &dyn SqlDialect,
    namespace: &str,
    history_table: &str,
    fingerprint: &Fingerprint,
    watched: bool,
) -> String {
    let columns = ["namespace", "digest", "migrations", "written_at", WATCHED].map(|c| d.quote_ident(c)).join(", ");
    format!(
        "{};\nINSERT INTO {} ({columns}) SELECT {}, {}, {}, {}, {} FROM (SELECT COUNT(*) AS n FROM {}) c WHERE c.n = {}",
        clear_sql(d, namespace),
        d.quote_ident(HEAD_TABLE),
        d.literal(namespace),
        d.literal(&fingerprint.digest),
        fingerprint.migrations,
        crate::lock::now_ms(),
        u8::from(watched),
        d.quote_ident(history_table),
        fingerprint.migrations
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(cells: &[&str]) -> TextRow {
        cells.iter().map(|c| Some(c.to_string())).collect()
    }

    #[test]
    fn a_record_is_current_only_for_the_same_set_a_guard_watches_and_a_history_that_holds_rows() {
        let expected = Fingerprint { digest: "ab".into(), migrations: 2 };
        assert_eq!(judge(&[row(&["ab", "2", "1", "1"])], &expected), Check::Current);
        assert_eq!(judge(&[row(&["ab", "2", "0", "1"])], &expected), Check::CountRows, "no guard: count");
        assert_eq!(judge(&[row(&["ab", "2", "1", "0"])], &expected), Check::Stale, "history emptied (TRUNCATE)");
        assert_eq!(judge(&[row(&["ab", "3", "1", "1"])], &expected), Check::Stale, "another size");
        assert_eq!(judge(&[row(&["cd", "2", "1", "1"])], &expected), Check::Stale, "another set of files");
        assert_eq!(judge(&[], &expected), Check::Stale, "no record");
        assert_eq!(judge(&[vec![None, None, None, None]], &expected), Check::Stale);
        assert_eq!(judge(&[row(&["ab", "2", "watched", "1"])], &expected), Check::Stale, "SQLite, no such column");
        assert!(count_matches(&[row(&["2"])], &expected));
        assert!(!count_matches(&[row(&["1"])], &expected), "a history row deleted by hand");
        assert!(!count_matches(&[row(&["3"])], &expected), "a history row added by hand");
    }

    #[test]
    fn every_identifier_is_quoted() {
        let d = crate::backend::dialect::of(dbwarden_core::Dialect::MySql);
        let fingerprint = Fingerprint { digest: "ab".into(), migrations: 1 };
        let sql = write_sql(d, "app:_dbwarden_migrations", "_dbwarden_migrations", &fingerprint, true);
        for name in ["dbwarden_head", "namespace", "digest", "migrations", "written_at", "watched"] {
            assert!(sql.contains(&format!("`{name}`")), "{name} unquoted in {sql}");
        }
        assert!(check_sql(d, "x", "my`history").contains("`my``history`"));
        assert!(count_sql(d, "my`history").contains("`my``history`"));
    }

    #[test]
    fn guard_names_differ_per_namespace_and_fit_every_server() {
        let (a, b) = (guard_name("app:_dbwarden_migrations"), guard_name("app:other_history"));
        assert_ne!(a, b);
        // MySQL adds `_ins`/`_upd`/`_del`; 63 is PostgreSQL's limit, 64 MySQL's.
        assert!(a.len() + 4 <= 63 && a.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'_'), "{a}");
    }
}
