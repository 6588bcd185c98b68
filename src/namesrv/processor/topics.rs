//! Routes and topic lists: GET_ROUTEINFO_BY_TOPIC (105), DELETE_TOPIC_IN_NAMESRV (216),
//! GET_TOPICS_BY_CLUSTER (224), the unit / system topic lists (311–313, 304).

use super::*;

impl NamesrvHandler {
    pub(super) fn get_route(&self, cmd: &RemotingCommand) -> Reply {
        let h: GetRouteInfoRequestHeader = header(cmd)?;
        let Some(mut route) = self.routes().topic_route(&h.topic) else {
            return Err(cmd.error_response(
                response::TOPIC_NOT_EXIST,
                format!("No topic route info in name server for the topic: {}", h.topic),
            ));
        };
        let order_enabled = self
            .config
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .order_message_enable;
        if order_enabled {
            route.order_topic_conf = self
                .kv()
                .get(NAMESPACE_ORDER_TOPIC_CONFIG, &h.topic)
                .map(str::to_owned);
        }
        let body = route.to_json_for(h.wants_standard_json(cmd.version));
        Ok(cmd.success_response().with_body(body))
    }

    pub(super) fn delete_topic(&self, cmd: &RemotingCommand) -> Reply {
        let h: DeleteTopicFromNamesrvRequestHeader = header(cmd)?;
        let cluster = h.cluster_name.as_deref().filter(|c| !c.is_empty());
        let removed = self.routes_mut().delete_topic(&h.topic, cluster);
        tracing::info!(topic = %h.topic, cluster = ?cluster, removed, "topic deleted from the NameServer");
        Ok(cmd.success_response())
    }

    pub(super) fn topics_by_cluster(&self, cmd: &RemotingCommand) -> Reply {
        let h: GetTopicsByClusterRequestHeader = header(cmd)?;
        let topics = self.routes().topics_by_cluster(&h.cluster);
        Ok(cmd.success_response().with_body(topic_list_body(topics)))
    }

    pub(super) fn sys_flag_topics(
        &self,
        cmd: &RemotingCommand,
        unit: bool,
        unit_sub: bool,
        not_unit: bool,
    ) -> RemotingCommand {
        let topics = self.routes().topics_by_sys_flag(unit, unit_sub, not_unit);
        cmd.success_response().with_body(topic_list_body(topics))
    }
}
