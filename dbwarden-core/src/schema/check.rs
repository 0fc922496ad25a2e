//! Check-constraint expressions compared by meaning, not spelling.
//!
//! Servers do not give a check back as it was written: PostgreSQL parenthesises every operation, casts literals and
//! columns (`(price > (0)::numeric)`), writes `LIKE` as `~~`, `IN (...)` as `= ANY (ARRAY[...])` and `BETWEEN` as
//! two comparisons; MariaDB quotes every column with backticks, lower-cases keywords, turns `TRUE` into `1`, pushes
//! `NOT` inwards (`NOT (a = 1 AND b < 2)` is `a <> 1 or b >= 2`) and renames functions (`lower` is `lcase`). So two
//! checks are compared through [`check_key`]: the expression parsed and printed in one normal form where all those
//! spellings meet. An expression the small parser does not understand falls back to its tokens, compared with case
//! and quoting of identifiers ignored.
//!
//! Known equalities the key accepts on purpose: `length` and `octet_length` (MariaDB's `length` counts bytes and
//! prints as `octet_length`), `TRUE`/`1` and `FALSE`/`0`, a literal and the same literal cast.

use std::fmt::Write;

/// The normal form two spellings of one check expression share.
///
/// ```
/// use dbwarden_core::schema::check_key;
/// // As written, as PostgreSQL reads it back, as MariaDB reads it back.
/// let written = check_key("price > 0 AND kind IN ('a', 'b')");
/// assert_eq!(written, check_key("((price > (0)::numeric) AND ((kind)::text = ANY ((ARRAY['a'::character varying, 'b'::character varying])::text[])))"));
/// assert_eq!(written, check_key("`price` > 0 and `kind` in ('a','b')"));
/// assert_ne!(written, check_key("price > 1 AND kind IN ('a', 'b')"));
/// ```
pub fn check_key(expr: &str) -> String {
    let Some(tokens) = tokenize(expr) else { return fallback(expr) };
    let mut p = Parser { t: &tokens, i: 0 };
    match p.expr(0) {
        Some(e) if p.i == tokens.len() => {
            let mut out = String::new();
            print(&push_not(e, false), &mut out);
            out
        }
        _ => fallback_tokens(&tokens),
    }
}

/// Rewrites the identifier quoting of an expression for a dialect: `"x"` and `` `x` `` become `quote`-quoted
/// (with the quote character doubled inside); string literals are left alone. Checks are written in portable SQL,
/// and MySQL reads `"x"` as a string.
///
/// ```
/// use dbwarden_core::schema::requote_identifiers;
/// assert_eq!(requote_identifiers("\"we\"\"ird\" > 0 AND b = '\"'", '`'), "`we\"ird` > 0 AND b = '\"'");
/// assert_eq!(requote_identifiers("`back``tick` > 0", '"'), "\"back`tick\" > 0");
/// ```
pub fn requote_identifiers(expr: &str, quote: char) -> String {
    let mut out = String::with_capacity(expr.len() + 4);
    let mut chars = expr.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\'' => {
                out.push(c);
                while let Some(s) = chars.next() {
                    out.push(s);
                    if s == '\'' {
                        if chars.peek() == Some(&'\'') {
                            out.push('\'');
                            chars.next();
                        } else {
                            break;
                        }
                    }
                }
            }
            '"' | '`' => {
                let mut name = String::new();
                while let Some(s) = chars.next() {
                    if s == c {
                        if chars.peek() == Some(&c) {
                            chars.next();
                        } else {
                            break;
                        }
                    }
                    name.push(s);
                }
                out.push(quote);
                for ch in name.chars() {
                    if ch == quote {
                        out.push(quote);
                    }
                    out.push(ch);
                }
                out.push(quote);
            }
            _ => out.push(c),
        }
    }
    out
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    /// A bare word, lower-cased.
    Word(String),
    /// A quoted identifier, without its quotes.
    Ident(String),
    /// A string literal's value.
    Str(String),
    /// A number as written.
    Num(String),
    /// An operator or punctuation.
    Op(&'static str),
}

const OPS: &[&str] = &[
    "!~~*", "~~*", "!~~", "!~*", "<=>", "::", "<=", ">=", "<>", "!=", "||", "~~", "~*", "!~", "@@", "@>", "<@", "&&",
    "=", "<", ">", "+", "-", "*", "/", "%", "^", "(", ")", ",", "[", "]", ".", "~", "@", "#", "&", "|", "?", ";", ":",
];

