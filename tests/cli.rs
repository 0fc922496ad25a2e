//! The `dbwarden` CLI as real processes: init/new/migrate/status/rollback on the SQLite default, ad hoc `--url`,
//! exit codes and JSON, and the lock across 16 concurrent processes, a killed holder and a timeout naming its holder.

mod common;

use std::path::Path;
use std::time::{Duration, Instant};

use common::{cli, cli_command, output_of, write_migrations, TestDb, ALL};
use dbwarden::Dialect;

cli_entry!();

fn portable(n: usize) -> Vec<(String, String)> {
    (1..=n)
        .map(|i| {
            (
                format!("primary__{i:04}_step_{i}.sql"),
                format!("-- upgrade\nCREATE TABLE t{i} (id INTEGER PRIMARY KEY, v VARCHAR(20));\nINSERT INTO t{i} (id, v) VALUES (1, 'x;y');\n-- rollback\nDROP TABLE t{i};\n"),
            )
        })
        .collect()
}

fn write(root: &Path, files: &[(String, String)]) -> std::path::PathBuf {
    let refs: Vec<(&str, &str)> = files.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect();
    write_migrations(root, "primary", &refs)
}

/// `new` never writes a file that the tool then reads otherwise or refuses: a description that reads as a section
/// line or a directive, one too long for a file name, a version past the last a file name can carry.
#[test]
fn new_writes_only_files_the_tool_reads_as_written() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    assert_eq!(cli(root, &["init"]).code, 0);
    for description in ["upgrade", "rollback", "dbwarden: irreversible", "dbwarden: foo"] {
        let out = cli(root, &["new", description]);
        assert_eq!(out.code, 0, "{description}: {out:?}");
    }
    let long = "word ".repeat(60);
    let out = cli(root, &["--json", "new", &long]);
    assert_eq!(out.code, 0, "{out:?}");
    let path = out.json()["path"].as_str().unwrap().to_string();
    assert!(Path::new(&path).file_name().unwrap().len() < 120, "{path}");
    let folder = root.join("migrations/primary");
    for entry in std::fs::read_dir(&folder).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_str().unwrap().to_string();
        let file = dbwarden::MigrationFile::parse(&name, &std::fs::read_to_string(&path).unwrap()).unwrap();
        assert_eq!(file.directives, Default::default(), "{name}: no directive but what was written by hand");
    }
    let out = cli(root, &["migrate", "--dry-run"]);
    assert!(out.code == 0 && out.stdout.matches("would apply").count() == 5, "{out:?}");
    // After the last version a file name can carry, `new` refuses (it wrote a file every command then refused).
    std::fs::write(folder.join("primary__999999999999999999_last.sql"), "-- upgrade\n-- rollback\n").unwrap();
    let out = cli(root, &["new", "next"]);
    assert!(out.code == 2 && out.stderr.contains("no version comes after it"), "{out:?}");
    assert_eq!(std::fs::read_dir(&folder).unwrap().count(), 6, "nothing written");
    // A URL its driver cannot read is named as the --url's.
    let out = cli(root, &["--url", "postgres://u:s3cret@h:99999/d", "status"]);
    assert!(out.code == 2 && out.stderr.contains("--url `postgres://u:***@h:99999/d`: invalid port number"), "{out:?}");
}

/// A history table name fine for the config's SQLite is checked again for the backend `--url` names.
#[test]
fn migration_table_is_checked_for_the_backend_the_url_names() {
    let dir = tempfile::tempdir().unwrap();
    let long = "h".repeat(100);
    let config = format!("[[database]]\nname = \"primary\"\nurl = \"sqlite://a.db\"\nmigration_table = \"{long}\"\n");
    std::fs::write(dir.path().join("dbwarden.toml"), config).unwrap();
    std::fs::create_dir_all(dir.path().join("migrations/primary")).unwrap();
    let out = cli(dir.path(), &["--url", "postgres://u:pw@127.0.0.1:1/d", "status"]);
    assert!(out.code == 2 && out.stderr.contains("longer than a postgresql table name"), "{out:?}");
    assert!(out.stderr.contains("(--url names a postgresql database)") && !out.stderr.contains(":pw@"), "{out:?}");
}

#[test]
fn init_new_migrate_status_rollback_on_the_sqlite_default() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let out = cli(root, &["init"]);
    assert_eq!(out.code, 0, "{out:?}");
    assert!(root.join("dbwarden.toml").exists() && root.join("migrations/primary").is_dir());

    // Pointed at the parent of the database folders (`init` made migrations/primary, still empty), `new` refuses
    // rather than start a second folder for the database.
    let out = cli(root, &["--migrations-dir", "migrations", "new", "first"]);
    assert!(out.code == 2 && out.stderr.contains("sub-folder primary"), "{out:?}");
    assert!(std::fs::read_dir(root.join("migrations")).unwrap().all(|e| e.unwrap().path().is_dir()), "no file written");

    let out = cli(root, &["new", "Create", "users!"]);
    assert_eq!(out.code, 0, "{out:?}");
    let file = root.join("migrations/primary/primary__0001_create_users.sql");
    let text = std::fs::read_to_string(&file).unwrap();
    std::fs::write(
        &file,
        text.replace("-- upgrade\n", "-- upgrade\nCREATE TABLE users (id INTEGER PRIMARY KEY);\n")
            .replace("-- rollback\n", "-- rollback\nDROP TABLE users;\n"),
    )
    .unwrap();
    // A description with line breaks stays on the title line (it once ended the comment and broke the file).
    assert_eq!(cli(root, &["new", "second\n-- upgrade\nDROP TABLE users;"]).code, 0);
    let second = root.join("migrations/primary/primary__0002_second_upgrade_drop_table_users.sql");
    let text = std::fs::read_to_string(second).unwrap();
    assert!(text.starts_with("-- second -- upgrade DROP TABLE users;\n"), "{text}");

    // A new project previews its first run: the file migrate would create is not created, and the plan is the
    // whole folder (as on an empty database).
    let out = cli(root, &["migrate", "--dry-run"]);
    assert_eq!(out.code, 0, "{out:?}");
    assert!(
        out.stdout.contains("would apply primary__0001_create_users.sql") && out.stdout.contains("CREATE TABLE users"),
        "{}",
        out.stdout
    );
    assert!(out.stderr.contains("app.db: the database file does not exist yet"), "{}", out.stderr);
    assert!(!root.join("app.db").exists(), "a dry run creates nothing");
    // Where migrate could not create the file (no such folder), the dry run says so instead of planning.
    let out = cli(root, &["--url", "sqlite://no_such_folder/app.db", "migrate", "--dry-run"]);
    assert!(out.code == 2 && out.stderr.contains("its folder no_such_folder does not exist"), "{out:?}");
    // Nor where the URL opens the file read-only: the error names the setting, for every command.
    for (query, setting) in
        [("mode=ro", "mode=ro"), ("immutable=true", "immutable=true"), ("mode=rwc&immutable=1", "immutable=true")]
    {
        let url = format!("sqlite://app.db?{query}");
        for args in [&["migrate", "--dry-run"][..], &["status"], &["migrate"]] {
            let out = cli(root, &[&["--url", url.as_str()][..], args].concat());
            let said = format!("app.db: the database file does not exist, and the URL opens it read-only ({setting})");
            assert!(out.code == 2 && out.stderr.contains(&said), "{args:?} {out:?}");
        }
    }
    assert!(!root.join("app.db").exists());
    // `immutable=false` is not read-only: the preview plans as for the plain URL.
    let out = cli(root, &["--url", "sqlite://app.db?immutable=false", "migrate", "--dry-run"]);
    assert!(out.code == 0 && out.stdout.contains("would apply primary__0001_create_users.sql"), "{out:?}");

    let out = cli(root, &["migrate"]);
    assert_eq!(out.code, 0, "{out:?}");
    assert!(out.stdout.contains("applied primary__0001_create_users.sql"), "{}", out.stdout);
    assert!(root.join("app.db").exists(), "the default database is ./app.db");

    let status = cli(root, &["status", "--json"]);
    assert_eq!(status.code, 0, "{status:?}");
    let json = status.json();
    assert_eq!((json["applied"].as_u64(), json["pending"].as_u64()), (Some(2), Some(0)));

    let out = cli(root, &["--json", "migrate"]);
    assert_eq!(out.json()["databases"][0]["steps"].as_array().unwrap().len(), 0);

    // An edited applied file: a check found something (SPEC §5: exit 1), in status and in migrate, which refuses
    // naming the file.
    std::fs::write(&file, std::fs::read_to_string(&file).unwrap().replace("id INTEGER", "id BIGINT")).unwrap();
    let status = cli(root, &["status"]);
    assert_eq!(status.code, 1, "{status:?}");
    assert!(status.stdout.contains("EDITED"), "{}", status.stdout);
    let out = cli(root, &["migrate"]);
    assert_eq!(out.code, 1, "{out:?}");
    assert!(out.stderr.contains("primary__0001_create_users.sql") && out.stderr.contains("hint:"), "{}", out.stderr);
    assert_eq!(cli(root, &["repair"]).code, 0);
    assert_eq!(cli(root, &["status"]).code, 0);

    let out = cli(root, &["rollback", "--count", "2"]);
    assert_eq!(out.code, 0, "{out:?}");
    let history = cli(root, &["history", "--json"]).json();
    assert_eq!(history.as_array().unwrap().len(), 0);
    assert_eq!(cli(root, &["rollback", "--count", "1", "--to-version", "1"]).code, 2, "conflicting options");
    // With --json, a usage error is JSON too.
    let out = cli(root, &["--json", "rollback", "--count", "1", "--to-version", "1"]);
    assert_eq!(out.code, 2, "{out:?}");
    assert!(out.json()["error"]["message"].as_str().unwrap().contains("--to-version"), "{out:?}");
    for command in ["migrate", "rollback"] {
        let out = cli(root, &[command, "--count", "0"]);
        assert!(out.code == 2 && out.stderr.contains("--count"), "{command} --count 0 is a mistake: {out:?}");
    }
}

