use std::fmt;

use super::FormatError;

/// A migration version: its number, shown with at least 4 digits (`0001`, `12345`).
///
/// ```
/// use dbwarden_core::file::Version;
/// assert_eq!(Version::parse("0042").unwrap().to_string(), "0042");
/// assert!(Version::parse("0042").unwrap() < Version::parse("10000").unwrap());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Version(pub u64);

impl Version {
    /// The highest version a file name can carry (18 digits).
    pub const MAX: Version = Version(999_999_999_999_999_999);

    /// The version after this one, or `None` past [`Version::MAX`] (a file name could not carry it).
    ///
    /// ```
    /// use dbwarden_core::file::Version;
    /// assert_eq!(Version(41).next(), Some(Version(42)));
    /// assert_eq!(Version::MAX.next(), None);
    /// ```
    pub fn next(self) -> Option<Version> {
        (self < Version::MAX).then(|| Version(self.0 + 1))
    }

    /// Parses a string of ASCII digits (leading zeros allowed).
    pub fn parse(text: &str) -> Option<Version> {
        if text.is_empty() || text.len() > 18 || !text.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        text.parse().ok().map(Version)
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}", self.0)
    }
}

/// What a file is, from its name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum MigrationKind {
    /// `<db>__NNNN_<slug>.sql`: applied once, in version order.
    Versioned,
    /// `<db>__RA__<slug>.sql`: runs on every migrate, after the versioned ones.
    RepeatableAlways,
    /// `<db>__ROC__<slug>.sql`: runs when its checksum changed.
    RepeatableOnChange,
}

impl MigrationKind {
    /// The value of the `migration_type` column (Python DBWarden wrote `versioned`).
    pub fn as_str(self) -> &'static str {
        match self {
            MigrationKind::Versioned => "versioned",
            MigrationKind::RepeatableAlways => "repeatable_always",
            MigrationKind::RepeatableOnChange => "repeatable_on_change",
        }
    }
}

/// A parsed migration file name.
///
/// ```
/// use dbwarden_core::file::{FileName, MigrationKind};
/// let name = FileName::parse("primary__0001_create_users.sql").unwrap();
/// assert_eq!(name.db, "primary");
/// assert_eq!(name.version.unwrap().to_string(), "0001");
/// assert_eq!(name.description(), "create users");
/// assert_eq!(FileName::parse("primary__RA__views.sql").unwrap().kind, MigrationKind::RepeatableAlways);
/// assert!(FileName::parse("primary_0001_x.sql").is_err());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct FileName {
    /// The database the file belongs to (`primary`).
    pub db: String,
    /// Versioned or repeatable.
    pub kind: MigrationKind,
    /// The version of a versioned file.
    pub version: Option<Version>,
    /// The slug (`create_users`).
    pub slug: String,
}

impl FileName {
    /// Parses `name` (a file name, not a path).
    pub fn parse(name: &str) -> Result<FileName, FormatError> {
        let bad = || FormatError::BadName { file: name.to_string() };
        let stem = name.strip_suffix(".sql").ok_or_else(bad)?;
        // The database name may itself hold `_`, so try every `__` until the rest parses.
        for (at, _) in stem.match_indices("__") {
            let (db, rest) = (&stem[..at], &stem[at + 2..]);
            if !valid_db_name(db) {
                continue;
            }
            if let Some(parsed) = parse_rest(db, rest) {
                return Ok(parsed);
            }
        }
        Err(bad())
    }

    /// The slug as words: `create users`.
    pub fn description(&self) -> String {
        self.slug.replace('_', " ")
    }

    /// The canonical file name.
    pub fn file_name(&self) -> String {
        match (self.kind, self.version) {
            (MigrationKind::Versioned, Some(v)) => format!("{}__{v}_{}.sql", self.db, self.slug),
            (MigrationKind::RepeatableAlways, _) => format!("{}__RA__{}.sql", self.db, self.slug),
            _ => format!("{}__ROC__{}.sql", self.db, self.slug),
        }
    }
}

