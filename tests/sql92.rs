//! SQL92 property filters on an in-process broker: refused while `enablePropertyFilter` is
//! off, parse errors answered SUBSCRIPTION_PARSE_FAILED, pulls filtered on the broker, and a
//! parked pull woken only by a message that matches.

mod common;

use std::time::{Duration, Instant};

use common::{bodies, cluster_with, send_cmd, Cluster, T};
use sluice_remoting::codes::{request, response};
use sluice_remoting::header::pull::{PullMessageRequestHeader, PullMessageResponseHeader};
use sluice_remoting::RemotingCommand;

fn sql_pull(topic: &str, offset: i64, expr: &str, suspend_ms: i64) -> RemotingCommand {
    let mut cmd = common::pull_cmd(topic, 0, offset, expr, suspend_ms);
    let mut h = PullMessageRequestHeader::from_ext(&cmd.ext_fields).unwrap();
    h.expression_type = Some("SQL92".into());
    cmd = RemotingCommand::request(request::PULL_MESSAGE).with_header(&h);
    cmd
}

fn check_client_config(expr: &str) -> RemotingCommand {
    let body = format!(
        r#"{{"clientId":"c","group":"cg","subscriptionData":{{"expressionType":"SQL92","subString":"{expr}","topic":"T"}}}}"#
    );
    RemotingCommand::request(request::CHECK_CLIENT_CONFIG).with_body(bytes::Bytes::from(body.into_bytes()))
}

async fn send(c: &Cluster, topic: &str, body: &str, props: &[(&str, &str)]) {
    let props = sluice_remoting::properties::encode(props.iter().copied());
    let r = c
        .client
        .request(send_cmd(topic, 0, body, &props), T)
        .await
        .unwrap();
    assert_eq!(r.code, response::SUCCESS, "{:?}", r.remark);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sql92_is_refused_while_property_filtering_is_off() {
    let c = cluster_with("").await;
    send(&c, "Off", "m", &[("a", "1")]).await;
    for cmd in [check_client_config("a > 0"), sql_pull("Off", 0, "a > 0", 0)] {
        let r = c.client.request(cmd, T).await.unwrap();
        assert_eq!(r.code, response::SYSTEM_ERROR);
        let remark = r.remark.unwrap_or_default();
        assert!(remark.contains("filter message by SQL92"), "{remark}");
    }
    c.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sql92_filters_pulls_and_wakes_parked_pulls_only_for_a_match() {
    let c = cluster_with("enablePropertyFilter=true\n").await;
    send(&c, "Orders", "m0", &[("TAGS", "T"), ("n", "0"), ("region", "eu")]).await;
    // Parse errors, at consumer start and on a pull.
    for cmd in [
        check_client_config("a > 'x'"),
        sql_pull("Orders", 0, "a BETWEEN", 0),
    ] {
        let r = c.client.request(cmd, T).await.unwrap();
        assert_eq!(r.code, response::SUBSCRIPTION_PARSE_FAILED, "{:?}", r.remark);
        assert!(r
            .remark
            .unwrap_or_default()
            .starts_with("Invalid MessageSelector."));
    }
    let r = c.client.request(check_client_config("a > 1"), T).await.unwrap();
    assert_eq!(r.code, response::SUCCESS, "{:?}", r.remark);

    for i in 1..20 {
        let region = if i % 2 == 0 { "eu" } else { "us" };
        let n = i.to_string();
        send(
            &c,
            "Orders",
            &format!("m{i}"),
            &[("TAGS", "T"), ("n", &n), ("region", region)],
        )
        .await;
    }
    let store = &c.broker().state.store;
    assert!(store.wait_dispatched(store.commitlog().write_pos(), T));
    let r = c
        .client
        .request(sql_pull("Orders", 0, "n >= 10 AND region = 'us'", 0), T)
        .await
        .unwrap();
    assert_eq!(r.code, response::SUCCESS, "{:?}", r.remark);
    assert_eq!(bodies(&r), ["m11", "m13", "m15", "m17", "m19"]);
    let h = PullMessageResponseHeader::from_ext(&r.ext_fields).unwrap();
    assert_eq!(h.next_begin_offset, 20);
    // Nothing matches: the consumer is moved past what was scanned.
    let r = c
        .client
        .request(sql_pull("Orders", 0, "region = 'asia'", 0), T)
        .await
        .unwrap();
    assert_eq!(r.code, response::PULL_RETRY_IMMEDIATELY, "{:?}", r.remark);
    let h = PullMessageResponseHeader::from_ext(&r.ext_fields).unwrap();
    assert_eq!(h.next_begin_offset, 20);

    // A parked pull: a message that does not match leaves it parked; one that does wakes it.
    let client2 = common::connect(c.broker().local_addr()).await;
    let started = Instant::now();
    let waiting = tokio::spawn(async move {
        let r = client2
            .request(sql_pull("Orders", 20, "n = 100", 10_000), T * 3)
            .await;
        (r, started.elapsed())
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    send(&c, "Orders", "miss", &[("n", "50")]).await;
    tokio::time::sleep(Duration::from_millis(700)).await;
    assert!(
        !waiting.is_finished(),
        "a message that does not match woke the pull"
    );
    send(&c, "Orders", "hit", &[("n", "100")]).await;
    let (r, took) = waiting.await.unwrap();
    let r = r.unwrap();
    assert_eq!(r.code, response::SUCCESS, "{:?}", r.remark);
    assert_eq!(bodies(&r), ["hit"]);
    assert!(
        took >= Duration::from_millis(900) && took < Duration::from_secs(5),
        "{took:?}"
    );
    c.shutdown().await;
}

/// `filterSupportRetry=true`: a `%RETRY%` pull applies the group's SQL92 subscription of each
/// message's original topic (`RETRY_TOPIC`); off, retries are delivered unfiltered.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retry_topics_follow_the_original_subscription_when_asked() {
    use sluice_remoting::body::heartbeat::SubscriptionData;
    for (support, want) in [(true, vec!["r1"]), (false, vec!["r0", "r1"])] {
        let c = cluster_with(&format!(
            "enablePropertyFilter=true\nfilterSupportRetry={support}\n"
        ))
        .await;
        let mut sub = SubscriptionData::tag_expression("Orders", "*", 1);
        sub.expression_type = "SQL92".into();
        sub.sub_string = "n = 1".into();
        let r = c
            .client
            .request(common::consumer_heartbeat("127.0.0.1@test", "cg", vec![sub]), T)
            .await
            .unwrap();
        assert_eq!(r.code, response::SUCCESS, "{:?}", r.remark);
        for n in 0..2 {
            let body = format!("r{n}");
            send(
                &c,
                "%RETRY%cg",
                &body,
                &[("RETRY_TOPIC", "Orders"), ("n", &n.to_string())],
            )
            .await;
        }
        let store = &c.broker().state.store;
        assert!(store.wait_dispatched(store.commitlog().write_pos(), T));
        let r = c
            .client
            .request(common::pull_cmd("%RETRY%cg", 0, 0, "*", 0), T)
            .await
            .unwrap();
        assert_eq!(
            r.code,
            response::SUCCESS,
            "filterSupportRetry={support}: {:?}",
            r.remark
        );
        assert_eq!(bodies(&r), want, "filterSupportRetry={support}");
        c.shutdown().await;
    }
}