#[test]
fn bad_files_and_config_are_errors_naming_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let migrations = write_migrations(root, "primary", &[("primary__0001_a.sql", "-- upgrade\nSELECT 1;\n")]);
    let out = cli(root, &["migrate"]);
    assert_eq!(out.code, 2);
    assert!(out.stderr.contains("primary__0001_a.sql:2: no `-- rollback` line"), "{}", out.stderr);
    std::fs::write(migrations.join("primary__0001_a.sql"), "-- upgrade\nSELECT 1;\n-- rollback\n").unwrap();
    std::fs::write(migrations.join("primary_0002_typo.sql"), "").unwrap();
    let out = cli(root, &["migrate"]);
    assert!(out.code == 2 && out.stderr.contains("primary_0002_typo.sql"), "{out:?}");
    std::fs::remove_file(migrations.join("primary_0002_typo.sql")).unwrap();
    std::fs::write(migrations.join("primary__0001_b.sql"), "-- upgrade\n-- rollback\n").unwrap();
    let out = cli(root, &["--json", "status"]);
    assert_eq!(out.code, 2);
    assert!(out.json()["error"]["message"].as_str().unwrap().contains("both have version 0001"), "{out:?}");
    std::fs::remove_file(migrations.join("primary__0001_b.sql")).unwrap();
    std::fs::write(migrations.join("primary__0002_bin.sql"), b"-- upgrade\nSELECT '\xff';\n-- rollback\n").unwrap();
    let out = cli(root, &["status"]);
    assert!(out.code == 2 && out.stderr.contains("primary__0002_bin.sql:2: not valid UTF-8"), "{out:?}");
    std::fs::remove_file(migrations.join("primary__0002_bin.sql")).unwrap();
    // A pending file migrate would refuse (its rollback cannot be split): status flags it, naming the line (exit 1).
    assert_eq!(cli(root, &["migrate"]).code, 0);
    std::fs::write(migrations.join("primary__0002_q.sql"), "-- upgrade\nSELECT 1;\n-- rollback\nSELECT 'x;\n").unwrap();
    let out = cli(root, &["status"]);
    assert!(
        out.code == 1 && out.stdout.contains("CANNOT RUN") && out.stdout.contains("primary__0002_q.sql:4"),
        "{out:?}"
    );
    let out = cli(root, &["--json", "status"]);
    let problem = &out.json()["entries"][1]["problem"];
    assert!(out.code == 1 && problem.as_str().unwrap().contains("primary__0002_q.sql:4"), "{out:?}");
    std::fs::remove_file(migrations.join("primary__0002_q.sql")).unwrap();

    std::fs::write(
        root.join("dbwarden.toml"),
        "[[database]]\nname = \"primary\"\nurl = \"postgres://app:hunter2@127.0.0.1:1/x\"\nlock_timout = \"5s\"\n",
    )
    .unwrap();
    let out = cli(root, &["status"]);
    assert!(out.code == 2 && out.stderr.contains("dbwarden.toml:4:") && out.stderr.contains("lock_timout"), "{out:?}");
    // A connection error never shows the password.
    std::fs::write(
        root.join("dbwarden.toml"),
        "[[database]]\nname = \"primary\"\nurl = \"postgres://app:hunter2@127.0.0.1:1/x\"\n",
    )
    .unwrap();
    let out = cli(root, &["status"]);
    assert_eq!(out.code, 2, "{out:?}");
    assert!(!out.stderr.contains("hunter2") && !out.stdout.contains("hunter2"), "{out:?}");
}

/// `--single-transaction` records the whole run in one INSERT (on PostgreSQL through one array literal per column,
/// with `array_nulls` off for the database to show the run does not depend on it): every column holds what it
/// should (checked against values computed here, so a column swap fails), the rows are the ones a run migration by
/// migration writes, a repeatable's NULL version included, and `applied_by` (`$USER@host`) full of quotes,
/// backslashes, braces, tabs and the word NULL arrives as it was.
#[tokio::test]
async fn single_transaction_records_the_rows_one_by_one_would() {
    let user = " o'brien \"q\" \\b\\\\ \\n\\101 {x,y} NULL\té, ";
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap().trim().to_string();
    let row = "COALESCE(version, '~') || '|' || description || '|' || filename || '|' || migration_type || '|' || \
               checksum || '|' || checksum_algorithm || '|' || rollback_checksum || '|' || state || '|' || \
               statements_done || '|' || applied_by || '|' || tool_version || '|' || \
               CASE WHEN execution_time_ms >= 0 THEN 'timed' ELSE 'untimed' END";
    let mut files = portable(3);
    files.push(("primary__RA__refresh.sql".into(), "-- upgrade\nUPDATE t1 SET v = 'z';\n-- rollback\n".into()));
    let (upgrade, rollback) = files[0].1.trim_start_matches("-- upgrade\n").split_once("-- rollback\n").unwrap();
    let first = [
        "0001",
        "step 1",
        "primary__0001_step_1.sql",
        "versioned",
        &dbwarden_core::checksum::section_checksum(upgrade),
        dbwarden_core::checksum::ALGORITHM,
        &dbwarden_core::checksum::section_checksum(rollback),
        "applied",
        "0",
        &format!("{user}@{host}"),
        env!("CARGO_PKG_VERSION"),
        "timed",
    ]
    .join("|");
    for dialect in [Dialect::Postgres, Dialect::Sqlite] {
        let (one, each) = (TestDb::new(dialect).await, TestDb::new(dialect).await);
        if dialect == Dialect::Postgres {
            one.exec(&format!("ALTER DATABASE \"{}\" SET array_nulls = off", one.name)).await;
        }
        let mut recorded = Vec::new();
        for (db, mode) in [(&one, Some("--single-transaction")), (&each, None)] {
            let dir = write(db.dir.path(), &files);
            let mut args = vec!["--url", &db.url, "--migrations-dir", dir.to_str().unwrap(), "migrate"];
            args.extend(mode);
            let mut command = cli_command(db.dir.path(), &args);
            command.env("USER", user);
            let out = output_of(command);
            assert_eq!(out.code, 0, "{dialect} {mode:?}: {out:?}");
            recorded.push(db.strings(&format!("SELECT {row} FROM _dbwarden_migrations ORDER BY filename")).await);
        }
        assert_eq!(recorded[0].len(), 4, "{dialect}: {recorded:?}");
        assert_eq!(recorded[0][0], first, "{dialect}");
        assert_eq!(recorded[0], recorded[1], "{dialect}");
        assert!(recorded[0][3].starts_with("~|refresh|primary__RA__refresh.sql|repeatable"), "{recorded:?}");
    }
}

/// `--dry-run` refuses what the run refuses: a `no-transaction` file in `--single-transaction` (it said exit 0), and
/// on MariaDB `--single-transaction` itself; a usage error in `--json` names the missing argument.
#[tokio::test]
async fn dry_run_refuses_what_a_single_transaction_run_refuses() {
    for dialect in [Dialect::Sqlite, Dialect::MySql] {
        let db = TestDb::new(dialect).await;
        let mut files = portable(1);
        files.push((
            "primary__0002_alone.sql".into(),
            "-- dbwarden: no-transaction\n-- upgrade\nCREATE TABLE t2 (id INTEGER);\n-- rollback\nDROP TABLE t2;\n"
                .into(),
        ));
        let dir = write(db.dir.path(), &files);
        let args =
            ["--url", db.url.as_str(), "--migrations-dir", dir.to_str().unwrap(), "migrate", "--single-transaction"];
        let expected = if dialect == Dialect::MySql {
            "needs transactional DDL"
        } else {
            "cannot be part of --single-transaction"
        };
        for dry in [&["--dry-run"][..], &[]] {
            let out = cli(db.dir.path(), &[&args[..], dry].concat());
            assert!(out.code == 2 && out.stderr.contains(expected), "{dialect} {dry:?}: {out:?}");
        }
        assert!(db.recorded().await.is_empty());
    }
    let out = cli(Path::new("."), &["--json", "downgrade"]);
    assert_eq!(out.code, 2);
    assert!(out.json()["error"]["message"].as_str().unwrap().contains("--to"), "{out:?}");
}

