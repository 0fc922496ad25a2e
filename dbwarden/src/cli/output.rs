//! Output for people (colour only on a terminal, `NO_COLOR` honoured) or one JSON document with `--json`.

use std::io::{IsTerminal, Write};

use serde::Serialize;

/// Where command results go.
pub struct Out {
    json: bool,
    colour: bool,
}

impl Out {
    pub fn new(json: bool) -> Out {
        let colour = !json && std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none();
        Out { json, colour }
    }

    /// Prints the JSON document (in `--json` mode) or the human lines.
    pub fn emit<T: Serialize>(&self, value: &T, human: impl FnOnce(&Out) -> String) {
        if self.json {
            line(&serde_json::to_string_pretty(value).expect("serialisable"));
        } else {
            let text = human(self);
            if !text.is_empty() {
                line(text.trim_end());
            }
        }
    }

    pub fn green(&self, s: &str) -> String {
        self.paint("32", s)
    }
    pub fn yellow(&self, s: &str) -> String {
        self.paint("33", s)
    }
    pub fn red(&self, s: &str) -> String {
        self.paint("31", s)
    }
    pub fn dim(&self, s: &str) -> String {
        self.paint("2", s)
    }

    fn paint(&self, code: &str, s: &str) -> String {
        if self.colour {
            format!("\x1b[{code}m{s}\x1b[0m")
        } else {
            s.to_string()
        }
    }

    /// A remark for people, on stderr (none with `--json`, whose reader takes stdout's one document).
    pub fn note(&self, text: &str) {
        if !self.json {
            eprintln!("note: {text}");
        }
    }

    /// Reports an error: a JSON document on stdout with `--json`, otherwise a message and a hint on stderr.
    pub fn error(&self, message: &str, hint: Option<&str>) {
        if self.json {
            let doc = serde_json::json!({ "error": { "message": message, "hint": hint } });
            line(&serde_json::to_string_pretty(&doc).expect("serialisable"));
        } else {
            let colour = std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none();
            let label = if colour { "\x1b[31merror\x1b[0m" } else { "error" };
            eprintln!("{label}: {message}");
            if let Some(hint) = hint {
                eprintln!("  hint: {hint}");
            }
        }
    }
}

/// Writes a line to stdout. A reader that went away (`dbwarden history | head -1`) is not an error worth a panic,
/// which `println!` makes of it: the rest of the output has nowhere to go, so it is dropped.
pub fn line(text: &str) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{text}").and_then(|()| out.flush());
}
