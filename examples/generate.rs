//! The generator: this binary links the models, so dbwarden's CLI inside it sees them (model discovery).
//!
//! ```text
//! cargo run --example generate                          # no arguments: make-migrations
//! cargo run --example generate -- make-migrations "add user names"
//! cargo run --example generate -- diff --offline --exit-code
//! ```
//!
//! The database and the migrations folder come from ./dbwarden.toml (SQLite `app.db`, examples/migrations/primary).

mod models;

fn main() -> std::process::ExitCode {
    dbwarden::cli::main()
}
