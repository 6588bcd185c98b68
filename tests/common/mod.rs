//! An in-process NameServer and broker ([`sluice::standalone::Standalone`]) on free loopback
//! ports with a temporary store, and a remoting connection (`sluice_remoting::net`, the one the servers use) to the broker.

#![allow(dead_code)]

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use sluice::broker::config::BrokerConfig;
use sluice::broker::BrokerHandle;
use sluice::namesrv::NamesrvConfig;
use sluice::standalone::Standalone;
use sluice_remoting::net::connect::refuse_requests;
use sluice_remoting::net::Connection;
use sluice_remoting::DecoderLimits;

pub const T: Duration = Duration::from_secs(5);

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

/// A cluster whose broker.conf is 1 MiB CommitLog segments plus `props`.
pub async fn cluster_with(props: &str) -> Cluster {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = BrokerConfig {
        listen_port: 0,
        ..BrokerConfig::default()
    };
    cfg.store.store_path_root_dir = dir.path().join("store");
    cfg.apply_properties(&format!("mappedFileSizeCommitLog=1048576\n{props}"))
        .unwrap();
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

    pub async fn shutdown(mut self) {
        if let Some(s) = self.standalone.take() {
            s.shutdown().await.unwrap();
        }
    }
}
