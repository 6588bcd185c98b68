//! What jobs publish: a table of [`Row`]s per job, changed only when the job's probe passes a
//! round, with the queue offsets the table reflects.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, RwLock};

use serde::{Deserialize, Serialize};

/// One row of a job's result: `(window, key) → value`. Count jobs put the window's start (ms since
/// the epoch, by store time) in `window`; jobs without windows leave it 0.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Row {
    pub window: i64,
    pub key: String,
    pub value: i64,
}

/// A job's visible result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobResults {
    pub name: String,
    /// The rows, sorted (each present once; a row with multiplicity ≠ 1 is repeated or absent).
    pub rows: Vec<Row>,
    /// Queue id → next offset: the rows reflect every message of the topic below these offsets.
    pub through: BTreeMap<u32, u64>,
    /// Rounds the job completed.
    pub rounds: u64,
    /// Window length of count jobs (for rates).
    pub window_ms: Option<u64>,
    /// When the rows last changed (ms since the epoch).
    pub updated_ms: i64,
}

impl JobResults {
    /// `value` per second of window for count jobs (`None` without windows).
    pub fn rate(&self, row: &Row) -> Option<f64> {
        self.window_ms
            .filter(|w| *w > 0)
            .map(|w| row.value as f64 * 1000.0 / w as f64)
    }

    /// The JSON served over HTTP: rows with their rate when the job has windows.
    pub fn to_json(&self) -> serde_json::Value {
        let rows: Vec<serde_json::Value> = self
            .rows
            .iter()
            .map(|r| {
                let mut v = serde_json::json!({"window": r.window, "key": r.key, "value": r.value});
                if let Some(rate) = self.rate(r) {
                    v["rate_per_s"] = serde_json::json!(rate);
                }
                v
            })
            .collect();
        serde_json::json!({
            "name": self.name,
            "rows": rows,
            "through": self.through,
            "rounds": self.rounds,
            "window_ms": self.window_ms,
            "updated_ms": self.updated_ms,
        })
    }
}

/// The accumulated table of one job (on the analytics thread, mirrored into [`Results`]).
#[derive(Debug, Default)]
pub(crate) struct Table {
    pub rows: BTreeMap<Row, isize>,
}

impl Table {
    pub fn apply(&mut self, updates: impl IntoIterator<Item = (Row, isize)>) {
        for (row, diff) in updates {
            let e = self.rows.entry(row.clone()).or_insert(0);
            *e += diff;
            if *e == 0 {
                self.rows.remove(&row);
            }
        }
    }

    pub fn snapshot(&self) -> Vec<Row> {
        self.rows
            .iter()
            .flat_map(|(r, n)| std::iter::repeat_n(r.clone(), (*n).max(0) as usize))
            .collect()
    }
}

/// Every job's visible result, shared with readers on other threads (HTTP, admin, tests).
#[derive(Debug, Clone, Default)]
pub struct Results {
    inner: Arc<RwLock<HashMap<String, JobResults>>>,
}

impl Results {
    pub fn get(&self, name: &str) -> Option<JobResults> {
        self.inner.read().ok()?.get(name).cloned()
    }

    pub(crate) fn publish(&self, results: JobResults) {
        if let Ok(mut m) = self.inner.write() {
            m.insert(results.name.clone(), results);
        }
    }

    pub(crate) fn remove(&self, name: &str) {
        if let Ok(mut m) = self.inner.write() {
            m.remove(name);
        }
    }

    /// Applies `f` to a job's published result without cloning it.
    pub fn with<R>(&self, name: &str, f: impl FnOnce(&JobResults) -> R) -> Option<R> {
        self.inner.read().ok()?.get(name).map(f)
    }
}
