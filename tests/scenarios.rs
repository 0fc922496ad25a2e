//! Scenario tests of the schema generator, in the manner of diesel_cli's: every folder of `tests/scenarios/` holds a
//! `before.toml` and an `after.toml` schema manifest (`before` may be empty) and, optionally, a `data.toml`:
//!
//! ```toml
//! insert = ["INSERT INTO \"t\" (a) VALUES (1)"]   # run once `before` is applied
//! upgrade_insert = []                             # run after the upgrade, before its checks
//! rollback_insert = []                            # run after the rollback, before its checks
//! [[upgrade]]                                     # after the upgrade: the first column of every row, as text
//! sql = "SELECT a FROM \"t\" ORDER BY a"
//! rows = ["1"]
//! # rows_sqlite / rows_postgres / rows_mariadb = [...]  where a backend prints a value its own way
//! [[rollback]]                                    # the same, after the rollback
//! ```
//!
//! and, optionally, an `options.toml` with the generation options of the scenario (`column_order = "exact"`)
//! (identifiers in double quotes are re-quoted with backticks for MariaDB, `CAST(x AS TEXT)` is `CAST(x AS CHAR)`
//! there; every selected value must be text, so cast the others). For each scenario and each backend the
//! migration `before -> after` is generated and snapshotted (`tests/snapshots/scenarios__<scenario>__<backend>.snap`),
//! then proven on a fresh database: `before` applied (generated from empty), rows inserted, the migration applied,
//! the live schema equals the canonical `after`, generating again from the live schema finds nothing, the rollback
//! restores the canonical `before`, and the data checks hold at each step. On MariaDB the indexes InnoDB keeps for
//! foreign keys (which introspection hides) are checked too, so a stray index is caught.
//!
//! All scenario x backend runs go concurrently; every failure is reported, not only the first.
//! `SCENARIO=<name> cargo test --test scenarios` runs one scenario; `INSTA_UPDATE=always` rewrites the snapshots
//! (read every one before keeping it).

mod common;

use std::cell::RefCell;
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::sync::Arc;

use common::{write_migrations, TestDb};
use dbwarden::backend::{connect, ConnectSpec};
use dbwarden::diff::Renames;
use dbwarden::generate::{ColumnOrder, Options};
use dbwarden::schema::{ModelTable, Schema};
use dbwarden::{Dialect, Migrator, RollbackTo, Source};

const BACKENDS: [(Dialect, &str); 3] =
    [(Dialect::Sqlite, "sqlite"), (Dialect::Postgres, "postgres"), (Dialect::MySql, "mariadb")];

/// The snapshot of a scenario that changes nothing on a backend.
const NOTHING: &str = "-- nothing to generate: the two schemas read back the same on this backend\n";

/// One folder of `tests/scenarios/`.
struct Scenario {
    name: String,
    before: Vec<ModelTable>,
    after: Vec<ModelTable>,
    data: Data,
    options: Options,
}

impl Scenario {
    /// Whether column order is compared on PostgreSQL too.
    fn exact(&self) -> bool {
        self.options.column_order == ColumnOrder::Exact
    }
}

#[derive(Default)]
struct Data {
    insert: Vec<String>,
    upgrade_insert: Vec<String>,
    rollback_insert: Vec<String>,
    upgrade: Vec<Query>,
    rollback: Vec<Query>,
}

/// A query whose first column must read back as `rows` (per backend where it differs).
struct Query {
    sql: String,
    rows: Vec<String>,
    per_backend: Vec<(String, Vec<String>)>,
}

impl Query {
    fn expected(&self, backend: &str) -> &[String] {
        self.per_backend.iter().find(|(b, _)| b == backend).map_or(&self.rows, |(_, rows)| rows)
    }
}

fn scenarios_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests").join("scenarios")
}