fn tokenize(text: &str) -> Option<Vec<Tok>> {
    let b = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if c.is_ascii_whitespace() {
            i += 1;
        } else if c == b'\'' {
            let mut value = Vec::new();
            i += 1;
            loop {
                match *b.get(i)? {
                    b'\'' if b.get(i + 1) == Some(&b'\'') => {
                        value.push(b'\'');
                        i += 2;
                    }
                    b'\'' => {
                        i += 1;
                        break;
                    }
                    other => {
                        value.push(other);
                        i += 1;
                    }
                }
            }
            out.push(Tok::Str(String::from_utf8(value).ok()?));
        } else if c == b'"' || c == b'`' || c == b'[' && bracket_is_name(out.last()) {
            let close = if c == b'[' { b']' } else { c };
            let mut value = Vec::new();
            i += 1;
            loop {
                match *b.get(i)? {
                    q if q == close && close != b']' && b.get(i + 1) == Some(&close) => {
                        value.push(q);
                        i += 2;
                    }
                    q if q == close => {
                        i += 1;
                        break;
                    }
                    other => {
                        value.push(other);
                        i += 1;
                    }
                }
            }
            out.push(Tok::Ident(String::from_utf8(value).ok()?));
        } else if c.is_ascii_digit() || c == b'.' && b.get(i + 1).is_some_and(u8::is_ascii_digit) {
            let start = i;
            while i < b.len() && (b[i].is_ascii_digit() || b[i] == b'.') {
                i += 1;
            }
            if i < b.len() && (b[i] == b'e' || b[i] == b'E') {
                i += 1;
                if i < b.len() && (b[i] == b'+' || b[i] == b'-') {
                    i += 1;
                }
                while i < b.len() && b[i].is_ascii_digit() {
                    i += 1;
                }
            }
            out.push(Tok::Num(text[start..i].to_string()));
        } else if c.is_ascii_alphabetic() || c == b'_' || c >= 0x80 {
            let start = i;
            while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_' || b[i] == b'$' || b[i] >= 0x80) {
                i += 1;
            }
            out.push(Tok::Word(text[start..i].to_lowercase()));
        } else {
            let op = OPS.iter().find(|op| text[i..].starts_with(**op))?;
            i += op.len();
            out.push(Tok::Op(op));
        }
    }
    Some(out)
}

/// Whether a `[` after `prev` opens SQLite's `[name]` (where an operand is expected) rather than a subscript,
/// `ARRAY[` or `text[]`.
fn bracket_is_name(prev: Option<&Tok>) -> bool {
    match prev {
        None => true,
        Some(Tok::Op(o)) => !matches!(*o, ")" | "]"),
        Some(Tok::Word(w)) => {
            KEYWORDS.contains(&w.as_str()) || ["case", "when", "then", "else", "and", "or"].contains(&w.as_str())
        }
        _ => false,
    }
}

/// The expression tree, already in normal form where the parser can tell: casts dropped, `~~` as `like`, `!=` as
/// `<>`, `IN` of one value as `=`, `BETWEEN` as two comparisons, `= ANY (ARRAY[...])` as `IN`.
#[derive(Debug, Clone, PartialEq)]
enum Expr {
    Num(String),
    Str(String),
    Null,
    Name(Vec<String>),
    Not(Box<Expr>),
    Neg(Box<Expr>),
    /// `and`/`or` with all their operands.
    Logic(&'static str, Vec<Expr>),
    Binary(String, Box<Expr>, Box<Expr>),
    /// `is null`, `is not null`, `is true`, ...
    Is(Box<Expr>, String),
    In(Box<Expr>, Vec<Expr>, bool),
    Call(String, Vec<Expr>),
    Array(Vec<Expr>),
    Case(Option<Box<Expr>>, Vec<(Expr, Expr)>, Option<Box<Expr>>),
}

struct Parser<'a> {
    t: &'a [Tok],
    i: usize,
}

/// Binding powers, PostgreSQL's order: OR < AND < NOT < IS < comparison < LIKE/IN/BETWEEN < other operators
/// < + - < * / % < ^.
const OR: u8 = 1;
const AND: u8 = 2;
const NOT: u8 = 3;
const IS: u8 = 4;
const CMP: u8 = 5;
const LIKE: u8 = 6;
const OTHER: u8 = 7;
const ADD: u8 = 8;
const MUL: u8 = 9;
const POW: u8 = 10;
const UNARY: u8 = 11;

