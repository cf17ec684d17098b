//! Feeds arbitrary text to every expression parser. Whatever parses must print back to text
//! that parses to the same tree, and must evaluate or apply against an item without panicking.
#![no_main]

use std::collections::BTreeMap;

use dynamo_model::{AttributeValue as V, ExpressionAttributes, Item, KeyAttribute, ValueType};
use libfuzzer_sys::fuzz_target;

fn attributes() -> ExpressionAttributes {
    let names = BTreeMap::from([("#a".to_string(), "alpha".to_string()), ("#b".to_string(), "beta".to_string())]);
    let values = BTreeMap::from([
        (":s".to_string(), V::s("x")),
        (":n".to_string(), V::n("1.5")),
        (":big".to_string(), V::n("9e125")),
        (":l".to_string(), V::L(vec![V::n("1")])),
        (":ss".to_string(), V::Ss(["x".to_string()].into())),
        (":t".to_string(), V::s("N")),
        (":b".to_string(), V::B(vec![1, 2])),
    ]);
    ExpressionAttributes::new(Some(names), Some(values)).expect("valid maps")
}

fn item() -> Item {
    Item::from([
        ("alpha".to_string(), V::n("2")),
        ("beta".to_string(), V::L(vec![V::s("x"), V::M([("c".to_string(), V::n("3"))].into())])),
        ("s".to_string(), V::Ss(["x".to_string(), "y".to_string()].into())),
        ("m".to_string(), V::M([("k".to_string(), V::s("v"))].into())),
    ])
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let target = item();
    if let Ok(condition) = attributes().condition(text) {
        let printed = condition.to_string();
        let reparsed = attributes().condition(&printed).expect("printed condition parses");
        assert_eq!(reparsed, condition, "{printed}");
        let _ = condition.evaluate(&target);
        let _ = condition.evaluate(&Item::new());
    }
    if let Ok(update) = attributes().update(text) {
        let printed = update.to_string();
        let reparsed = attributes().update(&printed).expect("printed update parses");
        assert_eq!(reparsed, update, "{printed}");
        let mut changed = target.clone();
        if update.apply(&mut changed).is_err() {
            assert_eq!(changed, target, "failed update leaves the item unchanged");
        }
    }
    if let Ok(projection) = attributes().projection(text) {
        let printed = projection.to_string();
        let reparsed = attributes().projection(&printed).expect("printed projection parses");
        assert_eq!(reparsed, projection, "{printed}");
        let _ = projection.apply(&target);
    }
    if let Ok(key) = attributes().key_condition(text) {
        let partition = KeyAttribute { name: "alpha", value_type: ValueType::N };
        let sort = KeyAttribute { name: "beta", value_type: ValueType::S };
        if let Ok(query) = key.for_schema(partition, Some(sort)) {
            if let Some(op) = query.sort_key {
                let _ = op.encoded_bounds();
            }
        }
    }
});
