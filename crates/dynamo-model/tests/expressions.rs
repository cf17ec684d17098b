//! Expression language behaviour as DynamoDB documents it (developer guide: "Condition and
//! filter expressions", "Update expressions", "Projection expressions", "Key condition
//! expressions") and the error texts DynamoDB returns.

use std::ops::Bound;

use dynamo_model::expr::SortKeyOp;
use dynamo_model::{
    AttributeValue as V, ExpressionAttributes, Item, KeyAttribute, ValueType, item_from_json,
    project_paths,
};
use serde_json::{Value, json};

fn attrs(names: Value, values: Value) -> ExpressionAttributes {
    let names = (!names.is_null()).then_some(names);
    let values = (!values.is_null()).then_some(values);
    ExpressionAttributes::from_json(names.as_ref(), values.as_ref()).expect("valid attribute maps")
}

fn item(json: Value) -> Item {
    item_from_json(&json).expect("valid item")
}

/// Evaluates a condition with the given values (no names) against an item.
fn holds(expression: &str, values: Value, on: &Value) -> bool {
    let mut a = attrs(Value::Null, values);
    let condition = a
        .condition(expression)
        .unwrap_or_else(|e| panic!("{expression}: {}", e.message));
    condition.evaluate(&item(on.clone()))
}

fn condition_error(expression: &str, names: Value, values: Value) -> String {
    let mut a = attrs(names, values);
    match a.condition(expression) {
        Err(e) => e.message,
        Ok(_) => a.finish().expect_err("expected an error").message,
    }
}

fn update_error(expression: &str, names: Value, values: Value) -> String {
    let mut a = attrs(names, values);
    match a.update(expression) {
        Err(e) => e.message,
        Ok(_) => a.finish().expect_err("expected an error").message,
    }
}

fn apply(expression: &str, values: Value, on: Value) -> Result<Item, String> {
    let mut a = attrs(Value::Null, values);
    let update = a
        .update(expression)
        .unwrap_or_else(|e| panic!("{expression}: {}", e.message));
    let mut target = item(on);
    update
        .apply(&mut target)
        .map(|_| target)
        .map_err(|e| e.message)
}

#[test]
fn comparisons_follow_types() {
    let it = json!({"n": {"N": "10"}, "s": {"S": "abc"}, "b": {"B": "AQI="}, "t": {"BOOL": true}, "l": {"L": [{"N": "1"}]}});
    assert!(holds("n = :v", json!({":v": {"N": "10.0"}}), &it));
    assert!(holds("n > :v", json!({":v": {"N": "9"}}), &it));
    assert!(holds("n < :v", json!({":v": {"N": "1e2"}}), &it));
    assert!(
        !holds("n < :v", json!({":v": {"S": "100"}}), &it),
        "different types never order"
    );
    assert!(
        holds("n <> :v", json!({":v": {"S": "10"}}), &it),
        "different types are unequal"
    );
    assert!(holds("s < :v", json!({":v": {"S": "abd"}}), &it));
    assert!(holds("s >= :v", json!({":v": {"S": "ab"}}), &it));
    assert!(holds("b > :v", json!({":v": {"B": "AQE="}}), &it));
    assert!(holds("t = :v", json!({":v": {"BOOL": true}}), &it));
    assert!(!holds("t < :v", json!({":v": {"BOOL": true}}), &it));
    assert!(holds("l = :v", json!({":v": {"L": [{"N": "1.0"}]}}), &it));
    // A nope attribute equals nothing and differs from everything.
    assert!(!holds("nope = :v", json!({":v": {"N": "1"}}), &it));
    assert!(holds("nope <> :v", json!({":v": {"N": "1"}}), &it));
    assert!(!holds("nope < :v", json!({":v": {"N": "1"}}), &it));
}

#[test]
fn string_order_is_utf8_bytewise() {
    // U+FF61 (EF BD A1) sorts before U+1F600 (F0 9F 98 80) in UTF-8, though not in UTF-16.
    let it = json!({"s": {"S": "\u{ff61}"}});
    assert!(holds("s < :v", json!({":v": {"S": "\u{1f600}"}}), &it));
}