impl Parser<'_> {
    fn peek(&self) -> Option<&Tok> {
        self.t.get(self.i)
    }

    fn peek_at(&self, n: usize) -> Option<&Tok> {
        self.t.get(self.i + n)
    }

    fn word(&self, w: &str) -> bool {
        matches!(self.peek(), Some(Tok::Word(x)) if x == w)
    }

    fn op(&self, o: &str) -> bool {
        matches!(self.peek(), Some(Tok::Op(x)) if *x == o)
    }

    fn eat_word(&mut self, w: &str) -> bool {
        let yes = self.word(w);
        if yes {
            self.i += 1;
        }
        yes
    }

    fn eat_op(&mut self, o: &str) -> bool {
        let yes = self.op(o);
        if yes {
            self.i += 1;
        }
        yes
    }

    fn expect_op(&mut self, o: &str) -> Option<()> {
        self.eat_op(o).then_some(())
    }

    /// An expression whose operators all bind tighter than `min`.
    fn expr(&mut self, min: u8) -> Option<Expr> {
        let mut left = self.prefix()?;
        loop {
            // `NOT LIKE`, `NOT IN`, `NOT BETWEEN`, `NOT ILIKE`, `NOT SIMILAR`.
            let negated = self.word("not")
                && matches!(self.peek_at(1), Some(Tok::Word(w)) if ["like", "ilike", "in", "between", "similar"].contains(&w.as_str()));
            let at = if negated { 1 } else { 0 };
            let (power, name): (u8, String) = match self.peek_at(at) {
                Some(Tok::Word(w)) => match w.as_str() {
                    "or" => (OR, "or".into()),
                    "and" => (AND, "and".into()),
                    "is" => (IS, "is".into()),
                    "isnull" => (IS, "isnull".into()),
                    "notnull" => (IS, "notnull".into()),
                    "like" | "ilike" | "in" | "between" | "similar" | "regexp" | "rlike" => (LIKE, w.clone()),
                    "collate" => (UNARY, "collate".into()),
                    _ => return Some(left),
                },
                Some(Tok::Op(o)) => match *o {
                    "=" | "<" | ">" | "<=" | ">=" | "<>" | "!=" | "<=>" => (CMP, o.to_string()),
                    "~~" | "~~*" | "!~~" | "!~~*" => (LIKE, o.to_string()),
                    "||" | "~" | "~*" | "!~" | "!~*" => (OTHER, o.to_string()),
                    "+" | "-" => (ADD, o.to_string()),
                    "*" | "/" | "%" => (MUL, o.to_string()),
                    "^" => (POW, o.to_string()),
                    "::" => (u8::MAX, "::".into()),
                    "[" => (u8::MAX, "[".into()),
                    _ => return Some(left),
                },
                _ => return Some(left),
            };
            if power <= min && power != u8::MAX {
                return Some(left);
            }
            self.i += 1 + at;
            left = match name.as_str() {
                "or" | "and" => {
                    let right = self.expr(power)?;
                    let op = if name == "or" { "or" } else { "and" };
                    Expr::Logic(op, vec![left, right])
                }
                "is" => {
                    let not = self.eat_word("not");
                    let what = match self.peek()? {
                        Tok::Word(w) if ["null", "true", "false", "unknown"].contains(&w.as_str()) => w.clone(),
                        Tok::Word(w) if w == "distinct" => {
                            self.i += 1;
                            if !self.eat_word("from") {
                                return None;
                            }
                            let right = self.expr(IS)?;
                            let op = if not { "is not distinct from" } else { "is distinct from" };
                            left = Expr::Binary(op.into(), Box::new(left), Box::new(right));
                            continue;
                        }
                        _ => return None,
                    };
                    self.i += 1;
                    Expr::Is(Box::new(left), format!("is {}{what}", if not { "not " } else { "" }))
                }
                "isnull" => Expr::Is(Box::new(left), "is null".into()),
                "notnull" => Expr::Is(Box::new(left), "is not null".into()),
                "in" => {
                    self.expect_op("(")?;
                    let items = self.list(")")?;
                    in_list(left, items, negated)
                }
                "between" => {
                    let symmetric = self.eat_word("symmetric");
                    let low = self.expr(LIKE)?;
                    if !self.eat_word("and") || symmetric {
                        return None;
                    }
                    let high = self.expr(LIKE)?;
                    between(left, low, high, negated)
                }
                "like" | "ilike" | "~~" | "~~*" | "!~~" | "!~~*" | "similar" => {
                    if name == "similar" && !self.eat_word("to") {
                        return None;
                    }
                    let right = self.expr(LIKE)?;
                    if self.eat_word("escape") {
                        self.expr(LIKE)?;
                    }
                    let (op, not) = match name.as_str() {
                        "like" | "~~" => ("like", negated),
                        "!~~" => ("like", true),
                        "ilike" | "~~*" => ("ilike", negated),
                        "!~~*" => ("ilike", true),
                        _ => ("similar to", negated),
                    };
                    let e = Expr::Binary(op.into(), Box::new(left), Box::new(right));
                    if not {
                        Expr::Not(Box::new(e))
                    } else {
                        e
                    }
                }
                "regexp" | "rlike" => {
                    let right = self.expr(LIKE)?;
                    Expr::Binary("~".into(), Box::new(left), Box::new(right))
                }
                "collate" => {
                    self.name_path()?;
                    left
                }
                "::" => {
                    let ty = self.skip_type()?;
                    literal_cast(left, &ty)
                }
                "[" => {
                    self.expr(0)?;
                    self.expect_op("]")?;
                    left
                }
                _ => {
                    let op = if name == "!=" { "<>".to_string() } else { name };
                    // `x = ANY (ARRAY[...])` is `x IN (...)`; `x <> ALL (ARRAY[...])` is `x NOT IN (...)`.
                    if self.word("any") || self.word("some") || self.word("all") {
                        let all = self.word("all");
                        self.i += 1;
                        self.expect_op("(")?;
                        let inner = self.expr(0)?;
                        self.expect_op(")")?;
                        match (inner, op.as_str(), all) {
                            (Expr::Array(items), "=", false) => in_list(left, items, false),
                            (Expr::Array(items), "<>", true) => in_list(left, items, true),
                            (inner, _, _) => Expr::Binary(
                                op.clone(),
                                Box::new(left),
                                Box::new(Expr::Call(if all { "all" } else { "any" }.into(), vec![inner])),
                            ),
                        }
                    } else {
                        let right = self.expr(power)?;
                        Expr::Binary(op, Box::new(left), Box::new(right))
                    }
                }
            };
        }
    }

    fn prefix(&mut self) -> Option<Expr> {
        let tok = self.peek()?.clone();
        self.i += 1;
        Some(match tok {
            Tok::Num(n) => Expr::Num(number(&n)),
            Tok::Str(s) => Expr::Str(s),
            Tok::Ident(name) => self.name_or_call(name.to_lowercase())?,
            Tok::Op("(") => {
                let e = self.expr(0)?;
                if self.op(",") {
                    // A row: kept as a call without a name.
                    self.i += 1;
                    let mut items = vec![e];
                    items.extend(self.list(")")?);
                    return Some(Expr::Call(String::new(), items));
                }
                self.expect_op(")")?;
                e
            }
            Tok::Op("-") => match self.expr(UNARY)? {
                Expr::Num(n) => Expr::Num(match n.strip_prefix('-') {
                    Some(positive) => positive.to_string(),
                    None => number(&format!("-{n}")),
                }),
                e => Expr::Neg(Box::new(e)),
            },
            Tok::Op("+") => self.expr(UNARY)?,
            Tok::Word(w) => match w.as_str() {
                "not" => Expr::Not(Box::new(self.expr(NOT)?)),
                "null" => Expr::Null,
                "true" => Expr::Num("1".into()),
                "false" => Expr::Num("0".into()),
                "array" => {
                    self.expect_op("[")?;
                    Expr::Array(self.list("]")?)
                }
                "case" => self.case()?,
                "cast" if self.op("(") => {
                    self.i += 1;
                    let e = self.expr(0)?;
                    if !self.eat_word("as") {
                        return None;
                    }
                    let ty = self.skip_type()?;
                    // MariaDB adds `charset utf8mb3` to a cast to char.
                    if self.eat_word("charset") {
                        self.i += 1;
                    }
                    self.expect_op(")")?;
                    literal_cast(e, &ty)
                }
                // A typed literal: DATE '2000-01-01' (PostgreSQL gives it back as '2000-01-01'::date).
                _ if matches!(self.peek(), Some(Tok::Str(_)))
                    && ["date", "time", "timestamp", "interval", "decimal", "numeric"].contains(&w.as_str()) =>
                {
                    let Some(Tok::Str(s)) = self.peek().cloned() else { return None };
                    self.i += 1;
                    Expr::Str(s)
                }
                _ if KEYWORDS.contains(&w.as_str()) => return None,
                _ => self.name_or_call(w)?,
            },
            Tok::Op(_) => return None,
        })
    }

    /// A column (possibly qualified) or a function call, after its first name part.
    fn name_or_call(&mut self, first: String) -> Option<Expr> {
        let mut parts = vec![first];
        while self.op(".") {
            self.i += 1;
            match self.peek()?.clone() {
                Tok::Word(w) => parts.push(w),
                Tok::Ident(w) => parts.push(w.to_lowercase()),
                _ => return None,
            }
            self.i += 1;
        }
        if self.op("(") {
            self.i += 1;
            let name = parts.pop().unwrap_or_default();
            if self.eat_op("*") {
                self.expect_op(")")?;
                return Some(Expr::Call(alias(&name), vec![Expr::Name(vec!["*".into()])]));
            }
            self.eat_word("distinct");
            let args = self.list(")")?;
            return Some(Expr::Call(alias(&name), args));
        }
        Some(Expr::Name(parts))
    }

    /// Comma-separated expressions up to `close` (consumed); empty allowed.
    fn list(&mut self, close: &str) -> Option<Vec<Expr>> {
        let mut items = Vec::new();
        if self.eat_op(close) {
            return Some(items);
        }
        loop {
            items.push(self.expr(0)?);
            if self.eat_op(close) {
                return Some(items);
            }
            self.expect_op(",")?;
        }
    }

    fn case(&mut self) -> Option<Expr> {
        let operand = if self.word("when") { None } else { Some(Box::new(self.expr(0)?)) };
        let mut arms = Vec::new();
        while self.eat_word("when") {
            let when = self.expr(0)?;
            if !self.eat_word("then") {
                return None;
            }
            arms.push((when, self.expr(0)?));
        }
        let otherwise = if self.eat_word("else") { Some(Box::new(self.expr(0)?)) } else { None };
        if !self.eat_word("end") || arms.is_empty() {
            return None;
        }
        Some(Expr::Case(operand, arms, otherwise))
    }

    /// A (possibly qualified) name.
    fn name_path(&mut self) -> Option<()> {
        loop {
            match self.peek()? {
                Tok::Word(_) | Tok::Ident(_) => self.i += 1,
                _ => return None,
            }
            if !self.eat_op(".") {
                return Some(());
            }
        }
    }

    /// A type name after `::` or `AS`: words (`character varying`, `timestamp without time zone`), a quoted name,
    /// an optional `(n, m)` and `[]`s. Returns its first word.
    fn skip_type(&mut self) -> Option<String> {
        let first = match self.peek()? {
            Tok::Ident(name) => {
                let name = name.to_lowercase();
                self.i += 1;
                name
            }
            Tok::Word(w) => {
                let first = w.clone();
                while let Some(Tok::Word(w)) = self.peek() {
                    if KEYWORDS.contains(&w.as_str()) {
                        break;
                    }
                    self.i += 1;
                    if self.op(".") {
                        self.i += 1;
                    }
                }
                first
            }
            _ => return None,
        };
        if self.op("(") && matches!(self.peek_at(1), Some(Tok::Num(_))) {
            self.i += 1;
            self.list(")")?;
            // `timestamp(3) with time zone`
            while matches!(self.peek(), Some(Tok::Word(w)) if ["with", "without", "time", "zone"].contains(&w.as_str()))
            {
                self.i += 1;
            }
        }
        while self.op("[") && matches!(self.peek_at(1), Some(Tok::Op("]"))) {
            self.i += 2;
        }
        Some(first)
    }
}

