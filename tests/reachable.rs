//! A broker other machines can reach (issue #13 item 1): the NameServer and the broker listen on
//! every interface and advertise `brokerIP1` (routes, offsetMsgIds) and `brokerIP2` (the HA
//! address a slave is told), or listen on `bindAddress` only.
//!
//! `reachable_from_another_network_namespace` is the real thing: a client in a network namespace
//! of its own (its own loopback, one veth link to this host) finds the broker through the
//! NameServer and sends to it, and a slave there reaches the master's HA listener at the
//! address the NameServer gives it. It needs root and `ip netns`; without them it says why and
//! passes.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use sluice_remoting::body::route::{ClusterInfo, TopicRouteData};
use sluice_remoting::body::JsonBody;
use sluice_remoting::codes::{request, response};
use sluice_remoting::header::send::SendMessageResponseHeader;
use sluice_remoting::msgid::parse_offset_msg_id;
use sluice_remoting::net::connect::refuse_requests;
use sluice_remoting::net::Connection;
use sluice_remoting::{DecoderLimits, RemotingCommand};

use sluice::namesrv::{Namesrv, NamesrvConfig};
use sluice::standalone::Standalone;

mod common;
#[path = "interop/netns.rs"]
#[allow(dead_code)]
mod netns;

use netns::ip;

use common::{connect, send_cmd, slave_registration, T};

fn v4(a: u8, b: u8, c: u8, d: u8) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(a, b, c, d))
}

