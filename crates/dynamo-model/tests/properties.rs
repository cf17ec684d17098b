//! Property tests: number normalisation, arithmetic and order against independent references,
//! key encoding order, and expression parse → print → parse round trips.

use std::cmp::Ordering;
use std::collections::BTreeMap;

use dynamo_model::expr::{Comparator, Operand, SetOperand, SetValue, UpdateAction, ValueRef};
use dynamo_model::path::{Name, PathElement};
use dynamo_model::{
    AttributeValue as V, Condition, ExpressionAttributes, Number, Path, UpdateExpression,
    encode_sort_key,
};
use proptest::prelude::*;

/// A number as sign, significant digits (no leading zero) and the power of ten of the last digit.
#[derive(Debug, Clone)]
struct Decimal {
    negative: bool,
    digits: String,
    low_exponent: i32,
}

fn decimal() -> impl Strategy<Value = Decimal> {
    (any::<bool>(), "[1-9][0-9]{0,37}", -130i32..=125).prop_filter_map(
        "in DynamoDB's range",
        |(negative, digits, leading)| {
            // Choose the leading digit's exponent, derive the last digit's.
            let low_exponent = leading - (digits.len() as i32 - 1);
            let d = Decimal {
                negative,
                digits,
                low_exponent,
            };
            Number::parse(&d.scientific()).ok().map(|_| d)
        },
    )
}

impl Decimal {
    fn scientific(&self) -> String {
        format!(
            "{}{}e{}",
            if self.negative { "-" } else { "" },
            self.digits,
            self.low_exponent
        )
    }

    /// Plain notation with extra leading and trailing zeros.
    fn padded(&self, lead: usize, trail: usize) -> String {
        let sign = if self.negative { "-" } else { "+" };
        let digits = format!("{}{}", "0".repeat(lead), self.digits);
        if self.low_exponent >= 0 {
            format!(
                "{sign}{digits}{}.{}",
                "0".repeat(self.low_exponent as usize),
                "0".repeat(trail)
            )
        } else {
            let fraction_len = (-self.low_exponent) as usize;
            let padded = format!(
                "{}{digits}",
                "0".repeat(fraction_len.saturating_sub(digits.len()) + 1)
            );
            let point = padded.len() - fraction_len;
            format!(
                "{sign}{}.{}{}",
                &padded[..point],
                &padded[point..],
                "0".repeat(trail)
            )
        }
    }

