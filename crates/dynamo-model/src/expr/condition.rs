//! ConditionExpression / FilterExpression trees and their evaluation.

use std::borrow::Cow;
use std::cmp::Ordering;
use std::fmt;

use crate::number::Number;
use crate::path::Path;
use crate::value::{AttributeValue, Item, ValueType};

pub use super::parser::Comparator;

/// An `ExpressionAttributeValues` entry used in an expression.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ValueRef {
    pub placeholder: String,
    pub value: AttributeValue,
}

/// Something that yields a value when evaluated against an item.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Operand {
    Path(Path),
    Value(ValueRef),
    /// `size(operand)`.
    Size(Box<Operand>),
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Condition {
    Compare {
        op: Comparator,
        left: Operand,
        right: Operand,
    },
    Between {
        operand: Operand,
        low: Operand,
        high: Operand,
    },
    In {
        operand: Operand,
        list: Vec<Operand>,
    },
    AttributeExists(Path),
    AttributeNotExists(Path),
    AttributeType(Path, Operand),
    BeginsWith(Operand, Operand),
    Contains(Operand, Operand),
    And(Box<Condition>, Box<Condition>),
    Or(Box<Condition>, Box<Condition>),
    Not(Box<Condition>),
}

impl Operand {
    /// The operand's value for `item`; `None` when a path is missing or `size` does not apply.
    pub fn evaluate<'a>(&'a self, item: &'a Item) -> Option<Cow<'a, AttributeValue>> {
        match self {
            Operand::Path(path) => path.resolve(item).map(Cow::Borrowed),
            Operand::Value(value) => Some(Cow::Borrowed(&value.value)),
            Operand::Size(inner) => {
                let size = size_of(inner.evaluate(item)?.as_ref())?;
                Some(Cow::Owned(AttributeValue::N(Number::from(size as u64))))
            }
        }
    }
}

/// `size()`: string length in UTF-16 code units (DynamoDB's Java heritage: `size("é𝄞")` is 3),
/// binary length, element count of sets, lists and maps.
fn size_of(value: &AttributeValue) -> Option<usize> {
    Some(match value {
        AttributeValue::S(s) => s.encode_utf16().count(),
        AttributeValue::B(b) => b.len(),
        AttributeValue::Ss(set) => set.len(),
        AttributeValue::Ns(set) => set.len(),
        AttributeValue::Bs(set) => set.len(),
        AttributeValue::L(list) => list.len(),
        AttributeValue::M(map) => map.len(),
        AttributeValue::N(_) | AttributeValue::Bool(_) | AttributeValue::Null => return None,
    })
}

/// Order between two values of the same scalar type (N numerically, S and B bytewise);
/// `None` for other types or mixed types, which makes every ordering comparison false.
pub fn compare_values(a: &AttributeValue, b: &AttributeValue) -> Option<Ordering> {
    match (a, b) {
        (AttributeValue::N(x), AttributeValue::N(y)) => Some(x.cmp(y)),
        (AttributeValue::S(x), AttributeValue::S(y)) => Some(x.as_bytes().cmp(y.as_bytes())),
        (AttributeValue::B(x), AttributeValue::B(y)) => Some(x.cmp(y)),
        _ => None,
    }
}

/// `begins_with()`: a string or binary prefix of the same type, compared bytewise.
pub(crate) fn begins_with(value: &AttributeValue, prefix: &AttributeValue) -> bool {
    match (value, prefix) {
        (AttributeValue::S(s), AttributeValue::S(prefix)) => {
            s.as_bytes().starts_with(prefix.as_bytes())
        }
        (AttributeValue::B(b), AttributeValue::B(prefix)) => b.starts_with(prefix),
        _ => false,
    }
}

fn contains(haystack: &AttributeValue, needle: &AttributeValue) -> bool {
    match (haystack, needle) {
        (AttributeValue::S(s), AttributeValue::S(sub)) => s.contains(sub.as_str()),
        (AttributeValue::B(b), AttributeValue::B(sub)) => {
            sub.is_empty() || b.windows(sub.len()).any(|w| w == sub.as_slice())
        }
        (AttributeValue::Ss(set), AttributeValue::S(s)) => set.contains(s),
        (AttributeValue::Ns(set), AttributeValue::N(n)) => set.contains(n),
        (AttributeValue::Bs(set), AttributeValue::B(b)) => set.contains(b),
        (AttributeValue::L(list), element) => list.contains(element),
        _ => false,
    }
}