#[tokio::test]
async fn ad_hoc_url_without_config_on_every_backend() {
    for dialect in ALL {
        let db = TestDb::new(dialect).await;
        let dir = write(db.dir.path(), &portable(2));
        let dir = dir.to_str().unwrap();
        let out = cli(db.dir.path(), &["--url", &db.url, "--migrations-dir", dir, "migrate", "--dry-run"]);
        assert_eq!(out.code, 0, "{dialect}: {out:?}");
        assert!(out.stdout.contains("CREATE TABLE t1"), "{}", out.stdout);
        assert!(db.tables().await.is_empty());
        let out = cli(db.dir.path(), &["--url", &db.url, "--migrations-dir", dir, "migrate"]);
        assert_eq!(out.code, 0, "{dialect}: {out:?}");
        assert_eq!(db.recorded().await, ["0001", "0002"]);
        let out = cli(db.dir.path(), &["--url", &db.url, "--migrations-dir", dir, "downgrade", "--to", "1"]);
        assert_eq!(out.code, 0, "{dialect}: {out:?}");
        assert_eq!(db.recorded().await, ["0001"]);
        let lock = cli(db.dir.path(), &["--url", &db.url, "--migrations-dir", dir, "--json", "lock-status"]).json();
        assert_eq!(lock["held"], false, "{dialect}");
    }
}

/// A migration's own `BEGIN`/`COMMIT` inside the transaction dbwarden runs it in (PostgreSQL, SQLite) would commit
/// half of it, or leave it uncommitted while the run reported it applied: refused before anything runs, naming the
/// file and line (and `status` says it cannot run). In a `no-transaction` file the section's own transactions run,
/// but one left open at its end is refused. MariaDB commits DDL by itself and runs its files as they are.
#[tokio::test]
async fn a_migrations_own_transaction_statements_are_checked_before_anything_runs() {
    for dialect in ALL {
        let db = TestDb::new(dialect).await;
        let create = "CREATE TABLE t1 (id INTEGER PRIMARY KEY)";
        let stray = [
            format!("-- upgrade\nBEGIN;\n{create};\n-- rollback\nDROP TABLE t1;\n"),
            format!("-- upgrade\n{create};\nCOMMIT;\nINSERT INTO t1 (id) VALUES (1);\n-- rollback\nDROP TABLE t1;\n"),
            format!("-- dbwarden: no-transaction\n-- upgrade\nBEGIN;\n{create};\n-- rollback\nDROP TABLE t1;\n"),
        ];
        for (n, text) in stray.iter().enumerate() {
            let dir = write(db.dir.path(), &[("primary__0001_t.sql".to_string(), text.clone())]);
            let args = ["--url", db.url.as_str(), "--migrations-dir", dir.to_str().unwrap()];
            let run = |more: &[&str]| cli(db.dir.path(), &[&args[..], more].concat());
            let out = run(&["migrate"]);
            if dialect == Dialect::MySql {
                // (The third leaves its BEGIN open: the DDL committed anyway, and so did its row.)
                assert_eq!(out.code, 0, "{dialect} {n}: {out:?}");
                assert_eq!(db.recorded().await, ["0001"]);
                assert_eq!(run(&["rollback"]).code, 0);
                continue;
            }
            assert_eq!(out.code, 2, "{dialect} {n}: {out:?}");
            let line = if n == 0 { 2 } else { 3 };
            assert!(out.stderr.contains(&format!("primary__0001_t.sql:{line}: upgrade statement")), "{out:?}");
            assert!(out.stderr.contains("hint:"), "{out:?}");
            assert!(db.tables().await.is_empty() && db.recorded().await.is_empty(), "{dialect} {n}: nothing ran");
            let out = run(&["status"]);
            assert!(out.code == 1 && out.stdout.contains("CANNOT RUN"), "{dialect} {n}: {out:?}");
        }
        // A no-transaction file's own transaction, whole: it runs.
        let own = format!(
            "-- dbwarden: no-transaction\n-- upgrade\nBEGIN;\n{create};\nINSERT INTO t1 (id) VALUES (1);\nCOMMIT;\n\
             -- rollback\nDROP TABLE t1;\n"
        );
        let dir = write(db.dir.path(), &[("primary__0001_t.sql".to_string(), own)]);
        let out = cli(db.dir.path(), &["--url", &db.url, "--migrations-dir", dir.to_str().unwrap(), "migrate"]);
        assert_eq!(out.code, 0, "{dialect}: {out:?}");
        assert_eq!(db.recorded().await, ["0001"]);
        assert_eq!(db.strings("SELECT CAST(id AS CHAR(5)) FROM t1").await, ["1"], "{dialect}");
    }
}

/// Another branch's file numbered like an applied migration (another name, another upgrade) is no edit: `status`
/// says `VERSION TAKEN`, and `migrate` and `repair` refuse it like `rollback` (exit 1), naming both files, instead of
/// calling it edited and `repair` recording it as applied (it was then never run). Renumbered, it applies.
#[tokio::test]
async fn a_file_taking_an_applied_version_is_not_an_edit() {
    let db = TestDb::new(Dialect::Sqlite).await;
    let mut files = portable(2);
    let dir = write(db.dir.path(), &files);
    let args = ["--url", db.url.as_str(), "--migrations-dir", dir.to_str().unwrap()];
    let run = |more: &[&str]| cli(db.dir.path(), &[&args[..], more].concat());
    assert_eq!(run(&["migrate"]).code, 0);
    std::fs::remove_file(dir.join(&files[1].0)).unwrap();
    let other = (
        "primary__0002_orders.sql".to_string(),
        "-- upgrade\nCREATE TABLE orders (id INTEGER);\n-- rollback\nDROP TABLE orders;\n".to_string(),
    );
    std::fs::write(dir.join(&other.0), &other.1).unwrap();
    let out = run(&["status"]);
    assert!(out.code == 1 && out.stdout.contains("VERSION TAKEN") && !out.stdout.contains("EDITED"), "{out:?}");
    for command in ["migrate", "repair"] {
        let out = run(&[command]);
        assert_eq!(out.code, 1, "{command}: {out:?}");
        assert!(
            out.stderr.contains("primary__0002_orders.sql has the version of primary__0002_step_2.sql"),
            "{command}: {out:?}"
        );
        assert!(out.stderr.contains("renumber it"), "{out:?}");
    }
    assert_eq!(run(&["status", "--json"]).json()["entries"][1]["state"], "version_taken");
    // The applied file back, the other one renumbered: it applies.
    write(db.dir.path(), &files);
    std::fs::remove_file(dir.join(&other.0)).unwrap();
    files.push(("primary__0003_orders.sql".to_string(), other.1));
    write(db.dir.path(), &files);
    assert_eq!(run(&["migrate"]).code, 0);
    assert_eq!(db.recorded().await, ["0001", "0002", "0003"]);
    assert!(db.tables().await.contains(&"orders".to_string()));
}

/// What only a client program runs is refused before anything runs, naming the line (and `status` says the file
/// cannot run): `COPY ... FROM stdin` (which waited forever for rows psql would send) and `TO stdout` (reported
/// failed, yet recorded), psql's backslash commands (pg_dump's `\restrict`), mysql's `DELIMITER`.
#[tokio::test]
async fn client_commands_are_refused_before_anything_runs() {
    let cases: [(Dialect, &str, u32); 4] = [
        (Dialect::Postgres, "CREATE TABLE cp (id int);\nCOPY cp FROM stdin;\n1\n\\.\n", 3),
        (Dialect::Postgres, "CREATE TABLE cp (id int);\nCOPY cp TO STDOUT;\n", 3),
        (Dialect::Postgres, "\\restrict AbC123\nCREATE TABLE cp (id int);\n", 2),
        (Dialect::MySql, "DELIMITER //\nCREATE PROCEDURE p() BEGIN SELECT 1; END //\nDELIMITER ;\n", 2),
    ];
    for (dialect, upgrade, line) in cases {
        let db = TestDb::new(dialect).await;
        let text = format!("-- upgrade\n{upgrade}-- rollback\n");
        let dir = write(db.dir.path(), &[("primary__0001_c.sql".to_string(), text)]);
        let args = ["--url", db.url.as_str(), "--migrations-dir", dir.to_str().unwrap()];
        let run = |more: &[&str]| cli(db.dir.path(), &[&args[..], more].concat());
        let started = Instant::now();
        let out = run(&["migrate"]);
        assert!(started.elapsed() < Duration::from_secs(20), "no wait");
        assert_eq!(out.code, 2, "{dialect} {upgrade}: {out:?}");
        assert!(out.stderr.contains(&format!("primary__0001_c.sql:{line}: upgrade statement")), "{out:?}");
        assert!(out.stderr.contains("not SQL a server runs") && out.stderr.contains("hint:"), "{out:?}");
        assert!(db.tables().await.is_empty() && db.recorded().await.is_empty(), "nothing ran: {upgrade}");
        let out = run(&["status"]);
        assert!(out.code == 1 && out.stdout.contains("CANNOT RUN"), "{out:?}");
    }
}

