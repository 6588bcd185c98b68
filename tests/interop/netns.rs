//! Hosts on one machine: network namespaces joined by veth pairs to a bridge in the test's own
//! namespace, so that a test can cut a whole host off the network (`ip link set … down` on its
//! veth: every link of the host — clients, replication, controllers, NameServer — goes silent,
//! no FIN, no RST, as when a cable is pulled) and join it again.
//!
//! Needs root and iproute2 (`ip netns`, veth, bridge); [`Net::create`] says why when it cannot.
//! Everything made here is named after this process and removed on drop (and, should a
//! previous process of the same number have died before that, removed first).

use std::process::{Command, Stdio};

/// One host: its namespace and its address on the bridge.
#[derive(Clone, Debug)]
pub struct Host {
    pub netns: String,
    pub ip: String,
    /// The veth end in the test's namespace: down = the host is cut off.
    link: String,
}

pub struct Net {
    /// This process's number among concurrent runs: names and the subnet derive from it.
    tag: u32,
    bridge: String,
    /// This namespace's address on the bridge (NameServer, controllers and clients live here).
    pub gateway: String,
    pub hosts: Vec<Host>,
}

/// Runs `ip` with `args`; the error names the command and what it printed.
pub fn ip(args: &[&str]) -> Result<(), String> {
    let out = Command::new("ip")
        .args(args)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("ip {}: {e}", args.join(" ")))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "ip {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

impl Net {
    /// `n` hosts on a /24 of 10.201.x.0 chosen from this process's id.
    pub fn create(n: usize) -> Result<Net, String> {
        let tag = std::process::id() % 200;
        let subnet = format!("10.201.{}", tag + 20);
        let bridge = format!("sbr{tag}");
        let hosts: Vec<Host> = (0..n)
            .map(|i| Host {
                netns: format!("sluice-{tag}-{i}"),
                ip: format!("{subnet}.{}", 10 + i),
                link: format!("sv{tag}h{i}"),
            })
            .collect();
        let mut net = Net {
            tag,
            bridge,
            gateway: format!("{subnet}.1"),
            hosts,
        };
        net.remove();
        net.build().inspect_err(|_| net.remove())?;
        Ok(net)
    }

    fn build(&mut self) -> Result<(), String> {
        let br = self.bridge.as_str();
        ip(&["link", "add", br, "type", "bridge"])?;
        ip(&["addr", "add", &format!("{}/24", self.gateway), "dev", br])?;
        ip(&["link", "set", br, "up"])?;
        for (i, h) in self.hosts.iter().enumerate() {
            let peer = format!("sv{}p{i}", self.tag);
            ip(&["netns", "add", &h.netns])?;
            ip(&["link", "add", &h.link, "type", "veth", "peer", "name", &peer])?;
            ip(&["link", "set", &peer, "netns", &h.netns])?;
            ip(&["-n", &h.netns, "link", "set", &peer, "name", "eth0"])?;
            ip(&[
                "-n",
                &h.netns,
                "addr",
                "add",
                &format!("{}/24", h.ip),
                "dev",
                "eth0",
            ])?;
            ip(&["-n", &h.netns, "link", "set", "eth0", "up"])?;
            ip(&["-n", &h.netns, "link", "set", "lo", "up"])?;
            ip(&["link", "set", &h.link, "master", br])?;
            ip(&["link", "set", &h.link, "up"])?;
        }
        Ok(())
    }

    /// Cuts host `i` off: its packets are dropped both ways until [`Net::join`].
    pub fn cut(&self, i: usize) -> Result<(), String> {
        ip(&["link", "set", &self.hosts[i].link, "down"])
    }

    pub fn join(&self, i: usize) -> Result<(), String> {
        ip(&["link", "set", &self.hosts[i].link, "up"])
    }

    fn remove(&self) {
        for h in &self.hosts {
            let _ = ip(&["link", "del", &h.link]);
            let _ = ip(&["netns", "del", &h.netns]);
        }
        let _ = ip(&["link", "del", &self.bridge]);
    }
}

impl Drop for Net {
    fn drop(&mut self) {
        self.remove();
    }
}
