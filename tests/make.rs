//! The model workflow through the real CLI, on every backend: make-migrations (from a manifest read at run time, as
//! the standalone binary does, and from #[derive(Table)] models linked into the binary), the snapshot baseline,
//! diff, check, check-db, renames, and the errors when neither the database nor the snapshot can say where we are.

mod common;

use std::path::Path;

use common::{cli, TestDb, ALL};
use dbwarden::diff::Renames;
use dbwarden::{Dialect, Migrator, Source};

cli_entry!();

const V1: &str = r#"
[[table]]
name = "users"
[[table.column]]
name = "id"
type = "BigInteger"
primary_key = true
[[table.column]]
name = "email"
type = "String(255)"
nullable = false
unique = true
[[table.column]]
name = "name"
type = "String(100)"

[[table]]
name = "posts"
[[table.column]]
name = "id"
type = "BigInteger"
primary_key = true
[[table.column]]
name = "user_id"
type = "BigInteger"
nullable = false
foreign_key = "users.id"
on_delete = "CASCADE"
"#;

/// V1 plus a column and an index.
fn v2() -> String {
    format!(
        "{V1}[[table.column]]\nname = \"title\"\ntype = \"String(200)\"\nserver_default = \"'untitled'\"\nnullable = false\n\n\
         [[table.index]]\nname = \"ix_posts_title\"\ncolumns = [\"title\"]\n"
    )
}

/// The live schema of `db` and what a rebuild creates again, read as `make-migrations` reads them.
async fn live_with_dependents(db: &TestDb) -> (dbwarden::schema::Schema, Vec<dbwarden::render::Dependent>) {
    let spec = dbwarden::backend::ConnectSpec { url: db.url.clone(), create: false };
    let mut backend = dbwarden::backend::connect(&spec).await.unwrap();
    let live = dbwarden::introspect::introspect(backend.as_mut(), None).await.unwrap();
    let dependents = dbwarden::introspect::dependents(backend.as_mut()).await.unwrap();
    backend.close().await;
    (live, dependents)
}

fn files(root: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(root.join("migrations/primary"))
        .map(|d| d.map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect())
        .unwrap_or_default();
    names.sort();
    names
}

/// Defaults and checks the servers echo in another spelling of the same value converge: right after `migrate`,
/// `diff` is clean and `make-migrations` finds nothing (a time `'10:00'` read back as `'10:00:00'`, a timestamp's
/// `T`, a date without leading zeros, PostgreSQL's `'true'`, MariaDB's `'%\\_%'` for `'%\_%'` wrote the same
/// change again at every run).
#[tokio::test]
async fn defaults_and_checks_in_another_spelling_converge() {
    let manifest = format!(
        "{TABLE_T}{}",
        r#"[[table.column]]
name = "at"
type = "Time"
server_default = "'10:00'"
[[table.column]]
name = "stamp"
type = "DateTime"
server_default = "'2020-01-01T10:00'"
[[table.column]]
name = "day"
type = "Date"
server_default = "'2024-1-2'"
[[table.column]]
name = "flag"
type = "Boolean"
server_default = "'true'"
[[table.column]]
name = "q"
type = "String(20)"
[[table.check]]
name = "c"
expr = '''q NOT LIKE '%\_%' '''
"#
    );
    for dialect in ALL {
        let db = TestDb::new(dialect).await;
        let (root, url) = (db.dir.path(), db.url.as_str());
        // (MySQL's BOOLEAN is TINYINT, which takes no string: `'true'` there is the user's mistake, refused.)
        let manifest = match dialect {
            Dialect::Postgres => manifest.clone(),
            _ => manifest.replace("\"'true'\"", "\"TRUE\""),
        };
        std::fs::write(root.join("dbwarden.schema.toml"), manifest).unwrap();
        let out = run(root, url, &["make-migrations", "spellings"]);
        assert_eq!(out.code, 0, "{dialect}: {out:?}");
        let out = run(root, url, &["migrate"]);
        assert_eq!(out.code, 0, "{dialect}: {out:?}");
        let out = run(root, url, &["diff", "--exit-code"]);
        assert!(out.code == 0 && out.stdout.contains("match"), "{dialect}: {out:?}");
        let out = run(root, url, &["make-migrations"]);
        assert!(out.code == 0 && out.stdout.contains("no changes"), "{dialect}: {out:?}");
        // The check means what it says: an underscore is refused (PostgreSQL and MySQL escape with a backslash in
        // LIKE by default; SQLite has no default escape, so there the pattern wants a backslash).
        let underscore = db.try_exec("INSERT INTO t (id, q) VALUES (1, 'a_b')").await;
        assert_eq!(underscore.is_err(), dialect != Dialect::Sqlite, "{dialect}");
        db.exec("INSERT INTO t (id, q) VALUES (2, 'ab')").await;
        db.exec("DELETE FROM t WHERE id = 1").await;
        // (SQLite keeps the text as written.)
        let day = if dialect == Dialect::Sqlite { "2024-1-2" } else { "2024-01-02" };
        assert_eq!(db.strings("SELECT CAST(day AS CHAR(10)) FROM t").await, [day], "{dialect}");
    }
}

/// A check that one dialect's lexer cannot read (a backslash does not escape a quote on PostgreSQL) is refused
/// before generating, naming the table and the check (it was written, failed to read back and was reported as a
/// defect of dbwarden); MySQL reads the same text.
#[tokio::test]
async fn a_check_one_dialect_cannot_read_is_refused_by_name() {
    let manifest = format!(
        "{TABLE_T}{}",
        r#"[[table.column]]
name = "q"
type = "String(20)"
[[table.check]]
name = "c"
expr = '''q <> 'x\'y' '''
"#
    );
    for dialect in [Dialect::Postgres, Dialect::MySql] {
        let db = TestDb::new(dialect).await;
        let (root, url) = (db.dir.path(), db.url.as_str());
        std::fs::write(root.join("dbwarden.schema.toml"), &manifest).unwrap();
        let out = run(root, url, &["make-migrations", "quote"]);
        if dialect == Dialect::Postgres {
            assert_eq!(out.code, 2, "{out:?}");
            assert!(
                out.stderr.contains("table `t`: check `ck_t_c` `q <> 'x\\'y' ` does not read as postgresql SQL"),
                "{out:?}"
            );
            assert!(out.stderr.contains("write it twice") && !out.stderr.contains("defect"), "{out:?}");
            assert!(files(root).is_empty(), "nothing written: {:?}", files(root));
        } else {
            assert_eq!(out.code, 0, "{out:?}");
            assert_eq!(run(root, url, &["migrate"]).code, 0);
        }
    }
}

/// A manifest's table `t` with an integer primary key `id`, for the columns and checks after it.
const TABLE_T: &str =
    "[[table]]\nname = \"t\"\n[[table.column]]\nname = \"id\"\ntype = \"Integer\"\nprimary_key = true\n";

fn run(root: &Path, url: &str, args: &[&str]) -> common::CliOutput {
    let mut all = vec!["--url", url];
    all.extend_from_slice(args);
    cli(root, &all)
}

async fn workflow(dialect: Dialect) {
    let db = TestDb::new(dialect).await;
    let root = db.dir.path();
    let url = db.url.as_str();
    std::fs::write(root.join("dbwarden.schema.toml"), V1).unwrap();

    // First migration from an empty database.
    let out = run(root, url, &["make-migrations", "create", "core"]);
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(files(root), ["primary__0001_create_core.sql", "schema.snapshot.json"], "{out:?}");
    let text = std::fs::read_to_string(root.join("migrations/primary/primary__0001_create_core.sql")).unwrap();
    assert!(text.contains("--   SAFE      create table users"), "{text}");
    assert!(text.contains("-- upgrade\n") && text.contains("-- rollback\n"), "{text}");

    // Pending file: the snapshot is the baseline, and it already holds the models: no second file.
    let out = run(root, url, &["make-migrations"]);
    assert!(out.code == 0 && out.stdout.contains("no changes"), "{out:?}");
    assert_eq!(files(root).len(), 2);

    assert_eq!(run(root, url, &["migrate"]).code, 0);
    let out = run(root, url, &["diff", "--exit-code"]);
    assert!(out.code == 0 && out.stdout.contains("match"), "{out:?}");

    // The models change: diff (live and offline) and check see it before any file exists.
    std::fs::write(root.join("dbwarden.schema.toml"), v2()).unwrap();
    let out = run(root, url, &["--json", "diff", "--exit-code"]);
    assert_eq!(out.code, 1, "{out:?}");
    let steps: Vec<String> =
        out.json()["steps"].as_array().unwrap().iter().map(|s| s["step"].as_str().unwrap().to_string()).collect();
    assert_eq!(steps.len(), 2, "{steps:?}");
    assert!(steps.iter().any(|s| s.starts_with("add column posts.title")), "{steps:?}");
    assert!(steps.iter().any(|s| s.starts_with("create index ix_posts_title")), "{steps:?}");
    assert_eq!(run(root, url, &["diff", "--offline", "--exit-code"]).code, 1, "offline: the snapshot is behind");
    let out = run(root, url, &["--json", "check"]);
    assert_eq!(out.code, 0, "an added column with a default and an index are within WARN: {out:?}");
    assert_eq!(out.json()["report"]["models"].as_array().unwrap().len(), 2);
    assert_eq!(out.json()["report"]["safety"], "SAFE", "{out:?}");

    // --sql prints and writes nothing.
    let out = run(root, url, &["make-migrations", "--sql", "titles"]);
    assert!(out.code == 0 && out.stdout.contains("-- upgrade") && out.stdout.contains("title"), "{out:?}");
    assert_eq!(files(root).len(), 2);

    let out = run(root, url, &["make-migrations", "titles"]);
    assert_eq!(out.code, 0, "{out:?}");
    assert!(files(root).contains(&"primary__0002_titles.sql".to_string()), "{:?}", files(root));
    // check trusts the generated header (stamped with the upgrade checksum) only while the SQL is unchanged.
    let file = root.join("migrations/primary/primary__0002_titles.sql");
    let generated = std::fs::read_to_string(&file).unwrap();
    assert_eq!(run(root, url, &["--json", "check"]).json()["report"]["files"][0]["safety"], "SAFE");
    std::fs::write(&file, generated.replace("-- rollback", "DELETE FROM posts WHERE 1 = 0;\n-- rollback")).unwrap();
    let out = run(root, url, &["--json", "check"]);
    assert_eq!(out.code, 1, "{out:?}");
    assert_eq!(out.json()["report"]["files"][0]["safety"], "CRITICAL", "{out:?}");
    std::fs::write(&file, &generated).unwrap();
    db.exec("INSERT INTO users (id, email) VALUES (1, 'a@example.com')").await;
    db.exec("INSERT INTO posts (id, user_id) VALUES (1, 1)").await;
    assert_eq!(run(root, url, &["migrate"]).code, 0);
    assert_eq!(run(root, url, &["diff", "--exit-code"]).code, 0);
    // An applied file edited by hand: make-migrations refuses, and the hint is the way out of that, not "migrate".
    std::fs::write(&file, generated.replace("-- rollback", "SELECT 1;\n-- rollback")).unwrap();
    let out = run(root, url, &["make-migrations", "more"]);
    assert!(out.code == 2 && out.stderr.contains("dbwarden repair"), "{out:?}");
    std::fs::write(&file, &generated).unwrap();
    assert_eq!(run(root, url, &["diff", "--offline", "--exit-code"]).code, 0, "the snapshot follows the models");
    assert_eq!(db.strings("SELECT title FROM posts").await, ["untitled"]);

    // check-db: the live schema as JSON and as SQL.
    let out = run(root, url, &["check-db", "-o", "json"]);
    let json: serde_json::Value = serde_json::from_str(&out.stdout).unwrap_or_else(|e| panic!("{e}: {out:?}"));
    let tables: Vec<&str> = json["tables"].as_array().unwrap().iter().map(|t| t["name"].as_str().unwrap()).collect();
    assert_eq!(tables, ["posts", "users"], "bookkeeping tables are not part of the schema");
    let out = run(root, url, &["check-db", "-o", "sql"]);
    assert!(out.stdout.contains("CREATE TABLE") && out.stdout.contains("ix_posts_title"), "{out:?}");

    // Rolled back, the database is behind the models again.
    assert_eq!(run(root, url, &["rollback"]).code, 0);
    assert_eq!(run(root, url, &["diff", "--exit-code"]).code, 1);
    assert_eq!(db.strings("SELECT email FROM users").await, ["a@example.com"], "data kept");
}

