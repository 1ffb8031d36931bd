//! Calico's label selector language (the subset that node and peer
//! selectors use): `all()`, `global()`, `has(k)`, `k == 'v'`, `k != 'v'`,
//! `k in {..}`, `k not in {..}`, `k contains 'v'`, `k starts with 'v'`,
//! `k ends with 'v'`, `!`, `&&`, `||` and parentheses.
//!
//! Precedence follows Calico: `!` binds tightest, then `&&`, then `||`.
//! A missing label makes `!=` and `not in` true and every other
//! comparison false.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

/// A selector that failed to parse, with the character offset of the
/// problem (0-based).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("at character {position}: {message}")]
pub struct SelectorError {
    /// Offset (in characters) where parsing stopped.
    pub position: usize,
    /// What was expected there.
    pub message: String,
}

/// A parsed selector; `Display` gives back the source text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Selector {
    source: String,
    expr: Expr,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Expr {
    All,
    Has(String),
    Eq(String, String),
    Ne(String, String),
    In(String, BTreeSet<String>),
    NotIn(String, BTreeSet<String>),
    Contains(String, String),
    StartsWith(String, String),
    EndsWith(String, String),
    Not(Box<Expr>),
    And(Box<Expr>, Box<Expr>),
    Or(Box<Expr>, Box<Expr>),
}

impl Selector {
    /// Parses a selector. An empty (or blank) selector means `all()`, as
    /// in Calico.
    pub fn parse(source: &str) -> Result<Self, SelectorError> {
        let tokens = lex(source)?;
        let mut parser = Parser {
            tokens,
            pos: 0,
            end: source.chars().count(),
        };
        let expr = if parser.tokens.is_empty() {
            Expr::All
        } else {
            let e = parser.or()?;
            if let Some(t) = parser.tokens.get(parser.pos) {
                return Err(SelectorError {
                    position: t.at,
                    message: format!("unexpected {}", t.kind),
                });
            }
            e
        };
        Ok(Self {
            source: source.to_string(),
            expr,
        })
    }

    /// A selector that matches everything.
    pub fn all() -> Self {
        Self {
            source: "all()".to_string(),
            expr: Expr::All,
        }
    }

    /// Whether a label set satisfies the selector.
    pub fn matches(&self, labels: &BTreeMap<String, String>) -> bool {
        self.expr.eval(labels)
    }

    /// The selector as written.
    pub fn as_str(&self) -> &str {
        &self.source
    }
}

impl fmt::Display for Selector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.source)
    }
}

impl Expr {
    fn eval(&self, labels: &BTreeMap<String, String>) -> bool {
        let get = |k: &String| labels.get(k);
        match self {
            Self::All => true,
            Self::Has(k) => labels.contains_key(k),
            Self::Eq(k, v) => get(k) == Some(v),
            Self::Ne(k, v) => get(k) != Some(v),
            Self::In(k, set) => get(k).is_some_and(|v| set.contains(v)),
            Self::NotIn(k, set) => !get(k).is_some_and(|v| set.contains(v)),
            Self::Contains(k, v) => get(k).is_some_and(|l| l.contains(v)),
            Self::StartsWith(k, v) => {
                get(k).is_some_and(|l| l.starts_with(v.as_str()))
            }
            Self::EndsWith(k, v) => {
                get(k).is_some_and(|l| l.ends_with(v.as_str()))
            }
            Self::Not(e) => !e.eval(labels),
            Self::And(a, b) => a.eval(labels) && b.eval(labels),
            Self::Or(a, b) => a.eval(labels) || b.eval(labels),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum TokenKind {
    Word(String),
    Str(String),
    LParen,
    RParen,
    LBrace,
    RBrace,
    Comma,
    Not,
    And,
    Or,
    EqEq,
    NotEq,
}

impl fmt::Display for TokenKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Word(w) => write!(f, "`{w}`"),
            Self::Str(s) => write!(f, "string {s:?}"),
            Self::LParen => f.write_str("`(`"),
            Self::RParen => f.write_str("`)`"),
            Self::LBrace => f.write_str("`{`"),
            Self::RBrace => f.write_str("`}`"),
            Self::Comma => f.write_str("`,`"),
            Self::Not => f.write_str("`!`"),
            Self::And => f.write_str("`&&`"),
            Self::Or => f.write_str("`||`"),
            Self::EqEq => f.write_str("`==`"),
            Self::NotEq => f.write_str("`!=`"),
        }
    }
}

#[derive(Clone, Debug)]
struct Token {
    kind: TokenKind,
    at: usize,
}

/// Characters allowed in label keys and bare words (Kubernetes label
/// keys: DNS prefix, `/`, name).
fn is_word_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '/' | '-')
}

fn lex(source: &str) -> Result<Vec<Token>, SelectorError> {
    let chars: Vec<char> = source.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    let err = |position: usize, message: &str| SelectorError {
        position,
        message: message.to_string(),
    };
    while i < chars.len() {
        let c = chars[i];
        let at = i;
        let two = chars.get(i + 1).copied();
        let kind = match c {
            c if c.is_whitespace() => {
                i += 1;
                continue;
            }
            '(' => TokenKind::LParen,
            ')' => TokenKind::RParen,
            '{' => TokenKind::LBrace,
            '}' => TokenKind::RBrace,
            ',' => TokenKind::Comma,
            '!' if two == Some('=') => {
                i += 1;
                TokenKind::NotEq
            }
            '!' => TokenKind::Not,
            '=' if two == Some('=') => {
                i += 1;
                TokenKind::EqEq
            }
            '&' if two == Some('&') => {
                i += 1;
                TokenKind::And
            }
            '|' if two == Some('|') => {
                i += 1;
                TokenKind::Or
            }
            '\'' | '"' => {
                let close = chars[i + 1..]
                    .iter()
                    .position(|&q| q == c)
                    .ok_or_else(|| err(at, "unterminated string"))?;
                let s: String = chars[i + 1..i + 1 + close].iter().collect();
                i += close + 1;
                TokenKind::Str(s)
            }
            c if is_word_char(c) => {
                let len = chars[i..]
                    .iter()
                    .position(|&w| !is_word_char(w))
                    .unwrap_or(chars.len() - i);
                let w: String = chars[i..i + len].iter().collect();
                i += len - 1;
                TokenKind::Word(w)
            }
            _ => return Err(err(at, &format!("unexpected character {c:?}"))),
        };
        out.push(Token { kind, at });
        i += 1;
    }
    Ok(out)
}

