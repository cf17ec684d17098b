//! UpdateExpression trees and applying them to an item.

use std::collections::BTreeSet;
use std::fmt;

use crate::error::{DynamoError, Result};
use crate::path::{Path, PathElement, remove_path, set_path};
use crate::value::{AttributeValue, Item};

use super::condition::ValueRef;
pub use super::parser::Section;

/// An operand on the right of `SET path = …`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum SetOperand {
    Path(Path),
    Value(ValueRef),
    IfNotExists(Path, Box<SetOperand>),
    ListAppend(Box<SetOperand>, Box<SetOperand>),
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum SetValue {
    Operand(SetOperand),
    Plus(SetOperand, SetOperand),
    Minus(SetOperand, SetOperand),
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum UpdateAction {
    Set(Path, SetValue),
    Remove(Path),
    /// Add a number, or union a set.
    Add(Path, ValueRef),
    /// Remove elements from a set.
    Delete(Path, ValueRef),
}

impl UpdateAction {
    pub fn path(&self) -> &Path {
        match self {
            UpdateAction::Set(p, _)
            | UpdateAction::Remove(p)
            | UpdateAction::Add(p, _)
            | UpdateAction::Delete(p, _) => p,
        }
    }

    fn section(&self) -> Section {
        match self {
            UpdateAction::Set(..) => Section::Set,
            UpdateAction::Remove(_) => Section::Remove,
            UpdateAction::Add(..) => Section::Add,
            UpdateAction::Delete(..) => Section::Delete,
        }
    }
}

/// A parsed UpdateExpression: its sections in the order written.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct UpdateExpression {
    pub sections: Vec<(Section, Vec<UpdateAction>)>,
}

fn invalid_path() -> DynamoError {
    DynamoError::validation(
        "The document path provided in the update expression is invalid for update",
    )
}

fn wrong_type() -> DynamoError {
    DynamoError::validation("An operand in the update expression has an incorrect data type")
}

fn missing_attribute() -> DynamoError {
    DynamoError::validation(
        "The provided expression refers to an attribute that does not exist in the item",
    )
}

impl SetOperand {
    fn evaluate(&self, item: &Item) -> Result<AttributeValue> {
        match self {
            SetOperand::Path(path) => path.resolve(item).cloned().ok_or_else(missing_attribute),
            SetOperand::Value(value) => Ok(value.value.clone()),
            SetOperand::IfNotExists(path, fallback) => match path.resolve(item) {
                Some(existing) => Ok(existing.clone()),
                None => fallback.evaluate(item),
            },
            SetOperand::ListAppend(a, b) => match (a.evaluate(item)?, b.evaluate(item)?) {
                (AttributeValue::L(mut first), AttributeValue::L(second)) => {
                    first.extend(second);
                    Ok(AttributeValue::L(first))
                }
                _ => Err(wrong_type()),
            },
        }
    }
}

impl SetValue {
    fn evaluate(&self, item: &Item) -> Result<AttributeValue> {
        let arithmetic =
            |a: &SetOperand, b: &SetOperand, subtract: bool| -> Result<AttributeValue> {
                let (AttributeValue::N(x), AttributeValue::N(y)) =
                    (a.evaluate(item)?, b.evaluate(item)?)
                else {
                    return Err(wrong_type());
                };
                let result = if subtract {
                    x.checked_sub(&y)
                } else {
                    x.checked_add(&y)
                };
                result
                    .map(AttributeValue::N)
                    .map_err(|e| DynamoError::validation(e.to_string()))
            };
        match self {
            SetValue::Operand(operand) => operand.evaluate(item),
            SetValue::Plus(a, b) => arithmetic(a, b, false),
            SetValue::Minus(a, b) => arithmetic(a, b, true),
        }
    }
}

impl UpdateExpression {
    /// All actions, in the order written.
    pub fn actions(&self) -> impl Iterator<Item = &UpdateAction> {
        self.sections.iter().flat_map(|(_, actions)| actions)
    }

    /// The document paths the update writes or removes (for `UPDATED_OLD`/`UPDATED_NEW`, use
    /// with [`crate::path::project_paths`]).
    pub fn paths(&self) -> Vec<&Path> {
        self.actions().map(UpdateAction::path).collect()
    }

    /// Names of the top-level attributes the update touches.
    pub fn updated_attributes(&self) -> BTreeSet<&str> {
        self.actions().map(|a| a.path().head()).collect()
    }

    /// DynamoDB refuses updates of key attributes (table or, for nested paths, index keys).
    pub fn check_key_attributes<'k>(
        &self,
        key_attributes: impl IntoIterator<Item = &'k str>,
    ) -> Result<()> {
        for key in key_attributes {
            for action in self.actions() {
                let path = action.path();
                if path.head() != key {
                    continue;
                }
                if path.is_top_level() {
                    return Err(DynamoError::invalid_parameter(format!(
                        "Cannot update attribute {key}. This attribute is part of the key"
                    )));
                }
                return Err(DynamoError::validation(format!(
                    "Key attributes must be scalars; list random access '[]' and map lookup '.' are not allowed: Key: {key}"
                )));
            }
        }
        Ok(())
    }

    /// Applies the update. Every `SET` right-hand side is evaluated against the item as it was
    /// before the update, as DynamoDB does. On error `item` is left unchanged.
    pub fn apply(&self, item: &mut Item) -> Result<()> {
        let original = &*item;
        let mut values = Vec::new();
        for action in self.actions() {
            if let UpdateAction::Set(_, value) = action {
                values.push(value.evaluate(original)?);
            }
        }
        let mut updated = item.clone();
        let mut values = values.into_iter();
        let mut removals = Vec::new();
        for action in self.actions() {
            match action {
                UpdateAction::Set(path, _) => {
                    let value = values.next().expect("one value per SET action");
                    set_path(&mut updated, path, value).map_err(|_| invalid_path())?;
                }
                UpdateAction::Remove(path) => removals.push(path),
                UpdateAction::Add(path, value) => add(&mut updated, path, &value.value)?,
                UpdateAction::Delete(path, value) => delete(&mut updated, path, &value.value)?,
            }
        }
        // Removing list elements shifts later ones, so remove from the highest index down; each
        // index refers to the list as it was.
        removals.sort_by(|a, b| compare_for_removal(b, a));
        for path in removals {
            remove_path(&mut updated, path).map_err(|_| invalid_path())?;
        }
        *item = updated;
        Ok(())
    }
}

