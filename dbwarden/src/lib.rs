//! # dbwarden
//!
//! SQL-first database migrations for PostgreSQL, MySQL/MariaDB and SQLite: plain `.sql` files with an `-- upgrade`
//! and a `-- rollback` section, embedded in your binary with compile-time checksums, applied at start-up behind a
//! lock that holds across processes and machines.
//!
//! ```no_run
//! dbwarden::embed_migrations!(); // bakes ./migrations/<db>/*.sql into the binary
//!
//! # async fn start() -> Result<(), Box<dyn std::error::Error>> {
//! let pool = sqlx::SqlitePool::connect("sqlite://app.db?mode=rwc").await?;
//! let report = dbwarden::migrate(&pool).await?;
//! println!("applied {} migration(s)", report.steps.len());
//! # Ok(()) }
//! ```
//!
//! The pipeline, one module each: migration [`source`] (folder or [`embedded`]) → [`migrator`] (plan, lock,
//! checksums, history) → [`backend`] (one small driver per server), with [`config`] and the [`cli`] on top.
#![forbid(unsafe_code)]
// Errors carry what a message needs (file, line, statement, the server's words) by value: they are built once, on
// a cold path, and matched by field in the CLI and by users. Boxing them to please `result_large_err` would cost
// every match an indirection and gain nothing measurable.
#![allow(clippy::result_large_err)]

pub mod backend;
pub mod cli;
pub mod config;
pub mod embedded;
mod error;
pub mod field_types;
pub mod generate;
pub mod head;
pub mod history;
pub mod introspect;
pub mod lock;
pub mod make;
pub mod migrator;
pub mod models;
pub mod render;
pub mod snapshot;
pub mod source;
pub mod types;
pub mod url;
pub mod verify;

pub use dbwarden_core::file::{FormatError, MigrationFile};
pub use dbwarden_core::schema;
pub use dbwarden_core::{checksum, diff, file, lexer, Dialect};
pub use dbwarden_macros::embed_migrations;
pub use dbwarden_macros::schema_manifest;
pub use dbwarden_macros::Table;
pub use embedded::{EmbeddedFile, EmbeddedMigrations};
pub use error::{DbError, Error, FailedStatement, LockHolderDescription};
pub use migrator::{EntryState, Migrator, Report, RollbackTo, Status, StatusEntry, Step};
pub use source::Source;

/// Applies every pending migration embedded by `embed_migrations!()` to the database behind `target`
/// (`&PgPool`, `&MySqlPool`, `&SqlitePool`, `&AnyPool` or a URL), behind the migration lock.
///
/// With several databases embedded, use [`Migrator`] with the one you mean. Edited or missing applied files stop it
/// with an error naming them.
pub async fn migrate(target: &(impl backend::Target + ?Sized)) -> Result<Report, Error> {
    let sets = embedded::registered();
    let set = match sets.as_slice() {
        [one] => *one,
        [] => {
            return Err(Error::Usage(
                "no migrations are registered for dbwarden::migrate: call `dbwarden::embed_migrations!();` once in \
                 your crate (it reads ./migrations/<db>/ and registers them); a set embedded with a path \
                 (`static M: EmbeddedMigrations = embed_migrations!(\"dir\")`) runs with `Migrator::new(&M).run(&pool)`"
                    .into(),
            ))
        }
        many => {
            let names: Vec<&str> = many.iter().map(|m| m.db).collect();
            return Err(Error::Usage(format!(
                "{} migration sets are embedded ({}): use `dbwarden::Migrator::new(dbwarden::embedded::find(\"<db>\").unwrap())`",
                many.len(),
                names.join(", ")
            )));
        }
    };
    Migrator::new(set).run(target).await
}

#[doc(hidden)]
pub mod __private {
    pub use crate::embedded::Registered;
    pub use inventory;
}
