//! Three real projects' migration histories (../shared/corpus, read in place; see its README.md): crates.io on
//! PostgreSQL, authelia on MariaDB, atuin on SQLite. Everything applies in one run, a second run applies nothing, and
//! rolling back one migration at a time stops at the first rollback the corpus README says fails, naming its file and
//! line, with the history table still telling the truth about the schema and the lock released.

mod common;

use std::path::{Path, PathBuf};
use std::time::Duration;

use common::TestDb;
use dbwarden::history::RowState;
use dbwarden::{Dialect, Error, FailedStatement, Migrator, RollbackTo, Source, Step};

/// A project's folder in the shared corpus. A missing corpus fails the test: nothing is skipped.
fn corpus(project: &str) -> PathBuf {
    let dir = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/corpus")).join(project);
    assert!(dir.is_dir(), "the corpus folder {} is missing (see /work/shared/corpus/README.md)", dir.display());
    dir
}

/// The migration files of a corpus folder, oldest first, with their versions (`cratesio__0235_x.sql` → `0235`).
fn files(dir: &Path) -> Vec<(String, String)> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".sql"))
        .collect();
    names.sort();
    names
        .into_iter()
        .map(|n| {
            let (_, rest) = n.split_once("__").expect("<db>__NNNN_slug.sql");
            let version = rest[..4].to_string();
            assert!(version.bytes().all(|b| b.is_ascii_digit()), "{n}");
            (n, version)
        })
        .collect()
}

fn migrator(dir: &Path) -> Migrator {
    Migrator::new(Source::dir(dir)).lock_timeout(Duration::from_secs(10))
}

/// The user schema, one line per column, index, constraint, trigger, routine or view, sorted: compared before and
/// after a failed rollback.
async fn schema(db: &TestDb) -> Vec<String> {
    let sql = match db.dialect {
        Dialect::Postgres => {
            "SELECT x FROM (
                SELECT 'column ' || table_name || '.' || column_name || ' ' || data_type || ' ' || is_nullable
                       || ' ' || COALESCE(column_default, '') AS x
                  FROM information_schema.columns WHERE table_schema = 'public'
                UNION ALL
                SELECT 'index ' || indexname || ' ' || indexdef FROM pg_indexes WHERE schemaname = 'public'
                UNION ALL
                SELECT 'constraint ' || conrelid::regclass::text || ' ' || conname || ' ' || pg_get_constraintdef(oid)
                  FROM pg_constraint WHERE connamespace = 'public'::regnamespace
                UNION ALL
                SELECT 'trigger ' || tgrelid::regclass::text || ' ' || tgname FROM pg_trigger WHERE NOT tgisinternal
                UNION ALL
                SELECT 'routine ' || oid::regprocedure::text FROM pg_proc WHERE pronamespace = 'public'::regnamespace
                UNION ALL
                SELECT 'view ' || viewname FROM pg_views WHERE schemaname = 'public'
            ) s ORDER BY 1"
        }
        Dialect::MySql => {
            "SELECT x FROM (
                SELECT CONCAT('column ', table_name, '.', column_name, ' ', column_type, ' ', is_nullable, ' ',
                              COALESCE(column_default, '')) AS x
                  FROM information_schema.columns WHERE table_schema = DATABASE()
                UNION ALL
                SELECT CONCAT('index ', table_name, '.', index_name, ' ', seq_in_index, ' ', column_name, ' ',
                              non_unique)
                  FROM information_schema.statistics WHERE table_schema = DATABASE()
                UNION ALL
                SELECT CONCAT('constraint ', table_name, '.', constraint_name, ' ', constraint_type)
                  FROM information_schema.table_constraints WHERE constraint_schema = DATABASE()
                UNION ALL
                SELECT CONCAT('routine ', routine_type, ' ', routine_name)
                  FROM information_schema.routines WHERE routine_schema = DATABASE()
            ) s ORDER BY 1"
        }
        Dialect::Sqlite => "SELECT type || ' ' || name || ' ' || COALESCE(sql, '') FROM sqlite_master ORDER BY 1",
    };
    db.strings(sql).await
}

