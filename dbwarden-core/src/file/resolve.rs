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
            // `x.SQL` would be skipped silently where a case-insensitive file system (macOS, Windows) reads it.
            let ext = filename.len().checked_sub(4).and_then(|at| filename.get(at..));
            if ext.is_some_and(|e| e.eq_ignore_ascii_case(".sql")) && path.is_file() {
                return Err(FormatError::Misplaced {
                    file: filename.clone(),
                    message: "ends in another case of `.sql`; migration files end in `.sql`: rename it".into(),
                });
            }
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
    // Beside the folder's own files, migrations of the same database in a sub-folder would be left out silently.
    // (Another database's folder nested here, or a folder with no files of its own, the parent of database
    // folders, is no concern of this one.)
    if let Some(db) = files.iter().find_map(|f| super::FileName::parse(&f.filename).ok()).map(|n| n.db) {
        if let Some(sub) = subfolders_holding(dir, |name| name.db == db).first() {
            return Err(FormatError::Misplaced {
                file: dir.join(sub).display().to_string(),
                message: format!(
                    "holds migration files of `{db}`, but only the folder's own files are read, not its \
                     sub-folders: move them up into the folder, or out of it"
                ),
            });
        }
    }
    Ok(files)
}

/// The sub-folders of `dir` holding at least one file named like a migration, by name, sorted: for a folder with
/// no migration files of its own, the sign that it is the root of `migrations/<db>/` rather than one database's
/// folder. The runtime's folder source and `embed_migrations!("dir")` both refuse such a folder with this list.
///
/// ```
/// # let root = std::env::temp_dir().join(format!("dbwarden-doc-sub-{}", std::process::id()));
/// std::fs::create_dir_all(root.join("app")).unwrap();
/// std::fs::write(root.join("app/app__0001_a.sql"), "-- upgrade\n-- rollback\n").unwrap();
/// std::fs::create_dir_all(root.join("notes")).unwrap();
/// assert_eq!(dbwarden_core::file::subfolders_with_migrations(&root), ["app"]);
/// # std::fs::remove_dir_all(&root).unwrap();
/// ```
pub fn subfolders_with_migrations(dir: &Path) -> Vec<String> {
    subfolders_holding(dir, |_| true)
}

/// The sub-folders of `dir` holding at least one file named like a migration that `wanted` accepts, by name,
/// sorted.
fn subfolders_holding(dir: &Path, wanted: impl Fn(&super::FileName) -> bool) -> Vec<String> {
    let entries = std::fs::read_dir(dir).into_iter().flatten().filter_map(Result::ok);
    let mut found: Vec<String> = entries
        .filter(|e| e.path().is_dir())
        .filter(|e| {
            let files = std::fs::read_dir(e.path()).into_iter().flatten().filter_map(Result::ok);
            files
                .filter_map(|f| f.file_name().into_string().ok())
                .any(|n| super::FileName::parse(&n).is_ok_and(|n| wanted(&n)))
        })
        .filter_map(|e| e.file_name().into_string().ok())
        .collect();
    found.sort();
    found
}

/// The database a folder of migrations belongs to: its files' `<db>__` prefix, else (an empty folder) the folder's
/// own name (`migrations/analytics` -> `analytics`), else `primary`. `embed_migrations!`, the runtime and the CLI's
/// `--migrations-dir` all name a folder's database by this rule, so they take the same lock and history namespace.
///
/// ```
/// use std::path::Path;
/// use dbwarden_core::file::{database_name, MigrationFile};
/// let file = MigrationFile::parse("app__0001_a.sql", "-- upgrade\nSELECT 1;\n-- rollback\n").unwrap();
/// assert_eq!(database_name(Path::new("sql"), &[file]), "app");
/// assert_eq!(database_name(Path::new("migrations/analytics"), &[]), "analytics");
/// ```
pub fn database_name(dir: &Path, files: &[MigrationFile]) -> String {
    if let Some(file) = files.first() {
        return file.name.db.clone();
    }
    database_of_names(dir, std::iter::empty())
}

/// [`database_name`] from file names alone (no file is read or parsed beyond its name): the first name in order
/// that parses as a migration names the database. For callers that need the name before loading the files.
pub fn database_of_dir(dir: &Path) -> String {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| n.ends_with(".sql"))
        .collect();
    names.sort();
    database_of_names(dir, names.iter().map(String::as_str))
}

