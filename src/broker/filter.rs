//! What a pull keeps (protocol.md §7.7): a subscription becomes a [`PullFilter`] checked twice,
//! as RocketMQ's `MessageFilter` is — first on the ConsumeQueue unit's tag code (TAG
//! subscriptions), then on the stored record's properties (SQL92 subscriptions,
//! `enablePropertyFilter=true`). Compiled selectors are cached by their text, so a group's
//! hundreds of pulls per second compile its expression once.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use sluice_remoting::body::heartbeat::SubscriptionData;
use sluice_remoting::filter::{Sql92, Sql92Error};
use sluice_remoting::message::{decode_message, CrcCheck};
use sluice_remoting::properties::names;

use crate::broker::error::BrokerError;
use crate::broker::topics::RETRY_PREFIX;
use crate::broker::BrokerState;
use sluice_remoting::codes::response;

/// Compiled selectors, by expression text. Bounded: when full it is emptied (a broker serves a
/// handful of distinct expressions; a client inventing new ones cannot grow it without bound).
#[derive(Default)]
pub struct Sql92Cache {
    compiled: Mutex<HashMap<String, Arc<Sql92>>>,
}

const CACHE_CAPACITY: usize = 1024;

impl Sql92Cache {
    /// The compiled form of `expression`.
    pub fn compile(&self, expression: &str) -> Result<Arc<Sql92>, Sql92Error> {
        let mut map = self.compiled.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(c) = map.get(expression) {
            return Ok(c.clone());
        }
        let c = Arc::new(Sql92::compile(expression)?);
        if map.len() >= CACHE_CAPACITY {
            map.clear();
        }
        map.insert(expression.to_owned(), c.clone());
        Ok(c)
    }
}

/// The broker's answer to a SQL92 subscription it will not serve: SYSTEM_ERROR while
/// `enablePropertyFilter` is off (what 4.9 answers), SUBSCRIPTION_PARSE_FAILED with the
/// parser's message when the expression does not compile.
pub fn check(state: &BrokerState, sub: &SubscriptionData) -> Result<Option<Arc<Sql92>>, BrokerError> {
    if sub.is_tag() {
        return Ok(None);
    }
    if !sub.expression_type.eq_ignore_ascii_case("SQL92") || !state.config.enable_property_filter {
        return Err(BrokerError::system(format!(
            "The broker does not support consumer to filter message by {}",
            sub.expression_type
        )));
    }
    state
        .sql92
        .compile(&sub.sub_string)
        .map(Some)
        .map_err(|e| BrokerError::refused(response::SUBSCRIPTION_PARSE_FAILED, e.to_string()))
}

/// How one pull filters.
pub enum PullFilter {
    /// `*`: everything.
    All,
    /// These tag codes (Java hash codes of the tags).
    Tags(Vec<i32>),
    /// A SQL92 selector over each message's properties.
    Sql(Arc<Sql92>),
    /// A `%RETRY%` topic with `filterSupportRetry`: each message is checked against the group's
    /// SQL92 subscription of its original topic (`RETRY_TOPIC`).
    Retry { state: Arc<BrokerState>, group: String },
}

impl PullFilter {
    /// The filter for `group` pulling `topic` under `sub`.
    pub fn new(
        state: &Arc<BrokerState>,
        group: &str,
        topic: &str,
        sub: &SubscriptionData,
    ) -> Result<Self, BrokerError> {
        if let Some(sql) = check(state, sub)? {
            return Ok(PullFilter::Sql(sql));
        }
        if topic.starts_with(RETRY_PREFIX)
            && state.config.filter_support_retry
            && state.config.enable_property_filter
        {
            return Ok(PullFilter::Retry {
                state: state.clone(),
                group: group.to_owned(),
            });
        }
        Ok(if sub.is_subscribe_all() {
            PullFilter::All
        } else {
            PullFilter::Tags(sub.java_codes())
        })
    }

    /// The ConsumeQueue check: may the unit with this tag code match?
    pub fn by_tags_code(&self, code: i64) -> bool {
        match self {
            PullFilter::Tags(codes) => codes.contains(&(code as i32)),
            _ => true,
        }
    }

    /// The CommitLog check: does this stored record match?
    pub fn by_record(&self, record: &[u8]) -> bool {
        match self {
            PullFilter::All | PullFilter::Tags(_) => true,
            PullFilter::Sql(sql) => {
                decode_message(record, CrcCheck::Skip).is_ok_and(|r| sql.matches_properties(r.properties))
            }
            PullFilter::Retry { state, group } => {
                let Ok(r) = decode_message(record, CrcCheck::Skip) else {
                    return false;
                };
                let Some(original) = r.property(names::RETRY_TOPIC) else {
                    return true;
                };
                match state.clients.subscription(group, original) {
                    Some(sub) if !sub.is_tag() => state
                        .sql92
                        .compile(&sub.sub_string)
                        .is_ok_and(|sql| sql.matches_properties(r.properties)),
                    _ => true,
                }
            }
        }
    }

    /// Whether this filter reads records (and so can skip messages a tag check passes).
    pub fn reads_records(&self) -> bool {
        matches!(self, PullFilter::Sql(_) | PullFilter::Retry { .. })
    }
}
