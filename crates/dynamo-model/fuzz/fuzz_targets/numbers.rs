//! Arbitrary text as a DynamoDB number: accepted numbers print in a form that parses back to
//! the same value, encode consistently with their order, and add without panicking.
#![no_main]

use dynamo_model::{AttributeValue as V, Number, encode_sort_key};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let (left, right) = text.split_once('|').unwrap_or((text, "1"));
    let (Ok(a), Ok(b)) = (Number::parse(left), Number::parse(right)) else { return };
    assert_eq!(Number::parse(&a.to_string()).as_ref(), Ok(&a));
    let order = a.cmp(&b);
    assert_eq!(encode_sort_key(&V::N(a.clone())).cmp(&encode_sort_key(&V::N(b.clone()))), order);
    if let Ok(sum) = a.checked_add(&b) {
        assert_eq!(sum.checked_sub(&b).as_ref(), Ok(&a));
    }
});
