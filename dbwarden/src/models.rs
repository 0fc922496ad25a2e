//! The models registry: every `#[derive(Table)]` struct (and schema manifest) linked into the program.
