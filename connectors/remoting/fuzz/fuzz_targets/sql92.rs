//! Fuzzes the SQL92 selector (protocol.md §7.7): the input is a selector, then a NUL byte,
//! then `name=value` lines (the message's properties). Compiling must succeed or fail with an
//! error, never panic, and compile the same text to the same selector twice. A selector that
//! compiles is evaluated against the properties: the answer is the same looked up by name or
//! read from the encoded property string, the same when asked twice, and the same for the
//! selector wrapped as `(e)`, `(e) AND TRUE`, `(e) OR FALSE` and `NOT (NOT (e))` (when those
//! still fit the length and depth limits).
#![no_main]

use std::collections::BTreeMap;

use libfuzzer_sys::fuzz_target;
use sluice_remoting::filter::Sql92;
use sluice_remoting::properties;

/// The properties as a message carries them: no separator bytes, no empty names or values, the
/// last of a repeated name wins.
fn property_map(text: &str) -> BTreeMap<&str, &str> {
    text.lines()
        .filter_map(|line| line.split_once('='))
        .filter(|(n, v)| !n.is_empty() && !v.is_empty())
        .filter(|(n, v)| !(n.contains(['\u{1}', '\u{2}']) || v.contains(['\u{1}', '\u{2}'])))
        .collect()
}

/// Whether `selector` matches the properties looked up by name.
fn ask(selector: &Sql92, map: &BTreeMap<&str, &str>) -> bool {
    selector.matches(&|name| map.get(name).copied())
}

fuzz_target!(|data: &[u8]| {
    let (expr, props) = match data.iter().position(|&b| b == 0) {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (data, &[][..]),
    };
    let (Ok(expr), Ok(props)) = (std::str::from_utf8(expr), std::str::from_utf8(props)) else {
        return;
    };
    let compiled = Sql92::compile(expr);
    assert_eq!(compiled, Sql92::compile(expr), "compiling is deterministic");
    let Ok(selector) = compiled else {
        return;
    };
    let map = property_map(props);
    let encoded = properties::encode(map.iter().map(|(n, v)| (*n, *v)));
    let answer = ask(&selector, &map);
    assert_eq!(answer, ask(&selector, &map), "evaluation is deterministic");
    assert_eq!(
        answer,
        selector.matches_properties(&encoded),
        "by name and from the property string"
    );
    for wrapped in [
        format!("({expr})"),
        format!("({expr}) AND TRUE"),
        format!("({expr}) OR FALSE"),
        format!("NOT (NOT ({expr}))"),
    ] {
        if let Ok(w) = Sql92::compile(&wrapped) {
            assert_eq!(ask(&w, &map), answer, "{wrapped:?} against {map:?}");
        }
    }
});
