//! npm `ali-ons` (pure JavaScript), driver `js/driver.js`: the shared scenarios.

use crate::harness::Client;
use crate::scenarios;

#[test]
fn js_produce_consume() {
    scenarios::produce_consume(Client::Js);
}
#[test]
fn js_tag_filter() {
    scenarios::tag_filter(Client::Js);
}
#[test]
fn js_offsets_resume() {
    scenarios::offsets_resume(Client::Js);
}
#[test]
fn js_two_consumers_split() {
    scenarios::two_consumers_split(Client::Js);
}
#[test]
fn js_broadcast() {
    scenarios::broadcast(Client::Js);
}
#[test]
fn js_ordered() {
    scenarios::ordered(Client::Js);
}
