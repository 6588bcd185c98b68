//! UPDATE_NAMESRV_CONFIG (318); GET_NAMESRV_CONFIG (319) is answered in the dispatch.

use super::*;

impl NamesrvHandler {
    pub(super) fn update_config(&self, cmd: &RemotingCommand) -> Reply {
        if cmd.body.is_empty() {
            return Ok(cmd.success_response());
        }
        let text = std::str::from_utf8(&cmd.body)
            .map_err(|_| system_error(cmd, "the config body is not UTF-8 text"))?;
        let entries = crate::config::properties::parse(text).map_err(|e| system_error(cmd, e.to_string()))?;
        let mut config = self.config.write().unwrap_or_else(|e| e.into_inner());
        if entries
            .iter()
            .any(|(k, _, _)| config.config_black_list.contains(k))
        {
            return Err(cmd.error_response(response::NO_PERMISSION, "Can not update config in black list."));
        }
        if entries.iter().any(|(k, _, _)| {
            k == "enableControllerInNamesrv" || sluice_controller::config::is_controller_key(k)
        }) {
            return Err(cmd.error_response(
                response::NO_PERMISSION,
                "the embedded controller's settings take effect only at start",
            ));
        }
        let warnings = config
            .apply_properties(text)
            .map_err(|e| system_error(cmd, e.to_string()))?;
        for w in warnings {
            tracing::warn!("UPDATE_NAMESRV_CONFIG: {w}");
        }
        tracing::info!(keys = entries.len(), "NameServer config updated");
        Ok(cmd.success_response())
    }
}
