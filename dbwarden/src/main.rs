//! The `dbwarden` binary.

fn main() -> std::process::ExitCode {
    dbwarden::cli::main()
}