/// Asks until `done` accepts the cluster info (the broker registers right after it starts).
async fn cluster_info_until(ns: &Connection, done: impl Fn(&ClusterInfo) -> bool) -> ClusterInfo {
    let deadline = Instant::now() + T;
    loop {
        let r = ns
            .request(RemotingCommand::request(request::GET_BROKER_CLUSTER_INFO), T)
            .await
            .expect("cluster info reply");
        assert_eq!(r.code, response::SUCCESS, "{:?}", r.remark);
        let info = ClusterInfo::from_json(&r.body).expect("cluster info body");
        if done(&info) {
            return info;
        }
        assert!(
            Instant::now() < deadline,
            "cluster info never as expected: {info:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The route of `topic`, once it has one.
async fn route(ns: &Connection, topic: &str) -> TopicRouteData {
    let deadline = Instant::now() + T;
    loop {
        let cmd = RemotingCommand::request(request::GET_ROUTEINFO_BY_TOPIC)
            .with_ext("topic", topic)
            .with_version(409);
        let r = ns.request(cmd, T).await.expect("route reply");
        if r.code == response::SUCCESS {
            return TopicRouteData::from_json(&r.body).expect("route body");
        }
        assert!(Instant::now() < deadline, "no route for {topic}: {:?}", r.remark);
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Sends one message; returns the store host its offsetMsgId names.
async fn send(broker: &Connection, topic: &str) -> SocketAddr {
    let r = broker
        .request(send_cmd(topic, 0, "hello", "UNIQ_KEY\u{1}R1\u{2}"), T)
        .await
        .expect("send reply");
    assert_eq!(r.code, response::SUCCESS, "{:?}", r.remark);
    let h = SendMessageResponseHeader::from_ext(&r.ext_fields).expect("send response header");
    parse_offset_msg_id(&h.msg_id).expect("offsetMsgId").0
}

/// A free port P whose VIP (P - 2) and HA (P + 1) neighbours are free too, on every interface.
fn port_with_vip() -> u16 {
    let free = |p: u16| std::net::TcpListener::bind((Ipv4Addr::UNSPECIFIED, p)).is_ok();
    (0..200)
        .filter_map(|_| {
            let l = std::net::TcpListener::bind((Ipv4Addr::UNSPECIFIED, 0)).ok()?;
            l.local_addr().ok().map(|a| a.port())
        })
        .find(|&p| p > 1026 && p < 65534 && free(p - 2) && free(p + 1))
        .expect("no free port with a free VIP port")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_interface_and_the_advertised_addresses() {
    let c = common::cluster_with(&format!(
        "listenPort={}\nbrokerIP1=127.0.0.2\nbrokerIP2=127.0.0.3\n",
        port_with_vip()
    ))
    .await;
    let broker = c.broker();
    assert!(
        broker.bound_addr().ip().is_unspecified(),
        "{}",
        broker.bound_addr()
    );
    let port = broker.bound_addr().port();
    let advertised = SocketAddr::new(v4(127, 0, 0, 2), port);
    assert_eq!(broker.advertised_addr(), advertised);

    // Both servers answer on any local address, not only the advertised one.
    let ns = connect(SocketAddr::new(v4(127, 0, 0, 4), c.namesrv.port())).await;
    let info = cluster_info_until(&ns, |i| i.broker_addr_table.contains_key("broker-a")).await;
    assert_eq!(
        info.broker_addr_table["broker-a"].master_addr(),
        Some(advertised.to_string().as_str())
    );
    let client = connect(SocketAddr::new(v4(127, 0, 0, 5), port)).await;
    assert_eq!(
        send(&client, "Reach").await,
        advertised,
        "offsetMsgIds name brokerIP1"
    );
    let route = route(&ns, "Reach").await;
    assert_eq!(
        route.broker_datas[0].broker_addrs,
        [(0, advertised.to_string())].into()
    );
    // The VIP port (listenPort - 2) too.
    let vip = connect(SocketAddr::new(v4(127, 0, 0, 6), port - 2)).await;
    assert_eq!(send(&vip, "Reach").await, advertised);

    // A slave of broker-a is told the master's brokerIP1 address and its brokerIP2 HA address.
    let slave = connect(c.namesrv).await;
    let r = slave
        .request(slave_registration("127.0.0.9:20911"), T)
        .await
        .expect("register reply");
    assert_eq!(r.code, response::SUCCESS, "{:?}", r.remark);
    assert_eq!(r.ext("masterAddr"), Some(advertised.to_string().as_str()));
    // haListenPort unset: listenPort + 1.
    let ha = format!("127.0.0.3:{}", port.wrapping_add(1));
    assert_eq!(r.ext("haServerAddr"), Some(ha.as_str()));
    // The HA listener takes bindAddress too.
    let ha_elsewhere = SocketAddr::new(v4(127, 0, 0, 8), port.wrapping_add(1));
    assert!(
        tokio::net::TcpStream::connect(ha_elsewhere).await.is_ok(),
        "{ha_elsewhere}"
    );
    slave.close();
    c.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bind_address_narrows_the_listeners() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cfg = common::broker_config(dir.path(), "bindAddress=127.0.0.2\nbrokerIP1=127.0.0.2\n");
    let ns = NamesrvConfig {
        listen_port: 0,
        bind_address: v4(127, 0, 0, 2),
        ..NamesrvConfig::default()
    };
    let s = Standalone::start(cfg, ns).await.expect("standalone starts");
    assert_eq!(s.broker().bound_addr().ip(), v4(127, 0, 0, 2));
    assert_eq!(s.broker_addr().ip(), v4(127, 0, 0, 2));
    assert_eq!(s.namesrv_addr().ip(), v4(127, 0, 0, 2));
    for addr in [s.broker_addr(), s.namesrv_addr()] {
        assert!(tokio::net::TcpStream::connect(addr).await.is_ok(), "{addr}");
        let elsewhere = SocketAddr::new(v4(127, 0, 0, 3), addr.port());
        assert!(
            tokio::net::TcpStream::connect(elsewhere).await.is_err(),
            "{elsewhere} answers though bindAddress is 127.0.0.2"
        );
    }
    s.shutdown().await.expect("clean stop");
}

/// A network namespace joined to this host by a veth pair (`host_ip` here, `peer_ip` there);
/// removed when dropped.
struct Netns {
    name: String,
    host_link: String,
    host_ip: Ipv4Addr,
    peer_ip: Ipv4Addr,
}

impl Netns {
    fn create() -> Result<Netns, String> {
        let pid = std::process::id();
        let name = format!("sluice-reach-{pid}");
        // A /30 of its own per process in 10.213.0.0/16: parallel runs do not collide.
        let slot = (pid % 16_384) * 4;
        let [_, _, c, d] = slot.to_be_bytes();
        let host_ip = Ipv4Addr::new(10, 213, c, d + 1);
        let peer_ip = Ipv4Addr::new(10, 213, c, d + 2);
        ip(&["netns", "add", &name])?;
        let ns = Netns {
            name,
            host_link: format!("slr{pid}h"),
            host_ip,
            peer_ip,
        };
        let peer_link = format!("slr{pid}n");
        let (n, h, p) = (ns.name.as_str(), ns.host_link.as_str(), peer_link.as_str());
        let (host_cidr, peer_cidr) = (format!("{host_ip}/30"), format!("{peer_ip}/30"));
        ip(&["link", "add", h, "type", "veth", "peer", "name", p])?;
        ip(&["link", "set", p, "netns", n])?;
        ip(&["addr", "add", &host_cidr, "dev", h])?;
        ip(&["link", "set", h, "up"])?;
        ip(&["-n", n, "addr", "add", &peer_cidr, "dev", p])?;
        ip(&["-n", n, "link", "set", p, "up"])?;
        ip(&["-n", n, "link", "set", "lo", "up"])?;
        Ok(ns)
    }

    /// A TCP connection to `addr` opened from inside the namespace (a thread joins it, opens
    /// the socket, and ends; the socket stays in the namespace).
    fn connect(&self, addr: SocketAddr) -> std::io::Result<std::net::TcpStream> {
        let path = format!("/var/run/netns/{}", self.name);
        std::thread::spawn(move || {
            use std::os::fd::AsRawFd;
            let ns = std::fs::File::open(&path)?;
            // SAFETY: setns on a namespace file we hold open; it moves only this thread.
            if unsafe { libc::setns(ns.as_raw_fd(), libc::CLONE_NEWNET) } != 0 {
                return Err(std::io::Error::last_os_error());
            }
            std::net::TcpStream::connect_timeout(&addr, Duration::from_secs(3))
        })
        .join()
        .unwrap_or_else(|_| Err(std::io::Error::other("the netns thread panicked")))
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        // Deleting one end of a veth pair deletes both.
        if let Err(e) = ip(&["link", "del", &self.host_link]) {
            eprintln!("cleanup: {e}");
        }
        if let Err(e) = ip(&["netns", "del", &self.name]) {
            eprintln!("cleanup: {e}");
        }
    }
}

/// A remoting connection over a socket opened elsewhere (in the namespace).
fn remoting(stream: std::net::TcpStream) -> Arc<Connection> {
    stream.set_nonblocking(true).expect("non-blocking");
    let stream = tokio::net::TcpStream::from_std(stream).expect("tokio stream");
    let (conn, read) = Connection::start(stream).expect("connection");
    let reader = conn.clone();
    tokio::spawn(async move {
        let this = reader.clone();
        reader
            .read_loop(read, DecoderLimits::default(), move |cmd| {
                refuse_requests(&this, cmd)
            })
            .await;
    });
    conn
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reachable_from_another_network_namespace() {
    let netns = match Netns::create() {
        Ok(n) => n,
        Err(e) => {
            eprintln!("skipped: no network namespace for this test ({e}); it needs root and `ip netns`");
            return;
        }
    };
    // `sluice broker`'s defaults (every interface), advertised at this host's end of the link
    // (test traffic stays between this host and the namespace it made).
    let dir = tempfile::tempdir().expect("tempdir");
    let broker_ip1 = IpAddr::V4(netns.host_ip);
    let cfg = common::broker_config(dir.path(), &format!("brokerIP1={broker_ip1}\n"));
    assert!(cfg.bind_address.is_unspecified());
    let ns_cfg = NamesrvConfig {
        listen_port: 0,
        ..NamesrvConfig::default()
    };
    let s = Standalone::start(cfg, ns_cfg).await.expect("standalone starts");
    let advertised = s.broker().advertised_addr();
    assert_eq!(advertised, SocketAddr::new(broker_ip1, s.broker_addr().port()));

    // From the namespace, this host is `host_ip`; its loopback is out of reach.
    let ns_port = s.namesrv_addr().port();
    let loopback = SocketAddr::new(v4(127, 0, 0, 1), s.broker_addr().port());
    assert!(
        netns.connect(loopback).is_err(),
        "the namespace reached this host's loopback: the test proves nothing"
    );
    let ns = remoting(
        netns
            .connect(SocketAddr::new(IpAddr::V4(netns.host_ip), ns_port))
            .expect("the NameServer is reachable from the namespace"),
    );
    let _ = cluster_info_until(&ns, |i| i.broker_addr_table.contains_key("broker-a")).await;

    // A client there sends through the route the NameServer gives it.
    let remote_client = remoting(
        netns
            .connect(advertised)
            .expect("the advertised broker address is reachable from the namespace"),
    );
    assert_eq!(send(&remote_client, "FarAway").await, advertised);
    let route = route(&ns, "FarAway").await;
    assert_eq!(
        route.broker_datas[0].broker_addrs,
        [(0, advertised.to_string())].into()
    );
    assert_eq!(route.queue_datas.len(), 1);

    // A slave there learns the HA address from the NameServer and replicates through it: an
    // empty slave's first report (offset 0) is answered with the master's log from its start.
    let r = ns
        .request(slave_registration(&format!("{}:10911", netns.peer_ip)), T)
        .await
        .expect("register reply");
    assert_eq!(r.ext("masterAddr"), Some(advertised.to_string().as_str()));
    let ha: SocketAddr = r
        .ext("haServerAddr")
        .and_then(|a| a.parse().ok())
        .expect("an HA address");
    assert_eq!(ha.ip(), broker_ip1, "brokerIP2 defaults to brokerIP1");
    let mut link = netns
        .connect(ha)
        .expect("the advertised HA address is reachable from the namespace");
    let header = tokio::task::spawn_blocking(move || -> std::io::Result<[u8; 12]> {
        use std::io::{Read, Write};
        link.set_read_timeout(Some(T))?;
        link.write_all(&0i64.to_be_bytes())?;
        let mut header = [0u8; 12];
        link.read_exact(&mut header)?;
        Ok(header)
    })
    .await
    .expect("the HA read task")
    .expect("a transfer header from the master");
    let (offset, size) = header.split_at(8);
    assert_eq!(offset, 0i64.to_be_bytes(), "from the start of the log");
    assert!(
        i32::from_be_bytes(size.try_into().expect("4 bytes")) > 0,
        "with the message sent above"
    );

    ns.close();
    remote_client.close();
    s.shutdown().await.expect("clean stop");
    drop(netns);
}

/// The NameServer alone, on every interface by default.
#[tokio::test]
async fn the_name_server_listens_everywhere_by_default() {
    let (_stop, shutdown) = tokio::sync::watch::channel(false);
    let cfg = NamesrvConfig {
        listen_port: 0,
        ..NamesrvConfig::default()
    };
    let h = Namesrv::start(cfg, shutdown).await.expect("namesrv starts");
    assert!(h.bound_addr().ip().is_unspecified());
    let c = connect(SocketAddr::new(v4(127, 0, 0, 7), h.local_addr().port())).await;
    let r = c
        .request(RemotingCommand::request(request::GET_BROKER_CLUSTER_INFO), T)
        .await
        .expect("reply");
    assert_eq!(r.code, response::SUCCESS);
}