struct Parser {
    tokens: Vec<Token>,
    pos: usize,
    end: usize,
}

impl Parser {
    fn peek(&self) -> Option<&TokenKind> {
        self.tokens.get(self.pos).map(|t| &t.kind)
    }

    fn here(&self) -> usize {
        self.tokens.get(self.pos).map_or(self.end, |t| t.at)
    }

    fn fail<T>(&self, expected: &str) -> Result<T, SelectorError> {
        let found = match self.peek() {
            Some(t) => t.to_string(),
            None => "end of selector".to_string(),
        };
        Err(SelectorError {
            position: self.here(),
            message: format!("expected {expected}, found {found}"),
        })
    }

    fn eat(&mut self, kind: &TokenKind) -> bool {
        if self.peek() == Some(kind) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn expect(&mut self, kind: &TokenKind) -> Result<(), SelectorError> {
        if self.eat(kind) {
            Ok(())
        } else {
            self.fail(&kind.to_string())
        }
    }

    fn eat_word(&mut self, word: &str) -> bool {
        if matches!(self.peek(), Some(TokenKind::Word(w)) if w == word) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn or(&mut self) -> Result<Expr, SelectorError> {
        let mut left = self.and()?;
        while self.eat(&TokenKind::Or) {
            let right = self.and()?;
            left = Expr::Or(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn and(&mut self) -> Result<Expr, SelectorError> {
        let mut left = self.unary()?;
        while self.eat(&TokenKind::And) {
            let right = self.unary()?;
            left = Expr::And(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn unary(&mut self) -> Result<Expr, SelectorError> {
        if self.eat(&TokenKind::Not) {
            return Ok(Expr::Not(Box::new(self.unary()?)));
        }
        self.primary()
    }

    fn primary(&mut self) -> Result<Expr, SelectorError> {
        if self.eat(&TokenKind::LParen) {
            let e = self.or()?;
            self.expect(&TokenKind::RParen)?;
            return Ok(e);
        }
        let Some(TokenKind::Word(word)) = self.peek().cloned() else {
            return self.fail("a label key, `has(`, `all()` or `(`");
        };
        self.pos += 1;
        let is_call = self.peek() == Some(&TokenKind::LParen);
        match word.as_str() {
            "all" | "global" if is_call => {
                self.pos += 1;
                self.expect(&TokenKind::RParen)?;
                Ok(Expr::All)
            }
            "has" if is_call => {
                self.pos += 1;
                let key = self.key()?;
                self.expect(&TokenKind::RParen)?;
                Ok(Expr::Has(key))
            }
            _ => self.comparison(word),
        }
    }

    fn key(&mut self) -> Result<String, SelectorError> {
        match self.peek().cloned() {
            Some(TokenKind::Word(w)) => {
                self.pos += 1;
                Ok(w)
            }
            _ => self.fail("a label key"),
        }
    }

    fn string(&mut self) -> Result<String, SelectorError> {
        match self.peek().cloned() {
            Some(TokenKind::Str(s)) => {
                self.pos += 1;
                Ok(s)
            }
            _ => self.fail("a quoted string"),
        }
    }

    fn set(&mut self) -> Result<BTreeSet<String>, SelectorError> {
        self.expect(&TokenKind::LBrace)?;
        let mut set = BTreeSet::new();
        if self.eat(&TokenKind::RBrace) {
            return Ok(set);
        }
        loop {
            set.insert(self.string()?);
            if self.eat(&TokenKind::RBrace) {
                return Ok(set);
            }
            self.expect(&TokenKind::Comma)?;
        }
    }

    fn comparison(&mut self, key: String) -> Result<Expr, SelectorError> {
        if self.eat(&TokenKind::EqEq) {
            return Ok(Expr::Eq(key, self.string()?));
        }
        if self.eat(&TokenKind::NotEq) {
            return Ok(Expr::Ne(key, self.string()?));
        }
        if self.eat_word("in") {
            return Ok(Expr::In(key, self.set()?));
        }
        if self.eat_word("not") {
            if !self.eat_word("in") {
                return self.fail("`in` after `not`");
            }
            return Ok(Expr::NotIn(key, self.set()?));
        }
        if self.eat_word("contains") {
            return Ok(Expr::Contains(key, self.string()?));
        }
        if self.eat_word("starts") {
            if !self.eat_word("with") {
                return self.fail("`with` after `starts`");
            }
            return Ok(Expr::StartsWith(key, self.string()?));
        }
        if self.eat_word("ends") {
            if !self.eat_word("with") {
                return self.fail("`with` after `ends`");
            }
            return Ok(Expr::EndsWith(key, self.string()?));
        }
        self.fail("an operator (==, !=, in, not in, contains, starts with, ends with)")
    }
}
