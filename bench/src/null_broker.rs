//! The null broker: speaks the remoting protocol on a TCP port and answers every request at
//! once without storing anything. Its throughput is the ceiling that the client, the codec and
//! loopback TCP allow on this machine, so a real broker's figure can be read as a fraction of it.
//!
//! SEND_MESSAGE / SEND_MESSAGE_V2 / SEND_BATCH_MESSAGE get SUCCESS with a well-formed
//! SendMessageResponseHeader (an offsetMsgId per message, the request's queue, a per-queue
//! offset counter); everything else (UPDATE_AND_CREATE_TOPIC included) gets a bare SUCCESS.
//! It runs as its own process (`sluice-bench null-broker --port P`, on a two-thread runtime like
//! `sluice`), so its CPU and memory are read from /proc exactly as a real broker's are.

use std::collections::HashMap;
use std::net::{Ipv4Addr, SocketAddr};

use anyhow::{Context, Result};
use bytes::BytesMut;
use clap::Parser;
use sluice_remoting::batch::BatchIter;
use sluice_remoting::codes::request;
use sluice_remoting::frame::{encode, DEFAULT_MAX_FRAME};
use sluice_remoting::header::send::{SendMessageRequestHeader, SendMessageResponseHeader};
use sluice_remoting::msgid::offset_msg_id;
use sluice_remoting::{DecoderLimits, FrameDecoder, RemotingCommand};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

#[derive(Parser, Debug)]
pub struct Args {
    /// Port to listen on (127.0.0.1).
    #[arg(long, default_value_t = 21111)]
    port: u16,
    /// Runtime worker threads (sluice uses 2).
    #[arg(long, default_value_t = 2)]
    threads: usize,
}

pub fn run(args: Args) -> Result<()> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(args.threads.max(1))
        .thread_name("null-broker")
        .enable_all()
        .build()?;
    rt.block_on(async move {
        let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, args.port));
        let listener = TcpListener::bind(addr)
            .await
            .with_context(|| format!("binding {addr}"))?;
        eprintln!("null broker listening on {addr}");
        serve(listener).await
    })
}

/// Accepts connections until the process ends.
pub async fn serve(listener: TcpListener) -> Result<()> {
    loop {
        let (stream, _) = listener.accept().await?;
        tokio::spawn(connection(stream));
    }
}

async fn connection(stream: TcpStream) {
    let _ = stream.set_nodelay(true);
    let port = stream.local_addr().map(|a| a.port()).unwrap_or(0);
    let (mut rd, mut wr) = stream.into_split();
    let mut decoder = FrameDecoder::new(DecoderLimits {
        max_frame: DEFAULT_MAX_FRAME,
        max_body: DEFAULT_MAX_FRAME,
    });
    let mut offsets: HashMap<(String, i32), i64> = HashMap::new();
    let mut input = BytesMut::with_capacity(256 * 1024);
    let mut output = BytesMut::with_capacity(64 * 1024);
    loop {
        match rd.read_buf(&mut input).await {
            Ok(0) | Err(_) => return,
            Ok(_) => {}
        }
        // Answer every complete request in what was read, then write all answers at once.
        loop {
            match decoder.decode(&mut input) {
                Ok(Some(cmd)) => {
                    if cmd.is_response() || cmd.is_oneway() {
                        continue;
                    }
                    let resp = answer(&cmd, port, &mut offsets);
                    if encode(&resp, &mut output).is_err() {
                        return;
                    }
                }
                Ok(None) => break,
                Err(e) if e.must_close() => return,
                Err(_) => {}
            }
        }
        if !output.is_empty() {
            if wr.write_all(&output).await.is_err() {
                return;
            }
            output.clear();
        }
    }
}

fn answer(req: &RemotingCommand, port: u16, offsets: &mut HashMap<(String, i32), i64>) -> RemotingCommand {
    let is_send = matches!(
        req.code,
        request::SEND_MESSAGE | request::SEND_MESSAGE_V2 | request::SEND_BATCH_MESSAGE
    );
    if !is_send {
        return req.success_response();
    }
    let Ok(h) = SendMessageRequestHeader::from_ext(&req.ext_fields) else {
        return req.success_response();
    };
    let messages = if req.code == request::SEND_BATCH_MESSAGE {
        BatchIter::new(&req.body).take_while(|r| r.is_ok()).count().max(1)
    } else {
        1
    };
    let queue_id = h.queue_id.max(0);
    let next = offsets.entry((h.topic, queue_id)).or_insert(0);
    let first = *next;
    *next += messages as i64;
    let ids: Vec<String> = (0..messages as i64)
        .map(|i| {
            offset_msg_id(
                SocketAddr::from((Ipv4Addr::LOCALHOST, port)),
                ((first + i) * 1024) as u64,
            )
        })
        .collect();
    let header = SendMessageResponseHeader::new(ids.join(","), queue_id, first);
    let mut resp = req.success_response();
    resp.ext_fields = header.to_ext();
    resp
}

#[cfg(test)]
mod tests {
    use super::*;
    use sluice_remoting::batch::encode_record;

    #[test]
    fn answers_batches_with_one_id_per_message() {
        let mut body = Vec::new();
        for _ in 0..3 {
            assert!(encode_record(&mut body, 0, b"x", ""));
        }
        let h = SendMessageRequestHeader {
            producer_group: "g".into(),
            topic: "T".into(),
            default_topic: "TBW102".into(),
            default_topic_queue_nums: 8,
            queue_id: 2,
            sys_flag: 0,
            born_timestamp: 0,
            flag: 0,
            properties: None,
            reconsume_times: None,
            unit_mode: false,
            max_reconsume_times: None,
            batch: true,
            broker_name: None,
        };
        let req = RemotingCommand {
            code: request::SEND_BATCH_MESSAGE,
            ext_fields: h.to_ext_v2(),
            body: body.into(),
            opaque: 7,
            ..RemotingCommand::default()
        };
        let mut offsets = HashMap::new();
        let r = answer(&req, 10911, &mut offsets);
        assert_eq!(r.opaque, 7);
        let rh = SendMessageResponseHeader::from_ext(&r.ext_fields).unwrap();
        assert_eq!(rh.msg_id.split(',').count(), 3);
        assert_eq!(rh.queue_id, 2);
        let r = answer(&req, 10911, &mut offsets);
        let rh = SendMessageResponseHeader::from_ext(&r.ext_fields).unwrap();
        assert_eq!(rh.queue_offset, 3);
    }
}