fn load(dir: &Path) -> Scenario {
    let name = dir.file_name().unwrap().to_string_lossy().to_string();
    let manifest = |file: &str| {
        let path = dir.join(file);
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let tables = dbwarden_core::manifest::parse(&text, &format!("{name}/{file}")).unwrap_or_else(|e| panic!("{e}"));
        dbwarden_core::manifest::check_references(&tables).unwrap_or_else(|e| panic!("{e}"));
        tables
    };
    let data = match std::fs::read_to_string(dir.join("data.toml")) {
        Ok(text) => parse_data(&name, &text),
        Err(_) => Data::default(),
    };
    let mut options = Options::default();
    if let Ok(text) = std::fs::read_to_string(dir.join("options.toml")) {
        let table: toml::Table = toml::from_str(&text).unwrap_or_else(|e| panic!("{name}/options.toml: {e}"));
        for (key, value) in table {
            match (key.as_str(), value.as_str().and_then(ColumnOrder::parse)) {
                ("column_order", Some(order)) => options.column_order = order,
                _ => panic!("{name}/options.toml: `{key} = {value}` is not an option (column_order = \"exact\")"),
            }
        }
    }
    Scenario { before: manifest("before.toml"), after: manifest("after.toml"), data, name, options }
}

fn parse_data(name: &str, text: &str) -> Data {
    let table: toml::Table = toml::from_str(text).unwrap_or_else(|e| panic!("{name}/data.toml: {e}"));
    let strings = |v: &toml::Value, what: &str| -> Vec<String> {
        v.as_array()
            .unwrap_or_else(|| panic!("{name}/data.toml: `{what}` is a list of strings"))
            .iter()
            .map(|s| s.as_str().unwrap_or_else(|| panic!("{name}/data.toml: `{what}` holds strings")).to_string())
            .collect()
    };
    let queries = |key: &str| -> Vec<Query> {
        let Some(list) = table.get(key) else { return Vec::new() };
        list.as_array()
            .unwrap_or_else(|| panic!("{name}/data.toml: `{key}` is [[{key}]] entries"))
            .iter()
            .map(|q| {
                let q = q.as_table().unwrap_or_else(|| panic!("{name}/data.toml: `{key}` entries are tables"));
                let mut out = Query { sql: String::new(), rows: Vec::new(), per_backend: Vec::new() };
                for (k, v) in q {
                    match k.as_str() {
                        "sql" => out.sql = v.as_str().expect("sql is a string").to_string(),
                        "rows" => out.rows = strings(v, k),
                        other => match other.strip_prefix("rows_") {
                            Some(b) if BACKENDS.iter().any(|(_, n)| *n == b) => {
                                out.per_backend.push((b.to_string(), strings(v, k)))
                            }
                            _ => panic!("{name}/data.toml: unknown key `{other}` in [[{key}]]"),
                        },
                    }
                }
                out
            })
            .collect()
    };
    for key in table.keys() {
        let known = ["insert", "upgrade_insert", "rollback_insert", "upgrade", "rollback"];
        assert!(known.contains(&key.as_str()), "{name}/data.toml: unknown key `{key}`");
    }
    let statements = |key: &str| table.get(key).map(|v| strings(v, key)).unwrap_or_default();
    Data {
        insert: statements("insert"),
        upgrade_insert: statements("upgrade_insert"),
        rollback_insert: statements("rollback_insert"),
        upgrade: queries("upgrade"),
        rollback: queries("rollback"),
    }
}

/// Portable test SQL in the dialect's spelling: for MariaDB, double-quoted identifiers in backticks and
/// `CAST(x AS TEXT)` as `CAST(x AS CHAR)`; string literals untouched.
fn requote(dialect: Dialect, sql: &str) -> String {
    if dialect != Dialect::MySql {
        return sql.to_string();
    }
    dbwarden_core::schema::requote_identifiers(&sql.replace(" AS TEXT)", " AS CHAR)"), '`')
}

fn schema_of(tables: &[ModelTable]) -> Schema {
    dbwarden::models::schema(tables, None, "primary").unwrap_or_else(|e| panic!("{e}"))
}

/// PostgreSQL has no column positions (ADD COLUMN appends, and dbwarden rewrites a table to reorder it only with
/// `column_order = "exact"`), so there the columns compare as a set unless `exact`; MariaDB (`AFTER`) and SQLite
/// (rebuilds) must match in order too.
fn comparable(dialect: Dialect, exact: bool, mut schema: Schema) -> Schema {
    if dialect == Dialect::Postgres && !exact {
        for t in &mut schema.tables {
            t.columns.sort_by(|a, b| a.name.cmp(&b.name));
        }
    }
    schema
}

