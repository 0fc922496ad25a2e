//! Convergence over random schemas: for pairs drawn by `dbwarden_core::schema::arbitrary` (3 tables x 4 columns of
//! five types, nullability, defaults, indexes, uniques, foreign keys, comments), the generated migration applied to a
//! real database reads back as the new schema, generating again finds nothing, and its rollback reads back as the
//! old schema, on every backend (PostgreSQL with `column_order = "exact"`, so column order counts everywhere). A
//! fresh database per case; proptest shrinks a failure to a small pair and prints the file.

mod common;

use common::{write_migrations, TestDb};
use dbwarden::diff::Renames;
use dbwarden::generate::{compare, ColumnOrder, Options};
use dbwarden::schema::Schema;
use dbwarden::{Dialect, Migrator, RollbackTo, Source};
use proptest::test_runner::{Config, TestCaseError, TestRunner};

async fn live(db: &TestDb) -> Result<Schema, String> {
    let spec = dbwarden::backend::ConnectSpec { url: db.url.clone(), create: false };
    let mut backend = dbwarden::backend::connect(&spec).await.map_err(|e| e.to_string())?;
    let schema = dbwarden::introspect::introspect(backend.as_mut(), None).await.map_err(|e| e.to_string());
    backend.close().await;
    schema
}

async fn case(dialect: Dialect, old: Schema, new: Schema) -> Result<(), String> {
    let options = Options { column_order: ColumnOrder::Exact, ..Options::default() };
    let generate = |a: &Schema, b: &Schema| {
        compare(dialect, a.clone(), b.clone(), &Renames::default()).migration(dialect, &options).map(|g| g.text)
    };
    let canonical = |s: &Schema| dbwarden::introspect::canonical(dialect, s);
    let db = TestDb::new(dialect).await;
    let dir = write_migrations(db.dir.path(), "app", &[]);
    let m = Migrator::new(Source::dir(&dir));
    let url = db.url.as_str();
    if let Some(setup) = generate(&Schema::default(), &old) {
        std::fs::write(dir.join("app__0001_old.sql"), &setup).unwrap();
        m.run(url).await.map_err(|e| format!("creating `old`: {e}\n{setup}"))?;
    }
    if live(&db).await? != canonical(&old) {
        return Err(format!("`old` does not read back:\n{:#?}", live(&db).await?));
    }
    let Some(text) = generate(&old, &new) else {
        return if canonical(&old) == canonical(&new) { Ok(()) } else { Err("nothing generated".into()) };
    };
    std::fs::write(dir.join("app__0002_change.sql"), &text).unwrap();
    m.run(url).await.map_err(|e| format!("upgrade: {e}\n{text}"))?;
    let after = live(&db).await?;
    if after != canonical(&new) {
        return Err(format!("after the upgrade:\n{after:#?}\nexpected\n{:#?}\n{text}", canonical(&new)));
    }
    if let Some(again) = generate(&after, &new) {
        return Err(format!("generating again is not empty:\n{again}\nafter\n{text}"));
    }
    m.rollback(url, RollbackTo::Count(1)).await.map_err(|e| format!("rollback: {e}\n{text}"))?;
    let back = live(&db).await?;
    if back != canonical(&old) {
        return Err(format!("after the rollback:\n{back:#?}\nexpected\n{:#?}\n{text}", canonical(&old)));
    }
    Ok(())
}

/// `cases` per run; `DBWARDEN_RANDOM_CASES=n` asks for `n` (a longer hunt than CI's).
fn run(dialect: Dialect, cases: u32) {
    let cases = std::env::var("DBWARDEN_RANDOM_CASES").ok().and_then(|n| n.parse().ok()).unwrap_or(cases);
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let mut runner = TestRunner::new(Config { cases, failure_persistence: None, ..Config::default() });
    let schemas = || dbwarden_core::schema::arbitrary::schemas();
    let result = runner.run(&(schemas(), schemas()), |(old, new)| {
        rt.block_on(case(dialect, old, new)).map_err(|e| TestCaseError::fail(format!("{dialect}: {e}")))
    });
    if let Err(e) = result {
        panic!("{e}");
    }
}

#[test]
fn sqlite() {
    run(Dialect::Sqlite, 64);
}

#[test]
fn postgres() {
    run(Dialect::Postgres, 24);
}

#[test]
fn mariadb() {
    run(Dialect::MySql, 16);
}
