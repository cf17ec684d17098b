//! Primary keys: validation, order-preserving byte encoding, a stable partition hash, and item
//! size as DynamoDB counts it.

use std::ops::Bound;

use crate::error::{DynamoError, Result};
use crate::number::Number;
use crate::value::{AttributeValue, Item, ValueType};

/// Largest partition key value in bytes.
pub const MAX_PARTITION_KEY_BYTES: usize = 2048;
/// Largest sort key value in bytes.
pub const MAX_SORT_KEY_BYTES: usize = 1024;
/// Largest item, names and values counted, in bytes.
pub const MAX_ITEM_BYTES: usize = 400 * 1024;

/// Bytes whose unsigned lexicographic order (PostgreSQL `bytea` order) equals DynamoDB's order
/// for key values of one type: numbers numerically, strings and binaries bytewise (strings as
/// UTF-8). A key attribute has one type per table, so no type tag is included. Other types
/// have no key order and encode as their JSON text (still stable, for hashing only).
pub fn encode_sort_key(value: &AttributeValue) -> Vec<u8> {
    match value {
        AttributeValue::S(s) => s.as_bytes().to_vec(),
        AttributeValue::B(b) => b.clone(),
        AttributeValue::N(n) => encode_number(n),
        other => other.to_json().to_string().into_bytes(),
    }
}

/// The partition key's bytes: the same canonical encoding (equal numbers like `1` and `1.0`
/// encode equally).
pub fn encode_partition_key(value: &AttributeValue) -> Vec<u8> {
    encode_sort_key(value)
}

/// A stable 64-bit hash of a partition key (FNV-1a over the type and encoding), for spreading
/// keys over Scan segments. It never changes between versions: stored data may depend on it.
pub fn partition_hash(value: &AttributeValue) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    let type_tag = value.value_type().as_str().as_bytes();
    for byte in type_tag
        .iter()
        .chain([0u8].iter())
        .chain(encode_partition_key(value).iter())
    {
        hash ^= u64::from(*byte);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    hash
}

/// Numbers: sign class byte (1 negative, 2 zero, 3 positive), then for positives the biased
/// exponent and the digits; for negatives everything complemented so larger magnitudes sort
/// first, with a terminator above every complemented digit so `-1.2 > -1.25`.
fn encode_number(n: &Number) -> Vec<u8> {
    if n.is_zero() {
        return vec![2];
    }
    let biased = u8::try_from(n.exponent() + 130).expect("exponent range is -130..=125");
    let mut out = Vec::with_capacity(n.digits().len() + 3);
    if n.is_negative() {
        out.push(1);
        out.push(255 - biased);
        out.extend(n.digits().iter().map(|d| 9 - d));
        out.push(10);
    } else {
        out.push(3);
        out.push(biased);
        out.extend_from_slice(n.digits());
    }
    out
}

/// The smallest byte string greater than every string starting with `prefix`, if any.
pub fn prefix_successor(prefix: &[u8]) -> Option<Vec<u8>> {
    let mut end = prefix.to_vec();
    while let Some(last) = end.pop() {
        if last < 0xff {
            end.push(last + 1);
            return Some(end);
        }
    }
    None
}

/// Encoded bounds for all values starting with `prefix` (for `begins_with` on a sort key).
pub fn prefix_bounds(prefix: &[u8]) -> (Bound<Vec<u8>>, Bound<Vec<u8>>) {
    let upper = prefix_successor(prefix).map_or(Bound::Unbounded, Bound::Excluded);
    (Bound::Included(prefix.to_vec()), upper)
}

/// One key attribute of a table or index schema.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeyAttribute<'a> {
    pub name: &'a str,
    /// `S`, `N` or `B`.
    pub value_type: ValueType,
}

/// Checks the key attributes of an item being written (PutItem): present, right type,
/// non-empty, within the size limits.
pub fn validate_item_key(
    item: &Item,
    partition: KeyAttribute<'_>,
    sort: Option<KeyAttribute<'_>>,
) -> Result<()> {
    for (attribute, is_partition) in schema_attributes(partition, sort) {
        let Some(value) = item.get(attribute.name) else {
            return Err(DynamoError::invalid_parameter(format!(
                "Missing the key {} in the item",
                attribute.name
            )));
        };
        if value.value_type() != attribute.value_type {
            return Err(DynamoError::invalid_parameter(format!(
                "Type mismatch for key {} expected: {} actual: {}",
                attribute.name,
                attribute.value_type,
                value.value_type()
            )));
        }
        check_key_value(attribute.name, value, is_partition, true)?;
    }
    Ok(())
}

