//! Tokens of RocketMQ's SQL92 selector language: keywords and identifiers are ASCII and
//! case-insensitive (`[a-zA-Z_$][a-zA-Z0-9_$]*`), strings are single-quoted with `''` for a
//! quote, numbers are decimal (optionally suffixed `L`) or floating point; `-- …` to the end of a
//! line and `/* … */` are comments.

use super::Sql92Error;

#[derive(Debug, Clone, PartialEq)]
pub enum Token {
    Not,
    And,
    Or,
    Between,
    In,
    True,
    False,
    Null,
    Is,
    Contains,
    StartsWith,
    EndsWith,
    /// A decimal literal's text without its `L` suffix.
    Decimal(String),
    /// A floating-point literal's text.
    Float(String),
    /// A string literal, unescaped.
    Str(String),
    Ident(String),
    Eq,
    Ne,
    Gt,
    Ge,
    Lt,
    Le,
    LParen,
    RParen,
    Comma,
    Plus,
    Minus,
}

/// A token and the character position it starts at (for error messages).
pub type Spanned = (Token, usize);

fn keyword(word: &str) -> Option<Token> {
    const KEYWORDS: &[(&str, Token)] = &[
        ("NOT", Token::Not),
        ("AND", Token::And),
        ("OR", Token::Or),
        ("BETWEEN", Token::Between),
        ("IN", Token::In),
        ("TRUE", Token::True),
        ("FALSE", Token::False),
        ("NULL", Token::Null),
        ("IS", Token::Is),
        ("CONTAINS", Token::Contains),
        ("STARTSWITH", Token::StartsWith),
        ("ENDSWITH", Token::EndsWith),
    ];
    KEYWORDS
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(word))
        .map(|(_, t)| t.clone())
}

/// Splits `input` into tokens.
pub fn tokenize(input: &str) -> Result<Vec<Spanned>, Sql92Error> {
    let chars: Vec<char> = input.chars().collect();
    let at = |i: usize| chars.get(i).copied();
    let mut out = Vec::new();
    let mut i = 0;
    while let Some(c) = at(i) {
        let start = i;
        match c {
            ' ' | '\t' | '\n' | '\r' | '\u{c}' => i += 1,
            // A line comment needs its line end; without one, `--` is two minus signs.
            '-' if at(i + 1) == Some('-')
                && chars
                    .get(i..)
                    .is_some_and(|rest| rest.iter().any(|&c| c == '\n' || c == '\r')) =>
            {
                while at(i).is_some_and(|c| c != '\n' && c != '\r') {
                    i += 1;
                }
            }
            '/' if at(i + 1) == Some('*') => {
                let close = (i + 2..chars.len().saturating_sub(1))
                    .find(|&j| at(j) == Some('*') && at(j + 1) == Some('/'))
                    .ok_or_else(|| Sql92Error::at(start, "unterminated comment"))?;
                i = close + 2;
            }
            '\'' => {
                let mut s = String::new();
                i += 1;
                loop {
                    match at(i) {
                        None => return Err(Sql92Error::at(start, "unterminated string literal")),
                        Some('\'') if at(i + 1) == Some('\'') => {
                            s.push('\'');
                            i += 2;
                        }
                        Some('\'') => {
                            i += 1;
                            break;
                        }
                        Some(c) => {
                            s.push(c);
                            i += 1;
                        }
                    }
                }
                out.push((Token::Str(s), start));
            }
            '0'..='9' | '.' if c != '.' || at(i + 1).is_some_and(|d| d.is_ascii_digit()) => {
                let (token, end) = number(&chars, i)?;
                out.push((token, start));
                i = end;
            }
            c if c.is_ascii_alphabetic() || c == '_' || c == '$' => {
                while at(i).is_some_and(|c| c.is_ascii_alphanumeric() || c == '_' || c == '$') {
                    i += 1;
                }
                let word: String = chars.get(start..i).unwrap_or_default().iter().collect();
                out.push((keyword(&word).unwrap_or(Token::Ident(word)), start));
            }
            _ => {
                let (token, len) = match (c, at(i + 1)) {
                    ('<', Some('>')) => (Token::Ne, 2),
                    ('<', Some('=')) => (Token::Le, 2),
                    ('>', Some('=')) => (Token::Ge, 2),
                    ('<', _) => (Token::Lt, 1),
                    ('>', _) => (Token::Gt, 1),
                    ('=', _) => (Token::Eq, 1),
                    ('(', _) => (Token::LParen, 1),
                    (')', _) => (Token::RParen, 1),
                    (',', _) => (Token::Comma, 1),
                    ('+', _) => (Token::Plus, 1),
                    ('-', _) => (Token::Minus, 1),
                    _ => return Err(Sql92Error::at(start, format!("unexpected character '{c}'"))),
                };
                i += len;
                out.push((token, start));
            }
        }
    }
    Ok(out)
}