fn canonical(dialect: Dialect, exact: bool, schema: &Schema) -> Schema {
    comparable(dialect, exact, dbwarden::introspect::canonical(dialect, schema))
}

/// The generated file, without the version that would churn every snapshot at each release.
fn generated(dialect: Dialect, old: &Schema, new: &Schema, renames: &Renames, options: &Options) -> Option<String> {
    let g = dbwarden::generate::compare(dialect, old.clone(), new.clone(), renames).migration(dialect, options)?;
    Some(g.text.replace(&format!("dbwarden {} ", env!("CARGO_PKG_VERSION")), "dbwarden [version] "))
}

/// What differs between two schemas, in a few lines: the changes that would turn `live` into `expected`, then the
/// two versions of each table that differs.
fn difference(expected: &Schema, live: &Schema) -> String {
    let mut out = String::new();
    for c in dbwarden::diff::diff(live, expected, &Renames::default()) {
        out.push_str(&format!("  would still: {}\n", c.describe()));
    }
    for t in &expected.tables {
        match live.table(&t.name) {
            Some(l) if l == t => {}
            Some(l) => out.push_str(&format!("  expected {t:?}\n  live     {l:?}\n")),
            None => out.push_str(&format!("  table {} missing\n", t.name)),
        }
    }
    for l in &live.tables {
        if expected.table(&l.name).is_none() {
            out.push_str(&format!("  table {} not expected\n", l.name));
        }
    }
    out
}

async fn introspect(db: &TestDb, exact: bool) -> Result<Schema, String> {
    let mut backend = connect(&ConnectSpec { url: db.url.clone(), create: true }).await.map_err(|e| e.to_string())?;
    let schema = dbwarden::introspect::introspect(backend.as_mut(), None).await.map_err(|e| e.to_string());
    backend.close().await;
    schema.map(|s| comparable(db.dialect, exact, s))
}

/// On MariaDB, every index of the live database is one `expected` declares or the one InnoDB makes for a foreign
/// key that no declared index serves. Introspection hides the latter (it cannot tell them from a stray index named
/// like a key), so this catches a migration that leaves an index behind.
async fn mysql_indexes_exact(db: &TestDb, expected: &Schema, when: &str) -> Result<(), String> {
    if db.dialect != Dialect::MySql {
        return Ok(());
    }
    let mut backend = connect(&ConnectSpec { url: db.url.clone(), create: true }).await.map_err(|e| e.to_string())?;
    let rows = backend
        .query(
            "SELECT DISTINCT CAST(TABLE_NAME AS CHAR), CAST(INDEX_NAME AS CHAR) FROM information_schema.STATISTICS \
             WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME NOT IN ('_dbwarden_migrations', 'dbwarden_lock', 'dbwarden_head')",
        )
        .await
        .map_err(|e| e.to_string());
    backend.close().await;
    let name = |r: &[Option<String>], i: usize| r.get(i).cloned().flatten().unwrap_or_default();
    let mut live: Vec<String> = rows?.iter().map(|r| format!("{}.{}", name(r, 0), name(r, 1))).collect();
    let starts = |cols: &[String], key: &[String]| cols.len() >= key.len() && cols[..key.len()] == *key;
    let mut want = Vec::new();
    for t in &dbwarden::introspect::canonical(Dialect::MySql, expected).tables {
        let mut leading: Vec<&[String]> = t.indexes.iter().map(|i| &i.columns[..]).collect();
        leading.extend(t.uniques.iter().map(|u| &u.columns[..]));
        leading.extend(t.primary_key.iter().map(|k| &k.columns[..]));
        want.extend(t.primary_key.iter().map(|_| format!("{}.PRIMARY", t.name)));
        want.extend(t.indexes.iter().map(|i| format!("{}.{}", t.name, i.name)));
        want.extend(t.uniques.iter().map(|u| format!("{}.{}", t.name, u.name)));
        for k in &t.foreign_keys {
            if !leading.iter().any(|cols| starts(cols, &k.columns)) {
                want.push(format!("{}.{}", t.name, k.name));
            }
        }
    }
    live.sort();
    want.sort();
    if live != want {
        return Err(format!("{when}: the indexes on MariaDB are\n  {live:?}\nnot\n  {want:?}"));
    }
    Ok(())
}

