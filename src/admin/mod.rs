//! `sluice admin`: mqadmin's common commands, with its command names and flag letters, over
//! the remoting protocol (NameServer for routes and cluster info, then the brokers).
//!
//! | file | commands |
//! |---|---|
//! | [`topic`] | updateTopic, deleteTopic, topicList, topicRoute, topicStatus |
//! | [`cluster`] | clusterList, brokerStatus |
//! | [`ha`] | haStatus |
//! | [`controller`] | getControllerMetaData, getSyncStateSet (controller mode, `-a` a controller), getBrokerEpoch |
//! | [`group`] | updateSubGroup, consumerProgress, consumerConnection, resetOffsetByTime |
//! | [`message`] | queryMsgById, queryMsgByKey, queryMsgByOffset, sendMessage, consumeMessage, printMsg |
//! | [`stats`] | statsAll |
//! | [`trace`] | queryMsgTraceById (the clients' `enableMsgTrace` records) |
//! | [`analytics`] | analytics list / attach / detach / show (the broker's HTTP listener) |
//! | [`output`] | tables and `--json` |
//!
//! [`execute`] returns the rendered output; errors are one line (`{e:#}`), and the binary exits
//! non-zero with them.

pub mod acl;
pub mod analytics;
pub mod auth;
pub mod broker_config;
pub mod cluster;
pub mod controller;
pub mod group;
pub mod ha;
pub mod message;
pub mod namesrv;
pub mod output;
pub mod stats;
pub mod topic;
pub mod trace;

use std::sync::Arc;
use std::time::Duration;

use anyhow::{anyhow, bail, Context, Result};
use clap::{Args, Subcommand};
use sluice_client::namesrv::{parse_addrs, NameServerClient};
use sluice_client::transport::{ConnectionPool, Credentials, NoHandler};
use sluice_remoting::body::route::{BrokerData, ClusterInfo, TopicRouteData};
use sluice_remoting::body::JsonBody;
use sluice_remoting::codes::{describe_response, request, response};
use sluice_remoting::header::route::GetRouteInfoRequestHeader;
use sluice_remoting::RemotingCommand;

use self::output::Output;

/// `sluice admin [-n addr] [--json] <command> …`
#[derive(Debug, Args)]
pub struct AdminArgs {
    /// NameServer address(es), `host:port;host:port` (default: $NAMESRV_ADDR or 127.0.0.1:9876).
    #[arg(short = 'n', long = "namesrvAddr", global = true)]
    pub namesrv_addr: Option<String>,
    /// Print JSON instead of tables.
    #[arg(long, global = true)]
    pub json: bool,
    /// Timeout of each request, in milliseconds.
    #[arg(long = "timeoutMillis", global = true, default_value_t = 5000)]
    pub timeout_millis: u64,
    /// Sign every request with this account: an ACL 1.0 account (brokers and NameServers with
    /// aclEnable=true) or an ACL 2.0 user (authenticationEnabled=true); needs --secret-key.
    #[arg(long = "access-key", global = true, requires = "acl_secret_key")]
    pub acl_access_key: Option<String>,
    /// The account's secret key (ACL 2.0: the user's password).
    #[arg(long = "secret-key", global = true, requires = "acl_access_key")]
    pub acl_secret_key: Option<String>,
    #[command(subcommand)]
    pub command: AdminCommand,
}

