//! DynamoDB's expression language: ConditionExpression, FilterExpression,
//! KeyConditionExpression, UpdateExpression and ProjectionExpression, with
//! ExpressionAttributeNames / ExpressionAttributeValues.
//!
//! One [`ExpressionAttributes`] per request: parse each expression of the request through it,
//! then call [`ExpressionAttributes::finish`] to get DynamoDB's "unused" errors.

mod condition;
mod key_condition;
mod lexer;
mod parser;
mod resolve;
mod update;

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use serde_json::Value;

use crate::error::{DynamoError, Result};
use crate::path::{Path, project_paths};
use crate::value::{AttributeValue, Item};

pub use condition::{Comparator, Condition, Operand, ValueRef, compare_values};
pub use key_condition::{KeyCondition, KeyPredicate, KeyQuery, SortKeyOp};
pub use update::{Section, SetOperand, SetValue, UpdateAction, UpdateExpression};

use resolve::Resolver;

/// DynamoDB's limit on each expression parameter, counted on the raw text.
pub const MAX_EXPRESSION_BYTES: usize = 4096;

/// A ProjectionExpression: the document paths to return.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Projection {
    pub paths: Vec<Path>,
}

impl Projection {
    /// The projected copy of `item`.
    pub fn apply(&self, item: &Item) -> Item {
        project_paths(item, &self.paths)
    }

    /// Top-level attributes the projection reads.
    pub fn attribute_names(&self) -> BTreeSet<&str> {
        self.paths.iter().map(Path::head).collect()
    }
}

impl fmt::Display for Projection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parts: Vec<String> = self.paths.iter().map(ToString::to_string).collect();
        f.write_str(&parts.join(", "))
    }
}

/// Which request parameter an expression came from; DynamoDB names it in error messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExpressionKind {
    Condition,
    Filter,
    KeyCondition,
    Update,
    Projection,
}

impl ExpressionKind {
    pub fn parameter(self) -> &'static str {
        match self {
            ExpressionKind::Condition => "ConditionExpression",
            ExpressionKind::Filter => "FilterExpression",
            ExpressionKind::KeyCondition => "KeyConditionExpression",
            ExpressionKind::Update => "UpdateExpression",
            ExpressionKind::Projection => "ProjectionExpression",
        }
    }
}

/// The ExpressionAttributeNames and ExpressionAttributeValues of one request, tracking which
/// entries the request's expressions use.
#[derive(Debug, Clone, Default)]
pub struct ExpressionAttributes {
    names: BTreeMap<String, String>,
    values: BTreeMap<String, AttributeValue>,
    used_names: BTreeSet<String>,
    used_values: BTreeSet<String>,
}