/// Checks a `Key` parameter (GetItem, UpdateItem, DeleteItem): exactly the schema's attributes.
pub fn validate_key(
    key: &Item,
    partition: KeyAttribute<'_>,
    sort: Option<KeyAttribute<'_>>,
) -> Result<()> {
    let expected = 1 + usize::from(sort.is_some());
    let mismatch = || DynamoError::validation("The provided key element does not match the schema");
    if key.len() != expected {
        return Err(mismatch());
    }
    for (attribute, is_partition) in schema_attributes(partition, sort) {
        let value = key.get(attribute.name).ok_or_else(mismatch)?;
        if value.value_type() != attribute.value_type {
            return Err(mismatch());
        }
        check_key_value(attribute.name, value, is_partition, false)?;
    }
    Ok(())
}

/// The schema's key attributes, each with whether it is the partition key.
fn schema_attributes<'a>(
    partition: KeyAttribute<'a>,
    sort: Option<KeyAttribute<'a>>,
) -> impl Iterator<Item = (KeyAttribute<'a>, bool)> {
    std::iter::once((partition, true)).chain(sort.map(|s| (s, false)))
}

/// `in_item`: DynamoDB words the empty-key error differently for items (PutItem) and `Key`s.
fn check_key_value(
    name: &str,
    value: &AttributeValue,
    is_partition: bool,
    in_item: bool,
) -> Result<()> {
    let bytes = match value {
        AttributeValue::S(s) => s.len(),
        AttributeValue::B(b) => b.len(),
        _ => return Ok(()),
    };
    if bytes == 0 {
        let kind = if matches!(value, AttributeValue::S(_)) {
            "string"
        } else {
            "binary"
        };
        let detail = format!(
            "The AttributeValue for a key attribute cannot contain an empty {kind} value. Key: {name}"
        );
        return Err(if in_item {
            DynamoError::validation(format!(
                "One or more parameter values are not valid. {detail}"
            ))
        } else {
            DynamoError::invalid_parameter(detail)
        });
    }
    if is_partition && bytes > MAX_PARTITION_KEY_BYTES {
        return Err(DynamoError::invalid_parameter(
            "Size of hashkey has exceeded the maximum size limit of2048 bytes",
        ));
    }
    if !is_partition && bytes > MAX_SORT_KEY_BYTES {
        return Err(DynamoError::invalid_parameter(
            "Aggregated size of all range keys has exceeded the size limit of 1024 bytes",
        ));
    }
    Ok(())
}

/// Size of a value as DynamoDB bills and limits it: strings in UTF-8 bytes, binaries in bytes,
/// numbers about one byte per two significant digits plus one, 1 byte for BOOL and NULL,
/// 3 bytes of overhead for lists and maps plus 1 byte per element.
pub fn value_size(value: &AttributeValue) -> usize {
    match value {
        AttributeValue::S(s) => s.len(),
        AttributeValue::B(b) => b.len(),
        AttributeValue::N(n) => number_size(n),
        AttributeValue::Bool(_) | AttributeValue::Null => 1,
        AttributeValue::Ss(set) => set.iter().map(String::len).sum(),
        AttributeValue::Bs(set) => set.iter().map(Vec::len).sum(),
        AttributeValue::Ns(set) => set.iter().map(number_size).sum(),
        AttributeValue::L(list) => 3 + list.iter().map(|v| 1 + value_size(v)).sum::<usize>(),
        AttributeValue::M(map) => {
            3 + map
                .iter()
                .map(|(k, v)| 1 + k.len() + value_size(v))
                .sum::<usize>()
        }
    }
}