/// Words that end an expression or a type name rather than name a column.
const KEYWORDS: &[&str] = &[
    "and", "or", "not", "is", "in", "like", "ilike", "between", "similar", "escape", "when", "then", "else", "end",
    "as", "collate", "any", "all", "some", "from", "distinct", "charset",
];

/// A string literal cast to a number is that number (`'-1'::integer`, as PostgreSQL writes `- -1`); any other cast
/// is dropped.
fn literal_cast(e: Expr, ty: &str) -> Expr {
    const NUMERIC: &[&str] = &[
        "smallint", "integer", "int", "int2", "int4", "int8", "bigint", "numeric", "decimal", "real", "double",
        "float", "float4", "float8", "signed", "unsigned",
    ];
    match e {
        Expr::Str(s) if NUMERIC.contains(&ty) && s.trim().parse::<f64>().is_ok() => Expr::Num(number(s.trim())),
        other => other,
    }
}

/// A number without a redundant `+` or leading zeros in its integer part.
fn number(text: &str) -> String {
    let (sign, digits) = match text.strip_prefix('-') {
        Some(rest) => ("-", rest),
        None => ("", text.strip_prefix('+').unwrap_or(text)),
    };
    let trimmed = digits.trim_start_matches('0');
    let digits = if trimmed.is_empty() || trimmed.starts_with('.') { format!("0{trimmed}") } else { trimmed.into() };
    format!("{sign}{digits}")
}

