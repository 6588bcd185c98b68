//! ACL 1.0 (`aclEnable=true`) with the clients that sign: the Java client's `AclClientRPCHook`
//! (4.9.8: the post-4.9.4 field set), ali-ons (`accessKeyId`/`accessKeySecret`, which signs
//! `OnsChannel` too) and the C++ client (PyPI `rocketmq`, `set_session_credentials`). A matrix of account × request, each cell a real client run against the
//! real binary: expected and observed are printed, and any difference fails the test. Then the
//! file is edited to whitelist 127.0.0.1 (reloaded without a restart) and a client without keys
//! gets through; finally nothing a refused producer sent was stored.

use std::fmt::Write as _;
use std::fs;
use std::time::Duration;

use crate::harness::{bodies, of_event, Client, Ctx};

const TOPIC: &str = "AclT";

const ACL_YML: &str = "accounts:
  - accessKey: adminKey01
    secretKey: adminSecret01
    admin: true
  - accessKey: pubUser01
    secretKey: pubSecret01
    admin: false
    defaultTopicPerm: DENY
    defaultGroupPerm: SUB
    topicPerms:
      - AclT=PUB
  - accessKey: subUser01
    secretKey: subSecret01
    admin: false
    defaultTopicPerm: DENY
    defaultGroupPerm: SUB
    topicPerms:
      - AclT=SUB
";

const CLIENTS: [Client; 3] = [Client::Java, Client::Js, Client::Py];

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Op {
    Send,
    Consume,
    CreateTopic,
}

struct Account {
    name: &'static str,
    keys: Option<(&'static str, &'static str)>,
    /// Expected outcome of send, consume, create topic.
    expect: [bool; 3],
}

const ACCOUNTS: &[Account] = &[
    Account {
        name: "admin",
        keys: Some(("adminKey01", "adminSecret01")),
        expect: [true, true, true],
    },
    Account {
        name: "pub-only",
        keys: Some(("pubUser01", "pubSecret01")),
        expect: [true, false, false],
    },
    Account {
        name: "sub-only",
        keys: Some(("subUser01", "subSecret01")),
        expect: [false, true, false],
    },
    Account {
        name: "wrong-secret",
        keys: Some(("pubUser01", "notTheSecret")),
        expect: [false, false, false],
    },
    Account {
        name: "unknown-key",
        keys: Some(("nobody0001", "whatever01")),
        expect: [false, false, false],
    },
    Account {
        name: "no-key",
        keys: None,
        expect: [false, false, false],
    },
];

/// Runs one cell; true when the request succeeded.
fn run_cell(
    ctx: &mut Ctx,
    client: Client,
    account: &str,
    keys: Option<(&str, &str)>,
    op: Op,
    expect: bool,
) -> bool {
    let tag = format!("{}-{}", client.name(), account);
    let group = format!("acl_{}", tag.replace('-', "_"));
    let new_topic = format!("AclNew_{}", tag.replace('-', "_"));
    // A refused consumer is given less time than one expected to succeed.
    let timeout = if expect { "60" } else { "12" };
    let mut args: Vec<String> = match op {
        Op::Send => vec![
            "--topic",
            TOPIC,
            "--count",
            "1",
            "--prefix",
            &tag,
            "--timeout",
            "30",
        ]
        .into_iter()
        .map(String::from)
        .collect(),
        Op::Consume => {
            let mut a = vec![
                "--topic",
                TOPIC,
                "--group",
                &group,
                "--count",
                "1",
                "--timeout",
                timeout,
            ];
            // The C++ driver has no --from: a new group starts at offset 0, as 4.9 answers it.
            if client != Client::Py {
                a.extend(["--from", "first"]);
            }
            a.into_iter().map(String::from).collect()
        }
        Op::CreateTopic => vec!["--topic".to_string(), new_topic, "--timeout".into(), "30".into()],
    };
    if let Some((ak, sk)) = keys {
        args.extend([
            "--access-key".to_string(),
            ak.to_string(),
            "--secret-key".into(),
            sk.into(),
        ]);
    }
    let scenario = match op {
        Op::Send => "produce",
        Op::Consume => "consume",
        Op::CreateTopic => "create-topic",
    };
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    let mut p = ctx.spawn(client, scenario, &refs);
    p.wait(Duration::from_secs(90));
    let lines = p.snapshot();
    let event = match op {
        Op::Send => "sent",
        Op::Consume => "recv",
        Op::CreateTopic => "created",
    };
    !of_event(&lines, event).is_empty()
}

