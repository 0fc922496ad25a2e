//! Deterministic names for constraints and indexes the models do not name (Alembic's conventions), kept within
//! 63 characters (PostgreSQL's identifier limit; MySQL's is 64).

const MAX: usize = 63;

fn bounded(name: String) -> String {
    if name.len() <= MAX {
        return name;
    }
    // Keep it unique and stable: cut, then add a short hash of the whole name.
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    name.hash(&mut h);
    let suffix = format!("_{:08x}", h.finish() as u32);
    let mut cut = MAX - suffix.len();
    while !name.is_char_boundary(cut) {
        cut -= 1;
    }
    format!("{}{suffix}", &name[..cut])
}

/// `ix_<table>_<col1>_<col2>`.
///
/// ```
/// assert_eq!(dbwarden_core::schema::index_name("posts", &["created_at"]), "ix_posts_created_at");
/// ```
pub fn index_name(table: &str, columns: &[impl AsRef<str>]) -> String {
    bounded(format!("ix_{table}_{}", join(columns)))
}

/// `uq_<table>_<col1>_<col2>`.
pub fn unique_name(table: &str, columns: &[impl AsRef<str>]) -> String {
    bounded(format!("uq_{table}_{}", join(columns)))
}

/// `fk_<table>_<col1>_<ref_table>`.
pub fn fk_name(table: &str, columns: &[impl AsRef<str>], ref_table: &str) -> String {
    bounded(format!("fk_{table}_{}_{ref_table}", join(columns)))
}

/// `ck_<table>_<name>`.
pub fn check_name(table: &str, name: &str) -> String {
    bounded(format!("ck_{table}_{name}"))
}

fn join(columns: &[impl AsRef<str>]) -> String {
    columns.iter().map(|c| c.as_ref()).collect::<Vec<_>>().join("_")
}