async fn rename_keeps_data(dialect: Dialect) {
    let db = TestDb::new(dialect).await;
    let root = db.dir.path();
    let url = db.url.as_str();
    std::fs::write(root.join("dbwarden.schema.toml"), V1).unwrap();
    assert_eq!(run(root, url, &["make-migrations", "init"]).code, 0);
    assert_eq!(run(root, url, &["migrate"]).code, 0);
    db.exec("INSERT INTO users (id, email, name) VALUES (1, 'a@example.com', 'Ada')").await;

    std::fs::write(root.join("dbwarden.schema.toml"), V1.replace("name = \"name\"", "name = \"full_name\"")).unwrap();
    // Without --rename it is a drop and an add, which the header marks CRITICAL.
    let out = run(root, url, &["make-migrations", "--sql"]);
    assert!(out.stdout.contains("CRITICAL  drop column users.name"), "{out:?}");
    let out = run(root, url, &["check"]);
    assert!(out.code == 1 && out.stdout.contains("CRITICAL is above the ceiling WARN"), "{out:?}");
    assert_eq!(run(root, url, &["check", "--ceiling", "critical"]).code, 0);
    // A --rename naming nothing (a typo) is an error, not a drop and an add.
    let out = run(root, url, &["make-migrations", "rename", "--rename", "users.nmae:full_name"]);
    assert!(out.code == 2 && out.stderr.contains("has no column `users.nmae`"), "{out:?}");
    let out = run(root, url, &["make-migrations", "rename", "--rename", "users.name:fullname"]);
    assert!(out.code == 2 && out.stderr.contains("the models declare no column `users.fullname`"), "{out:?}");
    let out = run(root, url, &["make-migrations", "rename", "--rename", "users.name:full_name"]);
    assert_eq!(out.code, 0, "{out:?}");
    let text = std::fs::read_to_string(root.join("migrations/primary/primary__0002_rename.sql")).unwrap();
    assert!(text.contains("rename column users.name to full_name") && !text.contains("CRITICAL"), "{text}");
    assert_eq!(run(root, url, &["migrate"]).code, 0);
    assert_eq!(db.strings("SELECT full_name FROM users").await, ["Ada"]);
    assert_eq!(run(root, url, &["diff", "--exit-code"]).code, 0);
    assert_eq!(run(root, url, &["rollback"]).code, 0);
    assert_eq!(db.strings("SELECT name FROM users").await, ["Ada"]);

    let out = run(root, url, &["make-migrations", "--rename", "users.name"]);
    assert!(out.code == 2 && out.stderr.contains("table.old_column:new_column"), "{out:?}");
}

/// V1 with `users.nick` added between `email` and `name`: a column in the middle.
fn with_nick() -> String {
    V1.replace(
        "[[table.column]]\nname = \"name\"",
        "[[table.column]]\nname = \"nick\"\ntype = \"String(20)\"\nnullable = false\nserver_default = \"'-'\"\n\n[[table.column]]\nname = \"name\"",
    )
}

/// SQLite drops a table's triggers with it, and checks every view when a table is renamed: a rebuild generated
/// against the live database creates the triggers again and keeps the views working, through the upgrade and the
/// rollback; one generated offline (the snapshot knows no triggers) fails before touching the table, naming it.
#[tokio::test]
async fn sqlite_rebuild_keeps_triggers_and_views() {
    let db = TestDb::new(Dialect::Sqlite).await;
    let root = db.dir.path();
    let url = db.url.as_str();
    std::fs::write(root.join("dbwarden.schema.toml"), V1).unwrap();
    assert_eq!(run(root, url, &["make-migrations", "init"]).code, 0);
    std::fs::write(
        root.join("migrations/primary/primary__0002_touch.sql"),
        "-- upgrade\nCREATE TRIGGER \"users_touch\" AFTER UPDATE OF email ON Users BEGIN\n    UPDATE users SET name = 'touched' WHERE id = new.id;\nEND;\n\
         CREATE VIEW user_emails AS SELECT id, email FROM users;\n\
         -- rollback\nDROP VIEW user_emails;\nDROP TRIGGER users_touch;\n",
    )
    .unwrap();
    assert_eq!(run(root, url, &["migrate"]).code, 0);
    db.exec("INSERT INTO users (id, email, name) VALUES (1, 'a@example.com', 'Ada')").await;

    // A column in the middle, and a wider `name`: SQLite rebuilds the table both ways.
    let v2 = with_nick().replace("String(100)", "String(120)");
    std::fs::write(root.join("dbwarden.schema.toml"), &v2).unwrap();
    let out = run(root, url, &["make-migrations", "nick"]);
    assert_eq!(out.code, 0, "{out:?}");
    let text = std::fs::read_to_string(root.join("migrations/primary/primary__0003_nick.sql")).unwrap();
    let creates = text.lines().filter(|l| l.starts_with("CREATE TRIGGER \"users_touch\"")).count();
    assert_eq!(creates, 2, "upgrade and rollback: {text}");
    let out = run(root, url, &["migrate"]);
    assert_eq!(out.code, 0, "{out:?}");
    let touch = |email: &str| format!("UPDATE users SET email = '{email}' WHERE id = 1");
    let columns = "SELECT name FROM pragma_table_info('users') ORDER BY cid";
    assert_eq!(db.strings(columns).await, ["id", "email", "nick", "name"]);
    db.exec(&touch("b@example.com")).await;
    assert_eq!(db.strings("SELECT name FROM users").await, ["touched"], "the trigger fires after the upgrade");
    assert_eq!(db.strings("SELECT email FROM user_emails").await, ["b@example.com"], "the view reads");

    assert_eq!(run(root, url, &["rollback"]).code, 0);
    assert_eq!(db.strings(columns).await, ["id", "email", "name"]);
    db.exec("UPDATE users SET name = 'Ada'").await;
    db.exec(&touch("c@example.com")).await;
    assert_eq!(db.strings("SELECT name FROM users").await, ["touched"], "the trigger fires after the rollback");
    assert_eq!(db.strings("SELECT email FROM user_emails").await, ["c@example.com"]);

    // Generated offline, the rebuild does not know the trigger: migrate refuses before touching the table.
    assert_eq!(run(root, url, &["migrate"]).code, 0);
    std::fs::write(root.join("dbwarden.schema.toml"), v2.replace("'-'", "'?'")).unwrap();
    let out = run(root, url, &["make-migrations", "--offline", "default"]);
    assert_eq!(out.code, 0, "{out:?}");
    let out = run(root, url, &["migrate"]);
    assert_eq!(out.code, 2, "{out:?}");
    assert!(out.stderr.contains("table \"users\" has other triggers than those"), "{out:?}");
    assert!(out.stderr.contains("generate the migration against this database"), "says what to do: {out:?}");
    assert_eq!(db.strings("SELECT dflt_value FROM pragma_table_info('users') WHERE name = 'nick'").await, ["'-'"]);
    assert_eq!(db.strings("SELECT name FROM sqlite_master WHERE type = 'trigger'").await, ["users_touch"]);
}

/// SQLite drops a table's indexes with it: a rebuild generated against the live database creates the partial and
/// expression indexes (which the schema model does not hold) again from their text, through the upgrade and the
/// rollback (they were lost without a word, a partial unique index's rule with them); one generated offline (the
/// snapshot knows none) fails before touching the table, naming it.
#[tokio::test]
async fn sqlite_rebuild_keeps_partial_and_expression_indexes() {
    let db = TestDb::new(Dialect::Sqlite).await;
    let (root, url) = (db.dir.path(), db.url.as_str());
    db.exec("CREATE TABLE t (id INTEGER PRIMARY KEY, n INT, gone TEXT)").await;
    db.exec("CREATE UNIQUE INDEX ux_live_n ON t (n) WHERE gone IS NULL").await;
    db.exec("CREATE INDEX ix_lower ON t (lower(gone))").await;
    // One the model holds as a plain unique index, with a collation it does not hold.
    db.exec("CREATE UNIQUE INDEX ux_gone ON t (gone COLLATE NOCASE)").await;
    db.exec("INSERT INTO t (id, n, gone) VALUES (1, 1, NULL), (2, 1, 'x')").await;
    let indexes = "SELECT name || ': ' || sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 't' ORDER BY name";
    let before = db.strings(indexes).await;
    assert_eq!(before.len(), 3, "{before:?}");
    let manifest = |default: &str| {
        format!(
            "[[table]]\nname = \"t\"\n[[table.column]]\nname = \"id\"\ntype = \"Integer\"\nprimary_key = true\n\
             [[table.column]]\nname = \"n\"\ntype = \"Integer\"\nnullable = false\nserver_default = \"{default}\"\n\
             [[table.column]]\nname = \"gone\"\ntype = \"Text\"\n\
             [[table.index]]\nname = \"ux_gone\"\ncolumns = [\"gone\"]\nunique = true\n"
        )
    };
    std::fs::write(root.join("dbwarden.schema.toml"), manifest("0")).unwrap();
    let out = run(root, url, &["make-migrations", "n_not_null"]);
    assert_eq!(out.code, 0, "{out:?}");
    let out = run(root, url, &["migrate"]);
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(db.strings(indexes).await, before, "after the upgrade");
    let refused = db.try_exec("INSERT INTO t (id, n, gone) VALUES (3, 1, NULL)").await;
    assert!(refused.is_err(), "the partial unique index still holds");
    let refused = db.try_exec("INSERT INTO t (id, n, gone) VALUES (3, 2, 'X')").await;
    assert!(refused.is_err(), "the unique index still ignores case");
    assert_eq!(run(root, url, &["rollback"]).code, 0);
    assert_eq!(db.strings(indexes).await, before, "after the rollback");

    // Generated offline, the rebuild does not know them: migrate refuses before touching the table.
    assert_eq!(run(root, url, &["migrate"]).code, 0);
    std::fs::write(root.join("dbwarden.schema.toml"), manifest("7")).unwrap();
    let out = run(root, url, &["make-migrations", "--offline", "default"]);
    assert_eq!(out.code, 0, "{out:?}");
    let out = run(root, url, &["migrate"]);
    assert_eq!(out.code, 2, "{out:?}");
    assert!(out.stderr.contains("table \"t\" has other indexes than those"), "{out:?}");
    assert_eq!(db.strings(indexes).await, before, "the table is as it was");

    // A rename in the same migration would make SQLite rewrite the index text: make-migrations refuses the set.
    let newest = files(root).into_iter().rfind(|f| f.ends_with(".sql")).unwrap();
    std::fs::remove_file(root.join("migrations/primary").join(newest)).unwrap();
    let renamed = manifest("7").replace("name = \"n\"\n", "name = \"count\"\nrenamed_from = \"n\"\n");
    std::fs::write(root.join("dbwarden.schema.toml"), renamed).unwrap();
    let files_before = files(root);
    let out = run(root, url, &["make-migrations"]);
    assert_eq!(out.code, 2, "{out:?}");
    assert!(out.stderr.contains("table `t` is rebuilt by this migration, which also renames"), "{out:?}");
    assert!(out.stderr.contains("make the rename a migration of its own"), "{out:?}");
    assert_eq!(files(root), files_before, "nothing written");

    // A column an unmodelled index uses cannot be dropped by the models: refused, naming both.
    let without_gone = manifest("7")
        .replace("[[table.column]]\nname = \"gone\"\ntype = \"Text\"\n", "")
        .replace("[[table.index]]\nname = \"ux_gone\"\ncolumns = [\"gone\"]\nunique = true\n", "");
    assert!(!without_gone.contains("gone"), "{without_gone}");
    std::fs::write(root.join("dbwarden.schema.toml"), without_gone).unwrap();
    let out = run(root, url, &["make-migrations"]);
    assert_eq!(out.code, 2, "{out:?}");
    assert!(out.stderr.contains("table `t`: column `gone` is dropped, but index `"), "{out:?}");
    assert!(out.stderr.contains("hint: the schema model does not hold index"), "{out:?}");
    assert_eq!(files(root), files_before, "nothing written");
}