#[test]
fn acl_matrix_java_ali_ons_cpp() {
    let home = tempfile::tempdir().expect("ACL home");
    let conf_dir = home.path().join("conf");
    fs::create_dir_all(&conf_dir).expect("conf dir");
    let acl_file = conf_dir.join("plain_acl.yml");
    fs::write(&acl_file, ACL_YML).expect("plain_acl.yml");
    let conf = format!(
        "aclEnable=true\nrocketmqHome={}\naccessKey=adminKey01\nsecretKey=adminSecret01\nautoCreateTopicEnable=true\n",
        home.path().display()
    );
    let Some(mut ctx) = Ctx::start("acl_matrix_java_ali_ons_cpp", Some(&conf)) else {
        return;
    };

    // The topic, created by the admin account (also the admin × create-topic cell's kind).
    let created = run_cell(
        &mut ctx,
        Client::Java,
        "setup",
        Some(("adminKey01", "adminSecret01")),
        Op::CreateTopic,
        true,
    );
    if !created {
        ctx.fail("the admin account could not create the topic", &[]);
    }
    // Something to consume.
    if !run_cell(
        &mut ctx,
        Client::Java,
        "seed",
        Some(("adminKey01", "adminSecret01")),
        Op::Send,
        true,
    ) {
        ctx.fail("the admin account could not send", &[]);
    }

    let mut table =
        String::from("| client | account | request | expected | observed |\n|---|---|---|---|---|\n");
    let mut wrong = Vec::new();
    let show = |ok: bool| if ok { "allowed" } else { "refused" };
    for client in CLIENTS {
        for a in ACCOUNTS {
            for (i, op) in [Op::Send, Op::Consume, Op::CreateTopic].into_iter().enumerate() {
                if client != Client::Java && op == Op::CreateTopic {
                    continue; // ali-ons and the C++ client have no topic creation call
                }
                let expect = a.expect[i];
                let got = run_cell(&mut ctx, client, a.name, a.keys, op, expect);
                let _ = writeln!(
                    table,
                    "| {} | {} | {op:?} | {} | {} |",
                    client.name(),
                    a.name,
                    show(expect),
                    show(got)
                );
                if got != expect {
                    wrong.push(format!(
                        "{} {} {op:?}: expected {}, observed {}",
                        client.name(),
                        a.name,
                        show(expect),
                        show(got)
                    ));
                }
            }
        }
    }

    // Whitelist 127.0.0.1 by editing the file: reloaded without a restart.
    fs::write(
        &acl_file,
        format!("globalWhiteRemoteAddresses:\n  - 127.0.0.*\n{ACL_YML}"),
    )
    .expect("edit plain_acl.yml");
    std::thread::sleep(Duration::from_secs(3));
    for op in [Op::Send, Op::Consume, Op::CreateTopic] {
        let got = run_cell(&mut ctx, Client::Java, "whitelisted-no-key", None, op, true);
        let _ = writeln!(
            table,
            "| java | whitelisted IP, no key | {op:?} | allowed | {} |",
            show(got)
        );
        if !got {
            wrong.push(format!("java whitelisted-no-key {op:?}: refused"));
        }
    }
    eprintln!("ACL matrix:\n{table}");

    // Nothing a refused producer sent was stored: every body in the topic is from an account
    // allowed to publish.
    let mut p = ctx.spawn(
        Client::Java,
        "consume",
        &[
            "--topic",
            TOPIC,
            "--group",
            "acl_audit",
            "--count",
            "1000",
            "--from",
            "first",
            "--idle",
            "8",
            "--timeout",
            "40",
            "--access-key",
            "adminKey01",
            "--secret-key",
            "adminSecret01",
        ],
    );
    p.wait(Duration::from_secs(70));
    let stored = bodies(&of_event(&p.snapshot(), "recv"));
    // Allowed: the seed, the whitelisted send, and each client's sends by accounts with PUB.
    let mut allowed_prefixes = vec!["java-seed-".to_string(), "java-whitelisted-no-key-".to_string()];
    for client in CLIENTS {
        for a in ACCOUNTS.iter().filter(|a| a.expect[0]) {
            allowed_prefixes.push(format!("{}-{}-", client.name(), a.name));
        }
    }
    let stray: Vec<&String> = stored
        .iter()
        .filter(|b| !allowed_prefixes.iter().any(|p| b.starts_with(p)))
        .collect();
    eprintln!("ACL audit: {} stored bodies {stored:?}", stored.len());
    if !stray.is_empty() {
        wrong.push(format!("refused sends were stored: {stray:?}"));
    }
    if !wrong.is_empty() {
        ctx.fail(
            &format!("ACL matrix mismatches:\n{}\n{table}", wrong.join("\n")),
            &[],
        );
    }
}