#[derive(Debug, Subcommand)]
pub enum AdminCommand {
    /// Create or update a topic on a broker or every master of a cluster.
    #[command(name = "updateTopic")]
    UpdateTopic(topic::UpdateTopicArgs),
    /// Delete a topic from the brokers and the NameServers.
    #[command(name = "deleteTopic")]
    DeleteTopic(topic::DeleteTopicArgs),
    /// List the topics the NameServer knows.
    #[command(name = "topicList")]
    TopicList(topic::TopicListArgs),
    /// Show a topic's route.
    #[command(name = "topicRoute")]
    TopicRoute(topic::TopicRouteArgs),
    /// Min / max offset and last update of each queue of a topic.
    #[command(name = "topicStatus")]
    TopicStatus(topic::TopicStatusArgs),
    /// Brokers of every cluster with their traffic.
    #[command(name = "clusterList")]
    ClusterList(cluster::ClusterListArgs),
    /// A broker's runtime statistics.
    #[command(name = "brokerStatus")]
    BrokerStatus(cluster::BrokerStatusArgs),
    /// Replication: a master's slaves and their lag, or a slave's link.
    #[command(name = "haStatus")]
    HaStatus(ha::HaStatusArgs),
    /// Controller mode: the controller group's leader and peers.
    #[command(name = "getControllerMetaData")]
    GetControllerMetaData(controller::ControllerMetaDataArgs),
    /// Controller mode: a broker group's master, epochs and in-sync replicas.
    #[command(name = "getSyncStateSet")]
    GetSyncStateSet(controller::SyncStateSetArgs),
    /// Controller mode: each broker's epoch list (asked of the brokers).
    #[command(name = "getBrokerEpoch")]
    GetBrokerEpoch(controller::BrokerEpochArgs),
    /// Create or update a subscription group.
    #[command(name = "updateSubGroup")]
    UpdateSubGroup(group::UpdateSubGroupArgs),
    /// Lag of a consumer group per queue.
    #[command(name = "consumerProgress")]
    ConsumerProgress(group::ConsumerProgressArgs),
    /// Online clients and subscriptions of a consumer group.
    #[command(name = "consumerConnection")]
    ConsumerConnection(group::ConsumerConnectionArgs),
    /// Move a group's offsets to a point in time (replay).
    #[command(name = "resetOffsetByTime")]
    ResetOffsetByTime(group::ResetOffsetByTimeArgs),
    /// A message by its offsetMsgId (or unique key with -t).
    #[command(name = "queryMsgById")]
    QueryMsgById(message::QueryMsgByIdArgs),
    /// Messages by key.
    #[command(name = "queryMsgByKey")]
    QueryMsgByKey(message::QueryMsgByKeyArgs),
    /// The message at a queue offset.
    #[command(name = "queryMsgByOffset")]
    QueryMsgByOffset(message::QueryMsgByOffsetArgs),
    /// Send one message.
    #[command(name = "sendMessage")]
    SendMessage(message::SendMessageArgs),
    /// Read messages from a topic (nothing is committed).
    #[command(name = "consumeMessage")]
    ConsumeMessage(message::ConsumeMessageArgs),
    /// Print every message of a topic (optionally within a time range).
    #[command(name = "printMsg")]
    PrintMsg(message::PrintMsgArgs),
    /// A message's life as its clients traced it (`enableMsgTrace`).
    #[command(name = "queryMsgTraceById")]
    QueryMsgTraceById(trace::QueryMsgTraceByIdArgs),
    /// In/out TPS, 24 h counts and accumulation of every topic and consumer group.
    #[command(name = "statsAll")]
    StatsAll(stats::StatsAllArgs),
    /// Analytics jobs attached to topics: list, attach, detach, show.
    #[command(name = "analytics")]
    Analytics(analytics::AnalyticsArgs),
    /// ACL 1.0: create or update an account of the brokers' plain_acl.yml.
    #[command(name = "updateAclConfig")]
    UpdateAclConfig(acl::UpdateAclConfigArgs),
    /// ACL 1.0: delete an account.
    #[command(name = "deleteAccessConfig")]
    DeleteAccessConfig(acl::DeleteAccessConfigArgs),
    /// ACL 1.0: replace globalWhiteRemoteAddresses.
    #[command(name = "updateGlobalWhiteAddr")]
    UpdateGlobalWhiteAddr(acl::UpdateGlobalWhiteAddrArgs),
    /// A topic's permission (2 write, 4 read, 6 both) on its masters.
    #[command(name = "updateTopicPerm")]
    UpdateTopicPerm(topic::UpdateTopicPermArgs),
    /// The clusters a topic's brokers belong to.
    #[command(name = "topicClusterList")]
    TopicClusterList(topic::TopicClusterListArgs),
    /// The broker's settings (GET_BROKER_CONFIG).
    #[command(name = "getBrokerConfig")]
    GetBrokerConfig(acl::Target),
    /// Change one broker setting (UPDATE_BROKER_CONFIG).
    #[command(name = "updateBrokerConfig")]
    UpdateBrokerConfig(broker_config::UpdateBrokerConfigArgs),
    /// Delete a subscription group (and, with -r true, its offsets).
    #[command(name = "deleteSubGroup")]
    DeleteSubGroup(group::DeleteSubGroupArgs),
    /// Copy a group's offsets on a topic to another group.
    #[command(name = "cloneGroupOffset")]
    CloneGroupOffset(group::CloneGroupOffsetArgs),
    /// A producer group's connections.
    #[command(name = "producerConnection")]
    ProducerConnection(group::ProducerConnectionArgs),
    /// Each client's running info, as it reports it (relayed by the broker).
    #[command(name = "consumerStatus")]
    ConsumerStatus(group::ConsumerStatusArgs),
    /// One broker's consume progress, every group.
    #[command(name = "brokerConsumeStats")]
    BrokerConsumeStats(stats::BrokerConsumeStatsArgs),
    /// One queue's messages in a time range, printed and/or counted per tag.
    #[command(name = "printMsgByQueue")]
    PrintMsgByQueue(message::PrintMsgByQueueArgs),
    /// Move a group's offsets on a topic to the end of each queue.
    #[command(name = "skipAccumulatedMessage")]
    SkipAccumulatedMessage(group::SkipAccumulatedArgs),
    /// A message by its unique key (UNIQ_KEY).
    #[command(name = "queryMsgByUniqueKey")]
    QueryMsgByUniqueKey(message::QueryMsgByUniqueKeyArgs),
    /// Make a broker's topics read-only in every NameServer (drain).
    #[command(name = "wipeWritePerm")]
    WipeWritePerm(namesrv::BrokerNameArgs),
    /// Make a broker's topics writable again in every NameServer.
    #[command(name = "addWritePerm")]
    AddWritePerm(namesrv::BrokerNameArgs),
    /// Put a KV config entry on every NameServer.
    #[command(name = "updateKvConfig")]
    UpdateKvConfig(namesrv::KvArgs),
    /// Delete a KV config entry from every NameServer.
    #[command(name = "deleteKvConfig")]
    DeleteKvConfig(namesrv::KvArgs),
    /// ACL 1.0: each ACL file's version on each broker.
    #[command(name = "clusterAclConfigVersion")]
    ClusterAclConfigVersion(acl::Target),
    /// ACL 1.0: the accounts and global whitelist each broker enforces.
    #[command(name = "getAclConfig")]
    GetAclConfig(acl::Target),
    /// ACL 2.0: create a user (-u, -p, -t Super|Normal).
    #[command(name = "createUser")]
    CreateUser(auth::UserArgs),
    /// ACL 2.0: change a user's password, type or status (-s enable|disable).
    #[command(name = "updateUser")]
    UpdateUser(auth::UserArgs),
    /// ACL 2.0: delete a user and its ACL.
    #[command(name = "deleteUser")]
    DeleteUser(auth::UsernameArgs),
    /// ACL 2.0: show one user.
    #[command(name = "getUser")]
    GetUser(auth::UsernameArgs),
    /// ACL 2.0: list users (-f filter).
    #[command(name = "listUser")]
    ListUser(auth::ListUserArgs),
    /// ACL 2.0: add policy entries to a subject's ACL (-s User:x -r resources -a actions -d Allow|Deny).
    #[command(name = "createAcl")]
    CreateAcl(auth::AclArgs),
    /// ACL 2.0: same as createAcl (entries for the same resource are replaced).
    #[command(name = "updateAcl")]
    UpdateAcl(auth::AclArgs),
    /// ACL 2.0: delete a subject's ACL, or some of its resources (-r).
    #[command(name = "deleteAcl")]
    DeleteAcl(auth::DeleteAclArgs),
    /// ACL 2.0: show a subject's ACL.
    #[command(name = "getAcl")]
    GetAcl(auth::SubjectArgs),
    /// ACL 2.0: list ACLs (-s subject filter, -r resource filter).
    #[command(name = "listAcl")]
    ListAcl(auth::ListAclArgs),
}

