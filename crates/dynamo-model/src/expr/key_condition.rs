//! KeyConditionExpression: `pk = :v` optionally `AND` one sort key condition.

use std::ops::Bound;

use crate::error::{DynamoError, Result};
use crate::key::{KeyAttribute, encode_sort_key, prefix_bounds};
use crate::value::AttributeValue;

use super::condition::{Comparator, Condition, Operand, begins_with, compare_values};

/// A condition on one key attribute.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum SortKeyOp {
    Eq(AttributeValue),
    Lt(AttributeValue),
    Le(AttributeValue),
    Gt(AttributeValue),
    Ge(AttributeValue),
    Between(AttributeValue, AttributeValue),
    BeginsWith(AttributeValue),
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct KeyPredicate {
    pub attribute: String,
    pub op: SortKeyOp,
}

/// The key conditions of a Query, not yet matched to a schema.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct KeyCondition {
    pub predicates: Vec<KeyPredicate>,
}

/// A KeyCondition matched to a table's or index's key schema.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyQuery {
    pub partition_key: AttributeValue,
    pub sort_key: Option<SortKeyOp>,
}

fn invalid_operator(what: &str) -> DynamoError {
    DynamoError::validation(format!(
        "Invalid operator used in KeyConditionExpression: {what}"
    ))
}

impl SortKeyOp {
    fn values(&self) -> Vec<&AttributeValue> {
        match self {
            SortKeyOp::Eq(v)
            | SortKeyOp::Lt(v)
            | SortKeyOp::Le(v)
            | SortKeyOp::Gt(v)
            | SortKeyOp::Ge(v)
            | SortKeyOp::BeginsWith(v) => vec![v],
            SortKeyOp::Between(a, b) => vec![a, b],
        }
    }

    /// Whether a sort key value satisfies the condition.
    pub fn matches(&self, value: &AttributeValue) -> bool {
        let cmp = |bound: &AttributeValue| compare_values(value, bound);
        match self {
            SortKeyOp::Eq(v) => value == v,
            SortKeyOp::Lt(v) => cmp(v).is_some_and(|o| o.is_lt()),
            SortKeyOp::Le(v) => cmp(v).is_some_and(|o| o.is_le()),
            SortKeyOp::Gt(v) => cmp(v).is_some_and(|o| o.is_gt()),
            SortKeyOp::Ge(v) => cmp(v).is_some_and(|o| o.is_ge()),
            SortKeyOp::Between(lo, hi) => {
                cmp(lo).is_some_and(|o| o.is_ge()) && cmp(hi).is_some_and(|o| o.is_le())
            }
            SortKeyOp::BeginsWith(prefix) => begins_with(value, prefix),
        }
    }

    /// The range of [`encode_sort_key`] encodings that satisfy the condition, for an index scan.
    pub fn encoded_bounds(&self) -> (Bound<Vec<u8>>, Bound<Vec<u8>>) {
        use Bound::*;
        match self {
            SortKeyOp::Eq(v) => (Included(encode_sort_key(v)), Included(encode_sort_key(v))),
            SortKeyOp::Lt(v) => (Unbounded, Excluded(encode_sort_key(v))),
            SortKeyOp::Le(v) => (Unbounded, Included(encode_sort_key(v))),
            SortKeyOp::Gt(v) => (Excluded(encode_sort_key(v)), Unbounded),
            SortKeyOp::Ge(v) => (Included(encode_sort_key(v)), Unbounded),
            SortKeyOp::Between(lo, hi) => {
                (Included(encode_sort_key(lo)), Included(encode_sort_key(hi)))
            }
            SortKeyOp::BeginsWith(prefix) => prefix_bounds(&encode_sort_key(prefix)),
        }
    }
}

impl KeyCondition {
    pub(crate) fn from_condition(condition: &Condition) -> Result<Self> {
        let mut predicates = Vec::new();
        collect(condition, &mut predicates)?;
        Ok(KeyCondition { predicates })
    }

    /// Matches the conditions to the key schema, with DynamoDB's Query errors.
    pub fn for_schema(
        &self,
        partition: KeyAttribute<'_>,
        sort: Option<KeyAttribute<'_>>,
    ) -> Result<KeyQuery> {
        if sort.is_none() && self.predicates.len() > 1 {
            return Err(DynamoError::validation("Query key condition not supported"));
        }
        let find = |name: &str| self.predicates.iter().find(|p| p.attribute == name);
        let Some(partition_predicate) = find(partition.name) else {
            return Err(DynamoError::validation(format!(
                "Query condition missed key schema element: {}",
                partition.name
            )));
        };
        let sort_predicate = match sort {
            Some(sort) => match find(sort.name) {
                Some(p) => Some((p, sort)),
                None if self.predicates.len() > 1 => {
                    return Err(DynamoError::validation(format!(
                        "Query condition missed key schema element: {}",
                        sort.name
                    )));
                }
                None => None,
            },
            None => None,
        };
        let check_types = |predicate: &KeyPredicate, schema: KeyAttribute<'_>| {
            if predicate
                .op
                .values()
                .iter()
                .any(|v| v.value_type() != schema.value_type)
            {
                return Err(DynamoError::invalid_parameter(
                    "Condition parameter type does not match schema type",
                ));
            }
            Ok(())
        };
        // DynamoDB checks value types before it checks that the partition key uses `=`.
        check_types(partition_predicate, partition)?;
        let SortKeyOp::Eq(partition_key) = &partition_predicate.op else {
            return Err(DynamoError::validation("Query key condition not supported"));
        };
        let partition_key = partition_key.clone();
        let sort_key = match sort_predicate {
            Some((predicate, schema)) => {
                check_types(predicate, schema)?;
                Some(predicate.op.clone())
            }
            None => None,
        };
        Ok(KeyQuery {
            partition_key,
            sort_key,
        })
    }
}