#[test]
fn between_in_and_logic() {
    let it = json!({"n": {"N": "5"}, "s": {"S": "m"}});
    assert!(holds(
        "n BETWEEN :a AND :b",
        json!({":a": {"N": "5"}, ":b": {"N": "6"}}),
        &it
    ));
    assert!(!holds(
        "n BETWEEN :a AND :b",
        json!({":a": {"N": "6"}, ":b": {"N": "7"}}),
        &it
    ));
    assert!(holds(
        "s between :a and :b",
        json!({":a": {"S": "a"}, ":b": {"S": "z"}}),
        &it
    ));
    assert!(holds(
        "n IN (:a, :b)",
        json!({":a": {"N": "4"}, ":b": {"N": "5"}}),
        &it
    ));
    assert!(!holds("n IN (:a)", json!({":a": {"S": "5"}}), &it));
    let v = json!({":a": {"N": "5"}, ":x": {"S": "x"}});
    // AND binds tighter than OR; NOT tighter than AND.
    assert!(holds("n = :a OR s = :x AND s = :x", v.clone(), &it));
    assert!(!holds("(n = :a OR s = :x) AND s = :x", v.clone(), &it));
    assert!(holds("NOT s = :x AND n = :a", v.clone(), &it));
    assert!(!holds("NOT (s = :x OR n = :a)", v.clone(), &it));
    assert!(holds("n BETWEEN :a AND :a AND NOT s = :x", v, &it));
}

#[test]
fn functions() {
    let it = json!({
        "s": {"S": "hello world"}, "b": {"B": "AAECAw=="}, "ss": {"SS": ["a", "b"]}, "ns": {"NS": ["1", "2"]},
        "l": {"L": [{"S": "x"}, {"N": "3"}, {"M": {"k": {"S": "v"}}}]}, "m": {"M": {"deep": {"L": [{"N": "7"}]}}},
        "nul": {"NULL": true}
    });
    assert!(holds("attribute_exists(s)", json!(null), &it));
    assert!(holds("attribute_exists(m.deep[0])", json!(null), &it));
    assert!(!holds("attribute_exists(m.deep[1])", json!(null), &it));
    assert!(holds("attribute_not_exists(m.elsewhere)", json!(null), &it));
    assert!(holds("attribute_exists(nul)", json!(null), &it));
    assert!(holds(
        "attribute_type(ss, :t)",
        json!({":t": {"S": "SS"}}),
        &it
    ));
    assert!(holds(
        "attribute_type(nul, :t)",
        json!({":t": {"S": "NULL"}}),
        &it
    ));
    assert!(!holds(
        "attribute_type(s, :t)",
        json!({":t": {"S": "N"}}),
        &it
    ));
    assert!(holds(
        "begins_with(s, :p)",
        json!({":p": {"S": "hell"}}),
        &it
    ));
    assert!(!holds(
        "begins_with(s, :p)",
        json!({":p": {"S": "world"}}),
        &it
    ));
    assert!(holds(
        "begins_with(b, :p)",
        json!({":p": {"B": "AAE="}}),
        &it
    ));
    assert!(holds("contains(s, :p)", json!({":p": {"S": "o w"}}), &it));
    assert!(holds("contains(ss, :p)", json!({":p": {"S": "b"}}), &it));
    assert!(!holds("contains(ss, :p)", json!({":p": {"S": "c"}}), &it));
    assert!(holds("contains(ns, :p)", json!({":p": {"N": "2.0"}}), &it));
    assert!(holds("contains(l, :p)", json!({":p": {"N": "3"}}), &it));
    assert!(holds(
        "contains(l, :p)",
        json!({":p": {"M": {"k": {"S": "v"}}}}),
        &it
    ));
    assert!(holds("contains(b, :p)", json!({":p": {"B": "AgM="}}), &it));
    assert!(holds("size(s) = :n", json!({":n": {"N": "11"}}), &it));
    assert!(holds("size(b) = :n", json!({":n": {"N": "4"}}), &it));
    // Strings count UTF-16 code units, as real DynamoDB does: "é𝄞" is 1 + 2.
    assert!(holds(
        "size(u) = :n",
        json!({":n": {"N": "3"}}),
        &json!({"u": {"S": "é𝄞"}})
    ));
    assert!(holds("size(ss) < :n", json!({":n": {"N": "3"}}), &it));
    assert!(holds("size(l) = :n", json!({":n": {"N": "3"}}), &it));
    assert!(holds("size(m) = :n", json!({":n": {"N": "1"}}), &it));
    assert!(holds("size(m.deep) = :n", json!({":n": {"N": "1"}}), &it));
    assert!(!holds("size(nope) = :n", json!({":n": {"N": "0"}}), &it));
    assert!(holds("size(s) > size(ss)", json!(null), &it));
}

