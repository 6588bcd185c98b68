//! An in-process NameServer and broker ([`sluice::standalone::Standalone`]) on free loopback
//! ports with a temporary store, and a remoting connection (`sluice_remoting::net`, the one the servers use) to the broker.

#![allow(dead_code)]

pub mod group;
pub mod ports;

pub use ports::free_port;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use sluice::broker::config::BrokerConfig;
use sluice::broker::BrokerHandle;
use sluice::namesrv::NamesrvConfig;
use sluice::standalone::Standalone;
use sluice_remoting::codes::request;
use sluice_remoting::header::pull::PullMessageRequestHeader;
use sluice_remoting::header::route::RegisterBrokerRequestHeader;
use sluice_remoting::header::send::SendMessageRequestHeader;
use sluice_remoting::net::connect::refuse_requests;
use sluice_remoting::net::Connection;
use sluice_remoting::{DecoderLimits, RemotingCommand};
use sluice_storage::record::{self, CrcCheck};

pub const T: Duration = Duration::from_secs(5);

/// The `sluice` binary for tests that start it as a process: `SLUICE_INTEROP_SLUICE` when set (a
/// target directory shared by several checkouts relinks `debug/sluice` to whichever built last;
/// the interop harness reads the same variable), else the one Cargo built for this test.
pub fn sluice_bin() -> std::path::PathBuf {
    std::env::var_os("SLUICE_INTEROP_SLUICE")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| env!("CARGO_BIN_EXE_sluice").into())
}

/// A connection to `addr` that refuses whatever the server asks of it.
pub async fn connect(addr: SocketAddr) -> Arc<Connection> {
    sluice_remoting::net::connect(&addr.to_string(), T, DecoderLimits::default(), refuse_requests)
        .await
        .unwrap()
}

pub struct Cluster {
    _dir: tempfile::TempDir,
    standalone: Option<Standalone>,
    pub namesrv: SocketAddr,
    pub client: Arc<Connection>,
}

/// A cluster whose broker runs with `flushDiskType=<flush>`.
pub async fn cluster(flush: &str) -> Cluster {
    cluster_with(&format!("flushDiskType={flush}\n")).await
}

/// A broker config on any free port with its store in `<dir>/store`, advertised as 127.0.0.1 (test
/// traffic stays on loopback): 1 MiB CommitLog segments plus `props`.
pub fn broker_config(dir: &std::path::Path, props: &str) -> BrokerConfig {
    let mut cfg = BrokerConfig {
        listen_port: 0,
        broker_ip1: std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST),
        ..BrokerConfig::default()
    };
    cfg.store.store_path_root_dir = dir.join("store");
    cfg.apply_properties(&format!("mappedFileSizeCommitLog=1048576\n{props}"))
        .unwrap();
    cfg
}

/// A cluster whose broker.conf is 1 MiB CommitLog segments plus `props`.
pub async fn cluster_with(props: &str) -> Cluster {
    let dir = tempfile::tempdir().unwrap();
    let cfg = broker_config(dir.path(), props);
    let ns = NamesrvConfig {
        listen_port: 0,
        ..NamesrvConfig::default()
    };
    let standalone = Standalone::start(cfg, ns).await.unwrap();
    let client = connect(standalone.broker_addr()).await;
    Cluster {
        _dir: dir,
        namesrv: standalone.namesrv_addr(),
        standalone: Some(standalone),
        client,
    }
}

impl Cluster {
    pub fn broker(&self) -> &BrokerHandle {
        self.standalone.as_ref().unwrap().broker()
    }

    /// The directory the broker's store lives in (`<dir>/store`); kept until the cluster drops.
    pub fn dir(&self) -> &std::path::Path {
        self._dir.path()
    }

    /// Stops the NameServer and broker, keeping the directory.
    pub async fn stop(&mut self) {
        if let Some(s) = self.standalone.take() {
            s.shutdown().await.unwrap();
        }
    }

    pub async fn shutdown(mut self) {
        if let Some(s) = self.standalone.take() {
            s.shutdown().await.unwrap();
        }
    }
}

