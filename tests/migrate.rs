//! The library migrator against real SQLite, PostgreSQL and MariaDB databases: apply, roll back, status, failures
//! and resume, edited files, adoption of a Python DBWarden history, dry run, baseline, embedding.

mod common;

use std::path::{Path, PathBuf};
use std::time::Duration;

use common::{write_migrations, TestDb};
use dbwarden::{Dialect, EntryState, Error, Migrator, RollbackTo, Source};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/basic")
}

/// A migration that creates table `t` and drops it on rollback.
fn create_table(t: &str) -> String {
    format!("-- upgrade\nCREATE TABLE {t} (id INTEGER);\n-- rollback\nDROP TABLE {t};\n")
}

fn migrator(dir: &Path) -> Migrator {
    Migrator::new(Source::dir(dir)).lock_timeout(Duration::from_secs(5))
}

/// Runs a scenario once per backend, each as its own test.
macro_rules! per_backend {
    ($($name:ident),* $(,)?) => {
        mod sqlite { $( #[tokio::test] async fn $name() { super::$name(dbwarden::Dialect::Sqlite).await } )* }
        mod postgres { $( #[tokio::test] async fn $name() { super::$name(dbwarden::Dialect::Postgres).await } )* }
        mod mariadb { $( #[tokio::test] async fn $name() { super::$name(dbwarden::Dialect::MySql).await } )* }
    };
}

per_backend!(
    apply_status_rollback,
    failure_reports_the_line_releases_the_lock_and_resumes,
    a_syntax_error_names_its_statement,
    edited_upgrade_stops_migrate_and_repair_accepts_it,
    rollback_refuses_a_file_that_is_not_what_ran,
    python_dbwarden_history_is_adopted,
    dry_run_writes_nothing_and_baseline_runs_nothing,
    target_version_and_count,
    irreversible_and_empty_rollbacks,
    a_rollback_that_cannot_be_split_stops_before_any_runs,
    the_recorded_execution_time_is_the_migrations_own,
    repeatables_run_after_versioned,
    identical_sql_in_two_files_runs_twice,
    single_transaction_is_all_or_nothing,
    a_failure_names_what_the_run_did_before_it,
    out_of_order_files_are_flagged_refused_and_applied_on_request,
    a_gone_repeatable_is_no_problem_a_missing_versioned_file_stops_migrate,
    the_history_table_keeps_one_row_per_file,
);

/// The history table refuses a second row for a file (what keeps a migration recorded once); on SQLite the file
/// name is the key of a `WITHOUT ROWID` table, so no separate index is written per migration.
async fn the_history_table_keeps_one_row_per_file(dialect: Dialect) {
    let db = TestDb::new(dialect).await;
    migrator(&fixtures()).run(db.url.as_str()).await.unwrap();
    let duplicate =
        "INSERT INTO _dbwarden_migrations (version, filename) VALUES ('0001', 'app__0001_create_users.sql')";
    let refused = db.try_exec(duplicate).await.expect_err("a second row for one file must be refused");
    assert!(refused.to_lowercase().contains("unique") || refused.contains("Duplicate"), "{refused}");
    db.exec("INSERT INTO _dbwarden_migrations (version, filename) VALUES ('0009', 'app__0009_other.sql')").await;
    if dialect == Dialect::Sqlite {
        let sql = db.strings("SELECT sql FROM sqlite_master WHERE name = '_dbwarden_migrations'").await;
        assert!(sql[0].ends_with("WITHOUT ROWID"), "{sql:?}");
        let indexes = "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = '_dbwarden_migrations'";
        assert_eq!(db.strings(indexes).await, Vec::<String>::new());
    }
}

/// A file older than the newest applied version: `status` flags it (a problem: exit 1 in the CLI), `migrate`
/// refuses it naming the file, and `out_of_order(true)` applies it.
async fn out_of_order_files_are_flagged_refused_and_applied_on_request(dialect: Dialect) {
    let db = TestDb::new(dialect).await;
    let dir = write_migrations(
        db.dir.path(),
        "app",
        &[("app__0001_a.sql", &create_table("a")), ("app__0003_c.sql", &create_table("c"))],
    );
    migrator(&dir).run(db.url.as_str()).await.unwrap();
    std::fs::write(dir.join("app__0002_b.sql"), create_table("b")).unwrap();
    let status = migrator(&dir).status(db.url.as_str()).await.unwrap();
    let b = status.entries.iter().find(|e| e.filename == "app__0002_b.sql").unwrap();
    assert_eq!(b.state, EntryState::OutOfOrder, "{dialect}");
    assert!(status.has_problems() && status.pending == 1, "{dialect}: {status:?}");
    match migrator(&dir).run(db.url.as_str()).await {
        Err(Error::OutOfOrder { file, applied }) => {
            assert_eq!((file.as_str(), applied.as_str()), ("app__0002_b.sql", "app__0003_c.sql"))
        }
        other => panic!("{dialect}: {other:?}"),
    }
    assert_eq!(migrator(&dir).out_of_order(true).run(db.url.as_str()).await.unwrap().steps.len(), 1);
    let status = migrator(&dir).status(db.url.as_str()).await.unwrap();
    assert!(!status.has_problems() && status.pending == 0, "{dialect}: {status:?}");
}

/// A run that fails at its third migration says, in the error, that the first two were applied and stay so (the
/// CLI printed only the error, as if nothing had happened); a rollback likewise.
async fn a_failure_names_what_the_run_did_before_it(dialect: Dialect) {
    let db = TestDb::new(dialect).await;
    let dir = write_migrations(
        db.dir.path(),
        "app",
        &[
            ("app__0001_a.sql", "-- upgrade\nCREATE TABLE a (id INTEGER);\n-- rollback\nDROP TABLE nowhere;\n"),
            ("app__0002_b.sql", &create_table("b")),
            ("app__0003_bad.sql", "-- upgrade\nINSERT INTO nowhere VALUES (1);\n-- rollback\n"),
        ],
    );
    let e = migrator(&dir).run(db.url.as_str()).await.unwrap_err();
    let Error::Statement { at, .. } = &e else { panic!("{e:?}") };
    assert_eq!(at.earlier, ["app__0001_a.sql", "app__0002_b.sql"], "{dialect}");
    assert!(
        e.to_string().contains("applied before it in this run, which stay applied: app__0001_a.sql, app__0002_b.sql"),
        "{dialect}: {e}"
    );
    assert_eq!(db.recorded().await, ["0001", "0002"], "{dialect}");

    std::fs::remove_file(dir.join("app__0003_bad.sql")).unwrap();
    let e = migrator(&dir).rollback(db.url.as_str(), RollbackTo::Version(0)).await.unwrap_err();
    let Error::Statement { at, .. } = &e else { panic!("{e:?}") };
    assert_eq!((at.file.as_str(), at.earlier.as_slice()), ("app__0001_a.sql", &["app__0002_b.sql".to_string()][..]));
    assert!(
        e.to_string().contains("rolled back before it in this run, which stay rolled back: app__0002_b.sql"),
        "{e}"
    );
    assert_eq!(db.recorded().await, ["0001"], "{dialect}");
}

async fn apply_status_rollback(dialect: Dialect) {
    let db = TestDb::new(dialect).await;
    let m = migrator(&fixtures());
    let status = m.status(db.url.as_str()).await.unwrap();
    assert_eq!((status.applied, status.pending), (0, 3));

    let report = m.run(db.url.as_str()).await.unwrap();
    let applied: Vec<&str> = report.steps.iter().map(|s| s.filename.as_str()).collect();
    assert_eq!(applied, ["app__0001_create_users.sql", "app__0002_tags_and_names.sql", "app__0003_posts.sql"]);
    assert_eq!(db.tables().await, ["posts", "tags", "users"]);
    assert_eq!(db.strings("SELECT email FROM users").await, ["a;b@example.com"]);
    assert_eq!(db.strings("SELECT label FROM tags").await, ["it's; fine"]);
    assert_eq!(db.recorded().await, ["0001", "0002", "0003"]);

    // Everything applied: a second run does nothing.
    assert!(m.run(db.url.as_str()).await.unwrap().steps.is_empty());
    let status = m.status(db.url.as_str()).await.unwrap();
    assert_eq!((status.applied, status.pending), (3, 0));
    assert!(!status.has_problems());

    let back = m.rollback(db.url.as_str(), RollbackTo::Count(1)).await.unwrap();
    assert_eq!(back.steps[0].filename, "app__0003_posts.sql");
    assert_eq!(db.tables().await, ["tags", "users"]);
    let back = m.rollback(db.url.as_str(), RollbackTo::Version(0)).await.unwrap();
    assert_eq!(back.steps.len(), 2);
    assert!(db.tables().await.is_empty());
    assert!(m.history(db.url.as_str()).await.unwrap().is_empty());

    // And forward again from scratch.
    assert_eq!(m.run(db.url.as_str()).await.unwrap().steps.len(), 3);
}

/// A syntax error names its own statement and line, in the upgrade and in the rollback, one migration at a time
/// or all in one transaction: PostgreSQL parses a whole batch before running any of it (nothing counts as done), so
/// the statement is found from the position the server points at (it was "statement 1", at the batch's first line).
async fn a_syntax_error_names_its_statement(dialect: Dialect) {
    let db = TestDb::new(dialect).await;
    let text =
        "-- upgrade\nCREATE TABLE t1 (id INTEGER);\nINSERT INTO t1 VALUES (1);\nSELEC 1;\nINSERT INTO t1 VALUES (2);\n\
                -- rollback\nDELETE FROM t1;\nDROPP TABLE t1;\n";
    let dir = write_migrations(db.dir.path(), "app", &[("app__0001_bad.sql", text)]);
    let modes: &[bool] = if dialect == Dialect::MySql { &[false] } else { &[false, true] };
    for &one_transaction in modes {
        match migrator(&dir).single_transaction(one_transaction).run(db.url.as_str()).await {
            Err(Error::Statement { at, source }) => {
                assert_eq!((at.line, at.index, at.total), (4, 3, 4), "{dialect} {one_transaction}: {source}");
                assert!(source.message.contains("SELEC"), "{source}");
            }
            other => panic!("{dialect}: expected a statement error, got {other:?}"),
        }
    }
    // The upgrade fixed (on MariaDB it resumes after the two statements that ran), the rollback's error.
    let fixed = text.replace("SELEC 1", "SELECT 1");
    std::fs::write(dir.join("app__0001_bad.sql"), &fixed).unwrap();
    // (On MariaDB statements 1 and 2 ran and are recorded: changing statement 3 is allowed.)
    migrator(&dir).run(db.url.as_str()).await.unwrap();
    match migrator(&dir).rollback(db.url.as_str(), RollbackTo::Count(1)).await {
        Err(Error::Statement { at, source }) => {
            assert_eq!((at.line, at.index, at.total, at.rollback), (8, 2, 2, true), "{dialect}: {source}");
        }
        other => panic!("{dialect}: expected a statement error, got {other:?}"),
    }
}

async fn failure_reports_the_line_releases_the_lock_and_resumes(dialect: Dialect) {
    let db = TestDb::new(dialect).await;
    let bad = "-- upgrade\nCREATE TABLE t1 (id INTEGER);\nCREATE TABLE t2 (id INTEGER);\nINSERT INTO missing_table VALUES (1);\n-- rollback\nDROP TABLE t2;\nDROP TABLE t1;\n";
    let dir = write_migrations(
        db.dir.path(),
        "app",
        &[
            ("app__0001_first.sql", "-- upgrade\nCREATE TABLE t0 (id INTEGER);\n-- rollback\nDROP TABLE t0;\n"),
            ("app__0002_broken.sql", bad),
        ],
    );
    let m = migrator(&dir).lock_timeout(Duration::from_secs(2));
    for _attempt in 0..2 {
        // The second attempt proves the lock was released: it fails the same way at once, not with a lock timeout.
        match m.run(db.url.as_str()).await {
            Err(Error::Statement { at, source }) => {
                assert_eq!(
                    (at.file.as_str(), at.line, at.index, at.total),
                    ("app__0002_broken.sql", 4, 3, 3),
                    "{source}"
                );
                assert!(!at.rollback);
                // Transactional DDL rolls the migration back; MariaDB keeps (and records) what ran.
                assert_eq!(at.applied, if dialect == Dialect::MySql { 2 } else { 0 });
            }
            other => panic!("expected a statement error, got {other:?}"),
        }
    }
    let expected: &[&str] = if dialect == Dialect::MySql { &["t0", "t1", "t2"] } else { &["t0"] };
    assert_eq!(db.tables().await, expected);
    let status = m.status(db.url.as_str()).await.unwrap();
    let state = status.entries.iter().find(|e| e.filename == "app__0002_broken.sql").unwrap().state;
    assert_eq!(state, if dialect == Dialect::MySql { EntryState::Partial } else { EntryState::Pending });

    let fixed = bad.replace("INSERT INTO missing_table VALUES (1)", "CREATE TABLE t3 (id INTEGER)");
    if dialect == Dialect::MySql {
        // A dry run shows what the run would send: the statements after those that ran.
        let report = migrator(&dir).dry_run(true).run(db.url.as_str()).await.unwrap();
        let sql = report.steps[0].sql.as_deref().unwrap();
        assert!(sql.contains("resumes at statement 3 of 3") && !sql.contains("CREATE TABLE t1"), "{sql}");
        // A baseline would record as never run a migration that ran in part: refused, naming it (it was a
        // duplicate-key error from the history table).
        match migrator(&dir).baseline(true).run(db.url.as_str()).await {
            Err(Error::Partial { file, state, done: 2, total: 3 }) => {
                assert_eq!(file, "app__0002_broken.sql");
                assert!(state.contains("--baseline"), "{state}");
            }
            other => panic!("expected a refusal, got {other:?}"),
        }
        assert_eq!(db.tables().await, ["t0", "t1", "t2"], "nothing ran");
        // The failed statement removed: nothing is left to run, and the dry run says so (it said "statement 3 of
        // 2"); with fewer statements than ran, it refuses as the run does.
        let two = bad.replace("INSERT INTO missing_table VALUES (1);\n", "");
        std::fs::write(dir.join("app__0002_broken.sql"), &two).unwrap();
        let report = migrator(&dir).dry_run(true).run(db.url.as_str()).await.unwrap();
        let sql = report.steps[0].sql.as_deref().unwrap();
        assert!(sql.contains("all 2 statements ran before") && !sql.contains("resumes"), "{sql}");
        std::fs::write(dir.join("app__0002_broken.sql"), two.replace("CREATE TABLE t2 (id INTEGER);\n", "")).unwrap();
        let refused = migrator(&dir).dry_run(true).run(db.url.as_str()).await;
        assert!(
            matches!(refused, Err(Error::RanStatementsEdited { ran: 2, total: 1, rollback: false, .. })),
            "{refused:?}"
        );
        // Fixing the failed statement but also changing one that ran: resuming would skip the changed statement
        // and record the file as applied. Refused, naming the file.
        std::fs::write(dir.join("app__0002_broken.sql"), fixed.replace("CREATE TABLE t1", "CREATE TABLE t1_renamed"))
            .unwrap();
        // The dry run refuses as the run does (it printed "resumes at statement 3").
        let refused = migrator(&dir).dry_run(true).run(db.url.as_str()).await;
        assert!(matches!(refused, Err(Error::RanStatementsEdited { ran: 2, total: 3, .. })), "{refused:?}");
        match m.run(db.url.as_str()).await {
            Err(e @ Error::RanStatementsEdited { ran: 2, total: 3, rollback: false, .. }) => {
                let message = e.to_string();
                assert!(message.starts_with("app__0002_broken.sql: the upgrade stopped part-way after statement 2, and statements 1 to 2, which ran, have changed"), "{message}");
                let hint = e.hint().unwrap();
                assert!(hint.contains("restore statements 1 to 2") && hint.contains("dbwarden repair"), "{hint}");
            }
            other => panic!("expected a refusal, got {other:?}"),
        }
        assert_eq!(db.tables().await, ["t0", "t1", "t2"], "nothing ran");
    }
    // Fix the file: the next run resumes (MariaDB: at statement 3, so t1 and t2 are not created twice).
    std::fs::write(dir.join("app__0002_broken.sql"), fixed).unwrap();
    let report = m.run(db.url.as_str()).await.unwrap();
    assert_eq!(report.steps.len(), 1);
    assert_eq!(db.tables().await, ["t0", "t1", "t2", "t3"]);
    assert_eq!(db.recorded().await, ["0001", "0002"]);
    assert_eq!(m.status(db.url.as_str()).await.unwrap().pending, 0);
}

async fn edited_upgrade_stops_migrate_and_repair_accepts_it(dialect: Dialect) {
    let db = TestDb::new(dialect).await;
    let text = "-- upgrade\nCREATE TABLE a (id INTEGER);\n-- rollback\nDROP TABLE a;\n";
    let dir = write_migrations(db.dir.path(), "app", &[("app__0001_a.sql", text)]);
    let m = migrator(&dir);
    m.run(db.url.as_str()).await.unwrap();

    // Editing the rollback section (or line ends) is not an edit of what was applied.
    std::fs::write(
        dir.join("app__0001_a.sql"),
        text.replace("DROP TABLE a;", "DROP TABLE IF EXISTS a;").replace('\n', "\r\n"),
    )
    .unwrap();
    m.run(db.url.as_str()).await.unwrap();

    std::fs::write(dir.join("app__0001_a.sql"), text.replace("id INTEGER", "id BIGINT")).unwrap();
    std::fs::write(
        dir.join("app__0002_b.sql"),
        "-- upgrade\nCREATE TABLE b (id INTEGER);\n-- rollback\nDROP TABLE b;\n",
    )
    .unwrap();
    match m.run(db.url.as_str()).await {
        Err(e @ Error::Edited { .. }) => {
            assert!(e.to_string().contains("app__0001_a.sql"), "{e}");
            assert!(e.hint().unwrap().contains("repair"));
        }
        other => panic!("expected Edited, got {other:?}"),
    }
    assert_eq!(db.tables().await, ["a"], "nothing ran");
    let status = m.status(db.url.as_str()).await.unwrap();
    assert_eq!(status.entries[0].state, EntryState::Edited);
    assert!(status.has_problems());

    assert_eq!(m.repair(db.url.as_str()).await.unwrap(), ["app__0001_a.sql"]);
    m.run(db.url.as_str()).await.unwrap();
    assert_eq!(db.tables().await, ["a", "b"]);
}

/// A SQLite table rebuild that failed after its `PRAGMA foreign_keys = OFF`, run again on a new connection (where
/// the keys are on again), must run the pragma first, or its DROP TABLE deletes every child row through ON DELETE
/// CASCADE (it did, and reported success). As generated (the pragma alone, then one transaction), the failure
/// rolls the transaction back and records nothing: the pragma only set up the session, so the next run starts
/// over. In a `no-transaction` file the statements after the pragma commit one by one and are recorded, so the
/// next run resumes, and runs the pragma again first.
#[tokio::test]
async fn a_sqlite_rebuild_run_again_sets_its_pragma_again() {
    let base = "-- upgrade\nCREATE TABLE parent (id INTEGER PRIMARY KEY, code VARCHAR(20));\n\
                CREATE TABLE child (id INTEGER PRIMARY KEY, parent_id INTEGER REFERENCES parent (id) ON DELETE CASCADE);\n\
                -- rollback\nDROP TABLE child;\nDROP TABLE parent;\n";
    let rebuild = "-- upgrade\n-- @dbwarden:autocommit\nPRAGMA foreign_keys = OFF;\n\
                   CREATE TABLE parent_new (id INTEGER PRIMARY KEY, code VARCHAR(20) NOT NULL);\n\
                   INSERT INTO parent_new (id, code) SELECT id, code FROM parent;\nDROP TABLE parent;\n\
                   ALTER TABLE parent_new RENAME TO parent;\n-- @dbwarden:autocommit\nPRAGMA foreign_keys = ON;\n-- rollback\n";
    // (header, statements of the rebuild that stayed applied and are recorded when its INSERT fails)
    for (header, applied) in [("", 0), ("-- dbwarden: no-transaction\n", 2)] {
        let db = TestDb::new(Dialect::Sqlite).await;
        let dir = write_migrations(db.dir.path(), "app", &[("app__0001_base.sql", base)]);
        let m = migrator(&dir);
        m.run(db.url.as_str()).await.unwrap();
        db.exec("INSERT INTO parent VALUES (1, 'a'), (2, NULL)").await;
        db.exec("INSERT INTO child VALUES (10, 1), (11, 2), (12, 1)").await;
        std::fs::write(dir.join("app__0002_rebuild.sql"), format!("{header}{rebuild}")).unwrap();
        match m.run(db.url.as_str()).await {
            Err(e @ Error::Statement { .. }) => {
                let Error::Statement { at, .. } = &e else { unreachable!() };
                assert_eq!((at.index, at.applied), (3, applied), "{header}: {e}");
                if applied == 0 {
                    assert!(!e.to_string().contains("stayed applied"), "{e}");
                    assert!(e.hint().unwrap().contains("nothing of app__0002_rebuild.sql stayed applied"));
                }
            }
            other => panic!("expected the NOT NULL failure, got {other:?}"),
        }
        let rows = "SELECT filename || ' ' || state FROM _dbwarden_migrations ORDER BY filename";
        let mut expected = vec!["app__0001_base.sql applied".to_string()];
        if applied > 0 {
            expected.push("app__0002_rebuild.sql partial".into());
        }
        assert_eq!(db.strings(rows).await, expected, "{header}");
        db.exec("UPDATE parent SET code = 'b' WHERE code IS NULL").await;
        if applied == 0 {
            // Nothing of it stayed: the scratch table went with the rolled back transaction.
            assert!(!db.tables().await.contains(&"parent_new".to_string()));
        }
        m.run(db.url.as_str()).await.unwrap();
        assert_eq!(db.strings("SELECT CAST(COUNT(*) AS TEXT) FROM child").await, ["3"], "{header}: no child row lost");
        assert_eq!(db.strings("SELECT code FROM parent ORDER BY id").await, ["a", "b"]);
    }
}

/// A migration whose statements run one by one (`no-transaction`; every statement on MySQL) and fail right after
/// a session setup statement: nothing is recorded and the error says nothing stayed applied, on every backend,
/// including a failing last statement sent alone (PostgreSQL's `CREATE INDEX CONCURRENTLY`).
#[tokio::test]
async fn failing_right_after_session_setup_records_nothing_on_every_backend() {
    for dialect in common::ALL {
        let db = TestDb::new(dialect).await;
        let (setup, failing) = match dialect {
            Dialect::Postgres => ("SET lock_timeout = '2s'", "CREATE INDEX CONCURRENTLY ix ON nope (a)"),
            Dialect::MySql => ("SET FOREIGN_KEY_CHECKS = 0", "DROP TABLE nope"),
            Dialect::Sqlite => ("PRAGMA foreign_keys = OFF", "DROP TABLE nope"),
        };
        let file = format!("-- dbwarden: no-transaction\n-- upgrade\n{setup};\n{failing};\n-- rollback\n");
        let dir = write_migrations(db.dir.path(), "app", &[("app__0001_a.sql", &file)]);
        let err = migrator(&dir).run(db.url.as_str()).await.unwrap_err();
        match &err {
            Error::Statement { at, .. } => assert_eq!((at.index, at.applied), (2, 0), "{dialect}: {err}"),
            other => panic!("{dialect}: expected the failed statement, got {other:?}"),
        }
        assert!(!err.to_string().contains("stayed applied"), "{dialect}: {err}");
        let rows = db.strings("SELECT filename FROM _dbwarden_migrations").await;
        assert!(rows.is_empty(), "{dialect}: {rows:?}");
    }
}

/// An autocommit statement that can run in a transaction shares one with its progress row (a `no-transaction`
/// file's INSERT on every backend): when the row cannot be written, the INSERT is rolled back with it, so a run
/// ended between the two (a killed process, a session ended from outside) never leaves a statement that ran
/// without its row, which the next run would run again. Shown with a trigger refusing the history row.
#[tokio::test]
async fn an_autocommit_statement_commits_with_its_progress_row() {
    for dialect in common::ALL {
        let db = TestDb::new(dialect).await;
        let first = "-- upgrade\nCREATE TABLE log (n INTEGER);\n-- rollback\nDROP TABLE log;\n";
        let dir = write_migrations(db.dir.path(), "app", &[("app__0001_log.sql", first)]);
        let m = migrator(&dir);
        m.run(db.url.as_str()).await.unwrap();
        match dialect {
            Dialect::Sqlite => {
                db.exec("CREATE TRIGGER stop BEFORE INSERT ON _dbwarden_migrations BEGIN SELECT RAISE(ABORT, 'no rows'); END")
                    .await
            }
            Dialect::Postgres => {
                db.exec("CREATE FUNCTION stop() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'no rows'; END $$")
                    .await;
                db.exec("CREATE TRIGGER stop BEFORE INSERT ON _dbwarden_migrations FOR EACH ROW EXECUTE FUNCTION stop()").await
            }
            Dialect::MySql => {
                db.exec("CREATE TRIGGER stop BEFORE INSERT ON _dbwarden_migrations FOR EACH ROW SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'no rows'")
                    .await
            }
        }
        let fill = "-- dbwarden: no-transaction\n-- upgrade\nINSERT INTO log (n) VALUES (1);\nINSERT INTO log (n) VALUES (2);\n\
                    -- rollback\nDELETE FROM log;\n";
        std::fs::write(dir.join("app__0002_fill.sql"), fill).unwrap();
        let err = m.run(db.url.as_str()).await.unwrap_err();
        assert!(err.to_string().contains("no rows"), "{dialect}: {err}");
        let count = "SELECT CAST(COUNT(*) AS CHAR(10)) FROM log";
        let count = if dialect == Dialect::MySql { count.to_string() } else { count.replace("CHAR(10)", "TEXT") };
        assert_eq!(db.strings(&count).await, ["0"], "{dialect}: the INSERT went with its row");
        db.exec(if dialect == Dialect::Postgres {
            "DROP TRIGGER stop ON _dbwarden_migrations"
        } else {
            "DROP TRIGGER stop"
        })
        .await;
        m.run(db.url.as_str()).await.unwrap();
        assert_eq!(db.strings(&count).await, ["2"], "{dialect}: each INSERT once");
    }
}

/// A `no-transaction` file that opens and commits its own transaction runs as written on every backend: no
/// transaction of dbwarden's nests inside it (SQLite refuses that; MySQL would commit the file's early, so a failure
/// inside it would leave the first INSERT behind).
#[tokio::test]
async fn a_no_transaction_file_may_manage_its_own_transaction() {
    for dialect in common::ALL {
        let db = TestDb::new(dialect).await;
        let begin = if dialect == Dialect::MySql { "START TRANSACTION" } else { "BEGIN" };
        let file = |second: &str| {
            format!(
                "-- dbwarden: no-transaction\n-- upgrade\nCREATE TABLE IF NOT EXISTS log (n INTEGER);\n{begin};\n\
                 INSERT INTO log (n) VALUES (1);\nINSERT INTO {second} (n) VALUES (2);\nCOMMIT;\n-- rollback\nDROP TABLE log;\n"
            )
        };
        let dir = write_migrations(db.dir.path(), "app", &[("app__0001_log.sql", &file("nope"))]);
        let count = if dialect == Dialect::MySql { "CHAR(10)" } else { "TEXT" };
        let count = format!("SELECT CAST(COUNT(*) AS {count}) FROM log");
        match migrator(&dir).run(db.url.as_str()).await {
            Err(Error::Statement { at, .. }) => assert_eq!(at.index, 4, "{dialect}: the second INSERT fails"),
            other => panic!("{dialect}: expected the second INSERT to fail, got {other:?}"),
        }
        assert_eq!(db.strings(&count).await, ["0"], "{dialect}: the file's transaction was not committed early");
        // Fixed, it resumes inside nothing: the file's own BEGIN .. COMMIT runs again from where it stopped.
        db.exec("DELETE FROM _dbwarden_migrations").await;
        std::fs::write(dir.join("app__0001_log.sql"), file("log")).unwrap();
        migrator(&dir).run(db.url.as_str()).await.unwrap_or_else(|e| panic!("{dialect}: {e}"));
        assert_eq!(db.strings(&count).await, ["2"], "{dialect}");
        let state = db.strings("SELECT state FROM _dbwarden_migrations").await;
        assert_eq!(state, ["applied"], "{dialect}");
    }
}

/// A joined statement that refuses a transaction block after all (an extension's, such as a TimescaleDB continuous
/// aggregate; here a function raising active_sql_transaction the first time only) runs alone instead.
#[tokio::test]
async fn a_statement_refusing_the_joined_transaction_runs_alone() {
    let db = TestDb::new(Dialect::Postgres).await;
    db.exec("CREATE SEQUENCE calls").await;
    db.exec(
        "CREATE FUNCTION picky() RETURNS int LANGUAGE plpgsql AS $$ BEGIN IF nextval('calls') = 1 THEN \
         RAISE EXCEPTION 'picky cannot run inside a transaction block' USING ERRCODE = '25001'; END IF; RETURN 1; END $$",
    )
    .await;
    let file = "-- dbwarden: no-transaction\n-- upgrade\nSELECT picky();\n-- rollback\n";
    let dir = write_migrations(db.dir.path(), "app", &[("app__0001_picky.sql", file)]);
    migrator(&dir).run(db.url.as_str()).await.unwrap();
    assert_eq!(db.strings("SELECT CAST(last_value AS TEXT) FROM calls").await, ["2"], "refused once, then alone");
    assert_eq!(db.strings("SELECT state FROM _dbwarden_migrations").await, ["applied"]);
}

/// A statement whose deferred constraint fails only at its commit (which, joined with its progress row, comes after
/// the row) is reported as that statement's failure, with its line, not as dbwarden's bookkeeping failing.
#[tokio::test]
async fn a_deferred_constraint_failing_at_commit_names_the_statement() {
    for dialect in [Dialect::Sqlite, Dialect::Postgres] {
        let db = TestDb::new(dialect).await;
        let tables = "-- upgrade\nCREATE TABLE parent (id INTEGER PRIMARY KEY);\n\
                      CREATE TABLE child (id INTEGER PRIMARY KEY, parent_id INTEGER REFERENCES parent (id) DEFERRABLE INITIALLY DEFERRED);\n\
                      -- rollback\nDROP TABLE child;\nDROP TABLE parent;\n";
        let orphan = "-- dbwarden: no-transaction\n-- upgrade\nINSERT INTO child (id, parent_id) VALUES (1, 999);\n\
                      -- rollback\nDELETE FROM child;\n";
        let dir =
            write_migrations(db.dir.path(), "app", &[("app__0001_t.sql", tables), ("app__0002_orphan.sql", orphan)]);
        let err = migrator(&dir).run(db.url.as_str()).await.unwrap_err();
        match &err {
            Error::Statement { at, .. } => {
                assert_eq!((at.file.as_str(), at.line, at.index), ("app__0002_orphan.sql", 3, 1), "{dialect}: {err}")
            }
            other => panic!("{dialect}: expected the INSERT's failure, got {other:?}"),
        }
        assert_eq!(db.strings("SELECT CAST(id AS TEXT) FROM child").await, Vec::<String>::new(), "{dialect}");
        let rows = db.strings("SELECT filename FROM _dbwarden_migrations ORDER BY filename").await;
        assert_eq!(rows, ["app__0001_t.sql"], "{dialect}");
    }
}

/// A rollback that fails after only setting up its session (SQLite's pragma, alone before the transaction) leaves
/// the migration applied, with no part-way row: the next rollback starts it over.
#[tokio::test]
async fn a_rollback_failing_after_its_pragma_leaves_the_migration_applied() {
    let db = TestDb::new(Dialect::Sqlite).await;
    let down = "-- @dbwarden:autocommit\nPRAGMA foreign_keys = OFF;\nDROP TABLE a;\nDROP TABLE nope;\n\
                -- @dbwarden:autocommit\nPRAGMA foreign_keys = ON;\n";
    let file = format!("-- upgrade\nCREATE TABLE a (id INTEGER);\n-- rollback\n{down}");
    let dir = write_migrations(db.dir.path(), "app", &[("app__0001_a.sql", &file)]);
    let m = migrator(&dir);
    m.run(db.url.as_str()).await.unwrap();
    let err = m.rollback(db.url.as_str(), RollbackTo::Count(1)).await.unwrap_err();
    match &err {
        Error::Statement { at, .. } => assert_eq!((at.index, at.applied, at.rollback), (3, 0, true), "{err}"),
        other => panic!("expected the failed DROP, got {other:?}"),
    }
    assert!(err.hint().unwrap().contains("nothing of app__0001_a.sql stayed rolled back"), "{err}");
    let rows = "SELECT filename || ' ' || state FROM _dbwarden_migrations";
    assert_eq!(db.strings(rows).await, ["app__0001_a.sql applied"]);
    assert_eq!(db.tables().await, ["a"], "the transaction was rolled back");
    std::fs::write(dir.join("app__0001_a.sql"), file.replace("DROP TABLE nope;\n", "")).unwrap();
    m.rollback(db.url.as_str(), RollbackTo::Count(1)).await.unwrap();
    assert!(db.tables().await.is_empty());
}

/// A rollback finds an applied row's file by version: a file of that version whose upgrade is not what ran (edited,
/// or another branch's migration given the same number) carries a rollback written for something else, so nothing
/// runs and the row stays. A file renamed with its text unchanged still rolls back.
async fn rollback_refuses_a_file_that_is_not_what_ran(dialect: Dialect) {
    let db = TestDb::new(dialect).await;
    let orders = "-- upgrade\nCREATE TABLE orders (id INTEGER);\n-- rollback\nDROP TABLE orders;\n";
    let dir = write_migrations(
        db.dir.path(),
        "app",
        &[
            ("app__0001_a.sql", "-- upgrade\nCREATE TABLE a (id INTEGER);\n-- rollback\nDROP TABLE a;\n"),
            ("app__0002_orders.sql", orders),
        ],
    );
    let m = migrator(&dir);
    m.run(db.url.as_str()).await.unwrap();
    let rows = || async { db.strings("SELECT filename FROM _dbwarden_migrations ORDER BY filename").await };

    std::fs::remove_file(dir.join("app__0002_orders.sql")).unwrap();
    let audit =
        "-- upgrade\nCREATE TABLE IF NOT EXISTS audit (id INTEGER);\n-- rollback\nDROP TABLE IF EXISTS audit;\n";
    std::fs::write(dir.join("app__0002_audit.sql"), audit).unwrap();
    for to in [RollbackTo::Count(1), RollbackTo::Version(0)] {
        match m.rollback(db.url.as_str(), to).await {
            Err(e @ Error::VersionTaken { .. }) => {
                assert!(e.to_string().contains("app__0002_audit.sql has the version of app__0002_orders.sql"), "{e}");
                // Not `repair`, which would record the other file's checksums and let the wrong rollback run.
                let hint = e.hint().unwrap();
                assert!(hint.contains("renumber") && !hint.contains("repair"), "{hint}");
            }
            other => panic!("expected VersionTaken, got {other:?}"),
        }
        assert_eq!(db.tables().await, ["a", "orders"], "nothing ran");
        assert_eq!(rows().await, ["app__0001_a.sql", "app__0002_orders.sql"]);
    }

    // Edited in place: the same.
    std::fs::remove_file(dir.join("app__0002_audit.sql")).unwrap();
    std::fs::write(dir.join("app__0002_orders.sql"), orders.replace("id INTEGER", "id BIGINT")).unwrap();
    assert!(matches!(m.rollback(db.url.as_str(), RollbackTo::Count(1)).await, Err(Error::Edited { .. })));
    assert_eq!(db.tables().await, ["a", "orders"]);

    // Renamed, text unchanged: what ran, so it rolls back.
    std::fs::remove_file(dir.join("app__0002_orders.sql")).unwrap();
    std::fs::write(dir.join("app__0002_order_table.sql"), orders).unwrap();
    m.rollback(db.url.as_str(), RollbackTo::Count(1)).await.unwrap();
    assert_eq!(db.tables().await, ["a"]);
    assert_eq!(rows().await, ["app__0001_a.sql"]);
}

async fn python_dbwarden_history_is_adopted(dialect: Dialect) {
    let db = TestDb::new(dialect).await;
    // As Python DBWarden 0.20's generator writes files: a file-severity header (outside the checksummed section).
    let first = "-- dbwarden: file-severity SAFE\n-- upgrade\nCREATE TABLE core (id INTEGER);\n\nCREATE TABLE more_core (id INTEGER);\n-- rollback\nDROP TABLE more_core;\nDROP TABLE core;\n";
    let files = [
        ("primary__0001_create_core_tables.sql", first),
        ("primary__0002_extra.sql", "-- upgrade\nCREATE TABLE extra (id INTEGER);\n-- rollback\nDROP TABLE extra;\n"),
    ];
    let dir = write_migrations(db.dir.path(), "primary", &files);
    // What Python DBWarden 0.20 left: its table, its row, and the schema it applied. The checksum is the one Python
    // DBWarden 0.20.11 computes for this file (`calculate_checksum(parse_upgrade_statements(path))`), not ours.
    let python = "a43deffa5a40c8114f46d8f2740a2bc75640fb9be5aa4924ead211e67a88ba37";
    let legacy_table = "CREATE TABLE _dbwarden_migrations (version VARCHAR(255), description VARCHAR(500), filename VARCHAR(500) UNIQUE, migration_type VARCHAR(50), applied_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP, checksum VARCHAR(128))";
    let legacy_row = |checksum: &str| {
        format!("INSERT INTO _dbwarden_migrations (version, description, filename, migration_type, checksum) VALUES ('0001', '0001 create core tables', 'primary__0001_create_core_tables.sql', 'versioned', '{checksum}')")
    };
    db.exec(legacy_table).await;
    db.exec(&legacy_row(python)).await;
    db.exec("CREATE TABLE core (id INTEGER); CREATE TABLE more_core (id INTEGER);").await;
    // Python DBWarden 0.20's own lock table (its v2 layout, from its lock/table.py), under dbwarden's table name.
    let (text, time) = match dialect {
        Dialect::MySql => ("VARCHAR(255)", "TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP"),
        Dialect::Postgres => ("TEXT", "TIMESTAMPTZ NOT NULL"),
        Dialect::Sqlite => ("TEXT", "TEXT NOT NULL"),
    };
    db.exec(&format!("CREATE TABLE dbwarden_lock (namespace {text} NOT NULL DEFAULT 'default', execution_id {text} NOT NULL, owner_id {text} NOT NULL, migration_version {text}, migration_checksum {text}, fencing_token BIGINT NOT NULL DEFAULT 0, host {text}, pid INTEGER, db_connection_id {text}, state {text} NOT NULL DEFAULT 'AVAILABLE', acquired_at {time}, last_heartbeat_at {time}, expires_at {text}, PRIMARY KEY (namespace))")).await;
    db.exec("INSERT INTO dbwarden_lock (namespace, execution_id, owner_id, acquired_at, last_heartbeat_at) VALUES ('default', 'e1', 'o1', '2026-01-01 00:00:00', '2026-01-01 00:00:00')").await;

    let m = migrator(&dir);
    let status = m.status(db.url.as_str()).await.unwrap();
    assert_eq!((status.applied, status.pending), (1, 1));
    assert!(!status.has_problems(), "{dialect}: {:?}", status.entries);
    let report = m.run(db.url.as_str()).await.unwrap();
    assert_eq!(report.steps.iter().map(|s| s.filename.as_str()).collect::<Vec<_>>(), ["primary__0002_extra.sql"]);
    let rows = m.history(db.url.as_str()).await.unwrap();
    assert_eq!(rows.len(), 2);
    assert!(rows.iter().all(|r| r.checksum_algorithm.as_deref() == Some("sha256")), "{rows:?}");
    // Python's lock table was moved aside, its row kept; dbwarden's own took its name.
    assert_eq!(db.tables().await, ["core", "dbwarden_lock_python", "extra", "more_core"]);
    assert_eq!(db.strings("SELECT owner_id FROM dbwarden_lock_python").await, ["o1"]);
    assert!(!m.lock_status(db.url.as_str()).await.unwrap().held);
    // The adopted row rolls back like any other.
    m.rollback(db.url.as_str(), RollbackTo::Version(0)).await.unwrap();
    assert_eq!(db.tables().await, ["dbwarden_lock_python"]);

    // A file edited after Python DBWarden applied it (its row holds Python's checksum of the one statement the file
    // had then) is edited, as for our own rows: status says so, migrate refuses naming it and leaves the row as it
    // was, and repair accepts the file as it is now.
    let db = TestDb::new(dialect).await;
    db.exec(legacy_table).await;
    db.exec(&legacy_row("58a81fb497f0b75e23aa69d63abfc5073fe2ccd1804598110a8d3ae29eb7cb02")).await;
    db.exec("CREATE TABLE core (id INTEGER);").await;
    let status = m.status(db.url.as_str()).await.unwrap();
    assert_eq!(status.entries[0].state, EntryState::Edited, "{dialect}");
    match m.run(db.url.as_str()).await {
        Err(Error::Edited { files }) => assert_eq!(files, ["primary__0001_create_core_tables.sql"]),
        other => panic!("{dialect}: {other:?}"),
    }
    assert_eq!(
        db.strings("SELECT checksum FROM _dbwarden_migrations").await,
        ["58a81fb497f0b75e23aa69d63abfc5073fe2ccd1804598110a8d3ae29eb7cb02"]
    );
    assert_eq!(m.repair(db.url.as_str()).await.unwrap(), ["primary__0001_create_core_tables.sql"]);
    assert_eq!(m.run(db.url.as_str()).await.unwrap().steps.len(), 1, "{dialect}: 0002 runs after the repair");
}

async fn dry_run_writes_nothing_and_baseline_runs_nothing(dialect: Dialect) {
    let db = TestDb::new(dialect).await;
    let report = migrator(&fixtures()).dry_run(true).run(db.url.as_str()).await.unwrap();
    assert!(report.dry_run);
    assert_eq!(report.steps.len(), 3);
    assert!(report.steps[0].sql.as_deref().unwrap().contains("CREATE TABLE users"));
    let all = db
        .strings(match dialect {
            Dialect::Sqlite => "SELECT name FROM sqlite_master",
            Dialect::Postgres => {
                "SELECT CAST(table_name AS TEXT) FROM information_schema.tables WHERE table_schema = 'public'"
            }
            Dialect::MySql => {
                "SELECT CAST(table_name AS CHAR) FROM information_schema.tables WHERE table_schema = DATABASE()"
            }
        })
        .await;
    assert!(all.is_empty(), "a dry run created {all:?}");

    let report = migrator(&fixtures()).baseline(true).target_version(2).run(db.url.as_str()).await.unwrap();
    assert!(report.steps.iter().all(|s| s.baseline));
    assert_eq!(db.recorded().await, ["0001", "0002"]);
    assert!(db.tables().await.is_empty(), "baseline must not run SQL");
}

async fn target_version_and_count(dialect: Dialect) {
    let db = TestDb::new(dialect).await;
    let m = migrator(&fixtures());
    assert_eq!(m.clone().count(1).run(db.url.as_str()).await.unwrap().steps.len(), 1);
    assert_eq!(m.clone().target_version(2).run(db.url.as_str()).await.unwrap().steps.len(), 1);
    assert_eq!(db.recorded().await, ["0001", "0002"]);
    assert!(matches!(m.clone().target_version(7).run(db.url.as_str()).await, Err(Error::UnknownVersion { .. })));
    m.run(db.url.as_str()).await.unwrap();
    m.rollback(db.url.as_str(), RollbackTo::Version(1)).await.unwrap();
    assert_eq!(db.recorded().await, ["0001"]);
    assert!(matches!(m.rollback(db.url.as_str(), RollbackTo::Version(3)).await, Err(Error::UnknownVersion { .. })));
}

async fn irreversible_and_empty_rollbacks(dialect: Dialect) {
    let db = TestDb::new(dialect).await;
    let dir = write_migrations(
        db.dir.path(),
        "app",
        &[
            ("app__0001_a.sql", "-- dbwarden: irreversible\n-- upgrade\nCREATE TABLE a (id INTEGER);\n-- rollback\n"),
            ("app__0002_b.sql", "-- upgrade\nCREATE TABLE b (id INTEGER);\n-- rollback\n-- nothing to undo\n"),
        ],
    );
    let m = migrator(&dir);
    m.run(db.url.as_str()).await.unwrap();
    // Refused before anything runs, although 0002 could be reverted.
    match m.rollback(db.url.as_str(), RollbackTo::Version(0)).await {
        Err(Error::Irreversible { file }) => assert_eq!(file, "app__0001_a.sql"),
        other => panic!("{other:?}"),
    }
    assert_eq!(db.recorded().await, ["0001", "0002"]);
    // An empty rollback section is a no-op rollback.
    m.rollback(db.url.as_str(), RollbackTo::Count(1)).await.unwrap();
    assert_eq!(db.recorded().await, ["0001"]);
}

/// A rollback section the lexer refuses (an unterminated quote) is refused by migrate before anything runs, and if
/// such a file was applied anyway, found while a rollback's plan is checked, before any migration is reverted: the
/// rollback stops with the file and line, and everything stays applied.
async fn a_rollback_that_cannot_be_split_stops_before_any_runs(dialect: Dialect) {
    let db = TestDb::new(dialect).await;
    let dir = write_migrations(
        db.dir.path(),
        "app",
        &[
            (
                "app__0001_a.sql",
                "-- upgrade\nCREATE TABLE a (id INTEGER);\n-- rollback\nDROP TABLE a;\nSELECT 'oops;\n",
            ),
            ("app__0002_b.sql", "-- upgrade\nCREATE TABLE b (id INTEGER);\n-- rollback\nDROP TABLE b;\n"),
        ],
    );
    let m = migrator(&dir);
    // `status` says so before anyone runs migrate: the pending file is a problem, with its line; the other is not.
    let status = m.status(db.url.as_str()).await.unwrap();
    assert!(status.has_problems(), "{dialect}");
    let problems: Vec<(&str, &str)> =
        status.entries.iter().filter_map(|e| Some((e.filename.as_str(), e.problem.as_deref()?))).collect();
    assert!(matches!(problems.as_slice(), [("app__0001_a.sql", p)] if p.contains("app__0001_a.sql:5")), "{problems:?}");
    // Found before anything is applied, too: the same file is refused by migrate (and a dry run), naming the line.
    for dry_run in [true, false] {
        let e = m.clone().dry_run(dry_run).run(db.url.as_str()).await.unwrap_err();
        assert!(e.to_string().contains("app__0001_a.sql:5"), "{dialect}: {e}");
    }
    assert!(db.tables().await.is_empty(), "{dialect}");
    // Applied anyway (the file was fine then, say), it is found before any migration is reverted.
    std::fs::write(
        dir.join("app__0001_a.sql"),
        "-- upgrade\nCREATE TABLE a (id INTEGER);\n-- rollback\nDROP TABLE a;\n",
    )
    .unwrap();
    m.run(db.url.as_str()).await.unwrap();
    std::fs::write(
        dir.join("app__0001_a.sql"),
        "-- upgrade\nCREATE TABLE a (id INTEGER);\n-- rollback\nDROP TABLE a;\nSELECT 'oops;\n",
    )
    .unwrap();
    let e = m.rollback(db.url.as_str(), RollbackTo::Version(0)).await.unwrap_err();
    let message = e.to_string();
    assert!(matches!(e, Error::Format(_)), "{dialect}: {e:?}");
    assert!(message.contains("app__0001_a.sql:5"), "{dialect}: {message}");
    assert_eq!(db.recorded().await, ["0001", "0002"], "{dialect}: 0002 was reverted before 0001 was found broken");
    assert_eq!(db.tables().await, ["a", "b"], "{dialect}");

    // A repeatable's rollback section never runs, so it is not checked: a note there with an apostrophe is fine.
    let db = TestDb::new(dialect).await;
    let dir = write_migrations(
        db.dir.path(),
        "app",
        &[
            ("app__0001_a.sql", "-- upgrade\nCREATE TABLE a (id INTEGER);\n-- rollback\nDROP TABLE a;\n"),
            ("app__ROC__seed.sql", "-- upgrade\nDELETE FROM a;\n-- rollback\nnothing to undo, don't worry\n"),
        ],
    );
    assert_eq!(migrator(&dir).run(db.url.as_str()).await.unwrap().steps.len(), 2, "{dialect}");
}

/// `execution_time_ms` is the time the migration took: in one batch with its record (the server's or SQLite's
/// clock), over several (MariaDB, statement by statement), and with a statement that must run alone.
async fn the_recorded_execution_time_is_the_migrations_own(dialect: Dialect) {
    let db = TestDb::new(dialect).await;
    let wait = match dialect {
        Dialect::Postgres => "SELECT pg_sleep(0.3)",
        Dialect::MySql => "DO SLEEP(0.3)",
        // About a million rows counted, a few hundred milliseconds on this machine; the assertions compare with
        // what the run itself measured, not with a constant.
        Dialect::Sqlite => {
            "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 1500000) SELECT COUNT(*) FROM c"
        }
    };
    let one = format!("-- upgrade\n{wait};\nCREATE TABLE a (id INTEGER);\n-- rollback\nDROP TABLE a;\n");
    let alone = format!(
        "-- dbwarden: no-transaction\n-- upgrade\nCREATE TABLE b (id INTEGER);\n{wait};\n-- rollback\nDROP TABLE b;\n"
    );
    let dir = write_migrations(
        db.dir.path(),
        "app",
        &[("app__0001_a.sql", one.as_str()), ("app__0002_b.sql", alone.as_str())],
    );
    let report = migrator(&dir).run(db.url.as_str()).await.unwrap();
    let rows = migrator(&dir).history(db.url.as_str()).await.unwrap();
    for (step, row) in report.steps.iter().zip(&rows) {
        let recorded = row.execution_time_ms.unwrap_or(-1);
        assert!(step.elapsed_ms >= 30, "{dialect}: {} ran {} ms, too short to tell", step.filename, step.elapsed_ms);
        let measured = step.elapsed_ms as i64;
        // On the servers the sleep is the floor. The client's measure also holds its own waits for the CPU, which on
        // two busy cores have reached 70 ms of a 270 ms count on SQLite: there half of it (a record that left out
        // the counting statement would be a few milliseconds).
        let floor = if dialect == Dialect::Sqlite { measured / 2 } else { 290 };
        assert!(
            recorded >= floor && recorded <= measured + 5,
            "{dialect}: {} recorded {recorded} ms, the run measured {measured} ms",
            step.filename
        );
    }
}

async fn repeatables_run_after_versioned(dialect: Dialect) {
    let db = TestDb::new(dialect).await;
    let dir = write_migrations(
        db.dir.path(),
        "app",
        &[
            ("app__0001_a.sql", "-- upgrade\nCREATE TABLE a (id INTEGER);\nCREATE TABLE runs (n INTEGER);\n-- rollback\nDROP TABLE runs;\nDROP TABLE a;\n"),
            ("app__RA__count.sql", "-- upgrade\nINSERT INTO runs (n) VALUES (1);\n-- rollback\n"),
            ("app__ROC__view.sql", "-- upgrade\nDELETE FROM a;\nINSERT INTO a (id) VALUES (1);\n-- rollback\n"),
        ],
    );
    let m = migrator(&dir);
    m.run(db.url.as_str()).await.unwrap();
    let second = m.run(db.url.as_str()).await.unwrap();
    // RA runs every time; ROC only when it changed.
    assert_eq!(second.steps.iter().map(|s| s.filename.as_str()).collect::<Vec<_>>(), ["app__RA__count.sql"]);
    assert_eq!(db.strings("SELECT CAST(COUNT(*) AS CHAR(10)) FROM runs").await, ["2"]);
    std::fs::write(
        dir.join("app__ROC__view.sql"),
        "-- upgrade\nDELETE FROM a;\nINSERT INTO a (id) VALUES (2);\n-- rollback\n",
    )
    .unwrap();
    let third = m.run(db.url.as_str()).await.unwrap();
    assert_eq!(third.steps.len(), 2);
    assert_eq!(db.strings("SELECT CAST(id AS CHAR(10)) FROM a").await, ["2"]);
    // A repeatable whose text changed is due to run again, not an edit for `repair` to accept (it recorded the new
    // checksum, so the new text never ran): repair leaves it, migrate runs it.
    std::fs::write(
        dir.join("app__ROC__view.sql"),
        "-- upgrade\nDELETE FROM a;\nINSERT INTO a (id) VALUES (3);\n-- rollback\n",
    )
    .unwrap();
    assert_eq!(m.repair(db.url.as_str()).await.unwrap(), Vec::<String>::new(), "{dialect}");
    let fourth = m.run(db.url.as_str()).await.unwrap();
    assert!(fourth.steps.iter().any(|s| s.filename == "app__ROC__view.sql"), "{dialect}");
    assert_eq!(db.strings("SELECT CAST(id AS CHAR(10)) FROM a").await, ["3"]);

    // Rolled back to nothing, then migrated again: the ROC file runs again on the new tables, as on a new database.
    m.rollback(db.url.as_str(), RollbackTo::Version(0)).await.unwrap();
    let rows = db.strings("SELECT CAST(COUNT(*) AS CHAR(10)) FROM _dbwarden_migrations").await;
    assert_eq!(rows, ["0"], "{dialect}: the repeatables' rows went with the schema");
    let again = m.run(db.url.as_str()).await.unwrap();
    assert_eq!(again.steps.len(), 3, "{dialect}");
    assert_eq!(db.strings("SELECT CAST(id AS CHAR(10)) FROM a").await, ["3"]);
}

/// A migration stopped part-way resumes after the statements that ran also when it is a repeatable (it ran them
/// again: an INSERT twice, then a CREATE TABLE that exists) or its file was renamed in between (a second row was
/// written for the version, and an edit of the statements that ran went unchecked), also in a single transaction
/// (its INSERT of all rows collided with the part-way row). MariaDB records progress per statement; PostgreSQL and
/// SQLite do in a no-transaction file.
#[tokio::test]
async fn a_part_way_repeatable_or_renamed_file_resumes_after_what_ran() {
    for dialect in [Dialect::MySql, Dialect::Sqlite, Dialect::Postgres] {
        let db = TestDb::new(dialect).await;
        let no_tx = if dialect == Dialect::MySql { "" } else { "-- dbwarden: no-transaction\n" };
        let seed = |header: &str, last: &str| {
            format!("{header}-- upgrade\nINSERT INTO t (v) VALUES ('a');\nCREATE TABLE seedlog (id INT);\n{last};\n-- rollback\n")
        };
        let part = |last: &str| {
            format!("{no_tx}-- upgrade\nCREATE TABLE p1 (id INT);\nCREATE TABLE p2 (id INT);\n{last};\n-- rollback\nDROP TABLE p2;\nDROP TABLE p1;\n")
        };
        let dir = write_migrations(
            db.dir.path(),
            "app",
            &[
                ("app__0001_init.sql", "-- upgrade\nCREATE TABLE t (v VARCHAR(20));\n-- rollback\nDROP TABLE t;\n"),
                ("app__0002_p.sql", &part("INSERT INTO nosuch VALUES (1)")),
                ("app__ROC__seed.sql", &seed(no_tx, "INSERT INTO nosuch VALUES (1)")),
            ],
        );
        let m = migrator(&dir);
        assert!(m.run(db.url.as_str()).await.is_err(), "{dialect}: 0002 stops at statement 3");
        // Renamed, and a statement that ran edited: not what ran, so another migration under its version.
        std::fs::remove_file(dir.join("app__0002_p.sql")).unwrap();
        let edited = part("CREATE TABLE p3 (id INT)").replace("p1 (id INT)", "p1 (id INT, extra INT)");
        std::fs::write(dir.join("app__0002_p_renamed.sql"), &edited).unwrap();
        let refused = m.run(db.url.as_str()).await;
        assert!(matches!(refused, Err(Error::VersionTaken { .. })), "{dialect}: {refused:?}");
        let status = m.status(db.url.as_str()).await.unwrap();
        let entry = status.entries.iter().find(|e| e.filename == "app__0002_p_renamed.sql").unwrap();
        assert_eq!(entry.state, EntryState::VersionTaken, "{dialect}: status says what migrate refuses");
        // Renamed only: the dry run and the run resume at statement 3 with its row, which takes the new name.
        std::fs::write(dir.join("app__0002_p_renamed.sql"), part("CREATE TABLE p3 (id INT)")).unwrap();
        let plan = migrator(&dir).dry_run(true).run(db.url.as_str()).await.unwrap();
        assert!(plan.steps[0].sql.as_deref().unwrap().contains("resumes at statement 3 of 3"), "{dialect}: {plan:?}");
        assert!(m.run(db.url.as_str()).await.is_err(), "{dialect}: now the repeatable stops at statement 3");
        let rows = db.strings("SELECT filename FROM _dbwarden_migrations WHERE version = '0002'").await;
        assert_eq!(rows, ["app__0002_p_renamed.sql"], "{dialect}: one row for the version");
        // The repeatable, fixed: statement 3 runs, the first two do not run again (where a transaction can, in one
        // transaction for the whole run).
        let single = dialect != Dialect::MySql;
        let header = if single { "" } else { no_tx };
        std::fs::write(dir.join("app__ROC__seed.sql"), seed(header, "INSERT INTO seedlog VALUES (1)")).unwrap();
        let report = migrator(&dir).single_transaction(single).run(db.url.as_str()).await.unwrap();
        assert_eq!(report.steps.len(), 1, "{dialect}");
        assert_eq!(db.strings("SELECT v FROM t").await, ["a"], "{dialect}: the INSERT ran once");
        assert_eq!(db.strings("SELECT CAST(COUNT(*) AS CHAR(10)) FROM seedlog").await, ["1"], "{dialect}");
        let status = m.status(db.url.as_str()).await.unwrap();
        assert!(status.entries.iter().all(|e| e.state == EntryState::Applied), "{dialect}: {status:?}");
        assert_eq!(db.tables().await.iter().filter(|t| t.starts_with('p')).count(), 3, "{dialect}");
        let rows = db.strings("SELECT CAST(COUNT(*) AS CHAR(10)) FROM _dbwarden_migrations").await;
        assert_eq!(rows, ["3"], "{dialect}: one row per migration");
    }
}

/// `embed_migrations!` and a folder read at run time resolve to the same migrations.
#[test]
fn embedded_equals_runtime_resolution() {
    static EMBEDDED: dbwarden::EmbeddedMigrations = dbwarden::embed_migrations!("tests/fixtures/basic");
    let at_runtime = Source::dir(fixtures()).load().unwrap();
    let embedded = Source::Embedded(&EMBEDDED).load().unwrap();
    assert_eq!(embedded.db, "app");
    assert_eq!(embedded.files, at_runtime.files);
    for (file, baked) in at_runtime.files.iter().zip(EMBEDDED.files) {
        assert_eq!(file.checksum, baked.checksum, "compile-time checksum of {}", file.filename);
        assert_eq!(file.rollback_checksum, baked.rollback_checksum);
    }
    assert!(embedded.not_embedded.is_empty());
    // The start-up check's fingerprint, computed by the macro, is the one the runtime computes from the files.
    let fingerprint = at_runtime.fingerprint.clone().expect("no RA__ file");
    assert_eq!(EMBEDDED.fingerprint, Some(fingerprint.digest.as_str()));
    assert_eq!(embedded.fingerprint, Some(fingerprint));
}

/// A pending file is never skipped because its SQL equals an applied one: identity is the version, not the text.
async fn identical_sql_in_two_files_runs_twice(dialect: Dialect) {
    let db = TestDb::new(dialect).await;
    let text = "-- upgrade\nINSERT INTO counter (n) VALUES (1);\n-- rollback\nDELETE FROM counter;\n";
    let dir = write_migrations(
        db.dir.path(),
        "app",
        &[
            (
                "app__0001_counter.sql",
                "-- upgrade\nCREATE TABLE counter (n INTEGER);\n-- rollback\nDROP TABLE counter;\n",
            ),
            ("app__0002_one.sql", text),
            ("app__0003_same.sql", text),
        ],
    );
    assert_eq!(migrator(&dir).run(db.url.as_str()).await.unwrap().steps.len(), 3);
    assert_eq!(db.strings("SELECT CAST(COUNT(*) AS CHAR(10)) FROM counter").await, ["2"]);
}

/// `single_transaction(true)`: all pending migrations commit together or not at all (PostgreSQL, SQLite); refused
/// where DDL commits implicitly (MariaDB) and for files that must run outside a transaction.
async fn single_transaction_is_all_or_nothing(dialect: Dialect) {
    let db = TestDb::new(dialect).await;
    let dir = write_migrations(
        db.dir.path(),
        "app",
        &[
            ("app__0001_a.sql", &create_table("a")),
            ("app__0002_b.sql", &create_table("b")),
            ("app__0003_bad.sql", "-- upgrade\nINSERT INTO nowhere VALUES (1);\n-- rollback\n"),
        ],
    );
    let m = migrator(&dir).single_transaction(true);
    let result = m.run(db.url.as_str()).await;
    if dialect == Dialect::MySql {
        assert!(matches!(result, Err(Error::Usage(_))), "{result:?}");
        assert!(db.tables().await.is_empty());
        return;
    }
    match result {
        Err(e @ Error::Statement { .. }) => {
            let Error::Statement { at, .. } = &e else { unreachable!() };
            assert_eq!((at.file.as_str(), at.applied, at.whole_run), ("app__0003_bad.sql", 0, true));
            // Not only the failing file: 0001 and 0002 were undone too, and the hint says so.
            let hint = e.hint().unwrap();
            assert!(hint.contains("rolled back whole: none of its migrations stayed applied"), "{hint}");
        }
        other => panic!("{other:?}"),
    }
    assert!(db.tables().await.is_empty(), "0001 and 0002 must be rolled back with 0003");
    assert!(db.recorded().await.is_empty());
    std::fs::write(dir.join("app__0003_bad.sql"), create_table("c")).unwrap();
    assert_eq!(m.run(db.url.as_str()).await.unwrap().steps.len(), 3);
    assert_eq!(db.tables().await, ["a", "b", "c"]);
    assert_eq!(db.recorded().await, ["0001", "0002", "0003"]);
    // Every row of the one INSERT says who applied it: `$USER@host`, or the host alone without a USER.
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap().trim().to_string();
    let by = match std::env::var("USER") {
        Ok(user) if !user.is_empty() => format!("{user}@{host}"),
        _ => host,
    };
    assert_eq!(db.strings("SELECT applied_by FROM _dbwarden_migrations").await, [by.as_str(); 3]);
    std::fs::write(
        dir.join("app__0004_nt.sql"),
        "-- dbwarden: no-transaction\n-- upgrade\nCREATE TABLE d (id INTEGER);\n-- rollback\n",
    )
    .unwrap();
    assert!(matches!(m.run(db.url.as_str()).await, Err(Error::Usage(msg)) if msg.contains("app__0004_nt.sql")));
}

/// A repeatable whose file is gone: listed by status but no problem, migrate goes on, repair forgets its row. A
/// versioned file gone: a problem, and migrate refuses naming it unless told to ignore it.
async fn a_gone_repeatable_is_no_problem_a_missing_versioned_file_stops_migrate(dialect: Dialect) {
    let db = TestDb::new(dialect).await;
    let dir = write_migrations(
        db.dir.path(),
        "app",
        &[
            ("app__0001_a.sql", &create_table("a")),
            ("app__0002_b.sql", &create_table("b")),
            ("app__ROC__seed.sql", "-- upgrade\nINSERT INTO a (id) VALUES (1);\n-- rollback\n"),
        ],
    );
    let m = migrator(&dir);
    assert_eq!(m.run(db.url.as_str()).await.unwrap().steps.len(), 3);
    std::fs::remove_file(dir.join("app__ROC__seed.sql")).unwrap();
    std::fs::write(dir.join("app__0003_c.sql"), create_table("c")).unwrap();
    let status = m.status(db.url.as_str()).await.unwrap();
    let gone = status.entries.iter().find(|e| e.filename == "app__ROC__seed.sql").unwrap();
    assert_eq!(gone.state, EntryState::Missing);
    assert!(!status.has_problems(), "{status:?}");
    let report = m.run(db.url.as_str()).await.unwrap();
    assert_eq!(report.steps.iter().map(|s| s.filename.as_str()).collect::<Vec<_>>(), ["app__0003_c.sql"]);
    assert_eq!(m.repair(db.url.as_str()).await.unwrap(), ["app__ROC__seed.sql"]);
    assert_eq!(db.strings("SELECT filename FROM _dbwarden_migrations ORDER BY filename").await.len(), 3);
    assert!(m.status(db.url.as_str()).await.unwrap().entries.iter().all(|e| e.state == EntryState::Applied));

    // A repeatable that stopped part-way stays a problem when its file goes: something of it ran.
    std::fs::write(dir.join("app__ROC__half.sql"), "-- upgrade\nINSERT INTO a (id) VALUES (2);\n-- rollback\n")
        .unwrap();
    m.run(db.url.as_str()).await.unwrap();
    db.exec(
        "UPDATE _dbwarden_migrations SET state = 'partial', statements_done = 1 WHERE filename = 'app__ROC__half.sql'",
    )
    .await;
    std::fs::remove_file(dir.join("app__ROC__half.sql")).unwrap();
    let status = m.status(db.url.as_str()).await.unwrap();
    assert!(status.has_problems(), "{status:?}");
    assert!(status.entries.iter().any(|e| e.filename == "app__ROC__half.sql" && e.state == EntryState::Partial));
    // A row with a version, even one that is not a number, is not a repeatable's: repair leaves it.
    db.exec(
        "INSERT INTO _dbwarden_migrations (version, filename, migration_type, state) \
         VALUES ('V0009', 'app__V0009_x.sql', 'versioned', 'applied')",
    )
    .await;
    assert_eq!(m.repair(db.url.as_str()).await.unwrap(), ["app__ROC__half.sql"]);
    assert_eq!(
        db.strings("SELECT filename FROM _dbwarden_migrations WHERE version = 'V0009'").await,
        ["app__V0009_x.sql"]
    );
    db.exec("DELETE FROM _dbwarden_migrations WHERE version = 'V0009'").await;

    std::fs::remove_file(dir.join("app__0002_b.sql")).unwrap();
    assert!(m.status(db.url.as_str()).await.unwrap().has_problems());
    match m.run(db.url.as_str()).await {
        Err(Error::Missing { versions }) => assert_eq!(versions, ["app__0002_b.sql"]),
        other => panic!("{other:?}"),
    }
    assert!(m.clone().ignore_missing(true).run(db.url.as_str()).await.unwrap().steps.is_empty());
}

/// `count` files `db__0001_tN.sql` creating tables t1..tN.
fn numbered_tables(root: &Path, count: usize) -> PathBuf {
    let files: Vec<(String, String)> =
        (1..=count).map(|i| (format!("db__{i:04}_t{i}.sql"), create_table(&format!("t{i}")))).collect();
    let refs: Vec<(&str, &str)> = files.iter().map(|(n, t)| (n.as_str(), t.as_str())).collect();
    write_migrations(root, "db", &refs)
}

/// On PostgreSQL a migration's commit does not wait for the disk (`SET LOCAL synchronous_commit TO OFF`); the commit
/// that releases the lock waits for all of them. So a crash of the server right after `migrate` returns loses none:
/// with the WAL writer frozen, nothing but that last commit could have put them on disk.
#[tokio::test]
async fn postgres_a_crash_right_after_migrate_returns_loses_nothing() {
    let pg = common::PrivatePg::start().await;
    let frozen = pg.freeze_wal_writer().await;
    // The rig loses what only a commit that did not wait held.
    pg.exec("SET synchronous_commit = off; CREATE TABLE not_on_disk (id INTEGER)").await;
    pg.crash_frozen(&frozen).await;
    assert_eq!(
        pg.tables().await,
        Vec::<String>::new(),
        "an unflushed commit survived the crash: the test proves nothing"
    );

    let root = tempfile::tempdir().unwrap();
    let dir = numbered_tables(root.path(), 40);
    let frozen = pg.freeze_wal_writer().await;
    let report = migrator(&dir).run(&pg.url).await.unwrap();
    assert_eq!(report.steps.len(), 40);
    pg.crash_frozen(&frozen).await;
    let mut expected: Vec<String> = (1..=40).map(|i| format!("t{i}")).collect();
    expected.sort();
    assert_eq!(pg.tables().await, expected);
    let status = migrator(&dir).status(&pg.url).await.unwrap();
    assert_eq!((status.pending, status.applied), (0, 40), "{status:?}");
    assert!(!status.has_problems(), "{status:?}");

    // A run that fails part-way: the migrations it committed before the failure survive a crash right after too.
    for i in 41..=45 {
        std::fs::write(dir.join(format!("db__{i:04}_t{i}.sql")), create_table(&format!("t{i}"))).unwrap();
    }
    std::fs::write(dir.join("db__0046_bad.sql"), "-- upgrade\nCREATE TABLE t1 (id INTEGER);\n-- rollback\n").unwrap();
    let frozen = pg.freeze_wal_writer().await;
    let e = migrator(&dir).run(&pg.url).await.unwrap_err();
    assert!(e.to_string().contains("db__0046_bad.sql"), "{e}");
    pg.crash_frozen(&frozen).await;
    assert_eq!(pg.tables().await.len(), 45);
    let status = migrator(&dir).status(&pg.url).await.unwrap();
    assert_eq!((status.pending, status.applied), (1, 45), "{status:?}");

    // A rollback the same way: what it returns as reverted stays reverted.
    std::fs::remove_file(dir.join("db__0046_bad.sql")).unwrap();
    let frozen = pg.freeze_wal_writer().await;
    let report = migrator(&dir).rollback(&pg.url, RollbackTo::Version(40)).await.unwrap();
    assert_eq!(report.steps.len(), 5);
    pg.crash_frozen(&frozen).await;
    assert_eq!(pg.tables().await.len(), 40);
    let status = migrator(&dir).status(&pg.url).await.unwrap();
    assert_eq!((status.pending, status.applied), (5, 40), "{status:?}");
}

/// A crash in the middle of a run keeps a prefix of the migrations, each with its history row: never a table without
/// its row or a row without its table. The next run applies the rest.
#[tokio::test]
async fn postgres_a_crash_in_the_middle_of_a_run_keeps_whole_migrations() {
    let pg = common::PrivatePg::start().await;
    let root = tempfile::tempdir().unwrap();
    let dir = numbered_tables(root.path(), 400);
    let url = pg.url.clone();
    let run_dir = dir.clone();
    let run = tokio::spawn(async move { migrator(&run_dir).run(&url).await });
    // Crash once some migrations are committed (visible: whether they are on disk yet is the point).
    let count = "SELECT CAST(COUNT(*) AS TEXT) FROM _dbwarden_migrations";
    let waiting = std::time::Instant::now();
    loop {
        assert!(waiting.elapsed() < Duration::from_secs(60), "30 migrations not committed within a minute");
        assert!(!run.is_finished(), "the run ended before 30 migrations: {:?}", run.await);
        tokio::time::sleep(Duration::from_millis(20)).await;
        let started = pg.strings("SELECT CAST(COUNT(*) AS TEXT) FROM pg_class WHERE relname = '_dbwarden_migrations'");
        if started.await == ["1"] && pg.strings(count).await[0].parse::<usize>().unwrap() >= 30 {
            break;
        }
    }
    pg.crash().await;
    // (Cut short, as a rule; had it finished first, what follows holds all the same.)
    let _ = run.await.unwrap();

    let recorded = pg.strings("SELECT filename FROM _dbwarden_migrations ORDER BY filename").await;
    let kept = recorded.len();
    let prefix: Vec<String> = (1..=kept).map(|i| format!("db__{i:04}_t{i}.sql")).collect();
    assert_eq!(recorded, prefix, "the history after the crash is not a prefix of the files");
    let mut tables: Vec<String> = (1..=kept).map(|i| format!("t{i}")).collect();
    tables.sort();
    assert_eq!(pg.tables().await, tables, "tables and history rows disagree after the crash");

    let report = migrator(&dir).run(&pg.url).await.unwrap();
    assert_eq!(report.steps.len(), 400 - kept);
    assert_eq!(pg.tables().await.len(), 400);
}

/// `pg_dump` output empties the session's `search_path` (`set_config('search_path', '', false)`, then every name
/// schema-qualified): the history rows are written all the same, for it and the migrations after it in the run
/// (they failed, "relation _dbwarden_migrations does not exist"), the head record too, and rollbacks run.
#[tokio::test]
async fn postgres_a_dump_that_empties_the_search_path_is_recorded() {
    let db = TestDb::new(Dialect::Postgres).await;
    let dump = "-- upgrade\nSET statement_timeout = 0;\nSELECT pg_catalog.set_config('search_path', '', false);\n\
                CREATE TABLE public.t (id integer);\nINSERT INTO public.t VALUES (1);\n-- rollback\nDROP TABLE public.t;\n";
    let next = "-- upgrade\nCREATE TABLE public.u (id integer);\n-- rollback\nDROP TABLE public.u;\n";
    let dir = write_migrations(db.dir.path(), "app", &[("app__0001_dump.sql", dump), ("app__0002_u.sql", next)]);
    let m = migrator(&dir);
    assert_eq!(m.run(db.url.as_str()).await.unwrap().steps.len(), 2);
    assert_eq!(db.recorded().await, ["0001", "0002"]);
    let pool = sqlx::PgPool::connect(&db.url).await.unwrap();
    assert!(m.up_to_date(&pool).await.unwrap(), "the head record was written");
    pool.close().await;
    m.rollback(db.url.as_str(), RollbackTo::Version(0)).await.unwrap();
    assert!(db.recorded().await.is_empty() && db.tables().await.is_empty());

    // A file's own search_path holds for all its statements, also those after a progress row written inside a
    // transaction the file opened itself (a no-transaction file).
    db.exec("CREATE SCHEMA app").await;
    let own =
        "-- dbwarden: no-transaction\n-- upgrade\nSET search_path = app, public;\nBEGIN;\nCREATE TABLE t1 (id int);\n\
               CREATE TABLE t2 (id int);\nCOMMIT;\nCREATE TABLE t3 (id int);\n-- rollback\nDROP TABLE app.t3;\n\
               DROP TABLE app.t2;\nDROP TABLE app.t1;\n";
    std::fs::remove_file(dir.join("app__0001_dump.sql")).unwrap();
    std::fs::remove_file(dir.join("app__0002_u.sql")).unwrap();
    std::fs::write(dir.join("app__0003_own.sql"), own).unwrap();
    m.run(db.url.as_str()).await.unwrap();
    let placed = "SELECT table_schema || '.' || table_name FROM information_schema.tables \
                  WHERE table_name IN ('t1', 't2', 't3') ORDER BY 1";
    assert_eq!(db.strings(placed).await, ["app.t1", "app.t2", "app.t3"]);
    assert_eq!(db.recorded().await, ["0003"]);
}

/// mysqldump output locks its tables (`LOCK TABLES t WRITE` .. `UNLOCK TABLES`), under which no other table can be
/// written: the progress is recorded once they are unlocked (it failed, "was not locked with LOCK TABLES", and
/// stayed stuck). A failure under the locks releases them with the migration lock, so the next run starts at once.
#[tokio::test]
async fn mysql_a_dump_that_locks_its_tables_is_recorded() {
    let db = TestDb::new(Dialect::MySql).await;
    let dump = "-- upgrade\nDROP TABLE IF EXISTS `t`;\nCREATE TABLE `t` (`id` int NOT NULL, PRIMARY KEY (`id`));\n\
                LOCK TABLES `t` WRITE;\n/*!40000 ALTER TABLE `t` DISABLE KEYS */;\nINSERT INTO `t` VALUES (1),(2);\n\
                /*!40000 ALTER TABLE `t` ENABLE KEYS */;\nUNLOCK TABLES;\n-- rollback\nDROP TABLE `t`;\n";
    let dir = write_migrations(db.dir.path(), "app", &[("app__0001_dump.sql", dump)]);
    let m = migrator(&dir).lock_timeout(Duration::from_secs(2));
    m.run(db.url.as_str()).await.unwrap();
    assert_eq!(db.recorded().await, ["0001"]);
    assert_eq!(db.strings("SELECT CAST(COUNT(*) AS CHAR) FROM t").await, ["2"]);

    let broken = "-- upgrade\nCREATE TABLE `u` (`id` int NOT NULL, PRIMARY KEY (`id`));\nLOCK TABLES `u` WRITE;\n\
                  INSERT INTO `u` VALUES (1);\nINSERT INTO `nope` VALUES (1);\nUNLOCK TABLES;\n-- rollback\nDROP TABLE `u`;\n";
    std::fs::write(dir.join("app__0002_broken.sql"), broken).unwrap();
    for _attempt in 0..2 {
        // The second attempt fails the same way at once (the tables and the migration lock were released), resumed
        // at the failed statement: the INSERT under the locks is recorded as done, and does not run again.
        let started = std::time::Instant::now();
        match m.run(db.url.as_str()).await {
            Err(Error::Statement { at, .. }) => {
                assert_eq!((at.file.as_str(), at.index, at.applied), ("app__0002_broken.sql", 4, 3))
            }
            other => panic!("expected the INSERT's failure, got {other:?}"),
        }
        assert!(started.elapsed() < Duration::from_secs(2), "no wait for the lock");
        assert_eq!(db.strings("SELECT CAST(COUNT(*) AS CHAR) FROM u").await, ["1"]);
    }
    std::fs::write(dir.join("app__0002_broken.sql"), broken.replace("`nope` VALUES (1)", "`u` VALUES (2)")).unwrap();
    m.run(db.url.as_str()).await.unwrap();
    assert_eq!(db.strings("SELECT CAST(COUNT(*) AS CHAR) FROM u").await, ["2"]);
    assert_eq!(db.recorded().await, ["0001", "0002"]);

    // The locks first (mysqldump --no-create-info): nothing recorded before them either.
    let data = "-- upgrade\nLOCK TABLES `u` WRITE;\nINSERT INTO `u` VALUES (3);\nINSERT INTO `nope` VALUES (1);\n\
                UNLOCK TABLES;\n-- rollback\nDELETE FROM `u` WHERE `id` = 3;\n";
    std::fs::write(dir.join("app__0003_data.sql"), data).unwrap();
    for _attempt in 0..2 {
        match m.run(db.url.as_str()).await {
            Err(Error::Statement { at, .. }) => assert_eq!((at.index, at.applied), (3, 2)),
            other => panic!("expected the INSERT's failure, got {other:?}"),
        }
        assert_eq!(db.strings("SELECT CAST(COUNT(*) AS CHAR) FROM u").await, ["3"], "row 3 once");
    }
}