fn in_list(left: Expr, items: Vec<Expr>, negated: bool) -> Expr {
    match <[Expr; 1]>::try_from(items) {
        Ok([only]) => {
            let e = Expr::Binary("=".into(), Box::new(left), Box::new(only));
            if negated {
                Expr::Not(Box::new(e))
            } else {
                e
            }
        }
        Err(items) => Expr::In(Box::new(left), items, negated),
    }
}

fn between(x: Expr, low: Expr, high: Expr, negated: bool) -> Expr {
    let cmp = |op: &str, a: &Expr, b: Expr| Expr::Binary(op.into(), Box::new(a.clone()), Box::new(b));
    let e = Expr::Logic("and", vec![cmp(">=", &x, low), cmp("<=", &x, high)]);
    if negated {
        Expr::Not(Box::new(e))
    } else {
        e
    }
}

/// Function names that are one function under two names.
fn alias(name: &str) -> String {
    let lower = name.to_lowercase();
    match lower.as_str() {
        "lcase" => "lower".into(),
        "ucase" => "upper".into(),
        "octet_length" => "length".into(),
        "character_length" => "char_length".into(),
        "substr" => "substring".into(),
        "now" | "current_timestamp" | "localtimestamp" => "current_timestamp".into(),
        _ => lower,
    }
}

