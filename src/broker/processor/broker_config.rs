//! The broker's settings: GET_BROKER_CONFIG (26) and UPDATE_BROKER_CONFIG (25) —
//! protocol.md §2.3.20.
//!
//! sluice reads its settings once, at start: UPDATE_BROKER_CONFIG accepts a value only where it
//! is the one in force, and refuses a change with the reason (Java brokers apply some keys live
//! and rewrite their broker.conf).

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

/// Java-properties escaping of a value: backslash, and the line breaks a value cannot hold.
fn escape(v: &str) -> String {
    v.replace('\\', "\\\\").replace('\n', "\\n").replace('\r', "\\r")
}
