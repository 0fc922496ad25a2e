//! The committed schema snapshot: the schema the migration files of one database produce, kept beside them as
//! `<migrations_dir>/schema.snapshot.json` by `make-migrations`.
//!
//! It is what makes generation work offline (no database reachable, e.g. in CI): the models are diffed against it.
//! It is deterministic (tables, columns and constraints in the IR's order, pretty JSON, no timestamps) and its size
//! is proportional to the schema, not to the history. It records the newest migration file it covers, so a
//! migration written by hand after it is noticed instead of silently ignored.

use std::path::{Path, PathBuf};

use dbwarden_core::schema::Schema;
use dbwarden_core::Dialect;
use serde::{Deserialize, Serialize};

/// The snapshot's file name inside a migrations folder.
pub const FILE_NAME: &str = "schema.snapshot.json";

/// The format written by this version.
const FORMAT: u32 = 1;

/// A snapshot that cannot be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SnapshotError {
    /// Reading or writing failed.
    #[error("{path}: {message}")]
    Io {
        /// The snapshot file.
        path: PathBuf,
        /// What went wrong.
        message: String,
    },
    /// The file is not a snapshot this version understands.
    #[error("{path}:{line}: not a dbwarden schema snapshot: {message}")]
    Invalid {
        /// The snapshot file.
        path: PathBuf,
        /// 1-based line of the problem.
        line: usize,
        /// What is wrong.
        message: String,
    },
}

/// The schema after every migration file up to `covers`, for one dialect.
///
/// ```
/// use dbwarden::snapshot::Snapshot;
/// use dbwarden::{schema::Schema, Dialect};
/// let dir = tempfile::tempdir().unwrap();
/// let snap = Snapshot::new(Dialect::Sqlite, Some("primary__0001_init.sql".into()), Schema::default());
/// snap.save(dir.path()).unwrap();
/// assert_eq!(Snapshot::load(dir.path()).unwrap(), Some(snap));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Snapshot {
    /// The snapshot format.
    pub format: u32,
    /// The dialect the schema is written for (types and defaults as that server reads them back).
    pub dialect: Dialect,
    /// The newest versioned migration file the schema includes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub covers: Option<String>,
    /// A digest of every versioned file it includes (names and upgrade checksums), so an edited, added or removed
    /// file is noticed even when the newest one is unchanged.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub files: Option<String>,
    /// The schema.
    pub schema: Schema,
}

impl Snapshot {
    /// A snapshot of `schema`, which the files up to `covers` produce.
    pub fn new(dialect: Dialect, covers: Option<String>, schema: Schema) -> Snapshot {
        Snapshot { format: FORMAT, dialect, covers, files: None, schema }
    }

    /// The snapshot file of a migrations folder.
    pub fn path(dir: &Path) -> PathBuf {
        dir.join(FILE_NAME)
    }

    /// Reads the snapshot of `dir`; `None` when there is none.
    pub fn load(dir: &Path) -> Result<Option<Snapshot>, SnapshotError> {
        let path = Snapshot::path(dir);
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(SnapshotError::Io { path, message: e.to_string() }),
        };
        let snapshot: Snapshot = serde_json::from_str(&text).map_err(|e| SnapshotError::Invalid {
            path: path.clone(),
            line: e.line(),
            message: format!("{e}; delete it and run make-migrations with the database reachable to rewrite it"),
        })?;
        if snapshot.format != FORMAT {
            return Err(SnapshotError::Invalid {
                path,
                line: 1,
                message: format!(
                    "format {} is not {FORMAT}; it was written by another dbwarden version",
                    snapshot.format
                ),
            });
        }
        Ok(Some(snapshot))
    }

    /// Writes the snapshot into `dir` (atomically: a temporary file renamed over the old one).
    pub fn save(&self, dir: &Path) -> Result<PathBuf, SnapshotError> {
        let path = Snapshot::path(dir);
        let io = |e: std::io::Error| SnapshotError::Io { path: path.clone(), message: e.to_string() };
        let mut text = serde_json::to_string_pretty(self)
            .map_err(|e| SnapshotError::Io { path: path.clone(), message: e.to_string() })?;
        text.push('\n');
        std::fs::create_dir_all(dir).map_err(io)?;
        let temp = dir.join(format!(".{FILE_NAME}.tmp"));
        std::fs::write(&temp, text).map_err(io)?;
        std::fs::rename(&temp, &path).map_err(io)?;
        Ok(path)
    }
}