/// Numbers are stored as base-100 digit pairs aligned on the exponent, plus an exponent
/// byte and, for negatives, a terminator.
fn number_size(n: &Number) -> usize {
    if n.is_zero() {
        return 1;
    }
    let digits = n.digits().len();
    // Scientific exponent `e` means the decimal point sits after the first digit; pairs are
    // aligned so that an odd `e + 1` needs a leading zero digit.
    let padded = digits + usize::from((n.exponent() + 1).rem_euclid(2) == 1);
    1 + padded.div_ceil(2) + usize::from(n.is_negative())
}

/// Size of an item: attribute name lengths plus value sizes.
pub fn item_size(item: &Item) -> usize {
    item.iter()
        .map(|(name, value)| name.len() + value_size(value))
        .sum()
}

/// DynamoDB's check for items written by PutItem (and similar): at most 400 KB.
pub fn check_item_size(item: &Item) -> Result<()> {
    check_size(item, "Item size has exceeded the maximum allowed size")
}

/// The same check after an UpdateItem, with DynamoDB's wording for updates.
pub fn check_updated_item_size(item: &Item) -> Result<()> {
    check_size(
        item,
        "Item size to update has exceeded the maximum allowed size",
    )
}

fn check_size(item: &Item, message: &str) -> Result<()> {
    if item_size(item) > MAX_ITEM_BYTES {
        return Err(DynamoError::validation(message));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::value::AttributeValue as V;

    #[test]
    fn number_encoding_orders_numerically() {
        let ordered = [
            "-9.9999999999999999999999999999999999999E+125",
            "-1e100",
            "-1000",
            "-999",
            "-100",
            "-1.25",
            "-1.2",
            "-1",
            "-0.5",
            "-1e-130",
            "0",
            "1e-130",
            "0.5",
            "1",
            "1.2",
            "1.25",
            "100",
            "999",
            "1000",
            "1e100",
            "9.9999999999999999999999999999999999999E+125",
        ];
        let encoded: Vec<Vec<u8>> = ordered.iter().map(|s| encode_sort_key(&V::n(s))).collect();
        for (i, pair) in encoded.windows(2).enumerate() {
            assert!(pair[0] < pair[1], "{} < {}", ordered[i], ordered[i + 1]);
        }
        assert_eq!(encode_sort_key(&V::n("1.0")), encode_sort_key(&V::n("1")));
    }

    #[test]
    fn string_and_binary_encoding_is_bytewise() {
        assert!(encode_sort_key(&V::s("a")) < encode_sort_key(&V::s("ab")));
        assert!(encode_sort_key(&V::s("Z")) < encode_sort_key(&V::s("a")));
        // U+00E9 (C3 A9) sorts after U+007F and before U+4E2D (E4 B8 AD), as UTF-8 bytes do.
        assert!(encode_sort_key(&V::s("\u{7f}")) < encode_sort_key(&V::s("é")));
        assert!(encode_sort_key(&V::s("é")) < encode_sort_key(&V::s("中")));
        assert!(encode_sort_key(&V::B(vec![0x7f])) < encode_sort_key(&V::B(vec![0x80])));
    }

    #[test]
    fn prefix_bounds_cover_exactly_the_prefix() {
        assert_eq!(prefix_successor(b"ab"), Some(b"ac".to_vec()));
        assert_eq!(prefix_successor(&[0x61, 0xff]), Some(vec![0x62]));
        assert_eq!(prefix_successor(&[0xff, 0xff]), None);
        assert_eq!(
            prefix_bounds(b""),
            (Bound::Included(vec![]), Bound::Unbounded)
        );
        assert_eq!(
            prefix_bounds(b"ab"),
            (
                Bound::Included(b"ab".to_vec()),
                Bound::Excluded(b"ac".to_vec())
            )
        );
    }

    #[test]
    fn partition_hash_is_stable_and_canonical() {
        assert_eq!(partition_hash(&V::n("1")), partition_hash(&V::n("1.00")));
        assert_ne!(
            partition_hash(&V::s("1")),
            partition_hash(&V::B(b"1".to_vec()))
        );
        // Fixed value: changing the hash would reshuffle stored segments.
        assert_eq!(partition_hash(&V::s("abc")), 0xafedb848f82506b2);
    }

    #[test]
    fn key_validation_messages() {
        let pk = KeyAttribute {
            name: "p",
            value_type: ValueType::S,
        };
        let sk = KeyAttribute {
            name: "c",
            value_type: ValueType::N,
        };
        let item = |pairs: &[(&str, V)]| {
            pairs
                .iter()
                .cloned()
                .map(|(k, v)| (k.to_string(), v))
                .collect::<Item>()
        };
        let err = |r: Result<()>| r.unwrap_err().message;
        assert_eq!(
            err(validate_item_key(&item(&[("c", V::n("1"))]), pk, Some(sk))),
            "One or more parameter values were invalid: Missing the key p in the item"
        );
        assert_eq!(
            err(validate_item_key(
                &item(&[("p", V::n("1")), ("c", V::n("1"))]),
                pk,
                Some(sk)
            )),
            "One or more parameter values were invalid: Type mismatch for key p expected: S actual: N"
        );
        assert_eq!(
            err(validate_item_key(
                &item(&[("p", V::s("")), ("c", V::n("1"))]),
                pk,
                Some(sk)
            )),
            "One or more parameter values are not valid. The AttributeValue for a key attribute cannot contain an empty string value. Key: p"
        );
        assert_eq!(
            err(validate_item_key(
                &item(&[("p", V::s("x".repeat(2049)))]),
                pk,
                None
            )),
            "One or more parameter values were invalid: Size of hashkey has exceeded the maximum size limit of2048 bytes"
        );
        validate_item_key(&item(&[("p", V::s("x".repeat(2048)))]), pk, None).unwrap();
        let long_sort = KeyAttribute {
            name: "c",
            value_type: ValueType::B,
        };
        assert_eq!(
            err(validate_item_key(
                &item(&[("p", V::s("x")), ("c", V::B(vec![1; 1025]))]),
                pk,
                Some(long_sort)
            )),
            "One or more parameter values were invalid: Aggregated size of all range keys has exceeded the size limit of 1024 bytes"
        );
        assert_eq!(
            err(validate_key(
                &item(&[("p", V::s("x")), ("c", V::n("1")), ("z", V::Null)]),
                pk,
                Some(sk)
            )),
            "The provided key element does not match the schema"
        );
        assert_eq!(
            err(validate_key(&item(&[("p", V::n("1"))]), pk, None)),
            "The provided key element does not match the schema"
        );
        assert_eq!(
            err(validate_key(
                &item(&[("p", V::s("")), ("c", V::n("1"))]),
                pk,
                Some(sk)
            )),
            "One or more parameter values were invalid: The AttributeValue for a key attribute cannot contain an empty string value. Key: p"
        );
        validate_key(&item(&[("p", V::s("x")), ("c", V::n("1"))]), pk, Some(sk)).unwrap();
    }

    #[test]
    fn sizes() {
        assert_eq!(value_size(&V::s("héllo")), 6);
        assert_eq!(value_size(&V::n("0")), 1);
        // 1 exponent byte + digit pairs.
        assert_eq!(value_size(&V::n("1")), 2);
        assert_eq!(value_size(&V::n("12")), 2);
        assert_eq!(value_size(&V::n("123")), 3);
        assert_eq!(value_size(&V::n("-12")), 3);
        assert_eq!(value_size(&V::n("1.2")), 3);
        assert_eq!(
            value_size(&V::n("12345678901234567890123456789012345678")),
            20
        );
        assert_eq!(value_size(&V::Bool(true)), 1);
        assert_eq!(value_size(&V::L(vec![V::s("ab"), V::Null])), 3 + 3 + 2);
        let item: Item = [
            ("name".to_string(), V::s("abc")),
            ("m".to_string(), V::M([("k".to_string(), V::n("5"))].into())),
        ]
        .into();
        assert_eq!(item_size(&item), 4 + 3 + 1 + (3 + 1 + 1 + 2));
        let big: Item = [("a".to_string(), V::s("x".repeat(MAX_ITEM_BYTES - 1)))].into();
        check_item_size(&big).unwrap();
        let too_big: Item = [("ab".to_string(), V::s("x".repeat(MAX_ITEM_BYTES - 1)))].into();
        assert_eq!(
            check_item_size(&too_big).unwrap_err().message,
            "Item size has exceeded the maximum allowed size"
        );
    }
}
