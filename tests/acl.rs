//! ACL 1.0 over real TCP, in-process: a NameServer and a broker both with `aclEnable=true`
//! and one `plain_acl.yml`. The broker registers with the NameServer signing with its own
//! `accessKey`/`secretKey` (an admin account); unsigned NameServer writes are refused; the broker
//! refuses what an account may not do with NO_PERMISSION (16) and stores nothing refused.

mod common;

use std::time::Duration;

use sluice::namesrv::NamesrvConfig;
use sluice::standalone::Standalone;
use sluice_remoting::acl::sign;
use sluice_remoting::codes::{request, response};
use sluice_remoting::RemotingCommand;

const YML: &str = "accounts:
  - accessKey: adminKey01
    secretKey: adminSecret01
    admin: true
  - accessKey: pubUser01
    secretKey: pubSecret01
    defaultTopicPerm: DENY
    defaultGroupPerm: SUB
    topicPerms:
      - T=PUB
";

fn signed(mut cmd: RemotingCommand, keys: Option<(&str, &str)>) -> RemotingCommand {
    if let Some((ak, sk)) = keys {
        sign(&mut cmd, ak, sk);
    }
    cmd
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broker_and_namesrv_enforce_plain_acl() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("home");
    std::fs::create_dir_all(home.join("conf")).unwrap();
    std::fs::write(home.join("conf/plain_acl.yml"), YML).unwrap();
    let cfg = common::broker_config(
        dir.path(),
        &format!(
            "aclEnable=true\nrocketmqHome={}\naccessKey=adminKey01\nsecretKey=adminSecret01\n",
            home.display()
        ),
    );
    let mut ns = NamesrvConfig {
        listen_port: 0,
        ..NamesrvConfig::default()
    };
    ns.apply_properties(&format!("aclEnable=true\nrocketmqHome={}\n", home.display()))
        .unwrap();
    let standalone = Standalone::start(cfg, ns).await.unwrap();
    let admin = Some(("adminKey01", "adminSecret01"));
    let publisher = Some(("pubUser01", "pubSecret01"));

    // The broker's signed registration went through: TBW102's route names it.
    let nsc = common::connect(standalone.namesrv_addr()).await;
    let mut routed = false;
    for _ in 0..50 {
        let r = nsc
            .request(
                RemotingCommand::request(request::GET_ROUTEINFO_BY_TOPIC).with_ext("topic", "TBW102"),
                common::T,
            )
            .await
            .unwrap();
        if r.code == response::SUCCESS {
            routed = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(routed, "the broker's signed REGISTER_BROKER was accepted");
    // NameServer writes: unsigned and non-admin refused, admin accepted; reads stay open.
    let put_kv = || {
        RemotingCommand::request(request::PUT_KV_CONFIG)
            .with_ext("namespace", "ns")
            .with_ext("key", "k")
            .with_ext("value", "v")
    };
    for (who, keys, want) in [
        ("unsigned", None, response::NO_PERMISSION),
        ("non-admin", publisher, response::NO_PERMISSION),
        ("admin", admin, response::SUCCESS),
    ] {
        let r = nsc.request(signed(put_kv(), keys), common::T).await.unwrap();
        assert_eq!(r.code, want, "PUT_KV_CONFIG by {who}: {:?}", r.remark);
    }

    let c = common::connect(standalone.broker_addr()).await;
    let send = |keys| signed(common::send_cmd("T", 0, "body", ""), keys);
    // Unsigned: refused, naming what is missing.
    let r = c.request(send(None), common::T).await.unwrap();
    assert_eq!(r.code, response::NO_PERMISSION);
    assert!(
        r.remark.as_deref().unwrap_or("").contains("No accessKey"),
        "{:?}",
        r.remark
    );
    // Wrong secret.
    let r = c
        .request(send(Some(("pubUser01", "nope"))), common::T)
        .await
        .unwrap();
    assert_eq!(r.code, response::NO_PERMISSION);
    assert!(r.remark.unwrap_or_default().contains("signature"));
    // The publisher may send to T (auto-created) but not pull it, nor create topics.
    let r = c.request(send(publisher), common::T).await.unwrap();
    assert_eq!(r.code, response::SUCCESS, "{:?}", r.remark);
    let r = c
        .request(signed(common::pull_cmd("T", 0, 0, "*", 0), publisher), common::T)
        .await
        .unwrap();
    assert_eq!(r.code, response::NO_PERMISSION);
    assert!(r
        .remark
        .unwrap_or_default()
        .contains("No SUB permission for topic T"));
    let other = signed(common::send_cmd("Other", 0, "body", ""), publisher);
    let r = c.request(other, common::T).await.unwrap();
    assert_eq!(r.code, response::NO_PERMISSION);
    let create = || {
        RemotingCommand::request(request::UPDATE_AND_CREATE_TOPIC)
            .with_ext("topic", "Created")
            .with_ext("defaultTopic", "TBW102")
            .with_ext("readQueueNums", "4")
            .with_ext("writeQueueNums", "4")
            .with_ext("perm", "6")
            .with_ext("topicFilterType", "SINGLE_TAG")
    };
    let r = c.request(signed(create(), publisher), common::T).await.unwrap();
    assert_eq!(r.code, response::NO_PERMISSION);
    assert!(r.remark.unwrap_or_default().contains("admin"));
    let r = c.request(signed(create(), admin), common::T).await.unwrap();
    assert_eq!(r.code, response::SUCCESS, "{:?}", r.remark);

    // `sluice admin` signs with --access-key/--secret-key.
    let ns_addr = standalone.namesrv_addr().to_string();
    let broker_addr = standalone.broker_addr().to_string();
    let unsigned = common::admin(&ns_addr, &["updateTopic", "-b", &broker_addr, "-t", "AdminT"]).await;
    assert!(
        unsigned.is_err(),
        "an unsigned updateTopic must be refused: {unsigned:?}"
    );
    let as_admin = common::admin(
        &ns_addr,
        &[
            "--access-key",
            "adminKey01",
            "--secret-key",
            "adminSecret01",
            "updateTopic",
            "-b",
            &broker_addr,
            "-t",
            "AdminT",
        ],
    )
    .await;
    assert!(as_admin.is_ok(), "{as_admin:?}");

    // mqadmin's ACL commands: a new account, usable at once; then deleted.
    let admin_args = |rest: &[&str]| {
        let mut v = vec!["--access-key", "adminKey01", "--secret-key", "adminSecret01"];
        v.extend_from_slice(rest);
        v.iter().map(|s| s.to_string()).collect::<Vec<String>>()
    };
    let run = |args: Vec<String>| {
        let ns = ns_addr.clone();
        async move {
            let refs: Vec<&str> = args.iter().map(String::as_str).collect();
            common::admin(&ns, &refs).await
        }
    };
    let created = run(admin_args(&[
        "updateAclConfig",
        "-b",
        &broker_addr,
        "-a",
        "lateUser01",
        "-s",
        "lateSecret01",
        "-i",
        "DENY",
        "-t",
        "Late=PUB",
    ]))
    .await;
    assert!(created.is_ok(), "{created:?}");
    let late = Some(("lateUser01", "lateSecret01"));
    let r = c
        .request(signed(common::send_cmd("Late", 0, "late", ""), late), common::T)
        .await
        .unwrap();
    assert_eq!(
        r.code,
        response::SUCCESS,
        "a new account works at once: {:?}",
        r.remark
    );
    let by_non_admin = common::admin(
        &ns_addr,
        &[
            "--access-key",
            "pubUser01",
            "--secret-key",
            "pubSecret01",
            "deleteAccessConfig",
            "-b",
            &broker_addr,
            "-a",
            "lateUser01",
        ],
    )
    .await;
    assert!(by_non_admin.is_err(), "only admin accounts edit the ACL");
    let deleted = run(admin_args(&[
        "deleteAccessConfig",
        "-b",
        &broker_addr,
        "-a",
        "lateUser01",
    ]))
    .await;
    assert!(deleted.is_ok(), "{deleted:?}");
    let r = c
        .request(signed(common::send_cmd("Late", 0, "late", ""), late), common::T)
        .await
        .unwrap();
    assert_eq!(
        r.code,
        response::NO_PERMISSION,
        "a deleted account is refused at once"
    );
    let white = run(admin_args(&[
        "updateGlobalWhiteAddr",
        "-b",
        &broker_addr,
        "-g",
        "10.9.*.*",
    ]))
    .await;
    assert!(white.is_ok(), "{white:?}");
    let yml = std::fs::read_to_string(home.join("conf/plain_acl.yml")).unwrap();
    assert!(yml.contains("10.9.*.*") && !yml.contains("lateUser01"), "{yml}");

    // The reads: the files' versions (each edit counted) and the accounts in force.
    let versions = run(admin_args(&["clusterAclConfigVersion", "-b", &broker_addr]))
        .await
        .unwrap();
    assert!(versions.contains("plain_acl.yml"), "{versions}");
    let counter = versions
        .lines()
        .find(|l| l.contains("plain_acl.yml"))
        .and_then(|l| l.split_whitespace().nth(4))
        .and_then(|n| n.parse::<i64>().ok());
    assert_eq!(counter, Some(4), "loaded, then three edits: {versions}");
    let config = run(admin_args(&["getAclConfig", "-b", &broker_addr]))
        .await
        .unwrap();
    for needle in [
        "10.9.*.*",
        "pubUser01",
        "T=PUB",
        "adminKey01",
        "admin             : true",
    ] {
        assert!(config.contains(needle), "{needle}: {config}");
    }
    let secrets = common::admin(
        &ns_addr,
        &[
            "--access-key",
            "pubUser01",
            "--secret-key",
            "pubSecret01",
            "getAclConfig",
            "-b",
            &broker_addr,
        ],
    )
    .await;
    assert!(secrets.is_err(), "the secret keys are for admin accounts only");

    // Only the one accepted send was stored; the admin reads it back.
    let r = c
        .request(signed(common::pull_cmd("T", 0, 0, "*", 0), admin), common::T)
        .await
        .unwrap();
    assert_eq!(r.code, response::SUCCESS, "{:?}", r.remark);
    assert_eq!(common::bodies(&r), vec!["body".to_string()]);
    let max = |topic: &str| {
        signed(
            RemotingCommand::request(request::GET_MAX_OFFSET)
                .with_ext("topic", topic)
                .with_ext("queueId", "0"),
            admin,
        )
    };
    let r = c.request(max("Other"), common::T).await.unwrap();
    assert!(
        r.code != response::SUCCESS || r.ext("offset") == Some("0"),
        "a refused send to Other was stored: {r:?}"
    );
    standalone.shutdown().await.unwrap();
}
