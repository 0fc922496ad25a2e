//! Migration files: names (`<db>__NNNN_<slug>.sql`), sections and directives, and resolving a folder of them.
//!
//! This is the one resolver used both by `embed_migrations!` at compile time and by the runtime when it reads a
//! folder, so the two cannot disagree.

mod error;
pub mod fingerprint;
mod name;
mod parse;
mod resolve;

pub use error::FormatError;
pub use fingerprint::Fingerprint;
pub use name::{slugify, title_line, FileName, MigrationKind, Version, MAX_SLUG};
pub use parse::{Directives, MigrationFile, Section};
pub use resolve::{database_name, database_of_dir, read_dir, resolve_files, subfolders_with_migrations, SourceFile};