fn database_of_names<'a>(dir: &Path, mut names: impl Iterator<Item = &'a str>) -> String {
    if let Some(name) = names.find_map(|n| super::FileName::parse(n).ok()) {
        return name.db;
    }
    let last = |p: &Path| p.file_name().map(|n| n.to_string_lossy().into_owned());
    // `.` or `..` have no last component until resolved.
    last(dir).or_else(|| dir.canonicalize().ok().as_deref().and_then(last)).unwrap_or_else(|| "primary".into())
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
    // `-- depends_on:` names versions that come before the file (versions apply in order): one that is not a
    // number, or is this file's own or a later one, is a typo or a file renumbered since, not something to ignore.
    // An earlier version without a file may be an applied migration whose file was deleted (`--ignore-missing`).
    let last = versions.keys().next_back().copied();
    for file in &parsed {
        for dependency in &file.directives.depends_on {
            let digits = dependency.trim();
            let version = digits.parse::<u64>().ok().filter(|_| digits.bytes().all(|b| b.is_ascii_digit()));
            let problem = match version.ok_or(()) {
                Err(_) => "is not a version number",
                Ok(v)
                    if file.name.kind == MigrationKind::Versioned
                        && file.name.version.is_some_and(|own| own.0 <= v) =>
                {
                    "does not come before this file (versions apply in order)"
                }
                Ok(v) if last.is_none_or(|last| v > last) => "is later than every migration file of this folder",
                Ok(_) => continue,
            };
            return Err(FormatError::Misplaced {
                file: file.filename.clone(),
                message: format!(
                    "its `-- depends_on:` header names \"{dependency}\", which {problem}; fix or remove it"
                ),
            });
        }
    }
    parsed.sort_by(|a, b| {
        let key = |f: &MigrationFile| (f.name.kind != MigrationKind::Versioned, f.name.version, f.filename.clone());
        key(a).cmp(&key(b))
    });
    Ok(parsed)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(name: &str, header: &str) -> SourceFile {
        SourceFile { filename: name.into(), contents: format!("{header}-- upgrade\nSELECT 1;\n-- rollback\n") }
    }

    #[test]
    fn depends_on_must_name_an_earlier_version_of_the_folder() {
        let ok = [file("app__0001_a.sql", ""), file("app__0002_b.sql", "-- depends_on: [\"0001\"]\n")];
        assert!(resolve_files(ok.to_vec(), None).is_ok());
        let cases = [
            ("-- depends_on: [\"0009\"]\n", "names \"0009\", which does not come before this file"),
            ("-- depends_on: [\"0003\"]\n", "names \"0003\", which does not come before this file"),
            ("-- depends_on: [\"0002\"]\n", "names \"0002\", which does not come before this file"),
            ("-- depends_on: [\"abc\"]\n", "names \"abc\", which is not a version number"),
            ("-- depends_on: [\"+1\"]\n", "names \"+1\", which is not a version number"),
        ];
        for (header, expected) in cases {
            let files = vec![file("app__0001_a.sql", ""), file("app__0002_b.sql", header), file("app__0003_c.sql", "")];
            let message = resolve_files(files, None).unwrap_err().to_string();
            assert!(message.starts_with("app__0002_b.sql") && message.contains(expected), "{header}: {message}");
        }
        // An earlier version without a file: an applied migration whose file was deleted, maybe.
        let gone = vec![file("app__0002_b.sql", "-- depends_on: [\"0001\"]\n"), file("app__0003_c.sql", "")];
        assert!(resolve_files(gone, None).is_ok());
        // A repeatable may depend on any version there is, not on one after every file.
        let files = vec![file("app__0001_a.sql", ""), file("app__RA__r.sql", "-- depends_on: [\"0007\"]\n")];
        let message = resolve_files(files, None).unwrap_err().to_string();
        assert!(message.contains("is later than every migration file"), "{message}");
        let files = vec![file("app__0001_a.sql", ""), file("app__RA__r.sql", "-- depends_on: [\"0001\"]\n")];
        assert!(resolve_files(files, None).is_ok());
    }
}

#[cfg(test)]
mod read_tests {
    #[test]
    fn an_upper_case_extension_is_an_error_naming_the_file() {
        let dir = std::env::temp_dir().join(format!("dbwarden-read-case-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("app__0001_a.sql"), "-- upgrade\n-- rollback\n").unwrap();
        std::fs::write(dir.join("notes.txt"), "not a migration").unwrap();
        assert_eq!(super::read_dir(&dir).unwrap().len(), 1);
        std::fs::write(dir.join("app__0002_b.SQL"), "-- upgrade\n-- rollback\n").unwrap();
        let message = super::read_dir(&dir).unwrap_err().to_string();
        std::fs::remove_dir_all(&dir).unwrap();
        assert!(message.starts_with("app__0002_b.SQL") && message.contains("rename it"), "{message}");
    }

    /// Migrations in a sub-folder beside the folder's own would be left out without a word: an error naming it.
    /// A sub-folder of other files is fine.
    #[test]
    fn migrations_in_a_sub_folder_beside_the_folders_own_are_an_error() {
        let dir = std::env::temp_dir().join(format!("dbwarden-read-sub-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("notes")).unwrap();
        std::fs::write(dir.join("app__0001_a.sql"), "-- upgrade\n-- rollback\n").unwrap();
        std::fs::write(dir.join("notes/readme.md"), "notes").unwrap();
        assert_eq!(super::read_dir(&dir).unwrap().len(), 1);
        // Another database's folder nested here is its own business.
        std::fs::create_dir_all(dir.join("analytics")).unwrap();
        std::fs::write(dir.join("analytics/analytics__0001_a.sql"), "-- upgrade\n-- rollback\n").unwrap();
        assert_eq!(super::read_dir(&dir).unwrap().len(), 1);
        std::fs::create_dir_all(dir.join("later")).unwrap();
        std::fs::write(dir.join("later/app__0002_b.sql"), "-- upgrade\n-- rollback\n").unwrap();
        let message = super::read_dir(&dir).unwrap_err().to_string();
        std::fs::remove_dir_all(&dir).unwrap();
        assert!(
            message.contains("/later: holds migration files of `app`") && message.contains("move them"),
            "{message}"
        );
    }
}