#[test]
fn names_and_nested_paths() {
    let mut a = attrs(
        json!({"#a": "my attr", "#n": "name"}),
        json!({":v": {"N": "1"}}),
    );
    let c = a.condition("#a.#n[1] = :v").unwrap();
    a.finish().unwrap();
    assert_eq!(c.to_string(), "#a.#n[1] = :v");
    assert!(c.evaluate(&item(
        json!({"my attr": {"M": {"name": {"L": [{"N": "0"}, {"N": "1"}]}}}})
    )));
    assert!(!c.evaluate(&item(json!({"my attr": {"L": [{"N": "1"}]}}))));
}

#[test]
fn condition_validation_messages() {
    let none = json!(null);
    let v = json!({":v": {"N": "1"}});
    assert_eq!(
        condition_error(
            "a = :v",
            none.clone(),
            json!({":v": {"N": "1"}, ":x": {"N": "2"}})
        ),
        "Value provided in ExpressionAttributeValues unused in expressions: keys: {:x}"
    );
    assert_eq!(
        condition_error("a = :v", json!({"#a": "a", "#b": "b"}), v.clone()),
        "Value provided in ExpressionAttributeNames unused in expressions: keys: {#a, #b}"
    );
    assert_eq!(
        condition_error("a = :w", none.clone(), v.clone()),
        "Invalid ConditionExpression: An expression attribute value used in expression is not defined; attribute value: :w"
    );
    assert_eq!(
        condition_error("#a = :v", none.clone(), v.clone()),
        "Invalid ConditionExpression: An expression attribute name used in the document path is not defined; attribute name: #a"
    );
    assert_eq!(
        condition_error("a = = :v", none.clone(), v.clone()),
        "Invalid ConditionExpression: Syntax error; token: \"=\", near: \"= = :v\""
    );
    assert_eq!(
        condition_error("name = :v", none.clone(), v.clone()),
        "Invalid ConditionExpression: Attribute name is a reserved keyword; reserved keyword: name"
    );
    assert_eq!(
        condition_error("((a = :v))", none.clone(), v.clone()),
        "Invalid ConditionExpression: The expression has redundant parentheses;"
    );
    assert_eq!(
        condition_error("foo(a)", none.clone(), none.clone()),
        "Invalid ConditionExpression: Invalid function name; function: foo"
    );
    assert_eq!(
        condition_error("attribute_exists(a) = :v", none.clone(), v.clone()),
        "Invalid ConditionExpression: The function is not allowed to be used this way in an expression; function: attribute_exists"
    );
    assert_eq!(
        condition_error("size(a)", none.clone(), none.clone()),
        "Invalid ConditionExpression: The function is not allowed to be used this way in an expression; function: size"
    );
    assert_eq!(
        condition_error("begins_with(a)", none.clone(), none.clone()),
        "Invalid ConditionExpression: Incorrect number of operands for operator or function; operator or function: begins_with, number of operands: 1"
    );
    assert_eq!(
        condition_error("attribute_exists(:v)", none.clone(), v.clone()),
        "Invalid ConditionExpression: Operator or function requires a document path; operator or function: attribute_exists"
    );
    assert_eq!(
        condition_error("begins_with(a, :v)", none.clone(), v.clone()),
        "Invalid ConditionExpression: Incorrect operand type for operator or function; operator or function: begins_with, operand type: N"
    );
    assert_eq!(
        condition_error(
            "attribute_type(a, :t)",
            none.clone(),
            json!({":t": {"S": "X"}})
        ),
        "Invalid ConditionExpression: Invalid attribute type name found; type: X, valid types: {B,NULL,SS,BOOL,L,BS,N,NS,S,M}"
    );
    assert_eq!(
        condition_error("a = a", none.clone(), none.clone()),
        "Invalid ConditionExpression: The first operand must be distinct from the remaining operands for this operator or function; operator: =, first operand: [a]"
    );
    assert_eq!(
        condition_error(
            "a BETWEEN :h AND :l",
            none.clone(),
            json!({":l": {"N": "1"}, ":h": {"N": "5"}})
        ),
        "Invalid ConditionExpression: The BETWEEN operator requires upper bound to be greater than or equal to lower bound; lower bound operand: AttributeValue: {N:5}, upper bound operand: AttributeValue: {N:1}"
    );
    assert_eq!(
        condition_error(
            "a BETWEEN :l AND :h",
            none.clone(),
            json!({":l": {"N": "1"}, ":h": {"S": "5"}})
        ),
        "Invalid ConditionExpression: The BETWEEN operator requires same data type for lower and upper bounds; lower bound operand: AttributeValue: {N:1}, upper bound operand: AttributeValue: {S:5}"
    );
    assert_eq!(
        condition_error("", none.clone(), none.clone()),
        "Invalid ConditionExpression: The expression can not be empty;"
    );
    let mut a = attrs(none.clone(), v.clone());
    assert_eq!(
        a.filter("a = ").unwrap_err().message,
        "Invalid FilterExpression: Syntax error; token: \"<EOF>\", near: \"=\""
    );
}

