//! Runtime behaviours beyond the basic flow: PostgreSQL statements that refuse transactions, pools, the
//! compile-time registry behind `dbwarden::migrate(&pool)`, a cancelled future, and files added after the build.

mod common;

use std::path::Path;
use std::time::Duration;

use common::{write_migrations, TestDb};
use dbwarden::{Dialect, EmbeddedFile, EmbeddedMigrations, Migrator, Source};

/// `no-transaction` files and `-- @dbwarden:autocommit` statements run outside the transaction, so
/// `CREATE INDEX CONCURRENTLY` works; the lock never deadlocks with it.
#[tokio::test]
async fn postgres_concurrently_outside_the_transaction() {
    let db = TestDb::new(Dialect::Postgres).await;
    let dir = write_migrations(
        db.dir.path(),
        "app",
        &[
            ("app__0001_t.sql", "-- upgrade\nCREATE TABLE t (id INTEGER, v TEXT);\n-- @dbwarden:autocommit\nCREATE INDEX CONCURRENTLY ix_t_v ON t (v);\nINSERT INTO t VALUES (1, 'a');\n-- rollback\nDROP TABLE t;\n"),
            ("app__0002_ix.sql", "-- dbwarden: no-transaction\n-- upgrade\nCREATE INDEX CONCURRENTLY ix_t_id ON t (id);\nCREATE UNIQUE INDEX CONCURRENTLY ux_t_id_v ON t (id, v);\n-- rollback\nDROP INDEX CONCURRENTLY ux_t_id_v;\nDROP INDEX CONCURRENTLY ix_t_id;\n"),
            ("app__0003_in_tx.sql", "-- upgrade\nCREATE INDEX CONCURRENTLY ix_bad ON t (v);\n-- rollback\n"),
        ],
    );
    let m = Migrator::new(Source::dir(&dir)).target_version(2);
    assert_eq!(m.run(db.url.as_str()).await.unwrap().steps.len(), 2);
    let indexes = db.strings("SELECT CAST(indexname AS TEXT) FROM pg_indexes WHERE tablename = 't' ORDER BY 1").await;
    assert_eq!(indexes, ["ix_t_id", "ix_t_v", "ux_t_id_v"]);
    // Without the directive, PostgreSQL refuses, and the error says where.
    match Migrator::new(Source::dir(&dir)).run(db.url.as_str()).await {
        Err(e @ dbwarden::Error::Statement { .. }) => {
            let dbwarden::Error::Statement { at, source } = &e else { unreachable!() };
            assert_eq!((at.file.as_str(), at.line), ("app__0003_in_tx.sql", 2));
            assert!(source.message.contains("transaction block"), "{source}");
            // The hint names both ways out.
            let hint = e.hint().unwrap();
            assert!(hint.contains("-- @dbwarden:autocommit") && hint.contains("-- dbwarden: no-transaction"), "{hint}");
        }
        other => panic!("{other:?}"),
    }
    Migrator::new(Source::dir(&dir)).rollback(db.url.as_str(), dbwarden::RollbackTo::Version(0)).await.unwrap();
    assert!(db.tables().await.is_empty());
}

/// Every pool type works, and a pool is never handed a connection with a lock or transaction on it.
#[tokio::test]
async fn pools_of_every_kind() {
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/basic");
    let m = Migrator::new(Source::dir(&fixtures));
    let pg = TestDb::new(Dialect::Postgres).await;
    let pool = sqlx::PgPool::connect(&pg.url).await.unwrap();
    assert_eq!(m.run(&pool).await.unwrap().steps.len(), 3);
    // Everything applied: the read-only fast path through the pool says so.
    assert!(m.run(&pool).await.unwrap().steps.is_empty());
    let my = TestDb::new(Dialect::MySql).await;
    let pool = sqlx::MySqlPool::connect(&my.url).await.unwrap();
    assert_eq!(m.run(&pool).await.unwrap().steps.len(), 3);
    let lite = TestDb::new(Dialect::Sqlite).await;
    let pool = sqlx::SqlitePool::connect(&lite.url).await.unwrap();
    assert_eq!(m.run(&pool).await.unwrap().steps.len(), 3);
    // In-memory SQLite: the migrated schema is visible through the pool afterwards.
    let memory = sqlx::SqlitePool::connect("sqlite::memory:").await.unwrap();
    assert_eq!(m.run(&memory).await.unwrap().steps.len(), 3);
    let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM users").fetch_one(&memory).await.unwrap();
    assert_eq!(n, 1);
    sqlx::any::install_default_drivers();
    let any_db = TestDb::new(Dialect::Postgres).await;
    let any = sqlx::AnyPool::connect(&any_db.url).await.unwrap();
    assert!(!m.up_to_date(&any).await.unwrap());
    assert_eq!(m.run(&any).await.unwrap().steps.len(), 3);
    // A readiness probe on an AnyPool turns ready (it said false whatever the state).
    assert!(m.up_to_date(&any).await.unwrap());
}