fn compare_for_removal(a: &Path, b: &Path) -> std::cmp::Ordering {
    fn key(e: &PathElement) -> (u8, &str, usize) {
        match e {
            PathElement::Attribute(n) => (0, &n.name, 0),
            PathElement::Index(i) => (1, "", *i),
        }
    }
    a.elements.iter().map(key).cmp(b.elements.iter().map(key))
}

fn add(item: &mut Item, path: &Path, value: &AttributeValue) -> Result<()> {
    let combined = match (path.resolve(item), value) {
        (None, v) => v.clone(),
        (Some(AttributeValue::N(existing)), AttributeValue::N(n)) => AttributeValue::N(
            existing
                .checked_add(n)
                .map_err(|e| DynamoError::validation(e.to_string()))?,
        ),
        (Some(AttributeValue::Ss(existing)), AttributeValue::Ss(more)) => {
            AttributeValue::Ss(existing.union(more).cloned().collect())
        }
        (Some(AttributeValue::Ns(existing)), AttributeValue::Ns(more)) => {
            AttributeValue::Ns(existing.union(more).cloned().collect())
        }
        (Some(AttributeValue::Bs(existing)), AttributeValue::Bs(more)) => {
            AttributeValue::Bs(existing.union(more).cloned().collect())
        }
        _ => return Err(wrong_type()),
    };
    set_path(item, path, combined).map_err(|_| invalid_path())
}

fn delete(item: &mut Item, path: &Path, value: &AttributeValue) -> Result<()> {
    let remaining = match (path.resolve(item), value) {
        (None, _) => {
            // Nothing to delete from, but the parent must still exist.
            return match path.is_top_level() {
                true => Ok(()),
                false => {
                    let parent = Path {
                        elements: path.elements[..path.elements.len() - 1].to_vec(),
                    };
                    parent.resolve(item).map(|_| ()).ok_or_else(invalid_path)
                }
            };
        }
        (Some(AttributeValue::Ss(existing)), AttributeValue::Ss(gone)) => {
            let rest: BTreeSet<_> = existing.difference(gone).cloned().collect();
            (!rest.is_empty()).then_some(AttributeValue::Ss(rest))
        }
        (Some(AttributeValue::Ns(existing)), AttributeValue::Ns(gone)) => {
            let rest: BTreeSet<_> = existing.difference(gone).cloned().collect();
            (!rest.is_empty()).then_some(AttributeValue::Ns(rest))
        }
        (Some(AttributeValue::Bs(existing)), AttributeValue::Bs(gone)) => {
            let rest: BTreeSet<_> = existing.difference(gone).cloned().collect();
            (!rest.is_empty()).then_some(AttributeValue::Bs(rest))
        }
        _ => return Err(wrong_type()),
    };
    match remaining {
        Some(rest) => set_path(item, path, rest).map_err(|_| invalid_path()),
        // DynamoDB has no empty sets: deleting the last element removes the attribute.
        None => remove_path(item, path)
            .map(|_| ())
            .map_err(|_| invalid_path()),
    }
}

impl fmt::Display for SetOperand {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SetOperand::Path(p) => write!(f, "{p}"),
            SetOperand::Value(v) => f.write_str(&v.placeholder),
            SetOperand::IfNotExists(p, fallback) => write!(f, "if_not_exists({p}, {fallback})"),
            SetOperand::ListAppend(a, b) => write!(f, "list_append({a}, {b})"),
        }
    }
}

impl fmt::Display for SetValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SetValue::Operand(o) => write!(f, "{o}"),
            SetValue::Plus(a, b) => write!(f, "{a} + {b}"),
            SetValue::Minus(a, b) => write!(f, "{a} - {b}"),
        }
    }
}

impl fmt::Display for UpdateAction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            UpdateAction::Set(p, v) => write!(f, "{p} = {v}"),
            UpdateAction::Remove(p) => write!(f, "{p}"),
            UpdateAction::Add(p, v) | UpdateAction::Delete(p, v) => {
                write!(f, "{p} {}", v.placeholder)
            }
        }
    }
}

impl fmt::Display for UpdateExpression {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, (section, actions)) in self.sections.iter().enumerate() {
            if i > 0 {
                f.write_str(" ")?;
            }
            let rendered: Vec<String> = actions.iter().map(ToString::to_string).collect();
            write!(f, "{} {}", section.as_str(), rendered.join(", "))?;
            debug_assert!(actions.iter().all(|a| a.section() == *section));
        }
        Ok(())
    }
}