#[test]
fn attribute_map_validation() {
    let err = |names: Option<Value>, values: Option<Value>| {
        ExpressionAttributes::from_json(names.as_ref(), values.as_ref())
            .unwrap_err()
            .message
    };
    assert_eq!(
        err(Some(json!({})), None),
        "ExpressionAttributeNames must not be empty"
    );
    assert_eq!(
        err(None, Some(json!({}))),
        "ExpressionAttributeValues must not be empty"
    );
    assert_eq!(
        err(Some(json!({"a": "b"})), None),
        "ExpressionAttributeNames contains invalid key: Syntax error; key: \"a\""
    );
    assert_eq!(
        err(None, Some(json!({"v": {"S": "x"}}))),
        "ExpressionAttributeValues contains invalid key: Syntax error; key: \"v\""
    );
    assert_eq!(
        err(None, Some(json!({":v": {"N": "x"}}))),
        "ExpressionAttributeValues contains invalid value: The parameter cannot be converted to a numeric value: x for key :v"
    );
    assert_eq!(
        err(None, Some(json!({":v": {"SS": []}}))),
        "ExpressionAttributeValues contains invalid value: One or more parameter values were invalid: An string set  may not be empty for key :v"
    );
}

#[test]
fn update_set_arithmetic_and_functions() {
    let v =
        json!({":one": {"N": "1"}, ":big": {"N": "10000000000000000000000"}, ":zero": {"N": "0"}});
    let out = apply("SET a = :one + :big, b = :big - :one", v.clone(), json!({})).unwrap();
    assert_eq!(out["a"], V::n("10000000000000000000001"));
    assert_eq!(out["b"], V::n("9999999999999999999999"));
    let out = apply(
        "SET c = if_not_exists(c, :zero) + :one, d = :one REMOVE e",
        json!({":zero": {"N": "0"}, ":one": {"N": "1"}}),
        json!({"c": {"N": "41"}, "e": {"S": "gone"}}),
    )
    .unwrap();
    assert_eq!(out["c"], V::n("42"));
    assert_eq!(out["d"], V::n("1"));
    assert!(!out.contains_key("e"));
    // Right-hand sides read the item as it was before the update.
    let out = apply(
        "SET a = b, b = a",
        json!(null),
        json!({"a": {"S": "A"}, "b": {"S": "B"}}),
    )
    .unwrap();
    assert_eq!((out["a"].clone(), out["b"].clone()), (V::s("B"), V::s("A")));
    let lists = json!({":x": {"L": [{"S": "x"}]}, ":empty": {"L": []}});
    let out = apply(
        "SET l = list_append(l, :x), m = list_append(:x, if_not_exists(m, :empty))",
        lists,
        json!({"l": {"L": [{"S": "a"}]}}),
    )
    .unwrap();
    assert_eq!(out["l"], V::L(vec![V::s("a"), V::s("x")]));
    assert_eq!(out["m"], V::L(vec![V::s("x")]));
    assert_eq!(
        apply(
            "SET a = :one + :big",
            json!({":one": {"N": "9e125"}, ":big": {"N": "9e125"}}),
            json!({})
        )
        .unwrap_err(),
        "Number overflow. Attempting to store a number with magnitude larger than supported range"
    );
    assert_eq!(
        apply(
            "SET a = b + :one",
            json!({":one": {"N": "1"}}),
            json!({"b": {"S": "x"}})
        )
        .unwrap_err(),
        "An operand in the update expression has an incorrect data type"
    );
    assert_eq!(
        apply("SET a = b", json!(null), json!({})).unwrap_err(),
        "The provided expression refers to an attribute that does not exist in the item"
    );
    assert_eq!(
        apply("SET a.b = :one", json!({":one": {"N": "1"}}), json!({})).unwrap_err(),
        "The document path provided in the update expression is invalid for update"
    );
}