/// SQLite: the rollback of a dropped table creates it again with its triggers and the indexes the schema model
/// does not hold, as read when the migration was generated (it came back without them).
#[tokio::test]
async fn sqlite_rollback_of_a_drop_brings_back_triggers_and_indexes() {
    let db = TestDb::new(Dialect::Sqlite).await;
    let (root, url) = (db.dir.path(), db.url.as_str());
    db.exec("CREATE TABLE keep (id INTEGER PRIMARY KEY)").await;
    db.exec("CREATE TABLE g (id INTEGER PRIMARY KEY, n INT, gone TEXT)").await;
    db.exec("CREATE UNIQUE INDEX ux_g_n ON g (n) WHERE gone IS NULL").await;
    db.exec("CREATE TRIGGER g_touch AFTER UPDATE ON g BEGIN UPDATE g SET n = n + 1 WHERE id = new.id AND 0; END").await;
    let objects =
        "SELECT type || ' ' || name || ': ' || sql FROM sqlite_master WHERE tbl_name = 'g' AND sql IS NOT NULL \
                   ORDER BY name";
    let before = db.strings(objects).await;
    assert_eq!(before.len(), 3, "{before:?}");
    let keep = "[[table]]\nname = \"keep\"\n[[table.column]]\nname = \"id\"\ntype = \"Integer\"\nprimary_key = true\n";
    std::fs::write(root.join("dbwarden.schema.toml"), keep).unwrap();
    let out = run(root, url, &["make-migrations", "drop_g"]);
    assert!(out.code == 0 && out.stdout.contains("drop table g"), "{out:?}");
    assert_eq!(run(root, url, &["migrate"]).code, 0);
    assert!(db.strings(objects).await.is_empty());
    let out = run(root, url, &["rollback"]);
    assert_eq!(out.code, 0, "{out:?}");
    let after: Vec<String> = db.strings(objects).await;
    // The table's own text is dbwarden's; the index and trigger are as they were.
    assert_eq!(after.len(), 3, "{after:?}");
    assert_eq!(&after[1..], &before[1..], "index and trigger as read");
}

/// A SQLite rebuild that leaves a view or trigger naming a column that is gone fails the migration, naming the
/// view or trigger, and leaves the table as it was (SQLite itself would only fail when the view is next read).
#[tokio::test]
async fn sqlite_rebuild_refuses_to_break_a_view_or_trigger() {
    use dbwarden::generate::{compare, Options};
    for (dependent, named) in [
        ("CREATE VIEW scores AS SELECT name, score FROM players", "error in view scores"),
        (
            "CREATE TRIGGER keep_score AFTER UPDATE ON players BEGIN UPDATE players SET score = 0 WHERE score IS NULL; END",
            "error in trigger keep_score",
        ),
    ] {
        let db = TestDb::new(Dialect::Sqlite).await;
        db.exec("CREATE TABLE players (id INTEGER PRIMARY KEY NOT NULL, name VARCHAR(50) NOT NULL, score INTEGER)")
            .await;
        db.exec(dependent).await;
        db.exec("INSERT INTO players (id, name, score) VALUES (1, 'Kim', 3)").await;
        let (live, dependents) = live_with_dependents(&db).await;
        // `score` dropped and `name` widened: a rebuild.
        let mut models = live.clone();
        models.tables[0].columns.retain(|c| c.name != "score");
        models.tables[0].columns[1].ty = dbwarden::schema::ColumnType::Varchar(80);
        let options = Options { dependents, ..Options::default() };
        let g = compare(Dialect::Sqlite, live, models, &Renames::default()).migration(Dialect::Sqlite, &options).unwrap();
        let dir = common::write_migrations(db.dir.path(), "app", &[("app__0001_drop_score.sql", &g.text)]);
        let err = Migrator::new(Source::dir(&dir)).run(db.url.as_str()).await.unwrap_err().to_string();
        assert!(err.contains(named), "{err}\n{}", g.text);
        assert_eq!(db.strings("SELECT CAST(score AS TEXT) FROM players").await, ["3"], "the table is as it was");
    }
}

/// A SQLite rebuild of a table with generated columns or an `ON CONFLICT` clause (which the schema model does not
/// hold) fails the migration, naming the table and what to do, and leaves the table as it was; it used to drop them
/// without a word. (`make-migrations` refuses to write such a migration: `sqlite_make_refuses_rebuilds_that_lose`.)
#[tokio::test]
async fn sqlite_rebuild_refuses_to_lose_generated_columns() {
    use dbwarden::generate::{compare, Options};
    let generated = "has generated columns";
    let conflict = "has an ON CONFLICT clause";
    for (definition, columns, message) in [
        ("twice INT AS (n * 2) STORED", 2, generated),
        ("label TEXT GENERATED ALWAYS AS ('n=' || n) VIRTUAL", 2, generated),
        ("u TEXT UNIQUE ON CONFLICT REPLACE", 3, conflict),
        ("u TEXT,\n CONSTRAINT uq UNIQUE (u)\tON\nCONFLICT IGNORE", 3, conflict),
        ("u TEXT,\n CONSTRAINT uq UNIQUE (u)ON  \n   CONFLICT IGNORE", 3, conflict),
    ] {
        let db = TestDb::new(Dialect::Sqlite).await;
        db.exec(&format!("CREATE TABLE g (id INTEGER PRIMARY KEY, n INT, {definition})")).await;
        db.exec("INSERT INTO g (id, n) VALUES (1, 3)").await;
        let live = live_with_dependents(&db).await.0;
        assert_eq!(live.tables[0].columns.len(), columns, "generated columns are not in the model: {live:?}");
        let before = db.strings("SELECT sql FROM sqlite_master WHERE name = 'g'").await;
        // `n` made NOT NULL with a default: a rebuild.
        let mut models = live.clone();
        models.tables[0].columns[1].nullable = false;
        models.tables[0].columns[1].default = Some("0".into());
        let g = compare(Dialect::Sqlite, live, models, &Renames::default())
            .migration(Dialect::Sqlite, &Options::default())
            .unwrap();
        let dir = common::write_migrations(db.dir.path(), "app", &[("app__0001_n.sql", &g.text)]);
        let err = Migrator::new(Source::dir(&dir)).run(db.url.as_str()).await.unwrap_err().to_string();
        assert!(err.contains(&format!("table \"g\" {message}")), "{err}\n{}", g.text);
        let what_to_do = if message == generated { "drop the VIRTUAL ones before the migration" } else { "by hand" };
        assert!(err.contains(what_to_do), "says what to do: {err}");
        let after = db.strings("SELECT sql FROM sqlite_master WHERE name = 'g'").await;
        assert_eq!(after, before, "{definition}: the table is as it was");
        assert_eq!(db.strings("SELECT CAST(n AS TEXT) FROM g").await, ["3"]);
    }
}

/// `make-migrations` (and `diff`, `check`) refuse a change that rebuilds a SQLite table with generated columns or an
/// `ON CONFLICT` clause, naming the table, what would be lost and what to do, and write nothing; a change that
/// needs no rebuild (a new column) is made.
#[tokio::test]
async fn sqlite_make_refuses_rebuilds_that_lose() {
    for (definition, what) in [
        ("twice INT AS (n * 2) VIRTUAL", "generated columns"),
        ("u TEXT NOT NULL ON CONFLICT REPLACE DEFAULT ''", "an ON CONFLICT clause"),
    ] {
        let db = TestDb::new(Dialect::Sqlite).await;
        let root = db.dir.path();
        db.exec(&format!("CREATE TABLE g (id INTEGER PRIMARY KEY, n INT, {definition})")).await;
        let manifest = |n: &str, more: &str| {
            let u = if what.contains("CONFLICT") {
                "[[table.column]]\nname = \"u\"\ntype = \"Text\"\nnullable = false\nserver_default = \"''\"\n"
            } else {
                ""
            };
            format!(
                "[[table]]\nname = \"g\"\n[[table.column]]\nname = \"id\"\ntype = \"Integer\"\nprimary_key = true\n\
                 [[table.column]]\nname = \"n\"\ntype = \"Integer\"\n{n}{u}{more}"
            )
        };
        std::fs::write(root.join("dbwarden.schema.toml"), manifest("", "")).unwrap();
        assert_eq!(run(root, &db.url, &["diff", "--exit-code"]).code, 0, "{what}: the models match");
        // `n` made NOT NULL: a rebuild.
        std::fs::write(root.join("dbwarden.schema.toml"), manifest("nullable = false\nserver_default = \"0\"\n", ""))
            .unwrap();
        for args in [&["make-migrations"][..], &["diff"], &["check"]] {
            let out = run(root, &db.url, args);
            assert_eq!(out.code, 2, "{args:?}: {out:?}");
            assert!(out.stderr.contains(&format!("table `g` has {what}, which dbwarden does not model")), "{out:?}");
            assert!(out.stderr.contains("hint:") && out.stderr.contains("dbwarden new"), "{out:?}");
        }
        assert!(files(root).is_empty(), "nothing written");
        // A new column is an ALTER TABLE: no rebuild, nothing lost.
        let added = "[[table.column]]\nname = \"extra\"\ntype = \"Integer\"\n";
        std::fs::write(root.join("dbwarden.schema.toml"), manifest("", added)).unwrap();
        assert_eq!(run(root, &db.url, &["make-migrations", "extra"]).code, 0, "{what}");
        assert_eq!(run(root, &db.url, &["migrate"]).code, 0, "{what}");
        let sql = db.strings("SELECT sql FROM sqlite_master WHERE name = 'g'").await.concat();
        assert!(sql.contains("AS (n * 2)") || sql.contains("ON CONFLICT REPLACE"), "kept: {sql}");
    }
}

/// A migration generated where a table has `AUTOINCREMENT`, which takes it away, runs on a database built without
/// it, where `sqlite_sequence` (which it keeps the counter in) does not exist.
#[tokio::test]
async fn sqlite_counter_kept_where_no_table_ever_had_one() {
    use dbwarden::generate::{compare, Options};
    use dbwarden::schema::{ColumnType, TableOption};
    let db = TestDb::new(Dialect::Sqlite).await;
    db.exec("CREATE TABLE counter (id INTEGER PRIMARY KEY, name TEXT)").await;
    let mut generated_against = live_with_dependents(&db).await.0;
    generated_against.tables[0].options = vec![TableOption::Autoincrement];
    let mut models = generated_against.clone();
    models.tables[0].options.clear(); // models declare none
    models.tables[0].columns[0].ty = ColumnType::Text;
    models.tables[0].columns[0].auto_increment = false;
    let g = compare(Dialect::Sqlite, generated_against, models, &Renames::default())
        .migration(Dialect::Sqlite, &Options::default())
        .unwrap();
    assert!(g.text.contains("AUTOINCREMENT -> none"), "{}", g.text);
    let dir = common::write_migrations(db.dir.path(), "app", &[("app__0001_text_key.sql", &g.text)]);
    let m = Migrator::new(Source::dir(&dir));
    m.run(db.url.as_str()).await.unwrap_or_else(|e| panic!("{e}\n{}", g.text));
    m.rollback(db.url.as_str(), dbwarden::RollbackTo::Count(1)).await.unwrap_or_else(|e| panic!("{e}\n{}", g.text));
    let sql = db.strings("SELECT sql FROM sqlite_master WHERE name = 'counter'").await.concat();
    assert!(sql.contains("AUTOINCREMENT"), "{sql}");
}