impl AdminArgs {
    /// How often the command asks to be run again until stopped (`clusterList -i N`).
    pub fn repeat_every(&self) -> Option<std::time::Duration> {
        match &self.command {
            AdminCommand::ClusterList(a) => a.interval.map(std::time::Duration::from_secs),
            _ => None,
        }
    }
}

/// Runs one command and renders its output (table or JSON).
pub async fn execute(args: &AdminArgs) -> Result<String> {
    // Named apart from the ACL commands' own -a/--accessKey (clap shares global ids).
    let credentials = match (&args.acl_access_key, &args.acl_secret_key) {
        (Some(a), Some(s)) => Some(Credentials {
            access_key: a.clone(),
            secret_key: s.clone(),
        }),
        _ => None,
    };
    let admin = Admin::with_credentials(args.namesrv_addr.as_deref(), args.timeout_millis, credentials)?;
    let out = match &args.command {
        AdminCommand::UpdateTopic(a) => topic::update_topic(&admin, a).await,
        AdminCommand::UpdateAclConfig(a) => acl::update_acl_config(&admin, a).await,
        AdminCommand::DeleteAccessConfig(a) => acl::delete_access_config(&admin, a).await,
        AdminCommand::UpdateGlobalWhiteAddr(a) => acl::update_global_white_addr(&admin, a).await,
        AdminCommand::UpdateTopicPerm(a) => topic::update_topic_perm(&admin, a).await,
        AdminCommand::TopicClusterList(a) => topic::topic_cluster_list(&admin, a).await,
        AdminCommand::GetBrokerConfig(t) => broker_config::get_broker_config(&admin, t).await,
        AdminCommand::UpdateBrokerConfig(a) => broker_config::update_broker_config(&admin, a).await,
        AdminCommand::DeleteSubGroup(a) => group::delete_sub_group(&admin, a).await,
        AdminCommand::CloneGroupOffset(a) => group::clone_group_offset(&admin, a).await,
        AdminCommand::ProducerConnection(a) => group::producer_connection(&admin, a).await,
        AdminCommand::ConsumerStatus(a) => group::consumer_status(&admin, a).await,
        AdminCommand::BrokerConsumeStats(a) => stats::broker_consume_stats(&admin, a).await,
        AdminCommand::PrintMsgByQueue(a) => message::print_msg_by_queue(&admin, a).await,
        AdminCommand::SkipAccumulatedMessage(a) => group::skip_accumulated(&admin, a).await,
        AdminCommand::QueryMsgByUniqueKey(a) => message::query_by_unique_key(&admin, a).await,
        AdminCommand::WipeWritePerm(a) => namesrv::write_perm(&admin, a, false).await,
        AdminCommand::AddWritePerm(a) => namesrv::write_perm(&admin, a, true).await,
        AdminCommand::UpdateKvConfig(a) => namesrv::update_kv_config(&admin, a).await,
        AdminCommand::DeleteKvConfig(a) => namesrv::delete_kv_config(&admin, a).await,
        AdminCommand::ClusterAclConfigVersion(t) => acl::cluster_acl_config_version(&admin, t).await,
        AdminCommand::GetAclConfig(t) => acl::get_acl_config(&admin, t).await,
        AdminCommand::CreateUser(a) => auth::create_user(&admin, a).await,
        AdminCommand::UpdateUser(a) => auth::update_user(&admin, a).await,
        AdminCommand::DeleteUser(a) => auth::delete_user(&admin, a).await,
        AdminCommand::GetUser(a) => auth::get_user(&admin, a).await,
        AdminCommand::ListUser(a) => auth::list_user(&admin, a).await,
        AdminCommand::CreateAcl(a) => auth::create_acl(&admin, a).await,
        AdminCommand::UpdateAcl(a) => auth::update_acl(&admin, a).await,
        AdminCommand::DeleteAcl(a) => auth::delete_acl(&admin, a).await,
        AdminCommand::GetAcl(a) => auth::get_acl(&admin, a).await,
        AdminCommand::ListAcl(a) => auth::list_acl(&admin, a).await,
        AdminCommand::DeleteTopic(a) => topic::delete_topic(&admin, a).await,
        AdminCommand::TopicList(a) => topic::topic_list(&admin, a).await,
        AdminCommand::TopicRoute(a) => topic::topic_route(&admin, a).await,
        AdminCommand::TopicStatus(a) => topic::topic_status(&admin, a).await,
        AdminCommand::ClusterList(a) => cluster::cluster_list(&admin, a).await,
        AdminCommand::BrokerStatus(a) => cluster::broker_status(&admin, a).await,
        AdminCommand::HaStatus(a) => ha::ha_status(&admin, a).await,
        AdminCommand::GetControllerMetaData(a) => controller::get_controller_metadata(&admin, a).await,
        AdminCommand::GetSyncStateSet(a) => controller::get_sync_state_set(&admin, a).await,
        AdminCommand::GetBrokerEpoch(a) => controller::get_broker_epoch(&admin, a).await,
        AdminCommand::UpdateSubGroup(a) => group::update_sub_group(&admin, a).await,
        AdminCommand::ConsumerProgress(a) => group::consumer_progress(&admin, a).await,
        AdminCommand::ConsumerConnection(a) => group::consumer_connection(&admin, a).await,
        AdminCommand::ResetOffsetByTime(a) => group::reset_offset_by_time(&admin, a).await,
        AdminCommand::QueryMsgById(a) => message::query_by_id(&admin, a).await,
        AdminCommand::QueryMsgByKey(a) => message::query_by_key(&admin, a).await,
        AdminCommand::QueryMsgByOffset(a) => message::query_by_offset(&admin, a).await,
        AdminCommand::SendMessage(a) => message::send_message(&admin, a).await,
        AdminCommand::ConsumeMessage(a) => message::consume_message(&admin, a).await,
        AdminCommand::PrintMsg(a) => message::print_msg(&admin, a).await,
        AdminCommand::QueryMsgTraceById(a) => trace::query_msg_trace_by_id(&admin, a).await,
        AdminCommand::StatsAll(a) => stats::stats_all(&admin, a).await,
        AdminCommand::Analytics(a) => analytics::run(a, Duration::from_millis(args.timeout_millis)).await,
    }?;
    admin.close().await;
    Ok(out.render(args.json))
}