#[test]
fn update_nested_and_lists() {
    let v = json!({":v": {"S": "new"}});
    let base = json!({"m": {"M": {"l": {"L": [{"S": "a"}, {"S": "b"}, {"S": "c"}]}}}});
    let out = apply("SET m.l[1] = :v, m.k = :v", v.clone(), base.clone()).unwrap();
    assert_eq!(
        out["m"],
        item(
            json!({"x": {"M": {"l": {"L": [{"S": "a"}, {"S": "new"}, {"S": "c"}]}, "k": {"S": "new"}}}})
        )["x"]
    );
    // An index past the end appends.
    let out = apply("SET m.l[10] = :v", v.clone(), base.clone()).unwrap();
    assert_eq!(
        out["m"],
        item(json!({"x": {"M": {"l": {"L": [{"S": "a"}, {"S": "b"}, {"S": "c"}, {"S": "new"}]}}}}))
            ["x"]
    );
    // Several removals refer to the list as it was.
    let out = apply("REMOVE m.l[0], m.l[2]", json!(null), base.clone()).unwrap();
    assert_eq!(
        out["m"],
        item(json!({"x": {"M": {"l": {"L": [{"S": "b"}]}}}}))["x"]
    );
    assert_eq!(
        apply("REMOVE m.x.y", json!(null), base).unwrap_err(),
        "The document path provided in the update expression is invalid for update"
    );
}

#[test]
fn update_add_and_delete() {
    let v = json!({":n": {"N": "5"}, ":ss": {"SS": ["b", "c"]}, ":ns": {"NS": ["1"]}});
    let out = apply(
        "ADD n :n, fresh :n, s :ss",
        v.clone(),
        json!({"n": {"N": "-2"}, "s": {"SS": ["a", "b"]}}),
    )
    .unwrap();
    assert_eq!(out["n"], V::n("3"));
    assert_eq!(out["fresh"], V::n("5"));
    assert_eq!(out["s"], item(json!({"x": {"SS": ["a", "b", "c"]}}))["x"]);
    assert_eq!(
        apply("ADD s :n", v.clone(), json!({"s": {"SS": ["a"]}})).unwrap_err(),
        "An operand in the update expression has an incorrect data type"
    );
    let out = apply("DELETE s :ss", v.clone(), json!({"s": {"SS": ["a", "b"]}})).unwrap();
    assert_eq!(out["s"], item(json!({"x": {"SS": ["a"]}}))["x"]);
    // Deleting every element removes the attribute; deleting from nothing is fine.
    let out = apply(
        "DELETE s :ss, t :ns",
        v.clone(),
        json!({"s": {"SS": ["b"]}}),
    )
    .unwrap();
    assert!(out.is_empty());
    assert_eq!(
        apply("DELETE s :ns", v.clone(), json!({"s": {"SS": ["a"]}})).unwrap_err(),
        "An operand in the update expression has an incorrect data type"
    );
}

