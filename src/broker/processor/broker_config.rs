//! The broker's settings: GET_BROKER_CONFIG (26) and UPDATE_BROKER_CONFIG (25) —
//! protocol.md §2.3.20.
//!
//! sluice reads most settings once, at start. UPDATE_BROKER_CONFIG changes live, as a Java
//! broker does, `brokerPermission` (the standard drain: 4 read-only, 6 again read-write; in
//! force at once and registered with the NameServers at once) and the store's retention and
//! flush settings ([`sluice_storage::store::LIVE_KEYS`]: `fileReservedTime`, `deleteWhen`,
//! `diskMaxUsedSpaceRatio`, `flushIntervalCommitLog`, …). Changed keys are written back to the
//! broker.conf the broker was started from, as Java brokers rewrite theirs. A request that
//! would change any other key is refused whole, naming the key, and changes nothing; a value
//! equal to the one in force is accepted.

use std::sync::Arc;

use sluice_remoting::header::admin::GetBrokerConfigResponseHeader;
use sluice_remoting::RemotingCommand;

use crate::broker::config::BrokerConfig;
use crate::broker::error::BrokerError;
use crate::broker::BrokerState;
use sluice_remoting::net::Outbound;
use sluice_storage::store::LIVE_KEYS;

/// The settings in force as Java-properties text; header `version` = the topic config's
/// DataVersion.
pub fn get_broker_config(state: &Arc<BrokerState>, cmd: &RemotingCommand) -> Result<Outbound, BrokerError> {
    let mut text = String::new();
    for (k, v) in in_force(state).properties() {
        text.push_str(k);
        text.push('=');
        text.push_str(&escape(&v));
        text.push('\n');
    }
    let version = serde_json::to_string(&state.topics.data_version()).map_err(BrokerError::system)?;
    let header = GetBrokerConfigResponseHeader {
        version: Some(version),
    };
    Ok(cmd
        .success_response()
        .with_header(&header)
        .with_body(text.into_bytes())
        .into())
}

/// The configuration in force: the one the broker started with, and the live changes since.
fn in_force(state: &BrokerState) -> BrokerConfig {
    let mut c = state.config.clone();
    c.broker_permission = state.permission();
    c.store = state.store.settings();
    c
}

/// Applies the body's `key=value` lines when every key that changes may change live; else
/// refuses the whole request, naming the first key that may not.
pub fn update_broker_config(
    state: &Arc<BrokerState>,
    cmd: &RemotingCommand,
) -> Result<Outbound, BrokerError> {
    let text = std::str::from_utf8(&cmd.body).map_err(BrokerError::system)?;
    let pairs = crate::config::properties::parse(text).map_err(BrokerError::system)?;
    // One change at a time: each reads the settings in force, changes some, and writes them
    // all back (store and broker.conf); two at once could undo each other's keys.
    let _one_at_a_time = UPDATES.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    let now = in_force(state);
    let mut next = now.clone();
    for (key, value, _) in pairs {
        match next.set(&key, &value) {
            Err(e) => return Err(BrokerError::system(e)),
            Ok(Some(warning)) => return Err(BrokerError::system(warning)),
            Ok(None) => {}
        }
    }
    let before = now.properties();
    let changed: Vec<(&'static str, String)> = next
        .properties()
        .into_iter()
        .filter(|kv| !before.contains(kv))
        .collect();
    if let Some((key, value)) = changed
        .iter()
        .find(|(k, _)| *k != PERMISSION && !LIVE_KEYS.contains(k))
    {
        return Err(BrokerError::system(format!(
            "sluice reads {key} at start only: set {key}={value} in broker.conf and restart the broker"
        )));
    }
    if next.broker_permission != now.broker_permission && ![2, 4, 6].contains(&next.broker_permission) {
        return Err(BrokerError::system(format!(
            "brokerPermission must be 2, 4 or 6, not {}",
            next.broker_permission
        )));
    }
    state.store.retune(&next.store).map_err(BrokerError::system)?;
    if next.broker_permission != now.broker_permission {
        set_permission(state, next.broker_permission);
    }
    if let (Some(path), false) = (&state.config.config_file, changed.is_empty()) {
        persist(path, &changed).map_err(|e| {
            let keys: Vec<&str> = changed.iter().map(|(k, _)| *k).collect();
            BrokerError::system(format!(
                "{} in force but {} was not updated: {e}",
                keys.join(", "),
                path.display()
            ))
        })?;
    }
    Ok(super::ok(cmd))
}

const PERMISSION: &str = "brokerPermission";

/// Held while an UPDATE_BROKER_CONFIG reads, changes and writes back the settings (rare admin
/// requests: one lock for every broker of the process is enough).
static UPDATES: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// `brokerPermission` live: in force at once, and registered with the NameServers at once.
fn set_permission(state: &BrokerState, p: i32) {
    let old = state
        .broker_permission
        .swap(p, std::sync::atomic::Ordering::AcqRel);
    tracing::info!(from = old, to = p, "brokerPermission changed");
    state.topics.bump();
    state.rounds.request();
}

/// Sets each `key=value` in the properties file at `path` (the key's line replaced, else one
/// appended), through a temporary file renamed over it.
fn persist(path: &std::path::Path, changes: &[(&str, String)]) -> std::io::Result<()> {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let mut found = vec![false; changes.len()];
    let mut out: Vec<String> = text
        .lines()
        .map(|line| {
            let t = line.trim_start();
            let k = t.split(['=', ':', ' ', '\t']).next().unwrap_or_default();
            let hit = changes.iter().position(|(key, _)| *key == k);
            match hit {
                Some(i) if !t.starts_with('#') && !t.starts_with('!') => {
                    found[i] = true;
                    format!("{k}={}", escape(&changes[i].1))
                }
                _ => line.to_owned(),
            }
        })
        .collect();
    for ((key, value), seen) in changes.iter().zip(found) {
        if !seen {
            out.push(format!("{key}={}", escape(value)));
        }
    }
    let tmp = path.with_extension("conf.tmp");
    std::fs::write(&tmp, out.join("\n") + "\n")?;
    std::fs::rename(&tmp, path)
}

/// Java-properties escaping of a value: backslash, and the line breaks a value cannot hold.
fn escape(v: &str) -> String {
    v.replace('\\', "\\\\").replace('\n', "\\n").replace('\r', "\\r")
}
