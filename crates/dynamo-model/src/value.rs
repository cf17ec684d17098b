//! Attribute values and items in DynamoDB's JSON wire shape (`{"S":"x"}`, `{"N":"12"}`, …).

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde_json::{Map, Value};

use crate::error::{DynamoError, Result};
use crate::number::Number;

/// Levels of nesting DynamoDB allows in a value (a top-level attribute value is level 1).
pub const MAX_NESTING_DEPTH: usize = 32;

/// An item: attribute name → value.
pub type Item = BTreeMap<String, AttributeValue>;

/// One DynamoDB attribute value. Sets are kept sorted (strings and binaries bytewise, numbers
/// numerically), which makes set equality order-independent as DynamoDB's is.
#[derive(Clone, PartialEq, Eq, Hash)]
pub enum AttributeValue {
    S(String),
    N(Number),
    B(Vec<u8>),
    Bool(bool),
    Null,
    L(Vec<AttributeValue>),
    M(BTreeMap<String, AttributeValue>),
    Ss(BTreeSet<String>),
    Ns(BTreeSet<Number>),
    Bs(BTreeSet<Vec<u8>>),
}

/// The type descriptors DynamoDB uses (`attribute_type`, key schemas, error messages).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ValueType {
    S,
    N,
    B,
    Bool,
    Null,
    L,
    M,
    Ss,
    Ns,
    Bs,
}

impl ValueType {
    pub const ALL: [ValueType; 10] = [
        ValueType::S,
        ValueType::N,
        ValueType::B,
        ValueType::Bool,
        ValueType::Null,
        ValueType::L,
        ValueType::M,
        ValueType::Ss,
        ValueType::Ns,
        ValueType::Bs,
    ];

    /// The descriptor as it appears on the wire: `S`, `N`, `B`, `BOOL`, `NULL`, `L`, `M`, `SS`, `NS`, `BS`.
    pub fn as_str(self) -> &'static str {
        match self {
            ValueType::S => "S",
            ValueType::N => "N",
            ValueType::B => "B",
            ValueType::Bool => "BOOL",
            ValueType::Null => "NULL",
            ValueType::L => "L",
            ValueType::M => "M",
            ValueType::Ss => "SS",
            ValueType::Ns => "NS",
            ValueType::Bs => "BS",
        }
    }

    pub fn parse(descriptor: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.as_str() == descriptor)
    }
}

impl fmt::Display for ValueType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl AttributeValue {
    pub fn value_type(&self) -> ValueType {
        match self {
            AttributeValue::S(_) => ValueType::S,
            AttributeValue::N(_) => ValueType::N,
            AttributeValue::B(_) => ValueType::B,
            AttributeValue::Bool(_) => ValueType::Bool,
            AttributeValue::Null => ValueType::Null,
            AttributeValue::L(_) => ValueType::L,
            AttributeValue::M(_) => ValueType::M,
            AttributeValue::Ss(_) => ValueType::Ss,
            AttributeValue::Ns(_) => ValueType::Ns,
            AttributeValue::Bs(_) => ValueType::Bs,
        }
    }