/// A numeric literal from `i`: `0 | [1-9][0-9]*` with an optional `L`, or a float with a `.`
/// and/or an exponent.
fn number(chars: &[char], mut i: usize) -> Result<(Token, usize), Sql92Error> {
    let start = i;
    let digits = |i: &mut usize| {
        let from = *i;
        while chars.get(*i).is_some_and(|c| c.is_ascii_digit()) {
            *i += 1;
        }
        *i - from
    };
    let int_digits = digits(&mut i);
    let mut float = false;
    if chars.get(i) == Some(&'.') {
        float = true;
        i += 1;
        digits(&mut i);
    }
    if chars.get(i).is_some_and(|c| *c == 'e' || *c == 'E') {
        let mut j = i + 1;
        if chars.get(j).is_some_and(|c| *c == '+' || *c == '-') {
            j += 1;
        }
        if digits(&mut j) > 0 {
            float = true;
            i = j;
        }
    }
    let text: String = chars.get(start..i).unwrap_or_default().iter().collect();
    if float {
        return Ok((Token::Float(text), i));
    }
    if int_digits > 1 && text.starts_with('0') {
        return Err(Sql92Error::at(start, format!("bad number '{text}'")));
    }
    if chars.get(i).is_some_and(|c| *c == 'l' || *c == 'L') {
        i += 1;
    }
    Ok((Token::Decimal(text), i))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(s: &str) -> Vec<Token> {
        tokenize(s).unwrap().into_iter().map(|(t, _)| t).collect()
    }

    #[test]
    fn keywords_are_case_insensitive_and_identifiers_keep_their_case() {
        assert_eq!(
            kinds("a IS not NuLL and TAGS"),
            vec![
                Token::Ident("a".into()),
                Token::Is,
                Token::Not,
                Token::Null,
                Token::And,
                Token::Ident("TAGS".into())
            ]
        );
        assert_eq!(kinds("notx"), vec![Token::Ident("notx".into())]);
    }

    #[test]
    fn literals_and_operators() {
        assert_eq!(
            kinds("x>=10L and y<>'it''s' or z<=.5e3 or w<5."),
            vec![
                Token::Ident("x".into()),
                Token::Ge,
                Token::Decimal("10".into()),
                Token::And,
                Token::Ident("y".into()),
                Token::Ne,
                Token::Str("it's".into()),
                Token::Or,
                Token::Ident("z".into()),
                Token::Le,
                Token::Float(".5e3".into()),
                Token::Or,
                Token::Ident("w".into()),
                Token::Lt,
                Token::Float("5.".into()),
            ]
        );
    }

    #[test]
    fn comments_are_skipped() {
        assert_eq!(
            kinds("a /* b = 1 */ = -- c\n 1"),
            vec![Token::Ident("a".into()), Token::Eq, Token::Decimal("1".into())]
        );
        // No line end: two minus signs.
        assert_eq!(
            kinds("--1"),
            vec![Token::Minus, Token::Minus, Token::Decimal("1".into())]
        );
    }

    #[test]
    fn bad_input_is_an_error_naming_where() {
        for bad in ["'open", "a = #", "/* open", "a = 007"] {
            let e = tokenize(bad).unwrap_err();
            assert!(e.to_string().contains("position"), "{bad}: {e}");
        }
    }
}