fn collect(condition: &Condition, out: &mut Vec<KeyPredicate>) -> Result<()> {
    let (attribute_operand, op) = match condition {
        Condition::And(a, b) => {
            collect(a, out)?;
            return collect(b, out);
        }
        Condition::Or(..) => return Err(invalid_operator("OR")),
        Condition::Not(..) => return Err(invalid_operator("NOT")),
        Condition::In { .. } => return Err(invalid_operator("IN")),
        Condition::AttributeExists(_) => return Err(invalid_operator("attribute_exists")),
        Condition::AttributeNotExists(_) => return Err(invalid_operator("attribute_not_exists")),
        Condition::AttributeType(..) => return Err(invalid_operator("attribute_type")),
        Condition::Contains(..) => return Err(invalid_operator("contains")),
        Condition::Compare {
            op: Comparator::Ne, ..
        } => return Err(invalid_operator("<>")),
        Condition::Compare { op, left, right } => {
            let (attribute, value, op) = match (left, right) {
                (Operand::Path(_), Operand::Path(_)) => return Err(multiple_names()),
                (a @ Operand::Path(_), v) => (a, v, *op),
                // `:v < sk` means `sk > :v`.
                (v, a @ Operand::Path(_)) => (a, v, mirror(*op)),
                (a, b) => {
                    check_nested_operations(&[a, b])?;
                    return Err(no_key_attribute());
                }
            };
            let value = scalar_value(value)?;
            let op = match op {
                Comparator::Eq => SortKeyOp::Eq(value),
                Comparator::Lt => SortKeyOp::Lt(value),
                Comparator::Le => SortKeyOp::Le(value),
                Comparator::Gt => SortKeyOp::Gt(value),
                Comparator::Ge => SortKeyOp::Ge(value),
                Comparator::Ne => unreachable!("rejected above"),
            };
            (attribute, op)
        }
        Condition::Between { operand, low, high } => {
            check_nested_operations(&[operand, low, high])?;
            if !matches!(operand, Operand::Path(_)) {
                return Err(first_operand("BETWEEN"));
            }
            if matches!(low, Operand::Path(_)) || matches!(high, Operand::Path(_)) {
                return Err(multiple_names());
            }
            (
                operand,
                SortKeyOp::Between(scalar_value(low)?, scalar_value(high)?),
            )
        }
        Condition::BeginsWith(operand, prefix) => {
            check_nested_operations(&[operand, prefix])?;
            if !matches!(operand, Operand::Path(_)) {
                return Err(first_operand("begins_with"));
            }
            if matches!(prefix, Operand::Path(_)) {
                return Err(multiple_names());
            }
            (operand, SortKeyOp::BeginsWith(scalar_value(prefix)?))
        }
    };
    check_nested_operations(&[attribute_operand])?;
    let Operand::Path(path) = attribute_operand else {
        unreachable!("checked to be a path")
    };
    if !path.is_top_level() {
        return Err(DynamoError::validation(
            "KeyConditionExpressions cannot have conditions on nested attributes",
        ));
    }
    if out.iter().any(|p| p.attribute == path.head()) {
        return Err(DynamoError::validation(
            "KeyConditionExpressions must only contain one condition per key",
        ));
    }
    out.push(KeyPredicate {
        attribute: path.head().to_string(),
        op,
    });
    Ok(())
}

fn check_nested_operations(operands: &[&Operand]) -> Result<()> {
    if operands.iter().any(|o| matches!(o, Operand::Size(_))) {
        return Err(DynamoError::validation(
            "KeyConditionExpressions cannot contain nested operations",
        ));
    }
    Ok(())
}

fn scalar_value(operand: &Operand) -> Result<AttributeValue> {
    check_nested_operations(&[operand])?;
    match operand {
        Operand::Value(v) => Ok(v.value.clone()),
        _ => Err(multiple_names()),
    }
}

fn mirror(op: Comparator) -> Comparator {
    match op {
        Comparator::Lt => Comparator::Gt,
        Comparator::Le => Comparator::Ge,
        Comparator::Gt => Comparator::Lt,
        Comparator::Ge => Comparator::Le,
        other => other,
    }
}

fn multiple_names() -> DynamoError {
    DynamoError::validation(
        "Invalid condition in KeyConditionExpression: Multiple attribute names used in one condition",
    )
}

fn no_key_attribute() -> DynamoError {
    DynamoError::validation(
        "Invalid condition in KeyConditionExpression: No key attribute specified",
    )
}

fn first_operand(operator: &str) -> DynamoError {
    DynamoError::validation(format!(
        "Invalid condition in KeyConditionExpression: {operator} operator must have the key attribute as its first operand"
    ))
}