#[test]
fn update_validation_messages() {
    let none = json!(null);
    let v = json!({":v": {"S": "x"}, ":n": {"N": "1"}});
    let s = json!({":v": {"S": "x"}});
    assert_eq!(
        update_error("SET a = :v, a.b = :v", none.clone(), s.clone()),
        "Invalid UpdateExpression: Two document paths overlap with each other; must remove or rewrite one of these paths; path one: [a], path two: [a, b]"
    );
    assert_eq!(
        update_error("SET a.b = :v REMOVE a[0]", none.clone(), s.clone()),
        "Invalid UpdateExpression: Two document paths conflict with each other; must remove or rewrite one of these paths; path one: [a, b], path two: [a, [0]]"
    );
    assert_eq!(
        update_error("SET a = :v SET b = :v", none.clone(), s.clone()),
        "Invalid UpdateExpression: The \"SET\" section can only be used once in an update expression;"
    );
    assert_eq!(
        update_error("ADD a :v", none.clone(), s.clone()),
        "Invalid UpdateExpression: Incorrect operand type for operator or function; operator: ADD, operand type: STRING"
    );
    assert_eq!(
        update_error("DELETE a :n", none.clone(), json!({":n": {"N": "1"}})),
        "Invalid UpdateExpression: Incorrect operand type for operator or function; operator: DELETE, operand type: NUMBER"
    );
    assert_eq!(
        update_error("SET a = :v + :n", none.clone(), v.clone()),
        "Invalid UpdateExpression: Incorrect operand type for operator or function; operator or function: +, operand type: S"
    );
    assert_eq!(
        update_error("SET a = list_append(:v, b)", none.clone(), s.clone()),
        "Invalid UpdateExpression: Incorrect operand type for operator or function; operator or function: list_append, operand type: S"
    );
    assert_eq!(
        update_error("SET a = if_not_exists(:v, :v)", none.clone(), s.clone()),
        "Invalid UpdateExpression: Operator or function requires a document path; operator or function: if_not_exists"
    );
    assert_eq!(
        update_error("SET a = size(b)", none.clone(), none.clone()),
        "Invalid UpdateExpression: Invalid function name; function: size"
    );
    assert_eq!(
        update_error("SET a = :v", none.clone(), v.clone()),
        "Value provided in ExpressionAttributeValues unused in expressions: keys: {:n}"
    );
    assert_eq!(
        update_error("SET a = ", none.clone(), none.clone()),
        "Invalid UpdateExpression: Syntax error; token: \"<EOF>\", near: \"=\""
    );
    assert_eq!(
        update_error("SET size = :v", none.clone(), s.clone()),
        "Invalid UpdateExpression: Attribute name is a reserved keyword; reserved keyword: size"
    );
    let mut a = attrs(json!({"#k": "pk"}), s.clone());
    let update = a.update("SET #k = :v").unwrap();
    assert_eq!(
        update
            .check_key_attributes(["pk", "sk"])
            .unwrap_err()
            .message,
        "One or more parameter values were invalid: Cannot update attribute pk. This attribute is part of the key"
    );
    let mut a = attrs(none, s);
    let update = a.update("SET pk.x = :v").unwrap();
    assert_eq!(
        update.check_key_attributes(["pk"]).unwrap_err().message,
        "Key attributes must be scalars; list random access '[]' and map lookup '.' are not allowed: Key: pk"
    );
}

#[test]
fn return_values_paths() {
    let mut a = attrs(json!(null), json!({":v": {"N": "1"}}));
    let update = a.update("SET a.b = :v, c = :v REMOVE d").unwrap();
    let old = item(
        json!({"a": {"M": {"b": {"N": "0"}, "z": {"S": "keep"}}}, "d": {"S": "x"}, "e": {"S": "untouched"}}),
    );
    let mut new = old.clone();
    update.apply(&mut new).unwrap();
    assert_eq!(
        update.updated_attributes().into_iter().collect::<Vec<_>>(),
        vec!["a", "c", "d"]
    );
    // UPDATED_OLD / UPDATED_NEW return just the updated paths.
    assert_eq!(
        project_paths(&old, update.paths()),
        item(json!({"a": {"M": {"b": {"N": "0"}}}, "d": {"S": "x"}}))
    );
    assert_eq!(
        project_paths(&new, update.paths()),
        item(json!({"a": {"M": {"b": {"N": "1"}}}, "c": {"N": "1"}}))
    );
}

