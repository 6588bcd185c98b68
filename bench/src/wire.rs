//! The broker benchmarks' requests over one connection to the broker port: `sluice-remoting`'s
//! [`net::Connection`] (requests multiplexed by `opaque`, protocol.md §1.5; queued frames
//! coalesced into one write), with typed helpers for what the load generators send. Requests
//! the broker sends on its own are refused: the benchmarks never register as producers or
//! consumers.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{anyhow, bail, Context, Result};
use bytes::Bytes;
use sluice_remoting::codes::{request, response};
use sluice_remoting::frame::DEFAULT_MAX_FRAME;
use sluice_remoting::header::admin::CreateTopicRequestHeader;
use sluice_remoting::header::offsets::{GetMaxOffsetRequestHeader, OffsetResponseHeader};
use sluice_remoting::header::pull::{sys_flag, PullMessageRequestHeader, PullMessageResponseHeader};
use sluice_remoting::header::send::{SendMessageRequestHeader, SendMessageResponseHeader};
use sluice_remoting::header::transaction::{transaction_type, EndTransactionRequestHeader};
use sluice_remoting::net::{self, connect::refuse_requests};
use sluice_remoting::{DecoderLimits, RemotingCommand};
use sluice_storage::record::{self, CrcCheck, Record};

/// How long a request waits for its response.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// How long connecting may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// One multiplexed connection (`sluice-remoting`'s, as every side of sluice uses).
pub struct Client {
    conn: Arc<net::Connection>,
}

impl Drop for Client {
    fn drop(&mut self) {
        self.conn.close();
    }
}

/// What a send was answered with, when the broker stored the message(s).
#[derive(Debug, Clone)]
pub struct SendOk {
    /// offsetMsgId (comma-joined for batches).
    pub msg_id: String,
    /// ConsumeQueue offset of the (first) message; of a half message, its half-queue offset.
    pub queue_offset: i64,
}

/// A send's outcome: stored, or refused with a response code and remark.
#[derive(Debug, Clone)]
pub enum SendOutcome {
    Stored(SendOk),
    Refused { code: i32, remark: String },
}

/// What a pull subscribes to.
#[derive(Debug, Clone, Copy)]
pub enum Subscription {
    /// `*` (TAG).
    All,
    /// A SQL92 selector.
    Sql92(&'static str),
}

/// One pull's answer.
#[derive(Debug)]
pub struct PullOutcome {
    pub code: i32,
    pub remark: String,
    pub next_begin_offset: i64,
    pub max_offset: i64,
    /// Concatenated stored records (protocol.md §3.1); empty unless `code` is SUCCESS.
    pub body: Bytes,
}

/// A message to send: topic, queue (−1 = the broker picks), sysFlag, properties, body.
pub struct Outgoing<'a> {
    pub producer_group: &'a str,
    pub topic: &'a str,
    pub queue_id: i32,
    pub sys_flag: i32,
    pub born_timestamp: i64,
    pub properties: String,
    pub body: Bytes,
    pub batch: bool,
}

impl Client {
    /// Connects to `addr`.
    pub async fn connect(addr: SocketAddr) -> Result<Client> {
        let limits = DecoderLimits {
            max_frame: DEFAULT_MAX_FRAME,
            max_body: DEFAULT_MAX_FRAME,
        };
        let conn = net::connect(&addr.to_string(), CONNECT_TIMEOUT, limits, refuse_requests)
            .await
            .with_context(|| format!("connecting to {addr}"))?;
        Ok(Client { conn })
    }

    /// Sends a request and waits for its response.
    pub async fn request(&self, cmd: RemotingCommand) -> Result<RemotingCommand> {
        let code = cmd.code;
        self.conn
            .request(cmd, REQUEST_TIMEOUT)
            .await
            .with_context(|| format!("request code {code}"))
    }

    /// Sends a oneway request (flag bit 1): no response.
    pub async fn oneway(&self, cmd: RemotingCommand) -> Result<()> {
        if self.conn.send_oneway(cmd) {
            Ok(())
        } else {
            bail!("connection closed")
        }
    }