/// Connections to the NameServers and brokers of one command: `sluice-client`'s connection
/// pool and its NameServer client (fail-over to the next address), as the SDK's producers and
/// consumers use them.
pub struct Admin {
    pool: Arc<ConnectionPool>,
    namesrv: NameServerClient,
    timeout: Duration,
}

impl Admin {
    /// `namesrv`: `a;b`, else `$NAMESRV_ADDR`, else 127.0.0.1:9876.
    pub fn new(namesrv: Option<&str>, timeout_millis: u64) -> Result<Admin> {
        Admin::with_credentials(namesrv, timeout_millis, None)
    }

    /// [`Admin::new`], signing every request with `credentials` (ACL 1.0) when given.
    pub fn with_credentials(
        namesrv: Option<&str>,
        timeout_millis: u64,
        credentials: Option<Credentials>,
    ) -> Result<Admin> {
        let list = namesrv
            .map(str::to_owned)
            .or_else(|| std::env::var("NAMESRV_ADDR").ok())
            .unwrap_or_else(|| "127.0.0.1:9876".into());
        let namesrvs = parse_addrs(&list);
        if namesrvs.is_empty() {
            bail!("no NameServer address given (-n host:port)");
        }
        let timeout = Duration::from_millis(timeout_millis.max(1));
        let mut pool = ConnectionPool::new(Arc::new(NoHandler));
        if let Some(c) = credentials {
            pool = pool.with_credentials(c);
        }
        let pool = Arc::new(pool);
        let namesrv = NameServerClient::new(namesrvs, pool.clone(), timeout)?;
        Ok(Admin {
            pool,
            namesrv,
            timeout,
        })
    }