#[test]
fn projections() {
    let mut a = attrs(json!({"#n": "name"}), json!(null));
    let projection = a.projection("#n, a.b[0].c, l[2], l[0], m.x, nope").unwrap();
    a.finish().unwrap();
    let source = item(json!({
        "name": {"S": "n"}, "other": {"S": "o"},
        "a": {"M": {"b": {"L": [{"M": {"c": {"N": "1"}, "d": {"N": "2"}}}, {"S": "second"}]}}},
        "l": {"L": [{"S": "l0"}, {"S": "l1"}, {"S": "l2"}]},
        "m": {"S": "not a map"}
    }));
    assert_eq!(
        projection.apply(&source),
        item(json!({
            "name": {"S": "n"},
            "a": {"M": {"b": {"L": [{"M": {"c": {"N": "1"}}}]}}},
            "l": {"L": [{"S": "l0"}, {"S": "l2"}]}
        }))
    );
    let mut a = attrs(json!(null), json!(null));
    assert_eq!(
        a.projection("a, a.b").unwrap_err().message,
        "Invalid ProjectionExpression: Two document paths overlap with each other; must remove or rewrite one of these paths; path one: [a], path two: [a, b]"
    );
    assert_eq!(
        a.projection("my-attribute").unwrap_err().message,
        "Invalid ProjectionExpression: Syntax error; token: \"-\", near: \"my-attribute\""
    );
    assert_eq!(
        a.projection("data").unwrap_err().message,
        "Invalid ProjectionExpression: Attribute name is a reserved keyword; reserved keyword: data"
    );
}

#[test]
fn key_conditions() {
    let pk = KeyAttribute {
        name: "p",
        value_type: ValueType::S,
    };
    let sk = KeyAttribute {
        name: "c",
        value_type: ValueType::N,
    };
    let values = json!({":p": {"S": "user"}, ":a": {"N": "1"}, ":b": {"N": "5"}, ":s": {"S": "x"}});
    let key = |expression: &str| {
        let mut a = attrs(json!(null), values.clone());
        a.key_condition(expression)
            .and_then(|k| k.for_schema(pk, Some(sk)))
            .map_err(|e| e.message)
    };
    let q = key("p = :p").unwrap();
    assert_eq!((q.partition_key, q.sort_key), (V::s("user"), None));
    assert_eq!(
        key("p = :p AND c BETWEEN :a AND :b").unwrap().sort_key,
        Some(SortKeyOp::Between(V::n("1"), V::n("5")))
    );
    assert_eq!(
        key(":a < c AND :p = p").unwrap().sort_key,
        Some(SortKeyOp::Gt(V::n("1")))
    );
    assert_eq!(
        key("p = :p AND c <= :b").unwrap().sort_key,
        Some(SortKeyOp::Le(V::n("5")))
    );
    assert_eq!(
        key("p = :p OR c = :a").unwrap_err(),
        "Invalid operator used in KeyConditionExpression: OR"
    );
    assert_eq!(
        key("p = :p AND c <> :a").unwrap_err(),
        "Invalid operator used in KeyConditionExpression: <>"
    );
    assert_eq!(
        key("p = :p AND attribute_exists(c)").unwrap_err(),
        "Invalid operator used in KeyConditionExpression: attribute_exists"
    );
    assert_eq!(
        key("p = :p AND size(c) = :a").unwrap_err(),
        "KeyConditionExpressions cannot contain nested operations"
    );
    assert_eq!(
        key("p = :p AND p = :p").unwrap_err(),
        "KeyConditionExpressions must only contain one condition per key"
    );
    assert_eq!(
        key("p.x = :p").unwrap_err(),
        "KeyConditionExpressions cannot have conditions on nested attributes"
    );
    assert_eq!(
        key("p = c").unwrap_err(),
        "Invalid condition in KeyConditionExpression: Multiple attribute names used in one condition"
    );
    assert_eq!(
        key("c = :a").unwrap_err(),
        "Query condition missed key schema element: p"
    );
    assert_eq!(
        key("p < :p").unwrap_err(),
        "Query key condition not supported"
    );
    assert_eq!(
        key("p < :a").unwrap_err(),
        "One or more parameter values were invalid: Condition parameter type does not match schema type"
    );
    assert_eq!(
        key("p = :p AND c = :s").unwrap_err(),
        "One or more parameter values were invalid: Condition parameter type does not match schema type"
    );
    assert_eq!(
        key("p = :p AND begins_with(c, :a)").unwrap_err(),
        "Invalid KeyConditionExpression: Incorrect operand type for operator or function; operator or function: begins_with, operand type: N"
    );
    assert_eq!(
        key("p = :p AND x = :a").unwrap_err(),
        "Query condition missed key schema element: c"
    );

    let op = SortKeyOp::BeginsWith(V::s("ab"));
    assert!(op.matches(&V::s("abc")) && !op.matches(&V::s("b")));
    assert_eq!(
        op.encoded_bounds(),
        (
            Bound::Included(b"ab".to_vec()),
            Bound::Excluded(b"ac".to_vec())
        )
    );
    assert!(SortKeyOp::Between(V::n("1"), V::n("5")).matches(&V::n("5.0")));
}