mod registered {
    // What an application writes: one line, no list of files.
    dbwarden::embed_migrations!(root = "tests/fixtures/registered/migrations");
}

/// `embed_migrations!()` registers the set at compile time; `dbwarden::migrate(&pool)` finds it by itself.
#[tokio::test]
async fn migrate_finds_the_registered_set() {
    let db = TestDb::new(Dialect::Sqlite).await;
    let pool = sqlx::SqlitePool::connect(&db.url).await.unwrap();
    let report = dbwarden::migrate(&pool).await.unwrap();
    assert_eq!(report.database, "shop");
    assert_eq!(report.steps[0].filename, "shop__0001_items.sql");
    assert_eq!(db.tables().await, ["items"]);
    assert!(dbwarden::embedded::find("shop").is_some());
}

/// A migrate future dropped mid-migration (a timeout, a cancelled task) releases the lock.
#[tokio::test]
async fn cancelled_future_releases_the_lock() {
    for dialect in common::ALL {
        let db = TestDb::new(dialect).await;
        let slow = match dialect {
            Dialect::Postgres => "SELECT pg_sleep(3)",
            Dialect::MySql => "SELECT SLEEP(3)",
            Dialect::Sqlite => "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 6000000) SELECT COUNT(*) FROM c",
        };
        let dir = write_migrations(
            db.dir.path(),
            "app",
            &[("app__0001_slow.sql", &format!("-- upgrade\n{slow};\n-- rollback\n"))],
        );
        let m = Migrator::new(Source::dir(&dir)).lock_timeout(Duration::from_secs(30));
        let cancelled = tokio::time::timeout(Duration::from_millis(300), m.run(db.url.as_str())).await;
        assert!(cancelled.is_err(), "{dialect}: the run should have been cancelled");
        tokio::time::sleep(Duration::from_millis(200)).await;
        let started = std::time::Instant::now();
        // The server may have finished the batch it already had (PostgreSQL, MariaDB) or rolled it back with the
        // dropped connection (SQLite): either way the migration ends up applied and recorded exactly once.
        m.run(db.url.as_str()).await.unwrap();
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "{dialect}: waited {:?} for a dropped holder",
            started.elapsed()
        );
        assert_eq!(db.recorded().await, ["0001"], "{dialect}");
        assert!(!m.lock_status(db.url.as_str()).await.unwrap().held, "{dialect}");
    }
}