async fn execute(db: &TestDb, sql: &str) -> Result<(), String> {
    let sql = requote(db.dialect, sql);
    let mut backend = connect(&ConnectSpec { url: db.url.clone(), create: true }).await.map_err(|e| e.to_string())?;
    let result = backend.execute(&sql).await.map_err(|e| format!("{sql}: {e}"));
    backend.close().await;
    result
}

async fn check_rows(db: &TestDb, backend_name: &str, queries: &[Query], when: &str) -> Result<(), String> {
    for q in queries {
        let sql = requote(db.dialect, &q.sql);
        let mut backend =
            connect(&ConnectSpec { url: db.url.clone(), create: true }).await.map_err(|e| e.to_string())?;
        let rows = backend.query(&sql).await.map_err(|e| format!("{when}: {sql}: {e}"));
        backend.close().await;
        let got: Vec<String> = rows?
            .into_iter()
            .map(|r| r.into_iter().next().flatten().map_or("NULL".to_string(), |v| v.trim_end().to_string()))
            .collect();
        if got != q.expected(backend_name) {
            return Err(format!("{when}: {sql}\n  expected {:?}\n  got      {got:?}", q.expected(backend_name)));
        }
    }
    Ok(())
}

/// Proves one scenario on one backend; the error says which step failed and shows the file.
async fn prove(s: &Scenario, db: &TestDb, backend_name: &str, text: &str) -> Result<(), String> {
    let (dialect, exact) = (db.dialect, s.exact());
    let (before, after) = (schema_of(&s.before), schema_of(&s.after));
    let dir = write_migrations(db.dir.path(), "app", &[]);
    let m = Migrator::new(Source::dir(&dir));
    let url = db.url.as_str();

    if !before.tables.is_empty() {
        let setup = generated(dialect, &Schema::default(), &before, &Renames::default(), &s.options)
            .ok_or("creating `before` from empty generated nothing")?;
        std::fs::write(dir.join("app__0001_before.sql"), &setup).unwrap();
        m.run(url).await.map_err(|e| format!("applying `before`: {e}\n{setup}"))?;
        let live = introspect(db, exact).await?;
        if live != canonical(dialect, exact, &before) {
            return Err(format!(
                "`before` does not read back:\n{}{setup}",
                difference(&canonical(dialect, exact, &before), &live)
            ));
        }
        mysql_indexes_exact(db, &before, "after `before`").await?;
    }
    for sql in &s.data.insert {
        execute(db, sql).await.map_err(|e| format!("inserting: {e}"))?;
    }

    if text == NOTHING {
        let live = introspect(db, exact).await?;
        if live != canonical(dialect, exact, &after) {
            return Err(format!(
                "nothing was generated but `after` differs:\n{}",
                difference(&canonical(dialect, exact, &after), &live)
            ));
        }
        return check_rows(db, backend_name, &s.data.upgrade, "with nothing generated").await;
    }
    std::fs::write(dir.join("app__0002_scenario.sql"), text).unwrap();
    m.run(url).await.map_err(|e| format!("upgrade: {e}"))?;
    let live = introspect(db, exact).await?;
    let expected = canonical(dialect, exact, &after);
    if live != expected {
        return Err(format!("after the upgrade the live schema is not `after`:\n{}", difference(&expected, &live)));
    }
    mysql_indexes_exact(db, &after, "after the upgrade").await?;
    // Generating again from the live schema finds nothing.
    let raw_live = {
        let mut backend =
            connect(&ConnectSpec { url: db.url.clone(), create: true }).await.map_err(|e| e.to_string())?;
        let s = dbwarden::introspect::introspect(backend.as_mut(), None).await.map_err(|e| e.to_string());
        backend.close().await;
        s?
    };
    if let Some(again) = generated(dialect, &raw_live, &after, &Renames::default(), &s.options) {
        return Err(format!("generating again from the live schema is not empty:\n{again}"));
    }
    for sql in &s.data.upgrade_insert {
        execute(db, sql).await.map_err(|e| format!("inserting after the upgrade: {e}"))?;
    }
    check_rows(db, backend_name, &s.data.upgrade, "after the upgrade").await?;

    m.rollback(url, RollbackTo::Count(1)).await.map_err(|e| format!("rollback: {e}"))?;
    let live = introspect(db, exact).await?;
    let expected = canonical(dialect, exact, &before);
    if live != expected {
        return Err(format!("after the rollback the live schema is not `before`:\n{}", difference(&expected, &live)));
    }
    mysql_indexes_exact(db, &before, "after the rollback").await?;
    for sql in &s.data.rollback_insert {
        execute(db, sql).await.map_err(|e| format!("inserting after the rollback: {e}"))?;
    }
    check_rows(db, backend_name, &s.data.rollback, "after the rollback").await?;
    Ok(())
}

