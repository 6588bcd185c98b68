//! The selector grammar (RocketMQ's `SelectorParser.jj`, itself ActiveMQ's JMS selector without
//! arithmetic, LIKE, hex and octal), by recursive descent, lowest precedence first:
//!
//! ```text
//! or         := and (OR and)*
//! and        := equality (AND equality)*
//! equality   := comparison ( '=' comparison | '<>' comparison | IS NULL | IS NOT NULL )*
//! comparison := unary ( ('>'|'>='|'<'|'<=') unary
//!                     | [NOT] (CONTAINS|STARTSWITH|ENDSWITH) string
//!                     | [NOT] BETWEEN unary AND unary
//!                     | [NOT] IN '(' string (',' string)* ')' )*
//! unary      := '+' unary | '-' unary | NOT unary | primary
//! primary    := literal | identifier | '(' or ')'
//! ```
//!
//! The checks RocketMQ makes while building the tree are made here too, with its messages:
//! only numbers (or properties) are ordered, NULL is not compared with `=`, BETWEEN's constant
//! bounds are in order, IN applies to a property, and the whole is boolean.

use std::iter::Peekable;
use std::vec::IntoIter;

use super::eval::java_compare;
use super::lexer::{Spanned, Token};
use super::Sql92Error;

/// A constant's value, typed as Java types it (a decimal that fits an `int` is an Integer).
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Bool(bool),
    Int(i32),
    Long(i64),
    Double(f64),
    Str(String),
}

/// `>`, `>=`, `<`, `<=`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Order {
    Gt,
    Ge,
    Lt,
    Le,
}

/// `CONTAINS`, `STARTSWITH`, `ENDSWITH`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StrOp {
    Contains,
    StartsWith,
    EndsWith,
}

/// The compiled expression tree.
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    Const(Value),
    Property(String),
    Negate(Box<Expr>),
    Not(Box<Expr>),
    /// A bare property where a boolean is expected.
    BoolCast(Box<Expr>),
    And(Box<Expr>, Box<Expr>),
    Or(Box<Expr>, Box<Expr>),
    Compare(Order, Box<Expr>, Box<Expr>),
    Equal(Box<Expr>, Box<Expr>),
    In {
        property: String,
        list: Vec<String>,
        not: bool,
    },
    Str {
        op: StrOp,
        not: bool,
        operand: Box<Expr>,
        search: String,
    },
}

impl Expr {
    fn is_boolean(&self) -> bool {
        !matches!(
            self,
            Expr::Property(_)
                | Expr::Negate(_)
                | Expr::Const(Value::Int(_) | Value::Long(_) | Value::Double(_) | Value::Str(_))
        )
    }

    fn describe(&self) -> String {
        match self {
            Expr::Const(Value::Str(s)) => format!("'{s}'"),
            Expr::Const(Value::Null) => "NULL".into(),
            Expr::Const(Value::Bool(b)) => b.to_string().to_uppercase(),
            Expr::Const(Value::Int(n)) => n.to_string(),
            Expr::Const(Value::Long(n)) => n.to_string(),
            Expr::Const(Value::Double(n)) => n.to_string(),
            Expr::Property(p) => p.clone(),
            other => format!("{other:?}"),
        }
    }
}

fn boxed(e: Expr) -> Box<Expr> {
    Box::new(e)
}

/// Parses a whole selector into a boolean expression.
pub fn parse(tokens: Vec<Spanned>, len: usize) -> Result<Expr, Sql92Error> {
    let mut p = Parser {
        tokens: tokens.into_iter().peekable(),
        end: len,
    };
    let e = p.or()?;
    if let Some((t, at)) = p.tokens.next() {
        return Err(Sql92Error::at(at, format!("unexpected {t:?}")));
    }
    as_boolean(e)
}

struct Parser {
    tokens: Peekable<IntoIter<Spanned>>,
    end: usize,
}

fn as_boolean(e: Expr) -> Result<Expr, Sql92Error> {
    match e {
        Expr::Property(_) => Ok(Expr::BoolCast(boxed(e))),
        e if e.is_boolean() => Ok(e),
        e => Err(Sql92Error::new(format!(
            "Expression will not result in a boolean value: {}",
            e.describe()
        ))),
    }
}

