//! ACL 2.0 (RocketMQ 5.3's auth) over real TCP, in-process: a broker with
//! `authenticationEnabled` and `authorizationEnabled`, its initial Super user from
//! `initAuthenticationUser`; users and ACLs made with `sluice admin createUser/createAcl`
//! (request codes 3001–3010); every refusal NO_PERMISSION (16) with 5.3's message, and nothing
//! refused is stored.

mod common;

use sluice_remoting::acl::sign;
use sluice_remoting::codes::response;
use sluice_remoting::RemotingCommand;

fn signed(mut cmd: RemotingCommand, keys: Option<(&str, &str)>) -> RemotingCommand {
    if let Some((ak, sk)) = keys {
        sign(&mut cmd, ak, sk);
    }
    cmd
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn users_and_acls_decide_every_request() {
    let cluster = common::cluster_with(
        "authenticationEnabled=true\nauthorizationEnabled=true\n\
         initAuthenticationUser={\"username\":\"root\",\"password\":\"rootpw01\"}\n\
         innerClientAuthenticationCredentials={\"accessKey\":\"inner\",\"secretKey\":\"innerpw1\"}\n",
    )
    .await;
    let c = &cluster.client;
    let ns = cluster.namesrv.to_string();
    let broker = cluster.broker().advertised_addr().to_string();
    let root = Some(("root", "rootpw01"));
    let alice = Some(("alice", "alicepw1"));
    let send = |keys| signed(common::send_cmd("T", 0, "body", ""), keys);
    let refused = |r: &RemotingCommand, what: &str| {
        assert_eq!(r.code, response::NO_PERMISSION, "{what}: {:?}", r.remark);
        r.remark.clone().unwrap_or_default()
    };

    // Unsigned and unknown users are refused; the initial Super user may do anything.
    let r = c.request(send(None), common::T).await.unwrap();
    assert_eq!(refused(&r, "unsigned"), "username cannot be null.");
    let r = c.request(send(alice), common::T).await.unwrap();
    assert_eq!(refused(&r, "unknown"), "User:alice is not found.");
    let r = c.request(send(Some(("root", "wrong"))), common::T).await.unwrap();
    assert_eq!(refused(&r, "bad signature"), "check signature failed.");
    let r = c.request(send(root), common::T).await.unwrap();
    assert_eq!(r.code, response::SUCCESS, "{:?}", r.remark);

    // Admin commands, signed by the Super user.
    let admin = |rest: &[&str]| {
        let mut v = vec!["--access-key", "root", "--secret-key", "rootpw01"];
        v.extend_from_slice(rest);
        let args: Vec<String> = v.iter().map(|s| s.to_string()).collect();
        let ns = ns.clone();
        async move {
            let refs: Vec<&str> = args.iter().map(String::as_str).collect();
            common::admin(&ns, &refs).await
        }
    };
    let unsigned = common::admin(
        &ns,
        &["createUser", "-b", &broker, "-u", "alice", "-p", "alicepw1"],
    )
    .await;
    assert!(
        unsigned.is_err(),
        "an unsigned createUser must be refused: {unsigned:?}"
    );
    admin(&["createUser", "-b", &broker, "-u", "alice", "-p", "alicepw1"])
        .await
        .unwrap();
    let users = admin(&["listUser", "-b", &broker]).await.unwrap();
    for u in ["root", "inner", "alice"] {
        assert!(users.contains(u), "{users}");
    }
    let got = admin(&["getUser", "-b", &broker, "-u", "alice"]).await.unwrap();
    assert!(got.contains("Normal") && got.contains("enable"), "{got}");

    // A Normal user with no ACL: nothing; then exactly what the ACL allows.
    let r = c.request(send(alice), common::T).await.unwrap();
    assert_eq!(
        refused(&r, "no acl"),
        "User:alice has no permission to access Topic:T from 127.0.0.1, no matched policies."
    );
    admin(&[
        "createAcl",
        "-b",
        &broker,
        "-s",
        "User:alice",
        "-r",
        "Topic:T",
        "-a",
        "Pub",
        "-d",
        "Allow",
    ])
    .await
    .unwrap();
    let r = c.request(send(alice), common::T).await.unwrap();
    assert_eq!(r.code, response::SUCCESS, "{:?}", r.remark);
    let pull = || signed(common::pull_cmd("T", 0, 0, "*", 0), alice);
    let r = c.request(pull(), common::T).await.unwrap();
    assert!(refused(&r, "pull without Sub").contains("Topic:T"));
    admin(&[
        "createAcl",
        "-b",
        &broker,
        "-s",
        "User:alice",
        "-r",
        "Topic:T",
        "-a",
        "Pub,Sub",
        "-d",
        "Allow",
    ])
    .await
    .unwrap();
    let r = c.request(pull(), common::T).await.unwrap();
    assert!(
        refused(&r, "pull without the group").contains("Group:"),
        "{:?}",
        r.remark
    );
    admin(&[
        "createAcl",
        "-b",
        &broker,
        "-s",
        "User:alice",
        "-r",
        "Group:*",
        "-a",
        "Sub",
        "-d",
        "Allow",
    ])
    .await
    .unwrap();
    let r = c.request(pull(), common::T).await.unwrap();
    assert_eq!(r.code, response::SUCCESS, "{:?}", r.remark);
    assert_eq!(common::bodies(&r).len(), 2, "root's and alice's messages");
    // A deny entry for a longer prefix wins over the literal's allow only where it is more
    // specific: Topic:T stays allowed, Topic:Tx is denied.
    admin(&[
        "createAcl",
        "-b",
        &broker,
        "-s",
        "User:alice",
        "-r",
        "Topic:Tx*",
        "-a",
        "Pub",
        "-d",
        "Deny",
    ])
    .await
    .unwrap();
    let r = c
        .request(signed(common::send_cmd("Tx1", 0, "no", ""), alice), common::T)
        .await
        .unwrap();
    assert!(refused(&r, "deny").ends_with("the decision is deny."));
    let acls = admin(&["listAcl", "-b", &broker, "-s", "alice"]).await.unwrap();
    for s in ["User:alice", "Topic:T", "Pub,Sub", "Group:*", "Topic:Tx*", "Deny"] {
        assert!(acls.contains(s), "{s}: {acls}");
    }

    // A Normal user cannot administer; nor make itself Super.
    let r = c
        .request(
            signed(
                RemotingCommand::request(sluice_remoting::codes::request::AUTH_CREATE_USER)
                    .with_ext("username", "mallory")
                    .with_body(&br#"{"password":"x","userType":"Super"}"#[..]),
                alice,
            ),
            common::T,
        )
        .await
        .unwrap();
    assert!(refused(&r, "normal user creating users").contains("Cluster:"));

    // Disabled, then deleted: refused at once, and the refused send stored nothing.
    admin(&["updateUser", "-b", &broker, "-u", "alice", "-s", "disable"])
        .await
        .unwrap();
    let r = c.request(send(alice), common::T).await.unwrap();
    assert_eq!(refused(&r, "disabled"), "User:alice is disabled.");
    admin(&["deleteUser", "-b", &broker, "-u", "alice"])
        .await
        .unwrap();
    let r = c.request(send(alice), common::T).await.unwrap();
    assert_eq!(refused(&r, "deleted"), "User:alice is not found.");
    let acls = admin(&["listAcl", "-b", &broker]).await.unwrap();
    assert!(!acls.contains("alice"), "the ACL went with the user: {acls}");
    let r = c
        .request(signed(common::pull_cmd("T", 0, 0, "*", 0), root), common::T)
        .await
        .unwrap();
    assert_eq!(common::bodies(&r).len(), 2, "refused sends stored nothing");
    cluster.shutdown().await;
}