#[test]
fn scenarios() {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(scenarios_dir())
        .expect("tests/scenarios")
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    let only = std::env::var("SCENARIO").ok(); // SCENARIO=add_column runs one
    let scenarios: Vec<Arc<Scenario>> =
        dirs.iter().map(|d| Arc::new(load(d))).filter(|s| only.as_deref().is_none_or(|o| s.name == o)).collect();
    assert!(!scenarios.is_empty(), "no scenario in tests/scenarios");

    // Generation is pure: every file first, so the snapshots are checked even where a database run fails.
    let mut runs = Vec::new();
    let mut failures: Vec<String> = Vec::new();
    for s in &scenarios {
        let renames = Renames::from_models(&s.after);
        for (dialect, backend) in BACKENDS {
            // Nothing to do is a result too (comments on SQLite, which keeps none).
            let text = generated(dialect, &schema_of(&s.before), &schema_of(&s.after), &renames, &s.options)
                .unwrap_or_else(|| NOTHING.to_string());
            let snapshot = std::panic::catch_unwind(|| {
                insta::assert_snapshot!(format!("{}__{backend}", s.name), &text);
            });
            if snapshot.is_err() {
                failures.push(format!("{} / {backend}: the snapshot differs (see the .snap.new file)", s.name));
            }
            runs.push((s.clone(), dialect, backend, text));
        }
    }

    // One thread drives every run (the drivers' futures are not `Send`); the servers work in parallel.
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    // Databases are dropped at the end, all at once: dropping one blocks its thread.
    let dbs: Rc<RefCell<Vec<TestDb>>> = Rc::default();
    let results = tokio::task::LocalSet::new().block_on(&rt, async {
        let limit = Arc::new(tokio::sync::Semaphore::new(12));
        let mut set = tokio::task::JoinSet::new();
        for (s, dialect, backend, text) in runs {
            let limit = limit.clone();
            let dbs = dbs.clone();
            set.spawn_local(async move {
                let _permit = limit.acquire_owned().await.unwrap();
                let name = s.name.clone();
                let db = TestDb::new(dialect).await;
                let result = prove(&s, &db, backend, &text).await;
                dbs.borrow_mut().push(db);
                (name, backend, text, result)
            });
        }
        let mut out = Vec::new();
        while let Some(joined) = set.join_next().await {
            out.push(joined.unwrap_or_else(|e| ("?".into(), "?", String::new(), Err(format!("panicked: {e}")))));
        }
        out
    });
    let dbs = std::mem::take(&mut *dbs.borrow_mut());
    std::thread::scope(|scope| {
        for db in dbs {
            scope.spawn(move || drop(db));
        }
    });
    let mut results = results;
    results.sort_by(|a, b| (&a.0, a.1).cmp(&(&b.0, b.1)));
    for (name, backend, text, result) in results {
        if let Err(e) = result {
            failures.push(format!("{name} / {backend}: {e}\n--- generated file ---\n{text}"));
        }
    }
    assert!(failures.is_empty(), "{} failure(s):\n\n{}", failures.len(), failures.join("\n\n"));
}
