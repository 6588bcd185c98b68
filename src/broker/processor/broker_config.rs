//! The broker's settings: GET_BROKER_CONFIG (26) and UPDATE_BROKER_CONFIG (25) —
//! protocol.md §2.3.20.
//!
//! sluice reads most settings once, at start: UPDATE_BROKER_CONFIG accepts a value where it is
//! the one in force, and refuses a change with the reason. `brokerPermission` changes live (the
//! standard drain: 4 read-only, 6 again read-write): in force at once, registered with the
//! NameServers at once, and written back to the broker.conf the broker was started from, as Java
//! brokers rewrite theirs.

use std::sync::Arc;

use sluice_remoting::header::admin::GetBrokerConfigResponseHeader;
use sluice_remoting::RemotingCommand;

use crate::broker::error::BrokerError;
use crate::broker::BrokerState;
use sluice_remoting::net::Outbound;

/// The settings in force as Java-properties text; header `version` = the topic config's
/// DataVersion.
pub fn get_broker_config(state: &Arc<BrokerState>, cmd: &RemotingCommand) -> Result<Outbound, BrokerError> {
    let mut text = String::new();
    for (k, v) in state.config.properties() {
        let v = if k == PERMISSION {
            state.permission().to_string()
        } else {
            v
        };
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

/// Accepts the body's `key=value` lines when each names a setting and leaves it as it is;
/// anything else is refused, naming the first offending key.
pub fn update_broker_config(
    state: &Arc<BrokerState>,
    cmd: &RemotingCommand,
) -> Result<Outbound, BrokerError> {
    let text = std::str::from_utf8(&cmd.body).map_err(BrokerError::system)?;
    let pairs = crate::config::properties::parse(text).map_err(BrokerError::system)?;
    let now = state.config.properties();
    for (key, value, _) in pairs {
        if key == PERMISSION {
            set_permission(state, &value)?;
            continue;
        }
        let mut probe = state.config.clone();
        match probe.set(&key, &value) {
            Err(e) => return Err(BrokerError::system(e)),
            Ok(Some(warning)) => return Err(BrokerError::system(warning)),
            Ok(None) if probe.properties() != now => {
                return Err(BrokerError::system(format!(
                "sluice reads {key} at start only: set {key}={value} in broker.conf and restart the broker"
            )))
            }
            Ok(None) => {}
        }
    }
    Ok(super::ok(cmd))
}

const PERMISSION: &str = "brokerPermission";

/// `brokerPermission` live: 2 (write only), 4 (read only) or 6 (both).
fn set_permission(state: &BrokerState, value: &str) -> Result<(), BrokerError> {
    let p: i32 = value
        .trim()
        .parse()
        .ok()
        .filter(|p| [2, 4, 6].contains(p))
        .ok_or_else(|| BrokerError::system(format!("brokerPermission must be 2, 4 or 6, not {value:?}")))?;
    let old = state
        .broker_permission
        .swap(p, std::sync::atomic::Ordering::AcqRel);
    tracing::info!(from = old, to = p, "brokerPermission changed");
    state.topics.bump();
    state.register_now.notify_one();
    if let Some(path) = &state.config.config_file {
        persist(path, PERMISSION, &p.to_string()).map_err(|e| {
            BrokerError::system(format!(
                "brokerPermission={p} is in force but {} was not updated: {e}",
                path.display()
            ))
        })?;
    }
    Ok(())
}

/// Sets `key=value` in the properties file at `path` (the line replaced, else appended), through
/// a temporary file renamed over it.
fn persist(path: &std::path::Path, key: &str, value: &str) -> std::io::Result<()> {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let mut found = false;
    let mut out: Vec<String> = text
        .lines()
        .map(|line| {
            let t = line.trim_start();
            let k = t.split(['=', ':', ' ', '\t']).next().unwrap_or_default();
            if !t.starts_with('#') && !t.starts_with('!') && k == key {
                found = true;
                format!("{key}={}", escape(value))
            } else {
                line.to_owned()
            }
        })
        .collect();
    if !found {
        out.push(format!("{key}={}", escape(value)));
    }
    let tmp = path.with_extension("conf.tmp");
    std::fs::write(&tmp, out.join("\n") + "\n")?;
    std::fs::rename(&tmp, path)
}

/// Java-properties escaping of a value: backslash, and the line breaks a value cannot hold.
fn escape(v: &str) -> String {
    v.replace('\\', "\\\\").replace('\n', "\\n").replace('\r', "\\r")
}