/// Through a server pool, migrations run on one of the pool's connections taken out of it: in the session the
/// application configured (an `after_connect` search_path on PostgreSQL), and a lock or a cancelled run never goes
/// back into the pool.
#[tokio::test]
async fn pool_runs_on_a_detached_connection_of_its_own_session() {
    use sqlx::Executor;
    let db = TestDb::new(Dialect::Postgres).await;
    db.exec("CREATE SCHEMA app").await;
    let dir = write_migrations(
        db.dir.path(),
        "app",
        &[
            ("app__0001_a.sql", "-- upgrade\nCREATE TABLE a (id INTEGER);\n-- rollback\nDROP TABLE a;\n"),
            ("app__0002_slow.sql", "-- upgrade\nSELECT pg_sleep(3);\n-- rollback\n"),
        ],
    );
    let pool = sqlx::postgres::PgPoolOptions::new()
        .max_connections(1)
        .after_connect(|conn, _| {
            Box::pin(async move {
                conn.execute("SET search_path TO app").await?;
                Ok(())
            })
        })
        .connect(&db.url)
        .await
        .unwrap();
    let m = Migrator::new(Source::dir(&dir)).target_version(1);
    assert_eq!(m.run(&pool).await.unwrap().steps.len(), 1);
    let in_app = "SELECT CAST(table_name AS TEXT) FROM information_schema.tables WHERE table_schema = 'app' ORDER BY 1";
    assert_eq!(db.strings(in_app).await, ["_dbwarden_migrations", "a", "dbwarden_head", "dbwarden_lock"]);
    let advisory = "SELECT CAST(COUNT(*) AS TEXT) FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid()";
    let held: String = sqlx::query_scalar(advisory).fetch_one(&pool).await.unwrap();
    assert_eq!(held, "0", "the pool's connection holds no lock");

    // A run cancelled in the middle of a 3 s statement closes its connection: the server notices within about a
    // second (client_connection_check_interval) and frees the lock; the pool still serves, holding no lock.
    let m = Migrator::new(Source::dir(&dir)).lock_timeout(Duration::from_secs(30));
    assert!(tokio::time::timeout(Duration::from_millis(500), m.run(&pool)).await.is_err());
    let started = std::time::Instant::now();
    while m.lock_status(db.url.as_str()).await.unwrap().held {
        assert!(started.elapsed() < Duration::from_millis(2000), "the lock outlived its closed session");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let held: String = sqlx::query_scalar(advisory).fetch_one(&pool).await.unwrap();
    assert_eq!(held, "0");
    pool.close().await;
}

/// What rides with taking or releasing the lock (the head record's clearing and writing, in the same commit on
/// SQLite, the same round trip on the servers) never keeps the lock held when it fails: a failing `first` still
/// releases it and returns its error; on SQLite a failing `then` leaves the lock free.
#[tokio::test]
async fn lock_rides_release_the_lock_when_their_sql_fails() {
    use dbwarden::backend::{connect, ConnectSpec};
    use dbwarden::lock::LockHolder;
    for dialect in common::ALL {
        let db = TestDb::new(dialect).await;
        let spec = ConnectSpec { url: db.url.clone(), create: false };
        let (mut a, mut b) = (connect(&spec).await.unwrap(), connect(&spec).await.unwrap());
        let me = LockHolder::me();
        assert!(a.try_lock("ns", &me, "").await.unwrap(), "{dialect}");
        assert!(!b.try_lock("ns", &me, "").await.unwrap(), "{dialect}: held by a");
        let err = a.unlock("ns", "SELECT * FROM no_such_table").await;
        assert!(err.is_err(), "{dialect}: the failing SQL's error is returned");
        assert!(b.try_lock("ns", &me, "").await.unwrap(), "{dialect}: released all the same");
        b.unlock("ns", "").await.unwrap();
        if dialect == Dialect::Sqlite {
            assert!(a.try_lock("ns", &me, "SELECT * FROM no_such_table").await.is_err(), "{dialect}");
            assert!(b.try_lock("ns", &me, "").await.unwrap(), "{dialect}: a failing `then` takes no lock");
            b.unlock("ns", "").await.unwrap();
        }
        a.close().await;
        b.close().await;
    }
}

/// TLS: PostgreSQL here serves it (Debian's snakeoil certificate), and `sslmode=require` makes the migration's own
/// session use it (a build without TLS failed: "SQLx was built without TLS support enabled").
#[tokio::test]
async fn postgres_over_tls() {
    let db = TestDb::new(Dialect::Postgres).await;
    let text = "-- upgrade\nCREATE TABLE tls_seen AS SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid();\n\
                -- rollback\nDROP TABLE tls_seen;\n";
    let dir = write_migrations(db.dir.path(), "app", &[("app__0001_tls.sql", text)]);
    let url = format!("{}{}sslmode=require", db.url, if db.url.contains('?') { "&" } else { "?" });
    Migrator::new(Source::dir(&dir)).run(url.as_str()).await.unwrap();
    assert_eq!(db.strings("SELECT CAST(ssl AS TEXT) FROM tls_seen").await, ["true"]);
}

/// A holder row written before what rides with taking the lock failed (on MySQL they are separate statements) goes
/// with the lock: it stayed behind, "held", and `lock-status` reported a stale holder.
#[tokio::test]
async fn a_failed_ride_along_leaves_no_holder_row() {
    let db = TestDb::new(Dialect::MySql).await;
    let text = "-- upgrade\nCREATE TABLE a (id INTEGER);\n-- rollback\nDROP TABLE a;\n";
    let dir = write_migrations(db.dir.path(), "app", &[("app__0001_a.sql", text)]);
    // MySQL refuses a table name of 80 characters when the ride-along creates the history table.
    let m = Migrator::new(Source::dir(&dir)).table("x".repeat(80));
    let err = m.run(db.url.as_str()).await.unwrap_err();
    assert!(err.to_string().contains("recording the lock holder"), "{err}");
    assert_eq!(db.strings("SELECT CAST(COUNT(*) AS CHAR) FROM dbwarden_lock").await, ["0"]);
    let status = m.lock_status(db.url.as_str()).await.unwrap();
    assert!(!status.held && status.holder.is_none(), "{status:?}");
}

/// A file on disk that the binary does not embed is reported, never silently ignored.
#[test]
fn files_added_after_the_build_are_reported() {
    let dir = tempfile::tempdir().unwrap();
    let text = "-- upgrade\nSELECT 1;\n-- rollback\n";
    std::fs::write(dir.path().join("app__0001_a.sql"), text).unwrap();
    std::fs::write(dir.path().join("app__0002_new.sql"), text).unwrap();
    let file = dbwarden::MigrationFile::parse("app__0001_a.sql", text).unwrap();
    let files: &'static [EmbeddedFile] = Box::leak(Box::new([EmbeddedFile {
        filename: "app__0001_a.sql",
        contents: text,
        checksum: Box::leak(file.checksum.into_boxed_str()),
        rollback_checksum: Box::leak(file.rollback_checksum.into_boxed_str()),
    }]));
    let set: &'static EmbeddedMigrations = Box::leak(Box::new(EmbeddedMigrations {
        db: "app",
        dir: Box::leak(dir.path().to_str().unwrap().to_string().into_boxed_str()),
        files,
        fingerprint: None,
    }));
    assert_eq!(set.files_missing_from_binary(), ["app__0002_new.sql"]);
    // Loading the set warns (through the application's tracing subscriber), naming the file and what to do.
    let logs = std::sync::Arc::new(std::sync::Mutex::new(Vec::<u8>::new()));
    let writer = {
        let logs = logs.clone();
        move || Log(logs.clone())
    };
    let subscriber = tracing_subscriber::fmt().with_writer(writer).with_ansi(false).finish();
    let loaded = tracing::subscriber::with_default(subscriber, || Source::Embedded(set).load().unwrap());
    assert_eq!(loaded.not_embedded, ["app__0002_new.sql"]);
    let logs = String::from_utf8(logs.lock().unwrap().clone()).unwrap();
    assert!(
        logs.contains("WARN")
            && logs.contains("migration files on disk are not in this binary; rebuild it")
            && logs.contains("app__0002_new.sql"),
        "{logs}"
    );
}