/// SEND_MESSAGE_V2 of `body` to (`topic`, `queue`; −1 lets the broker pick) with `props`.
pub fn send_cmd(topic: &str, queue: i32, body: &str, props: &str) -> RemotingCommand {
    let h = SendMessageRequestHeader {
        producer_group: "pg".into(),
        topic: topic.into(),
        default_topic: "TBW102".into(),
        default_topic_queue_nums: 4,
        queue_id: queue,
        sys_flag: 0,
        born_timestamp: 1_700_000_000_000,
        flag: 0,
        properties: Some(props.into()),
        reconsume_times: Some(0),
        unit_mode: false,
        max_reconsume_times: None,
        batch: false,
        broker_name: None,
    };
    let mut cmd = RemotingCommand::request(request::SEND_MESSAGE_V2).with_body(Bytes::from(body.to_owned()));
    cmd.ext_fields = h.to_ext_v2();
    cmd
}

pub fn pull_cmd(topic: &str, queue: i32, offset: i64, expr: &str, suspend_ms: i64) -> RemotingCommand {
    let h = PullMessageRequestHeader {
        consumer_group: "cg".into(),
        topic: topic.into(),
        queue_id: queue,
        queue_offset: offset,
        max_msg_nums: 32,
        sys_flag: 0x2 | 0x4,
        commit_offset: 0,
        suspend_timeout_millis: suspend_ms,
        subscription: Some(expr.into()),
        sub_version: 0,
        expression_type: Some("TAG".into()),
        max_msg_bytes: None,
        request_source: None,
        proxy_forward_client_id: None,
    };
    RemotingCommand::request(request::PULL_MESSAGE).with_header(&h)
}

/// HEART_BEAT of consumer `client_id` in `group` with these subscriptions.
pub fn consumer_heartbeat(
    client_id: &str,
    group: &str,
    subscriptions: Vec<sluice_remoting::body::heartbeat::SubscriptionData>,
) -> RemotingCommand {
    use sluice_remoting::body::heartbeat::{ConsumerData, HeartbeatData};
    use sluice_remoting::body::JsonBody;
    let hb = HeartbeatData {
        client_id: client_id.into(),
        consumer_data_set: vec![ConsumerData {
            group_name: group.into(),
            subscription_data_set: subscriptions,
            ..Default::default()
        }],
        ..Default::default()
    };
    RemotingCommand::request(request::HEART_BEAT).with_body(hb.to_json())
}

pub fn bodies(reply: &RemotingCommand) -> Vec<String> {
    let mut out = Vec::new();
    let mut pos = 0;
    while pos < reply.body.len() {
        let r = record::decode(&reply.body[pos..], CrcCheck::Verify).unwrap();
        let record::Decoded::Message(m) = r else {
            panic!("blank in a pull body")
        };
        out.push(String::from_utf8_lossy(m.body).into_owned());
        pos += m.total_size;
    }
    out
}

#[derive(clap::Parser)]
struct AdminCli {
    #[command(flatten)]
    admin: sluice::admin::AdminArgs,
}

/// `sluice admin -n <ns> <args…>` through the library; the rendered output.
pub async fn admin(ns: &str, args: &[&str]) -> anyhow::Result<String> {
    use clap::Parser;
    let argv: Vec<&str> = ["admin", "-n", ns].iter().chain(args).copied().collect();
    let cli = AdminCli::try_parse_from(argv).map_err(|e| anyhow::anyhow!("{e}"))?;
    sluice::admin::execute(&cli.admin).await
}

/// REGISTER_BROKER of a slave (brokerId 1) of `broker-a` at `addr`, with no topics.
pub fn slave_registration(addr: &str) -> RemotingCommand {
    RemotingCommand::request(request::REGISTER_BROKER).with_header(&RegisterBrokerRequestHeader {
        broker_name: "broker-a".into(),
        broker_addr: addr.into(),
        cluster_name: "DefaultCluster".into(),
        ha_server_addr: "127.0.0.9:20912".into(),
        broker_id: 1,
        compressed: false,
        body_crc32: 0,
        heartbeat_timeout_millis: None,
        enable_acting_master: false,
    })
}
