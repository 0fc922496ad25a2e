use std::collections::BTreeMap;
use std::path::Path;

use super::{FormatError, MigrationFile, MigrationKind};

/// A migration file's name and text, from a folder or embedded in a binary.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceFile {
    /// The file name (no folder).
    pub filename: String,
    /// The file's text.
    pub contents: String,
}

/// Reads the `.sql` files of a folder (not its sub-folders). Other files (a README, the schema snapshot) are left
/// alone. A missing folder is an empty set. Text that is not UTF-8 is an error naming the file and line.
pub fn read_dir(dir: &Path) -> Result<Vec<SourceFile>, FormatError> {
    let io = |e: std::io::Error| FormatError::Io { path: dir.to_path_buf(), message: e.to_string() };
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(io(e)),
    };
    let mut files = Vec::new();
    for entry in entries {
        let entry = entry.map_err(io)?;
        let path = entry.path();
        let Some(filename) = path.file_name().and_then(|n| n.to_str()).map(str::to_string) else {
            continue;
        };
        if !filename.ends_with(".sql") || !path.is_file() {
            continue;
        }
        let bytes = std::fs::read(&path).map_err(|e| FormatError::Io { path: path.clone(), message: e.to_string() })?;
        let contents = String::from_utf8(bytes).map_err(|e| {
            let valid = &e.as_bytes()[..e.utf8_error().valid_up_to()];
            let line = 1 + valid.iter().filter(|&&b| b == b'\n').count() as u32;
            FormatError::NotUtf8 { file: filename.clone(), line }
        })?;
        files.push(SourceFile { filename, contents });
    }
    Ok(files)
}

/// Parses files into migrations, in apply order: versioned by version, then repeatables by name.
///
/// All files must belong to one database (`expected_db` when given, else the first file's). Two versioned files
/// with one version are an error naming both.
///
/// ```
/// use dbwarden_core::file::{resolve_files, SourceFile};
/// let file = |name: &str| SourceFile { filename: name.into(), contents: "-- upgrade\nSELECT 1;\n-- rollback\n".into() };
/// let set = resolve_files(vec![file("app__0002_b.sql"), file("app__RA__v.sql"), file("app__0001_a.sql")], Some("app")).unwrap();
/// let names: Vec<_> = set.iter().map(|m| m.filename.as_str()).collect();
/// assert_eq!(names, ["app__0001_a.sql", "app__0002_b.sql", "app__RA__v.sql"]);
/// assert!(resolve_files(vec![file("app__0001_a.sql"), file("app__0001_b.sql")], None).is_err());
/// ```
pub fn resolve_files(files: Vec<SourceFile>, expected_db: Option<&str>) -> Result<Vec<MigrationFile>, FormatError> {
    let mut parsed =
        files.iter().map(|f| MigrationFile::parse(&f.filename, &f.contents)).collect::<Result<Vec<_>, _>>()?;
    parsed.sort_by(|a, b| a.filename.cmp(&b.filename));

    let db = expected_db.map(str::to_string).or_else(|| parsed.first().map(|f| f.name.db.clone()));
    let mut versions: BTreeMap<u64, &MigrationFile> = BTreeMap::new();
    let mut repeatables: BTreeMap<&str, &MigrationFile> = BTreeMap::new();
    for file in &parsed {
        if Some(&file.name.db) != db.as_ref() {
            return Err(FormatError::Misplaced {
                file: file.filename.clone(),
                message: format!(
                    "belongs to database `{}` but this folder holds the migrations of `{}`; move it to that database's folder or rename it",
                    file.name.db,
                    db.as_deref().unwrap_or_default()
                ),
            });
        }
        match (file.name.kind, file.name.version) {
            (MigrationKind::Versioned, Some(v)) => {
                if let Some(first) = versions.insert(v.0, file) {
                    return Err(FormatError::DuplicateVersion {
                        version: v.to_string(),
                        first: first.filename.clone(),
                        second: file.filename.clone(),
                    });
                }
            }
            _ => {
                if let Some(first) = repeatables.insert(file.name.slug.as_str(), file) {
                    return Err(FormatError::Misplaced {
                        file: file.filename.clone(),
                        message: format!(
                            "repeatable `{}` is also defined by {}; keep one",
                            file.name.slug, first.filename
                        ),
                    });
                }
            }
        }
    }
    parsed.sort_by(|a, b| {
        let key = |f: &MigrationFile| (f.name.kind != MigrationKind::Versioned, f.name.version, f.filename.clone());
        key(a).cmp(&key(b))
    });
    Ok(parsed)
}
