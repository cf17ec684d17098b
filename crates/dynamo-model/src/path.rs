//! Document paths (`a.b[0].c`) and reading/writing them in an item.

use std::collections::BTreeMap;
use std::fmt;

use crate::value::{AttributeValue, Item};

/// One attribute name in a path: the resolved name and, if it was written as `#n`, the
/// placeholder (kept so that an expression prints back the way it was written).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Name {
    pub name: String,
    pub placeholder: Option<String>,
}

impl Name {
    pub fn plain(name: impl Into<String>) -> Self {
        Name {
            name: name.into(),
            placeholder: None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum PathElement {
    Attribute(Name),
    Index(usize),
}

/// A document path. The first element is always an attribute name.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Path {
    pub elements: Vec<PathElement>,
}

impl Path {
    /// A top-level attribute path.
    pub fn attribute(name: impl Into<String>) -> Self {
        Path {
            elements: vec![PathElement::Attribute(Name::plain(name))],
        }
    }

    /// The resolved name of the top-level attribute.
    pub fn head(&self) -> &str {
        match &self.elements[0] {
            PathElement::Attribute(name) => &name.name,
            PathElement::Index(_) => unreachable!("paths start with an attribute name"),
        }
    }

    pub fn is_top_level(&self) -> bool {
        self.elements.len() == 1
    }

    /// The value at this path, if every step exists and has the right type.
    pub fn resolve<'a>(&self, item: &'a Item) -> Option<&'a AttributeValue> {
        let mut current = item.get(self.head())?;
        for element in &self.elements[1..] {
            current = step(current, element)?;
        }
        Some(current)
    }

    /// DynamoDB's rendering of a path in error messages: `[a, b, [0]]`.
    pub fn error_form(&self) -> String {
        let parts: Vec<String> = self
            .elements
            .iter()
            .map(|e| match e {
                PathElement::Attribute(name) => name.name.clone(),
                PathElement::Index(i) => format!("[{i}]"),
            })
            .collect();
        format!("[{}]", parts.join(", "))
    }

    /// Whether two paths share a prefix in the sense DynamoDB forbids within one update or
    /// projection: one is a prefix of the other (`Overlap`) or they diverge by type at the same
    /// step (`Conflict`, `a.b` vs `a[0]`).
    pub fn relation(&self, other: &Path) -> PathRelation {
        for (a, b) in self.elements.iter().zip(&other.elements) {
            match (a, b) {
                (PathElement::Attribute(x), PathElement::Attribute(y)) if x.name == y.name => {}
                (PathElement::Index(x), PathElement::Index(y)) if x == y => {}
                (PathElement::Attribute(_), PathElement::Attribute(_))
                | (PathElement::Index(_), PathElement::Index(_)) => return PathRelation::Disjoint,
                _ => return PathRelation::Conflict,
            }
        }
        PathRelation::Overlap
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PathRelation {
    Disjoint,
    Overlap,
    Conflict,
}

fn step<'a>(value: &'a AttributeValue, element: &PathElement) -> Option<&'a AttributeValue> {
    match (value, element) {
        (AttributeValue::M(map), PathElement::Attribute(name)) => map.get(&name.name),
        (AttributeValue::L(list), PathElement::Index(i)) => list.get(*i),
        _ => None,
    }
}

fn step_mut<'a>(
    value: &'a mut AttributeValue,
    element: &PathElement,
) -> Option<&'a mut AttributeValue> {
    match (value, element) {
        (AttributeValue::M(map), PathElement::Attribute(name)) => map.get_mut(&name.name),
        (AttributeValue::L(list), PathElement::Index(i)) => list.get_mut(*i),
        _ => None,
    }
}

/// The path's parent is missing or has the wrong type for the last step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InvalidPath;

/// The container holding the last element of `path`, or `InvalidPath`.
fn parent_mut<'a>(
    item: &'a mut Item,
    path: &Path,
) -> Result<Option<&'a mut AttributeValue>, InvalidPath> {
    if path.is_top_level() {
        return Ok(None);
    }
    let mut current = item.get_mut(path.head()).ok_or(InvalidPath)?;
    for element in &path.elements[1..path.elements.len() - 1] {
        current = step_mut(current, element).ok_or(InvalidPath)?;
    }
    Ok(Some(current))
}