    pub fn as_s(&self) -> Option<&str> {
        match self {
            AttributeValue::S(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_n(&self) -> Option<&Number> {
        match self {
            AttributeValue::N(n) => Some(n),
            _ => None,
        }
    }

    pub fn as_b(&self) -> Option<&[u8]> {
        match self {
            AttributeValue::B(b) => Some(b),
            _ => None,
        }
    }

    /// Convenience constructor for a number from its decimal text (panics on invalid input;
    /// use [`Number::parse`] for untrusted text).
    pub fn n(text: &str) -> Self {
        AttributeValue::N(
            Number::parse(text).unwrap_or_else(|e| panic!("invalid number {text:?}: {e}")),
        )
    }

    pub fn s(text: impl Into<String>) -> Self {
        AttributeValue::S(text.into())
    }

    /// Parses one attribute value from the wire, with DynamoDB's checks: exactly one type
    /// descriptor, valid numbers, non-empty and duplicate-free sets, `NULL` only `true`.
    /// Structural mistakes (wrong JSON types, bad base64) are `SerializationException`s,
    /// content mistakes `ValidationException`s, as in DynamoDB.
    pub fn from_json(json: &Value) -> Result<Self> {
        Self::from_json_at(json, 0)
    }

    /// `depth` 0 is a top-level attribute value; DynamoDB allows 32 levels.
    fn from_json_at(json: &Value, depth: usize) -> Result<Self> {
        if depth >= MAX_NESTING_DEPTH {
            return Err(DynamoError::validation(
                "Nesting Levels have exceeded supported limits: Attributes in the item have nested levels beyond supported limit",
            ));
        }
        let Value::Object(fields) = json else {
            return Err(DynamoError::serialization(
                "Unexpected value type in payload",
            ));
        };
        let mut parsed = None;
        // DynamoDB reports a bad value before it complains about several type descriptors.
        for (descriptor, body) in fields {
            let value = parse_typed(descriptor, body, depth)?;
            if let Some(value) = value {
                if parsed.is_some() {
                    parsed = Some(Err(()));
                } else {
                    parsed = Some(Ok(value));
                }
            }
        }
        match parsed {
            None => Err(DynamoError::validation(
                "Supplied AttributeValue is empty, must contain exactly one of the supported datatypes",
            )),
            Some(Err(())) => Err(DynamoError::validation(
                "Supplied AttributeValue has more than one datatypes set, must contain exactly one of the supported datatypes",
            )),
            Some(Ok(value)) => Ok(value),
        }
    }

    /// The wire JSON of this value.
    pub fn to_json(&self) -> Value {
        let mut object = Map::with_capacity(1);
        let body = match self {
            AttributeValue::S(s) => Value::String(s.clone()),
            AttributeValue::N(n) => Value::String(n.to_string()),
            AttributeValue::B(b) => Value::String(BASE64.encode(b)),
            AttributeValue::Bool(b) => Value::Bool(*b),
            AttributeValue::Null => Value::Bool(true),
            AttributeValue::L(list) => {
                Value::Array(list.iter().map(AttributeValue::to_json).collect())
            }
            AttributeValue::M(map) => item_to_json(map),
            AttributeValue::Ss(set) => set.iter().map(|s| Value::String(s.clone())).collect(),
            AttributeValue::Ns(set) => set.iter().map(|n| Value::String(n.to_string())).collect(),
            AttributeValue::Bs(set) => set
                .iter()
                .map(|b| Value::String(BASE64.encode(b)))
                .collect(),
        };
        object.insert(self.value_type().as_str().to_string(), body);
        Value::Object(object)
    }
}

/// `Ok(None)` for descriptors DynamoDB ignores when null (the SDKs never send them).
fn parse_typed(descriptor: &str, body: &Value, depth: usize) -> Result<Option<AttributeValue>> {
    if body.is_null() {
        return Ok(None);
    }
    let value = match descriptor {
        "S" => AttributeValue::S(expect_string(body, "String")?.to_string()),
        "N" => AttributeValue::N(parse_number(expect_string(body, "Number")?)?),
        "B" => AttributeValue::B(parse_binary(body)?),
        "BOOL" => match body {
            Value::Bool(b) => AttributeValue::Bool(*b),
            _ => {
                return Err(DynamoError::serialization(
                    "Unexpected token received from parser",
                ));
            }
        },
        "NULL" => match body {
            Value::Bool(true) => AttributeValue::Null,
            Value::Bool(false) => {
                return Err(DynamoError::invalid_parameter(
                    "Null attribute value types must have the value of true",
                ));
            }
            _ => {
                return Err(DynamoError::serialization(
                    "Unexpected token received from parser",
                ));
            }
        },
        "L" => AttributeValue::L(
            expect_array(body)?
                .iter()
                .map(|v| AttributeValue::from_json_at(v, depth + 1))
                .collect::<Result<_>>()?,
        ),
        "M" => AttributeValue::M(map_from_json(body, depth + 1)?),
        "SS" => {
            let items = expect_array(body)?;
            if items.is_empty() {
                return Err(DynamoError::invalid_parameter(
                    "An string set  may not be empty",
                ));
            }
            let strings: Vec<&str> = items
                .iter()
                .map(|v| expect_string(v, "String"))
                .collect::<Result<_>>()?;
            let set: BTreeSet<String> = strings.iter().map(|s| s.to_string()).collect();
            if set.len() != strings.len() {
                return Err(DynamoError::invalid_parameter(format!(
                    "Input collection [{}] contains duplicates.",
                    strings.join(", ")
                )));
            }
            AttributeValue::Ss(set)
        }
        "NS" => {
            let items = expect_array(body)?;
            if items.is_empty() {
                return Err(DynamoError::invalid_parameter(
                    "An number set  may not be empty",
                ));
            }
            let numbers: Vec<Number> = items
                .iter()
                .map(|v| parse_number(expect_string(v, "Number")?))
                .collect::<Result<_>>()?;
            let count = numbers.len();
            let set: BTreeSet<Number> = numbers.into_iter().collect();
            if set.len() != count {
                return Err(DynamoError::validation(
                    "Input collection contains duplicates",
                ));
            }
            AttributeValue::Ns(set)
        }
        "BS" => {
            let items = expect_array(body)?;
            if items.is_empty() {
                return Err(DynamoError::invalid_parameter(
                    "Binary sets should not be empty",
                ));
            }
            let binaries: Vec<Vec<u8>> = items.iter().map(parse_binary).collect::<Result<_>>()?;
            let count = binaries.len();
            let set: BTreeSet<Vec<u8>> = binaries.into_iter().collect();
            if set.len() != count {
                let shown: Vec<String> = items
                    .iter()
                    .map(|v| v.as_str().unwrap_or_default().to_string())
                    .collect();
                return Err(DynamoError::invalid_parameter(format!(
                    "Input collection [{}]of type BS contains duplicates.",
                    shown.join(", ")
                )));
            }
            AttributeValue::Bs(set)
        }
        _ => {
            return Err(DynamoError::serialization(format!(
                "Unknown attribute value type: {descriptor}"
            )));
        }
    };
    Ok(Some(value))
}

fn expect_string<'a>(body: &'a Value, java_type: &str) -> Result<&'a str> {
    match body {
        Value::String(s) => Ok(s),
        Value::Array(_) => Err(DynamoError::serialization(format!(
            "Unrecognized collection type class java.lang.{java_type}"
        ))),
        Value::Object(_) => Err(DynamoError::serialization(
            "Start of structure or map found where not expected",
        )),
        // DynamoDB accepts no bare JSON numbers or booleans for string-typed members.
        _ => Err(DynamoError::serialization(format!(
            "NUMBER_VALUE cannot be converted to {java_type}"
        ))),
    }
}

fn expect_array(body: &Value) -> Result<&Vec<Value>> {
    match body {
        Value::Array(items) => Ok(items),
        _ => Err(DynamoError::serialization(
            "Start of structure or map found where not expected",
        )),
    }
}

fn parse_number(text: &str) -> Result<Number> {
    Number::parse(text).map_err(|e| DynamoError::validation(e.to_string()))
}

fn parse_binary(body: &Value) -> Result<Vec<u8>> {
    let text = match body {
        Value::String(s) => s,
        Value::Array(_) => {
            return Err(DynamoError::serialization(
                "Unrecognized collection type class java.nio.ByteBuffer",
            ));
        }
        _ => {
            return Err(DynamoError::serialization(
                "Start of structure or map found where not expected",
            ));
        }
    };
    if text.len() % 4 != 0 {
        return Err(DynamoError::serialization(format!(
            "Base64 encoded length is expected a multiple of 4 bytes but found: {}",
            text.len()
        )));
    }
    BASE64
        .decode(text)
        .map_err(|_| DynamoError::serialization("Invalid last non-pad Base64 character dectected"))
}

/// Parses a map of attribute values (`Item`, `Key`, `M` bodies, `ExclusiveStartKey`).
pub fn item_from_json(json: &Value) -> Result<Item> {
    map_from_json(json, 0)
}

fn map_from_json(json: &Value, depth: usize) -> Result<Item> {
    let Value::Object(fields) = json else {
        return Err(DynamoError::serialization(
            "Unexpected value type in payload",
        ));
    };
    fields
        .iter()
        .map(|(name, value)| Ok((name.clone(), AttributeValue::from_json_at(value, depth)?)))
        .collect()
}

pub fn item_to_json(item: &Item) -> Value {
    Value::Object(
        item.iter()
            .map(|(name, value)| (name.clone(), value.to_json()))
            .collect(),
    )
}

impl serde::Serialize for AttributeValue {
    fn serialize<S: serde::Serializer>(
        &self,
        serializer: S,
    ) -> std::result::Result<S::Ok, S::Error> {
        self.to_json().serialize(serializer)
    }
}

/// Deserialising runs the same checks as [`AttributeValue::from_json`]; the serde error text is
/// the DynamoDB message. Servers that must tell `SerializationException` from
/// `ValidationException` should deserialise to `serde_json::Value` and call `from_json`.
impl<'de> serde::Deserialize<'de> for AttributeValue {
    fn deserialize<D: serde::Deserializer<'de>>(
        deserializer: D,
    ) -> std::result::Result<Self, D::Error> {
        let json = Value::deserialize(deserializer)?;
        AttributeValue::from_json(&json).map_err(|e| serde::de::Error::custom(e.message))
    }
}