/// Operands of `>`, `>=`, `<`, `<=`: numeric constants and non-boolean expressions.
fn check_ordered(e: &Expr) -> Result<(), Sql92Error> {
    let ok = match e {
        Expr::Const(v) => matches!(v, Value::Int(_) | Value::Long(_) | Value::Double(_)),
        e => !e.is_boolean(),
    };
    if ok {
        Ok(())
    } else {
        Err(Sql92Error::new(format!(
            "Value '{}' cannot be compared.",
            e.describe()
        )))
    }
}

fn compare(order: Order, l: Expr, r: Expr) -> Result<Expr, Sql92Error> {
    check_ordered(&l)?;
    check_ordered(&r)?;
    Ok(Expr::Compare(order, boxed(l), boxed(r)))
}

fn equal(l: Expr, r: Expr) -> Result<Expr, Sql92Error> {
    for e in [&l, &r] {
        if matches!(e, Expr::Const(Value::Null)) {
            return Err(Sql92Error::new("'NULL' cannot be compared."));
        }
    }
    if let (Expr::Const(a), Expr::Const(b)) = (&l, &r) {
        if matches!(a, Value::Bool(_)) && !matches!(b, Value::Bool(_)) {
            return Err(Sql92Error::new(format!(
                "'{}' cannot be compared with '{}'",
                l.describe(),
                r.describe()
            )));
        }
    }
    Ok(Expr::Equal(boxed(l), boxed(r)))
}

fn between(value: Expr, low: Expr, high: Expr, not: bool) -> Result<Expr, Sql92Error> {
    if let (false, Expr::Const(lo), Expr::Const(hi)) = (not, &low, &high) {
        if matches!(lo, Value::Null) || matches!(hi, Value::Null) {
            return Err(Sql92Error::new(
                "Illegal values of between, values can not be null!",
            ));
        }
        if java_compare(&hi.as_val(), &lo.as_val()).is_ok_and(|o| o < 0) {
            return Err(Sql92Error::new(format!(
                "Illegal values of between, left value({}) must less than or equal to right value({})",
                low.describe(),
                high.describe()
            )));
        }
    }
    Ok(if not {
        Expr::Or(
            boxed(compare(Order::Lt, value.clone(), low)?),
            boxed(compare(Order::Gt, value, high)?),
        )
    } else {
        Expr::And(
            boxed(compare(Order::Ge, value.clone(), low)?),
            boxed(compare(Order::Le, value, high)?),
        )
    })
}

impl Parser {
    fn peek(&mut self) -> Option<&Token> {
        self.tokens.peek().map(|(t, _)| t)
    }

    fn eat(&mut self, t: &Token) -> bool {
        if self.peek() == Some(t) {
            self.tokens.next();
            true
        } else {
            false
        }
    }

    fn expect(&mut self, t: &Token) -> Result<(), Sql92Error> {
        match self.tokens.next() {
            Some((got, _)) if &got == t => Ok(()),
            Some((got, at)) => Err(Sql92Error::at(at, format!("expected {t:?}, found {got:?}"))),
            None => Err(Sql92Error::at(self.end, format!("expected {t:?}, found the end"))),
        }
    }

    /// `NOT` followed by one of `next` (the two-token lookahead of the grammar).
    fn not_then(&mut self, next: &[Token]) -> bool {
        let mut ahead = self.tokens.clone();
        matches!(ahead.next(), Some((Token::Not, _))) && ahead.next().is_some_and(|(t, _)| next.contains(&t))
    }

    fn string(&mut self) -> Result<String, Sql92Error> {
        match self.tokens.next() {
            Some((Token::Str(s), _)) => Ok(s),
            Some((t, at)) => Err(Sql92Error::at(
                at,
                format!("expected a string literal, found {t:?}"),
            )),
            None => Err(Sql92Error::at(
                self.end,
                "expected a string literal, found the end",
            )),
        }
    }

    fn or(&mut self) -> Result<Expr, Sql92Error> {
        let mut left = self.and()?;
        while self.eat(&Token::Or) {
            let right = self.and()?;
            left = Expr::Or(boxed(as_boolean(left)?), boxed(as_boolean(right)?));
        }
        Ok(left)
    }

    fn and(&mut self) -> Result<Expr, Sql92Error> {
        let mut left = self.equality()?;
        while self.eat(&Token::And) {
            let right = self.equality()?;
            left = Expr::And(boxed(as_boolean(left)?), boxed(as_boolean(right)?));
        }
        Ok(left)
    }