fn parse_rest(db: &str, rest: &str) -> Option<FileName> {
    let make = |kind, version, slug: &str| {
        valid_slug(slug).then(|| FileName { db: db.to_string(), kind, version, slug: slug.to_string() })
    };
    if let Some(slug) = rest.strip_prefix("RA__") {
        return make(MigrationKind::RepeatableAlways, None, slug);
    }
    if let Some(slug) = rest.strip_prefix("ROC__") {
        return make(MigrationKind::RepeatableOnChange, None, slug);
    }
    let (digits, slug) = rest.split_once('_')?;
    if digits.len() < 4 {
        return None;
    }
    make(MigrationKind::Versioned, Some(Version::parse(digits)?), slug)
}

/// `[a-zA-Z][a-zA-Z0-9_]*`, the config's rule for database names.
pub(crate) fn valid_db_name(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic()) && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

fn valid_slug(slug: &str) -> bool {
    !slug.is_empty() && slug.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// The longest slug [`slugify`] makes, in characters (a file name has room for 255 bytes on most file systems).
pub const MAX_SLUG: usize = 80;

/// Turns a description into a slug: lower-case ASCII words joined by `_`; empty => `untitled`; cut after the last
/// whole word within [`MAX_SLUG`] characters.
///
/// ```
/// use dbwarden_core::file::slugify;
/// assert_eq!(slugify("Create Users & Posts!"), "create_users_posts");
/// assert_eq!(slugify("  "), "untitled");
/// assert_eq!(slugify("Añadir índice único"), "anadir_indice_unico");
/// assert_eq!(slugify(&"word ".repeat(60)).len(), 79);
/// ```
pub fn slugify(description: &str) -> String {
    // Latin letters with accents keep their base letter (`añadir índice` -> `anadir_indice`, not `a_adir_ndice`).
    let folded: String = description.chars().map(fold_accent).collect();
    let words: Vec<String> = folded
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(|w| w.to_ascii_lowercase())
        .collect();
    if words.is_empty() {
        return "untitled".to_string();
    }
    let mut slug = String::new();
    for word in words {
        let sep = usize::from(!slug.is_empty());
        if slug.len() + sep + word.len() > MAX_SLUG {
            // A first word longer than the limit is cut; a later one is left out.
            if slug.is_empty() {
                slug = word[..MAX_SLUG].to_string();
            }
            break;
        }
        if sep == 1 {
            slug.push('_');
        }
        slug.push_str(&word);
    }
    slug
}

/// The base letter of a Latin letter with an accent (Latin-1 and Latin Extended-A's common ones); others as they are.
fn fold_accent(c: char) -> char {
    match c {
        'à'..='å' | 'ā' | 'ă' | 'ą' => 'a',
        'À'..='Å' | 'Ā' | 'Ă' | 'Ą' => 'A',
        'ç' | 'ć' | 'č' => 'c',
        'Ç' | 'Ć' | 'Č' => 'C',
        'è'..='ë' | 'ē' | 'ė' | 'ę' | 'ě' => 'e',
        'È'..='Ë' | 'Ē' | 'Ė' | 'Ę' | 'Ě' => 'E',
        'ì'..='ï' | 'ī' | 'į' | 'ı' => 'i',
        'Ì'..='Ï' | 'Ī' | 'Į' | 'İ' => 'I',
        'ñ' | 'ń' | 'ň' => 'n',
        'Ñ' | 'Ń' | 'Ň' => 'N',
        'ò'..='ö' | 'ø' | 'ō' | 'ő' => 'o',
        'Ò'..='Ö' | 'Ø' | 'Ō' | 'Ő' => 'O',
        'ù'..='ü' | 'ū' | 'ů' | 'ű' | 'ų' => 'u',
        'Ù'..='Ü' | 'Ū' | 'Ů' | 'Ű' | 'Ų' => 'U',
        'ý' | 'ÿ' => 'y',
        'Ý' | 'Ÿ' => 'Y',
        'ś' | 'š' | 'ş' => 's',
        'Ś' | 'Š' | 'Ş' => 'S',
        'ź' | 'ż' | 'ž' => 'z',
        'Ź' | 'Ż' | 'Ž' => 'Z',
        'ł' => 'l',
        'Ł' => 'L',
        'ď' => 'd',
        'Ď' => 'D',
        'ř' => 'r',
        'Ř' => 'R',
        'ť' => 't',
        'Ť' => 'T',
        other => other,
    }
}

/// A description as the file's first line, `-- <title>`: white space (line breaks too) and control characters
/// collapse to single spaces, so a description can never end the comment and put text before `-- upgrade`; a
/// title the header would read as a section line or a directive (`upgrade`, `dbwarden: irreversible`) is written
/// after `Migration: `, so it stays a title.
///
/// ```
/// use dbwarden_core::file::title_line;
/// assert_eq!(title_line("first line\nDROP TABLE a;"), "-- first line DROP TABLE a;");
/// assert_eq!(title_line(" \t"), "-- untitled");
/// assert_eq!(title_line("Upgrade"), "-- Migration: Upgrade");
/// assert_eq!(title_line("dbwarden: irreversible"), "-- Migration: dbwarden: irreversible");
/// ```
pub fn title_line(description: &str) -> String {
    let words: Vec<&str> =
        description.split(|c: char| c.is_whitespace() || c.is_control()).filter(|w| !w.is_empty()).collect();
    if words.is_empty() {
        return "-- untitled".to_string();
    }
    let line = format!("-- {}", words.join(" "));
    match super::parse::is_prose(&line) {
        true => line,
        false => format!("-- Migration: {}", words.join(" ")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_title_never_reads_as_a_section_line_or_a_directive() {
        for description in [
            "upgrade",
            "ROLLBACK",
            "dbwarden: irreversible",
            "dbwarden: foo",
            "dbwarden no-transaction",
            "@dbwarden:autocommit",
            "depends_on: [\"0001\"]",
            "renames [x]",
            "Renames users.email to mail",
            "add users",
        ] {
            let text = format!("{}\n-- upgrade\nSELECT 1;\n-- rollback\n", title_line(description));
            let file = crate::file::MigrationFile::parse("p__0001_x.sql", &text)
                .unwrap_or_else(|e| panic!("{description}: {e}\n{text}"));
            assert_eq!(file.directives, Default::default(), "{description}");
            assert!(text.contains(description), "{description}: {text}");
        }
        assert_eq!(title_line("Renames users.email to mail"), "-- Renames users.email to mail", "prose stays as it is");
    }

    #[test]
    fn slugs_are_cut_at_a_word_and_versions_end() {
        let long = slugify(&"migration ".repeat(20));
        assert!(long.len() <= MAX_SLUG && long.ends_with("migration") && !long.contains("__"), "{long}");
        assert_eq!(slugify(&"x".repeat(200)).len(), MAX_SLUG);
        let name = format!("primary__{}_{long}.sql", Version::MAX);
        assert_eq!(FileName::parse(&name).unwrap().version, Some(Version::MAX), "the last version parses");
        assert_eq!(Version::MAX.next(), None);
    }

    #[test]
    fn names() {
        let n = FileName::parse("my_db__0012_add_index.sql").unwrap();
        assert_eq!((n.db.as_str(), n.version, n.slug.as_str()), ("my_db", Some(Version(12)), "add_index"));
        assert_eq!(n.file_name(), "my_db__0012_add_index.sql");
        let big = FileName::parse("primary__12345_x.sql").unwrap();
        assert_eq!(big.version.unwrap().to_string(), "12345");
        let roc = FileName::parse("primary__ROC__refresh_views.sql").unwrap();
        assert_eq!((roc.kind, roc.version), (MigrationKind::RepeatableOnChange, None));
        for bad in [
            "primary__001_short.sql",
            "primary__0001_.sql",
            "primary__0001.sql",
            "0001_x.sql",
            "__0001_x.sql",
            "1db__0001_x.sql",
            "primary__00a1_x.sql",
            "primary__0001_x-y.sql",
            "primary__RA__.sql",
            "primary__0001_x.txt",
        ] {
            assert!(FileName::parse(bad).is_err(), "{bad} should be rejected");
        }
    }
}
