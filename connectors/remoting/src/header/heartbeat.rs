//! Client membership headers: UNREGISTER_CLIENT (35) — protocol.md §2.3.6;
//! GET_CONSUMER_LIST_BY_GROUP (38) — §2.3.11; NOTIFY_CONSUMER_IDS_CHANGED (40) — §2.3.10.
//! HEART_BEAT (34) itself has an empty header and a JSON body ([`crate::body::heartbeat`]).

use super::ext_header;

ext_header! {
    /// UNREGISTER_CLIENT (35) request: Java and ali-ons send it on shutdown, once per group per
    /// broker.
    pub struct UnregisterClientRequestHeader {
        client_id: req String = "clientID";
        producer_group: opt String = "producerGroup";
        consumer_group: opt String = "consumerGroup";
    }
}

ext_header! {
    /// GET_CONSUMER_LIST_BY_GROUP (38) request. Response body:
    /// [`ConsumerListBody`](crate::body::common::ConsumerListBody).
    pub struct GetConsumerListByGroupRequestHeader {
        consumer_group: req String = "consumerGroup";
    }
}

ext_header! {
    /// NOTIFY_CONSUMER_IDS_CHANGED (40), broker → consumer, oneway, no body.
    pub struct NotifyConsumerIdsChangedRequestHeader {
        consumer_group: req String = "consumerGroup";
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ext::ExtFields;

    #[test]
    fn unregister() {
        let e: ExtFields = [("clientID", "1.2.3.4@1#2"), ("producerGroup", "p")]
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let h = UnregisterClientRequestHeader::from_ext(&e).unwrap();
        assert_eq!(h.consumer_group, None);
        assert_eq!(h.to_ext(), e);
        assert_eq!(
            GetConsumerListByGroupRequestHeader::from_ext(&ExtFields::new())
                .unwrap_err()
                .field(),
            "consumerGroup"
        );
    }
}