impl fmt::Debug for AttributeValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.to_json())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;
    use serde_json::json;

    fn parse(json: Value) -> Result<AttributeValue> {
        AttributeValue::from_json(&json)
    }

    #[test]
    fn round_trips_every_type() {
        let item = json!({
            "s": {"S": "x"}, "empty": {"S": ""}, "n": {"N": "12"}, "b": {"B": "AAEC"},
            "t": {"BOOL": true}, "null": {"NULL": true},
            "l": {"L": [{"S": "a"}, {"N": "1"}]}, "m": {"M": {"k": {"SS": ["b", "a"]}}},
            "ns": {"NS": ["10", "9"]}, "bs": {"BS": ["AQ==", "AA=="]}
        });
        let parsed = item_from_json(&item).unwrap();
        assert_eq!(parsed["b"], AttributeValue::B(vec![0, 1, 2]));
        assert_eq!(parsed["n"], AttributeValue::n("12"));
        let back = item_to_json(&parsed);
        // Sets come back sorted.
        assert_eq!(back["m"], json!({"M": {"k": {"SS": ["a", "b"]}}}));
        assert_eq!(back["ns"], json!({"NS": ["9", "10"]}));
        assert_eq!(back["bs"], json!({"BS": ["AA==", "AQ=="]}));
        assert_eq!(item_from_json(&back).unwrap(), parsed);
        let via_serde: Item = serde_json::from_value(item).unwrap();
        assert_eq!(via_serde, parsed);
        assert_eq!(serde_json::to_value(&via_serde).unwrap(), back);
    }

    #[test]
    fn numbers_come_back_normalised() {
        assert_eq!(
            parse(json!({"N": "0001.50"})).unwrap().to_json(),
            json!({"N": "1.5"})
        );
        assert_eq!(
            parse(json!({"NS": ["1", "1.0"]})).unwrap_err().message,
            "Input collection contains duplicates"
        );
    }

    #[test]
    fn dynamodb_validation_messages() {
        let cases = [
            (
                json!({}),
                "Supplied AttributeValue is empty, must contain exactly one of the supported datatypes",
            ),
            (
                json!({"S": "a", "N": "1"}),
                "Supplied AttributeValue has more than one datatypes set, must contain exactly one of the supported datatypes",
            ),
            (
                json!({"NULL": false}),
                "One or more parameter values were invalid: Null attribute value types must have the value of true",
            ),
            (
                json!({"SS": []}),
                "One or more parameter values were invalid: An string set  may not be empty",
            ),
            (
                json!({"NS": []}),
                "One or more parameter values were invalid: An number set  may not be empty",
            ),
            (
                json!({"BS": []}),
                "One or more parameter values were invalid: Binary sets should not be empty",
            ),
            (
                json!({"SS": ["a", "a"]}),
                "One or more parameter values were invalid: Input collection [a, a] contains duplicates.",
            ),
            (
                json!({"BS": ["Yg==", "Yg=="]}),
                "One or more parameter values were invalid: Input collection [Yg==, Yg==]of type BS contains duplicates.",
            ),
            (
                json!({"N": "b"}),
                "The parameter cannot be converted to a numeric value: b",
            ),
            (
                json!({"N": ""}),
                "The parameter cannot be converted to a numeric value",
            ),
            (
                json!({"N": "1e126"}),
                "Number overflow. Attempting to store a number with magnitude larger than supported range",
            ),
            (
                json!({"M": {"a": {"N": "1e-131"}}}),
                "Number underflow. Attempting to store a number with magnitude smaller than supported range",
            ),
            (
                json!({"L": [{"N": "123456789012345678901234567890123456789"}]}),
                "Attempting to store more than 38 significant digits in a Number",
            ),
        ];
        for (input, message) in cases {
            let err = parse(input.clone()).unwrap_err();
            assert_eq!(err.kind, ErrorKind::Validation, "{input}");
            assert_eq!(err.message, message, "{input}");
        }
    }

    #[test]
    fn nesting_is_limited_to_32_levels() {
        let nested = |levels: usize| {
            let mut value = json!({"S": "leaf"});
            for _ in 1..levels {
                value = json!({"L": [value]});
            }
            json!({"a": value})
        };
        item_from_json(&nested(32)).unwrap();
        assert_eq!(
            item_from_json(&nested(33)).unwrap_err().message,
            "Nesting Levels have exceeded supported limits: Attributes in the item have nested levels beyond supported limit"
        );
    }

    #[test]
    fn structural_errors_are_serialization_errors() {
        for input in [
            json!({"N": 123}),
            json!({"S": ["a"]}),
            json!({"B": "abc"}),
            json!({"BOOL": "yes"}),
            json!("x"),
        ] {
            assert_eq!(
                parse(input.clone()).unwrap_err().kind,
                ErrorKind::Serialization,
                "{input}"
            );
        }
    }
}
