//! The fingerprint of a migration set as it looks fully applied: one digest of every `(migration, checksum)` pair
//! the history table holds once all of it ran. `migrate` records it when it leaves a database complete, so the next
//! start-up with nothing to do compares one stored value instead of reading the whole history. `embed_migrations!`
//! computes it at compile time with this same function.

use sha2::{Digest, Sha256};

use super::{MigrationFile, MigrationKind};

/// Digest and size of a fully applied migration set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fingerprint {
    /// Lower-case hex SHA-256 of the sorted [`item`]s.
    pub digest: String,
    /// How many history rows the set leaves: one per file.
    pub migrations: u64,
}

/// What one applied migration contributes: its key (the version, or the file name of a repeatable) and checksum.
///
/// ```
/// use dbwarden_core::file::fingerprint::item;
/// assert_eq!(item(Some(7), "primary__ROC__views.sql", "ab"), "V7:ab");
/// assert_eq!(item(None, "primary__ROC__views.sql", "ab"), "Rprimary__ROC__views.sql:ab");
/// ```
pub fn item(version: Option<u64>, filename: &str, checksum: &str) -> String {
    match version {
        Some(v) => format!("V{v}:{checksum}"),
        None => format!("R{filename}:{checksum}"),
    }
}

/// The fingerprint of a set of items, in any order.
pub fn of_items(mut items: Vec<String>) -> Fingerprint {
    items.sort_unstable();
    let mut hasher = Sha256::new();
    for item in &items {
        hasher.update(item.as_bytes());
        hasher.update(b"\n");
    }
    Fingerprint { digest: crate::checksum::hex(&hasher.finalize()), migrations: items.len() as u64 }
}

/// The fingerprint of `files` fully applied; `None` when one runs on every migrate (`RA__`), so that no state of the
/// database means "nothing to do".
///
/// ```
/// use dbwarden_core::file::{fingerprint, MigrationFile};
/// let one = MigrationFile::parse("app__0001_a.sql", "-- upgrade\nSELECT 1;\n-- rollback\n").unwrap();
/// let two = MigrationFile::parse("app__0002_b.sql", "-- upgrade\nSELECT 2;\n-- rollback\n").unwrap();
/// let set = fingerprint::of_files(&[one.clone(), two.clone()]).unwrap();
/// assert_eq!(set.migrations, 2);
/// assert_eq!(Some(set.clone()), fingerprint::of_files(&[two, one.clone()]));
/// assert_ne!(Some(set), fingerprint::of_files(&[one]));
/// ```
pub fn of_files(files: &[MigrationFile]) -> Option<Fingerprint> {
    let mut items = Vec::with_capacity(files.len());
    for file in files {
        if file.name.kind == MigrationKind::RepeatableAlways {
            return None;
        }
        items.push(item(file.name.version.map(|v| v.0), &file.filename, &file.checksum));
    }
    Some(of_items(items))
}