    /// Reference order: scale both to the smaller exponent and compare integer strings.
    fn reference_cmp(&self, other: &Decimal) -> Ordering {
        let low = self.low_exponent.min(other.low_exponent);
        let scaled = |d: &Decimal| {
            format!(
                "{}{}",
                d.digits,
                "0".repeat((d.low_exponent - low) as usize)
            )
        };
        let (a, b) = (scaled(self), scaled(other));
        let magnitude = a.len().cmp(&b.len()).then_with(|| a.cmp(&b));
        match (self.negative, other.negative) {
            (false, false) => magnitude,
            (true, true) => magnitude.reverse(),
            (false, true) => Ordering::Greater,
            (true, false) => Ordering::Less,
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn notations_normalise_to_one_value(d in decimal(), lead in 0usize..4, trail in 0usize..4) {
        let from_scientific = Number::parse(&d.scientific()).unwrap();
        let from_plain = Number::parse(&d.padded(lead, trail)).unwrap();
        prop_assert_eq!(&from_scientific, &from_plain);
        let printed = from_plain.to_string();
        prop_assert_eq!(Number::parse(&printed).unwrap(), from_plain.clone());
        // The printed form has no redundant zeros or sign.
        prop_assert!(!printed.starts_with('+'));
        prop_assert!(!printed.contains('.') || !printed.ends_with('0'));
        let unsigned = printed.strip_prefix('-').unwrap_or(&printed);
        prop_assert!(unsigned.starts_with("0.") || unsigned.starts_with(|c: char| ('1'..='9').contains(&c)), "{}", printed);
    }

    #[test]
    fn order_matches_reference_and_encoding(a in decimal(), b in decimal()) {
        let (x, y) = (Number::parse(&a.scientific()).unwrap(), Number::parse(&b.scientific()).unwrap());
        prop_assert_eq!(x.cmp(&y), a.reference_cmp(&b));
        prop_assert_eq!(encode_sort_key(&V::N(x.clone())).cmp(&encode_sort_key(&V::N(y.clone()))), x.cmp(&y));
    }

    #[test]
    fn arithmetic_is_exact(ma in -1_000_000_000_000i64..1_000_000_000_000, ea in -6i32..6,
                           mb in -1_000_000_000_000i64..1_000_000_000_000, eb in -6i32..6) {
        let low = ea.min(eb);
        let scaled = |m: i64, e: i32| i128::from(m) * 10i128.pow((e - low) as u32);
        let expected_sum = scaled(ma, ea) + scaled(mb, eb);
        let expected_difference = scaled(ma, ea) - scaled(mb, eb);
        let x = Number::parse(&format!("{ma}e{ea}")).unwrap();
        let y = Number::parse(&format!("{mb}e{eb}")).unwrap();
        prop_assert_eq!(x.checked_add(&y).unwrap(), Number::parse(&format!("{expected_sum}e{low}")).unwrap());
        prop_assert_eq!(x.checked_sub(&y).unwrap(), Number::parse(&format!("{expected_difference}e{low}")).unwrap());
    }

    #[test]
    fn string_and_binary_encodings_order_bytewise(a in any::<String>(), b in any::<String>(),
                                                   x in proptest::collection::vec(any::<u8>(), 0..8),
                                                   y in proptest::collection::vec(any::<u8>(), 0..8)) {
        prop_assert_eq!(encode_sort_key(&V::S(a.clone())).cmp(&encode_sort_key(&V::S(b.clone()))), a.as_bytes().cmp(b.as_bytes()));
        prop_assert_eq!(encode_sort_key(&V::B(x.clone())).cmp(&encode_sort_key(&V::B(y.clone()))), x.cmp(&y));
    }
}

// ---- Expression round trips -------------------------------------------------------------

const NAMES: [(&str, &str); 3] = [("#a", "alpha"), ("#b", "my attr"), ("#c", "name")];
const BARE: [&str; 3] = ["x1", "y_2", "Zed"];

fn values() -> BTreeMap<String, V> {
    BTreeMap::from([
        (":s0".to_string(), V::s("a")),
        (":s1".to_string(), V::s("b")),
        (":s2".to_string(), V::s("c")),
        (":t".to_string(), V::s("SS")),
        (":n".to_string(), V::n("5")),
        (":l".to_string(), V::L(vec![V::n("1")])),
        (":ss".to_string(), V::Ss(["q".to_string()].into())),
    ])
}

fn attributes() -> ExpressionAttributes {
    let names = NAMES
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    ExpressionAttributes::new(Some(names), Some(values())).unwrap()
}

fn value(placeholder: &str) -> ValueRef {
    ValueRef {
        placeholder: placeholder.to_string(),
        value: values()[placeholder].clone(),
    }
}

fn name() -> impl Strategy<Value = Name> {
    prop_oneof![
        (0..NAMES.len()).prop_map(|i| Name {
            name: NAMES[i].1.to_string(),
            placeholder: Some(NAMES[i].0.to_string())
        }),
        (0..BARE.len()).prop_map(|i| Name::plain(BARE[i])),
    ]
}

fn path() -> impl Strategy<Value = Path> {
    (
        name(),
        proptest::collection::vec(
            prop_oneof![
                name().prop_map(PathElement::Attribute),
                (0usize..20).prop_map(PathElement::Index)
            ],
            0..3,
        ),
    )
        .prop_map(|(head, rest)| Path {
            elements: std::iter::once(PathElement::Attribute(head))
                .chain(rest)
                .collect(),
        })
}

fn string_value() -> impl Strategy<Value = ValueRef> {
    prop_oneof![Just(":s0"), Just(":s1"), Just(":s2")].prop_map(value)
}

fn operand() -> impl Strategy<Value = Operand> {
    prop_oneof![
        path().prop_map(Operand::Path),
        string_value().prop_map(Operand::Value),
        path().prop_map(|p| Operand::Size(Box::new(Operand::Path(p)))),
    ]
}

fn comparator() -> impl Strategy<Value = Comparator> {
    prop_oneof![
        Just(Comparator::Eq),
        Just(Comparator::Ne),
        Just(Comparator::Lt),
        Just(Comparator::Le),
        Just(Comparator::Gt),
        Just(Comparator::Ge),
    ]
}

fn distinct(a: &Operand, b: &Operand) -> bool {
    !matches!((a, b), (Operand::Path(x), Operand::Path(y)) if x.error_form() == y.error_form())
}

fn leaf_condition() -> impl Strategy<Value = Condition> {
    prop_oneof![
        (comparator(), operand(), operand())
            .prop_filter("operands must differ", |(_, a, b)| distinct(a, b))
            .prop_map(|(op, left, right)| Condition::Compare { op, left, right }),
        // Both bounds as values must be ordered; a path bound is unchecked.
        (operand(), path(), 0..3usize).prop_map(|(operand, low, high)| Condition::Between {
            operand,
            low: Operand::Path(low),
            high: Operand::Value(value([":s0", ":s1", ":s2"][high])),
        }),
        (operand(), proptest::collection::vec(operand(), 1..4))
            .prop_map(|(operand, list)| Condition::In { operand, list }),
        path().prop_map(Condition::AttributeExists),
        path().prop_map(Condition::AttributeNotExists),
        path().prop_map(|p| Condition::AttributeType(p, Operand::Value(value(":t")))),
        (path(), string_value())
            .prop_map(|(p, v)| Condition::BeginsWith(Operand::Path(p), Operand::Value(v))),
        (path(), operand())
            .prop_filter("operands must differ", |(p, o)| distinct(
                &Operand::Path(p.clone()),
                o
            ))
            .prop_map(|(p, o)| Condition::Contains(Operand::Path(p), o)),
    ]
}

fn condition() -> impl Strategy<Value = Condition> {
    leaf_condition().prop_recursive(4, 24, 2, |inner| {
        prop_oneof![
            (inner.clone(), inner.clone())
                .prop_map(|(a, b)| Condition::And(Box::new(a), Box::new(b))),
            (inner.clone(), inner.clone())
                .prop_map(|(a, b)| Condition::Or(Box::new(a), Box::new(b))),
            inner.prop_map(|a| Condition::Not(Box::new(a))),
        ]
    })
}

/// An update whose target paths start at distinct top-level attributes (so none overlap).
fn update() -> impl Strategy<Value = UpdateExpression> {
    let set_operand = prop_oneof![
        path().prop_map(SetOperand::Path),
        Just(SetOperand::Value(value(":n"))),
        path().prop_map(|p| SetOperand::IfNotExists(p, Box::new(SetOperand::Value(value(":n"))))),
    ];
    let set_value = prop_oneof![
        set_operand.clone().prop_map(SetValue::Operand),
        (set_operand.clone(), set_operand.clone()).prop_map(|(a, b)| SetValue::Plus(a, b)),
        (set_operand.clone(), set_operand).prop_map(|(a, b)| SetValue::Minus(a, b)),
        path().prop_map(|p| SetValue::Operand(SetOperand::ListAppend(
            Box::new(SetOperand::Path(p)),
            Box::new(SetOperand::Value(value(":l")))
        ))),
    ];
    let action = prop_oneof![
        set_value.prop_map(|v| (0u8, Some(v))),
        Just((1u8, None)),
        Just((2u8, None)),
        Just((3u8, None)),
    ];
    (proptest::collection::vec(action, 1..6), path()).prop_map(|(actions, tail)| {
        use dynamo_model::expr::Section;
        let mut sections: Vec<(Section, Vec<UpdateAction>)> = Vec::new();
        for (i, (kind, set_value)) in actions.into_iter().enumerate() {
            let mut target = tail.clone();
            target.elements[0] = PathElement::Attribute(Name::plain(format!("t{i}")));
            let (section, action) = match kind {
                0 => (
                    Section::Set,
                    UpdateAction::Set(target, set_value.expect("set has a value")),
                ),
                1 => (Section::Remove, UpdateAction::Remove(target)),
                2 => (Section::Add, UpdateAction::Add(target, value(":n"))),
                _ => (Section::Delete, UpdateAction::Delete(target, value(":ss"))),
            };
            match sections.iter_mut().find(|(s, _)| *s == section) {
                Some((_, list)) => list.push(action),
                None => sections.push((section, vec![action])),
            }
        }
        UpdateExpression { sections }
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn condition_round_trips(c in condition()) {
        let text = c.to_string();
        let parsed = attributes().condition(&text).map_err(|e| TestCaseError::fail(format!("{text}: {}", e.message)))?;
        prop_assert_eq!(parsed, c, "{}", text);
    }

    #[test]
    fn update_round_trips(u in update()) {
        let text = u.to_string();
        let parsed = attributes().update(&text).map_err(|e| TestCaseError::fail(format!("{text}: {}", e.message)))?;
        prop_assert_eq!(parsed, u, "{}", text);
    }

    #[test]
    fn projection_round_trips(paths in proptest::collection::vec(path(), 1..5)) {
        // Give each path its own top-level attribute so none overlap.
        let paths: Vec<Path> = paths.into_iter().enumerate().map(|(i, mut p)| {
            p.elements[0] = PathElement::Attribute(Name::plain(format!("p{i}")));
            p
        }).collect();
        let text = paths.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ");
        let parsed = attributes().projection(&text).map_err(|e| TestCaseError::fail(format!("{text}: {}", e.message)))?;
        prop_assert_eq!(parsed.paths, paths);
    }

    /// Arbitrary text never panics the parsers.
    #[test]
    fn parsers_do_not_panic(text in "[ -~]{0,60}") {
        let mut a = attributes();
        let _ = a.condition(&text);
        let _ = a.update(&text);
        let _ = a.projection(&text);
        let _ = a.key_condition(&text);
    }
}