/// `NOT` pushed down to the leaves (De Morgan; `NOT a = b` is `a <> b`), as MariaDB stores it; `and`/`or`
/// flattened. Both hold in SQL's three-valued logic.
fn push_not(e: Expr, negate: bool) -> Expr {
    match e {
        Expr::Not(inner) => push_not(*inner, !negate),
        Expr::Logic(op, items) => {
            let op = match (op, negate) {
                ("and", true) => "or",
                ("or", true) => "and",
                (op, _) => op,
            };
            let mut flat = Vec::new();
            for item in items {
                match push_not(item, negate) {
                    Expr::Logic(inner, more) if inner == op => flat.extend(more),
                    other => flat.push(other),
                }
            }
            Expr::Logic(op, flat)
        }
        Expr::Binary(op, a, b) => {
            let (a, b) = (Box::new(push_not(*a, false)), Box::new(push_not(*b, false)));
            if !negate {
                return Expr::Binary(op, a, b);
            }
            let flipped = match op.as_str() {
                "=" => Some("<>"),
                "<>" => Some("="),
                "<" => Some(">="),
                ">=" => Some("<"),
                ">" => Some("<="),
                "<=" => Some(">"),
                _ => None,
            };
            match flipped {
                Some(f) => Expr::Binary(f.into(), a, b),
                None => Expr::Not(Box::new(Expr::Binary(op, a, b))),
            }
        }
        Expr::Is(x, what) => {
            let x = Box::new(push_not(*x, false));
            if !negate {
                return Expr::Is(x, what);
            }
            match what.strip_prefix("is not ") {
                Some(rest) => Expr::Is(x, format!("is {rest}")),
                None => Expr::Is(x, what.replacen("is ", "is not ", 1)),
            }
        }
        Expr::In(x, items, not) => Expr::In(
            Box::new(push_not(*x, false)),
            items.into_iter().map(|i| push_not(i, false)).collect(),
            not ^ negate,
        ),
        other => {
            let other = match other {
                Expr::Neg(x) => Expr::Neg(Box::new(push_not(*x, false))),
                Expr::Call(name, args) => Expr::Call(name, args.into_iter().map(|a| push_not(a, false)).collect()),
                Expr::Array(items) => Expr::Array(items.into_iter().map(|a| push_not(a, false)).collect()),
                Expr::Case(operand, arms, otherwise) => Expr::Case(
                    operand.map(|o| Box::new(push_not(*o, false))),
                    arms.into_iter().map(|(w, t)| (push_not(w, false), push_not(t, false))).collect(),
                    otherwise.map(|o| Box::new(push_not(*o, false))),
                ),
                leaf => leaf,
            };
            if negate {
                Expr::Not(Box::new(other))
            } else {
                other
            }
        }
    }
}

