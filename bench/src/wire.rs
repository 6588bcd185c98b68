//! A small remoting client for the broker benchmarks: one TCP connection to the broker port,
//! requests multiplexed by `opaque` (protocol.md §1.5), frames from `sluice-remoting`.
//!
//! A writer task coalesces queued frames into one write; a reader task decodes frames and hands
//! each response to the request waiting for its opaque. Requests the broker sends on its own
//! (CHECK_TRANSACTION_STATE, NOTIFY_CONSUMER_IDS_CHANGED) are dropped: the benchmarks never
//! register as producers or consumers.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{anyhow, bail, Context, Result};
use bytes::{Bytes, BytesMut};
use sluice_remoting::codes::{request, response};
use sluice_remoting::frame::{encode, DEFAULT_MAX_FRAME};
use sluice_remoting::header::admin::CreateTopicRequestHeader;
use sluice_remoting::header::offsets::{GetMaxOffsetRequestHeader, OffsetResponseHeader};
use sluice_remoting::header::pull::{sys_flag, PullMessageRequestHeader, PullMessageResponseHeader};
use sluice_remoting::header::send::{SendMessageRequestHeader, SendMessageResponseHeader};
use sluice_remoting::header::transaction::{transaction_type, EndTransactionRequestHeader};
use sluice_remoting::{DecoderLimits, FrameDecoder, RemotingCommand};
use sluice_storage::record::{self, CrcCheck, Record};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::{mpsc, oneshot};

type Pending = Arc<Mutex<HashMap<i32, oneshot::Sender<RemotingCommand>>>>;

/// How long a request waits for its response.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// One multiplexed connection.
pub struct Client {
    out: mpsc::Sender<Bytes>,
    pending: Pending,
    next_opaque: AtomicI32,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Drop for Client {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
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
        let stream = TcpStream::connect(addr)
            .await
            .with_context(|| format!("connecting to {addr}"))?;
        stream.set_nodelay(true)?;
        let (mut rd, mut wr) = stream.into_split();
        let pending: Pending = Arc::new(Mutex::new(HashMap::new()));
        let (out, mut rx) = mpsc::channel::<Bytes>(4096);

        let writer = tokio::spawn(async move {
            let mut buf = BytesMut::with_capacity(256 * 1024);
            while let Some(first) = rx.recv().await {
                buf.clear();
                buf.extend_from_slice(&first);
                while buf.len() < 1 << 20 {
                    match rx.try_recv() {
                        Ok(more) => buf.extend_from_slice(&more),
                        Err(_) => break,
                    }
                }
                if wr.write_all(&buf).await.is_err() {
                    break;
                }
            }
        });

        let waiting = pending.clone();
        let reader = tokio::spawn(async move {
            let mut decoder = FrameDecoder::new(DecoderLimits {
                max_frame: DEFAULT_MAX_FRAME,
                max_body: DEFAULT_MAX_FRAME,
            });
            let mut buf = BytesMut::with_capacity(256 * 1024);
            'read: loop {
                match rd.read_buf(&mut buf).await {
                    Ok(0) | Err(_) => break,
                    Ok(_) => {}
                }
                loop {
                    match decoder.decode(&mut buf) {
                        Ok(Some(cmd)) => {
                            if cmd.is_response() {
                                let tx = waiting.lock().ok().and_then(|mut p| p.remove(&cmd.opaque));
                                if let Some(tx) = tx {
                                    let _ = tx.send(cmd);
                                }
                            }
                        }
                        Ok(None) => break,
                        Err(e) if e.must_close() => break 'read,
                        Err(_) => {}
                    }
                }
            }
            // Dropping the senders fails every request still waiting.
            if let Ok(mut p) = waiting.lock() {
                p.clear();
            }
        });

        Ok(Client {
            out,
            pending,
            next_opaque: AtomicI32::new(1),
            tasks: vec![writer, reader],
        })
    }

    fn frame(cmd: &RemotingCommand) -> Result<Bytes> {
        let mut buf = BytesMut::with_capacity(256 + cmd.body.len());
        encode(cmd, &mut buf).map_err(|e| anyhow!("encoding a request: {e}"))?;
        Ok(buf.freeze())
    }

    /// Sends a request and waits for its response.
    pub async fn request(&self, mut cmd: RemotingCommand) -> Result<RemotingCommand> {
        let opaque = self.next_opaque.fetch_add(1, Ordering::Relaxed);
        cmd.opaque = opaque;
        let frame = Self::frame(&cmd)?;
        let (tx, rx) = oneshot::channel();
        self.pending
            .lock()
            .map_err(|_| anyhow!("connection state poisoned"))?
            .insert(opaque, tx);
        if self.out.send(frame).await.is_err() {
            self.forget(opaque);
            bail!("connection closed");
        }
        match tokio::time::timeout(REQUEST_TIMEOUT, rx).await {
            Ok(Ok(resp)) => Ok(resp),
            Ok(Err(_)) => bail!("connection closed while waiting for request code {}", cmd.code),
            Err(_) => {
                self.forget(opaque);
                bail!(
                    "no response to request code {} within {REQUEST_TIMEOUT:?}",
                    cmd.code
                )
            }
        }
    }

    fn forget(&self, opaque: i32) {
        if let Ok(mut p) = self.pending.lock() {
            p.remove(&opaque);
        }
    }

    /// Sends a oneway request (flag bit 1): no response.
    pub async fn oneway(&self, mut cmd: RemotingCommand) -> Result<()> {
        cmd.opaque = self.next_opaque.fetch_add(1, Ordering::Relaxed);
        cmd.mark_oneway();
        let frame = Self::frame(&cmd)?;
        self.out
            .send(frame)
            .await
            .map_err(|_| anyhow!("connection closed"))
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

    /// PULL_MESSAGE (11) without suspending, subscription `*` carried in the request.
    pub async fn pull(
        &self,
        group: &str,
        topic: &str,
        queue_id: i32,
        offset: i64,
        max: i32,
    ) -> Result<PullOutcome> {
        self.pull_suspended(group, topic, queue_id, offset, max, 0).await
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
        let suspend = if suspend_ms > 0 { sys_flag::SUSPEND } else { 0 };
        let h = PullMessageRequestHeader {
            consumer_group: group.to_owned(),
            topic: topic.to_owned(),
            queue_id,
            queue_offset: offset,
            max_msg_nums: max,
            sys_flag: sys_flag::SUBSCRIPTION | suspend,
            commit_offset: 0,
            suspend_timeout_millis: suspend_ms,
            subscription: Some("*".into()),
            sub_version: 0,
            expression_type: Some("TAG".into()),
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
