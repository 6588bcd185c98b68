//! sluice as a library: the NameServer, the broker, `sluice standalone` (both in one process)
//! and the operator commands, so that tests, benchmarks and embedding programs start them
//! in-process. The `sluice` binary (`src/main.rs`) only parses the command line and calls in.
//!
//! * [`namesrv`] — the NameServer: [`namesrv::start`] binds and serves until shutdown.
//! * [`broker`] — the broker: [`broker::start`] opens the store, starts the pipeline, binds.
//! * [`standalone`] — both in one process ([`standalone::Standalone`]), and the CLI entry points
//!   `sluice broker` / `sluice standalone`.
//! * [`admin`] — `sluice admin`: mqadmin's commands.
//! * [`controller_cmd`] — `sluice controller -c controller.conf` (the controller itself is the
//!   `sluice-controller` crate).
//! * [`export_cmd`], [`store_cmd`] — `sluice export`, `sluice store`.
//! * [`config`] — Java properties files; [`time`] — the time forms operators type and read.

pub mod acl;
pub mod admin;
pub mod auth;
pub mod broker;
pub mod config;
pub mod controller_cmd;
pub mod export_cmd;
pub mod namesrv;
pub mod standalone;
pub mod store_cmd;
pub mod time;

/// Makes a panic on any thread stop the whole process: the default hook prints the message
/// (and backtrace), then the process aborts. A broker whose core, flush, scheduler or I/O
/// thread died must not keep answering requests half-alive (acking sends no consumer will see);
/// recovery on the next start restores a consistent store. The `sluice` binary installs this
/// before it starts a server; embedding programs choose for themselves.
pub fn abort_on_panic() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        default(info);
        eprintln!("sluice: a thread panicked; stopping the process (recovery runs at the next start)");
        std::process::abort();
    }));
}
