//! Broker → client admin forwards — protocol.md §2.3.21: GET_CONSUMER_RUNNING_INFO (307) and
//! CONSUME_MESSAGE_DIRECTLY (309) are sent, under the same code and header, to the named
//! client over its own connection (a request from the broker's side); the client's answer is
//! relayed to the admin tool as it is (code, remark, body).

use std::sync::Arc;
use std::time::Duration;

use sluice_remoting::codes::request;
use sluice_remoting::header::admin::{
    ConsumeMessageDirectlyRequestHeader, GetConsumerRunningInfoRequestHeader,
};
use sluice_remoting::net::{Connection, Outbound};
use sluice_remoting::RemotingCommand;

use crate::broker::error::BrokerError;
use crate::broker::BrokerState;

/// How long the client has to answer (Java's broker waits as long).
const CLIENT_TIMEOUT: Duration = Duration::from_secs(10);

/// The connection of `client_id` in `group`; SYSTEM_ERROR when it is not online.
fn client_connection(
    state: &BrokerState,
    group: &str,
    client_id: &str,
) -> Result<Arc<Connection>, BrokerError> {
    state
        .clients
        .group(group)
        .and_then(|g| g.clients.get(client_id).map(|c| c.conn.clone()))
        .filter(|c| !c.is_closed())
        .ok_or_else(|| BrokerError::system(format!("The Consumer <{group}> <{client_id}> not online")))
}

/// Sends `forward` to the client and turns its answer into the reply to `cmd`.
async fn relay(
    conn: &Connection,
    cmd: &RemotingCommand,
    forward: RemotingCommand,
) -> Result<Outbound, BrokerError> {
    let answer = conn
        .request(forward, CLIENT_TIMEOUT)
        .await
        .map_err(|e| BrokerError::system(format!("invoke the client failed: {e}")))?;
    let mut reply = cmd.response_to(answer.code, answer.remark);
    reply.ext_fields = answer.ext_fields;
    reply.body = answer.body;
    Ok(reply.into())
}

/// A copy of `cmd` (code, header, body) to send on to the client.
fn forwarded(cmd: &RemotingCommand, code: i32) -> RemotingCommand {
    let mut f = RemotingCommand::request(code);
    f.ext_fields = cmd.ext_fields.clone();
    f.body = cmd.body.clone();
    f
}

/// GET_CONSUMER_RUNNING_INFO: the client's ConsumerRunningInfo, relayed.
pub async fn running_info(
    state: &Arc<BrokerState>,
    cmd: &RemotingCommand,
    h: GetConsumerRunningInfoRequestHeader,
) -> Result<Outbound, BrokerError> {
    let conn = client_connection(state, &h.consumer_group, &h.client_id)?;
    relay(&conn, cmd, forwarded(cmd, request::GET_CONSUMER_RUNNING_INFO)).await
}

/// CONSUME_MESSAGE_DIRECTLY: the message named by `msgId` (an offsetMsgId of this broker) is
/// read and sent to the client, which consumes it and reports the result.
pub async fn consume_directly(
    state: &Arc<BrokerState>,
    cmd: &RemotingCommand,
    h: ConsumeMessageDirectlyRequestHeader,
) -> Result<Outbound, BrokerError> {
    let client_id = h
        .client_id
        .as_deref()
        .ok_or_else(|| BrokerError::system("the request names no clientId"))?;
    let conn = client_connection(state, &h.consumer_group, client_id)?;
    let msg_id = h.msg_id.as_deref().unwrap_or_default();
    let (_, offset) = sluice_remoting::msgid::parse_offset_msg_id(msg_id)
        .map_err(|e| BrokerError::system(format!("bad msgId {msg_id:?}: {e}")))?;
    let message = state
        .store
        .read_message_at(offset)
        .map_err(|e| BrokerError::system(format!("can not find message by the offset, {offset}: {e}")))?;
    let mut forward = forwarded(cmd, request::CONSUME_MESSAGE_DIRECTLY);
    forward.body = message.into_bytes();
    relay(&conn, cmd, forward).await
}
