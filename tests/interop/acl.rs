//! ACL 1.0 (`aclEnable=true`) and 2.0 with the clients that sign: the Java client's
//! `AclClientRPCHook` (4.9.8: the post-4.9.4 field set), ali-ons (`accessKeyId`/`accessKeySecret`,
//! which signs `OnsChannel` too), the C++ client (PyPI `rocketmq`, `set_session_credentials`) and
//! rocketmq-client-rust 1.0 (`AclClientRPCHook` through the builders' `rpc_hook`). A matrix of account × request, each cell a real client run against the
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

const CLIENTS: [Client; 4] = [Client::Java, Client::Js, Client::Py, Client::Rust];

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

/// Every client × account × request cell; mismatches go to `wrong`, every cell to `table`.
fn run_matrix(ctx: &mut Ctx, table: &mut String, wrong: &mut Vec<String>) {
    let show = |ok: bool| if ok { "allowed" } else { "refused" };
    for client in CLIENTS {
        for a in ACCOUNTS {
            for (i, op) in [Op::Send, Op::Consume, Op::CreateTopic].into_iter().enumerate() {
                if client != Client::Java && op == Op::CreateTopic {
                    continue; // only the Java driver creates topics
                }
                let expect = a.expect[i];
                let got = run_cell(ctx, client, a.name, a.keys, op, expect);
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
}

/// Consumes everything in the topic as the admin account: bodies from anyone not allowed to
/// publish (by their prefix) mean a refused send was stored.
fn audit(ctx: &mut Ctx, extra_allowed: &[&str], wrong: &mut Vec<String>) {
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
    let mut allowed_prefixes = vec!["java-seed-".to_string()];
    allowed_prefixes.extend(extra_allowed.iter().map(|p| p.to_string()));
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
}

#[test]
fn acl_matrix_java_ali_ons_cpp_rust() {
    let home = tempfile::tempdir().expect("ACL home");
    let conf_dir = home.path().join("conf");
    fs::create_dir_all(&conf_dir).expect("conf dir");
    let acl_file = conf_dir.join("plain_acl.yml");
    fs::write(&acl_file, ACL_YML).expect("plain_acl.yml");
    let conf = format!(
        "aclEnable=true\nrocketmqHome={}\naccessKey=adminKey01\nsecretKey=adminSecret01\nautoCreateTopicEnable=true\n",
        home.path().display()
    );
    let Some(mut ctx) = Ctx::start("acl_matrix_java_ali_ons_cpp_rust", Some(&conf)) else {
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
    run_matrix(&mut ctx, &mut table, &mut wrong);

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

    audit(&mut ctx, &["java-whitelisted-no-key-"], &mut wrong);
    if !wrong.is_empty() {
        ctx.fail(
            &format!("ACL matrix mismatches:\n{}\n{table}", wrong.join("\n")),
            &[],
        );
    }
}

/// ACL 2.0 (RocketMQ 5.3's auth: `authenticationEnabled` / `authorizationEnabled`): the users
/// and ACLs are made with Apache RocketMQ 5.3.3's own `mqadmin` (createUser, createAcl, signed
/// as the initial Super user through its `conf/tools.yml`), read back with listUser / listAcl /
/// getAcl, and then the same client × account × request matrix as ACL 1.0 runs against them:
/// the clients sign as they do for 1.0 and the broker decides by the users' ACLs.
#[test]
fn acl2_users_made_by_java_mqadmin_matrix() {
    let conf = "authenticationEnabled=true\nauthorizationEnabled=true\n\
                initAuthenticationUser={\"username\":\"adminKey01\",\"password\":\"adminSecret01\"}\n\
                autoCreateTopicEnable=true\n";
    let Some(mut ctx) = Ctx::start("acl2_users_made_by_java_mqadmin_matrix", Some(conf)) else {
        return;
    };
    let tool = crate::mqadmin::rocketmq5_home().unwrap_or_else(|e| {
        panic!("installing Apache RocketMQ 5.3's mqadmin failed (SLUICE_INTEROP=skip skips this test): {e}")
    });
    // mqadmin signs with the keys of $ROCKETMQ_HOME/conf/tools.yml.
    let home = tempfile::tempdir().expect("mqadmin home");
    fs::create_dir_all(home.path().join("conf")).expect("conf dir");
    fs::write(
        home.path().join("conf/tools.yml"),
        "accessKey: adminKey01\nsecretKey: adminSecret01\n",
    )
    .expect("tools.yml");
    let broker = ctx.broker.addr();
    let namesrv = ctx.namesrv();
    let mut transcript = String::new();
    let mut mqadmin = |args: &[&str]| -> String {
        let mut cmd = std::process::Command::new(tool.join("bin/mqadmin"));
        cmd.args(args)
            .arg("-n")
            .arg(&namesrv)
            .current_dir(home.path())
            .env("ROCKETMQ_HOME", home.path())
            .env("ROCKETMQ_LOG_DIR", home.path().join("logs"))
            .env("ROCKETMQ_USER_HOME", home.path());
        let log = home.path().join("mqadmin.log");
        let out = crate::mqadmin::run_bounded(cmd, &log, Duration::from_secs(60));
        let _ = writeln!(
            transcript,
            "$ mqadmin {}\n{}(exit {:?})",
            args.join(" "),
            out.text,
            out.code
        );
        if out.code != Some(0) {
            panic!("mqadmin {args:?} failed ({:?}):\n{}", out.code, out.text);
        }
        out.text
    };
    for (user, password) in [("pubUser01", "pubSecret01"), ("subUser01", "subSecret01")] {
        let out = mqadmin(&["createUser", "-b", &broker, "-u", user, "-p", password]);
        assert!(out.contains("success"), "{out}");
    }
    mqadmin(&[
        "createAcl",
        "-b",
        &broker,
        "-s",
        "User:pubUser01",
        "-r",
        "Topic:AclT",
        "-a",
        "Pub",
        "-d",
        "Allow",
    ]);
    mqadmin(&[
        "createAcl",
        "-b",
        &broker,
        "-s",
        "User:subUser01",
        "-r",
        "Topic:AclT,Group:*",
        "-a",
        "Sub,Get",
        "-d",
        "Allow",
    ]);
    let users = mqadmin(&["listUser", "-b", &broker]);
    let acls = mqadmin(&["listAcl", "-b", &broker]);
    let sub_acl = mqadmin(&["getAcl", "-b", &broker, "-s", "User:subUser01"]);
    let mut wrong = Vec::new();
    for (what, text, needles) in [
        (
            "listUser",
            &users,
            &["adminKey01", "Super", "pubUser01", "subUser01", "Normal"][..],
        ),
        (
            "listAcl",
            &acls,
            &["User:pubUser01", "Topic:AclT", "User:subUser01", "Group:*"][..],
        ),
        ("getAcl", &sub_acl, &["User:subUser01", "Group:*", "Allow"][..]),
    ] {
        for n in needles {
            if !text.contains(n) {
                wrong.push(format!("mqadmin {what} does not show {n}"));
            }
        }
    }
    eprintln!("ACL 2.0 set-up with Apache RocketMQ 5.3.3's mqadmin:\n{transcript}");

    // The topic and a message to consume, by the Super user.
    let admin = Some(("adminKey01", "adminSecret01"));
    if !run_cell(&mut ctx, Client::Java, "setup", admin, Op::CreateTopic, true) {
        ctx.fail("the Super user could not create the topic", &[]);
    }
    if !run_cell(&mut ctx, Client::Java, "seed", admin, Op::Send, true) {
        ctx.fail("the Super user could not send", &[]);
    }
    let mut table =
        String::from("| client | account | request | expected | observed |\n|---|---|---|---|---|\n");
    run_matrix(&mut ctx, &mut table, &mut wrong);
    eprintln!("ACL 2.0 matrix (the admin account is the Super user):\n{table}");
    audit(&mut ctx, &[], &mut wrong);
    if !wrong.is_empty() {
        ctx.fail(
            &format!("ACL 2.0 mismatches:\n{}\n{table}", wrong.join("\n")),
            &[],
        );
    }
}