/// A log writer into a shared buffer.
struct Log(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for Log {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The start-up fast path (a read through the pool when nothing is pending) never hides anything: an edited file,
/// a legacy row or a pending file still takes the locked path, on every pool type.
#[tokio::test]
async fn fast_path_never_hides_edits_or_pending_work() {
    for dialect in common::ALL {
        let db = TestDb::new(dialect).await;
        let text = "-- upgrade\nCREATE TABLE a (id INTEGER);\n-- rollback\nDROP TABLE a;\n";
        let dir = write_migrations(db.dir.path(), "app", &[("app__0001_a.sql", text)]);
        let m = Migrator::new(Source::dir(&dir));
        macro_rules! check {
            ($pool:expr) => {{
                let pool = $pool;
                assert!(!m.up_to_date(&pool).await.unwrap(), "{dialect}: nothing applied yet");
                assert_eq!(m.run(&pool).await.unwrap().steps.len(), 1, "{dialect}");
                // The fast path's own read answers (a failing query would answer false).
                assert!(m.up_to_date(&pool).await.unwrap(), "{dialect}: fast path read");
                assert!(m.run(&pool).await.unwrap().steps.is_empty(), "{dialect}: fast path");
                std::fs::write(dir.join("app__0001_a.sql"), text.replace("id INTEGER", "id BIGINT")).unwrap();
                assert!(!m.up_to_date(&pool).await.unwrap(), "{dialect}: edited");
                assert!(matches!(m.run(&pool).await, Err(dbwarden::Error::Edited { .. })), "{dialect}: edit hidden");
                std::fs::write(dir.join("app__0001_a.sql"), text).unwrap();
                std::fs::write(dir.join("app__0002_b.sql"), text.replace(" a", " b")).unwrap();
                assert!(!m.up_to_date(&pool).await.unwrap(), "{dialect}: pending");
                assert_eq!(m.run(&pool).await.unwrap().steps.len(), 1, "{dialect}: pending file hidden");
                assert!(m.up_to_date(&pool).await.unwrap(), "{dialect}: applied again");
                // A Python DBWarden row (no algorithm) is adopted by the locked path, not skipped. (A database that
                // Python DBWarden migrated has no head record.)
                db.exec("UPDATE _dbwarden_migrations SET checksum_algorithm = NULL WHERE version = '0001'").await;
                db.exec("DELETE FROM dbwarden_head").await;
                assert!(m.run(&pool).await.unwrap().steps.is_empty());
                let rows = m.history(db.url.as_str()).await.unwrap();
                assert!(
                    rows.iter().all(|r| r.checksum_algorithm.as_deref() == Some("sha256")),
                    "{dialect}: not adopted"
                );
            }};
        }
        match dialect {
            Dialect::Postgres => check!(sqlx::PgPool::connect(&db.url).await.unwrap()),
            Dialect::MySql => check!(sqlx::MySqlPool::connect(&db.url).await.unwrap()),
            Dialect::Sqlite => check!(sqlx::SqlitePool::connect(&db.url).await.unwrap()),
        }
    }
}

/// The head record: a complete `migrate` writes it, the next start-up reads that one row (and the history's row
/// count) instead of every row; every locked change voids it; a missing one is written back.
#[tokio::test]
async fn head_record_short_cuts_the_no_op_and_never_goes_stale() {
    for dialect in common::ALL {
        let db = TestDb::new(dialect).await;
        let text = "-- upgrade\nCREATE TABLE a (id INTEGER);\n-- rollback\nDROP TABLE a;\n";
        let dir = write_migrations(
            db.dir.path(),
            "app",
            &[("app__0001_a.sql", text), ("app__0002_b.sql", &text.replace(" a", " b"))],
        );
        let m = Migrator::new(Source::dir(&dir)).resolve().unwrap();
        let expected = Source::dir(&dir).load().unwrap().fingerprint.clone().unwrap();
        let head_sql = match dialect {
            Dialect::MySql => "SELECT CAST(CONCAT(digest, ' ', migrations) AS CHAR) FROM dbwarden_head",
            _ => "SELECT digest || ' ' || migrations FROM dbwarden_head",
        };
        let head = || db.strings(head_sql);
        macro_rules! check {
            ($pool:expr) => {{
                let pool = $pool;
                assert_eq!(m.run(&pool).await.unwrap().steps.len(), 2, "{dialect}");
                assert_eq!(head().await, [format!("{} 2", expected.digest)], "{dialect}: written");
                // The start-up check reads the head row, not the rows: a checksum changed by hand in place is not
                // seen there (documented), while status and the CLI's migrate (no pool: full read) see it.
                db.exec("UPDATE _dbwarden_migrations SET checksum = 'x' WHERE version = '0001'").await;
                assert!(m.run(&pool).await.unwrap().steps.is_empty(), "{dialect}: head row read");
                assert!(matches!(m.run(db.url.as_str()).await, Err(dbwarden::Error::Edited { .. })), "{dialect}");
                assert_eq!(head().await, Vec::<String>::new(), "{dialect}: a locked run voids the head");
                let status = m.status(db.url.as_str()).await.unwrap();
                assert!(status.entries.iter().any(|e| e.state == dbwarden::EntryState::Edited), "{dialect}");
                m.repair(db.url.as_str()).await.unwrap();
                // Everything applied but no head: the start-up writes it back (one try of the lock).
                assert!(m.run(&pool).await.unwrap().steps.is_empty(), "{dialect}");
                assert_eq!(head().await, [format!("{} 2", expected.digest)], "{dialect}: written back");
                // A history row deleted by hand (to force a re-run) changes the row count: the file runs again.
                db.exec("DELETE FROM _dbwarden_migrations WHERE version = '0002'").await;
                db.exec("DROP TABLE b").await;
                assert_eq!(m.run(&pool).await.unwrap().steps.len(), 1, "{dialect}: forced re-run");
                assert_eq!(head().await.len(), 1, "{dialect}");
                // A rollback voids the head; the next migrate applies and writes it again.
                m.rollback(&pool, dbwarden::RollbackTo::Count(1)).await.unwrap();
                assert_eq!(head().await, Vec::<String>::new(), "{dialect}: rollback voids the head");
                assert!(!m.up_to_date(&pool).await.unwrap(), "{dialect}");
                assert_eq!(m.run(&pool).await.unwrap().steps.len(), 1, "{dialect}");
                assert!(m.up_to_date(&pool).await.unwrap(), "{dialect}");
                // A run stopped short of the end (a target version) leaves no head.
                std::fs::write(dir.join("app__0003_c.sql"), text.replace(" a", " c")).unwrap();
                let partial = Migrator::new(Source::dir(&dir)).target_version(2);
                assert!(partial.run(db.url.as_str()).await.unwrap().steps.is_empty());
                assert_eq!(head().await, Vec::<String>::new(), "{dialect}: incomplete history, no head");
                std::fs::remove_file(dir.join("app__0003_c.sql")).unwrap();
            }};
        }
        match dialect {
            Dialect::Postgres => check!(sqlx::PgPool::connect(&db.url).await.unwrap()),
            Dialect::MySql => check!(sqlx::MySqlPool::connect(&db.url).await.unwrap()),
            Dialect::Sqlite => check!(sqlx::SqlitePool::connect(&db.url).await.unwrap()),
        }
    }
}

/// MySQL's executable comments are statements the server runs (mysqldump writes whole statements so): none is
/// dropped as a mere comment.
#[tokio::test]
async fn mysql_executable_comments_run() {
    let db = TestDb::new(Dialect::MySql).await;
    let dir = write_migrations(
        db.dir.path(),
        "app",
        &[(
            "app__0001_dump.sql",
            "-- upgrade\nCREATE TABLE t (id INT);\n/*!40000 INSERT INTO t VALUES (1) */;\n\
             /*!50003 CREATE*/ /*!50003 TRIGGER trg BEFORE INSERT ON t FOR EACH ROW SET NEW.id = NEW.id + 100 */;\n\
             INSERT INTO t VALUES (2);\n-- rollback\nDROP TABLE t;\n",
        )],
    );
    Migrator::new(Source::dir(&dir)).run(db.url.as_str()).await.unwrap();
    assert_eq!(db.strings("SELECT CAST(id AS CHAR) FROM t ORDER BY id").await, ["1", "102"]);
}

/// `begin` and `end` as column names inside a procedure's body: the body is one statement (it was split at the first
/// `;` after `SET end =`, committing half the file), and the procedure runs.
#[tokio::test]
async fn mysql_begin_and_end_columns_inside_a_body() {
    let db = TestDb::new(Dialect::MySql).await;
    let dir = write_migrations(
        db.dir.path(),
        "app",
        &[(
            "app__0001_ev.sql",
            "-- upgrade\nCREATE TABLE ev (id INT, begin DATE, end DATE, status INT);\n\
             INSERT INTO ev VALUES (1, '2026-01-01', '2026-02-01', 0);\n\
             CREATE PROCEDURE close_ev() BEGIN\n  UPDATE ev SET end = NULL WHERE id = 1;\n  \
             UPDATE ev SET status = IF(begin IS NULL, 1, 2);\nEND;\n\
             -- rollback\nDROP PROCEDURE close_ev;\nDROP TABLE ev;\n",
        )],
    );
    let report = Migrator::new(Source::dir(&dir)).run(db.url.as_str()).await.unwrap();
    assert_eq!(report.steps[0].statements, 3);
    db.exec("CALL close_ev()").await;
    assert_eq!(db.strings("SELECT CONCAT(COALESCE(CAST(end AS CHAR), 'null'), ' ', status) FROM ev").await, ["null 2"]);
}

/// A MariaDB syntax error quotes the rest of the batch, which holds dbwarden's bookkeeping: the message stops
/// where the user's SQL does.
#[tokio::test]
async fn mysql_syntax_errors_do_not_show_the_bookkeeping() {
    let db = TestDb::new(Dialect::MySql).await;
    let dir = write_migrations(
        db.dir.path(),
        "app",
        &[("app__0001_x.sql", "-- upgrade\nCREATE TABLE a (id INT);\nCREATE TABLE b (id INT) garbage;\n-- rollback\n")],
    );
    let e = Migrator::new(Source::dir(&dir)).run(db.url.as_str()).await.unwrap_err();
    let text = e.to_string();
    assert!(text.contains("app__0001_x.sql:3:") && text.contains("near ';' at line 1"), "{text}");
    assert!(!text.contains("_dbwarden_migrations") && !text.contains("dbwarden_record"), "{text}");
}

/// MariaDB, a rollback stopped part-way: resuming refuses when a rollback statement that already ran was changed
/// in the file, and resumes once it is restored.
#[tokio::test]
async fn mysql_rollback_resume_checks_the_statements_that_ran() {
    let db = TestDb::new(Dialect::MySql).await;
    let rollback = "DROP TABLE c;\nDROP TABLE nowhere;\nDROP TABLE a;\n";
    let text = |rollback: &str| {
        format!("-- upgrade\nCREATE TABLE a (id INT);\nCREATE TABLE c (id INT);\n-- rollback\n{rollback}")
    };
    let dir = write_migrations(db.dir.path(), "app", &[("app__0001_x.sql", &text(rollback))]);
    let m = Migrator::new(Source::dir(&dir));
    m.run(db.url.as_str()).await.unwrap();
    assert!(m.rollback(db.url.as_str(), dbwarden::RollbackTo::Version(0)).await.is_err());
    assert_eq!(db.tables().await, ["a"], "the first rollback statement ran");

    let fixed = rollback.replace("DROP TABLE nowhere;\n", "");
    std::fs::write(dir.join("app__0001_x.sql"), text(&fixed.replace("DROP TABLE c", "DROP TABLE IF EXISTS c2")))
        .unwrap();
    match m.rollback(db.url.as_str(), dbwarden::RollbackTo::Version(0)).await {
        Err(e @ dbwarden::Error::RanStatementsEdited { rollback: true, ran: 1, total: 2, .. }) => {
            let hint = e.hint().unwrap();
            assert!(
                hint.contains("restore rollback statements 1 to 1") && hint.contains("finish the rollback by hand"),
                "{hint}"
            )
        }
        other => panic!("{other:?}"),
    }
    std::fs::write(dir.join("app__0001_x.sql"), text(&fixed)).unwrap();
    m.rollback(db.url.as_str(), dbwarden::RollbackTo::Version(0)).await.unwrap();
    assert!(db.tables().await.is_empty());
    assert!(db.recorded().await.is_empty());
}

/// MariaDB: a CALL whose procedure returns rows before it fails is reported as that statement's failure, not as
/// a failure to record the migration.
#[tokio::test]
async fn mysql_a_failing_call_names_its_statement() {
    let db = TestDb::new(Dialect::MySql).await;
    let dir = write_migrations(
        db.dir.path(),
        "app",
        &[
            (
                "app__0001_p.sql",
                "-- upgrade\nCREATE TABLE t (id INT PRIMARY KEY);\nCREATE PROCEDURE p() BEGIN SELECT 1; INSERT INTO t VALUES (1); INSERT INTO t VALUES (1); END;\n-- rollback\nDROP PROCEDURE p;\nDROP TABLE t;\n",
            ),
            ("app__0002_call.sql", "-- upgrade\nSELECT 2;\nCALL p();\n-- rollback\n"),
        ],
    );
    match Migrator::new(Source::dir(&dir)).run(db.url.as_str()).await {
        Err(dbwarden::Error::Statement { at, source }) => {
            assert_eq!((at.file.as_str(), at.line, at.index), ("app__0002_call.sql", 3, 2), "{source}");
            assert!(source.message.contains("Duplicate entry"), "{source}");
        }
        other => panic!("{other:?}"),
    }
}

/// SQLite: a run cancelled while a long write runs on (sqlx's worker finishes the statement after the future is
/// dropped) still frees its lock once the write ends: the row's DELETE, busy until then, is tried again (it was
/// tried once, and the same process then waited for the row to expire).
#[tokio::test]
async fn sqlite_cancelled_long_write_frees_the_lock_when_it_ends() {
    use std::str::FromStr;
    let db = TestDb::new(Dialect::Sqlite).await;
    let slow = "CREATE TABLE big AS WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 3000000) \
                SELECT x FROM c";
    let dir = write_migrations(
        db.dir.path(),
        "app",
        &[("app__0001_slow.sql", &format!("-- upgrade\n{slow};\n-- rollback\nDROP TABLE big;\n"))],
    );
    // A short busy timeout: the first DELETE of the lock row fails while the write still runs.
    let options =
        sqlx::sqlite::SqliteConnectOptions::from_str(&db.url).unwrap().busy_timeout(Duration::from_millis(100));
    let pool = sqlx::SqlitePool::connect_with(options).await.unwrap();
    let m = Migrator::new(Source::dir(&dir));
    assert!(tokio::time::timeout(Duration::from_millis(300), m.run(&pool)).await.is_err(), "cancelled mid-write");
    let started = std::time::Instant::now();
    loop {
        if let Ok(status) = m.lock_status(&pool).await {
            if !status.held {
                break;
            }
        }
        assert!(started.elapsed() < Duration::from_secs(30), "the lock was never freed");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    m.run(&pool).await.unwrap();
    assert_eq!(db.recorded().await, ["0001"]);
}

/// `status` and `history` through a server pool read through the pool: a probe calling them often opens no
/// connection per call (each call took one of the pool's connections out for good, so the pool opened another).
#[tokio::test]
async fn status_through_a_pool_costs_no_connection() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/basic");
    let m = Migrator::new(Source::dir(&fixtures));
    for dialect in [Dialect::Postgres, Dialect::MySql] {
        let db = TestDb::new(dialect).await;
        let opened = Arc::new(AtomicUsize::new(0));
        macro_rules! check {
            ($pool:ty) => {{
                let counter = opened.clone();
                let pool: $pool = sqlx::pool::PoolOptions::new()
                    .max_connections(2)
                    .after_connect(move |_, _| {
                        counter.fetch_add(1, Ordering::SeqCst);
                        Box::pin(async { Ok(()) })
                    })
                    .connect(&db.url)
                    .await
                    .unwrap();
                m.run(&pool).await.unwrap();
                // (The run took a connection out for good; the pool replaces it once.)
                m.status(&pool).await.unwrap();
                let before = opened.load(Ordering::SeqCst);
                for _ in 0..5 {
                    assert_eq!(m.status(&pool).await.unwrap().pending, 0);
                    assert_eq!(m.history(&pool).await.unwrap().len(), 3);
                }
                assert_eq!(opened.load(Ordering::SeqCst), before, "{dialect}: connections opened by status/history");
            }};
        }
        match dialect {
            Dialect::Postgres => check!(sqlx::PgPool),
            _ => check!(sqlx::MySqlPool),
        }
    }
}