/// `init` in a crate writes a `build.rs` that watches the configured migrations folders (so `embed_migrations!`
/// sees a file added after the last build), and where cargo would not run one it writes none and says what to add.
#[test]
fn init_writes_a_build_script_that_watches_the_configured_folders() {
    let package = "[package]\nname = \"app\"\nversion = \"0.1.0\"\nedition = \"2021\"\n";
    let config = "[[database]]\nname = \"main\"\nurl = \"sqlite://app.db\"\nmigrations_dir = \"db/migrations/main\"\n";
    let cases: [(&str, Option<&str>, &str); 4] = [
        (package, None, "wrote build.rs"),
        ("[package]\nname = \"app\"\nbuild = false\n", None, "build scripts off"),
        ("[workspace]\nmembers = [\"app\"]\n", None, "no [package]"),
        (package, Some("fn main() {}\n"), "build.rs does not watch the migrations"),
    ];
    for (manifest, build, said) in cases {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::write(root.join("Cargo.toml"), manifest).unwrap();
        std::fs::write(root.join("dbwarden.toml"), config).unwrap();
        if let Some(text) = build {
            std::fs::write(root.join("build.rs"), text).unwrap();
        }
        let out = cli(root, &["init"]);
        assert!(out.code == 0 && out.stdout.contains(said), "{manifest}: {out:?}");
        let line = "println!(\"cargo:rerun-if-changed={}\", \"db/migrations/main\");";
        let script = std::fs::read_to_string(root.join("build.rs")).unwrap_or_default();
        if said == "wrote build.rs" {
            assert!(script.contains(line), "{script}");
        } else {
            assert!(!script.contains(line) && out.stdout.contains(line), "says what to add: {out:?}");
        }
    }
}

/// `verify` stopped by SIGTERM (or Ctrl-C) in the middle of a slow migration drops its throwaway database before it
/// exits (it was left behind: no signal was handled).
#[tokio::test]
async fn verify_interrupted_drops_its_scratch_database() {
    let db = TestDb::new(Dialect::Postgres).await;
    let slow = "-- upgrade\nCREATE TABLE s (id int);\nSELECT pg_sleep(30);\n-- rollback\nDROP TABLE s;\n";
    let dir = write(db.dir.path(), &[("primary__0001_slow.sql".to_string(), slow.to_string())]);
    let args = ["--url", db.url.as_str(), "--migrations-dir", dir.to_str().unwrap(), "verify"];
    let mut child = cli_command(db.dir.path(), &args).stdout(std::process::Stdio::null()).spawn().unwrap();
    let scratch =
        format!("SELECT datname FROM pg_database WHERE datname LIKE 'dbwarden\\_verify\\_{}\\_%'", child.id());
    // Until the scratch database exists and the migration sleeps in it.
    let started = Instant::now();
    while db.strings(&scratch).await.is_empty() && started.elapsed() < Duration::from_secs(20) {
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(db.strings(&scratch).await.len(), 1, "the scratch database was made");
    std::thread::sleep(Duration::from_secs(1));
    let killed = std::process::Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap();
    assert!(killed.success());
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(2), "stopped with an error, not killed by the signal");
    assert!(started.elapsed() < Duration::from_secs(25), "it did not wait for the migration");
    assert!(db.strings(&scratch).await.is_empty(), "the scratch database is gone");
}

/// `init` with `DATABASE_URL` set to another server: the config it writes names no type, so the URL's scheme says
/// it, and the set-up works (it wrote `type = "sqlite"` and every command then failed on the mismatch).
#[tokio::test]
async fn init_under_a_database_url_of_another_server() {
    let db = TestDb::new(Dialect::Postgres).await;
    let root = db.dir.path();
    let with_url = |args: &[&str]| {
        let mut command = cli_command(root, args);
        command.env("DATABASE_URL", &db.url);
        output_of(command)
    };
    let out = with_url(&["init"]);
    assert!(out.code == 0 && root.join("migrations/primary").is_dir(), "{out:?}");
    write(root, &portable(1));
    let out = with_url(&["migrate"]);
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(db.recorded().await, ["0001"], "applied on the server DATABASE_URL names");
}

/// MariaDB's errors (a refused login, a refused connection, a malformed URL) never show the password either.
#[tokio::test]
async fn mysql_passwords_never_reach_output_or_logs() {
    let db = TestDb::new(Dialect::MySql).await;
    let dir = write(db.dir.path(), &portable(1));
    let urls = SecretUrls::of(&db.url);
    let one_slash = format!("mysql:/{}", urls.rest);
    // (root has no password here: a login with one is refused, which must not echo it.)
    assert_no_secrets(
        db.dir.path(),
        dir.to_str().unwrap(),
        &[
            (&urls.with_password, &["-vvv", "migrate"], 2),
            (&urls.with_password, &["--json", "status"], 2),
            // (The driver reads no password from the query: root logs in without one.)
            (&urls.in_query, &["-vvv", "history"], 0),
            (&urls.unreachable, &["-vvv", "migrate"], 2),
            (&one_slash, &["--json", "status"], 2),
            (&one_slash, &["-vvv", "lock-status"], 2),
        ],
    );
}

/// `db_url` carrying the passwords `Pw1secret` (user part) and `Pw2secret` (query).
struct SecretUrls {
    with_password: String,
    /// Without the user's password, with `?password=Pw2secret`.
    in_query: String,
    /// With the user's password, at a port nothing listens on.
    unreachable: String,
    /// What follows `://` in `with_password`.
    rest: String,
}

impl SecretUrls {
    fn of(db_url: &str) -> SecretUrls {
        let mut url = url::Url::parse(db_url).unwrap();
        url.set_password(Some("Pw1secret")).unwrap();
        let with_password = url.to_string();
        url.set_password(None).unwrap();
        let mut unreachable = url::Url::parse(&with_password).unwrap();
        unreachable.set_port(Some(1)).unwrap();
        let rest = with_password.split_once("://").unwrap().1.to_string();
        SecretUrls {
            in_query: format!("{url}?password=Pw2secret"),
            unreachable: unreachable.to_string(),
            rest,
            with_password,
        }
    }
}

/// Runs each command with `--url` and `--migrations-dir dir`: its exit code as given, and neither secret printed.
fn assert_no_secrets(root: &Path, dir: &str, runs: &[(&str, &[&str], i32)]) {
    for (url, command, code) in runs {
        let out = cli(root, &[&["--url", url, "--migrations-dir", dir][..], command].concat());
        assert_eq!(out.code, *code, "{command:?}: {out:?}");
        for secret in ["Pw1secret", "Pw2secret"] {
            assert!(
                !out.stdout.contains(secret) && !out.stderr.contains(secret),
                "{command:?} printed {secret}: {out:?}"
            );
        }
    }
}

/// A password in `--url` (in the user part or as `?password=`) never reaches stdout, stderr or the logs, on success
/// (PostgreSQL here trusts any password), on a connection error, in JSON and at the most verbose log level.
#[tokio::test]
async fn passwords_in_urls_never_reach_output_or_logs() {
    let db = TestDb::new(Dialect::Postgres).await;
    let dir = write(db.dir.path(), &portable(1));
    let dir = dir.to_str().unwrap();
    let SecretUrls { with_password, in_query, unreachable, rest } = SecretUrls::of(&db.url);
    let unreachable = format!("{unreachable}?password=Pw2secret");
    let url = in_query.split_once('?').unwrap().0.to_string();
    // Malformed (a `/` or the `:` missing after the scheme): the server may echo part of it as a database name.
    let one_slash = format!("postgres:/{rest}");
    let no_colon = format!("postgres//{rest}");
    assert_no_secrets(
        db.dir.path(),
        dir,
        &[
            (&with_password, &["migrate"], 0),
            (&with_password, &["-vvv", "status"], 0),
            (&in_query, &["--json", "history"], 0),
            (&in_query, &["-vvv", "lock-status"], 0),
            (&unreachable, &["-vvv", "migrate"], 2),
            (&unreachable, &["--json", "status"], 2),
            (&one_slash, &["-vvv", "status"], 2),
            (&one_slash, &["--json", "migrate"], 2),
            (&no_colon, &["status"], 2),
        ],
    );
    let status = cli(db.dir.path(), &["--url", &with_password, "--migrations-dir", dir, "status"]);
    assert!(status.stdout.contains(":***@"), "the URL is shown, masked: {}", status.stdout);

    // A URL where no URL belongs (echoed by an error), and password parameters the driver does not know (which it
    // logs with their values, at its default level).
    let other_params = format!("{url}?PASSWORD=Pw3secret&sslpassword=Pw4secret");
    let misplaced: [&[&str]; 6] = [
        &["-d", &with_password, "status"],
        &["--config", &with_password, "status"],
        &["status", &with_password],
        &["--json", "status", &with_password],
        &["--url", &other_params, "--migrations-dir", dir, "status"],
        &["--url", &other_params, "--migrations-dir", dir, "-vv", "status"],
    ];
    for args in misplaced {
        let out = cli(db.dir.path(), args);
        for secret in ["Pw1secret", "Pw3secret", "Pw4secret"] {
            assert!(!out.stdout.contains(secret) && !out.stderr.contains(secret), "{args:?} printed {secret}: {out:?}");
        }
    }
}

