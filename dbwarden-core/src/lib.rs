//! The pure core of dbwarden, shared by the runtime crate and the proc macros so that both resolve migration files
//! with one piece of code: file names, sections and directives, the statement lexer and checksums.
#![forbid(unsafe_code)]

pub mod checksum;
pub mod dialect;
pub mod diff;
pub mod file;
pub mod lexer;
pub mod manifest;
pub mod schema;

pub use dialect::Dialect;