/// A SQLite rebuild that leaves rows pointing at no row (here: a foreign key added over orphans) fails the
/// migration naming both tables and the pragma that lists the rows, and leaves the tables as they were.
#[tokio::test]
async fn sqlite_rebuild_names_the_foreign_key_it_would_break() {
    use dbwarden::generate::{compare, Options};
    let db = TestDb::new(Dialect::Sqlite).await;
    db.exec("CREATE TABLE users (id INTEGER PRIMARY KEY NOT NULL)").await;
    db.exec("CREATE TABLE posts (id INTEGER PRIMARY KEY NOT NULL, user_id BIGINT NOT NULL)").await;
    db.exec("INSERT INTO users (id) VALUES (1)").await;
    db.exec("INSERT INTO posts (id, user_id) VALUES (1, 1), (2, 7)").await;
    let live = live_with_dependents(&db).await.0;
    let mut models = live.clone();
    let posts = models.tables.iter_mut().find(|t| t.name == "posts").unwrap();
    posts.foreign_keys.push(dbwarden::schema::ForeignKey {
        name: "fk_posts_user".into(),
        columns: vec!["user_id".into()],
        ref_table: "users".into(),
        ref_columns: vec!["id".into()],
        on_delete: Default::default(),
        on_update: Default::default(),
    });
    let g = compare(Dialect::Sqlite, live, models, &Renames::default()).migration(Dialect::Sqlite, &Options::default());
    let g = g.unwrap();
    let dir = common::write_migrations(db.dir.path(), "app", &[("app__0001_fk.sql", &g.text)]);
    let err = Migrator::new(Source::dir(&dir)).run(db.url.as_str()).await.unwrap_err().to_string();
    assert!(err.contains("rows of table \"posts\" point at no row of table \"users\""), "{err}\n{}", g.text);
    assert!(err.contains("PRAGMA foreign_key_check('posts') lists them"), "{err}");
    assert_eq!(db.strings("SELECT CAST(COUNT(*) AS TEXT) FROM pragma_foreign_key_list('posts')").await, ["0"]);
    assert_eq!(db.strings("SELECT CAST(user_id AS TEXT) FROM posts ORDER BY id").await, ["1", "7"], "rows kept");
    // Only the session's PRAGMA ran outside the rolled back transaction: nothing is recorded, nothing to repair.
    assert!(!err.contains("stayed applied"), "{err}");
    assert!(db.strings("SELECT filename FROM _dbwarden_migrations").await.is_empty());
    db.exec("DELETE FROM posts WHERE user_id = 7").await;
    Migrator::new(Source::dir(&dir)).run(db.url.as_str()).await.unwrap();
    assert_eq!(db.strings("SELECT CAST(COUNT(*) AS TEXT) FROM pragma_foreign_key_list('posts')").await, ["1"]);
}

/// `column_order = "exact"` on PostgreSQL: a column added in the middle is created there by rebuilding the table,
/// which keeps the rows, the identity sequence (name and position) and the foreign key pointing at it; a trigger on
/// the table makes the migration refuse, naming it, and leave the table as it was.
#[tokio::test]
async fn postgres_exact_column_order_rebuilds_and_refuses_to_lose_a_trigger() {
    let db = TestDb::new(Dialect::Postgres).await;
    let root = db.dir.path();
    let url = db.url.as_str();
    std::fs::write(
        root.join("dbwarden.toml"),
        format!("[[database]]\nname = \"primary\"\nurl = \"{url}\"\ncolumn_order = \"exact\"\n"),
    )
    .unwrap();
    std::fs::write(root.join("dbwarden.schema.toml"), V1).unwrap();
    assert_eq!(cli(root, &["make-migrations", "init"]).code, 0);
    assert_eq!(cli(root, &["migrate"]).code, 0);
    db.exec("INSERT INTO users (email, name) VALUES ('a@example.com', 'Ada'), ('b@example.com', 'Bo')").await;
    db.exec("INSERT INTO posts (id, user_id) VALUES (1, 2)").await;
    db.exec(
        "CREATE FUNCTION touch() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$; \
         CREATE TRIGGER users_touch BEFORE UPDATE ON users FOR EACH ROW EXECUTE FUNCTION touch(); \
         ALTER TABLE users ALTER COLUMN name SET STATISTICS 500",
    )
    .await;

    std::fs::write(root.join("dbwarden.schema.toml"), with_nick()).unwrap();
    assert_eq!(cli(root, &["make-migrations", "nick"]).code, 0);
    let out = cli(root, &["migrate"]);
    assert_eq!(out.code, 2, "{out:?}");
    assert!(out.stderr.contains("would lose: trigger users_touch") && out.stderr.contains("column_order"), "{out:?}");
    assert!(out.stderr.contains("options of column name"), "a statistics target it does not model: {out:?}");
    let columns = "SELECT CAST(column_name AS TEXT) FROM information_schema.columns WHERE table_name = 'users' \
                   ORDER BY ordinal_position";
    assert_eq!(db.strings(columns).await, ["id", "email", "name"], "the failed migration left the table as it was");

    db.exec("DROP TRIGGER users_touch ON users; ALTER TABLE users ALTER COLUMN name SET STATISTICS -1").await;
    let out = cli(root, &["migrate"]);
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(db.strings(columns).await, ["id", "email", "nick", "name"]);
    assert_eq!(cli(root, &["diff", "--exit-code"]).code, 0);
    db.exec("INSERT INTO users (email) VALUES ('c@example.com')").await;
    assert_eq!(
        db.strings("SELECT CAST(id AS TEXT) || ' ' || nick FROM users ORDER BY id").await,
        ["1 -", "2 -", "3 -"]
    );
    let sequence = db.strings("SELECT pg_get_serial_sequence('users', 'id')").await;
    assert_eq!(sequence, ["public.users_id_seq"], "the identity keeps its sequence's name");
    assert_eq!(
        db.strings(
            "SELECT CAST(confrelid::regclass AS TEXT) FROM pg_constraint WHERE conname = 'fk_posts_user_id_users'"
        )
        .await,
        ["users"],
        "the foreign key pointing at the table is back"
    );

    assert_eq!(cli(root, &["rollback"]).code, 0);
    assert_eq!(db.strings(columns).await, ["id", "email", "name"]);
    assert_eq!(
        db.strings("SELECT email FROM users ORDER BY id").await,
        ["a@example.com", "b@example.com", "c@example.com"]
    );
}