fn print(e: &Expr, out: &mut String) {
    let list = |items: &[Expr], out: &mut String| {
        for (n, item) in items.iter().enumerate() {
            if n > 0 {
                out.push(' ');
            }
            print(item, out);
        }
    };
    match e {
        Expr::Num(n) => out.push_str(n),
        Expr::Str(s) => {
            let _ = write!(out, "'{}'", s.replace('\'', "''"));
        }
        Expr::Null => out.push_str("null"),
        Expr::Name(parts) => {
            let quoted: Vec<String> = parts.iter().map(|p| format!("\"{}\"", p.replace('"', "\"\""))).collect();
            out.push_str(&quoted.join("."));
        }
        Expr::Not(x) => {
            out.push_str("(not ");
            print(x, out);
            out.push(')');
        }
        Expr::Neg(x) => {
            out.push_str("(- ");
            print(x, out);
            out.push(')');
        }
        Expr::Logic(op, items) => {
            let _ = write!(out, "({op} ");
            list(items, out);
            out.push(')');
        }
        Expr::Binary(op, a, b) => {
            let _ = write!(out, "({op} ");
            print(a, out);
            out.push(' ');
            print(b, out);
            out.push(')');
        }
        Expr::Is(x, what) => {
            let _ = write!(out, "({what} ");
            print(x, out);
            out.push(')');
        }
        Expr::In(x, items, not) => {
            out.push_str(if *not { "(not-in " } else { "(in " });
            print(x, out);
            out.push(' ');
            list(items, out);
            out.push(')');
        }
        Expr::Call(name, args) => {
            let _ = write!(out, "({name}() ");
            list(args, out);
            out.push(')');
        }
        Expr::Array(items) => {
            out.push_str("(array ");
            list(items, out);
            out.push(')');
        }
        Expr::Case(operand, arms, otherwise) => {
            out.push_str("(case");
            if let Some(o) = operand {
                out.push(' ');
                print(o, out);
            }
            for (w, t) in arms {
                out.push_str(" (when ");
                print(w, out);
                out.push(' ');
                print(t, out);
                out.push(')');
            }
            if let Some(o) = otherwise {
                out.push_str(" (else ");
                print(o, out);
                out.push(')');
            }
            out.push(')');
        }
    }
}

/// The key of an expression the parser does not understand: its tokens, identifiers unquoted and lower-cased,
/// without the parentheses around the whole.
fn fallback_tokens(tokens: &[Tok]) -> String {
    let mut t = tokens;
    while t.len() >= 2 && t[0] == Tok::Op("(") && t[t.len() - 1] == Tok::Op(")") && wraps(&t[1..t.len() - 1]) {
        t = &t[1..t.len() - 1];
    }
    let words: Vec<String> = t
        .iter()
        .map(|tok| match tok {
            Tok::Word(w) => w.clone(),
            Tok::Ident(i) => format!("\"{}\"", i.to_lowercase()),
            Tok::Str(s) => format!("'{}'", s.replace('\'', "''")),
            Tok::Num(n) => n.clone(),
            Tok::Op(o) => o.to_string(),
        })
        .collect();
    format!("?{}", words.join(" "))
}

fn wraps(inner: &[Tok]) -> bool {
    let mut depth = 0i32;
    for t in inner {
        match t {
            Tok::Op("(") => depth += 1,
            Tok::Op(")") => {
                depth -= 1;
                if depth < 0 {
                    return false;
                }
            }
            _ => {}
        }
    }
    depth == 0
}

