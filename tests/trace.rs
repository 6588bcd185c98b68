//! The broker's own trace records (`traceTopicEnable=true`), with no client sending any: a
//! message stored, delivered by a pull to a group, sent back beyond its retries into the group's
//! dead-letter topic — `sluice admin queryMsgTraceById` shows each step, the broker as its host;
//! and once the broker stops, `sluice export` turns the same records into trace rows
//! (`trace/<segment>.parquet`).

mod common;

use std::time::{Duration, Instant};

use sluice_remoting::codes::{request, response};
use sluice_remoting::RemotingCommand;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_life_recorded_by_the_broker() {
    let mut c = common::cluster_with("traceTopicEnable=true\n").await;
    let ns = c.namesrv.to_string();
    let uniq = "7F00000100002A9F0000000000000001";
    let props = format!("UNIQ_KEY\u{1}{uniq}\u{2}KEYS\u{1}trace-k\u{2}PGROUP\u{1}trace_pg\u{2}");
    let sent = c
        .client
        .request(common::send_cmd("TraceT", 0, "traced", &props), common::T)
        .await
        .unwrap();
    assert_eq!(sent.code, response::SUCCESS, "{:?}", sent.remark);
    let offset_id = sent.ext("msgId").unwrap().to_owned();
    let (_, phys) = sluice_storage::msgid::parse_offset_msg_id(&offset_id).unwrap();
    // Delivered to group cg.
    let sub = sluice_remoting::body::heartbeat::SubscriptionData::tag_expression("TraceT", "*", 1);
    let hb = common::consumer_heartbeat("trace-client", "cg", vec![sub]);
    assert_eq!(
        c.client.request(hb, common::T).await.unwrap().code,
        response::SUCCESS
    );
    let pulled = c
        .client
        .request(common::pull_cmd("TraceT", 0, 0, "*", 0), common::T)
        .await
        .unwrap();
    assert_eq!(common::bodies(&pulled), vec!["traced".to_string()]);
    // Sent back with no retries left: into %DLQ%cg.
    let mut back = RemotingCommand::request(request::CONSUMER_SEND_MSG_BACK);
    for (k, v) in [
        ("offset", phys.to_string()),
        ("group", "cg".into()),
        ("delayLevel", "0".into()),
        ("maxReconsumeTimes", "0".into()),
    ] {
        back.ext_fields.insert(k.into(), v);
    }
    let r = c.client.request(back, common::T).await.unwrap();
    assert_eq!(r.code, response::SUCCESS, "{:?}", r.remark);

    let deadline = Instant::now() + Duration::from_secs(20);
    let rows = loop {
        let out = common::admin(&ns, &["queryMsgTraceById", "-i", uniq, "--json"]).await;
        if let Ok(text) = out {
            let v: serde_json::Value = serde_json::from_str(&text).unwrap();
            let rows = v.as_array().cloned().unwrap_or_default();
            if rows.len() >= 3 {
                break rows;
            }
        }
        assert!(
            Instant::now() < deadline,
            "the broker's trace did not show three steps"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let seen: Vec<(String, String, String)> = rows
        .iter()
        .map(|r| {
            let s = |k: &str| r[k].as_str().unwrap_or_default().to_owned();
            (s("type"), s("group"), s("topic"))
        })
        .collect();
    eprintln!("trace of {uniq}: {rows:?}");
    assert!(
        seen.contains(&("Pub".into(), "trace_pg".into(), "TraceT".into())),
        "{seen:?}"
    );
    assert!(
        seen.iter().any(|(k, g, _)| k == "SubBefore" && g == "cg"),
        "{seen:?}"
    );
    assert!(
        seen.iter().any(|(k, _, t)| k == "Pub" && t == "%DLQ%cg"),
        "{seen:?}"
    );
    let broker = c.broker().advertised_addr().to_string();
    assert!(
        rows.iter()
            .all(|r| r["clientHost"].as_str() == Some(broker.as_str())),
        "the broker wrote them: {rows:?}"
    );

    // The same life in the archive's trace rows.
    c.stop().await;
    let out = c.dir().join("archive");
    let summary = sluice::export_cmd::export(&sluice::export_cmd::ExportArgs {
        data_dir: c.dir().join("store"),
        out: out.clone(),
        topic: None,
        since: None,
        until: None,
        exclude_system_topics: true,
        trace_topic: sluice_remoting::trace::DEFAULT_TOPIC.into(),
    })
    .unwrap();
    assert!(summary.trace_rows >= 3, "{summary:?}");
    let mut archived = Vec::new();
    for f in std::fs::read_dir(out.join(sluice_parquet::trace::TRACE_DIR)).unwrap() {
        archived.extend(sluice_parquet::trace::read_file(&f.unwrap().path()).unwrap());
    }
    let life: Vec<(String, String, String, String)> = archived
        .iter()
        .filter(|r| r.record.msg_id == uniq)
        .map(|r| {
            (
                r.record.kind.name().to_owned(),
                r.record.group.clone(),
                r.record.topic.clone(),
                r.client_host.clone(),
            )
        })
        .collect();
    for (kind, group, topic) in [
        ("Pub", Some("trace_pg"), "TraceT"),
        ("SubBefore", Some("cg"), ""),
        ("Pub", None, "%DLQ%cg"),
    ] {
        assert!(
            life.iter().any(|(k, g, t, h)| k == kind
                && group.is_none_or(|group| g == group)
                && t == topic
                && h == &broker),
            "{kind} {group:?} {topic} not in the archived trace rows {life:?}"
        );
    }
}