/// Writes `value` at `path`. A list index past the end appends, as in DynamoDB.
pub fn set_path(item: &mut Item, path: &Path, value: AttributeValue) -> Result<(), InvalidPath> {
    let last = path.elements.last().expect("paths are never empty");
    match (parent_mut(item, path)?, last) {
        (None, _) => {
            item.insert(path.head().to_string(), value);
        }
        (Some(AttributeValue::M(map)), PathElement::Attribute(name)) => {
            map.insert(name.name.clone(), value);
        }
        (Some(AttributeValue::L(list)), PathElement::Index(i)) => {
            if *i < list.len() {
                list[*i] = value;
            } else {
                list.push(value);
            }
        }
        _ => return Err(InvalidPath),
    }
    Ok(())
}

/// Removes the value at `path`; a missing last element is not an error, a missing parent is.
pub fn remove_path(item: &mut Item, path: &Path) -> Result<Option<AttributeValue>, InvalidPath> {
    let last = path.elements.last().expect("paths are never empty");
    match (parent_mut(item, path)?, last) {
        (None, _) => Ok(item.remove(path.head())),
        (Some(AttributeValue::M(map)), PathElement::Attribute(name)) => Ok(map.remove(&name.name)),
        (Some(AttributeValue::L(list)), PathElement::Index(i)) => Ok(if *i < list.len() {
            Some(list.remove(*i))
        } else {
            None
        }),
        _ => Err(InvalidPath),
    }
}

/// Copies the values at `paths` into a new item with the same nesting, as ProjectionExpression
/// and `UPDATED_OLD`/`UPDATED_NEW` do. List elements picked by index keep their relative order
/// and are packed together (`a[3], a[1]` gives `a: [a[1], a[3]]`).
pub fn project_paths<'p>(item: &Item, paths: impl IntoIterator<Item = &'p Path>) -> Item {
    let mut tree: BTreeMap<String, Projected> = BTreeMap::new();
    for path in paths {
        let Some(top) = item.get(path.head()) else {
            continue;
        };
        let Some(projected) = project_value(top, &path.elements[1..]) else {
            continue;
        };
        match tree.get_mut(path.head()) {
            Some(existing) => existing.merge(projected),
            None => {
                tree.insert(path.head().to_string(), projected);
            }
        }
    }
    tree.into_iter()
        .map(|(name, projected)| (name, projected.into_value()))
        .collect()
}

/// A partially copied value: whole values at the leaves, selected map keys and list indices above.
enum Projected {
    Whole(AttributeValue),
    Map(BTreeMap<String, Projected>),
    List(BTreeMap<usize, Projected>),
}

impl Projected {
    fn merge(&mut self, other: Projected) {
        match (self, other) {
            // A whole value already covers any part of it.
            (Projected::Whole(_), _) => {}
            (this, Projected::Whole(value)) => *this = Projected::Whole(value),
            (Projected::Map(a), Projected::Map(b)) => merge_children(a, b),
            (Projected::List(a), Projected::List(b)) => merge_children(a, b),
            // Cannot happen: both sides were copied from the same value.
            _ => {}
        }
    }

    fn into_value(self) -> AttributeValue {
        match self {
            Projected::Whole(value) => value,
            Projected::Map(map) => {
                AttributeValue::M(map.into_iter().map(|(k, v)| (k, v.into_value())).collect())
            }
            Projected::List(list) => {
                AttributeValue::L(list.into_values().map(Projected::into_value).collect())
            }
        }
    }
}

fn merge_children<K: Ord>(into: &mut BTreeMap<K, Projected>, from: BTreeMap<K, Projected>) {
    for (key, value) in from {
        match into.get_mut(&key) {
            Some(existing) => existing.merge(value),
            None => {
                into.insert(key, value);
            }
        }
    }
}

fn project_value(value: &AttributeValue, rest: &[PathElement]) -> Option<Projected> {
    let Some((first, rest)) = rest.split_first() else {
        return Some(Projected::Whole(value.clone()));
    };
    let projected = project_value(step(value, first)?, rest)?;
    Some(match first {
        PathElement::Attribute(name) => {
            Projected::Map(BTreeMap::from([(name.name.clone(), projected)]))
        }
        PathElement::Index(i) => Projected::List(BTreeMap::from([(*i, projected)])),
    })
}

impl fmt::Display for Path {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, element) in self.elements.iter().enumerate() {
            match element {
                PathElement::Attribute(name) => {
                    if i > 0 {
                        f.write_str(".")?;
                    }
                    f.write_str(name.placeholder.as_deref().unwrap_or(&name.name))?;
                }
                PathElement::Index(index) => write!(f, "[{index}]")?,
            }
        }
        Ok(())
    }
}
