// Cargo reruns this (and so rebuilds the crates that embed migrations) whenever a file is added to these folders:
// `embed_migrations!` uses include_str!, which only tracks files that already existed.
fn main() {
    println!("cargo:rerun-if-changed=examples/migrations");
    println!("cargo:rerun-if-changed=tests/fixtures");
    println!("cargo:rerun-if-changed=migrations");
}
