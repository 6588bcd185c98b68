//! Outbound connections: connect, then request / response over the same [`Connection`] type a
//! server uses. Requests the peer sends are handed to a callback.

use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpStream;

use super::connection::Connection;
use crate::{DecoderLimits, RemotingCommand};

/// Connects to `addr` (`host:port`) within `timeout`, then reads frames on a task of its own:
/// responses complete their requests, and each request the peer sends is passed to
/// `on_request` (on the reader's task: it must not block). The connection closes when the
/// peer goes away, a frame breaks `limits`, or [`Connection::close`] is called.
pub async fn connect<F>(
    addr: &str,
    timeout: Duration,
    limits: DecoderLimits,
    on_request: F,
) -> std::io::Result<Arc<Connection>>
where
    F: Fn(&Arc<Connection>, RemotingCommand) + Send + 'static,
{
    let stream = tokio::time::timeout(timeout, TcpStream::connect(addr))
        .await
        .map_err(|_| {
            std::io::Error::new(
                std::io::ErrorKind::TimedOut,
                format!("connecting to {addr} timed out"),
            )
        })??;
    let (conn, read) = Connection::start(stream)?;
    let reader = conn.clone();
    tokio::spawn(async move {
        let this = reader.clone();
        reader
            .read_loop(read, limits, move |cmd| on_request(&this, cmd))
            .await;
    });
    tracing::debug!(addr, "connected");
    Ok(conn)
}

/// An `on_request` for peers that are not expected to ask anything: every request that wants
/// an answer gets REQUEST_CODE_NOT_SUPPORTED.
pub fn refuse_requests(conn: &Arc<Connection>, cmd: RemotingCommand) {
    if !cmd.is_oneway() {
        conn.send(super::server::not_supported(&cmd));
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use tokio::net::TcpListener;
    use tokio::sync::watch;

    use super::*;
    use crate::codes::response;
    use crate::net::{serve, Handler, Outbound, RequestError};

    /// Echoes each request's body; code 99 is never answered.
    struct Echo {
        closed: AtomicUsize,
    }

    impl Handler for Echo {
        async fn handle(&self, conn: &Arc<Connection>, cmd: RemotingCommand) -> Option<Outbound> {
            if cmd.code == 99 {
                return None;
            }
            if cmd.code == 7 {
                // Ask the client something first, and answer with what it said.
                let asked = conn
                    .request(RemotingCommand::request(8), Duration::from_secs(5))
                    .await
                    .ok()?;
                return Some(
                    RemotingCommand::response(response::SUCCESS)
                        .with_body(asked.body)
                        .into(),
                );
            }
            Some(
                RemotingCommand::response(response::SUCCESS)
                    .with_body(cmd.body)
                    .into(),
            )
        }

        fn on_close(&self, _conn: &Arc<Connection>) {
            self.closed.fetch_add(1, Ordering::SeqCst);
        }
    }

    async fn server() -> (String, Arc<Echo>, watch::Sender<bool>) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        let echo = Arc::new(Echo {
            closed: AtomicUsize::new(0),
        });
        let (stop, shutdown) = watch::channel(false);
        tokio::spawn(serve(listener, echo.clone(), shutdown));
        (addr, echo, stop)
    }

    async fn plain_client(addr: &str) -> Arc<Connection> {
        let limits = DecoderLimits::default();
        connect(addr, Duration::from_secs(5), limits, refuse_requests)
            .await
            .unwrap()
    }

    #[tokio::test]
    async fn requests_match_replies_by_opaque_whatever_their_order() {
        let (addr, _echo, _stop) = server().await;
        let conn = plain_client(&addr).await;
        let calls = (0..200u32).map(|i| {
            let conn = conn.clone();
            async move {
                let body = format!("m{i}").into_bytes();
                let reply = conn
                    .request(
                        RemotingCommand::request(1).with_body(body.clone()),
                        Duration::from_secs(5),
                    )
                    .await
                    .unwrap();
                assert_eq!(reply.body.as_ref(), body.as_slice());
            }
        });
        let handles: Vec<_> = calls.map(tokio::spawn).collect();
        for h in handles {
            h.await.unwrap();
        }
    }

    #[tokio::test]
    async fn the_server_may_ask_the_client_during_a_request() {
        let (addr, _echo, _stop) = server().await;
        let conn = connect(
            &addr,
            Duration::from_secs(5),
            DecoderLimits::default(),
            |c, cmd| {
                assert_eq!(cmd.code, 8);
                let mut reply =
                    RemotingCommand::response(response::SUCCESS).with_body(b"from client".to_vec());
                reply.opaque = cmd.opaque;
                reply.mark_response();
                c.send(reply);
            },
        )
        .await
        .unwrap();
        let reply = conn
            .request(RemotingCommand::request(7), Duration::from_secs(5))
            .await
            .unwrap();
        assert_eq!(reply.body.as_ref(), b"from client");
    }

    #[tokio::test]
    async fn an_unanswered_request_times_out_and_a_closed_connection_fails_at_once() {
        let (addr, echo, _stop) = server().await;
        let conn = plain_client(&addr).await;
        let err = conn
            .request(RemotingCommand::request(99), Duration::from_millis(100))
            .await
            .unwrap_err();
        assert!(matches!(err, RequestError::Timeout(..)), "{err}");
        conn.close();
        let err = conn
            .request(RemotingCommand::request(1), Duration::from_secs(5))
            .await
            .unwrap_err();
        assert!(matches!(err, RequestError::Closed(..)), "{err}");
        for _ in 0..100 {
            if echo.closed.load(Ordering::SeqCst) == 1 {
                return;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!("the server never saw the connection close");
    }

    #[tokio::test]
    async fn connecting_to_nothing_is_an_error() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        drop(listener);
        assert!(connect(
            &addr,
            Duration::from_secs(1),
            DecoderLimits::default(),
            refuse_requests
        )
        .await
        .is_err());
    }
}
