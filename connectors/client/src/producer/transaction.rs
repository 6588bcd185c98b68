//! Transactional producer (protocol.md §6): send the half message, run the local
//! transaction, END_TRANSACTION oneway with its outcome; answer the broker's
//! CHECK_TRANSACTION_STATE with the listener's check.

use std::sync::Arc;

use sluice_remoting::codes::request;
use sluice_remoting::header::transaction::{
    transaction_type, CheckTransactionStateRequestHeader, EndTransactionRequestHeader,
};
use sluice_remoting::RemotingCommand;

use super::{Producer, ProducerConfig, SendResult};
use crate::error::{ClientError, Result};
use crate::instance::{ClientConfig, ClientInstance, TransactionCheckHandler};
use crate::message::{property, sys_flag, Message, MessageExt};
use crate::transport::Connection;

/// The outcome of a local transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LocalTransactionState {
    /// Deliver the message.
    Commit,
    /// Discard it.
    Rollback,
    /// Not known yet: the broker will ask again (CHECK_TRANSACTION_STATE).
    Unknown,
}

impl LocalTransactionState {
    fn wire(self) -> i32 {
        match self {
            LocalTransactionState::Commit => transaction_type::COMMIT,
            LocalTransactionState::Rollback => transaction_type::ROLLBACK,
            LocalTransactionState::Unknown => transaction_type::NOT_TYPE,
        }
    }
}

/// The application's side of a transaction. Both calls run on a blocking thread.
pub trait TransactionListener: Send + Sync + 'static {
    /// Runs the local transaction after the half message was stored.
    fn execute_local_transaction(&self, msg: &Message, send: &SendResult) -> LocalTransactionState;
    /// Called when the broker asks about a half message whose outcome it does not know.
    fn check_local_transaction(&self, msg: &MessageExt) -> LocalTransactionState;
}

/// The result of [`TransactionProducer::send_in_transaction`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransactionSendResult {
    /// The half message's send result.
    pub send: SendResult,
    /// What the local transaction returned (and END_TRANSACTION reported).
    pub state: LocalTransactionState,
}

/// A producer of transactional messages.
#[derive(Clone)]
pub struct TransactionProducer {
    producer: Producer,
    listener: Arc<dyn TransactionListener>,
}

impl std::fmt::Debug for TransactionProducer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TransactionProducer")
            .field("producer", &self.producer)
            .finish_non_exhaustive()
    }
}

struct Checker {
    group: String,
    listener: Arc<dyn TransactionListener>,
}

impl TransactionCheckHandler for Checker {
    fn check(&self, conn: Connection, header: CheckTransactionStateRequestHeader, msg: MessageExt) {
        let listener = self.listener.clone();
        let group = self.group.clone();
        tokio::spawn(async move {
            let msg_for_check = msg.clone();
            let state =
                match tokio::task::spawn_blocking(move || listener.check_local_transaction(&msg_for_check))
                    .await
                {
                    Ok(s) => s,
                    Err(e) => {
                        tracing::warn!(error = %e, "transaction check listener panicked");
                        LocalTransactionState::Unknown
                    }
                };
            let end = EndTransactionRequestHeader {
                producer_group: group,
                tran_state_table_offset: header.tran_state_table_offset,
                commit_log_offset: header.commit_log_offset,
                commit_or_rollback: state.wire(),
                from_transaction_check: true,
                msg_id: Some(msg.msg_id().to_owned()),
                transaction_id: header.transaction_id.clone().or_else(|| header.msg_id.clone()),
                topic: Some(msg.topic.clone()),
                broker_name: header.broker_name.clone(),
            };
            let cmd = RemotingCommand::request_with_header(request::END_TRANSACTION, &end)
                .with_remark("from transaction check");
            if let Err(e) = conn.oneway(cmd) {
                tracing::warn!(error = %e, "END_TRANSACTION after check failed");
            }
        });
    }
}

/// The CommitLog offset encoded in an offsetMsgId (§3.7).
pub fn commit_log_offset_of(offset_msg_id: &str) -> Option<i64> {
    let (_, offset) = sluice_remoting::msgid::parse_offset_msg_id(offset_msg_id).ok()?;
    Some(offset as i64)
}

impl TransactionProducer {
    /// Starts a transactional producer with its own [`ClientInstance`].
    pub fn new(
        client: ClientConfig,
        config: ProducerConfig,
        listener: Arc<dyn TransactionListener>,
    ) -> Result<Self> {
        Ok(Self::with_instance(
            ClientInstance::new(client)?,
            config,
            listener,
        ))
    }

    /// A transactional producer on a shared instance.
    pub fn with_instance(
        instance: ClientInstance,
        config: ProducerConfig,
        listener: Arc<dyn TransactionListener>,
    ) -> Self {
        let checker = Arc::new(Checker {
            group: config.group.clone(),
            listener: listener.clone(),
        });
        instance.register_checker(&config.group, checker);
        TransactionProducer {
            producer: Producer::with_instance(instance, config),
            listener,
        }
    }

    /// The underlying producer (for non-transactional sends).
    pub fn producer(&self) -> &Producer {
        &self.producer
    }

    /// Sends `msg` as a half message, runs the local transaction and reports its outcome.
    pub async fn send_in_transaction(&self, mut msg: Message) -> Result<TransactionSendResult> {
        if msg.property(property::DELAY).is_some() {
            return Err(ClientError::InvalidMessage(
                "transactional messages cannot be delayed".into(),
            ));
        }
        let inner = &self.producer.inner;
        msg.properties.insert(property::TRAN_MSG.into(), "true".into());
        msg.properties
            .insert(property::PGROUP.into(), inner.config.group.clone());
        let send = inner
            .send_with_retry(&mut msg, sys_flag::TRANSACTION_PREPARED)
            .await?;
        let listener = self.listener.clone();
        let (m, s) = (msg.clone(), send.clone());
        let state = tokio::task::spawn_blocking(move || listener.execute_local_transaction(&m, &s))
            .await
            .unwrap_or(LocalTransactionState::Unknown);
        let commit_log_offset =
            commit_log_offset_of(&send.offset_msg_id).ok_or_else(|| ClientError::Malformed {
                addr: send.queue.broker_name.clone(),
                reason: format!("offsetMsgId {:?}", send.offset_msg_id),
            })?;
        let end = EndTransactionRequestHeader {
            producer_group: inner.config.group.clone(),
            tran_state_table_offset: send.queue_offset,
            commit_log_offset,
            commit_or_rollback: state.wire(),
            from_transaction_check: false,
            msg_id: Some(send.msg_id.clone()),
            transaction_id: Some(send.transaction_id.clone().unwrap_or_else(|| send.msg_id.clone())),
            topic: Some(msg.topic.clone()),
            broker_name: Some(send.queue.broker_name.clone()),
        };
        let addr = inner.instance.master_addr(&send.queue.broker_name)?;
        let cmd = RemotingCommand::request_with_header(request::END_TRANSACTION, &end);
        inner.instance.oneway_broker(&addr, cmd).await?;
        Ok(TransactionSendResult { send, state })
    }

    /// Unregisters from the brokers and closes the connections.
    pub async fn shutdown(&self) {
        self.producer.shutdown().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offset_from_msg_id() {
        assert_eq!(
            commit_log_offset_of("7F00000100002A9F0000000000001000"),
            Some(4096)
        );
        assert_eq!(commit_log_offset_of("short"), None);
        assert_eq!(LocalTransactionState::Commit.wire(), 8);
        assert_eq!(LocalTransactionState::Rollback.wire(), 12);
        assert_eq!(LocalTransactionState::Unknown.wire(), 0);
    }
}
