//! SQL92 property filters (`expressionType=SQL92`, `MessageSelector.bySql`; protocol.md §7.7):
//! RocketMQ's selector language, compiled once and evaluated against a message's properties.
//!
//! The language: comparisons (`=`, `<>`, `>`, `>=`, `<`, `<=`), `[NOT] BETWEEN a AND b`,
//! `[NOT] IN ('a', …)`, `IS [NOT] NULL`, `[NOT] CONTAINS|STARTSWITH|ENDSWITH 's'`, `AND`, `OR`,
//! `NOT`, parentheses, string, integer, floating-point and boolean literals, and properties by
//! name (`TAGS` is the tag; every user and system property is visible). A message matches only
//! when the expression is TRUE: unknown (an absent property) and evaluation errors do not match.

mod eval;
mod lexer;
mod parser;

/// Why a selector does not compile; the message is what a client sees in the
/// SUBSCRIPTION_PARSE_FAILED remark.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("Invalid MessageSelector. {0}")]
pub struct Sql92Error(String);

impl Sql92Error {
    fn new(msg: impl Into<String>) -> Self {
        Sql92Error(msg.into())
    }

    fn at(position: usize, msg: impl Into<String>) -> Self {
        Sql92Error(format!("{} at position {position}", msg.into()))
    }
}

/// Longest selector accepted (RocketMQ has no limit; this bounds the parser's work and depth).
pub const MAX_EXPRESSION_LEN: usize = 4096;
/// Deepest nesting accepted: the parser and the evaluator recurse.
const MAX_DEPTH: usize = 64;

/// A compiled selector.
#[derive(Debug, Clone, PartialEq)]
pub struct Sql92 {
    expr: parser::Expr,
}

impl Sql92 {
    /// Compiles `expression`.
    pub fn compile(expression: &str) -> Result<Sql92, Sql92Error> {
        if expression.len() > MAX_EXPRESSION_LEN {
            return Err(Sql92Error::new(format!(
                "the expression is {} bytes long, more than {MAX_EXPRESSION_LEN}",
                expression.len()
            )));
        }
        let tokens = lexer::tokenize(expression)?;
        let depth = tokens
            .iter()
            .scan(0usize, |d, (t, _)| {
                match t {
                    lexer::Token::LParen => *d += 1,
                    lexer::Token::RParen => *d = d.saturating_sub(1),
                    _ => {}
                }
                Some(*d)
            })
            .max()
            .unwrap_or(0);
        let prefixes = tokens
            .iter()
            .filter(|(t, _)| matches!(t, lexer::Token::Not | lexer::Token::Minus | lexer::Token::Plus))
            .count();
        if depth > MAX_DEPTH || prefixes > MAX_DEPTH {
            return Err(Sql92Error::new(format!(
                "the expression nests deeper than {MAX_DEPTH}"
            )));
        }
        let len = expression.chars().count();
        Ok(Sql92 {
            expr: parser::parse(tokens, len)?,
        })
    }

    /// Whether a message with these properties matches (`property` looks one up by name).
    pub fn matches<'a>(&'a self, property: &dyn Fn(&str) -> Option<&'a str>) -> bool {
        matches!(self.expr.eval(property), Ok(Some(eval::Val::Bool(true))))
    }

    /// Whether a message whose encoded property string (§3.5) is `properties` matches.
    pub fn matches_properties(&self, properties: &str) -> bool {
        self.matches(&|name| crate::properties::get(properties, name))
    }
}

#[cfg(test)]
mod tests;
