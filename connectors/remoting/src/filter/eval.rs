//! Evaluating a compiled selector against one message's properties, with RocketMQ's
//! three-valued logic (an absent property makes most comparisons unknown, and unknown does not
//! match) and its type conversions: a property is a string, converted to the type of the
//! constant it is compared with (`Integer.valueOf`, `Long.valueOf`, `Double.valueOf`,
//! `Boolean.valueOf`); a conversion that fails makes the message not match, as Java's filter
//! does when evaluation throws.

use std::cmp::Ordering;

use super::parser::{Expr, Order, StrOp, Value};

/// A value during evaluation; strings borrow from the expression or the message.
#[derive(Debug, Clone, PartialEq)]
pub enum Val<'a> {
    Bool(bool),
    Int(i32),
    Long(i64),
    Double(f64),
    Str(&'a str),
}

/// Evaluation failed where Java throws (a string that is not a number compared with one, …).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EvalError;

type Eval<'a> = Result<Option<Val<'a>>, EvalError>;

impl Value {
    /// This constant as an evaluation value (`None` for NULL).
    pub fn as_val(&self) -> Option<Val<'_>> {
        Some(match self {
            Value::Null => return None,
            Value::Bool(b) => Val::Bool(*b),
            Value::Int(n) => Val::Int(*n),
            Value::Long(n) => Val::Long(*n),
            Value::Double(n) => Val::Double(*n),
            Value::Str(s) => Val::Str(s),
        })
    }
}

fn parse_int(s: &str) -> Result<i32, EvalError> {
    s.parse().map_err(|_| EvalError)
}

fn parse_long(s: &str) -> Result<i64, EvalError> {
    s.parse().map_err(|_| EvalError)
}

/// `Double.valueOf`: surrounding blanks and a `d`/`f` suffix allowed.
fn parse_double(s: &str) -> Result<f64, EvalError> {
    let t = s.trim();
    let t = t.strip_suffix(['d', 'D', 'f', 'F']).unwrap_or(t);
    t.parse().map_err(|_| EvalError)
}

fn ord(o: Ordering) -> i32 {
    o as i32
}

/// Java's `ComparisonExpression.__compare` with string conversion on: values of different types
/// are brought to one type (the wider number, or the non-string side's type), then compared.
/// Types that cannot be brought together compare as "less" (-1).
pub fn java_compare(l: &Option<Val>, r: &Option<Val>) -> Result<i32, EvalError> {
    use Val::*;
    let (Some(l), Some(r)) = (l, r) else {
        return Err(EvalError);
    };
    Ok(match (l, r) {
        (Bool(a), Bool(b)) => ord(a.cmp(b)),
        (Int(a), Int(b)) => ord(a.cmp(b)),
        (Long(a), Long(b)) => ord(a.cmp(b)),
        (Double(a), Double(b)) => ord(a.total_cmp(b)),
        (Str(a), Str(b)) => ord(a.cmp(b)),
        (Int(a), Long(b)) => ord(i64::from(*a).cmp(b)),
        (Long(a), Int(b)) => ord(a.cmp(&i64::from(*b))),
        (Int(a), Double(b)) => ord(f64::from(*a).total_cmp(b)),
        (Double(a), Int(b)) => ord(a.total_cmp(&f64::from(*b))),
        (Long(a), Double(b)) => ord((*a as f64).total_cmp(b)),
        (Double(a), Long(b)) => ord(a.total_cmp(&(*b as f64))),
        (Int(a), Str(b)) => ord(a.cmp(&parse_int(b)?)),
        (Long(a), Str(b)) => ord(a.cmp(&parse_long(b)?)),
        (Double(a), Str(b)) => ord(a.total_cmp(&parse_double(b)?)),
        (Str(a), Bool(b)) => ord(a.eq_ignore_ascii_case("true").cmp(b)),
        (Str(a), Int(b)) => ord(parse_int(a)?.cmp(b)),
        (Str(a), Long(b)) => ord(parse_long(a)?.cmp(b)),
        (Str(a), Double(b)) => ord(parse_double(a)?.total_cmp(b)),
        // Java casts the Boolean to a String here and throws.
        (Bool(_), Str(_)) => return Err(EvalError),
        _ => -1,
    })
}

