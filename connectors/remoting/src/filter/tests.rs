//! Selector cases, each checked against what RocketMQ's filter module answers for it.

use super::*;

fn props(pairs: &[(&str, &str)]) -> String {
    crate::properties::encode(pairs.iter().copied())
}

fn matches(expr: &str, pairs: &[(&str, &str)]) -> bool {
    Sql92::compile(expr)
        .unwrap_or_else(|e| panic!("{expr}: {e}"))
        .matches_properties(&props(pairs))
}

#[test]
fn comparisons_convert_the_property_to_the_constant_type() {
    let m = [("a", "5"), ("b", "2.5"), ("s", "abc"), ("big", "3000000000")];
    for (expr, want) in [
        ("a = 5", true),
        ("a > 4", true),
        ("a >= 5", true),
        ("a < 5", false),
        ("a <= 5.0", true),
        ("a <> 5", false),
        ("a > -1", true),
        ("b > 2", false), // "2.5" is not an Integer: Java throws, the message does not match
        ("b > 2.0", true),
        ("big > 5", false),         // not an int either
        ("big > 2147483648", true), // a Long constant: Long.valueOf
        ("s = 'abc'", true),
        ("s <> 'abd'", true),
        ("s = 5", false), // not a number: no match
        ("a = '5'", true),
        ("a > b", true), // two strings: ordered as doubles
        ("TRUE", true),
        ("FALSE", false),
        ("s", false), // a bare property is not boolean TRUE
    ] {
        assert_eq!(matches(expr, &m), want, "{expr}");
    }
}

#[test]
fn absent_properties_are_unknown_and_do_not_match() {
    let m = [("a", "1")];
    for (expr, want) in [
        ("x = 1", false),
        ("x <> 1", false),
        ("NOT (x = 1)", false),
        ("x IS NULL", true),
        ("a IS NULL", false),
        ("x IS NOT NULL", false),
        ("a IS NOT NULL", true),
        ("x > 1 OR a = 1", true),
        ("x > 1 AND a = 1", false),
        ("x > 1 OR a = 2", false),
        ("x IN ('1')", false),
        ("x NOT IN ('1')", false),
        ("x CONTAINS '1'", false),
        ("x NOT CONTAINS '1'", false),
    ] {
        assert_eq!(matches(expr, &m), want, "{expr}");
    }
}

#[test]
fn between_in_and_string_predicates() {
    let m = [("n", "15"), ("TAGS", "TagA"), ("region", "eu-west-1")];
    for (expr, want) in [
        ("n BETWEEN 10 AND 20", true),
        ("n BETWEEN 16 AND 20", false),
        ("n NOT BETWEEN 16 AND 20", true),
        ("n NOT BETWEEN 10 AND 20", false),
        ("TAGS IN ('TagA', 'TagB')", true),
        ("TAGS NOT IN ('TagA', 'TagB')", false),
        ("TAGS in ('taga')", false),
        ("region CONTAINS 'west'", true),
        ("region STARTSWITH 'eu'", true),
        ("region ENDSWITH '-1'", true),
        ("region NOT STARTSWITH 'us'", true),
        ("region CONTAINS ''", false),
        ("(n > 10 AND TAGS = 'TagA') OR region = 'x'", true),
        ("NOT (n > 10)", false),
        ("n > 10 AND NOT TAGS = 'TagB'", false), // NOT binds to TAGS first (JMS): TRUE = 'TagB' throws
    ] {
        assert_eq!(matches(expr, &m), want, "{expr}");
    }
}

#[test]
fn boolean_constants_compare_with_string_properties() {
    let m = [("flag", "TRUE"), ("off", "no")];
    assert!(matches("flag = TRUE", &m));
    assert!(matches("off = FALSE", &m));
    assert!(!matches("off = TRUE", &m));
}

#[test]
fn parse_errors_carry_rocketmq_s_messages() {
    for (expr, says) in [
        ("a > 'x'", "cannot be compared"),
        ("a = NULL", "'NULL' cannot be compared."),
        ("a BETWEEN 5 AND 1", "Illegal values of between"),
        ("'a' IN ('a')", "Expected a property for In expression"),
        ("5", "will not result in a boolean value"),
        ("a >", "unexpected end"),
        ("a = 1 b", "unexpected"),
        ("a IN (1)", "expected a string literal"),
        ("a = 99999999999999999999", "out of range"),
        ("(((", "unexpected end"),
        ("", "unexpected end"),
    ] {
        let e = Sql92::compile(expr).expect_err(expr).to_string();
        assert!(e.starts_with("Invalid MessageSelector. "), "{expr}: {e}");
        assert!(e.contains(says), "{expr}: {e}");
    }
}

#[test]
fn nesting_and_length_are_bounded() {
    let deep = format!("{}a = 1{}", "(".repeat(100), ")".repeat(100));
    assert!(Sql92::compile(&deep)
        .unwrap_err()
        .to_string()
        .contains("nests deeper"));
    let nots = format!("{}a = 1", "NOT ".repeat(100));
    assert!(Sql92::compile(&nots).is_err());
    let long = format!("a = '{}'", "x".repeat(MAX_EXPRESSION_LEN));
    assert!(Sql92::compile(&long).is_err());
    let ok = format!("{}a = 1{}", "(".repeat(10), ")".repeat(10));
    assert!(matches(&ok, &[("a", "1")]));
}

proptest::proptest! {
    /// No input makes the compiler or the evaluator panic.
    #[test]
    fn arbitrary_input_never_panics(s in "[ a-zA-Z0-9'()<>=,.+\\-_$*/]{0,64}") {
        if let Ok(e) = Sql92::compile(&s) {
            let _ = e.matches_properties(&props(&[("a", "1"), ("b", "x")]));
        }
    }
}
