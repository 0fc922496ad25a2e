//! Where migrations come from: a folder read at run time, or a set embedded at compile time. Both go through
//! `dbwarden_core::file::resolve_files`, so they cannot disagree.

use std::path::{Path, PathBuf};

use dbwarden_core::file::{read_dir, resolve_files, MigrationFile};

use crate::embedded::EmbeddedMigrations;
use crate::error::Error;

/// A set of migration files for one database.
#[derive(Debug, Clone)]
pub enum Source {
    /// Files baked in by `embed_migrations!`.
    Embedded(&'static EmbeddedMigrations),
    /// A folder read at run time; `db` is the database name the files must carry (their `<db>__` prefix).
    Dir { path: PathBuf, db: Option<String> },
    /// Files already read and resolved (see [`crate::Migrator::resolve`]).
    Resolved(std::sync::Arc<Loaded>),
}

impl Source {
    /// A folder; the database name is taken from the files.
    pub fn dir(path: impl AsRef<Path>) -> Source {
        Source::Dir { path: path.as_ref().to_path_buf(), db: None }
    }

    /// Reads and orders the migrations.
    pub fn load(&self) -> Result<std::sync::Arc<Loaded>, Error> {
        match self {
            Source::Embedded(set) => {
                let missing = set.files_missing_from_binary();
                if !missing.is_empty() {
                    tracing::warn!(
                        folder = set.dir,
                        files = ?missing,
                        "migration files on disk are not in this binary; rebuild it (add `println!(\"cargo:rerun-if-changed=migrations\")` to build.rs)"
                    );
                }
                Ok(std::sync::Arc::new(Loaded { db: set.db.to_string(), files: set.resolve()?, not_embedded: missing }))
            }
            Source::Dir { path, db } => {
                let files = resolve_files(read_dir(path)?, db.as_deref())?;
                let db = db
                    .clone()
                    .or_else(|| files.first().map(|f| f.name.db.clone()))
                    .or_else(|| path.file_name().map(|n| n.to_string_lossy().into_owned()))
                    .unwrap_or_else(|| "primary".into());
                Ok(std::sync::Arc::new(Loaded { db, files, not_embedded: Vec::new() }))
            }
            Source::Resolved(loaded) => Ok(loaded.clone()),
        }
    }
}

impl From<&'static EmbeddedMigrations> for Source {
    fn from(set: &'static EmbeddedMigrations) -> Source {
        Source::Embedded(set)
    }
}

/// Migrations read from a [`Source`].
#[derive(Debug, Clone)]
pub struct Loaded {
    /// The database name.
    pub db: String,
    /// The files in apply order.
    pub files: Vec<MigrationFile>,
    /// Files on disk that the binary lacks (embedded sources only).
    pub not_embedded: Vec<String>,
}