fn boolean(v: Option<Val>) -> Result<Option<bool>, EvalError> {
    match v {
        None => Ok(None),
        Some(Val::Bool(b)) => Ok(Some(b)),
        Some(_) => Err(EvalError),
    }
}

impl Expr {
    /// Evaluates against `property` (a message's property by name).
    pub fn eval<'a>(&'a self, property: &dyn Fn(&str) -> Option<&'a str>) -> Eval<'a> {
        Ok(match self {
            Expr::Const(v) => v.as_val(),
            Expr::Property(name) => property(name).map(Val::Str),
            Expr::Negate(e) => match e.eval(property)? {
                Some(Val::Int(n)) => Some(Val::Int(n.wrapping_neg())),
                Some(Val::Long(n)) => Some(Val::Long(n.wrapping_neg())),
                Some(Val::Double(n)) => Some(Val::Double(-n)),
                _ => None,
            },
            Expr::Not(e) => boolean(e.eval(property)?)?.map(|b| Val::Bool(!b)),
            Expr::BoolCast(e) => match e.eval(property)? {
                None => None,
                Some(Val::Bool(b)) => Some(Val::Bool(b)),
                Some(_) => Some(Val::Bool(false)),
            },
            Expr::And(l, r) => {
                let lv = boolean(l.eval(property)?)?;
                if lv == Some(false) {
                    return Ok(Some(Val::Bool(false)));
                }
                let rv = boolean(r.eval(property)?)?;
                match (lv, rv) {
                    (_, Some(false)) => Some(Val::Bool(false)),
                    (Some(true), Some(true)) => Some(Val::Bool(true)),
                    _ => None,
                }
            }
            Expr::Or(l, r) => {
                let lv = boolean(l.eval(property)?)?;
                if lv == Some(true) {
                    return Ok(Some(Val::Bool(true)));
                }
                let rv = boolean(r.eval(property)?)?;
                match (lv, rv) {
                    (_, Some(true)) => Some(Val::Bool(true)),
                    (Some(false), Some(false)) => Some(Val::Bool(false)),
                    _ => None,
                }
            }
            Expr::Compare(order, l, r) => {
                let lv = l.eval(property)?;
                if lv.is_none() {
                    return Ok(None);
                }
                let rv = r.eval(property)?;
                if rv.is_none() {
                    return Ok(None);
                }
                let c = match (&lv, &rv) {
                    // Two strings are ordered as numbers, or not at all.
                    (Some(Val::Str(a)), Some(Val::Str(b))) => {
                        ord(parse_double(a)?.total_cmp(&parse_double(b)?))
                    }
                    _ => java_compare(&lv, &rv)?,
                };
                Some(Val::Bool(match order {
                    Order::Gt => c > 0,
                    Order::Ge => c >= 0,
                    Order::Lt => c < 0,
                    Order::Le => c <= 0,
                }))
            }
            Expr::Equal(l, r) => {
                let lv = l.eval(property)?;
                let rv = r.eval(property)?;
                match (&lv, &rv) {
                    (None, None) => Some(Val::Bool(true)),
                    (None, Some(_)) => None,
                    (Some(_), None) => Some(Val::Bool(false)),
                    (Some(a), Some(b)) if a == b => Some(Val::Bool(true)),
                    _ => Some(Val::Bool(java_compare(&lv, &rv)? == 0)),
                }
            }
            Expr::In {
                property: name,
                list,
                not,
            } => property(name).map(|v| Val::Bool(list.iter().any(|s| s == v) ^ not)),
            Expr::Str {
                op,
                not,
                operand,
                search,
            } => {
                if search.is_empty() {
                    return Ok(Some(Val::Bool(false)));
                }
                match operand.eval(property)? {
                    Some(Val::Str(s)) => {
                        let hit = match op {
                            StrOp::Contains => s.contains(search.as_str()),
                            StrOp::StartsWith => s.starts_with(search.as_str()),
                            StrOp::EndsWith => s.ends_with(search.as_str()),
                        };
                        Some(Val::Bool(hit ^ not))
                    }
                    _ => Some(Val::Bool(false)),
                }
            }
        })
    }
}
