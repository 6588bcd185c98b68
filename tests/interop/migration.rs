//! Migration from a running Apache RocketMQ (issue #12 item 5): the Java broker 4.9.7 writes a
//! store (messages, a topic, a consumer group's committed offsets), is stopped, and sluice
//! starts on the same directory; a Java client of the same group resumes from the committed
//! offsets and gets every message it had not consumed. Before that, `sluice store import`
//! copies the same store into a new directory and reports every message and offset taken over.

use crate::harness::{bodies, consume_args, of_event, produce, Client, Ctx, T_CONSUME};

#[test]
fn migration_java_store_taken_over_with_offsets() {
    let Some(mut ctx) = Ctx::start_cluster("migration_java_store_taken_over_with_offsets") else {
        return;
    };
    let group_conf = "brokerClusterName=MigCluster\nbrokerName=broker-mig\nbrokerId=0\n";
    // The Java broker's store is `<tmp>/store`; sluice is started over the same directory.
    let java = match ctx.add_java_broker("store", group_conf) {
        Ok(i) => i,
        Err(e) => ctx.fail(&format!("the Java broker cannot run here: {e}"), &[]),
    };
    let topic = "InteropMigrated";
    let group = "g_migrated";
    let first = produce(&mut ctx, Client::Java, "produce", topic, "one", 30, &[]);
    // Consume them and commit. The Java client's offset commits are oneway: the one its
    // shutdown sends can be lost (seen: queue 0's never reached the Java broker), so the grace
    // outlasts its first periodic commit (10 s after start, then every 2 s in the driver).
    let lines = ctx.run_ok(
        Client::Java,
        "consume",
        &consume_args(topic, group, "30", &["--grace-ms", "14000"]),
        T_CONSUME,
    );
    let before = bodies(&of_event(&lines, "recv"));
    ctx.check_none_missing(&bodies(&first), &before, "not consumed on the Java broker:", &[]);
    // More that nobody consumes before the take-over.
    let second = produce(&mut ctx, Client::Java, "produce", topic, "two", 30, &[]);
    // A clean stop: the Java broker writes config/consumerOffset.json and its checkpoint.
    ctx.nodes[java].stop();
    let offsets = ctx.tmp_path().join("store/config/consumerOffset.json");
    eprintln!(
        "interop: migration: the Java broker left {}: {}",
        offsets.display(),
        std::fs::read_to_string(&offsets).map_or_else(|e| e.to_string(), |t| t.split_whitespace().collect())
    );
    // `sluice store import` into a new directory first: the Java store is copied, not changed
    // (it is taken over in place below), and what it held is all there.
    let imported = ctx.tmp_path().join("imported");
    let out = std::process::Command::new(crate::harness::sluice_bin())
        .args(["store", "import", "--commitlog-file-size", "67108864", "--from"])
        .arg(ctx.tmp_path().join("store"))
        .arg("--data-dir")
        .arg(&imported)
        .output();
    let text = out
        .as_ref()
        .map(|o| {
            format!(
                "{}{}",
                String::from_utf8_lossy(&o.stdout),
                String::from_utf8_lossy(&o.stderr)
            )
        })
        .unwrap_or_else(|e| e.to_string());
    eprintln!("interop: migration: {text}");
    let recovered = text
        .split(" messages recovered")
        .next()
        .and_then(|head| head.rsplit(' ').next())
        .and_then(|n| n.parse::<u64>().ok())
        .unwrap_or(0);
    ctx.check(
        out.as_ref().is_ok_and(|o| o.status.success())
            && recovered >= 60
            && text.contains(" consumer offsets"),
        || format!("sluice store import did not take the Java store over: {text}"),
        &[],
    );
    // sluice over the same store (same label, so the same directory), with the store geometry
    // the Java broker was given (as a migrating user keeps their broker.conf).
    let geometry = "mappedFileSizeCommitLog=67108864\nmaxHashSlotNum=50000\nmaxIndexNum=200000\n";
    ctx.add_broker("store", &format!("{group_conf}{geometry}"));
    let mut c = ctx.spawn(
        Client::Java,
        "consume",
        &consume_args(topic, group, "1000000", &["--idle", "8"]),
    );
    let _ = c.wait(T_CONSUME);
    let after = bodies(&c.events("recv"));
    let want = bodies(&second);
    ctx.check_none_missing(&want, &after, "not consumed after the take-over:", &[&c]);
    let again = after.intersection(&before).count();
    eprintln!(
        "interop: migration: {} consumed on Java, {} after the take-over, {again} of the first again",
        before.len(),
        after.len()
    );
    ctx.check(
        again <= 1,
        || {
            format!(
                "{again} messages consumed on the Java broker were delivered again (offsets not taken over)"
            )
        },
        &[&c],
    );
}
