//! What a command prints: a readable text (usually a table) and, for `--json`, a JSON value.

use serde_json::Value;

/// One command's result.
#[derive(Debug, Clone, PartialEq)]
pub struct Output {
    pub text: String,
    pub json: Value,
}

impl Output {
    pub fn text(text: impl Into<String>, json: Value) -> Output {
        Output {
            text: text.into(),
            json,
        }
    }

    /// The table as text, the rows as JSON objects keyed by `keys` (one per column).
    pub fn table(table: Table, keys: &[&str]) -> Output {
        let json = table_json(&table, keys);
        Output {
            text: table.render(),
            json,
        }
    }

    /// JSON (compact, one line) or the text.
    pub fn render(&self, json: bool) -> String {
        if json {
            self.json.to_string()
        } else {
            self.text.clone()
        }
    }
}

/// Rows of cells under headers, printed in aligned columns.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Table {
    pub headers: Vec<String>,
    pub rows: Vec<Vec<String>>,
}

impl Table {
    pub fn new(headers: &[&str]) -> Table {
        Table {
            headers: headers.iter().map(|h| (*h).to_owned()).collect(),
            rows: Vec::new(),
        }
    }

    pub fn row(&mut self, cells: Vec<String>) {
        self.rows.push(cells);
    }

    /// Left-aligned columns two spaces apart, the last one unpadded.
    pub fn render(&self) -> String {
        let n = self.headers.len();
        let mut widths: Vec<usize> = self.headers.iter().map(|h| h.chars().count()).collect();
        for r in &self.rows {
            for (i, c) in r.iter().enumerate().take(n) {
                widths[i] = widths[i].max(c.chars().count());
            }
        }
        let line = |cells: &[String]| {
            let mut s = String::new();
            for (i, c) in cells.iter().enumerate().take(n) {
                if i + 1 == n {
                    s.push_str(c);
                } else {
                    s.push_str(&format!("{c:<w$}  ", w = widths[i]));
                }
            }
            s.trim_end().to_owned()
        };
        let mut out = vec![line(&self.headers)];
        out.extend(self.rows.iter().map(|r| line(r)));
        out.join("\n")
    }
}

/// The rows as objects; cells that parse as numbers become numbers.
pub fn table_json(table: &Table, keys: &[&str]) -> Value {
    Value::Array(
        table
            .rows
            .iter()
            .map(|r| {
                let obj = keys
                    .iter()
                    .zip(r)
                    .map(|(k, c)| ((*k).to_owned(), cell_value(c)))
                    .collect();
                Value::Object(obj)
            })
            .collect(),
    )
}

fn cell_value(c: &str) -> Value {
    if let Ok(i) = c.parse::<i64>() {
        return Value::from(i);
    }
    match c.parse::<f64>() {
        Ok(f) if f.is_finite() && !c.starts_with('+') => Value::from(f),
        _ => Value::from(c),
    }
}

/// `key: value` lines with the keys padded to one width.
pub fn key_values(pairs: &[(String, String)]) -> String {
    let w = pairs.iter().map(|(k, _)| k.chars().count()).max().unwrap_or(0);
    pairs
        .iter()
        .map(|(k, v)| format!("{k:<w$}: {v}"))
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aligned_columns_and_typed_json() {
        let mut t = Table::new(&["#Topic", "#QID", "#Rate"]);
        t.row(vec!["TopicTest".into(), "0".into(), "1.5".into()]);
        t.row(vec!["T".into(), "12".into(), "-".into()]);
        assert_eq!(
            t.render(),
            "#Topic     #QID  #Rate\nTopicTest  0     1.5\nT          12    -"
        );
        let o = Output::table(t, &["topic", "queueId", "rate"]);
        assert_eq!(
            o.render(true),
            r#"[{"queueId":0,"rate":1.5,"topic":"TopicTest"},{"queueId":12,"rate":"-","topic":"T"}]"#
        );
    }
}