    /// UPDATE_AND_CREATE_TOPIC (17) with `queues` read and write queues, perm RW.
    pub async fn create_topic(&self, topic: &str, queues: i32) -> Result<()> {
        let h = CreateTopicRequestHeader {
            topic: topic.to_owned(),
            default_topic: Some("TBW102".into()),
            read_queue_nums: queues,
            write_queue_nums: queues,
            perm: 6,
            topic_filter_type: "SINGLE_TAG".into(),
            topic_sys_flag: 0,
            order: false,
            attributes: None,
            force: false,
        };
        let resp = self
            .request(RemotingCommand::request_with_header(
                request::UPDATE_AND_CREATE_TOPIC,
                &h,
            ))
            .await?;
        if resp.code != response::SUCCESS {
            bail!(
                "creating topic {topic}: code {} {}",
                resp.code,
                resp.remark.unwrap_or_default()
            );
        }
        Ok(())
    }

    /// SEND_MESSAGE_V2 (310), or SEND_BATCH_MESSAGE (320) when `msg.batch`.
    pub async fn send(&self, msg: Outgoing<'_>) -> Result<SendOutcome> {
        let code = if msg.batch {
            request::SEND_BATCH_MESSAGE
        } else {
            request::SEND_MESSAGE_V2
        };
        let h = SendMessageRequestHeader {
            producer_group: msg.producer_group.to_owned(),
            topic: msg.topic.to_owned(),
            default_topic: "TBW102".into(),
            default_topic_queue_nums: 8,
            queue_id: msg.queue_id,
            sys_flag: msg.sys_flag,
            born_timestamp: msg.born_timestamp,
            flag: 0,
            properties: Some(msg.properties),
            reconsume_times: Some(0),
            unit_mode: false,
            max_reconsume_times: None,
            batch: msg.batch,
            broker_name: None,
        };
        let cmd = RemotingCommand {
            code,
            ext_fields: h.to_ext_v2(),
            body: msg.body,
            ..RemotingCommand::default()
        };
        let resp = self.request(cmd).await?;
        if !response::send_stored(resp.code) {
            return Ok(SendOutcome::Refused {
                code: resp.code,
                remark: resp.remark.unwrap_or_default(),
            });
        }
        let h = SendMessageResponseHeader::from_ext(&resp.ext_fields)
            .map_err(|e| anyhow!("send response header: {e}"))?;
        Ok(SendOutcome::Stored(SendOk {
            msg_id: h.msg_id,
            queue_offset: h.queue_offset,
        }))
    }

    /// PULL_MESSAGE (11) under `subscription` (carried in the request), not suspended.
    pub async fn pull(
        &self,
        group: &str,
        topic: &str,
        queue_id: i32,
        offset: i64,
        max: i32,
        subscription: Subscription,
    ) -> Result<PullOutcome> {
        self.pull_with(group, topic, queue_id, offset, max, 0, subscription)
            .await
    }

    /// PULL_MESSAGE (11), subscription `*` carried in the request; with `suspend_ms` > 0 the
    /// broker holds the pull (long polling) until a message arrives or that much time passes.
    pub async fn pull_suspended(
        &self,
        group: &str,
        topic: &str,
        queue_id: i32,
        offset: i64,
        max: i32,
        suspend_ms: i64,
    ) -> Result<PullOutcome> {
        self.pull_with(group, topic, queue_id, offset, max, suspend_ms, Subscription::All)
            .await
    }