macro_rules! per_backend {
    ($($name:ident),*) => {
        mod sqlite { $( #[tokio::test] async fn $name() { super::$name(dbwarden::Dialect::Sqlite).await } )* }
        mod postgres { $( #[tokio::test] async fn $name() { super::$name(dbwarden::Dialect::Postgres).await } )* }
        mod mariadb { $( #[tokio::test] async fn $name() { super::$name(dbwarden::Dialect::MySql).await } )* }
    };
}

per_backend!(
    workflow,
    rename_keeps_data,
    not_null_column_without_default_fails_on_rows,
    renames_spelled_otherwise,
    unknown_collations_are_refused,
    fewer_fractional_digits_are_critical,
    checks_on_columns_the_server_changes,
    defaults_the_server_prints_otherwise_converge,
    line_breaks_in_comments_and_defaults,
    a_varchar_longer_than_the_server_takes
);

/// `String(100000)`: MySQL takes no VARCHAR that long, so make-migrations refuses it, naming the column and its
/// limit (it was written, and failed at migrate after the statements before it committed); PostgreSQL and SQLite
/// take it.
async fn a_varchar_longer_than_the_server_takes(dialect: Dialect) {
    let db = TestDb::new(dialect).await;
    let (root, url) = (db.dir.path(), db.url.as_str());
    let manifest =
        "[[table]]\nname = \"big\"\n[[table.column]]\nname = \"id\"\ntype = \"Integer\"\nprimary_key = true\n\
                    [[table.column]]\nname = \"body\"\ntype = \"String(100000)\"\n";
    std::fs::write(root.join("dbwarden.schema.toml"), manifest).unwrap();
    let out = run(root, url, &["make-migrations", "big"]);
    if dialect == Dialect::MySql {
        assert!(
            out.code == 2
                && out.stderr.contains("column `body`: VARCHAR(100000) is longer than mysql takes (at most 65535)"),
            "{out:?}"
        );
        assert!(files(root).is_empty(), "nothing written");
    } else {
        assert_eq!(out.code, 0, "{dialect}: {out:?}");
        let out = run(root, url, &["migrate"]);
        assert_eq!(out.code, 0, "{dialect}: {out:?}");
    }
}

/// A comment or default holding a line break is quoted in the step list of the file's header on one line (it
/// split the header, and every command then stopped on the file); the migration applies and converges.
async fn line_breaks_in_comments_and_defaults(dialect: Dialect) {
    let db = TestDb::new(dialect).await;
    let (root, url) = (db.dir.path(), db.url.as_str());
    let manifest = |comment: &str, default: &str| {
        format!(
            "[[table]]\nname = \"notes\"\n[[table.column]]\nname = \"id\"\ntype = \"Integer\"\nprimary_key = true\n\
             [[table.column]]\nname = \"body\"\ntype = \"String(40)\"\ncomment = \"{comment}\"\nserver_default = \"{default}\"\n"
        )
    };
    std::fs::write(root.join("dbwarden.schema.toml"), manifest("first\\nline", "'a\\nb'")).unwrap();
    assert_eq!(run(root, url, &["make-migrations", "v1"]).code, 0);
    assert_eq!(run(root, url, &["migrate"]).code, 0);
    std::fs::write(root.join("dbwarden.schema.toml"), manifest("second\\nline 'quoted'", "'c\\nd'")).unwrap();
    let out = run(root, url, &["make-migrations", "v2"]);
    assert_eq!(out.code, 0, "{dialect}: {out:?}");
    let out = run(root, url, &["migrate"]);
    assert_eq!(out.code, 0, "{dialect}: the file reads: {out:?}");
    assert_eq!(run(root, url, &["diff", "--exit-code"]).code, 0, "{dialect}");
    assert_eq!(run(root, url, &["rollback"]).code, 0, "{dialect}");
}

/// Defaults the server stores otherwise than written (MariaDB: `lcase` for `lower`, lower-case names, no space after
/// a comma, `\n` for a line break, a number given to a text column quoted; PostgreSQL: a cast added to a literal)
/// are no difference once applied: `diff` finds nothing, `make-migrations` writes nothing (it wrote an ALTER every
/// time).
async fn defaults_the_server_prints_otherwise_converge(dialect: Dialect) {
    let db = TestDb::new(dialect).await;
    let (root, url) = (db.dir.path(), db.url.as_str());
    let mut columns = vec![
        ("low", "type = \"String(20)\"\nserver_default = \"lower('ABC')\""),
        ("up", "type = \"String(20)\"\nserver_default = \"UPPER('x')\""),
        ("n", "type = \"Integer\"\nserver_default = \"ABS(-3)\""),
        ("lines", "type = \"String(20)\"\nserver_default = \"'multi\\nline'\""),
        ("code", "type = \"String(5)\"\nserver_default = 5"),
    ];
    match dialect {
        Dialect::MySql => {
            columns.push(("joined", "type = \"String(20)\"\nserver_default = \"concat('a', 'b')\""));
            columns.push(("at", "sql_type = \"DATETIME(3)\"\nserver_default = \"CURRENT_TIMESTAMP(3)\""));
        }
        Dialect::Postgres => columns.push(("tags", "sql_type = \"TEXT[]\"\nserver_default = \"'{}'\"")),
        Dialect::Sqlite => {}
    }
    let mut manifest =
        "[[table]]\nname = \"d\"\n[[table.column]]\nname = \"id\"\ntype = \"Integer\"\nprimary_key = true\n"
            .to_string();
    for (name, spec) in &columns {
        manifest += &format!("[[table.column]]\nname = \"{name}\"\n{spec}\n");
    }
    std::fs::write(root.join("dbwarden.schema.toml"), manifest).unwrap();
    let out = run(root, url, &["make-migrations", "defaults"]);
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(run(root, url, &["migrate"]).code, 0);
    let out = run(root, url, &["diff", "--exit-code"]);
    assert_eq!(out.code, 0, "{dialect}: converged: {out:?}");
    let out = run(root, url, &["make-migrations"]);
    let sql_files = files(root).into_iter().filter(|f| f.ends_with(".sql")).count();
    assert!(out.code == 0 && sql_files == 1, "{dialect}: nothing more to write: {out:?}");
    db.exec("INSERT INTO d (id) VALUES (1)").await;
    let sql = if dialect == Dialect::MySql {
        "SELECT CONCAT(low, '|', code) FROM d"
    } else {
        "SELECT low || '|' || code FROM d"
    };
    assert_eq!(db.strings(sql).await, ["abc|5"], "{dialect}: the defaults as written");
}

/// MariaDB refuses a CHECK naming an auto-increment column or a column of a foreign key with ON DELETE/ON UPDATE
/// actions ("cannot be used in the CHECK clause"), after the statements before it committed: make-migrations
/// refuses such models there, naming the table, check and column, and writes nothing; PostgreSQL and SQLite take
/// them.
async fn checks_on_columns_the_server_changes(dialect: Dialect) {
    let db = TestDb::new(dialect).await;
    let (root, url) = (db.dir.path(), db.url.as_str());
    let parent =
        "[[table]]\nname = \"parent\"\n[[table.column]]\nname = \"id\"\ntype = \"Integer\"\nprimary_key = true\n";
    let child = |check: &str| {
        format!(
            "[[table]]\nname = \"child\"\n[[table.column]]\nname = \"id\"\ntype = \"Integer\"\nprimary_key = true\n\
             [[table.column]]\nname = \"pid\"\ntype = \"Integer\"\nforeign_key = \"parent.id\"\non_delete = \"SET NULL\"\n\
             [[table.column]]\nname = \"qty\"\ntype = \"Integer\"\n\
             [[table.check]]\nname = \"c\"\nexpr = \"{check}\"\n"
        )
    };
    for (check, column, why) in [
        ("\\\"pid\\\" > 0 OR qty IS NULL", "pid", "a column of foreign key `fk_child_pid_parent`"),
        ("qty >= 0 AND id > 0", "id", "an auto-increment column"),
    ] {
        std::fs::write(root.join("dbwarden.schema.toml"), format!("{parent}{}", child(check))).unwrap();
        let out = run(root, url, &["make-migrations"]);
        if dialect != Dialect::MySql {
            assert_eq!(out.code, 0, "{dialect}: {out:?}");
            assert_eq!(run(root, url, &["migrate"]).code, 0);
            assert_eq!(run(root, url, &["rollback"]).code, 0);
            std::fs::remove_dir_all(root.join("migrations")).unwrap();
            continue;
        }
        assert_eq!(out.code, 2, "{out:?}");
        let named = format!("table `child`: check `ck_child_c` names column `{column}`, {why}");
        assert!(out.stderr.contains(&named) && out.stderr.contains("refuses such a check"), "{out:?}");
        assert!(out.stderr.contains("hint:"), "{out:?}");
        assert!(files(root).is_empty(), "nothing written");
    }
    // A check on the other columns is taken everywhere.
    std::fs::write(root.join("dbwarden.schema.toml"), format!("{parent}{}", child("qty >= 0"))).unwrap();
    assert_eq!(run(root, url, &["make-migrations"]).code, 0);
    assert_eq!(run(root, url, &["migrate"]).code, 0, "{dialect}");
}

/// A timestamp or time given fewer digits of a second's fraction (`DateTime` to `TIMESTAMP(0)` / `DATETIME`) is
/// CRITICAL ("rounds or cuts existing values"): PostgreSQL rounds 23:59:59.7 into the next year, MariaDB cuts it;
/// `check` says so (exit 1 above WARN). SQLite keeps values as they are: no loss there.
async fn fewer_fractional_digits_are_critical(dialect: Dialect) {
    let db = TestDb::new(dialect).await;
    let (root, url) = (db.dir.path(), db.url.as_str());
    let manifest = |extra: &str| {
        format!(
            "[[table]]\nname = \"ev\"\n[[table.column]]\nname = \"id\"\ntype = \"Integer\"\nprimary_key = true\n\
             [[table.column]]\nname = \"at\"\n{extra}"
        )
    };
    std::fs::write(root.join("dbwarden.schema.toml"), manifest("type = \"DateTime\"\n")).unwrap();
    assert_eq!(run(root, url, &["make-migrations", "v1"]).code, 0);
    assert_eq!(run(root, url, &["migrate"]).code, 0);
    db.exec("INSERT INTO ev (id, at) VALUES (1, '2024-12-31 23:59:59.7')").await;
    let whole_seconds = match dialect {
        Dialect::Postgres => "sql_type = \"TIMESTAMP(0)\"\n",
        Dialect::MySql => "sql_type = \"DATETIME\"\n",
        Dialect::Sqlite => "sql_type = \"DATETIME\"\n",
    };
    std::fs::write(root.join("dbwarden.schema.toml"), manifest(whole_seconds)).unwrap();
    let out = run(root, url, &["check"]);
    let rounds = out.stdout.contains("CRITICAL")
        && out.stdout.contains("alter column ev.at")
        && out.stdout.contains("): rounds or cuts existing values");
    if dialect == Dialect::Sqlite {
        assert!(!rounds && out.code == 0, "{out:?}");
        return;
    }
    assert!(rounds && out.code == 1, "{dialect}: {out:?}");
    let out = run(root, url, &["make-migrations", "whole_seconds"]);
    assert!(out.code == 0 && out.stdout.contains("CRITICAL") && out.stdout.contains("rounds or cuts"), "{out:?}");
    assert_eq!(run(root, url, &["migrate"]).code, 0);
    let cast = if dialect == Dialect::MySql { "CAST(at AS CHAR)" } else { "CAST(at AS TEXT)" };
    let after = db.strings(&format!("SELECT {cast} FROM ev")).await;
    let expected = if dialect == Dialect::Postgres { "2025-01-01 00:00:00" } else { "2024-12-31 23:59:59" };
    assert_eq!(after, [expected], "what CRITICAL warned of");
}

/// Where the database compares names without case (SQLite's, MySQL's columns), a `renamed_from` spelled otherwise
/// than the database's name renames that name (it was a drop and an add: the values lost), and a rename onto
/// another spelling of a column the models drop is refused like one onto the same spelling (it was written, and
/// failed at migrate). On PostgreSQL `MAIL` is not `mail`: there the first stays a drop and an add.
async fn renames_spelled_otherwise(dialect: Dialect) {
    let db = TestDb::new(dialect).await;
    let (root, url) = (db.dir.path(), db.url.as_str());
    let table = |columns: &[(&str, &str)]| {
        let mut t =
            "[[table]]\nname = \"t\"\n[[table.column]]\nname = \"id\"\ntype = \"BigInteger\"\nprimary_key = true\n"
                .to_string();
        for (c, extra) in columns {
            t.push_str(&format!("[[table.column]]\nname = \"{c}\"\ntype = \"String(20)\"\n{extra}"));
        }
        t
    };
    std::fs::write(root.join("dbwarden.schema.toml"), table(&[("mail", ""), ("old", "")])).unwrap();
    assert_eq!(run(root, url, &["make-migrations", "v1"]).code, 0);
    assert_eq!(run(root, url, &["migrate"]).code, 0);
    db.exec("INSERT INTO t (id, mail, old) VALUES (1, 'a@b', 'x')").await;

    std::fs::write(root.join("dbwarden.schema.toml"), table(&[("email", "renamed_from = \"MAIL\"\n"), ("old", "")]))
        .unwrap();
    let out = run(root, url, &["make-migrations", "email"]);
    assert_eq!(out.code, 0, "{out:?}");
    if dialect == Dialect::Postgres {
        assert!(out.stdout.contains("drop column t.mail"), "two names on PostgreSQL: {out:?}");
        return;
    }
    assert!(out.stdout.contains("rename column t.mail to email") && !out.stdout.contains("drop"), "{out:?}");
    assert_eq!(run(root, url, &["migrate"]).code, 0);
    assert_eq!(db.strings("SELECT email FROM t").await, ["a@b"], "the values stay");

    let before = files(root);
    std::fs::write(root.join("dbwarden.schema.toml"), table(&[("EMAIL", "renamed_from = \"old\"\n")])).unwrap();
    let out = run(root, url, &["make-migrations"]);
    assert_eq!(out.code, 2, "{out:?}");
    assert!(out.stderr.contains("column `t`.`old` is renamed to `EMAIL`") && out.stderr.contains("already"), "{out:?}");
    assert_eq!(files(root), before, "nothing written");
}

#[test]
fn without_database_or_snapshot_it_says_what_to_do() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    // No models at all.
    let out = cli(root, &["make-migrations"]);
    assert!(out.code == 2 && out.stderr.contains("no models for database `primary`"), "{out:?}");
    assert!(out.stderr.contains("and there is no dbwarden.schema.toml"), "{out:?}");
    assert!(out.stderr.contains("hint:"), "{out:?}");
    // A manifest named with --schema that does not exist says so.
    let out = cli(root, &["--schema", "nope.toml", "diff"]);
    assert!(out.code == 2 && out.stderr.contains("nope.toml: no such schema manifest"), "{out:?}");
    // A table of a database the config does not declare is an error, not left out without a word.
    std::fs::write(
        root.join("dbwarden.schema.toml"),
        V1.replacen("name = \"posts\"", "name = \"posts\"\ndatabase = \"primry\"", 1),
    )
    .unwrap();
    let out = cli(root, &["make-migrations"]);
    assert_eq!(out.code, 2, "{out:?}");
    assert!(
        out.stderr.contains("table `posts` belongs to database `primry`") && out.stderr.contains("(it has: primary)"),
        "{out:?}"
    );
    assert!(out.stderr.contains("dbwarden.schema.toml:"), "names the manifest line: {out:?}");
    assert!(!root.join("migrations/primary").exists(), "nothing written");

    // Offline, with no migrations yet: the empty schema is the baseline.
    std::fs::write(root.join("dbwarden.schema.toml"), V1).unwrap();
    let out = cli(root, &["make-migrations", "init"]);
    assert_eq!(out.code, 0, "{out:?}");
    assert!(!root.join("app.db").exists(), "make-migrations never creates the database");

    // A hand-written migration after the snapshot: offline, the snapshot cannot vouch for it.
    assert_eq!(cli(root, &["new", "by", "hand"]).code, 0);
    let out = cli(root, &["make-migrations"]);
    assert_eq!(out.code, 2, "{out:?}");
    assert!(out.stderr.contains("primary__0002_by_hand.sql was not written by make-migrations"), "{out:?}");
    assert!(out.stderr.contains("dbwarden migrate"), "the hint says what to do: {out:?}");

    // Applied to a database, the live schema is the baseline again and the snapshot is refreshed.
    assert_eq!(cli(root, &["migrate"]).code, 0);
    let out = cli(root, &["make-migrations"]);
    assert!(out.code == 0 && out.stdout.contains("no changes"), "{out:?}");

    // Without models, diff refuses rather than reading every table as dropped.
    std::fs::rename(root.join("dbwarden.schema.toml"), root.join("models.toml")).unwrap();
    let out = cli(root, &["diff", "--exit-code"]);
    assert!(out.code == 2 && out.stderr.contains("no models"), "{out:?}");
    std::fs::rename(root.join("models.toml"), root.join("dbwarden.schema.toml")).unwrap();

    // The snapshot vouches for exactly the files it was written with: removing them all is noticed offline.
    let dir = root.join("migrations/primary");
    let kept = tempfile::tempdir().unwrap();
    for f in ["primary__0001_init.sql", "primary__0002_by_hand.sql"] {
        std::fs::rename(dir.join(f), kept.path().join(f)).unwrap();
    }
    let out = cli(root, &["make-migrations", "--offline"]);
    assert!(out.code == 2 && out.stderr.contains("no migration files any more"), "{out:?}");
    // Editing a covered file is noticed too.
    std::fs::rename(kept.path().join("primary__0001_init.sql"), dir.join("primary__0001_init.sql")).unwrap();
    std::fs::rename(kept.path().join("primary__0002_by_hand.sql"), dir.join("primary__0002_by_hand.sql")).unwrap();
    assert_eq!(cli(root, &["make-migrations", "--offline"]).code, 0, "restored: in step again");
    let hand = dir.join("primary__0002_by_hand.sql");
    std::fs::write(&hand, std::fs::read_to_string(&hand).unwrap().replace("-- rollback", "SELECT 1;\n-- rollback"))
        .unwrap();
    let out = cli(root, &["make-migrations", "--offline"]);
    assert!(out.code == 2 && out.stderr.contains("edited, added or removed"), "{out:?}");

    // A broken manifest names its file and line.
    std::fs::write(
        root.join("dbwarden.schema.toml"),
        "[[table]]\nname = \"t\"\n[[table.column]]\nname = \"a\"\ntype = \"Integr\"\n",
    )
    .unwrap();
    let out = cli(root, &["diff"]);
    assert!(out.code == 2 && out.stderr.contains("dbwarden.schema.toml:5"), "{out:?}");
}

/// Models linked into the binary (the `cargo run --example generate` path), in their own database name.
#[allow(dead_code)]
mod linked {
    #[derive(dbwarden::Table)]
    #[dbwarden(name = "accounts", database = "linked")]
    pub struct Account {
        #[dbwarden(primary_key)]
        pub id: i64,
        #[dbwarden(length = 80, unique)]
        pub handle: String,
        pub created_at: chrono::NaiveDateTime,
    }
}

#[tokio::test]
async fn derived_models_linked_into_the_binary_generate_on_every_backend() {
    for dialect in ALL {
        let db = TestDb::new(dialect).await;
        let root = db.dir.path();
        let out = run(root, &db.url, &["make-migrations", "-d", "linked"]);
        assert_eq!(out.code, 0, "{dialect}: {out:?}");
        let dir = root.join("migrations/linked");
        assert!(dir.join("linked__0001_create_table_accounts.sql").exists(), "{dialect}: {out:?}");
        assert_eq!(run(root, &db.url, &["migrate", "-d", "linked"]).code, 0);
        let out = run(root, &db.url, &["diff", "-d", "linked", "--exit-code"]);
        assert_eq!(out.code, 0, "{dialect}: {out:?}");
    }
}

dbwarden::schema_manifest!("tests/fixtures/manifest/compiled.schema.toml");

#[tokio::test]
async fn a_manifest_compiled_in_registers_beside_the_derives() {
    let tags: Vec<_> = dbwarden::models::registered().into_iter().filter(|m| m.table.name == "tags").collect();
    assert_eq!(tags.len(), 1);
    assert_eq!(tags[0].database.as_deref(), Some("compiled_manifest"));
    assert!(tags[0].origin.starts_with("tests/fixtures/manifest/compiled.schema.toml:"), "{}", tags[0].origin);
    let db = TestDb::new(Dialect::Sqlite).await;
    let out = run(db.dir.path(), &db.url, &["make-migrations", "-d", "compiled_manifest"]);
    assert_eq!(out.code, 0, "{out:?}");
    let text = std::fs::read_to_string(
        db.dir.path().join("migrations/compiled_manifest/compiled_manifest__0001_create_table_tags.sql"),
    )
    .unwrap();
    assert!(text.contains("\"label\" VARCHAR(40) NOT NULL"), "{text}");
}

#[tokio::test]
async fn migrate_stops_before_a_migration_above_the_ceiling() {
    for dialect in ALL {
        let db = TestDb::new(dialect).await;
        let root = db.dir.path();
        let url = db.url.as_str();
        std::fs::write(root.join("dbwarden.schema.toml"), V1).unwrap();
        assert_eq!(run(root, url, &["make-migrations", "init"]).code, 0);
        // A hand-written, data-losing migration, then a harmless one.
        let dir = root.join("migrations/primary");
        std::fs::write(dir.join("primary__0002_drop_names.sql"), "-- upgrade\nALTER TABLE users DROP COLUMN name;\n-- rollback\nALTER TABLE users ADD COLUMN name VARCHAR(100);\n").unwrap();
        std::fs::write(
            dir.join("primary__0003_later.sql"),
            "-- upgrade\nCREATE TABLE later (id INTEGER PRIMARY KEY);\n-- rollback\nDROP TABLE later;\n",
        )
        .unwrap();

        let out = run(root, url, &["migrate", "--ceiling", "warn"]);
        assert_eq!(out.code, 3, "{dialect}: {out:?}");
        assert!(out.stdout.contains("applied primary__0001_init.sql"), "{dialect}: {out:?}");
        assert!(
            out.stdout.contains("stopped before primary__0002_drop_names.sql: it is CRITICAL"),
            "{dialect}: {out:?}"
        );
        let status = run(root, url, &["--json", "status"]).json();
        assert_eq!((status["applied"].as_u64(), status["pending"].as_u64()), (Some(1), Some(2)), "{dialect}");

        // Nothing applicable below the ceiling: still exit 3, nothing applied, and the database is in the report.
        let out = run(root, url, &["migrate", "--ceiling", "warn"]);
        assert!(out.code == 3 && !out.stdout.contains("up to date"), "{dialect}: {out:?}");
        let out = run(root, url, &["--json", "migrate", "--ceiling", "warn"]);
        assert_eq!(out.code, 3, "{dialect}: {out:?}");
        let json = out.json();
        assert_eq!(json["databases"][0]["database"], "primary", "{dialect}: {json}");
        assert_eq!(json["databases"][0]["steps"].as_array().map(Vec::len), Some(0), "{dialect}: {json}");
        assert!(json["stopped"][0].as_str().unwrap().contains("stopped before primary__0002"), "{dialect}: {json}");
        // A target that stops short of the dangerous file holds nothing back: exit 0.
        let out = run(root, url, &["migrate", "--ceiling", "warn", "--to-version", "1"]);
        assert_eq!(out.code, 0, "{dialect}: {out:?}");
        // Said on purpose, it goes through.
        let out = run(root, url, &["migrate", "--ceiling", "critical"]);
        assert_eq!(out.code, 0, "{dialect}: {out:?}");
        assert_eq!(run(root, url, &["--json", "status"]).json()["pending"].as_u64(), Some(0));
        // With a limit, an empty run does not claim the database up to date (repeatables run only without one).
        std::fs::write(dir.join("primary__ROC__noop.sql"), "-- upgrade\nSELECT 1;\n-- rollback\n").unwrap();
        let out = run(root, url, &["migrate", "--to-version", "3"]);
        assert!(out.code == 0 && out.stdout.contains("nothing to apply within --count/--to-version"), "{out:?}");
        assert_eq!(run(root, url, &["--json", "status"]).json()["pending"].as_u64(), Some(1), "the repeatable");
    }
}

#[tokio::test]
async fn verify_replays_generated_migrations_and_catches_a_bad_rollback() {
    for dialect in ALL {
        let db = TestDb::new(dialect).await;
        let root = db.dir.path();
        let url = db.url.as_str();
        std::fs::write(root.join("dbwarden.schema.toml"), V1).unwrap();
        assert_eq!(run(root, url, &["make-migrations", "init"]).code, 0);
        std::fs::write(root.join("dbwarden.schema.toml"), v2()).unwrap();
        assert_eq!(run(root, url, &["make-migrations", "titles"]).code, 0);
        let out = run(root, url, &["verify"]);
        assert_eq!(out.code, 0, "{dialect}: generated migrations verify: {out:?}");
        assert_eq!(out.stdout.matches("ok   primary__").count(), 2, "{dialect}: {out:?}");

        // A hand-written migration whose rollback forgets its index.
        std::fs::write(
            root.join("migrations/primary/primary__0003_ix.sql"),
            "-- upgrade\nCREATE INDEX ix_users_name ON users (name);\n-- rollback\n",
        )
        .unwrap();
        let out = run(root, url, &["--json", "verify"]);
        assert_eq!(out.code, 1, "{dialect}: {out:?}");
        let json = out.json();
        let last = json["checked"].as_array().unwrap().last().unwrap().clone();
        assert_eq!(last["filename"], "primary__0003_ix.sql", "{dialect}: {json}");
        assert!(json.to_string().contains("drop index ix_users_name"), "{dialect}: {json}");
        assert!(db.strings("SELECT 'untouched'").await == ["untouched"]);

        // An irreversible migration before it: verify stops there on purpose (exit 3), or goes past it on request.
        let dir = root.join("migrations/primary");
        std::fs::rename(dir.join("primary__0003_ix.sql"), dir.join("primary__0004_ix.sql")).unwrap();
        std::fs::write(
            dir.join("primary__0003_seed.sql"),
            "-- dbwarden: irreversible\n-- upgrade\nINSERT INTO users (id, email) VALUES (7, 'x@example.com');\n-- rollback\n",
        )
        .unwrap();
        let out = run(root, url, &["verify"]);
        assert!(out.code == 3 && out.stdout.contains("primary__0004_ix.sql"), "{dialect}: {out:?}");
        let out = run(root, url, &["verify", "--past-irreversible"]);
        assert!(out.code == 1 && out.stdout.contains("drop index ix_users_name"), "{dialect}: {out:?}");
    }
}

/// MariaDB keys a TEXT, BLOB or JSON column only by a prefix length, which the models cannot say: make-migrations
/// refuses a primary key, a foreign key or an index of several columns over one (the server would refuse it, after
/// the migration's earlier DDL had committed), naming the table, key and column, and writes nothing. What MariaDB
/// does take (such a column alone in a plain or unique index, or in a unique key of several columns) is generated,
/// applied and read back unchanged.
#[tokio::test]
async fn mariadb_keys_over_text_are_refused_before_anything_is_written() {
    let db = TestDb::new(Dialect::MySql).await;
    let root = db.dir.path();
    // `key` is a table-level composite primary key line, or empty for `id` alone.
    let table = |key: &str, extra: &str| {
        let id_key = if key.is_empty() { "primary_key = true\n" } else { "" };
        format!(
            "[[table]]\nname = \"notes\"\n{key}[[table.column]]\nname = \"id\"\ntype = \"BigInteger\"\n{id_key}\
             [[table.column]]\nname = \"body\"\ntype = \"Text\"\n[[table.column]]\nname = \"n\"\ntype = \"Integer\"\n{extra}"
        )
    };
    let refused = [
        ("the primary key", table("primary_key = [\"id\", \"body\"]\n", "")),
        ("index `ix_body_n`", table("", "[[table.index]]\nname = \"ix_body_n\"\ncolumns = [\"body\", \"n\"]\n")),
    ];
    for (key, manifest) in refused {
        std::fs::write(root.join("dbwarden.schema.toml"), &manifest).unwrap();
        let out = run(root, &db.url, &["make-migrations"]);
        assert_eq!(out.code, 2, "{key}: {out:?}\n{manifest}");
        let says = format!("table `notes`: {key} includes column `body` of type text");
        assert!(out.stderr.contains(&says) && out.stderr.contains("hint:"), "{out:?}");
        assert!(out.stderr.contains("String(N)"), "the hint says what to write: {out:?}");
        assert!(files(root).is_empty(), "nothing written: {:?}", files(root));
    }

    let allowed = table(
        "",
        "[[table.index]]\nname = \"ix_body\"\ncolumns = [\"body\"]\n\
         [[table.index]]\nname = \"uq_body\"\ncolumns = [\"body\"]\nunique = true\n\
         [[table.unique]]\nname = \"uq_body_n\"\ncolumns = [\"body\", \"n\"]\n",
    );
    std::fs::write(root.join("dbwarden.schema.toml"), &allowed).unwrap();
    let out = run(root, &db.url, &["make-migrations"]);
    assert_eq!(out.code, 0, "{out:?}");
    let out = run(root, &db.url, &["migrate"]);
    assert_eq!(out.code, 0, "MariaDB takes these keys: {out:?}");
    let out = run(root, &db.url, &["diff", "--exit-code"]);
    assert_eq!(out.code, 0, "read back as declared: {out:?}");

    // A key made by hand with a prefix length reads back as the models declare it: not refused, not changed.
    db.exec("CREATE TABLE tags (name TEXT NOT NULL, PRIMARY KEY (name(100)))").await;
    let tags = "[[table]]\nname = \"tags\"\n[[table.column]]\nname = \"name\"\ntype = \"Text\"\nprimary_key = true\n";
    std::fs::write(root.join("dbwarden.schema.toml"), format!("{allowed}{tags}")).unwrap();
    let out = run(root, &db.url, &["make-migrations"]);
    assert!(out.code == 0 && out.stdout.contains("no changes"), "{out:?}");
    // Renamed, it is still the key it was.
    let renamed = tags.replace("name = \"tags\"\n", "name = \"labels\"\nrenamed_from = \"tags\"\n");
    std::fs::write(root.join("dbwarden.schema.toml"), format!("{allowed}{renamed}")).unwrap();
    let out = run(root, &db.url, &["make-migrations", "rename"]);
    assert!(out.code == 0 && out.stdout.contains("rename table tags to labels"), "{out:?}");
    assert_eq!(run(root, &db.url, &["migrate"]).code, 0);

    // A column of an existing composite index retyped into TEXT is refused as well.
    let codes = "[[table]]\nname = \"codes\"\n[[table.column]]\nname = \"id\"\ntype = \"BigInteger\"\nprimary_key = true\n\
                 [[table.column]]\nname = \"code\"\ntype = \"String(20)\"\n[[table.column]]\nname = \"n\"\ntype = \"Integer\"\n\
                 [[table.index]]\nname = \"ix_code_n\"\ncolumns = [\"code\", \"n\"]\n";
    std::fs::write(root.join("dbwarden.schema.toml"), format!("{allowed}{renamed}{codes}")).unwrap();
    assert_eq!(run(root, &db.url, &["make-migrations", "codes"]).code, 0);
    assert_eq!(run(root, &db.url, &["migrate"]).code, 0);
    let retyped = codes.replace("String(20)", "Text");
    std::fs::write(root.join("dbwarden.schema.toml"), format!("{allowed}{renamed}{retyped}")).unwrap();
    let out = run(root, &db.url, &["make-migrations"]);
    assert!(
        out.code == 2 && out.stderr.contains("table `codes`: index `ix_code_n` includes column `code` of type text"),
        "{out:?}"
    );
}

/// A collation the models name that the server does not have is refused by make-migrations against the live
/// database, naming the column, with names it has that look like it (MariaDB would meet it after the DDL before it
/// had committed); SQLite, whose collations besides the built-in ones are the application's, is not checked.
async fn unknown_collations_are_refused(dialect: Dialect) {
    let db = TestDb::new(dialect).await;
    let (root, url) = (db.dir.path(), db.url.as_str());
    let (typo, similar) = match dialect {
        Dialect::MySql => ("utf8mb4_bni", "utf8mb4_bin"),
        Dialect::Postgres => ("ucs_basik", "ucs_basic"),
        Dialect::Sqlite => ("nocasee", ""),
    };
    let manifest = |collation: &str| {
        format!(
            "[[table]]\nname = \"t\"\n[[table.column]]\nname = \"id\"\ntype = \"BigInteger\"\nprimary_key = true\n\
             [[table.column]]\nname = \"code\"\ntype = \"String(20)\"\ncollation = \"{collation}\"\n"
        )
    };
    std::fs::write(root.join("dbwarden.schema.toml"), manifest(typo)).unwrap();
    let out = run(root, url, &["make-migrations"]);
    if dialect == Dialect::Sqlite {
        assert_eq!(out.code, 0, "not checked on SQLite: {out:?}");
        return;
    }
    assert_eq!(out.code, 2, "{out:?}");
    assert!(out.stderr.contains("table `t`, column `code`: the database has no collation"), "{out:?}");
    assert!(out.stderr.contains(&format!("hint: name one it has, such as {similar}")), "{out:?}");
    assert!(files(root).is_empty(), "nothing written");
    std::fs::write(root.join("dbwarden.schema.toml"), manifest(similar)).unwrap();
    assert_eq!(run(root, url, &["make-migrations"]).code, 0);
    assert_eq!(run(root, url, &["migrate"]).code, 0);
    assert_eq!(run(root, url, &["make-migrations"]).code, 0, "the live column's collation is known too");
}

/// MariaDB refuses a foreign key between text columns of two collations, after the DDL before it has committed:
/// make-migrations refuses models that name two, naming the key, both columns and collations, and writes nothing;
/// with one collation the key is created.
#[tokio::test]
async fn mariadb_foreign_key_between_two_collations_is_refused() {
    let db = TestDb::new(Dialect::MySql).await;
    let (root, url) = (db.dir.path(), db.url.as_str());
    let manifest = |child: &str| {
        format!(
            "[[table]]\nname = \"p\"\n[[table.column]]\nname = \"code\"\ntype = \"String(20)\"\nprimary_key = true\n\
             collation = \"utf8mb4_bin\"\n\
             [[table]]\nname = \"c\"\n[[table.column]]\nname = \"id\"\ntype = \"BigInteger\"\nprimary_key = true\n\
             [[table.column]]\nname = \"pcode\"\ntype = \"String(20)\"\nforeign_key = \"p.code\"\ncollation = \"{child}\"\n"
        )
    };
    std::fs::write(root.join("dbwarden.schema.toml"), manifest("utf8mb4_general_ci")).unwrap();
    let out = run(root, url, &["make-migrations"]);
    assert_eq!(out.code, 2, "{out:?}");
    let says =
        "table `c`: foreign key `fk_c_pcode_p` joins column `pcode` (utf8mb4_general_ci) to `p`.`code` (utf8mb4_bin)";
    assert!(out.stderr.contains(says) && out.stderr.contains("hint: give both columns"), "{out:?}");
    assert!(files(root).is_empty(), "nothing written");
    std::fs::write(root.join("dbwarden.schema.toml"), manifest("UTF8MB4_BIN")).unwrap();
    assert_eq!(run(root, url, &["make-migrations"]).code, 0);
    let out = run(root, url, &["migrate"]);
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(run(root, url, &["diff", "--exit-code"]).code, 0);
}

/// A rename onto a name the database has already (a column the models drop, or one renamed away in a swap or a
/// chain) would be written as a rename the server refuses, hiding a CRITICAL drop: make-migrations, diff and check
/// refuse it, naming both, and write nothing.
#[tokio::test]
async fn a_rename_onto_an_existing_name_is_refused() {
    let db = TestDb::new(Dialect::Sqlite).await;
    let root = db.dir.path();
    let url = db.url.as_str();
    let table = |name: &str, columns: &[(&str, &str)]| {
        let mut t = format!("[[table]]\nname = \"{name}\"\n[[table.column]]\nname = \"id\"\ntype = \"BigInteger\"\nprimary_key = true\n");
        for (c, extra) in columns {
            t.push_str(&format!("[[table.column]]\nname = \"{c}\"\ntype = \"String(20)\"\n{extra}"));
        }
        t
    };
    let v1 = table("sw", &[("first", ""), ("last", "")]) + &table("old", &[]) + &table("new", &[]);
    std::fs::write(root.join("dbwarden.schema.toml"), &v1).unwrap();
    assert_eq!(run(root, url, &["make-migrations", "v1"]).code, 0);
    assert_eq!(run(root, url, &["migrate"]).code, 0);
    let before = files(root);

    let onto_column = table("sw", &[("last", "renamed_from = \"first\"\n")]) + &table("old", &[]) + &table("new", &[]);
    std::fs::write(root.join("dbwarden.schema.toml"), &onto_column).unwrap();
    for args in [&["make-migrations"][..], &["diff"], &["check"]] {
        let out = run(root, url, args);
        assert_eq!(out.code, 2, "{args:?}: {out:?}");
        assert!(
            out.stderr.contains("column `sw`.`first` is renamed to `last` (renamed_from or --rename), but table `sw` has a column `last` already"),
            "{out:?}"
        );
        assert!(out.stderr.contains("drop (or rename) the existing `last` in a migration of its own first"), "{out:?}");
    }

    // A swap on the command line.
    std::fs::write(root.join("dbwarden.schema.toml"), &v1).unwrap();
    let out = run(root, url, &["make-migrations", "--rename", "sw.first:last", "--rename", "sw.last:first"]);
    assert!(
        out.code == 2 && out.stderr.contains("is renamed to") && out.stderr.contains("a swap or a chain"),
        "{out:?}"
    );

    // A table renamed onto one the models drop.
    let onto_table = table("sw", &[("first", ""), ("last", "")])
        + &table("new", &[])
            .replace("name = \"new\"\n[[table.column]]", "name = \"new\"\nrenamed_from = \"old\"\n[[table.column]]");
    std::fs::write(root.join("dbwarden.schema.toml"), &onto_table).unwrap();
    let out = run(root, url, &["make-migrations"]);
    assert!(out.code == 2 && out.stderr.contains("table `old` is renamed to `new` (renamed_from or --rename), but the database has a table `new` already"), "{out:?}");
    assert_eq!(files(root), before, "nothing written");
}

/// Renames that cannot both happen are refused, naming them: a model's `renamed_from` and a `--rename` onto one
/// name (two renames onto `amount` were written, and the second failed at migrate), a `--rename` whose old name the
/// models still declare (it was ignored); and with `tables` in the config, a model outside the list is refused
/// (it was left out of the comparison without a word).
#[tokio::test]
async fn renames_that_cannot_both_happen_and_models_outside_tables_are_refused() {
    let db = TestDb::new(Dialect::Sqlite).await;
    let (root, url) = (db.dir.path(), db.url.as_str());
    let table = |name: &str, columns: &[(&str, &str)]| {
        let mut t = format!(
            "[[table]]\nname = \"{name}\"\n[[table.column]]\nname = \"id\"\ntype = \"Integer\"\nprimary_key = true\n"
        );
        for (c, extra) in columns {
            t.push_str(&format!("[[table.column]]\nname = \"{c}\"\ntype = \"Integer\"\n{extra}"));
        }
        t
    };
    std::fs::write(
        root.join("dbwarden.schema.toml"),
        table("products", &[("qty", ""), ("price", "")]) + &table("orders", &[]),
    )
    .unwrap();
    assert_eq!(run(root, url, &["make-migrations", "v1"]).code, 0);
    assert_eq!(run(root, url, &["migrate"]).code, 0);
    let before = files(root);
    let renamed = table("products", &[("amount", "renamed_from = \"qty\"\n")]) + &table("orders", &[]);
    std::fs::write(root.join("dbwarden.schema.toml"), &renamed).unwrap();
    let out = run(root, url, &["make-migrations", "--rename", "products.price:amount"]);
    assert!(out.code == 2 && out.stderr.contains("column `products.amount` is the new name of both"), "{out:?}");
    std::fs::write(
        root.join("dbwarden.schema.toml"),
        table("products", &[("qty", ""), ("price", "")]) + &table("orders", &[]),
    )
    .unwrap();
    let out = run(root, url, &["make-migrations", "--rename", "orders:products"]);
    assert!(out.code == 2 && out.stderr.contains("the models still declare table `orders`"), "{out:?}");
    let out = run(root, url, &["make-migrations", "--rename", "products.qty:price"]);
    assert!(out.code == 2 && out.stderr.contains("the models still declare column `products.qty`"), "{out:?}");
    assert_eq!(files(root), before, "nothing written");

    let config = format!("[[database]]\nname = \"primary\"\nurl = \"{url}\"\ntables = [\"products\"]\n");
    std::fs::write(root.join("dbwarden.toml"), config).unwrap();
    let out = cli(root, &["diff"]);
    assert!(
        out.code == 2 && out.stderr.contains("table `orders` is in the models but not in its `tables` list"),
        "{out:?}"
    );
    assert!(out.stderr.contains("add `orders` to `tables`"), "{out:?}");
}

/// Two config entries on one database, each with its own `migration_table`: neither sees the other's history table
/// as a table to drop (it proposed `drop table hist_a`, CRITICAL).
#[tokio::test]
async fn another_entrys_history_table_is_not_a_table_to_drop() {
    let db = TestDb::new(Dialect::Sqlite).await;
    let root = db.dir.path();
    let config = |table: &str| {
        format!("[[database]]\nname = \"primary\"\nurl = \"{}\"\nmigration_table = \"{table}\"\n", db.url)
    };
    std::fs::write(
        root.join("dbwarden.schema.toml"),
        "[[table]]\nname = \"t\"\n[[table.column]]\nname = \"id\"\ntype = \"Integer\"\nprimary_key = true\n",
    )
    .unwrap();
    std::fs::write(root.join("dbwarden.toml"), config("hist_a")).unwrap();
    assert_eq!(cli(root, &["make-migrations", "v1"]).code, 0);
    assert_eq!(cli(root, &["migrate"]).code, 0);
    std::fs::write(root.join("dbwarden.toml"), config("hist_b")).unwrap();
    let out = cli(root, &["diff", "--exit-code"]);
    assert_eq!(out.code, 0, "{out:?}");
    let out = cli(root, &["check-db"]);
    assert!(out.code == 0 && !out.stdout.contains("hist_a"), "{out:?}");
}

/// A NOT NULL column with no default, added to a table with rows, fails on every backend instead of MariaDB making
/// up values ('', 0, '0000-00-00'): there it is added as NULL, then made NOT NULL, so filling the rows and migrating
/// again resumes and finishes; elsewhere the migration is rolled back whole. The hint says so.
async fn not_null_column_without_default_fails_on_rows(dialect: Dialect) {
    let db = TestDb::new(dialect).await;
    let root = db.dir.path();
    let url = db.url.as_str();
    std::fs::write(root.join("dbwarden.schema.toml"), V1).unwrap();
    assert_eq!(run(root, url, &["make-migrations", "v1"]).code, 0);
    assert_eq!(run(root, url, &["migrate"]).code, 0);
    db.exec("INSERT INTO users (id, email) VALUES (1, 'a@example.com'), (2, 'b@example.com')").await;
    let v2 = V1.replace(
        "[[table]]\nname = \"posts\"",
        "[[table.column]]\nname = \"born\"\ntype = \"Date\"\nnullable = false\n\n[[table]]\nname = \"posts\"",
    );
    std::fs::write(root.join("dbwarden.schema.toml"), &v2).unwrap();
    let out = run(root, url, &["make-migrations", "born"]);
    assert!(out.code == 0 && out.stdout.contains("WARN"), "{out:?}");
    let out = run(root, url, &["migrate"]);
    assert_eq!(out.code, 2, "{dialect}: {out:?}");
    assert!(out.stderr.contains("rows have no value"), "{dialect}: {out:?}");
    let columns = match dialect {
        Dialect::Sqlite => "SELECT name FROM pragma_table_info('users') ORDER BY cid".to_string(),
        _ => format!(
            "SELECT column_name FROM information_schema.columns WHERE table_name = 'users' AND table_schema = {} \
             ORDER BY ordinal_position",
            if dialect == Dialect::MySql { "DATABASE()" } else { "'public'" }
        ),
    };
    let mut cols = db.strings(&columns).await;
    cols.iter_mut().for_each(|c| c.make_ascii_lowercase());
    assert_eq!(db.strings("SELECT email FROM users ORDER BY id").await, ["a@example.com", "b@example.com"]);
    if dialect == Dialect::MySql {
        assert!(out.stderr.contains("it resumes at statement 2"), "{out:?}");
        assert_eq!(cols, ["id", "email", "name", "born"], "added as NULL");
        db.exec("UPDATE users SET born = '1990-01-02'").await;
        let out = run(root, url, &["migrate"]);
        assert_eq!(out.code, 0, "resumes: {out:?}");
        assert_eq!(db.strings("SELECT CAST(born AS CHAR) FROM users ORDER BY id").await, ["1990-01-02", "1990-01-02"]);
        assert_eq!(run(root, url, &["diff", "--exit-code"]).code, 0, "NOT NULL in the end");
    } else {
        assert!(out.stderr.contains("nothing of primary__0002_born.sql stayed applied"), "{out:?}");
        assert_eq!(cols, ["id", "email", "name"], "{dialect}: rolled back");
    }
}

/// SQLite's `AUTOINCREMENT`, `WITHOUT ROWID` and `STRICT`, set by hand, are no difference from models that cannot
/// declare them, and survive the rebuild a generated migration makes (it dropped them: the numbers of deleted rows
/// were given again, the table got rowids, the types stopped being checked), the `AUTOINCREMENT` counter carried
/// over; the rollback's rebuild keeps them too, and `check-db -o sql` writes them. A `STRICT` table the models give
/// a type it refuses is refused by make-migrations, naming the table and column, before anything is written.
#[tokio::test]
async fn sqlite_table_options_survive_rebuilds() {
    let db = TestDb::new(Dialect::Sqlite).await;
    let root = db.dir.path();
    db.exec("CREATE TABLE counter (id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT COLLATE NOCASE)").await;
    db.exec("CREATE TABLE kv (k TEXT NOT NULL PRIMARY KEY, v INT) WITHOUT ROWID").await;
    db.exec("CREATE TABLE typed (id INTEGER PRIMARY KEY, n INT, x TEXT) STRICT").await;
    db.exec("INSERT INTO counter (name) VALUES ('a'), ('b'), ('c')").await;
    db.exec("DELETE FROM counter WHERE id = 3").await;
    // (table, key column and type, other columns and types); `tail` is appended to each other column.
    type Spec<'a> = (&'a str, &'a str, &'a str, &'a [(&'a str, &'a str)]);
    let manifest_keyed = |tail: &str, x_type: &str, counter_key: &str| {
        let tables: [Spec; 3] = [
            ("counter", "id", counter_key, &[("name", "Text")]),
            ("kv", "k", "Text", &[("v", "Integer")]),
            ("typed", "id", "Integer", &[("n", "Integer"), ("x", x_type)]),
        ];
        let mut text = String::new();
        for (table, key, key_type, others) in tables {
            text += &format!("[[table]]\nname = \"{table}\"\n[[table.column]]\nname = \"{key}\"\ntype = \"{key_type}\"\nprimary_key = true\n");
            for (name, ty) in others {
                let tail = if *ty == "Integer" { tail.replace("'x'", "0") } else { tail.to_string() };
                text += &format!("[[table.column]]\nname = \"{name}\"\ntype = \"{ty}\"\n{tail}");
            }
        }
        text
    };
    let manifest = |tail: &str, x_type: &str| manifest_keyed(tail, x_type, "Integer");
    std::fs::write(root.join("dbwarden.schema.toml"), manifest("", "Text")).unwrap();
    let out = run(root, &db.url, &["diff", "--exit-code"]);
    assert_eq!(out.code, 0, "options the models cannot declare are no difference: {out:?}");
    let out = run(root, &db.url, &["check-db", "-o", "sql"]);
    for option in ["INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL", ") WITHOUT ROWID", ") STRICT"] {
        assert!(out.stdout.contains(option), "check-db -o sql writes {option}: {out:?}");
    }
    let out = run(root, &db.url, &["check-db"]);
    for shown in ["counter  (AUTOINCREMENT)", "kv  (WITHOUT ROWID)", "typed  (STRICT)", "text COLLATE NOCASE"] {
        assert!(out.stdout.contains(shown), "check-db shows {shown}: {out:?}");
    }

    // Every other column made NOT NULL with a default: a rebuild of each table.
    std::fs::write(root.join("dbwarden.schema.toml"), manifest("nullable = false\nserver_default = \"'x'\"\n", "Text"))
        .unwrap();
    let out = run(root, &db.url, &["make-migrations", "not_null"]);
    assert_eq!(out.code, 0, "{out:?}");
    let file = std::fs::read_to_string(root.join("migrations/primary").join(&files(root)[0])).unwrap();
    assert!(file.contains("\"sqlite_sequence\""), "the counter is carried over:\n{file}");
    let out = run(root, &db.url, &["migrate"]);
    assert_eq!(out.code, 0, "{out:?}\n{file}");
    has_options(&table_sql(&db).await, "after the upgrade");
    assert_eq!(run(root, &db.url, &["diff", "--exit-code"]).code, 0, "converged");
    assert_eq!(next_id(&db, "d").await, ["4"], "3 was given and deleted: AUTOINCREMENT never gives it again");
    let refused = db.try_exec("INSERT INTO typed (id, n, x) VALUES (10, 'not a number', 'x')").await;
    assert!(refused.is_err_and(|e| e.contains("cannot store TEXT value in INT column")), "STRICT still checks");

    let out = run(root, &db.url, &["rollback"]);
    assert_eq!(out.code, 0, "{out:?}\n{file}");
    has_options(&table_sql(&db).await, "after the rollback");
    assert_eq!(next_id(&db, "e").await, ["5"], "the rollback's rebuild carries the counter too");

    // A key the models make text cannot keep AUTOINCREMENT (WARN); its rollback gives it back with the counter.
    db.exec("DELETE FROM counter WHERE name = 'e'").await;
    std::fs::write(root.join("dbwarden.schema.toml"), manifest_keyed("", "Text", "Text")).unwrap();
    let out = run(root, &db.url, &["make-migrations", "text_key"]);
    assert!(out.code == 0 && out.stdout.contains("set options of counter (AUTOINCREMENT -> none)"), "{out:?}");
    let out = run(root, &db.url, &["migrate"]);
    assert_eq!(out.code, 0, "{out:?}");
    assert!(!table_sql(&db).await[0].contains("AUTOINCREMENT"));
    assert_eq!(run(root, &db.url, &["rollback"]).code, 0);
    has_options(&table_sql(&db).await, "after rolling back the text key");
    assert_eq!(next_id(&db, "f").await, ["6"], "5 was given and deleted before the text key");
    std::fs::remove_file(root.join("migrations/primary").join(&files(root)[1])).unwrap();

    // A type a STRICT table refuses: refused before anything is written.
    let before = files(root);
    std::fs::write(root.join("dbwarden.schema.toml"), manifest("", "String(40)")).unwrap();
    let out = run(root, &db.url, &["make-migrations"]);
    assert_eq!(out.code, 2, "{out:?}");
    assert!(out.stderr.contains("table `typed` is STRICT") && out.stderr.contains("column `x` VARCHAR(40)"), "{out:?}");
    assert!(out.stderr.contains("hint:") && out.stderr.contains("`String` without a length"), "{out:?}");
    assert_eq!(files(root), before, "nothing written");
    for args in [&["diff", "--sql"][..], &["check"]] {
        let out = run(root, &db.url, args);
        assert!(out.code == 2 && out.stderr.contains("table `typed` is STRICT"), "{args:?} refuses it too: {out:?}");
    }
}

/// The `CREATE TABLE` text of `counter`, `kv` and `typed`.
async fn table_sql(db: &TestDb) -> Vec<String> {
    let mut all = Vec::new();
    for table in ["counter", "kv", "typed"] {
        all.push(db.strings(&format!("SELECT sql FROM sqlite_master WHERE name = '{table}'")).await.concat());
    }
    all
}

/// Asserts `AUTOINCREMENT`, `WITHOUT ROWID` and `STRICT` in [`table_sql`]'s tables.
fn has_options(all: &[String], when: &str) {
    assert!(all[0].contains("AUTOINCREMENT") && all[0].contains("COLLATE \"NOCASE\""), "{when}: {all:?}");
    assert!(all[1].trim_end().ends_with("WITHOUT ROWID"), "{when}: {all:?}");
    assert!(all[2].trim_end().ends_with("STRICT"), "{when}: {all:?}");
}

/// The id `counter` gives a new row named `name`.
async fn next_id(db: &TestDb, name: &str) -> Vec<String> {
    db.exec(&format!("INSERT INTO counter (name) VALUES ('{name}')")).await;
    db.strings(&format!("SELECT CAST(id AS TEXT) FROM counter WHERE name = '{name}'")).await
}
