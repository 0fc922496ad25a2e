//! The example project as the README's quick start and tour tell it: the migration committed in
//! `examples/migrations/primary` is what the generator writes from `examples/models` today (header, steps, SQL,
//! snapshot), and the application side (`examples/app.rs`: embedded at compile time, applied at start-up) applies it
//! and is up to date the second time.

mod common;
#[path = "../examples/models/mod.rs"]
mod models;

use std::path::Path;

use common::{cli, TestDb};
use dbwarden::Dialect;

cli_entry!();

/// The example's migrations folder, as `dbwarden.toml` names it.
const FOLDER: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/migrations/primary");

fn read_folder(dir: &Path) -> Vec<(String, String)> {
    let mut files: Vec<(String, String)> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| {
            let path = e.unwrap().path();
            (path.file_name().unwrap().to_string_lossy().into_owned(), std::fs::read_to_string(&path).unwrap())
        })
        .collect();
    files.sort();
    files
}

/// `cargo run --example generate` on a fresh checkout (no migrations yet) writes exactly the committed files: the
/// models (this binary links them, as the example's does) and the committed SQL cannot drift apart unnoticed.
#[test]
fn the_committed_example_migration_is_what_the_generator_writes() {
    let root = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", root.path().join("app.db").display());
    let out = cli(root.path(), &["--url", &url, "--migrations-dir", "primary", "make-migrations"]);
    assert_eq!(out.code, 0, "{out:?}");
    assert!(out.stdout.contains("wrote") && out.stdout.contains("create table users"), "{out:?}");
    let written = read_folder(&root.path().join("primary"));
    let committed = read_folder(Path::new(FOLDER));
    let names = |files: &[(String, String)]| files.iter().map(|(n, _)| n.clone()).collect::<Vec<_>>();
    assert_eq!(names(&written), names(&committed), "regenerate examples/migrations/primary (see the README's tour)");
    for ((name, text), (_, expected)) in written.iter().zip(&committed) {
        assert_eq!(text, expected, "{name} differs from what the generator writes: regenerate it");
    }
    // The committed folder is up to date with the models: nothing more to generate against its snapshot.
    let out = cli(
        Path::new(env!("CARGO_MANIFEST_DIR")),
        &["--url", &url, "--migrations-dir", FOLDER, "diff", "--offline", "--exit-code"],
    );
    assert_eq!(out.code, 0, "{out:?}");
}

/// What `examples/app.rs` does at start-up, on a SQLite file of its own: the embedded migration applies (three
/// statements), and a second start has nothing to do.
#[tokio::test]
async fn the_example_app_applies_the_embedded_migration_once() {
    static MIGRATIONS: dbwarden::EmbeddedMigrations = dbwarden::embed_migrations!("examples/migrations/primary");
    let db = TestDb::new(Dialect::Sqlite).await;
    let migrator = dbwarden::Migrator::new(&MIGRATIONS);
    let report = migrator.run(db.url.as_str()).await.unwrap();
    let applied: Vec<(&str, usize)> = report.steps.iter().map(|s| (s.filename.as_str(), s.statements)).collect();
    assert_eq!(applied, [("primary__0001_create_table_users_and_more.sql", 3)], "as the README's quick start shows");
    assert!(migrator.run(db.url.as_str()).await.unwrap().steps.is_empty(), "up to date the second time");
    let status = migrator.status(db.url.as_str()).await.unwrap();
    assert_eq!((status.applied, status.pending), (1, 0));
    let tables = db.strings("SELECT name FROM sqlite_master WHERE type = 'table' AND name IN ('users', 'posts')").await;
    assert_eq!(tables.len(), 2, "{tables:?}");
}
