//! Where migrations come from: a folder read at run time, or a set embedded at compile time. Both go through
//! `dbwarden_core::file::resolve_files`, so they cannot disagree.

use std::path::{Path, PathBuf};

use dbwarden_core::file::{
    database_name, read_dir, resolve_files, subfolders_with_migrations, Fingerprint, MigrationFile,
};

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
                warn_not_embedded(set, &missing);
                Ok(std::sync::Arc::new(Loaded::new(set.db.to_string(), set.resolve()?, missing)))
            }
            Source::Dir { path, db } => {
                // A folder that is not there is a mistake (a typo, another working directory), not "nothing to do".
                if !path.is_dir() {
                    return Err(Error::NoMigrationsDir { path: path.clone() });
                }
                let files = resolve_files(read_dir(path)?, db.as_deref())?;
                if files.is_empty() {
                    // `migrations` for `migrations/app`: "nothing to apply" would be a silent wrong answer.
                    let subfolders = subfolders_with_migrations(path);
                    if !subfolders.is_empty() {
                        return Err(Error::MigrationsInSubfolders { path: path.clone(), subfolders });
                    }
                }
                let db = db.clone().unwrap_or_else(|| database_name(path, &files));
                Ok(std::sync::Arc::new(Loaded::new(db, files, Vec::new())))
            }
            Source::Resolved(loaded) => Ok(loaded.clone()),
        }
    }

    /// The database name and the fingerprint of the set fully applied, without reading or parsing a file where the
    /// source allows it (embedded: computed at compile time; resolved: once). `None` for a folder, which must be read.
    /// Unlike [`Source::load`] it does not look for files missing from a binary: see [`Source::warn_not_embedded`].
    pub(crate) fn fingerprint(&self) -> Option<(String, Option<Fingerprint>)> {
        match self {
            Source::Embedded(set) => {
                let fingerprint = set
                    .fingerprint
                    .map(|digest| Fingerprint { digest: digest.to_string(), migrations: set.files.len() as u64 });
                Some((set.db.to_string(), fingerprint))
            }
            Source::Resolved(loaded) => Some((loaded.db.clone(), loaded.fingerprint.clone())),
            Source::Dir { .. } => None,
        }
    }

    /// The database name alone, without reading a file where the name is known (a config's folder, an embedded
    /// set) or from the file names (see [`dbwarden_core::file::database_of_dir`]): for the lock's commands, which
    /// need no migration and must work without the folder.
    pub(crate) fn db_name(&self) -> String {
        match self {
            Source::Embedded(set) => set.db.to_string(),
            Source::Dir { db: Some(db), .. } => db.clone(),
            Source::Dir { path, db: None } => dbwarden_core::file::database_of_dir(path),
            Source::Resolved(loaded) => loaded.db.clone(),
        }
    }

    /// The warning [`Source::load`] gives about files on disk an embedded set lacks, for callers that skip `load`.
    pub(crate) fn warn_not_embedded(&self) {
        if let Source::Embedded(set) = self {
            warn_not_embedded(set, &set.files_missing_from_binary());
        }
    }
}

fn warn_not_embedded(set: &EmbeddedMigrations, missing: &[String]) {
    if missing.is_empty() {
        return;
    }
    const MESSAGE: &str = "migration files on disk are not in this binary; rebuild it (add \
        `println!(\"cargo:rerun-if-changed=migrations\")` to build.rs)";
    if tracing::dispatcher::has_been_set() {
        tracing::warn!(folder = set.dir, files = ?missing, "{MESSAGE}");
    } else {
        // An application without a tracing subscriber would never see it, and the point is not to miss a file.
        eprintln!("dbwarden: warning: {MESSAGE}: {} in {}", missing.join(", "), set.dir);
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
    /// The set fully applied (see [`dbwarden_core::file::fingerprint`]); `None` with an `RA__` file.
    pub fingerprint: Option<Fingerprint>,
}

impl Loaded {
    /// A loaded set; computes its fingerprint.
    pub fn new(db: String, files: Vec<MigrationFile>, not_embedded: Vec<String>) -> Loaded {
        let fingerprint = dbwarden_core::file::fingerprint::of_files(&files);
        Loaded { db, files, not_embedded, fingerprint }
    }
}