/// What rolling back one migration at a time did until the first error.
struct Outcome {
    /// The successful rollbacks, newest first.
    rolled_back: Vec<Step>,
    error: Error,
    /// The schema just before the failing attempt.
    schema_before: Vec<String>,
}

/// Rolls back `RollbackTo::Count(1)` again and again until one fails. Each success must revert exactly one migration
/// (so an empty history, which reverts nothing, also ends the loop, with a failed assertion).
async fn roll_back_one_at_a_time(m: &Migrator, db: &TestDb) -> Outcome {
    let mut rolled_back = Vec::new();
    loop {
        let schema_before = schema(db).await;
        match m.rollback(db.url.as_str(), RollbackTo::Count(1)).await {
            Ok(report) => {
                assert_eq!(report.steps.len(), 1, "rollback {} reverted {:?}", rolled_back.len() + 1, report.steps);
                rolled_back.extend(report.steps);
            }
            Err(error) => return Outcome { rolled_back, error, schema_before },
        }
    }
}

/// Applies the whole project in one run, then checks that a second run applies nothing.
async fn apply_all(m: &Migrator, db: &TestDb, files: &[(String, String)]) {
    let report = m.run(db.url.as_str()).await.unwrap_or_else(|e| {
        panic!("{e}");
    });
    let applied: Vec<&str> = report.steps.iter().map(|s| s.filename.as_str()).collect();
    let expected: Vec<&str> = files.iter().map(|(f, _)| f.as_str()).collect();
    assert_eq!(applied, expected);
    let versions: Vec<&str> = files.iter().map(|(_, v)| v.as_str()).collect();
    assert_eq!(db.recorded().await, versions);
    let again = m.run(db.url.as_str()).await.unwrap();
    assert!(again.steps.is_empty(), "second run applied {:?}", again.steps);
    let status = m.status(db.url.as_str()).await.unwrap();
    assert_eq!((status.applied, status.pending), (files.len(), 0));
    assert!(!status.has_problems());
    assert!(!m.lock_status(db.url.as_str()).await.unwrap().held);
}

/// Splits a rollback failure into where and why, or fails the test.
fn statement_error(error: Error) -> (FailedStatement, dbwarden::DbError) {
    match error {
        Error::Statement { at, source } => (at, source),
        other => panic!("expected a statement error, got {other:?}: {other}"),
    }
}

/// The text of line `line` (1-based) of a file.
fn line_of(path: &Path, line: u32) -> String {
    std::fs::read_to_string(path).unwrap().lines().nth(line as usize - 1).unwrap_or_default().to_string()
}

/// Checks that the successful rollbacks reverted the newest `n` files, newest first.
fn assert_reverted_newest(rolled_back: &[Step], files: &[(String, String)], n: usize) {
    let got: Vec<&str> = rolled_back.iter().map(|s| s.filename.as_str()).collect();
    let expected: Vec<&str> = files.iter().rev().take(n).map(|(f, _)| f.as_str()).collect();
    assert_eq!(got, expected);
}

