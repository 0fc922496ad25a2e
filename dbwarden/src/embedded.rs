//! Migrations baked into the binary by [`embed_migrations!`](crate::embed_migrations).

use std::path::Path;

use dbwarden_core::file::{resolve_files, FormatError, MigrationFile, SourceFile};

/// One migration file as `embed_migrations!` baked it in: its text (through `include_str!`, so editing the file
/// rebuilds the binary) and the checksums computed at compile time.
#[derive(Debug)]
pub struct EmbeddedFile {
    /// The file name.
    pub filename: &'static str,
    /// The file's text.
    pub contents: &'static str,
    /// SHA-256 of the normalised upgrade section, computed by the macro.
    pub checksum: &'static str,
    /// SHA-256 of the normalised rollback section, computed by the macro.
    pub rollback_checksum: &'static str,
}

/// The migrations of one database, embedded at compile time.
///
/// Made by [`embed_migrations!`](crate::embed_migrations); with a folder argument it is an expression, usable in a
/// `static`:
///
/// ```ignore
/// static MIGRATIONS: dbwarden::EmbeddedMigrations = dbwarden::embed_migrations!("migrations/primary");
/// ```
#[derive(Debug)]
pub struct EmbeddedMigrations {
    /// The database name (the files' `<db>__` prefix, or the folder name when it holds no file yet).
    pub db: &'static str,
    /// The absolute folder the files were read from at compile time; used at run time to warn about files added
    /// after the build.
    pub dir: &'static str,
    /// The files, in apply order.
    pub files: &'static [EmbeddedFile],
    /// The digest of [`dbwarden_core::file::fingerprint::of_files`] over the files, computed by the macro; `None`
    /// when a file runs on every migrate.
    pub fingerprint: Option<&'static str>,
}

impl EmbeddedMigrations {
    /// Resolves the embedded files with the same resolver as a folder read at run time.
    pub fn resolve(&self) -> Result<Vec<MigrationFile>, FormatError> {
        let files = self
            .files
            .iter()
            .map(|f| SourceFile { filename: f.filename.to_string(), contents: f.contents.to_string() })
            .collect();
        resolve_files(files, Some(self.db))
    }

    /// File names present in the compile-time folder on this machine but not in the binary (a migration added after
    /// the last build). Empty when the folder is not there (a deployed binary).
    pub fn files_missing_from_binary(&self) -> Vec<String> {
        // Names only: this runs on every start-up, where reading every file's text would cost as much as the check.
        let Ok(on_disk) = std::fs::read_dir(Path::new(self.dir)) else {
            return Vec::new();
        };
        let embedded: std::collections::HashSet<&str> = self.files.iter().map(|e| e.filename).collect();
        let mut missing: Vec<String> = on_disk
            .filter_map(|entry| entry.ok()?.file_name().into_string().ok())
            .filter(|name| name.ends_with(".sql") && !embedded.contains(name.as_str()))
            .collect();
        missing.sort();
        missing
    }
}

/// A registration made by `embed_migrations!()` (no argument), found by [`crate::migrate`] without being named.
#[doc(hidden)]
pub struct Registered(pub &'static EmbeddedMigrations);

inventory::collect!(Registered);

/// Every migration set registered by `embed_migrations!()` in the linked program, sorted by database name.
pub fn registered() -> Vec<&'static EmbeddedMigrations> {
    let mut all: Vec<&'static EmbeddedMigrations> = inventory::iter::<Registered>.into_iter().map(|r| r.0).collect();
    all.sort_by_key(|m| m.db);
    all.dedup_by_key(|m| m.db);
    all
}

/// The registered migration set of database `db`.
pub fn find(db: &str) -> Option<&'static EmbeddedMigrations> {
    registered().into_iter().find(|m| m.db == db)
}