    #[allow(clippy::too_many_arguments)]
    async fn pull_with(
        &self,
        group: &str,
        topic: &str,
        queue_id: i32,
        offset: i64,
        max: i32,
        suspend_ms: i64,
        subscription: Subscription,
    ) -> Result<PullOutcome> {
        let suspend = if suspend_ms > 0 { sys_flag::SUSPEND } else { 0 };
        let (expression_type, expression) = match subscription {
            Subscription::All => ("TAG", "*"),
            Subscription::Sql92(e) => ("SQL92", e),
        };
        let h = PullMessageRequestHeader {
            consumer_group: group.to_owned(),
            topic: topic.to_owned(),
            queue_id,
            queue_offset: offset,
            max_msg_nums: max,
            sys_flag: sys_flag::SUBSCRIPTION | suspend,
            commit_offset: 0,
            suspend_timeout_millis: suspend_ms,
            subscription: Some(expression.into()),
            sub_version: 0,
            expression_type: Some(expression_type.into()),
            max_msg_bytes: None,
            request_source: None,
            proxy_forward_client_id: None,
        };
        let resp = self
            .request(RemotingCommand::request_with_header(request::PULL_MESSAGE, &h))
            .await?;
        let rh = PullMessageResponseHeader::from_ext(&resp.ext_fields)
            .map_err(|e| anyhow!("pull response header (code {}): {e}", resp.code))?;
        Ok(PullOutcome {
            code: resp.code,
            remark: resp.remark.unwrap_or_default(),
            next_begin_offset: rh.next_begin_offset,
            max_offset: rh.max_offset,
            body: resp.body,
        })
    }

    /// GET_MAX_OFFSET (30): the next offset to be assigned in the queue.
    pub async fn max_offset(&self, topic: &str, queue_id: i32) -> Result<i64> {
        let h = GetMaxOffsetRequestHeader {
            topic: topic.to_owned(),
            queue_id,
            committed: true,
        };
        let resp = self
            .request(RemotingCommand::request_with_header(request::GET_MAX_OFFSET, &h))
            .await?;
        if resp.code != response::SUCCESS {
            bail!(
                "GET_MAX_OFFSET {topic}/{queue_id}: code {} {}",
                resp.code,
                resp.remark.unwrap_or_default()
            );
        }
        let h = OffsetResponseHeader::from_ext(&resp.ext_fields)
            .map_err(|e| anyhow!("GET_MAX_OFFSET response: {e}"))?;
        Ok(h.offset)
    }

    /// END_TRANSACTION (37) committing the half message at (`half_offset`, `commit_log_offset`).
    /// `oneway` as Java sends it; otherwise waits and returns the response code and remark.
    pub async fn commit_transaction(
        &self,
        producer_group: &str,
        half_offset: i64,
        commit_log_offset: i64,
        msg_id: &str,
        oneway: bool,
    ) -> Result<Option<(i32, String)>> {
        let h = EndTransactionRequestHeader {
            producer_group: producer_group.to_owned(),
            tran_state_table_offset: half_offset,
            commit_log_offset,
            commit_or_rollback: transaction_type::COMMIT,
            from_transaction_check: false,
            msg_id: Some(msg_id.to_owned()),
            transaction_id: Some(msg_id.to_owned()),
            topic: None,
            broker_name: None,
        };
        let cmd = RemotingCommand::request_with_header(request::END_TRANSACTION, &h);
        if oneway {
            self.oneway(cmd).await?;
            return Ok(None);
        }
        let resp = self.request(cmd).await?;
        Ok(Some((resp.code, resp.remark.unwrap_or_default())))
    }
}

/// Decodes the concatenated stored records of a pull body (protocol.md §3.1), visiting each;
/// returns how many there were.
pub fn decode_records(body: &[u8], crc: CrcCheck, visit: &mut impl FnMut(&Record<'_>)) -> Result<u64> {
    let mut rest = body;
    let mut n = 0;
    while !rest.is_empty() {
        let (total, _) = record::peek_header(rest).map_err(|e| anyhow!("pulled record header: {e}"))?;
        let total = usize::try_from(total)
            .ok()
            .filter(|&t| t > 0 && t <= rest.len())
            .ok_or_else(|| anyhow!("pulled record declares {total} bytes, {} remain", rest.len()))?;
        let (this, next) = rest.split_at(total);
        let rec = record::decode_message(this, crc).map_err(|e| anyhow!("pulled record: {e}"))?;
        visit(&rec);
        n += 1;
        rest = next;
    }
    Ok(n)
}
