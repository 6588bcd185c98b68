//! Brokers: REGISTER_BROKER (103), UNREGISTER_BROKER (104), QUERY_DATA_VERSION (322),
//! WIPE_WRITE_PERM_OF_BROKER (205), ADD_WRITE_PERM_OF_BROKER (327).

use super::*;

impl NamesrvHandler {
    pub(super) fn register_body(
        cmd: &RemotingCommand,
        h: &RegisterBrokerRequestHeader,
    ) -> Result<TopicConfigSerializeWrapper, String> {
        if h.compressed {
            return Err(
                "compressed REGISTER_BROKER bodies are not supported by this NameServer; \
                        set compressedRegister=false on the broker"
                    .to_owned(),
            );
        }
        if cmd.body.is_empty() {
            return Ok(TopicConfigSerializeWrapper::default());
        }
        let parsed = if cmd.version < version::V3_0_11 {
            TopicConfigSerializeWrapper::from_json(&cmd.body)
        } else {
            RegisterBrokerBody::from_json(&cmd.body).map(|b| b.topic_config_serialize_wrapper)
        };
        parsed.map_err(|e| format!("bad REGISTER_BROKER body: {e}"))
    }

    pub(super) fn register_broker(&self, conn_id: Option<u64>, cmd: &RemotingCommand) -> Reply {
        let h: RegisterBrokerRequestHeader = header(cmd)?;
        if h.body_crc32 != 0 && sluice_storage::record::body_crc(&cmd.body) as i32 != h.body_crc32 {
            tracing::warn!(broker_addr = %h.broker_addr, "REGISTER_BROKER body CRC mismatch");
            return Err(system_error(cmd, "crc32 not match"));
        }
        let topic_config = Self::register_body(cmd, &h).map_err(|e| {
            tracing::warn!(broker_addr = %h.broker_addr, error = %e, "REGISTER_BROKER refused");
            system_error(cmd, e)
        })?;
        let topics = topic_config.topic_config_table.len();
        let reg = BrokerRegistration {
            cluster_name: h.cluster_name.clone(),
            broker_name: h.broker_name.clone(),
            broker_addr: h.broker_addr.clone(),
            ha_server_addr: h.ha_server_addr,
            broker_id: h.broker_id,
            heartbeat_timeout: h
                .heartbeat_timeout_millis
                .and_then(|ms| u64::try_from(ms).ok())
                .filter(|ms| *ms > 0)
                .map(Duration::from_millis),
            enable_acting_master: h.enable_acting_master,
            conn_id,
            topic_config,
        };
        let result = self.routes_mut().register(reg, Instant::now());
        if result.first {
            tracing::info!(
                cluster = %h.cluster_name,
                broker_name = %h.broker_name,
                broker_addr = %h.broker_addr,
                broker_id = h.broker_id,
                master_addr = result.master_addr.as_deref().unwrap_or("-"),
                topics,
                "new broker registered"
            );
        } else {
            tracing::debug!(broker_addr = %h.broker_addr, topics, "broker registration renewed");
        }
        let return_order = self
            .config
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .return_order_topic_config_to_broker;
        let body = if return_order {
            self.kv()
                .namespace(NAMESPACE_ORDER_TOPIC_CONFIG)
                .map(|t| KvTable { table: t.clone() }.to_json())
                .unwrap_or_default()
        } else {
            Vec::new()
        };
        Ok(cmd
            .success_response()
            .with_header(&RegisterBrokerResponseHeader {
                ha_server_addr: result.ha_server_addr,
                master_addr: result.master_addr,
            })
            .with_body(body))
    }

    pub(super) fn unregister_broker(&self, cmd: &RemotingCommand) -> Reply {
        let h: UnregisterBrokerRequestHeader = header(cmd)?;
        let found = self.routes_mut().unregister(&h.broker_name, &h.broker_addr);
        tracing::info!(
            cluster = %h.cluster_name,
            broker_name = %h.broker_name,
            broker_addr = %h.broker_addr,
            broker_id = h.broker_id,
            found,
            "broker unregistered"
        );
        Ok(cmd.success_response())
    }

    pub(super) fn query_data_version(&self, cmd: &RemotingCommand) -> Reply {
        let h: QueryDataVersionRequestHeader = header(cmd)?;
        let dv = DataVersion::from_json(&cmd.body)
            .map_err(|e| system_error(cmd, format!("bad QUERY_DATA_VERSION body: {e}")))?;
        let (changed, held) = self
            .routes_mut()
            .query_data_version(&h.broker_addr, &dv, Instant::now());
        let mut resp = cmd
            .success_response()
            .with_header(&QueryDataVersionResponseHeader { changed });
        if let Some(held) = held {
            resp = resp.with_body(held.to_json());
        }
        Ok(resp)
    }

    pub(super) fn write_perm(&self, cmd: &RemotingCommand, writable: bool) -> Reply {
        let h: BrokerNameRequestHeader = header(cmd)?;
        let count = self.routes_mut().set_write_perm(&h.broker_name, writable);
        tracing::info!(broker_name = %h.broker_name, writable, topics = count, "broker write permission changed");
        let resp = cmd.success_response();
        Ok(if writable {
            resp.with_header(&AddWritePermOfBrokerResponseHeader {
                add_topic_count: count,
            })
        } else {
            resp.with_header(&WipeWritePermOfBrokerResponseHeader {
                wipe_topic_count: count,
            })
        })
    }
}
