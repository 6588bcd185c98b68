//! The KV config: PUT_KV_CONFIG (100), GET_KV_CONFIG (101), DELETE_KV_CONFIG (102),
//! GET_KVLIST_BY_NAMESPACE (219).

use super::*;

impl NamesrvHandler {
    pub(super) fn put_kv_config(&self, cmd: &RemotingCommand) -> Reply {
        let h: PutKvConfigRequestHeader = header(cmd)?;
        tracing::info!(namespace = %h.namespace, key = %h.key, value = %h.value, "put KV config");
        self.kv()
            .put(&h.namespace, &h.key, &h.value)
            .map_err(|e| system_error(cmd, format!("KV config changed in memory but not saved: {e}")))?;
        Ok(cmd.success_response())
    }

    pub(super) fn get_kv_config(&self, cmd: &RemotingCommand) -> Reply {
        let h: GetKvConfigRequestHeader = header(cmd)?;
        match self.kv().get(&h.namespace, &h.key) {
            Some(value) => Ok(cmd.success_response().with_header(&GetKvConfigResponseHeader {
                value: Some(value.to_owned()),
            })),
            None => Err(cmd.error_response(
                response::QUERY_NOT_FOUND,
                format!("No config item, Namespace: {} Key: {}", h.namespace, h.key),
            )),
        }
    }

    pub(super) fn delete_kv_config(&self, cmd: &RemotingCommand) -> Reply {
        let h: DeleteKvConfigRequestHeader = header(cmd)?;
        tracing::info!(namespace = %h.namespace, key = %h.key, "delete KV config");
        self.kv()
            .delete(&h.namespace, &h.key)
            .map_err(|e| system_error(cmd, format!("KV config changed in memory but not saved: {e}")))?;
        Ok(cmd.success_response())
    }

    pub(super) fn get_kv_list(&self, cmd: &RemotingCommand) -> Reply {
        let h: GetKvListByNamespaceRequestHeader = header(cmd)?;
        let table = self.kv().namespace(&h.namespace).cloned();
        match table {
            Some(table) => Ok(cmd.success_response().with_body(KvTable { table }.to_json())),
            None => Err(cmd.error_response(
                response::QUERY_NOT_FOUND,
                format!("No config item, Namespace: {}", h.namespace),
            )),
        }
    }
}