    /// Sends `cmd` to `addr` and returns the reply, whatever its code.
    pub async fn call(&self, addr: &str, cmd: RemotingCommand) -> Result<RemotingCommand> {
        Ok(self.pool.invoke(addr, cmd, self.timeout).await?)
    }

    /// Sends `cmd` to `addr`; anything but SUCCESS is an error naming `what`.
    pub async fn call_ok(&self, addr: &str, cmd: RemotingCommand, what: &str) -> Result<RemotingCommand> {
        let reply = self.call(addr, cmd).await?;
        ok(reply, what)
    }

    /// Sends `cmd` to the first NameServer that answers.
    pub async fn namesrv(&self, cmd: RemotingCommand) -> Result<RemotingCommand> {
        Ok(self.namesrv.invoke(cmd).await?)
    }

    /// The NameServer addresses given.
    pub fn namesrv_addrs(&self) -> Vec<String> {
        self.namesrv.addrs().to_vec()
    }

    /// Sends `cmd` to every NameServer (for writes such as DELETE_TOPIC_IN_NAMESRV).
    pub async fn every_namesrv(&self, cmd: RemotingCommand, what: &str) -> Result<()> {
        for addr in self.namesrv.addrs() {
            self.call_ok(addr, cmd.clone(), what).await?;
        }
        Ok(())
    }

