//! An in-process NameServer and broker ([`sluice::standalone::Standalone`]) on free loopback
//! ports with a temporary store, and sluice's remoting client connected to the broker.

#![allow(dead_code)]

use std::net::SocketAddr;
use std::time::Duration;

use sluice::broker::config::BrokerConfig;
use sluice::broker::BrokerHandle;
use sluice::namesrv::NamesrvConfig;
use sluice::net::client::Client;
use sluice::standalone::Standalone;

pub const T: Duration = Duration::from_secs(5);

pub struct Cluster {
    _dir: tempfile::TempDir,
    standalone: Option<Standalone>,
    pub namesrv: SocketAddr,
    pub client: Client,
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
    let client = Client::connect(standalone.broker_addr(), T).await.unwrap();
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
