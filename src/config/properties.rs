//! Java `.properties` files (RocketMQ's `broker.conf`, `namesrv.properties`): `key=value`,
//! `key:value` or `key value`, `#`/`!` comments, backslash line continuations and escapes.

/// Why a properties file could not be read.
#[derive(Debug, thiserror::Error)]
pub enum PropertiesError {
    #[error("line {line}: bad escape {escape:?}")]
    BadEscape { line: usize, escape: String },
}

fn unescape(s: &str, line: usize) -> Result<String, PropertiesError> {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('t') => out.push('\t'),
            Some('n') => out.push('\n'),
            Some('r') => out.push('\r'),
            Some('f') => out.push('\u{c}'),
            Some('u') => {
                let hex: String = chars.by_ref().take(4).collect();
                let ch = u32::from_str_radix(&hex, 16)
                    .ok()
                    .and_then(char::from_u32)
                    .ok_or_else(|| PropertiesError::BadEscape {
                        line,
                        escape: format!("\\u{hex}"),
                    })?;
                out.push(ch);
            }
            Some(other) => out.push(other),
            None => {}
        }
    }
    Ok(out)
}

/// Splits a logical line into key and value at the first unescaped `=`, `:` or whitespace.
fn split(line: &str) -> (&str, &str) {
    let bytes = line.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => i += 2,
            b'=' | b':' | b' ' | b'\t' | b'\x0c' => break,
            _ => i += 1,
        }
    }
    let i = i.min(bytes.len());
    let key = &line[..i];
    let mut rest = line[i..].trim_start_matches([' ', '\t', '\x0c']);
    if let Some(r) = rest.strip_prefix(['=', ':']) {
        rest = r.trim_start_matches([' ', '\t', '\x0c']);
    }
    (key, rest)
}

/// Parses a properties text into (key, value, line number) in file order.
pub fn parse(text: &str) -> Result<Vec<(String, String, usize)>, PropertiesError> {
    let mut out = Vec::new();
    let mut logical = String::new();
    let mut start_line = 0;
    for (n, raw) in text.lines().enumerate() {
        let line = if logical.is_empty() {
            let t = raw.trim_start_matches([' ', '\t', '\x0c']);
            if t.is_empty() || t.starts_with('#') || t.starts_with('!') {
                continue;
            }
            start_line = n + 1;
            t
        } else {
            raw.trim_start_matches([' ', '\t', '\x0c'])
        };
        // An odd number of trailing backslashes continues the line.
        let trailing = line.bytes().rev().take_while(|&b| b == b'\\').count();
        if trailing % 2 == 1 {
            logical.push_str(&line[..line.len() - 1]);
            continue;
        }
        logical.push_str(line);
        let (k, v) = split(&logical);
        out.push((
            unescape(k, start_line)?,
            unescape(v.trim_end(), start_line)?,
            start_line,
        ));
        logical.clear();
    }
    if !logical.is_empty() {
        let (k, v) = split(&logical);
        out.push((
            unescape(k, start_line)?,
            unescape(v.trim_end(), start_line)?,
            start_line,
        ));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn java_forms() {
        let text = "# comment\n! also\nbrokerClusterName = DefaultCluster\nbrokerName:broker-a\nbrokerId 0\n\
                    namesrvAddr=127.0.0.1:9876;\\\n    127.0.0.2:9876\nkey\\ with\\=odd=v\\u0041\n   \nempty=\n";
        let p = parse(text).unwrap();
        let kv: Vec<(&str, &str)> = p.iter().map(|(k, v, _)| (k.as_str(), v.as_str())).collect();
        assert_eq!(
            kv,
            [
                ("brokerClusterName", "DefaultCluster"),
                ("brokerName", "broker-a"),
                ("brokerId", "0"),
                ("namesrvAddr", "127.0.0.1:9876;127.0.0.2:9876"),
                ("key with=odd", "vA"),
                ("empty", ""),
            ]
        );
        assert_eq!(p[3].2, 6);
        assert!(parse("a=\\uZZZZ").is_err());
    }
}
