//! `verify` on real databases: upgrade -> rollback -> upgrade of every migration on a scratch database, schemas
//! compared. A good history passes; a rollback that forgets an index or a NOT NULL is reported with that difference;
//! an irreversible migration stops it; a broken statement is reported with its file; the throwaway database is gone
//! afterwards on every path (errors and a cancelled run included); a `dev_url` database must be empty and is emptied
//! again. Then the real corpus: atuin on SQLite, authelia on MariaDB.

mod common;

use std::path::{Path, PathBuf};
use std::time::Duration;

use common::{write_migrations, TestDb};
use dbwarden::verify::{verify, Phase, Scratch, Verdict, VerifyReport};
use dbwarden::{Dialect, Error, Migrator, Source};

macro_rules! per_backend {
    ($($name:ident),*) => {
        mod sqlite { $( #[tokio::test] async fn $name() { super::$name(dbwarden::Dialect::Sqlite).await } )* }
        mod postgres { $( #[tokio::test] async fn $name() { super::$name(dbwarden::Dialect::Postgres).await } )* }
        mod mariadb { $( #[tokio::test] async fn $name() { super::$name(dbwarden::Dialect::MySql).await } )* }
    };
}

per_backend!(
    good_history_verifies,
    rollback_that_keeps_an_index_is_named,
    rollback_that_keeps_not_null_is_named,
    column_order_counts_where_a_rollback_can_restore_it,
    reupgrade_that_differs_is_named,
    rollback_that_leaves_a_view_or_trigger_is_named,
    rollback_that_does_not_restore_a_definition_is_named,
    a_body_recreated_with_other_spacing_and_case_is_the_same,
    irreversible_migration_stops_verify,
    broken_statement_names_its_file,
    throwaway_database_is_gone_on_every_path,
    dev_url_must_be_empty_and_is_emptied_again
);

/// verify runs one at a time in this binary, so that "no throwaway database of this process is left" can be checked
/// by listing the server's databases (and the temporary folder).
static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

const USERS: &str = "CREATE TABLE users (id INTEGER PRIMARY KEY, email VARCHAR(255) NOT NULL, bio TEXT)";

fn drop_index(dialect: Dialect, index: &str, table: &str) -> String {
    match dialect {
        Dialect::MySql => format!("DROP INDEX {index} ON {table}"),
        _ => format!("DROP INDEX {index}"),
    }
}

/// `users.bio` made NOT NULL (SQLite rebuilds the table).
fn bio_not_null(dialect: Dialect) -> String {
    match dialect {
        Dialect::Postgres => "ALTER TABLE users ALTER COLUMN bio SET NOT NULL".into(),
        Dialect::MySql => "ALTER TABLE users MODIFY bio TEXT NOT NULL".into(),
        Dialect::Sqlite => {
            "CREATE TABLE users_new (id INTEGER PRIMARY KEY, email VARCHAR(255) NOT NULL, bio TEXT NOT NULL);\n\
             INSERT INTO users_new SELECT id, email, COALESCE(bio, '') FROM users;\n\
             DROP TABLE users;\n\
             ALTER TABLE users_new RENAME TO users"
                .into()
        }
    }
}

fn migration(upgrade: &str, rollback: &str) -> String {
    format!("-- upgrade\n{upgrade};\n-- rollback\n{rollback};\n")
}

/// A scratch database next to `db` (a throwaway on its server; a temporary file for SQLite).
fn next_to(db: &TestDb) -> Scratch {
    Scratch::NextTo(db.url.clone())
}

async fn run(dir: &Path, scratch: &Scratch) -> Result<VerifyReport, Error> {
    let m = Migrator::new(Source::dir(dir)).lock_timeout(Duration::from_secs(10));
    verify(&m, scratch).await
}

fn verdicts(report: &VerifyReport) -> Vec<(String, Verdict)> {
    report.checked.iter().map(|c| (c.filename.clone(), c.verdict.clone())).collect()
}

/// The throwaway databases (or SQLite files) of this process that exist right now.
async fn leftovers(db: &TestDb) -> Vec<String> {
    let prefix = format!("dbwarden_verify_{}_", std::process::id());
    match db.dialect {
        Dialect::Sqlite => std::fs::read_dir(std::env::temp_dir())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.starts_with(&prefix))
            .map(|n| n.trim_end_matches("-wal").trim_end_matches("-shm").trim_end_matches("-journal").to_string())
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect(),
        Dialect::Postgres => {
            db.strings(&format!("SELECT datname::text FROM pg_database WHERE starts_with(datname, '{prefix}')")).await
        }
        Dialect::MySql => {
            db.strings(&format!(
                "SELECT CAST(schema_name AS CHAR) FROM information_schema.schemata WHERE LEFT(schema_name, {}) = '{prefix}'",
                prefix.len()
            ))
            .await
        }
    }
}

/// The name of the throwaway database a report ran on (its URL's last path segment, or file stem).
fn scratch_name(report: &VerifyReport) -> String {
    let path = report.scratch.split('?').next().unwrap();
    let last = path.rsplit('/').next().unwrap();
    last.trim_end_matches(".db").to_string()
}

async fn good_history_verifies(dialect: Dialect) {
    let _serial = SERIAL.lock().await;
    let db = TestDb::new(dialect).await;
    let dir = write_migrations(
        db.dir.path(),
        "primary",
        &[
            ("primary__0001_users.sql", &migration(USERS, "DROP TABLE users")),
            (
                "primary__0002_email_index.sql",
                &migration("CREATE INDEX ix_users_email ON users (email)", &drop_index(dialect, "ix_users_email", "users")),
            ),
            (
                "primary__0003_name.sql",
                &migration("ALTER TABLE users ADD COLUMN name VARCHAR(100)", "ALTER TABLE users DROP COLUMN name"),
            ),
            (
                "primary__0004_posts.sql",
                &migration(
                    "CREATE TABLE posts (id INTEGER PRIMARY KEY, user_id INTEGER NOT NULL, title VARCHAR(200) NOT NULL DEFAULT 'untitled', \
                     CONSTRAINT fk_posts_user FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE)",
                    "DROP TABLE posts",
                ),
            ),
            ("primary__RA__views.sql", &migration("CREATE VIEW user_emails AS SELECT id, email FROM users", "")),
        ],
    );
    let report = run(&dir, &next_to(&db)).await.unwrap();
    let names: Vec<(String, Verdict)> = verdicts(&report);
    assert_eq!(
        names,
        [
            ("primary__0001_users.sql".to_string(), Verdict::Ok),
            ("primary__0002_email_index.sql".to_string(), Verdict::Ok),
            ("primary__0003_name.sql".to_string(), Verdict::Ok),
            ("primary__0004_posts.sql".to_string(), Verdict::Ok),
            ("primary__RA__views.sql".to_string(), Verdict::Ok),
        ],
        "{report:#?}"
    );
    assert_eq!(report.checked[0].version.as_deref(), Some("0001"));
    assert_eq!(report.checked[4].version, None);
    assert!(report.ok() && !report.failed() && report.stopped_at().is_none());
    assert!(report.not_reached.is_empty() && report.warnings.is_empty(), "{report:#?}");
    assert_eq!(report.database, "primary");
    // The project's own database was never touched.
    assert!(db.tables().await.is_empty());
    assert!(!leftovers(&db).await.contains(&scratch_name(&report)));
    assert!(leftovers(&db).await.is_empty());
}

async fn rollback_that_keeps_an_index_is_named(dialect: Dialect) {
    let _serial = SERIAL.lock().await;
    let db = TestDb::new(dialect).await;
    let dir = write_migrations(
        db.dir.path(),
        "primary",
        &[
            ("primary__0001_users.sql", &migration(USERS, "DROP TABLE users")),
            (
                "primary__0002_name.sql",
                &migration(
                    "ALTER TABLE users ADD COLUMN name VARCHAR(100);\nCREATE INDEX ix_users_email ON users (email)",
                    "ALTER TABLE users DROP COLUMN name", // forgets the index
                ),
            ),
            ("primary__0003_more.sql", &migration("CREATE TABLE tags (id INTEGER PRIMARY KEY)", "DROP TABLE tags")),
        ],
    );
    let report = run(&dir, &next_to(&db)).await.unwrap();
    assert!(report.failed() && !report.ok(), "{report:#?}");
    let stop = report.stopped_at().unwrap();
    assert_eq!(stop.filename, "primary__0002_name.sql");
    assert_eq!(stop.verdict, Verdict::RollbackDiffers { differences: vec!["drop index ix_users_email".into()] });
    assert_eq!(report.checked.len(), 2);
    assert_eq!(report.checked[0].verdict, Verdict::Ok);
    assert_eq!(report.not_reached, ["primary__0003_more.sql"]);
    let shown = stop.to_string();
    assert!(
        shown.contains("rollback does not restore the previous schema")
            && shown.contains("\n    drop index ix_users_email"),
        "{shown}"
    );
    assert!(leftovers(&db).await.is_empty());
}

/// Objects the IR does not model, per backend: created by one migration, with a rollback that drops them all
/// (`complete`) or only the first (`forgetful`), and what verify says the forgetful one leaves behind.
fn other_objects(dialect: Dialect) -> (String, String, String, Vec<&'static str>) {
    match dialect {
        Dialect::Postgres => (
            "CREATE FUNCTION touch() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$;\n\
             CREATE TRIGGER users_touch BEFORE UPDATE ON users FOR EACH ROW EXECUTE FUNCTION touch();\n\
             CREATE VIEW user_emails AS SELECT id, email FROM users;\n\
             CREATE TYPE mood AS ENUM ('happy', 'sad');\n\
             CREATE INDEX ix_users_lower_email ON users (lower(email))"
                .into(),
            "DROP TRIGGER users_touch ON users;\nDROP FUNCTION touch();\nDROP VIEW user_emails;\nDROP TYPE mood;\n\
             DROP INDEX ix_users_lower_email"
                .into(),
            "DROP TRIGGER users_touch ON users;\nDROP FUNCTION touch()".into(),
            vec!["drop enum type mood", "drop index ix_users_lower_email", "drop view user_emails"],
        ),
        Dialect::MySql => (
            "CREATE FUNCTION twice(x INT) RETURNS INT DETERMINISTIC RETURN x * 2;\n\
             CREATE TRIGGER users_touch BEFORE UPDATE ON users FOR EACH ROW SET NEW.email = LOWER(NEW.email);\n\
             CREATE VIEW user_emails AS SELECT id, email FROM users"
                .into(),
            "DROP FUNCTION twice;\nDROP TRIGGER users_touch;\nDROP VIEW user_emails".into(),
            "DROP FUNCTION twice".into(),
            vec!["drop trigger users_touch on users", "drop view user_emails"],
        ),
        Dialect::Sqlite => (
            "CREATE VIEW user_emails AS SELECT id, email FROM users;\n\
             CREATE TRIGGER users_touch AFTER UPDATE ON users BEGIN SELECT 1; END;\n\
             CREATE INDEX ix_users_lower_email ON users (lower(email))"
                .into(),
            "DROP VIEW user_emails;\nDROP TRIGGER users_touch;\nDROP INDEX ix_users_lower_email".into(),
            "DROP VIEW user_emails".into(),
            vec!["drop index ix_users_lower_email", "drop trigger users_touch on users"],
        ),
    }
}

async fn rollback_that_leaves_a_view_or_trigger_is_named(dialect: Dialect) {
    let _serial = SERIAL.lock().await;
    let db = TestDb::new(dialect).await;
    let (create, complete, forgetful, left) = other_objects(dialect);
    let dir = write_migrations(
        db.dir.path(),
        "primary",
        &[
            ("primary__0001_users.sql", &migration(USERS, "DROP TABLE users")),
            ("primary__0002_objects.sql", &migration(&create, &complete)),
            // The objects follow a table renamed and back (SQLite rewrites their text: names only count there).
            (
                "primary__0003_rename.sql",
                &migration("ALTER TABLE users RENAME TO members", "ALTER TABLE members RENAME TO users"),
            ),
            (
                "primary__0004_rename_back.sql",
                &migration("ALTER TABLE members RENAME TO users", "ALTER TABLE users RENAME TO members"),
            ),
            ("primary__0005_drop_objects.sql", &migration(&complete, &create)),
            ("primary__0006_objects_again.sql", &migration(&create, &forgetful)),
        ],
    );
    let report = run(&dir, &next_to(&db)).await.unwrap();
    let stop = report.stopped_at().unwrap_or_else(|| panic!("{report:#?}"));
    assert_eq!(stop.filename, "primary__0006_objects_again.sql", "{report:#?}");
    assert_eq!(stop.verdict.differences(), left, "{report:#?}");
    assert!(matches!(stop.verdict, Verdict::RollbackDiffers { .. }), "{report:#?}");
    assert!(report.checked[..5].iter().all(|c| c.verdict == Verdict::Ok), "{report:#?}");
    assert!(leftovers(&db).await.is_empty());
}

/// `users` and a view `user_ids` of its ids, and a rollback dropping both.
fn users_and_view() -> String {
    migration(
        &format!("{USERS};\nCREATE VIEW user_ids AS SELECT id FROM users"),
        "DROP VIEW user_ids;\nDROP TABLE users",
    )
}

/// A rollback that leaves a replaced view (PostgreSQL, MariaDB) as the upgrade made it. SQLite compares names only,
/// so there it passes: the known limit, asserted so that a change to it is seen.
async fn rollback_that_does_not_restore_a_definition_is_named(dialect: Dialect) {
    let _serial = SERIAL.lock().await;
    let db = TestDb::new(dialect).await;
    let replace = match dialect {
        Dialect::Sqlite => "DROP VIEW user_ids;\nCREATE VIEW user_ids AS SELECT id, email FROM users",
        _ => "CREATE OR REPLACE VIEW user_ids AS SELECT id, email FROM users",
    };
    let dir = write_migrations(
        db.dir.path(),
        "primary",
        &[("primary__0001_users.sql", &users_and_view()), ("primary__0002_wider_view.sql", &migration(replace, ""))],
    );
    let report = run(&dir, &next_to(&db)).await.unwrap();
    if dialect == Dialect::Sqlite {
        assert!(report.ok(), "{report:#?}");
    } else {
        let stop = report.stopped_at().unwrap_or_else(|| panic!("{report:#?}"));
        assert_eq!(stop.filename, "primary__0002_wider_view.sql");
        assert_eq!(
            stop.verdict,
            Verdict::RollbackDiffers {
                differences: vec!["restore view user_ids as it was (its definition differs)".into()]
            }
        );
    }
    assert!(leftovers(&db).await.is_empty());
}

/// A rollback that recreates a routine or trigger with other spacing, case and comments has restored it (servers keep
/// bodies as written); one that does not restore a routine's properties has not.
async fn a_body_recreated_with_other_spacing_and_case_is_the_same(dialect: Dialect) {
    let _serial = SERIAL.lock().await;
    let db = TestDb::new(dialect).await;
    let (create, replace, restore_respaced, restore_but_volatile) = match dialect {
        Dialect::Postgres => (
            "CREATE FUNCTION touch() RETURNS trigger LANGUAGE plpgsql AS $$\nBEGIN\n  NEW.email := lower(NEW.email);\n  RETURN NEW;\nEND\n$$;\n\
             CREATE TRIGGER users_touch BEFORE UPDATE ON users FOR EACH ROW EXECUTE FUNCTION touch()",
            "CREATE OR REPLACE FUNCTION touch() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$",
            "create or replace function touch() returns trigger language plpgsql as $body$\n    begin -- lower-case it\n        new.email:=lower(new.email);\n        return new;\n    end\n$body$",
            "CREATE OR REPLACE FUNCTION touch() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER AS $$\nBEGIN\n  NEW.email := lower(NEW.email);\n  RETURN NEW;\nEND\n$$",
        ),
        Dialect::MySql => (
            "CREATE FUNCTION twice(x INT) RETURNS INT DETERMINISTIC RETURN x * 2;\n\
             CREATE TRIGGER users_touch BEFORE UPDATE ON users FOR EACH ROW SET NEW.email = LOWER(NEW.email)",
            "DROP FUNCTION twice;\nCREATE FUNCTION twice(x INT) RETURNS INT DETERMINISTIC RETURN x + x;\n\
             DROP TRIGGER users_touch",
            "drop function twice;\ncreate function twice(x int) returns int deterministic return x*2;\n\
             create trigger users_touch before update on users for each row set new.email=lower(new.email)",
            "DROP FUNCTION twice;\nCREATE FUNCTION twice(x INT) RETURNS INT NOT DETERMINISTIC RETURN x * 2;\n\
             CREATE TRIGGER users_touch BEFORE UPDATE ON users FOR EACH ROW SET NEW.email = LOWER(NEW.email)",
        ),
        Dialect::Sqlite => (
            "CREATE TRIGGER users_touch AFTER UPDATE ON users BEGIN SELECT 1; END",
            "DROP TRIGGER users_touch",
            "create trigger users_touch after update on users begin select 1; end",
            "CREATE TRIGGER users_touch AFTER UPDATE ON users BEGIN SELECT 2; END",
        ),
    };
    // The routine outlives the table in 0001's rollback.
    let undo = match dialect {
        Dialect::Postgres => ";\nDROP FUNCTION touch()",
        Dialect::MySql => ";\nDROP FUNCTION twice",
        Dialect::Sqlite => "",
    };
    let files = |rollback: &str| {
        let dir = db.dir.path().join(format!("m{}", rollback.len()));
        write_migrations(
            &dir,
            "primary",
            &[
                (
                    "primary__0001_users.sql",
                    &migration(&format!("{USERS};\n{create}"), &format!("DROP TABLE users{undo}")),
                ),
                ("primary__0002_replace.sql", &migration(replace, rollback)),
            ],
        )
    };
    let report = run(&files(restore_respaced), &next_to(&db)).await.unwrap();
    assert!(report.ok(), "{report:#?}");
    let report = run(&files(restore_but_volatile), &next_to(&db)).await.unwrap();
    if dialect == Dialect::Sqlite {
        // Names only on SQLite.
        assert!(report.ok(), "{report:#?}");
    } else {
        let stop = report.stopped_at().unwrap_or_else(|| panic!("{report:#?}"));
        assert_eq!(stop.filename, "primary__0002_replace.sql");
        let name = if dialect == Dialect::Postgres { "function touch()" } else { "function twice" };
        assert_eq!(
            stop.verdict.differences(),
            [format!("restore {name} as it was (its definition differs)")],
            "{report:#?}"
        );
    }
    if dialect == Dialect::MySql {
        // A parameter of another type is another routine.
        let wider = "drop function twice;\ncreate function twice(x bigint) returns int deterministic return x*2;\n\
                     create trigger users_touch before update on users for each row set new.email=lower(new.email)";
        let report = run(&files(wider), &next_to(&db)).await.unwrap();
        assert_eq!(
            report.stopped_at().map(|c| c.verdict.differences().to_vec()),
            Some(vec!["restore function twice as it was (its definition differs)".to_string()]),
            "{report:#?}"
        );
    }
    assert!(leftovers(&db).await.is_empty());
}

/// An index turned from plain (in the schema model) into one on an expression (outside it) and not turned back:
/// one index to restore, not a drop and a create. (MariaDB has no expression indexes.)
async fn index_turned_into_an_expression_index(dialect: Dialect) {
    let _serial = SERIAL.lock().await;
    let db = TestDb::new(dialect).await;
    let dir = write_migrations(
        db.dir.path(),
        "primary",
        &[
            (
                "primary__0001_users.sql",
                &migration(&format!("{USERS};\nCREATE INDEX ix_users_email ON users (email)"), "DROP TABLE users"),
            ),
            (
                "primary__0002_lower.sql",
                &migration("DROP INDEX ix_users_email;\nCREATE INDEX ix_users_email ON users (lower(email))", ""),
            ),
        ],
    );
    let report = run(&dir, &next_to(&db)).await.unwrap();
    let stop = report.stopped_at().unwrap_or_else(|| panic!("{report:#?}"));
    assert_eq!(stop.filename, "primary__0002_lower.sql");
    assert_eq!(
        stop.verdict,
        Verdict::RollbackDiffers {
            differences: vec!["restore index ix_users_email as it was (its definition differs)".into()]
        },
        "{report:#?}"
    );
}

#[tokio::test]
async fn index_turned_into_an_expression_index_postgres() {
    index_turned_into_an_expression_index(Dialect::Postgres).await
}

#[tokio::test]
async fn index_turned_into_an_expression_index_sqlite() {
    index_turned_into_an_expression_index(Dialect::Sqlite).await
}

/// A one-time event recreated by a rollback with the same statement is the same event, though its time is another.
#[tokio::test]
async fn mariadb_one_time_event_recreated_is_the_same() {
    let _serial = SERIAL.lock().await;
    let db = TestDb::new(Dialect::MySql).await;
    let event = "CREATE EVENT cleanup ON SCHEDULE AT CURRENT_TIMESTAMP + INTERVAL 1 DAY DO DELETE FROM users";
    let dir = write_migrations(
        db.dir.path(),
        "primary",
        &[
            (
                "primary__0001_users.sql",
                &migration(&format!("{USERS};\n{event}"), "DROP EVENT cleanup;\nDROP TABLE users"),
            ),
            ("primary__0002_no_cleanup.sql", &migration("DROP EVENT cleanup", event)),
        ],
    );
    let report = run(&dir, &next_to(&db)).await.unwrap();
    assert!(report.ok(), "{report:#?}");
}

/// A schema whose name needs quotes (`"App"`) is read by its name (a cast to regnamespace folded it to `app`).
#[tokio::test]
async fn postgres_schema_with_a_quoted_name() {
    let _serial = SERIAL.lock().await;
    let db = TestDb::new(Dialect::Postgres).await;
    db.exec("CREATE SCHEMA \"App\"").await;
    let url = format!("{}?options=-c%20search_path%3D%22App%22", db.url);
    let dir = write_migrations(
        db.dir.path(),
        "primary",
        &[(
            "primary__0001_users.sql",
            &migration(&format!("{USERS};\nCREATE VIEW v AS SELECT id FROM users"), "DROP TABLE users CASCADE"),
        )],
    );
    let report = run(&dir, &Scratch::Use(url)).await.unwrap();
    assert!(report.ok(), "{report:#?}");
}

async fn rollback_that_keeps_not_null_is_named(dialect: Dialect) {
    let _serial = SERIAL.lock().await;
    let db = TestDb::new(dialect).await;
    let dir = write_migrations(
        db.dir.path(),
        "primary",
        &[
            ("primary__0001_users.sql", &migration(USERS, "DROP TABLE users")),
            // The rollback runs, but does not make bio nullable again.
            ("primary__0002_bio_required.sql", &migration(&bio_not_null(dialect), "DELETE FROM users WHERE bio = ''")),
        ],
    );
    let report = run(&dir, &next_to(&db)).await.unwrap();
    let stop = report.stopped_at().unwrap();
    assert_eq!(stop.filename, "primary__0002_bio_required.sql");
    let differences = match &stop.verdict {
        Verdict::RollbackDiffers { differences } => differences,
        other => panic!("expected RollbackDiffers, got {other:?}"),
    };
    assert_eq!(differences.len(), 1, "{differences:?}");
    // `alter column users.bio (text NOT NULL -> text)`: what the rollback still has to do.
    let d = &differences[0];
    assert!(
        d.starts_with("alter column users.bio (") && d.contains(" NOT NULL -> ") && !d.ends_with("NOT NULL)"),
        "{d}"
    );
    assert!(report.failed());
    assert!(leftovers(&db).await.is_empty());
}

/// Dropping a column and re-adding it puts it last. MySQL (`AFTER`) and SQLite (a rebuild) can put it back in its
/// place, so there it counts; PostgreSQL cannot, so there it does not.
async fn column_order_counts_where_a_rollback_can_restore_it(dialect: Dialect) {
    let _serial = SERIAL.lock().await;
    let db = TestDb::new(dialect).await;
    let dir = write_migrations(
        db.dir.path(),
        "primary",
        &[
            ("primary__0001_users.sql", &migration(USERS, "DROP TABLE users")),
            (
                "primary__0002_drop_email.sql",
                &migration(
                    "ALTER TABLE users DROP COLUMN email",
                    "ALTER TABLE users ADD COLUMN email VARCHAR(255) NOT NULL DEFAULT ''",
                ),
            ),
        ],
    );
    let report = run(&dir, &next_to(&db)).await.unwrap();
    let stop = report.stopped_at().map(|c| c.verdict.clone());
    match dialect {
        Dialect::Postgres => {
            // The default differs, though: `DEFAULT ''` was not there before.
            assert_eq!(
                stop,
                Some(Verdict::RollbackDiffers {
                    differences: vec![
                        "alter column users.email (varchar(255) NOT NULL DEFAULT '' -> varchar(255) NOT NULL)".into()
                    ]
                }),
                "{report:#?}"
            );
        }
        _ => {
            let differences = stop.as_ref().map(|v| v.differences().to_vec()).unwrap_or_default();
            assert!(
                differences.contains(&"reorder the columns of users: (id, bio, email) -> (id, email, bio)".to_string()),
                "{report:#?}"
            );
        }
    }
    assert!(leftovers(&db).await.is_empty());
}

/// The rollback puts back a view under its name but with another definition, and the upgrade builds a table from
/// it. PostgreSQL and MariaDB see the definition at the rollback; SQLite compares names only, so there the table
/// built again from the changed view is what differs.
async fn reupgrade_that_differs_is_named(dialect: Dialect) {
    let _serial = SERIAL.lock().await;
    let db = TestDb::new(dialect).await;
    let dir = write_migrations(
        db.dir.path(),
        "primary",
        &[
            ("primary__0001_users.sql", &users_and_view()),
            (
                "primary__0002_audit.sql",
                &migration(
                    "CREATE TABLE audit AS SELECT * FROM user_ids",
                    "DROP TABLE audit;\nDROP VIEW user_ids;\nCREATE VIEW user_ids AS SELECT id, email FROM users",
                ),
            ),
        ],
    );
    let report = run(&dir, &next_to(&db)).await.unwrap();
    let stop = report.stopped_at().unwrap();
    assert_eq!(stop.filename, "primary__0002_audit.sql");
    if dialect != Dialect::Sqlite {
        assert_eq!(
            stop.verdict,
            Verdict::RollbackDiffers {
                differences: vec!["restore view user_ids as it was (its definition differs)".into()]
            },
            "{report:#?}"
        );
        assert!(leftovers(&db).await.is_empty());
        return;
    }
    assert_eq!(
        stop.verdict,
        Verdict::ReupgradeDiffers { differences: vec!["drop column audit.email".into()] },
        "{report:#?}"
    );
    assert!(stop.to_string().contains("upgrading again after the rollback gives another schema"));
    assert!(leftovers(&db).await.is_empty());
}

async fn irreversible_migration_stops_verify(dialect: Dialect) {
    let _serial = SERIAL.lock().await;
    let db = TestDb::new(dialect).await;
    let directive = write_migrations(
        &db.dir.path().join("a"),
        "primary",
        &[
            ("primary__0001_users.sql", &migration(USERS, "DROP TABLE users")),
            (
                "primary__0002_seed.sql",
                "-- dbwarden: irreversible\n-- upgrade\nINSERT INTO users (id, email) VALUES (1, 'a@example.com');\n-- rollback\n",
            ),
            ("primary__0003_tags.sql", &migration("CREATE TABLE tags (id INTEGER PRIMARY KEY)", "DROP TABLE tags")),
        ],
    );
    let report = run(&directive, &next_to(&db)).await.unwrap();
    assert_eq!(report.checked.len(), 2);
    let stop = report.stopped_at().unwrap();
    assert_eq!(stop.filename, "primary__0002_seed.sql");
    assert_eq!(stop.verdict, Verdict::Irreversible { reason: "marked `-- dbwarden: irreversible`".into() });
    assert_eq!(report.not_reached, ["primary__0003_tags.sql"]);
    // Said on purpose: not a failure, but not all verified either.
    assert!(!report.failed() && !report.ok());

    let empty_rollback = write_migrations(
        &db.dir.path().join("b"),
        "primary",
        &[
            ("primary__0001_users.sql", &migration(USERS, "DROP TABLE users")),
            (
                "primary__0002_tags.sql",
                "-- upgrade\nCREATE TABLE tags (id INTEGER PRIMARY KEY);\n-- rollback\n-- nothing\n",
            ),
        ],
    );
    // An empty rollback is what `rollback` would run: checked, and here it leaves the table behind.
    let report = run(&empty_rollback, &next_to(&db)).await.unwrap();
    let stop = report.stopped_at().unwrap();
    assert_eq!(stop.filename, "primary__0002_tags.sql");
    assert!(
        matches!(&stop.verdict, Verdict::RollbackDiffers { differences } if differences == &["drop table tags"]),
        "{stop}"
    );
    assert!(report.failed());
    assert!(leftovers(&db).await.is_empty());
}

async fn broken_statement_names_its_file(dialect: Dialect) {
    let _serial = SERIAL.lock().await;
    let db = TestDb::new(dialect).await;
    // A broken upgrade: its second statement.
    let dir = write_migrations(
        &db.dir.path().join("up"),
        "primary",
        &[
            ("primary__0001_users.sql", &migration(USERS, "DROP TABLE users")),
            (
                "primary__0002_posts.sql",
                &migration(
                    "CREATE TABLE posts (id INTEGER PRIMARY KEY);\nALTER TABLE no_such_table ADD COLUMN x INTEGER",
                    "DROP TABLE posts",
                ),
            ),
        ],
    );
    let report = run(&dir, &next_to(&db)).await.unwrap();
    let stop = report.stopped_at().unwrap();
    assert_eq!(stop.filename, "primary__0002_posts.sql");
    let Verdict::SqlError(failure) = &stop.verdict else { panic!("expected SqlError, got {:?}", stop.verdict) };
    assert_eq!(failure.phase, Phase::Upgrade);
    assert_eq!(failure.file, "primary__0002_posts.sql");
    assert_eq!((failure.index, failure.total, failure.line), (2, 2, 3), "{failure:?}");
    assert_eq!(failure.statement, "ALTER TABLE no_such_table ADD COLUMN x INTEGER");
    assert!(
        failure.message.starts_with("primary__0002_posts.sql:3: upgrade statement 2 of 2 failed: "),
        "{}",
        failure.message
    );
    assert!(failure.message.contains("no_such_table"), "{}", failure.message);
    assert!(report.failed());

    // A broken rollback.
    let dir = write_migrations(
        &db.dir.path().join("down"),
        "primary",
        &[
            ("primary__0001_users.sql", &migration(USERS, "DROP TABLE users")),
            ("primary__0002_tags.sql", &migration("CREATE TABLE tags (id INTEGER PRIMARY KEY)", "DROP TABLE tagz")),
        ],
    );
    let report = run(&dir, &next_to(&db)).await.unwrap();
    let stop = report.stopped_at().unwrap();
    let Verdict::SqlError(failure) = &stop.verdict else { panic!("expected SqlError, got {:?}", stop.verdict) };
    assert_eq!((failure.phase, failure.file.as_str()), (Phase::Rollback, "primary__0002_tags.sql"));
    assert_eq!(failure.statement, "DROP TABLE tagz");
    assert!(
        failure.message.contains("rollback statement 1 of 1 failed") && failure.message.contains("tagz"),
        "{}",
        failure.message
    );
    assert!(
        stop.to_string().starts_with("primary__0002_tags.sql: rollback failed at line 4 (statement 1 of 1): "),
        "{stop}"
    );
    assert!(stop.to_string().ends_with("\n    DROP TABLE tagz"), "{stop}");
    assert!(leftovers(&db).await.is_empty());
}

async fn throwaway_database_is_gone_on_every_path(dialect: Dialect) {
    let _serial = SERIAL.lock().await;
    let db = TestDb::new(dialect).await;
    assert!(leftovers(&db).await.is_empty());

    // Success: the report names it, and it is gone.
    let dir = write_migrations(
        &db.dir.path().join("ok"),
        "primary",
        &[("primary__0001_users.sql", &migration(USERS, "DROP TABLE users"))],
    );
    let report = run(&dir, &next_to(&db)).await.unwrap();
    let name = scratch_name(&report);
    assert!(name.starts_with(&format!("dbwarden_verify_{}_", std::process::id())), "{}", report.scratch);
    assert!(!leftovers(&db).await.contains(&name));

    // An error after it was created (a malformed file is found when the files are read, on the scratch side).
    let dir = write_migrations(
        &db.dir.path().join("bad"),
        "primary",
        &[("primary__0001_users.sql", "CREATE TABLE x (id INTEGER);\n")],
    );
    let err = run(&dir, &next_to(&db)).await.unwrap_err();
    assert!(matches!(err, Error::Format(_)), "{err:?}");
    assert!(leftovers(&db).await.is_empty());

    // A cancelled run: the future dropped in the middle of a migration.
    let slow = match dialect {
        Dialect::Postgres => "SELECT pg_sleep(2)",
        Dialect::MySql => "DO SLEEP(2)",
        Dialect::Sqlite => {
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 30000000) SELECT count(*) FROM n"
        }
    };
    let dir = write_migrations(
        &db.dir.path().join("slow"),
        "primary",
        &[
            ("primary__0001_users.sql", &migration(USERS, "DROP TABLE users")),
            ("primary__0002_slow.sql", &migration(slow, "SELECT 1")),
        ],
    );
    let scratch = next_to(&db);
    // While it runs, the throwaway database is there (so the listing above can see one).
    let seen = async {
        loop {
            let now = leftovers(&db).await;
            if !now.is_empty() {
                return now;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    };
    let (cancelled, seen) = tokio::join!(
        tokio::time::timeout(Duration::from_millis(1200), run(&dir, &scratch)),
        tokio::time::timeout(Duration::from_millis(1200), seen)
    );
    assert!(cancelled.is_err(), "the run was expected to be cut short: {cancelled:?}");
    let seen = seen.expect("the throwaway database never showed up while verify ran");
    assert_eq!(seen.len(), 1, "{seen:?}");
    assert!(leftovers(&db).await.is_empty());
}

async fn dev_url_must_be_empty_and_is_emptied_again(dialect: Dialect) {
    let _serial = SERIAL.lock().await;
    let dev = TestDb::new(dialect).await;
    let mut objects = vec![
        ("primary__0001_users.sql".to_string(), migration(USERS, "DROP TABLE users")),
        (
            "primary__0002_posts.sql".to_string(),
            migration(
                "CREATE TABLE posts (id INTEGER PRIMARY KEY, user_id INTEGER NOT NULL REFERENCES users (id));\nCREATE VIEW post_ids AS SELECT id FROM posts",
                "DROP VIEW post_ids;\nDROP TABLE posts",
            ),
        ),
    ];
    if dialect == Dialect::Postgres {
        objects.push((
            "primary__0003_extras.sql".to_string(),
            migration(
                "CREATE TYPE mood AS ENUM ('ok', 'sad');\nCREATE SEQUENCE counter;\nCREATE FUNCTION one() RETURNS integer LANGUAGE sql AS $$ SELECT 1 $$",
                "DROP FUNCTION one();\nDROP SEQUENCE counter;\nDROP TYPE mood",
            ),
        ));
    }
    let files: Vec<(&str, &str)> = objects.iter().map(|(n, t)| (n.as_str(), t.as_str())).collect();
    let dir = write_migrations(dev.dir.path(), "primary", &files);
    let scratch = Scratch::new("postgres://unused@127.0.0.1:1/never", Some(&dev.url));
    assert_eq!(scratch, Scratch::Use(dev.url.clone()));
    for round in 0..2 {
        let report = run(&dir, &scratch).await.unwrap();
        assert!(report.ok(), "round {round}: {report:#?}");
        assert!(report.warnings.is_empty(), "round {round}: {:?}", report.warnings);
        // Emptied again, history and lock tables included, so the next round runs.
        assert!(dev.tables().await.is_empty());
        let anything = match dialect {
            Dialect::Postgres => {
                "SELECT relname::text FROM pg_class WHERE relnamespace = 'public'::regnamespace \
                 UNION ALL SELECT proname::text FROM pg_proc WHERE pronamespace = 'public'::regnamespace \
                 UNION ALL SELECT typname::text FROM pg_type WHERE typnamespace = 'public'::regnamespace"
            }
            Dialect::MySql => {
                "SELECT CAST(table_name AS CHAR) FROM information_schema.tables WHERE table_schema = DATABASE()"
            }
            Dialect::Sqlite => "SELECT name FROM sqlite_master WHERE name NOT LIKE 'sqlite_%'",
        };
        assert_eq!(dev.strings(anything).await, Vec::<String>::new(), "round {round}");
    }

    // Something in it: refused, naming it, and left alone.
    dev.exec("CREATE TABLE precious (id INTEGER PRIMARY KEY)").await;
    match run(&dir, &scratch).await {
        Err(Error::ScratchNotEmpty { objects, .. }) => {
            assert!(objects.iter().any(|o| o.ends_with(" precious")), "{objects:?}")
        }
        other => panic!("expected ScratchNotEmpty, got {other:?}"),
    }
    assert_eq!(dev.tables().await, ["precious"]);
}

// ---------------------------------------------------------------------------------------------------------------
// The corpus (../shared/corpus, read in place; see tests/corpus.rs and the corpus README).

fn corpus(project: &str) -> PathBuf {
    let dir = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/corpus")).join(project);
    assert!(dir.is_dir(), "the corpus folder {} is missing (see /work/shared/corpus/README.md)", dir.display());
    dir
}

fn corpus_files(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".sql"))
        .collect();
    names.sort();
    names
}

/// atuin: every file is `-- dbwarden: irreversible` (tests/corpus.rs: the first rollback, from the newest, is
/// refused as irreversible). verify walks from the oldest, so it stops at once, at 0001, with the same verdict, after
/// applying its upgrade; nothing is a failure.
#[tokio::test]
async fn corpus_atuin_on_sqlite() {
    let _serial = SERIAL.lock().await;
    let dir = corpus("atuin-sqlite/atuin");
    let files = corpus_files(&dir);
    assert_eq!(files.len(), 12);
    for f in &files {
        assert!(std::fs::read_to_string(dir.join(f)).unwrap().starts_with("-- dbwarden: irreversible"), "{f}");
    }
    let db = TestDb::new(Dialect::Sqlite).await;
    let report = run(&dir, &next_to(&db)).await.unwrap();
    assert_eq!(report.checked.len(), 1, "{report:#?}");
    let stop = report.stopped_at().unwrap();
    assert_eq!(stop.filename, "atuin__0001_create_history.sql");
    assert_eq!(stop.verdict, Verdict::Irreversible { reason: "marked `-- dbwarden: irreversible`".into() });
    assert_eq!(report.not_reached, files[1..]);
    assert!(!report.failed());
    assert!(leftovers(&db).await.is_empty());

    // Past the irreversible files: every upgrade applies in turn on the scratch database and nothing fails.
    let options = dbwarden::verify::VerifyOptions { past_irreversible: true, ..Default::default() };
    let m = dbwarden::Migrator::new(dbwarden::Source::dir(&dir));
    let report = dbwarden::verify::verify_with(&m, &next_to(&db), options).await.unwrap();
    assert_eq!(report.checked.len(), 12, "{report:#?}");
    assert!(report.checked.iter().all(|c| matches!(c.verdict, Verdict::Irreversible { .. })), "{report:#?}");
    assert!(report.not_reached.is_empty() && !report.failed(), "{report:#?}");
    assert!(leftovers(&db).await.is_empty());
}

/// authelia: tests/corpus.rs rolls back from the newest and the first rollback that fails is V0007's. verify walks
/// from the oldest and stops at the same file: 0001 … 0006 round-trip with their schema restored, then 0007's rollback
/// does not restore the schema before it. The reason differs from corpus.rs: there, 0007's rollback fails on
/// `CREATE UNIQUE INDEX kid` because 0012's rollback, run before it, re-created an index named `kid`; here 0007's
/// rollback runs right after its own upgrade, so that statement succeeds, but its upgrade dropped the backup tables
/// 0002's upgrade left (`_bkp_UP_V0002_*`) and its rollback does not bring them back.
#[tokio::test]
async fn corpus_authelia_on_mariadb() {
    let _serial = SERIAL.lock().await;
    let dir = corpus("authelia-mysql/authelia");
    let files = corpus_files(&dir);
    assert_eq!(files.len(), 26);
    let db = TestDb::new(Dialect::MySql).await;
    let report = run(&dir, &next_to(&db)).await.unwrap();
    let failing = "authelia__0007_consistencyfixes.sql";
    let stop = report.stopped_at().unwrap_or_else(|| panic!("{report:#?}"));
    assert_eq!(stop.filename, failing, "{report:#?}");
    let ok: Vec<&str> =
        report.checked.iter().filter(|c| c.verdict == Verdict::Ok).map(|c| c.filename.as_str()).collect();
    assert_eq!(ok, files[..6].iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(
        stop.verdict,
        Verdict::RollbackDiffers {
            differences: vec![
                "create table _bkp_UP_V0002_totp_configurations".into(),
                "create table _bkp_UP_V0002_u2f_devices".into(),
            ]
        }
    );
    let text = std::fs::read_to_string(dir.join(failing)).unwrap();
    let (upgrade, rollback) = text.split_once("\n-- rollback\n").unwrap();
    assert!(upgrade.contains("DROP TABLE IF EXISTS _bkp_UP_V0002_totp_configurations;"));
    assert!(!rollback.contains("_bkp_UP_V0002_totp_configurations"));
    assert_eq!(report.not_reached, files[7..]);
    assert!(report.failed());
    assert!(leftovers(&db).await.is_empty());
}