/// `--migrations-dir` without a config names the database as `embed_migrations!` and `Source::dir` do: after the
/// files' prefix, else after the folder. The CLI and the application then share one lock and head namespace.
#[tokio::test]
async fn ad_hoc_migrations_dir_takes_its_database_name_from_the_files_or_the_folder() {
    let db = TestDb::new(Dialect::Sqlite).await;
    let sql = db.dir.path().join("sql");
    std::fs::create_dir_all(&sql).unwrap();
    let text = "-- upgrade\nCREATE TABLE t1 (id INTEGER PRIMARY KEY);\n-- rollback\nDROP TABLE t1;\n";
    std::fs::write(sql.join("app__0001_first.sql"), text).unwrap();
    let args = ["--url", db.url.as_str(), "--migrations-dir", sql.to_str().unwrap()];
    let out = cli(db.dir.path(), &[&args[..], &["migrate"]].concat());
    assert_eq!(out.code, 0, "{out:?}");
    assert!(out.stdout.contains("app: applied app__0001_first.sql"), "{}", out.stdout);
    let pool = sqlx::SqlitePool::connect(&db.url).await.unwrap();
    // The application's view of the same folder agrees that nothing is left, and its namespace is the CLI's.
    let report = dbwarden::Migrator::new(dbwarden::Source::dir(&sql)).run(&pool).await.unwrap();
    assert!(report.steps.is_empty(), "{report:?}");
    assert_eq!(report.database, "app");

    // An empty folder: `new` names the file after the folder.
    let empty = db.dir.path().join("migrations/analytics");
    std::fs::create_dir_all(&empty).unwrap();
    let args = ["--url", db.url.as_str(), "--migrations-dir", empty.to_str().unwrap()];
    let out = cli(db.dir.path(), &[&args[..], &["new", "start"]].concat());
    assert_eq!(out.code, 0, "{out:?}");
    assert!(empty.join("analytics__0001_start.sql").exists(), "{out:?}");

    // A folder that is not there (a typo) is an error, not "up to date"; nothing is created.
    let fresh = db.dir.path().join("fresh.db");
    let url = format!("sqlite://{}", fresh.display());
    let typo = db.dir.path().join("migratoins/app");
    let args = ["--url", url.as_str(), "--migrations-dir", typo.to_str().unwrap()];
    for command in ["migrate", "status", "rollback", "check"] {
        let out = cli(db.dir.path(), &[&args[..], &[command]].concat());
        assert!(
            out.code == 2 && out.stderr.contains("migratoins/app: no such migrations folder"),
            "{command}: {out:?}"
        );
        assert!(out.stderr.contains("hint:"), "{out:?}");
    }
    assert!(!fresh.exists(), "no database file was created");
    let pool = sqlx::SqlitePool::connect(&db.url).await.unwrap();
    let result = dbwarden::Migrator::new(dbwarden::Source::dir(&typo)).run(&pool).await;
    assert!(matches!(result, Err(dbwarden::Error::NoMigrationsDir { .. })), "{result:?}");

    // The root of the database folders (`migrations` for `migrations/app`) is not "nothing to apply" either.
    let tree = db.dir.path().join("tree");
    let sql = "-- upgrade\nCREATE TABLE a (id INTEGER);\n-- rollback\nDROP TABLE a;\n";
    let parent = write_migrations(&tree, "app", &[("app__0001_a.sql", sql)]).parent().unwrap().to_path_buf();
    let args = ["--url", url.as_str(), "--migrations-dir", parent.to_str().unwrap()];
    for command in ["migrate", "status"] {
        let out = cli(db.dir.path(), &[&args[..], &[command]].concat());
        assert!(
            out.code == 2 && out.stderr.contains("no migration files here, but its sub-folder app holds some"),
            "{command}: {out:?}"
        );
        assert!(out.stderr.contains(&format!("hint: point --migrations-dir (or migrations_dir in dbwarden.toml) at one database's folder, such as {}", parent.join("app").display())), "{out:?}");
    }
    let out = cli(db.dir.path(), &[&args[..], &["new", "first"]].concat());
    assert!(
        out.code == 2 && out.stderr.contains("sub-folder app holds some"),
        "new writes no file at the root: {out:?}"
    );
    assert!(!parent.join("tree__0001_first.sql").exists() && !parent.join("migrations__0001_first.sql").exists());
    assert!(!fresh.exists(), "no database file was created");
    let result = dbwarden::Migrator::new(dbwarden::Source::dir(&parent)).run(&pool).await;
    assert!(
        matches!(&result, Err(dbwarden::Error::MigrationsInSubfolders { subfolders, .. }) if subfolders == &["app"]),
        "{result:?}"
    );
    // The lock's commands need no migration.
    let out =
        cli(db.dir.path(), &["--url", db.url.as_str(), "--migrations-dir", typo.to_str().unwrap(), "lock-status"]);
    assert_eq!(out.code, 0, "{out:?}");
}

/// `dbwarden status --json | head -1`: the reader goes away; the CLI stops writing, without a panic.
/// A SQLite URL with no file name (`sqlite://$UNSET`) would open a private temporary database: migrate "applied"
/// into nothing and exited 0. It is an error naming the URL, and no file appears.
#[test]
fn a_sqlite_url_without_a_file_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let migrations = write(root, &portable(1));
    for url in ["sqlite://", "sqlite:", "sqlite://?mode=rwc"] {
        for command in [&["migrate"][..], &["status"], &["rollback"]] {
            let args = [&["--url", url, "--migrations-dir", migrations.to_str().unwrap()][..], command].concat();
            let out = cli(root, &args);
            assert_eq!(out.code, 2, "{url} {command:?}: {out:?}");
            assert!(out.stderr.contains("names no database file"), "{url} {command:?}: {out:?}");
            assert!(!out.stdout.contains("applied"), "{out:?}");
        }
    }
    let entries: Vec<_> = std::fs::read_dir(root).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(entries, ["migrations"], "no database file was made");
}

/// A MySQL URL with no database: `status` showed an empty history read from nowhere and `migrate` failed at its
/// first table with "No database selected". Both say the URL names no database.
#[test]
fn a_mysql_url_without_a_database_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let migrations = write(root, &portable(1));
    let server = common::mysql_admin().rsplit_once('/').unwrap().0.to_string();
    for command in [&["status"][..], &["migrate"], &["history"]] {
        let args = [&["--url", &server, "--migrations-dir", migrations.to_str().unwrap()][..], command].concat();
        let out = cli(root, &args);
        assert_eq!(out.code, 2, "{command:?}: {out:?}");
        assert!(out.stderr.contains("names no database"), "{command:?}: {out:?}");
    }
}