    /// The topic's route; a topic the NameServer does not know is an error.
    pub async fn route(&self, topic: &str) -> Result<TopicRouteData> {
        let h = GetRouteInfoRequestHeader {
            topic: topic.to_owned(),
            accept_standard_json_only: true,
        };
        let reply = self
            .namesrv(RemotingCommand::request(request::GET_ROUTEINFO_BY_TOPIC).with_header(&h))
            .await?;
        if reply.code == response::TOPIC_NOT_EXIST {
            bail!("topic {topic} does not exist");
        }
        let reply = ok(reply, "topic route")?;
        TopicRouteData::from_json(&reply.body).context("reading the topic route")
    }

    pub async fn cluster_info(&self) -> Result<ClusterInfo> {
        let reply = self
            .namesrv(RemotingCommand::request(request::GET_BROKER_CLUSTER_INFO))
            .await?;
        let reply = ok(reply, "cluster info")?;
        ClusterInfo::from_json(&reply.body).context("reading the cluster info")
    }

    /// Masters to act on: `-b addr`, else the masters of cluster `-c`, else (with
    /// `all_if_none`) every master.
    pub async fn masters(
        &self,
        broker: Option<&str>,
        cluster: Option<&str>,
        all_if_none: bool,
    ) -> Result<Vec<(String, String)>> {
        if let Some(b) = broker {
            let info = self.cluster_info().await.ok();
            let name = info
                .as_ref()
                .and_then(|i| {
                    i.broker_addr_table
                        .values()
                        .find(|d| d.broker_addrs.values().any(|a| a == b))
                        .map(|d| d.broker_name.clone())
                })
                .unwrap_or_else(|| b.to_owned());
            return Ok(vec![(name, b.to_owned())]);
        }
        if cluster.is_none() && !all_if_none {
            bail!("give a broker (-b addr) or a cluster (-c name)");
        }
        let info = self.cluster_info().await?;
        let names: Vec<String> = match cluster {
            Some(c) => info
                .cluster_addr_table
                .get(c)
                .ok_or_else(|| anyhow!("cluster {c} does not exist"))?
                .iter()
                .cloned()
                .collect(),
            None => info.broker_addr_table.keys().cloned().collect(),
        };
        Ok(names
            .iter()
            .filter_map(|n| info.broker_addr_table.get(n))
            .filter_map(|d| master(d).map(|a| (d.broker_name.clone(), a)))
            .collect())
    }

    async fn close(&self) {
        self.pool.close_all().await;
    }
}

/// The master address of a broker name.
pub fn master(d: &BrokerData) -> Option<String> {
    d.master_addr().map(str::to_owned)
}

/// `reply` if SUCCESS, else an error `what: CODE(n): remark`.
pub fn ok(reply: RemotingCommand, what: &str) -> Result<RemotingCommand> {
    if reply.code == response::SUCCESS {
        return Ok(reply);
    }
    let remark = reply.remark.as_deref().unwrap_or("").trim();
    let code = describe_response(reply.code);
    if remark.is_empty() {
        bail!("{what} failed: {code}");
    }
    bail!("{what} failed: {code}: {remark}")
}

pub use crate::time::{format_timestamp, parse_timestamp};

/// An optional timestamp flag, parsed, or `default`.
pub fn time_or(s: Option<&str>, default: i64) -> Result<i64> {
    s.map(parse_timestamp).transpose().map(|t| t.unwrap_or(default))
}

/// An `Output` for commands that just report success per broker.
pub fn done(lines: Vec<String>, json: serde_json::Value) -> Output {
    Output::text(lines.join("\n"), json)
}
