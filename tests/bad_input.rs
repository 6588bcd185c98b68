//! Well-framed requests whose header does not decode, sent over real TCP to the NameServer and
//! to the broker: each is answered SYSTEM_ERROR with its opaque when the opaque can be read, or
//! the connection is closed, within a bound; never left hanging. Both servers keep serving.

mod common;

use std::net::SocketAddr;
use std::time::Duration;

use bytes::BytesMut;
use sluice_remoting::codes::response;
use sluice_remoting::FrameDecoder;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const BOUND: Duration = Duration::from_secs(3);

/// What the server did with a bad frame.
#[derive(Debug, PartialEq)]
enum Outcome {
    /// A response with this code and opaque.
    Answered {
        code: i32,
        opaque: i32,
    },
    Closed,
}

fn json_frame(header: &[u8]) -> Vec<u8> {
    let mut f = Vec::new();
    f.extend_from_slice(&((4 + header.len()) as i32).to_be_bytes());
    f.extend_from_slice(&(header.len() as u32).to_be_bytes());
    f.extend_from_slice(header);
    f
}

/// A ROCKETMQ binary header (code 10, opaque 31) whose remark length is negative.
fn binary_frame_bad_remark() -> Vec<u8> {
    let mut h = Vec::new();
    h.extend_from_slice(&10i16.to_be_bytes());
    h.push(0);
    h.extend_from_slice(&409i16.to_be_bytes());
    h.extend_from_slice(&31i32.to_be_bytes());
    h.extend_from_slice(&0i32.to_be_bytes());
    h.extend_from_slice(&(-5i32).to_be_bytes());
    h.extend_from_slice(&0i32.to_be_bytes());
    let mut f = Vec::new();
    f.extend_from_slice(&((4 + h.len()) as i32).to_be_bytes());
    f.extend_from_slice(&(0x0100_0000u32 | h.len() as u32).to_be_bytes());
    f.extend_from_slice(&h);
    f
}

/// Reads the next frame or EOF within [`BOUND`]; panics on a hang.
async fn next(stream: &mut TcpStream, buf: &mut BytesMut) -> Outcome {
    let mut dec = FrameDecoder::default();
    let read = async {
        loop {
            if let Some(cmd) = dec.decode(buf).unwrap() {
                return Outcome::Answered {
                    code: cmd.code,
                    opaque: cmd.opaque,
                };
            }
            match stream.read_buf(buf).await {
                Ok(0) | Err(_) => return Outcome::Closed,
                Ok(_) => {}
            }
        }
    };
    tokio::time::timeout(BOUND, read)
        .await
        .expect("the server neither answered nor closed the connection")
}

/// Sends `frame` and then a good request (an unknown code, opaque 4242) on a fresh connection;
/// returns what happened first. When the bad frame was answered, the good one must be too.
async fn try_bad(addr: SocketAddr, frame: &[u8]) -> Outcome {
    let mut s = TcpStream::connect(addr).await.unwrap();
    let mut both = frame.to_vec();
    both.extend_from_slice(&json_frame(br#"{"code":9999,"opaque":4242,"flag":0}"#));
    // The server may close before reading it all.
    let _ = s.write_all(&both).await;
    let mut buf = BytesMut::new();
    let got = next(&mut s, &mut buf).await;
    if matches!(
        got,
        Outcome::Answered {
            code: response::SYSTEM_ERROR,
            ..
        }
    ) {
        assert_eq!(
            next(&mut s, &mut buf).await,
            Outcome::Answered {
                code: response::REQUEST_CODE_NOT_SUPPORTED,
                opaque: 4242
            },
            "the connection stays usable after an answered bad header"
        );
    }
    got
}

fn cases() -> Vec<(&'static str, Vec<u8>, Outcome)> {
    let answered = |opaque| Outcome::Answered {
        code: response::SYSTEM_ERROR,
        opaque,
    };
    let mut huge_header = Vec::new();
    huge_header.extend_from_slice(&100i32.to_be_bytes());
    huge_header.extend_from_slice(&0x00FF_FFFFu32.to_be_bytes());
    huge_header.extend_from_slice(&[b'{'; 100]);
    vec![
        ("not json", json_frame(b"not json"), Outcome::Closed),
        (
            "code not a number",
            json_frame(br#"{"code":"abc"}"#),
            Outcome::Closed,
        ),
        (
            "code not a number, opaque readable",
            json_frame(br#"{"code":"abc","opaque":42,"flag":0}"#),
            answered(42),
        ),
        (
            "oneway with a bad code",
            json_frame(br#"{"code":"abc","opaque":43,"flag":2}"#),
            // Oneway: no answer; the follow-up request proves the connection was kept.
            Outcome::Answered {
                code: response::REQUEST_CODE_NOT_SUPPORTED,
                opaque: 4242,
            },
        ),
        (
            "cut off mid-object",
            json_frame(br#"{"code":10,"opaque":5,"extFields":{"topic":"#),
            Outcome::Closed,
        ),
        (
            "binary header, negative remark length",
            binary_frame_bad_remark(),
            answered(31),
        ),
        (
            "negative total length",
            (-5i32).to_be_bytes().to_vec(),
            Outcome::Closed,
        ),
        (
            "huge total length",
            i32::MAX.to_be_bytes().to_vec(),
            Outcome::Closed,
        ),
        ("header longer than the frame", huge_header, Outcome::Closed),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_headers_are_answered_or_closed_on_both_servers() {
    let c = common::cluster("ASYNC_FLUSH").await;
    let broker = c.broker().local_addr();
    for (server, addr) in [("namesrv", c.namesrv), ("broker", broker)] {
        for (name, frame, expected) in cases() {
            let got = try_bad(addr, &frame).await;
            assert_eq!(got, expected, "{server}: {name}");
            eprintln!("{server}: {name}: {got:?}");
        }
        // The server still serves others.
        let other = common::connect(addr).await;
        let reply = other
            .request(sluice_remoting::RemotingCommand::request(9999), common::T)
            .await
            .unwrap();
        assert_eq!(reply.code, response::REQUEST_CODE_NOT_SUPPORTED, "{server}");
    }
    c.shutdown().await;
}
