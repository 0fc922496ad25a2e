//! The application side of dbwarden: migrations embedded at compile time, applied at start-up.
//!
//! ```text
//! cargo run --example app                                  # SQLite ./app.db
//! DATABASE_URL=postgres://postgres@127.0.0.1/test cargo run --example app
//! ```

use std::process::ExitCode;

/// Baked into the binary with compile-time checksums; `build.rs` makes cargo rebuild when a file is added.
static MIGRATIONS: dbwarden::EmbeddedMigrations = dbwarden::embed_migrations!("examples/migrations/primary");

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    sqlx::any::install_default_drivers();
    let url = std::env::var("DATABASE_URL").unwrap_or_else(|_| "sqlite://app.db?mode=rwc".into());
    let pool = match sqlx::AnyPool::connect(&url).await {
        Ok(pool) => pool,
        Err(e) => {
            eprintln!("cannot connect to {}: {e}", dbwarden::url::mask(&url));
            return ExitCode::from(2);
        }
    };
    let migrator = dbwarden::Migrator::new(&MIGRATIONS);
    match migrator.run(&pool).await {
        Ok(report) if report.steps.is_empty() => println!("{}: up to date", dbwarden::url::mask(&url)),
        Ok(report) => {
            for step in &report.steps {
                println!("applied {} ({} statements, {} ms)", step.filename, step.statements, step.elapsed_ms);
            }
        }
        Err(e) => {
            eprintln!("migration failed: {e}");
            if let Some(hint) = e.hint() {
                eprintln!("  hint: {hint}");
            }
            return ExitCode::from(2);
        }
    }
    let status = migrator.status(&pool).await.expect("status after migrate");
    println!("{} applied, {} pending", status.applied, status.pending);
    ExitCode::SUCCESS
}