fn is_placeholder(key: &str, sigil: char) -> bool {
    let mut chars = key.chars();
    chars.next() == Some(sigil)
        && key.len() > 1
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

impl ExpressionAttributes {
    /// Checks the maps' keys as DynamoDB does (`#name` / `:value` syntax, non-empty when given).
    pub fn new(
        names: Option<BTreeMap<String, String>>,
        values: Option<BTreeMap<String, AttributeValue>>,
    ) -> Result<Self> {
        if let Some(names) = &names {
            check_keys("ExpressionAttributeNames", names.keys(), '#')?;
        }
        if let Some(values) = &values {
            check_keys("ExpressionAttributeValues", values.keys(), ':')?;
        }
        Ok(ExpressionAttributes {
            names: names.unwrap_or_default(),
            values: values.unwrap_or_default(),
            used_names: BTreeSet::new(),
            used_values: BTreeSet::new(),
        })
    }

    /// From the request's JSON members (either may be absent), with DynamoDB's value checks
    /// ("ExpressionAttributeValues contains invalid value: … for key :v").
    pub fn from_json(names: Option<&Value>, values: Option<&Value>) -> Result<Self> {
        let names = names
            .map(|json| {
                let Value::Object(map) = json else {
                    return Err(DynamoError::serialization(
                        "Unexpected value type in payload",
                    ));
                };
                map.iter()
                    .map(|(k, v)| match v {
                        Value::String(s) => Ok((k.clone(), s.clone())),
                        _ => Err(DynamoError::serialization(
                            "Unexpected value type in payload",
                        )),
                    })
                    .collect::<Result<BTreeMap<_, _>>>()
            })
            .transpose()?;
        let values = values
            .map(|json| {
                let Value::Object(map) = json else {
                    return Err(DynamoError::serialization("Unexpected value type in payload"));
                };
                map.iter()
                    .map(|(k, v)| {
                        AttributeValue::from_json(v)
                            .map(|value| (k.clone(), value))
                            .map_err(|e| match e.kind {
                                crate::ErrorKind::Validation => DynamoError::validation(format!(
                                    "ExpressionAttributeValues contains invalid value: {} for key {k}",
                                    e.message
                                )),
                                _ => e,
                            })
                    })
                    .collect::<Result<BTreeMap<_, _>>>()
            })
            .transpose()?;
        Self::new(names, values)
    }

    fn run<T>(
        &mut self,
        kind: ExpressionKind,
        text: &str,
        build: impl FnOnce(&mut Resolver<'_>, &str) -> std::result::Result<T, String>,
    ) -> Result<T> {
        let invalid = |message: String| {
            DynamoError::validation(format!("Invalid {}: {message}", kind.parameter()))
        };
        if text.is_empty() {
            return Err(invalid("The expression can not be empty;".into()));
        }
        if text.len() > MAX_EXPRESSION_BYTES {
            return Err(invalid(format!(
                "Expression size has exceeded the maximum allowed size; expression size: {}",
                text.len()
            )));
        }
        let mut resolver = Resolver::new(
            &self.names,
            &self.values,
            &mut self.used_names,
            &mut self.used_values,
        );
        let built = build(&mut resolver, text).map_err(invalid)?;
        match resolver.into_problem() {
            Some(problem) => Err(invalid(problem)),
            None => Ok(built),
        }
    }

    fn condition_of_kind(&mut self, kind: ExpressionKind, text: &str) -> Result<Condition> {
        self.run(kind, text, |resolver, text| {
            let (raw, notes) = parser::parse_condition(text)?;
            if notes.redundant_parens {
                resolver.note_redundant_parens();
            }
            Ok(resolver.condition(raw))
        })
    }

    pub fn condition(&mut self, text: &str) -> Result<Condition> {
        self.condition_of_kind(ExpressionKind::Condition, text)
    }

    pub fn filter(&mut self, text: &str) -> Result<Condition> {
        self.condition_of_kind(ExpressionKind::Filter, text)
    }

    /// Parses a KeyConditionExpression; resolve it against the key schema with
    /// [`KeyCondition::for_schema`].
    pub fn key_condition(&mut self, text: &str) -> Result<KeyCondition> {
        let condition = self.condition_of_kind(ExpressionKind::KeyCondition, text)?;
        KeyCondition::from_condition(&condition)
    }

    pub fn update(&mut self, text: &str) -> Result<UpdateExpression> {
        self.run(ExpressionKind::Update, text, |resolver, text| {
            let raw = parser::parse_update(text)?;
            Ok(resolver.update(raw))
        })
    }

    pub fn projection(&mut self, text: &str) -> Result<Projection> {
        self.run(ExpressionKind::Projection, text, |resolver, text| {
            let raw = parser::parse_projection(text)?;
            let paths: Vec<Path> = raw.into_iter().map(|p| resolver.path(p)).collect();
            resolver.check_overlaps(&paths.iter().collect::<Vec<_>>());
            Ok(Projection { paths })
        })
    }

    /// After all of a request's expressions are parsed: DynamoDB rejects names and values
    /// that no expression used.
    pub fn finish(self) -> Result<()> {
        check_all_used(
            "ExpressionAttributeNames",
            self.names.keys(),
            &self.used_names,
        )?;
        check_all_used(
            "ExpressionAttributeValues",
            self.values.keys(),
            &self.used_values,
        )
    }
}

/// A given map must not be empty, and its keys must be `#name` / `:value` placeholders.
fn check_keys<'k>(
    parameter: &str,
    mut keys: impl ExactSizeIterator<Item = &'k String>,
    sigil: char,
) -> Result<()> {
    if keys.len() == 0 {
        return Err(DynamoError::validation(format!(
            "{parameter} must not be empty"
        )));
    }
    if let Some(bad) = keys.find(|k| !is_placeholder(k, sigil)) {
        return Err(DynamoError::validation(format!(
            "{parameter} contains invalid key: Syntax error; key: \"{bad}\""
        )));
    }
    Ok(())
}

fn check_all_used<'k>(
    parameter: &str,
    keys: impl Iterator<Item = &'k String>,
    used: &BTreeSet<String>,
) -> Result<()> {
    let unused: Vec<&str> = keys
        .filter(|k| !used.contains(*k))
        .map(String::as_str)
        .collect();
    if unused.is_empty() {
        return Ok(());
    }
    Err(DynamoError::validation(format!(
        "Value provided in {parameter} unused in expressions: keys: {{{}}}",
        unused.join(", ")
    )))
}
