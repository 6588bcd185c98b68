//! Interoperability tests: real third-party RocketMQ clients against `sluice standalone`.
//!
//! Clients (installed by `tests/interop/setup.sh`, run once per test binary):
//! * `js`   — npm `ali-ons` (pure JavaScript), driver `tests/interop/js/driver.js`;
//! * `py`   — PyPI `rocketmq` (bundles the Apache C++ client), driver `tests/interop/py/driver.py`;
//! * `rust` — crates.io `rocketmq-client-rust`, driver `tests/interop/rust-client`;
//! * `java` — Maven `org.apache.rocketmq:rocketmq-client` 4.9.8, driver `tests/interop/java`;
//! * `go`   — `github.com/apache/rocketmq-client-go/v2`, driver `tests/interop/go`.
//!
//! Each test starts its own `sluice standalone` on free 127.0.0.1 ports with a fresh data
//! directory, drives the clients as child processes (JSON lines on stdout, see the drivers), and
//! kills everything it started when it ends or fails. Tests take a global lock so they run one at
//! a time (the machines have 2 cores). Every wait is bounded.
//!
//! Environment:
//! * `SLUICE_INTEROP=skip` — skip all of these tests (prints why);
//! * `SLUICE_INTEROP_SLUICE=PATH` — the `sluice` binary to start (default: the one cargo built
//!   with this test; set it when several checkouts share one target directory);
//! * `SLUICE_INTEROP_CACHE=DIR` — where setup.sh keeps the Java and Go builds and their caches
//!   (default `~/.cache/sluice`);
//! * `SLUICE_INTEROP_KEEP=1` — keep each test's temporary directory (broker and driver logs);
//! * `INTEROP_LOG=info|debug` — more client logging on the drivers' stderr (kept in the temp dir).
//!
//! Files (one test binary, `interop`; a test is `<file>::<name>`, e.g. `ali_ons::js_ordered`):
//! * `harness.rs` — set-up of the clients, the serial lock, `Proc` / `Broker` / `Client` / `Ctx`
//!   / `TempDir`, JSON line helpers and the produce / consume / check helpers;
//! * `scenarios.rs` — the scenarios every client runs: produce_consume, tag_filter,
//!   offsets_resume, two_consumers_split, broadcast, ordered;
//! * `ali_ons.rs` (`js_*`), `cpp_client.rs` (`py_*`, and the C++ client's batch),
//!   `rust_client.rs` (`rust_*`, and batch / async sends, query by key and id, throughput);
//! * `java_client.rs` (`java_*`: the shared scenarios, send modes, consumeFromWhere, lite pull,
//!   transactions, delays and timers, retry / DLQ, queries, trace, namespace), `go_client.rs`
//!   (`go_*`: the shared scenarios, batch / async, delay levels, transactions, pull consumer);
//! * `schedule.rs` — delay levels and timers (the due-time checks, their tests for each client);
//! * `retry_dlq.rs` — failed deliveries through `%RETRY%<group>` into `%DLQ%<group>`;
//! * `transaction.rs` — transactional messages and check-backs;
//! * `durability.rs` — `kill -9` of the broker: acknowledged sends, scheduled work and open halves;
//! * `migration.rs` — a store written by Apache RocketMQ 4.9.7 taken over by sluice, offsets
//!   and all;
//! * `replication.rs` — master/slave groups of separate processes: `kill -9` of a SYNC_MASTER
//!   with its store deleted loses no SEND_OK;
//! * `differential.rs` — one scenario per client against sluice and against Apache RocketMQ's
//!   broker (4.9.7): what the client observes, normalised, must be the same;
//! * `metrics.rs` — `/metrics` (`metricsExporterType=PROM`) after a known Java workload, the
//!   requests apache/rocketmq-exporter makes (runtime info keys by its parsing rules, stats,
//!   producer info, the broker → client forwards 307 / 309) and the server's log formats;
//! * `mqadmin.rs` — Apache RocketMQ's `mqadmin` (4.9.8) against sluice and against Apache
//!   RocketMQ's broker (4.9.7), both installed by `scripts/rocketmq-reference.sh`;
//! * `acl.rs` — ACL 1.0: account × request matrix with the clients that sign (Java
//!   `AclClientRPCHook`, ali-ons, the C++ client), a whitelist edit reloaded live, and an audit
//!   that nothing refused was stored.
//! * `bench_load.rs` — `sluice bench broker --load java`: the Java client as the benchmark's
//!   load against sluice, its report read back;
//! * `controller.rs` — three `sluice controller` processes as the controller group of two Java
//!   5.3.3 brokers in controller mode: ids, first master, SyncStateSet, mqadmin 5.3.3, kill -9 of
//!   the Java master (failover) and of the controller leader.
//!
//! * `chaos.rs` — a controller-mode group of sluice processes (three controllers, three
//!   brokers) under rocketmq-client-rust ordered sends and orderly consumers (rocketmq-client-rust
//!   and the Java client, one group each) while masters,
//!   slaves and controllers are killed or paused: nothing acknowledged lost, per-key order kept,
//!   recovery times reported (`SLUICE_CHAOS_CYCLES`, `bench/chaos.sh`).
//!
//! The drivers and `setup.sh` are in this directory too; `rust-client/` is a cargo project of its
//! own (excluded from the workspace), not part of this test.

mod acl;
mod ali_ons;
mod bench_load;
mod chaos;
mod controller;
mod cpp_client;
mod differential;
mod durability;
mod go_client;
mod harness;
mod java_client;
mod metrics;
mod migration;
mod mqadmin;
mod netns;
mod replication;
mod retry_dlq;
mod rust_client;
mod scenarios;
mod schedule;
mod transaction;