#[test]
fn display_prints_minimal_parentheses() {
    let mut a = attrs(json!(null), json!({":v": {"N": "1"}}));
    let c = a
        .condition("(a = :v OR b = :v) AND NOT (c = :v AND d = :v) OR ((e = :v) AND f IN (:v))")
        .unwrap();
    assert_eq!(
        c.to_string(),
        "(a = :v OR b = :v) AND NOT (c = :v AND d = :v) OR e = :v AND f IN (:v)"
    );
    let u = a
        .update("set a = (b + :v), c = if_not_exists(c, :v) remove d, e[1] add f :v")
        .unwrap();
    assert_eq!(
        u.to_string(),
        "SET a = b + :v, c = if_not_exists(c, :v) REMOVE d, e[1] ADD f :v"
    );
}

#[test]
fn parenthesised_forms_real_dynamodb_accepts() {
    let it = json!({"pk": {"S": "p"}, "s": {"S": "x"}, "t": {"S": "b"}});
    let v = json!({":a": {"S": "a"}, ":b": {"S": "b"}, ":x": {"S": "x"}});
    for expression in [
        "(attribute_exists(pk)) AND (attribute_exists(s))",
        "(attribute_exists(pk) AND attribute_exists(s))",
        "(attribute_exists(pk) AND (attribute_exists(s)))",
        "(s = :x) AND ((t = :a) OR (t = :b))",
        "(s = :x) AND (t = :a OR (t = :b))",
    ] {
        assert!(holds(expression, v.clone(), &it), "{expression}");
    }
    let mut a = attrs(json!(null), json!({":p": {"S": "p"}, ":x": {"S": "x"}}));
    let key = a.key_condition("(pk = :p AND (s = :x))").unwrap();
    assert_eq!(key.predicates.len(), 2);
}

#[test]
fn syntax_error_near_text_matches_dynamodb() {
    // Texts observed from DynamoDB (nubo-db/dynamodb-conformance, tier3 error messages).
    assert_eq!(
        update_error(
            "INVALID SYNTAX HERE",
            json!(null),
            json!({":v": {"S": "val"}})
        ),
        "Invalid UpdateExpression: Syntax error; token: \"INVALID\", near: \"INVALID SYNTAX\""
    );
    // Real DynamoDB, as recorded by client test suites.
    assert_eq!(
        condition_error("foo", json!(null), json!(null)),
        "Invalid ConditionExpression: Syntax error; token: \"<EOF>\", near: \"foo\""
    );
    assert_eq!(
        condition_error("a+:delta<b", json!(null), json!({":delta": {"N": "3"}})),
        "Invalid ConditionExpression: Syntax error; token: \"+\", near: \"a+:delta\""
    );
    assert_eq!(
        condition_error("attribute_not_exists(", json!(null), json!(null)),
        "Invalid ConditionExpression: Syntax error; token: \"<EOF>\", near: \"(\""
    );
    assert_eq!(
        update_error("SET a = :v, ", json!(null), json!({":v": {"N": "1"}})),
        "Invalid UpdateExpression: Syntax error; token: \"<EOF>\", near: \",\""
    );
    let mut a = attrs(json!(null), json!(null));
    assert_eq!(
        a.projection("!!! INVALID !!!").unwrap_err().message,
        "Invalid ProjectionExpression: Syntax error; token: \"!\", near: \"!!\""
    );
}

#[test]
fn expression_size_limit() {
    let names: Vec<String> = (0..200).map(|i| format!("a{i:019}")).collect();
    let joined = names.join(",");
    let at_limit = &joined[..4096]
        .trim_end_matches(|c: char| c != ',')
        .trim_end_matches(',');
    let mut a = attrs(json!(null), json!(null));
    a.projection(at_limit).unwrap();
    let over = joined;
    assert_eq!(
        a.projection(&over).unwrap_err().message,
        format!(
            "Invalid ProjectionExpression: Expression size has exceeded the maximum allowed size; expression size: {}",
            over.len()
        )
    );
    let exactly = "b".repeat(4096);
    a.projection(&exactly).unwrap();
    assert!(a.projection(&format!("{exactly}d")).is_err());
}
