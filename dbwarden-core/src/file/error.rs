use std::path::PathBuf;

/// A migration file or folder that cannot be used, with the file, line and what to do.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FormatError {
    /// A `.sql` file whose name matches none of the patterns.
    #[error("{file}: file name does not match `<db>__<NNNN>_<slug>.sql`, `<db>__RA__<slug>.sql` or `<db>__ROC__<slug>.sql`; rename it (slug: letters, digits and `_`)")]
    BadName { file: String },
    /// Two versioned files with one version.
    #[error("{first} and {second} both have version {version}: renumber one of them")]
    DuplicateVersion { version: String, first: String, second: String },
    /// Two repeatable files with one slug, or a file of another database in this folder.
    #[error("{file}: {message}")]
    Misplaced { file: String, message: String },
    /// The file is not valid UTF-8.
    #[error("{file}:{line}: not valid UTF-8; save the file as UTF-8")]
    NotUtf8 { file: String, line: u32 },
    /// A section line is missing, repeated or misplaced, or a directive is malformed.
    #[error("{file}:{line}: {message}")]
    Syntax { file: String, line: u32, message: String },
    /// The statement lexer rejected a section.
    #[error("{file}:{line}: {message}")]
    Lex { file: String, line: u32, message: String },
    /// Reading the folder or a file failed.
    #[error("{path}: {message}")]
    Io { path: PathBuf, message: String },
}

impl FormatError {
    /// The file (or folder) the error is about.
    pub fn file(&self) -> String {
        match self {
            FormatError::BadName { file }
            | FormatError::Misplaced { file, .. }
            | FormatError::NotUtf8 { file, .. }
            | FormatError::Syntax { file, .. }
            | FormatError::Lex { file, .. } => file.clone(),
            FormatError::DuplicateVersion { second, .. } => second.clone(),
            FormatError::Io { path, .. } => path.display().to_string(),
        }
    }
}