impl Condition {
    /// Whether `item` satisfies the condition. Evaluate against an empty item when the item
    /// does not exist (then `attribute_not_exists(...)` holds and `a = :v` does not).
    pub fn evaluate(&self, item: &Item) -> bool {
        match self {
            Condition::Compare { op, left, right } => {
                let (Some(a), Some(b)) = (left.evaluate(item), right.evaluate(item)) else {
                    return *op == Comparator::Ne;
                };
                match op {
                    Comparator::Eq => a == b,
                    Comparator::Ne => a != b,
                    _ => compare_values(&a, &b).is_some_and(|ordering| match op {
                        Comparator::Lt => ordering.is_lt(),
                        Comparator::Le => ordering.is_le(),
                        Comparator::Gt => ordering.is_gt(),
                        Comparator::Ge => ordering.is_ge(),
                        Comparator::Eq | Comparator::Ne => unreachable!("handled above"),
                    }),
                }
            }
            Condition::Between { operand, low, high } => {
                let (Some(v), Some(lo), Some(hi)) = (
                    operand.evaluate(item),
                    low.evaluate(item),
                    high.evaluate(item),
                ) else {
                    return false;
                };
                compare_values(&v, &lo).is_some_and(Ordering::is_ge)
                    && compare_values(&v, &hi).is_some_and(Ordering::is_le)
            }
            Condition::In { operand, list } => {
                let Some(v) = operand.evaluate(item) else {
                    return false;
                };
                list.iter()
                    .any(|candidate| candidate.evaluate(item).is_some_and(|c| c == v))
            }
            Condition::AttributeExists(path) => path.resolve(item).is_some(),
            Condition::AttributeNotExists(path) => path.resolve(item).is_none(),
            Condition::AttributeType(path, type_name) => {
                let (Some(v), Some(t)) = (path.resolve(item), type_name.evaluate(item)) else {
                    return false;
                };
                matches!(&*t, AttributeValue::S(name) if ValueType::parse(name) == Some(v.value_type()))
            }
            Condition::BeginsWith(operand, prefix) => {
                let (Some(v), Some(p)) = (operand.evaluate(item), prefix.evaluate(item)) else {
                    return false;
                };
                begins_with(&v, &p)
            }
            Condition::Contains(haystack, needle) => {
                let (Some(h), Some(n)) = (haystack.evaluate(item), needle.evaluate(item)) else {
                    return false;
                };
                contains(&h, &n)
            }
            Condition::And(a, b) => a.evaluate(item) && b.evaluate(item),
            Condition::Or(a, b) => a.evaluate(item) || b.evaluate(item),
            Condition::Not(a) => !a.evaluate(item),
        }
    }

    /// Every document path the condition reads.
    pub fn paths(&self) -> Vec<&Path> {
        let mut out = Vec::new();
        self.collect_paths(&mut out);
        out
    }

    fn collect_paths<'a>(&'a self, out: &mut Vec<&'a Path>) {
        let operand = |o: &'a Operand, out: &mut Vec<&'a Path>| o.collect_paths(out);
        match self {
            Condition::Compare { left, right, .. } => {
                operand(left, out);
                operand(right, out);
            }
            Condition::Between {
                operand: o,
                low,
                high,
            } => {
                operand(o, out);
                operand(low, out);
                operand(high, out);
            }
            Condition::In { operand: o, list } => {
                operand(o, out);
                list.iter().for_each(|l| operand(l, out));
            }
            Condition::AttributeExists(p) | Condition::AttributeNotExists(p) => out.push(p),
            Condition::AttributeType(p, o) => {
                out.push(p);
                operand(o, out);
            }
            Condition::BeginsWith(a, b) | Condition::Contains(a, b) => {
                operand(a, out);
                operand(b, out);
            }
            Condition::And(a, b) | Condition::Or(a, b) => {
                a.collect_paths(out);
                b.collect_paths(out);
            }
            Condition::Not(a) => a.collect_paths(out),
        }
    }

    fn precedence(&self) -> u8 {
        match self {
            Condition::Or(..) => 0,
            Condition::And(..) => 1,
            Condition::Not(..) => 2,
            _ => 3,
        }
    }
}

impl Operand {
    fn collect_paths<'a>(&'a self, out: &mut Vec<&'a Path>) {
        match self {
            Operand::Path(p) => out.push(p),
            Operand::Value(_) => {}
            Operand::Size(inner) => inner.collect_paths(out),
        }
    }
}

impl fmt::Display for Operand {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Operand::Path(path) => write!(f, "{path}"),
            Operand::Value(value) => f.write_str(&value.placeholder),
            Operand::Size(inner) => write!(f, "size({inner})"),
        }
    }
}

/// Prints the expression with the placeholders it was written with and only the parentheses
/// precedence needs, so it parses back to the same tree.
impl fmt::Display for Condition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Binary operators parse left-associatively, so a right child of equal precedence
        // needs parentheses.
        let child = |f: &mut fmt::Formatter<'_>, c: &Condition, min: u8| {
            if c.precedence() < min {
                write!(f, "({c})")
            } else {
                write!(f, "{c}")
            }
        };
        match self {
            Condition::Compare { op, left, right } => write!(f, "{left} {} {right}", op.as_str()),
            Condition::Between { operand, low, high } => {
                write!(f, "{operand} BETWEEN {low} AND {high}")
            }
            Condition::In { operand, list } => {
                let items: Vec<String> = list.iter().map(ToString::to_string).collect();
                write!(f, "{operand} IN ({})", items.join(", "))
            }
            Condition::AttributeExists(p) => write!(f, "attribute_exists({p})"),
            Condition::AttributeNotExists(p) => write!(f, "attribute_not_exists({p})"),
            Condition::AttributeType(p, t) => write!(f, "attribute_type({p}, {t})"),
            Condition::BeginsWith(a, b) => write!(f, "begins_with({a}, {b})"),
            Condition::Contains(a, b) => write!(f, "contains({a}, {b})"),
            Condition::And(a, b) => {
                child(f, a, 1)?;
                f.write_str(" AND ")?;
                child(f, b, 2)
            }
            Condition::Or(a, b) => {
                child(f, a, 0)?;
                f.write_str(" OR ")?;
                child(f, b, 1)
            }
            Condition::Not(a) => {
                f.write_str("NOT ")?;
                child(f, a, 2)
            }
        }
    }
}