    fn equality(&mut self) -> Result<Expr, Sql92Error> {
        let mut left = self.comparison()?;
        loop {
            left = if self.eat(&Token::Eq) {
                equal(left, self.comparison()?)?
            } else if self.eat(&Token::Ne) {
                Expr::Not(boxed(equal(left, self.comparison()?)?))
            } else if self.eat(&Token::Is) {
                let not = self.eat(&Token::Not);
                self.expect(&Token::Null)?;
                let is_null = Expr::Equal(boxed(left), boxed(Expr::Const(Value::Null)));
                if not {
                    Expr::Not(boxed(is_null))
                } else {
                    is_null
                }
            } else {
                return Ok(left);
            };
        }
    }

    fn comparison(&mut self) -> Result<Expr, Sql92Error> {
        let mut left = self.unary()?;
        loop {
            let order = match self.peek() {
                Some(Token::Gt) => Some(Order::Gt),
                Some(Token::Ge) => Some(Order::Ge),
                Some(Token::Lt) => Some(Order::Lt),
                Some(Token::Le) => Some(Order::Le),
                _ => None,
            };
            if let Some(order) = order {
                self.tokens.next();
                left = compare(order, left, self.unary()?)?;
                continue;
            }
            let not = self.not_then(&[
                Token::Contains,
                Token::StartsWith,
                Token::EndsWith,
                Token::Between,
                Token::In,
            ]);
            if not {
                self.tokens.next();
            }
            left = match self.peek() {
                Some(Token::Contains | Token::StartsWith | Token::EndsWith) => {
                    let op = match self.tokens.next() {
                        Some((Token::StartsWith, _)) => StrOp::StartsWith,
                        Some((Token::EndsWith, _)) => StrOp::EndsWith,
                        _ => StrOp::Contains,
                    };
                    Expr::Str {
                        op,
                        not,
                        operand: boxed(left),
                        search: self.string()?,
                    }
                }
                Some(Token::Between) => {
                    self.tokens.next();
                    let low = self.unary()?;
                    self.expect(&Token::And)?;
                    let high = self.unary()?;
                    between(left, low, high, not)?
                }
                Some(Token::In) => {
                    self.tokens.next();
                    self.expect(&Token::LParen)?;
                    let mut list = vec![self.string()?];
                    while self.eat(&Token::Comma) {
                        list.push(self.string()?);
                    }
                    self.expect(&Token::RParen)?;
                    let Expr::Property(property) = left else {
                        return Err(Sql92Error::new(format!(
                            "Expected a property for In expression, got: {}",
                            left.describe()
                        )));
                    };
                    Expr::In { property, list, not }
                }
                _ => return Ok(left),
            };
        }
    }

    fn unary(&mut self) -> Result<Expr, Sql92Error> {
        if self.eat(&Token::Plus) {
            return self.unary();
        }
        if self.eat(&Token::Minus) {
            return Ok(Expr::Negate(boxed(self.unary()?)));
        }
        if self.eat(&Token::Not) {
            return Ok(Expr::Not(boxed(as_boolean(self.unary()?)?)));
        }
        self.primary()
    }

    fn primary(&mut self) -> Result<Expr, Sql92Error> {
        let Some((t, at)) = self.tokens.next() else {
            return Err(Sql92Error::at(self.end, "unexpected end of the expression"));
        };
        Ok(match t {
            Token::Str(s) => Expr::Const(Value::Str(s)),
            Token::Decimal(text) => {
                let n: i64 = text
                    .parse()
                    .map_err(|_| Sql92Error::at(at, format!("number {text} is out of range")))?;
                Expr::Const(i32::try_from(n).map_or(Value::Long(n), Value::Int))
            }
            Token::Float(text) => {
                let n: f64 = text
                    .parse()
                    .map_err(|_| Sql92Error::at(at, format!("bad number {text}")))?;
                if n.is_infinite() {
                    return Err(Sql92Error::at(at, format!("{text} is greater than {}", f64::MAX)));
                }
                Expr::Const(Value::Double(n))
            }
            Token::True => Expr::Const(Value::Bool(true)),
            Token::False => Expr::Const(Value::Bool(false)),
            Token::Null => Expr::Const(Value::Null),
            Token::Ident(name) => Expr::Property(name),
            Token::LParen => {
                let e = self.or()?;
                self.expect(&Token::RParen)?;
                e
            }
            other => return Err(Sql92Error::at(at, format!("unexpected {other:?}"))),
        })
    }
}
