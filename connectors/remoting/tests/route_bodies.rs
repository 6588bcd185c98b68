//! Route and cluster bodies, golden JSON (protocol.md §2.3.16, §2.3.18, §2.4).

use std::collections::BTreeMap;

use sluice_remoting::body::route::{BrokerData, ClusterInfo, QueueData, TopicRouteData};
use sluice_remoting::body::JsonBody;

fn route() -> TopicRouteData {
    let mut addrs = BTreeMap::new();
    addrs.insert(0, "192.168.1.2:10911".to_string());
    addrs.insert(1, "192.168.1.3:10911".to_string());
    TopicRouteData {
        broker_datas: vec![BrokerData {
            broker_addrs: addrs,
            broker_name: "broker-a".into(),
            cluster: "DefaultCluster".into(),
            enable_acting_master: None,
            zone_name: None,
        }],
        filter_server_table: BTreeMap::new(),
        order_topic_conf: None,
        queue_datas: vec![QueueData {
            broker_name: "broker-a".into(),
            perm: 6,
            read_queue_nums: 4,
            topic_sys_flag: 0,
            write_queue_nums: 4,
        }],
        topic_queue_mapping_by_broker: None,
    }
}

const STANDARD: &str = r#"{"brokerDatas":[{"brokerAddrs":{"0":"192.168.1.2:10911","1":"192.168.1.3:10911"},"brokerName":"broker-a","cluster":"DefaultCluster"}],"filterServerTable":{},"queueDatas":[{"brokerName":"broker-a","perm":6,"readQueueNums":4,"topicSysFlag":0,"writeQueueNums":4}]}"#;
const FASTJSON: &str = r#"{"brokerDatas":[{"brokerAddrs":{0:"192.168.1.2:10911",1:"192.168.1.3:10911"},"brokerName":"broker-a","cluster":"DefaultCluster"}],"filterServerTable":{},"queueDatas":[{"brokerName":"broker-a","perm":6,"readQueueNums":4,"topicSysFlag":0,"writeQueueNums":4}]}"#;

#[test]
fn route_golden_both_flavours() {
    let r = route();
    assert_eq!(String::from_utf8(r.to_json_for(true)).unwrap(), STANDARD);
    assert_eq!(String::from_utf8(r.to_json_for(false)).unwrap(), FASTJSON);
    assert_eq!(r.to_json(), STANDARD.as_bytes());
    assert_eq!(TopicRouteData::from_json(STANDARD.as_bytes()).unwrap(), r);
    assert_eq!(TopicRouteData::from_json(FASTJSON.as_bytes()).unwrap(), r);
    assert_eq!(r.broker_datas[0].master_addr(), Some("192.168.1.2:10911"));
}

#[test]
fn route_go_hand_parser_sees_compact_pairs() {
    // Go slices the text between the brokerAddrs braces, splits on ',' then on the first ':'
    // and strips quotes: no whitespace may appear.
    for json in [route().to_json_for(true), route().to_json_for(false)] {
        let text = String::from_utf8(json).unwrap();
        let start = text.find("\"brokerAddrs\":{").unwrap() + "\"brokerAddrs\":{".len();
        let end = start + text[start..].find('}').unwrap();
        let pairs: Vec<(String, String)> = text[start..end]
            .split(',')
            .map(|kv| {
                let (k, v) = kv.split_once(':').unwrap();
                (k.replace('"', ""), v.replace('"', ""))
            })
            .collect();
        assert_eq!(pairs[0], ("0".to_string(), "192.168.1.2:10911".to_string()));
        assert_eq!(pairs[1], ("1".to_string(), "192.168.1.3:10911".to_string()));
    }
}

#[test]
fn old_java_route_with_topic_syn_flag_and_extras() {
    let old = r#"{"orderTopicConf":"broker-a:4","queueDatas":[{"brokerName":"broker-a","perm":6,"readQueueNums":4,"topicSynFlag":1,"writeQueueNums":4}],
      "brokerDatas":[{"brokerAddrs":{0:"h:1"},"brokerName":"broker-a","cluster":"c","enableActingMaster":false,"zoneName":"z"}],
      "filterServerTable":{},"topicQueueMappingByBroker":{"broker-a":{"x":1}},"unknownField":[1,2]}"#;
    let r = TopicRouteData::from_json(old.as_bytes()).unwrap();
    assert_eq!(r.queue_datas[0].topic_sys_flag, 1);
    assert_eq!(r.order_topic_conf.as_deref(), Some("broker-a:4"));
    assert_eq!(r.broker_datas[0].enable_acting_master, Some(false));
    assert_eq!(r.broker_datas[0].zone_name.as_deref(), Some("z"));
    assert!(r.topic_queue_mapping_by_broker.is_some());
}

#[test]
fn non_ascii_is_escaped_for_standard_clients() {
    let mut r = route();
    r.broker_datas[0].cluster = "集群".into();
    let json = String::from_utf8(r.to_json_for(true)).unwrap();
    assert!(json.contains(r#""cluster":"\u96c6\u7fa4""#), "{json}");
    assert!(json.is_ascii());
    assert_eq!(TopicRouteData::from_json(json.as_bytes()).unwrap(), r);
}

#[test]
fn cluster_info_golden() {
    let mut info = ClusterInfo::default();
    let mut addrs = BTreeMap::new();
    addrs.insert(0, "ip:10911".to_string());
    info.broker_addr_table.insert(
        "broker-a".into(),
        BrokerData {
            broker_addrs: addrs,
            broker_name: "broker-a".into(),
            cluster: "DefaultCluster".into(),
            enable_acting_master: None,
            zone_name: None,
        },
    );
    info.cluster_addr_table
        .entry("DefaultCluster".into())
        .or_default()
        .insert("broker-a".into());
    let golden = r#"{"brokerAddrTable":{"broker-a":{"brokerAddrs":{0:"ip:10911"},"brokerName":"broker-a","cluster":"DefaultCluster"}},"clusterAddrTable":{"DefaultCluster":["broker-a"]}}"#;
    assert_eq!(String::from_utf8(info.to_json()).unwrap(), golden);
    assert_eq!(ClusterInfo::from_json(golden.as_bytes()).unwrap(), info);
}