/// crates.io: 285 migrations on PostgreSQL; rolling back, 0285 down to 0236 revert (50), then 0235's rollback drops a
/// constraint that does not exist (the upgrade made a unique index, not a constraint).
#[tokio::test]
async fn cratesio_on_postgresql() {
    let dir = corpus("cratesio-postgresql/cratesio");
    let files = files(&dir);
    assert_eq!(files.len(), 285);
    let db = TestDb::new(Dialect::Postgres).await;
    let m = migrator(&dir);
    apply_all(&m, &db, &files).await;

    // The advisory lock is gone once the run returns (advisory locks are per database; this one is ours alone).
    let advisory = "SELECT CAST(count(*) AS TEXT) FROM pg_locks \
                    WHERE locktype = 'advisory' \
                    AND database = (SELECT oid FROM pg_database WHERE datname = current_database())";
    assert_eq!(db.strings(advisory).await, ["0"]);

    let failing = "cratesio__0235_make_unique_version_unique.sql";
    let failing_at = files.iter().position(|(f, _)| f == failing).unwrap();
    let out = roll_back_one_at_a_time(&m, &db).await;
    // 0285 … 0236: 50 rollbacks apply, as the corpus README says.
    assert_eq!(out.rolled_back.len(), 50);
    assert_eq!(out.rolled_back.len(), files.len() - 1 - failing_at);
    assert_reverted_newest(&out.rolled_back, &files, 50);

    let (at, source) = statement_error(out.error);
    assert_eq!(at.file, failing, "{source}");
    assert!(at.rollback);
    assert_eq!((at.index, at.total, at.applied), (1, 1, 0), "{source}");
    assert!(line_of(&dir.join(failing), at.line).starts_with("alter table versions"), "line {} of {failing}", at.line);
    assert!(
        source.message.contains("versions_crate_id_num_no_build_uindex") && source.message.contains("does not exist"),
        "{source}"
    );

    // The failed migration and everything older is still recorded, as applied; nothing of it was undone.
    let kept: Vec<&str> = files[..=failing_at].iter().map(|(_, v)| v.as_str()).collect();
    assert_eq!(db.recorded().await, kept);
    let rows = m.history(db.url.as_str()).await.unwrap();
    let row = rows.iter().find(|r| r.filename == failing).unwrap();
    assert_eq!((row.state, row.statements_done), (RowState::Applied, 0));
    assert!(rows.iter().all(|r| r.state == RowState::Applied));
    assert_eq!(schema(&db).await, out.schema_before);
    assert!(
        db.strings("SELECT indexname::text FROM pg_indexes WHERE indexname = 'versions_crate_id_num_no_build_uindex'")
            .await
            .len()
            == 1
    );

    // Trying again fails the same way and changes nothing; the lock is released after the failure too.
    let (again, _) = statement_error(m.rollback(db.url.as_str(), RollbackTo::Count(1)).await.unwrap_err());
    assert_eq!(again, at);
    assert_eq!(schema(&db).await, out.schema_before);
    assert_eq!(db.recorded().await, kept);
    assert_eq!(db.strings(advisory).await, ["0"]);
    assert!(!m.lock_status(db.url.as_str()).await.unwrap().held);
}