#[test]
fn a_reader_that_goes_away_is_no_panic() {
    use std::io::Read;
    let dir = tempfile::tempdir().unwrap();
    let files: Vec<(String, String)> = (1..=2000)
        .map(|i| (format!("primary__{i:04}_step.sql"), "-- upgrade\nSELECT 1;\n-- rollback\n".to_string()))
        .collect();
    write(dir.path(), &files);
    // Status on a database file that does not exist yet says so, naming it.
    let out = cli(dir.path(), &["status"]);
    assert!(out.code == 2 && out.stderr.contains("app.db: the database file does not exist yet"), "{out:?}");
    assert_eq!(cli(dir.path(), &["migrate", "--count", "1"]).code, 0);
    let mut child = common::cli_command(dir.path(), &["--json", "status"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = child.stdout.take().unwrap();
    // Past the test harness's own lines and marker, into the CLI's output.
    let mut seen = Vec::new();
    let mut chunk = [0u8; 256];
    while !String::from_utf8_lossy(&seen).contains("\"entries\"") {
        let n = stdout.read(&mut chunk).unwrap();
        assert!(n > 0, "the output ended early: {}", String::from_utf8_lossy(&seen));
        seen.extend_from_slice(&chunk[..n]);
    }
    drop(stdout); // hundreds of kilobytes still to come: the next writes fail with EPIPE
    let mut stderr = String::new();
    child.stderr.take().unwrap().read_to_string(&mut stderr).unwrap();
    let status = child.wait().unwrap();
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_eq!(status.code(), Some(0), "{stderr}");
}

/// SQLite, another writer holding the file (an application's long transaction): `lock-status` says held (it used
/// to say free), and `migrate --lock-timeout 1s` gives up after about a second (each attempt waited sqlx's 5 s busy
/// timeout, so 1 s meant 5).
#[tokio::test]
async fn sqlite_lock_timeout_and_status_with_another_writer() {
    use sqlx::Connection;
    let db = TestDb::new(Dialect::Sqlite).await;
    let dir = write(db.dir.path(), &portable(1));
    let dir = dir.to_str().unwrap().to_string();
    let args = ["--url", db.url.as_str(), "--migrations-dir", dir.as_str()];
    assert_eq!(cli(db.dir.path(), &[&args[..], &["lock-status"]].concat()).code, 0);
    let mut writer = sqlx::SqliteConnection::connect(&db.url).await.unwrap();
    sqlx::raw_sql("BEGIN EXCLUSIVE").execute(&mut writer).await.unwrap();

    let status = cli(db.dir.path(), &[&args[..], &["--json", "lock-status"]].concat()).json();
    assert_eq!(status["held"], true, "{status}");
    let started = Instant::now();
    let out = cli(db.dir.path(), &[&args[..], &["migrate", "--lock-timeout", "1s"]].concat());
    let waited = started.elapsed();
    assert_eq!(out.code, 2, "{out:?}");
    assert!(out.stderr.contains("timed out after 1s"), "{out:?}");
    assert!(waited < Duration::from_millis(3500), "waited {waited:?} for a 1 s timeout");

    sqlx::raw_sql("ROLLBACK").execute(&mut writer).await.unwrap();
    assert_eq!(cli(db.dir.path(), &[&args[..], &["migrate", "--lock-timeout", "1s"]].concat()).code, 0);
}

/// MariaDB: a migration stopped part-way shows as such in `history` (it read as applied), and in `status`, whose
/// summary counted it as neither applied nor pending ("0 applied, 0 pending").
#[tokio::test]
async fn history_shows_a_part_applied_row() {
    let db = TestDb::new(Dialect::MySql).await;
    let text = "-- upgrade\nCREATE TABLE a (id INT);\nINSERT INTO nowhere VALUES (1);\n-- rollback\nDROP TABLE a;\n";
    let dir = write(db.dir.path(), &[("primary__0001_x.sql".to_string(), text.to_string())]);
    let args = ["--url", db.url.as_str(), "--migrations-dir", dir.to_str().unwrap()];
    assert_eq!(cli(db.dir.path(), &[&args[..], &["migrate"]].concat()).code, 2);
    let out = cli(db.dir.path(), &[&args[..], &["history"]].concat());
    assert!(
        out.stdout.contains("primary__0001_x.sql") && out.stdout.contains("PART-APPLIED (1 statement(s) ran)"),
        "{out:?}"
    );
    let out = cli(db.dir.path(), &[&args[..], &["status"]].concat());
    assert_eq!(out.code, 1, "{out:?}");
    assert!(out.stdout.contains("0 applied, 0 pending, 1 stopped part-way"), "{out:?}");
    assert!(out.stdout.contains("primary__0001_x.sql (1 statement(s) ran)"), "{out:?}");
    let json = cli(db.dir.path(), &[&args[..], &["--json", "status"]].concat()).json();
    assert_eq!(json["entries"][0]["statements_done"], 1, "{json}");
}

/// `status` on files gone: a repeatable's is listed (exit 0, with what to do), a versioned one's is a problem (exit 1).
#[tokio::test]
async fn status_tells_a_gone_repeatable_from_a_missing_versioned_file() {
    let db = TestDb::new(Dialect::Sqlite).await;
    let mut files = portable(1);
    files.push((
        "primary__ROC__seed.sql".into(),
        "-- upgrade\nINSERT INTO t1 (id, v) VALUES (2, 'y');\n-- rollback\n".into(),
    ));
    let dir = write(db.dir.path(), &files);
    let args = ["--url", db.url.as_str(), "--migrations-dir", dir.to_str().unwrap()];
    let run = |more: &[&str]| cli(db.dir.path(), &[&args[..], more].concat());
    assert_eq!(run(&["migrate"]).code, 0);
    std::fs::remove_file(dir.join("primary__ROC__seed.sql")).unwrap();
    let out = run(&["status"]);
    assert_eq!(out.code, 0, "{out:?}");
    assert!(out.stdout.contains("file gone") && out.stdout.contains("`dbwarden repair` forgets its row"), "{out:?}");
    let out = run(&["repair"]);
    assert!(out.code == 0 && out.stdout.contains("primary__ROC__seed.sql"), "{out:?}");
    assert!(!run(&["status"]).stdout.contains("seed"));
    std::fs::remove_file(dir.join("primary__0001_step_1.sql")).unwrap();
    let out = run(&["status"]);
    assert_eq!(out.code, 1, "{out:?}");
    assert!(out.stdout.contains("MISSING FILE") && out.stdout.contains("--ignore-missing"), "{out:?}");
}

/// A `CREATE UNIQUE INDEX CONCURRENTLY` that fails leaves an INVALID index behind (PostgreSQL), which the next run
/// of it meets as "already exists": `status` names it with what to do and exits 1, in text and JSON, and the
/// library's status through a pool lists it; once it is dropped and the rows fixed, migrate builds it and status is
/// clean.
#[tokio::test]
async fn status_flags_an_index_a_failed_concurrent_build_left_invalid() {
    let db = TestDb::new(Dialect::Postgres).await;
    let files = [
        (
            "primary__0001_t.sql".to_string(),
            "-- upgrade\nCREATE TABLE t (id INTEGER, v TEXT);\nINSERT INTO t VALUES (1, 'a'), (2, 'a');\n-- rollback\nDROP TABLE t;\n".to_string(),
        ),
        (
            "primary__0002_ux.sql".to_string(),
            "-- dbwarden: no-transaction\n-- upgrade\nCREATE UNIQUE INDEX CONCURRENTLY ux_t_v ON t (v);\n-- rollback\nDROP INDEX CONCURRENTLY ux_t_v;\n".to_string(),
        ),
    ];
    let dir = write(db.dir.path(), &files);
    let args = ["--url", db.url.as_str(), "--migrations-dir", dir.to_str().unwrap()];
    let run = |more: &[&str]| cli(db.dir.path(), &[&args[..], more].concat());
    let out = run(&["migrate"]);
    assert!(out.code == 2 && out.stderr.contains("could not create unique index"), "{out:?}");
    let out = run(&["status"]);
    assert_eq!(out.code, 1, "{out:?}");
    assert!(out.stdout.contains("INVALID") && out.stdout.contains("index public.ux_t_v"), "{out:?}");
    assert!(out.stdout.contains("DROP INDEX CONCURRENTLY"), "says what to do: {out:?}");
    let json = run(&["status", "--json"]).json();
    assert_eq!(json["invalid_indexes"], serde_json::json!(["public.ux_t_v"]), "{json}");
    let pool = sqlx::PgPool::connect(&db.url).await.unwrap();
    let status = dbwarden::Migrator::new(dbwarden::Source::dir(&dir)).status(&pool).await.unwrap();
    assert_eq!(status.invalid_indexes, ["public.ux_t_v"]);
    assert!(!status.has_problems(), "the history itself is in order: 0002 is pending");
    pool.close().await;

    db.exec("DROP INDEX CONCURRENTLY ux_t_v").await;
    db.exec("UPDATE t SET v = 'b' WHERE id = 2").await;
    assert_eq!(run(&["migrate"]).code, 0);
    let out = run(&["status"]);
    assert!(out.code == 0 && !out.stdout.contains("INVALID"), "{out:?}");
    assert_eq!(run(&["status", "--json"]).json()["invalid_indexes"], serde_json::json!([]));
}

/// 16 processes migrate one fresh database at once: all succeed, each migration is recorded once.
#[tokio::test]
async fn sixteen_concurrent_processes_per_backend() {
    for dialect in ALL {
        sixteen_processes(&TestDb::new(dialect).await).await;
    }
}

/// The same on a SQLite database Python DBWarden 0.20 migrated: its own `dbwarden_lock` (other columns) is in the
/// way, nothing orders the processes before the lock, and they race to move it aside; every one must still succeed.
#[tokio::test]
async fn sixteen_processes_on_a_database_with_python_dbwardens_lock_table() {
    let db = TestDb::new(Dialect::Sqlite).await;
    db.exec("CREATE TABLE dbwarden_lock (namespace TEXT NOT NULL DEFAULT 'default', execution_id TEXT NOT NULL, owner_id TEXT NOT NULL, migration_version TEXT, migration_checksum TEXT, fencing_token INTEGER NOT NULL DEFAULT 0, host TEXT, pid INTEGER, db_connection_id TEXT, state TEXT NOT NULL DEFAULT 'AVAILABLE', acquired_at TEXT NOT NULL, last_heartbeat_at TEXT NOT NULL, expires_at TEXT, PRIMARY KEY (namespace))").await;
    sixteen_processes(&db).await;
    assert_eq!(
        db.strings("SELECT name FROM sqlite_master WHERE name = 'dbwarden_lock_python'").await,
        ["dbwarden_lock_python"]
    );
}

async fn sixteen_processes(db: &TestDb) {
    let dialect = db.dialect;
    // Each migration starts with a statement that only reads (the table is not there): in a deferred SQLite
    // transaction that read took a shared lock, which then could not wait for a waiter's write lock and failed the
    // holder with "database is locked".
    let files: Vec<(String, String)> = portable(8)
        .into_iter()
        .enumerate()
        .map(|(i, (name, text))| {
            (name, text.replace("-- upgrade\n", &format!("-- upgrade\nDROP TABLE IF EXISTS gone{i};\n")))
        })
        .collect();
    let dir = write(db.dir.path(), &files);
    let dir = dir.to_str().unwrap().to_string();
    let children: Vec<_> = (0..16)
        .map(|_| {
            cli_command(
                db.dir.path(),
                &["--url", &db.url, "--migrations-dir", &dir, "migrate", "--lock-timeout", "120s"],
            )
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap()
        })
        .collect();
    for child in children {
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success(), "{dialect}: {}", String::from_utf8_lossy(&out.stderr));
    }
    assert_eq!(db.recorded().await, (1..=8).map(|i| format!("{i:04}")).collect::<Vec<_>>(), "{dialect}");
    assert_eq!(db.strings("SELECT CAST(COUNT(*) AS CHAR(10)) FROM _dbwarden_migrations").await, ["8"]);
    if dialect == Dialect::Postgres {
        let locks = db.strings("SELECT CAST(COUNT(*) AS TEXT) FROM pg_locks WHERE locktype = 'advisory' AND database = (SELECT oid FROM pg_database WHERE datname = current_database())").await;
        assert_eq!(locks, ["0"], "no advisory lock may remain");
    }
}

fn slow_statement(dialect: Dialect, secs: u32) -> String {
    match dialect {
        Dialect::Postgres => format!("SELECT pg_sleep({secs})"),
        Dialect::MySql => format!("SELECT SLEEP({secs})"),
        // No sleep in SQLite: a recursive count that takes a few seconds.
        Dialect::Sqlite => format!(
            "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < {}) SELECT COUNT(*) FROM c",
            secs as u64 * 4_000_000
        ),
    }
}

/// A folder holding one migration that runs [`slow_statement`] for `secs`, then creates `table` (so running it
/// twice fails).
fn slow_migration(db: &TestDb, secs: u32, table: &str) -> String {
    let slow = format!(
        "-- upgrade\n{};\nCREATE TABLE {table} (id INTEGER);\n-- rollback\nDROP TABLE {table};\n",
        slow_statement(db.dialect, secs)
    );
    write(db.dir.path(), &[("primary__0001_slow.sql".into(), slow)]).to_str().unwrap().to_string()
}

/// `dbwarden migrate` of `dir` on `url` in the background, its output captured.
fn spawn_migrate(db: &TestDb, url: &str, dir: &str) -> std::process::Child {
    cli_command(db.dir.path(), &["--url", url, "--migrations-dir", dir, "migrate"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap()
}

/// The applied list is read again once the lock is taken: a run that started while another held the lock (and saw
/// 0001 pending then) applies nothing after the holder finishes, instead of running 0001 a second time.
#[tokio::test]
async fn the_history_is_read_again_after_the_lock_is_taken() {
    for dialect in ALL {
        let db = TestDb::new(dialect).await;
        let dir = slow_migration(&db, 2, "once_only");
        let holder = spawn_migrate(&db, &db.url, &dir);
        wait_until_held(db.dir.path(), &db.url, &dir).await;
        let m = dbwarden::Migrator::new(dbwarden::Source::dir(&dir));
        assert!(!m.up_to_date(db.url.as_str()).await.unwrap(), "{dialect}: 0001 is pending while the holder runs it");
        let report = m.run(db.url.as_str()).await;
        let holder = holder.wait_with_output().unwrap();
        assert!(holder.status.success(), "{dialect}: {holder:?}");
        let report = report.unwrap_or_else(|e| panic!("{dialect}: the waiter ran 0001 again? {e}"));
        assert!(report.steps.is_empty(), "{dialect}: {:?}", report.steps);
        assert_eq!(db.recorded().await, ["0001"], "{dialect}");
    }
}

fn dbwarden_now_ms() -> u128 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis()
}

async fn wait_until_held(root: &Path, url: &str, dir: &str) -> serde_json::Value {
    for _ in 0..200 {
        let status = cli(root, &["--url", url, "--migrations-dir", dir, "--json", "lock-status"]);
        let json = status.json();
        // The server lock is taken a moment before the holder row is written.
        if json["held"] == true && !json["holder"].is_null() {
            return json;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the holder never took the lock");
}

/// A waiter that times out names the holder; `unlock --force` frees a live holder; a SIGKILLed holder does not block
/// the next run past its lock timeout.
#[tokio::test]
async fn lock_timeout_names_the_holder_force_unlock_and_killed_holder() {
    for dialect in ALL {
        let db = TestDb::new(dialect).await;
        let dir = slow_migration(&db, 4, "slow_done");
        let args = ["--url", db.url.as_str(), "--migrations-dir", dir.as_str()];

        // 1. A waiter times out and names the holder (its host and pid).
        let mut holder = spawn_migrate(&db, &db.url, &dir);
        let status = wait_until_held(db.dir.path(), &db.url, &dir).await;
        assert_eq!(status["holder"]["pid"].as_u64(), Some(holder.id() as u64), "{dialect}: {status}");
        let waiter = cli(db.dir.path(), &[&args[..], &["migrate", "--lock-timeout", "1s"]].concat());
        assert_eq!(waiter.code, 2, "{dialect}: {waiter:?}");
        let host = dbwarden::lock::LockHolder::me().host;
        assert!(
            waiter.stderr.contains(&format!("pid {} on {host}", holder.id())) && waiter.stderr.contains("since"),
            "{dialect}: {}",
            waiter.stderr
        );

        // 2. SIGKILL the holder: the next run gets the lock well before its timeout.
        holder.kill().unwrap();
        holder.wait().unwrap();
        let started = Instant::now();
        let next = cli(db.dir.path(), &[&args[..], &["migrate", "--lock-timeout", "60s"]].concat());
        assert_eq!(next.code, 0, "{dialect}: {next:?}");
        assert!(started.elapsed() < Duration::from_secs(30), "{dialect}: took {:?}", started.elapsed());
        assert_eq!(db.recorded().await, ["0001"]);

        // 3. unlock --force ends a live holder's session (PostgreSQL/MariaDB).
        if dialect != Dialect::Sqlite {
            assert_eq!(cli(db.dir.path(), &[&args[..], &["rollback"]].concat()).code, 0);
            let holder = spawn_migrate(&db, &db.url, &dir);
            wait_until_held(db.dir.path(), &db.url, &dir).await;
            let refused = cli(db.dir.path(), &[&args[..], &["unlock"]].concat());
            assert_eq!(refused.code, 2, "{dialect}: unlock without --force must refuse a live holder: {refused:?}");
            let forced = cli(db.dir.path(), &[&args[..], &["unlock", "--force"]].concat());
            assert_eq!(forced.code, 0, "{dialect}: {forced:?}");
            let ended = holder.wait_with_output().unwrap();
            assert!(!ended.status.success(), "{dialect}: the holder's session was ended");
            // Its message says why: not "fix the statement".
            let stderr = String::from_utf8_lossy(&ended.stderr);
            assert!(
                stderr.contains("hint: the statement was interrupted or its database session ended")
                    && !stderr.contains("fix the statement"),
                "{dialect}: {stderr}"
            );
            let lock = cli(db.dir.path(), &[&args[..], &["--json", "lock-status"]].concat()).json();
            assert_eq!(lock["held"], false, "{dialect}");
        } else {
            // SQLite's lock is a row: there is no session to end, and deleting the row under a running holder
            // would let a second run in beside it. --force refuses, naming the holder; once the holder is gone, the
            // row is stale and plain `unlock` clears it.
            assert_eq!(cli(db.dir.path(), &[&args[..], &["rollback"]].concat()).code, 0);
            let mut holder = spawn_migrate(&db, &db.url, &dir);
            wait_until_held(db.dir.path(), &db.url, &dir).await;
            let forced = cli(db.dir.path(), &[&args[..], &["unlock", "--force"]].concat());
            assert_eq!(forced.code, 2, "{forced:?}");
            assert!(
                forced.stderr.contains("still running") && forced.stderr.contains(&format!("pid {}", holder.id())),
                "{}",
                forced.stderr
            );
            assert!(forced.stderr.contains("hint: stop that process first"), "{}", forced.stderr);
            let lock = cli(db.dir.path(), &[&args[..], &["--json", "lock-status"]].concat()).json();
            assert_eq!(lock["held"], true, "the holder keeps the lock: {lock}");
            holder.kill().unwrap();
            holder.wait().unwrap();
            let cleared = cli(db.dir.path(), &[&args[..], &["unlock"]].concat());
            assert_eq!(cleared.code, 0, "{cleared:?}");
            let lock = cli(db.dir.path(), &[&args[..], &["--json", "lock-status"]].concat()).json();
            assert!(lock["held"] == false && lock["holder"].is_null(), "{lock}");
            // A holder on another host (a crashed container, say) cannot be checked from here: --force is taken
            // at its word, where plain unlock waits for the row's expiry.
            let now = dbwarden_now_ms();
            db.exec(&format!("INSERT INTO dbwarden_lock (namespace, owner, host, pid, state, acquired_at, heartbeat, expiry) VALUES ('primary:_dbwarden_migrations', 'o:1', 'container-1a2b', 1, 'held', {now}, {now}, {})", now + 300_000)).await;
            let refused = cli(db.dir.path(), &[&args[..], &["unlock"]].concat());
            assert_eq!(refused.code, 2, "{refused:?}");
            let forced = cli(db.dir.path(), &[&args[..], &["unlock", "--force"]].concat());
            assert_eq!(forced.code, 0, "{forced:?}");
            let lock = cli(db.dir.path(), &[&args[..], &["--json", "lock-status"]].concat()).json();
            assert!(lock["held"] == false && lock["holder"].is_null(), "{lock}");
        }
    }
}

/// A holder SIGKILLed in the middle of a long statement frees the lock long before that statement would have ended
/// (PostgreSQL checks the client's connection every second, MariaDB notices it in SLEEP, SQLite's lock row names a
/// process that is gone). 60 s statements, 20 s allowed.
#[tokio::test]
async fn a_holder_killed_mid_statement_frees_the_lock_before_the_statement_would_end() {
    for dialect in ALL {
        let db = TestDb::new(dialect).await;
        let dir = slow_migration(&db, 60, "never_done");
        let mut holder = spawn_migrate(&db, &db.url, &dir);
        wait_until_held(db.dir.path(), &db.url, &dir).await;
        holder.kill().unwrap();
        holder.wait().unwrap();
        let killed = Instant::now();
        loop {
            let status = cli(db.dir.path(), &["--url", &db.url, "--migrations-dir", &dir, "--json", "lock-status"]);
            // (SQLite: a row whose process is gone is not held; the next run takes it over.)
            if status.json()["held"] == false {
                break;
            }
            assert!(killed.elapsed() < Duration::from_secs(20), "{dialect}: still held: {}", status.stdout);
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
}

/// A SQLite lock row left by a process killed while it held the lock, whose pid a new process in the same PID
/// namespace then has: the new process takes the lock at once rather than waiting out the row's expiry, since its
/// pid running is no sign the holder is. Run in this test's process, whose pid and namespace the row carries.
#[tokio::test]
async fn a_lock_row_of_an_earlier_process_with_our_pid_is_stale() {
    let db = TestDb::new(Dialect::Sqlite).await;
    let dir = write(db.dir.path(), &portable(1));
    let host = dbwarden::lock::LockHolder::me().host;
    let pid = std::process::id();
    // The row carries this process's PID namespace, as a process restarted in it would have written it.
    let link = std::fs::read_link("/proc/self/ns/pid").unwrap();
    let ns = link.to_str().unwrap().trim_start_matches("pid:[").trim_end_matches(']').to_string();
    let now = dbwarden_now_ms();
    db.exec("CREATE TABLE dbwarden_lock (namespace VARCHAR(255) NOT NULL PRIMARY KEY, owner VARCHAR(255) NOT NULL, host VARCHAR(255) NOT NULL, pid BIGINT NOT NULL, state VARCHAR(20) NOT NULL, acquired_at BIGINT NOT NULL, heartbeat BIGINT NOT NULL, expiry BIGINT NOT NULL)").await;
    db.exec(&format!("INSERT INTO dbwarden_lock (namespace, owner, host, pid, state, acquired_at, heartbeat, expiry) VALUES ('primary:_dbwarden_migrations', '{host}:{pid}:{ns}:0123456789abcdef-00000001', '{host}', {pid}, 'held', {now}, {now}, {})", now + 300_000)).await;
    let report = dbwarden::Migrator::new(dbwarden::Source::dir(&dir))
        .lock_timeout(std::time::Duration::from_secs(2))
        .run(db.url.as_str())
        .await
        .expect("the earlier process's row is stale");
    assert_eq!(report.steps.len(), 1);
    assert_eq!(db.strings("SELECT owner FROM dbwarden_lock").await, Vec::<String>::new(), "released");
}

/// `unlock --force` exits non-zero when it cannot end the holder: on PostgreSQL a role that may not terminate a
/// superuser's backend gets exit 2 with a hint, and the holder keeps its lock and finishes.
#[tokio::test]
async fn postgres_unlock_force_that_cannot_end_the_holder_exits_non_zero() {
    let db = TestDb::new(Dialect::Postgres).await;
    let dir = slow_migration(&db, 3, "slow_done");
    let holder = spawn_migrate(&db, &db.url, &dir);
    wait_until_held(db.dir.path(), &db.url, &dir).await;
    // A login role of this test only (roles are server-wide), allowed to read the lock and nothing more.
    let role = format!("{}_low", db.name);
    db.exec(&format!("CREATE ROLE \"{role}\" LOGIN")).await;
    db.exec(&format!("GRANT SELECT, DELETE ON dbwarden_lock TO \"{role}\"")).await;
    let mut low = url::Url::parse(&db.url).unwrap();
    low.set_username(&role).unwrap();
    let forced = cli(db.dir.path(), &["--url", low.as_str(), "--migrations-dir", &dir, "unlock", "--force"]);
    let holder_done = holder.wait_with_output().unwrap();
    db.exec(&format!("DROP OWNED BY \"{role}\"")).await;
    db.exec(&format!("DROP ROLE \"{role}\"")).await;
    assert_eq!(forced.code, 2, "{forced:?}");
    assert!(forced.stderr.contains("hint:"), "{}", forced.stderr);
    assert!(holder_done.status.success(), "the holder was not ended: {holder_done:?}");
    assert_eq!(db.recorded().await, ["0001"]);
}

/// `migrate --all` migrates every database of the config, each from its own folder and with its own lock.
#[test]
fn migrate_all_databases_of_the_config() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    std::fs::write(
        root.join("dbwarden.toml"),
        "[[database]]\nname = \"primary\"\ndefault = true\nurl = \"sqlite://main.db?mode=rwc\"\n\n[[database]]\nname = \"audit\"\nurl = \"sqlite://audit.db?mode=rwc\"\n",
    )
    .unwrap();
    let text = "-- upgrade\nCREATE TABLE x (id INTEGER);\n-- rollback\nDROP TABLE x;\n";
    write_migrations(root, "primary", &[("primary__0001_x.sql", text)]);
    write_migrations(root, "audit", &[("audit__0001_x.sql", text), ("audit__0002_y.sql", &text.replace(" x", " y"))]);
    let out = cli(root, &["--json", "migrate", "--all"]);
    assert_eq!(out.code, 0, "{out:?}");
    let json = out.json();
    let counts: Vec<(String, usize)> = json["databases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| (d["database"].as_str().unwrap().to_string(), d["steps"].as_array().unwrap().len()))
        .collect();
    assert_eq!(counts, [("primary".to_string(), 1), ("audit".to_string(), 2)]);
    assert_eq!(cli(root, &["status", "-d", "audit", "--json"]).json()["applied"], 2);
    // From a sub-folder, the paths in the config are the config's (the project root's), not the working folder's.
    let sub = root.join("sub");
    std::fs::create_dir_all(&sub).unwrap();
    let out = cli(&sub, &["--config", "../dbwarden.toml", "status", "-d", "audit", "--json"]);
    assert_eq!(out.json()["applied"], 2, "{out:?}");
    assert!(!sub.join("audit.db").exists());
    let out = cli(root, &["status", "-d", "nope"]);
    assert!(out.code == 2 && out.stderr.contains("no database named `nope`"), "{out:?}");
    // One --url for every database would apply each one's migrations to the same place.
    let out = cli(root, &["--url", "sqlite://other.db?mode=rwc", "migrate", "--all"]);
    assert!(out.code == 2 && out.stderr.contains("leave out --url and --migrations-dir"), "{out:?}");
    assert!(!root.join("other.db").exists());

    // The second database fails: the error names it and what the first one got.
    write_migrations(root, "primary", &[("primary__0002_z.sql", &text.replace(" x", " z"))]);
    write_migrations(
        root,
        "audit",
        &[("audit__0003_bad.sql", "-- upgrade\nINSERT INTO nowhere VALUES (1);\n-- rollback\n")],
    );
    let out = cli(root, &["migrate", "--all"]);
    assert_eq!(out.code, 2, "{out:?}");
    assert!(out.stderr.contains("audit: audit__0003_bad.sql:2:"), "{out:?}");
    assert!(out.stderr.contains("(databases before it, done: primary: applied primary__0002_z.sql)"), "{out:?}");
    assert!(!out.stderr.contains("not tried"), "audit is the last one: {out:?}");
    // The first one fails: the error says the others were not tried.
    write_migrations(
        root,
        "primary",
        &[("primary__0003_bad.sql", "-- upgrade\nINSERT INTO nowhere VALUES (1);\n-- rollback\n")],
    );
    let out = cli(root, &["migrate", "--all"]);
    assert!(out.code == 2 && out.stderr.contains("(databases not tried: audit)"), "{out:?}");
    std::fs::remove_file(root.join("migrations/primary/primary__0003_bad.sql")).unwrap();
    // The first one held back by --ceiling before its first file: the error says so, not "up to date".
    write_migrations(root, "primary", &[("primary__0003_drop.sql", "-- upgrade\nDROP TABLE x;\n-- rollback\n")]);
    let out = cli(root, &["migrate", "--all", "--ceiling", "warn"]);
    assert_eq!(out.code, 2, "{out:?}");
    assert!(
        out.stderr
            .contains("(databases before it, done: primary: stopped before primary__0003_drop.sql: it is CRITICAL"),
        "{out:?}"
    );
    std::fs::remove_file(root.join("migrations/primary/primary__0003_drop.sql")).unwrap();

    // A third database whose url_env is not set stops only the commands on it.
    let config = std::fs::read_to_string(root.join("dbwarden.toml")).unwrap();
    std::fs::write(
        root.join("dbwarden.toml"),
        format!("{config}\n[[database]]\nname = \"shop\"\nurl_env = \"DBWARDEN_TEST_UNSET\"\n"),
    )
    .unwrap();
    assert_eq!(cli(root, &["status", "-d", "primary"]).code, 0);
    assert_eq!(cli(root, &["-d", "primary", "status"]).code, 0, "-d before the command too");
    let out = cli(root, &["-d", "primary", "migrate", "--all"]);
    assert!(out.code == 2 && out.stderr.contains("--all and -d/--database do not go together"), "{out:?}");
    let out = cli(root, &["status", "-d", "shop"]);
    assert!(
        out.code == 2 && out.stderr.contains("url_env = \"DBWARDEN_TEST_UNSET\" but that variable is not set"),
        "{out:?}"
    );
    // Commands on files alone do not need the URL.
    assert_eq!(cli(root, &["init"]).code, 0);
    assert_eq!(cli(root, &["new", "-d", "shop", "first"]).code, 0);
    assert!(root.join("migrations/shop/shop__0001_first.sql").exists());
}