/// The key of text that does not even tokenize (an unterminated quote): white space collapsed.
fn fallback(expr: &str) -> String {
    format!("?{}", expr.split_whitespace().collect::<Vec<_>>().join(" "))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// (as written, as PostgreSQL 15 gives it back, as MariaDB 10.11 gives it back) for each check of the probe
    /// table used to build this module.
    const SPELLINGS: &[(&str, &str, &str)] = &[
        (
            "price > 0 AND price < 100000",
            "((price > (0)::numeric) AND (price < (100000)::numeric))",
            "`price` > 0 and `price` < 100000",
        ),
        (
            "sku LIKE 'SKU-%' AND length(sku) >= 5",
            "(((sku)::text ~~ 'SKU-%'::text) AND (length((sku)::text) >= 5))",
            "`sku` like 'SKU-%' and octet_length(`sku`) >= 5",
        ),
        (
            "kind IN ('book', 'toy', 'food')",
            "((kind)::text = ANY ((ARRAY['book'::character varying, 'toy'::character varying, 'food'::character varying])::text[]))",
            "`kind` in ('book','toy','food')",
        ),
        ("stock BETWEEN 0 AND 1000000", "((stock >= 0) AND (stock <= 1000000))", "`stock` between 0 and 1000000"),
        (
            "NOT (kind = 'toy' AND price < 1) OR stock = 0",
            "((NOT (((kind)::text = 'toy'::text) AND (price < (1)::numeric))) OR (stock = 0))",
            "`kind` <> 'toy' or `price` >= 1 or `stock` = 0",
        ),
        ("kind IN ('x')", "((kind)::text = 'x'::text)", "`kind` = 'x'"),
        (
            "kind NOT IN ('a','b')",
            "((kind)::text <> ALL ((ARRAY['a'::character varying, 'b'::character varying])::text[]))",
            "`kind` not in ('a','b')",
        ),
        ("stock NOT BETWEEN 5 AND 6", "((stock < 5) OR (stock > 6))", "`stock` not between 5 and 6"),
        ("flag = true OR flag IS NULL", "((flag = true) OR (flag IS NULL))", "`flag` = 1 or `flag` is null"),
        ("body <> '' AND lower(body) = body", "((body <> ''::text) AND (lower(body) = body))", "`body` <> '' and lcase(`body`) = `body`"),
        ("\"we\"\"ird\" >= 0 AND stock != 3", "((\"we\"\"ird\" >= 0) AND (stock <> 3))", "`we\"ird` >= 0 and `stock` <> 3"),
        ("d > DATE '2000-01-01'", "(d > '2000-01-01'::date)", "`d` > DATE'2000-01-01'"),
        (
            "CASE WHEN kind = 'a' THEN stock > 0 ELSE true END",
            "\nCASE\n    WHEN ((kind)::text = 'a'::text) THEN (stock > 0)\n    ELSE true\nEND",
            "case when `kind` = 'a' then `stock` > 0 else 1 end",
        ),
        (
            "price * 2 + 1 > stock - -1",
            "(((price * (2)::numeric) + (1)::numeric) > ((stock - '-1'::integer))::numeric)",
            "`price` * 2 + 1 > `stock` - -1",
        ),
        ("NOT (stock = 1)", "(NOT (stock = 1))", "`stock` <> 1"),
        ("sku NOT LIKE '%x%'", "((sku)::text !~~ '%x%'::text)", "`sku`  not like '%x%'"),
        ("CAST(stock AS text) <> '9'", "((stock)::text <> '9'::text)", "cast(`stock` as char charset utf8mb3) <> '9'"),
        ("stock IS NOT NULL", "(stock IS NOT NULL)", "`stock` is not null"),
        ("price IN (1, 2.5)", "(price = ANY (ARRAY[(1)::numeric, 2.5]))", "`price` in (1,2.5)"),
        (
            "(stock > 1 OR stock < -1) AND (kind = 'a' OR kind = 'it''s')",
            "(((stock > 1) OR (stock < '-1'::integer)) AND (((kind)::text = 'a'::text) OR ((kind)::text = 'it''s'::text)))",
            "(`stock` > 1 or `stock` < -1) and (`kind` = 'a' or `kind` = 'it''s')",
        ),
    ];

    #[test]
    fn server_spellings_meet_the_written_one() {
        for (written, pg, maria) in SPELLINGS {
            let key = check_key(written);
            assert!(!key.starts_with('?'), "not parsed: {written} -> {key}");
            assert_eq!(check_key(pg), key, "PostgreSQL spelling of {written}");
            assert_eq!(check_key(maria), key, "MariaDB spelling of {written}");
        }
    }

    #[test]
    fn different_meanings_stay_apart() {
        let pairs = [
            ("a > 0", "a >= 0"),
            ("a > 0", "b > 0"),
            ("(a OR b) AND c", "a OR (b AND c)"),
            ("a IN (1, 2)", "a IN (1, 3)"),
            ("a IN (1, 2)", "a NOT IN (1, 2)"),
            ("x LIKE 'a%'", "x LIKE 'A%'"),
            ("a - b - c", "a - (b - c)"),
            ("a = 'x'", "a = 'X'"),
            ("\"MixedCase\" > 0", "\"MixedCase\" > 1"),
        ];
        for (a, b) in pairs {
            assert_ne!(check_key(a), check_key(b), "{a} vs {b}");
        }
        // Case and quoting of identifiers and keywords do not matter.
        assert_eq!(check_key("A > 0 and B IS NULL"), check_key("\"a\" > 0 AND `b` is null"));
    }

    #[test]
    fn anything_else_falls_back_without_panicking() {
        for text in
            ["", "(", "a >", "x ~ 'a(' AND", "'unterminated", "a @@ b", "((a))", "EXISTS (SELECT 1)", "a[1] > 0"]
        {
            let _ = check_key(text);
        }
        assert_eq!(check_key("(a @@ b)"), check_key("A @@ B"));
        assert_ne!(check_key("a @@ b"), check_key("a @@ c"));
    }
}