/// authelia: 26 migrations on MariaDB. Rolling back from the newest, 0026 … 0008 revert: 19 rollbacks, of which 15 run
/// SQL and 4 (0026, 0025, 0011, 0009) have empty rollback sections and only forget their row. The README's "15 apply
/// and 4 are empty" counts the same 19. Then V0007's rollback fails at `CREATE UNIQUE INDEX kid` (`Duplicate key name
/// 'kid'`). MariaDB commits DDL implicitly, so the statements before it stay applied: the row must say so.
#[tokio::test]
async fn authelia_on_mariadb() {
    let dir = corpus("authelia-mysql/authelia");
    let files = files(&dir);
    assert_eq!(files.len(), 26);
    let db = TestDb::new(Dialect::MySql).await;
    let m = migrator(&dir);
    apply_all(&m, &db, &files).await;

    let failing = "authelia__0007_consistencyfixes.sql";
    let failing_at = files.iter().position(|(f, _)| f == failing).unwrap();
    let out = roll_back_one_at_a_time(&m, &db).await;
    assert_eq!(out.rolled_back.len(), 19);
    assert_eq!(out.rolled_back.len(), files.len() - 1 - failing_at);
    assert_reverted_newest(&out.rolled_back, &files, 19);
    let empty: Vec<&str> = out.rolled_back.iter().filter(|s| s.statements == 0).map(|s| s.filename.as_str()).collect();
    assert_eq!(
        empty,
        [
            "authelia__0026_storageaadrowscoped.sql",
            "authelia__0025_storageaad.sql",
            "authelia__0011_jwtprofileaccesstoken.sql",
            "authelia__0009_fixconstraints.sql",
        ]
    );
    assert_eq!(out.rolled_back.len() - empty.len(), 15);

    let (at, source) = statement_error(out.error);
    assert_eq!(at.file, failing, "{source}");
    assert!(at.rollback);
    assert!(source.message.contains("Duplicate key name 'kid'"), "{source}");
    assert!(
        line_of(&dir.join(failing), at.line).starts_with("CREATE UNIQUE INDEX kid ON webauthn_devices"),
        "line {} of {failing}",
        at.line
    );
    // Every statement before the failing one ran (autocommit) and is counted.
    assert_eq!(at.applied, at.index - 1, "{at:?}");
    assert!(at.applied > 0 && at.index < at.total, "{at:?}");

    // The failed migration and everything older is still recorded; 0007's row says how far its rollback got.
    let kept: Vec<&str> = files[..=failing_at].iter().map(|(_, v)| v.as_str()).collect();
    assert_eq!(db.recorded().await, kept);
    let rows = m.history(db.url.as_str()).await.unwrap();
    let row = rows.iter().find(|r| r.filename == failing).unwrap();
    assert_eq!((row.state, row.statements_done), (RowState::RollingBack, at.applied));
    assert!(rows.iter().filter(|r| r.filename != failing).all(|r| r.state == RowState::Applied));
    // Those statements changed the schema (no transactional DDL here).
    let after = schema(&db).await;
    assert_ne!(after, out.schema_before);

    // migrate refuses to run over a rollback stopped part-way.
    match m.run(db.url.as_str()).await {
        Err(Error::Partial { file, done, .. }) => {
            assert_eq!((file.as_str(), done), (failing, at.applied))
        }
        other => panic!("expected Partial, got {other:?}"),
    }
    // A second rollback resumes at the failing statement (re-running the ones before would fail on other names
    // first) and fails there again without changing anything.
    let (again, source) = statement_error(m.rollback(db.url.as_str(), RollbackTo::Count(1)).await.unwrap_err());
    assert_eq!(again, at, "{source}");
    assert_eq!(schema(&db).await, after);
    assert_eq!(db.recorded().await, kept);
    assert!(!m.lock_status(db.url.as_str()).await.unwrap().held);
}

/// atuin: 12 migrations on SQLite, all `-- dbwarden: irreversible` (the originals have no down migrations). The very
/// first rollback is refused before anything runs, naming the newest file.
#[tokio::test]
async fn atuin_on_sqlite() {
    let dir = corpus("atuin-sqlite/atuin");
    let files = files(&dir);
    assert_eq!(files.len(), 12);
    let db = TestDb::new(Dialect::Sqlite).await;
    let m = migrator(&dir);
    apply_all(&m, &db, &files).await;
    let versions: Vec<&str> = files.iter().map(|(_, v)| v.as_str()).collect();

    let newest = "atuin__0012_history_author_kind.sql";
    assert_eq!(files.last().unwrap().0, newest);
    let out = roll_back_one_at_a_time(&m, &db).await;
    assert!(out.rolled_back.is_empty());
    match out.error {
        Error::Irreversible { file } => assert_eq!(file, newest),
        other => panic!("expected Irreversible, got {other:?}: {other}"),
    }
    // Rolling back everything is refused the same way, before any of it runs.
    match m.rollback(db.url.as_str(), RollbackTo::Version(0)).await {
        Err(Error::Irreversible { file }) => assert_eq!(file, newest),
        other => panic!("expected Irreversible, got {other:?}"),
    }
    assert_eq!(db.recorded().await, versions);
    assert_eq!(schema(&db).await, out.schema_before);
    assert!(db.tables().await.contains(&"history".to_string()));
    assert!(!m.lock_status(db.url.as_str()).await.unwrap().held);
}
