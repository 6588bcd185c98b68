//! Starts `sluice standalone` in-process (the `sluice` library, a dev-dependency) for the
//! integration tests: free loopback ports, a temporary data directory, stopped cleanly when
//! dropped.

#![allow(dead_code)]

use std::net::TcpListener;
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use sluice::standalone::Embedded;

static SERIAL: Mutex<()> = Mutex::new(());

/// An ephemeral loopback port whose neighbours P-2 (VIP channel) and P+1 (HA) can be bound too.
pub fn free_port() -> u16 {
    let bindable = |p: u16| TcpListener::bind(("127.0.0.1", p)).is_ok();
    (0..200)
        .filter_map(|_| TcpListener::bind("127.0.0.1:0").ok()?.local_addr().ok())
        .map(|a| a.port())
        .find(|&p| (1027..65534).contains(&p) && bindable(p - 2) && bindable(p + 1))
        .expect("no free loopback port")
}

/// A running in-process `sluice standalone` ([`Embedded`]: the `sluice` library on a runtime of
/// its own, so synchronous tests can use it); tests holding one run one at a time.
pub struct Broker {
    embedded: Embedded,
    pub namesrv: String,
    _dir: tempfile::TempDir,
    _serial: MutexGuard<'static, ()>,
}

impl Broker {
    /// Starts a broker with `sluice standalone`'s defaults plus the given broker.conf lines.
    pub fn start(conf: &str) -> Broker {
        let serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
        let dir = tempfile::tempdir().expect("tempdir");
        let (mut config, mut ns_config) = sluice::standalone::defaults(&dir.path().join("data"));
        for w in config.apply_properties(conf).expect("broker.conf") {
            eprintln!("broker.conf: {w}");
        }
        config.listen_port = free_port();
        ns_config.listen_port = 0;
        let embedded = Embedded::start(config, ns_config).expect("sluice standalone starts");
        // Registration with the in-process NameServer.
        std::thread::sleep(Duration::from_millis(500));
        Broker {
            namesrv: embedded.namesrv_addr().to_string(),
            embedded,
            _dir: dir,
            _serial: serial,
        }
    }
}
