//! Meaning checks: placeholders resolved, reserved words, function names and arities, operand
//! types, overlapping paths. DynamoDB reports only one problem per expression, picking by kind,
//! so problems are collected by kind and the first kind wins.

use std::collections::{BTreeMap, BTreeSet};

use crate::path::{Path, PathElement, PathRelation};
use crate::reserved::is_reserved;
use crate::value::{AttributeValue, ValueType};

use super::condition::{Condition, Operand, ValueRef};
use super::parser::{RawAction, RawCondition, RawOperand, RawSetValue, Section};
use super::update::{SetOperand, SetValue, UpdateAction, UpdateExpression};

/// Problem kinds in the order DynamoDB reports them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Kind {
    Parens,
    UnknownFunction,
    MisusedFunction,
    Reserved,
    Section,
    AttrName,
    AttrValue,
    PathOverlap,
    Operand,
    Distinct,
    Function,
}

pub(crate) struct Resolver<'a> {
    pub names: &'a BTreeMap<String, String>,
    pub values: &'a BTreeMap<String, AttributeValue>,
    pub used_names: &'a mut BTreeSet<String>,
    pub used_values: &'a mut BTreeSet<String>,
    problems: BTreeMap<Kind, String>,
}

fn type_word(value: &AttributeValue) -> &'static str {
    match value.value_type() {
        ValueType::S => "STRING",
        ValueType::N => "NUMBER",
        ValueType::B => "BINARY",
        ValueType::Bool => "BOOLEAN",
        ValueType::Null => "NULL",
        ValueType::L => "LIST",
        ValueType::M => "MAP",
        ValueType::Ss => "SS",
        ValueType::Ns => "NS",
        ValueType::Bs => "BS",
    }
}

/// `{N:5}` as DynamoDB prints values in BETWEEN errors.
fn short_value(value: &AttributeValue) -> String {
    let body = match value {
        AttributeValue::S(s) => s.clone(),
        AttributeValue::N(n) => n.to_string(),
        other => other
            .to_json()
            .as_object()
            .and_then(|o| o.values().next())
            .map(|v| v.to_string())
            .unwrap_or_default(),
    };
    format!("{{{}:{body}}}", value.value_type())
}

impl<'a> Resolver<'a> {
    pub fn new(
        names: &'a BTreeMap<String, String>,
        values: &'a BTreeMap<String, AttributeValue>,
        used_names: &'a mut BTreeSet<String>,
        used_values: &'a mut BTreeSet<String>,
    ) -> Self {
        Resolver {
            names,
            values,
            used_names,
            used_values,
            problems: BTreeMap::new(),
        }
    }

    fn problem(&mut self, kind: Kind, message: String) {
        self.problems.entry(kind).or_insert(message);
    }

    pub fn note_redundant_parens(&mut self) {
        self.problem(
            Kind::Parens,
            "The expression has redundant parentheses;".into(),
        );
    }

    /// The problem DynamoDB would report, if any.
    pub fn into_problem(self) -> Option<String> {
        self.problems.into_values().next()
    }

    pub fn path(&mut self, mut path: Path) -> Path {
        for element in &mut path.elements {
            let PathElement::Attribute(name) = element else {
                continue;
            };
            match &name.placeholder {
                Some(placeholder) => match self.names.get(placeholder) {
                    Some(resolved) => {
                        self.used_names.insert(placeholder.clone());
                        name.name = resolved.clone();
                    }
                    None => self.problem(
                        Kind::AttrName,
                        format!("An expression attribute name used in the document path is not defined; attribute name: {placeholder}"),
                    ),
                },
                None => {
                    if is_reserved(&name.name) {
                        self.problem(Kind::Reserved, format!("Attribute name is a reserved keyword; reserved keyword: {}", name.name));
                    }
                }
            }
        }
        path
    }

    pub fn value(&mut self, placeholder: String) -> ValueRef {
        match self.values.get(&placeholder) {
            Some(value) => {
                self.used_values.insert(placeholder.clone());
                ValueRef {
                    value: value.clone(),
                    placeholder,
                }
            }
            None => {
                self.problem(
                    Kind::AttrValue,
                    format!("An expression attribute value used in expression is not defined; attribute value: {placeholder}"),
                );
                ValueRef {
                    placeholder,
                    value: AttributeValue::Null,
                }
            }
        }
    }

    /// Paths written by one update (or read by one projection) must not overlap.
    pub fn check_overlaps(&mut self, paths: &[&Path]) {
        for (i, later) in paths.iter().enumerate() {
            for earlier in &paths[..i] {
                let relation = earlier.relation(later);
                let word = match relation {
                    PathRelation::Disjoint => continue,
                    PathRelation::Overlap => "overlap",
                    PathRelation::Conflict => "conflict",
                };
                self.problem(
                    Kind::PathOverlap,
                    format!(
                        "Two document paths {word} with each other; must remove or rewrite one of these paths; path one: {}, path two: {}",
                        earlier.error_form(),
                        later.error_form()
                    ),
                );
                return;
            }
        }
    }

    fn arity(&mut self, name: &str, args: &[RawOperand], expected: usize) -> bool {
        if args.len() == expected {
            return true;
        }
        self.problem(
            Kind::Operand,
            format!("Incorrect number of operands for operator or function; operator or function: {name}, number of operands: {}", args.len()),
        );
        false
    }

    fn operand_type_problem(&mut self, function: &str, value_type: ValueType) {
        self.problem(
            Kind::Function,
            format!("Incorrect operand type for operator or function; operator or function: {function}, operand type: {value_type}"),
        );
    }

    fn require_path(&mut self, function: &str, operand: RawOperand) -> Option<Path> {
        match operand {
            RawOperand::Path(path) => Some(self.path(path)),
            other => {
                // Still resolve to record undefined placeholders.
                self.condition_operand(other);
                self.problem(Kind::Function, format!("Operator or function requires a document path; operator or function: {function}"));
                None
            }
        }
    }

    fn check_distinct(&mut self, operator: &str, a: &Operand, b: &Operand) {
        if let (Operand::Path(x), Operand::Path(y)) = (a, b) {
            if x.relation(y) == PathRelation::Overlap && x.elements.len() == y.elements.len() {
                self.problem(
                    Kind::Distinct,
                    format!(
                        "The first operand must be distinct from the remaining operands for this operator or function; operator: {operator}, first operand: {}",
                        x.error_form()
                    ),
                );
            }
        }
    }

    /// Resolves operands that end up in no tree, only to record their problems (undefined
    /// placeholders, reserved words, unknown functions).
    fn check_operands(&mut self, operands: impl IntoIterator<Item = RawOperand>) {
        for operand in operands {
            self.condition_operand(operand);
        }
    }

    /// An operand of a comparison: only `size` may appear as a function here.
    fn condition_operand(&mut self, operand: RawOperand) -> Operand {
        match operand {
            RawOperand::Path(path) => Operand::Path(self.path(path)),
            RawOperand::Value(placeholder) => Operand::Value(self.value(placeholder)),
            RawOperand::Call { name, args } if name == "size" => {
                let mut args = args.into_iter();
                let count = args.len();
                let inner = args.next().map(|a| self.condition_operand(a));
                self.check_operands(args);
                if count != 1 {
                    self.problem(
                        Kind::Operand,
                        format!("Incorrect number of operands for operator or function; operator or function: size, number of operands: {count}"),
                    );
                }
                let inner = inner.expect("parser guarantees at least one argument");
                if let Operand::Value(v) = &inner {
                    let t = v.value.value_type();
                    if matches!(t, ValueType::N | ValueType::Bool | ValueType::Null) {
                        self.operand_type_problem("size", t);
                    }
                }
                Operand::Size(Box::new(inner))
            }
            RawOperand::Call { name, args } => {
                if Self::condition_function_arity(&name).is_some() {
                    self.problem(
                        Kind::MisusedFunction,
                        format!("The function is not allowed to be used this way in an expression; function: {name}"),
                    );
                } else {
                    self.problem(
                        Kind::UnknownFunction,
                        format!("Invalid function name; function: {name}"),
                    );
                }
                self.check_operands(args);
                // Placeholder operand; the recorded problem makes the expression fail.
                Operand::Value(ValueRef {
                    placeholder: String::new(),
                    value: AttributeValue::Null,
                })
            }
        }
    }

    fn condition_function_arity(name: &str) -> Option<usize> {
        Some(match name {
            "attribute_exists" | "attribute_not_exists" | "size" => 1,
            "attribute_type" | "begins_with" | "contains" => 2,
            _ => return None,
        })
    }

    pub fn condition(&mut self, raw: RawCondition) -> Condition {
        match raw {
            RawCondition::Compare(op, left, right) => {
                let left = self.condition_operand(left);
                let right = self.condition_operand(right);
                self.check_distinct(op.as_str(), &left, &right);
                Condition::Compare { op, left, right }
            }
            RawCondition::Between(operand, low, high) => {
                let operand = self.condition_operand(operand);
                let low = self.condition_operand(low);
                let high = self.condition_operand(high);
                if let (Operand::Value(lo), Operand::Value(hi)) = (&low, &high) {
                    let (lo, hi) = (&lo.value, &hi.value);
                    if lo.value_type() != hi.value_type() {
                        self.problem(
                            Kind::Function,
                            format!(
                                "The BETWEEN operator requires same data type for lower and upper bounds; lower bound operand: AttributeValue: {}, upper bound operand: AttributeValue: {}",
                                short_value(lo),
                                short_value(hi)
                            ),
                        );
                    } else if super::condition::compare_values(lo, hi).is_some_and(|o| o.is_gt()) {
                        self.problem(
                            Kind::Function,
                            format!(
                                "The BETWEEN operator requires upper bound to be greater than or equal to lower bound; lower bound operand: AttributeValue: {}, upper bound operand: AttributeValue: {}",
                                short_value(lo),
                                short_value(hi)
                            ),
                        );
                    }
                }
                Condition::Between { operand, low, high }
            }
            RawCondition::In(operand, list) => {
                let operand = self.condition_operand(operand);
                let list = list
                    .into_iter()
                    .map(|o| self.condition_operand(o))
                    .collect();
                Condition::In { operand, list }
            }
            RawCondition::And(a, b) => {
                Condition::And(Box::new(self.condition(*a)), Box::new(self.condition(*b)))
            }
            RawCondition::Or(a, b) => {
                Condition::Or(Box::new(self.condition(*a)), Box::new(self.condition(*b)))
            }
            RawCondition::Not(a) => Condition::Not(Box::new(self.condition(*a))),
            RawCondition::Call { name, args } => self.function_condition(name, args),
        }
    }

    fn function_condition(&mut self, name: String, args: Vec<RawOperand>) -> Condition {
        let fallback = || Condition::AttributeExists(Path::attribute(""));
        let usable = match Self::condition_function_arity(&name) {
            None => {
                self.problem(
                    Kind::UnknownFunction,
                    format!("Invalid function name; function: {name}"),
                );
                false
            }
            Some(_) if name == "size" => {
                self.problem(
                    Kind::MisusedFunction,
                    "The function is not allowed to be used this way in an expression; function: size"
                        .into(),
                );
                false
            }
            Some(arity) => self.arity(&name, &args, arity),
        };
        if !usable {
            self.check_operands(args);
            return fallback();
        }
        let mut args = args.into_iter();
        let first = args.next().expect("arity checked");
        let second = args.next();
        match name.as_str() {
            "attribute_exists" => self
                .require_path(&name, first)
                .map_or_else(fallback, Condition::AttributeExists),
            "attribute_not_exists" => self
                .require_path(&name, first)
                .map_or_else(fallback, Condition::AttributeNotExists),
            "attribute_type" => {
                let path = self.require_path(&name, first);
                let type_operand = self.condition_operand(second.expect("arity checked"));
                if let Operand::Value(v) = &type_operand {
                    match &v.value {
                        AttributeValue::S(t) if ValueType::parse(t).is_some() => {}
                        AttributeValue::S(t) => self.problem(
                            Kind::Function,
                            format!("Invalid attribute type name found; type: {t}, valid types: {{B,NULL,SS,BOOL,L,BS,N,NS,S,M}}"),
                        ),
                        other => self.operand_type_problem(&name, other.value_type()),
                    }
                }
                match path {
                    Some(path) => Condition::AttributeType(path, type_operand),
                    None => fallback(),
                }
            }
            "begins_with" | "contains" => {
                let a = self.condition_operand(first);
                let b = self.condition_operand(second.expect("arity checked"));
                self.check_distinct(&name, &a, &b);
                if name == "begins_with" {
                    for operand in [&a, &b] {
                        if let Operand::Value(v) = operand {
                            let t = v.value.value_type();
                            if t != ValueType::S && t != ValueType::B {
                                self.operand_type_problem(&name, t);
                            }
                        }
                    }
                    Condition::BeginsWith(a, b)
                } else {
                    Condition::Contains(a, b)
                }
            }
            _ => unreachable!("all condition functions handled"),
        }
    }

    fn set_operand(&mut self, operand: RawOperand) -> SetOperand {
        match operand {
            RawOperand::Path(path) => SetOperand::Path(self.path(path)),
            RawOperand::Value(placeholder) => SetOperand::Value(self.value(placeholder)),
            RawOperand::Call { name, args } => {
                let fallback = SetOperand::Value(ValueRef {
                    placeholder: String::new(),
                    value: AttributeValue::Null,
                });
                if name != "if_not_exists" && name != "list_append" {
                    self.problem(
                        Kind::UnknownFunction,
                        format!("Invalid function name; function: {name}"),
                    );
                    args.into_iter().for_each(|a| drop(self.set_operand(a)));
                    return fallback;
                }
                if args.len() != 2 {
                    self.problem(
                        Kind::Function,
                        format!("Incorrect number of operands for operator or function; operator or function: {name}, number of operands: {}", args.len()),
                    );
                    args.into_iter().for_each(|a| drop(self.set_operand(a)));
                    return fallback;
                }
                let mut args = args.into_iter();
                let (first, second) = (args.next().expect("two"), args.next().expect("two"));
                if name == "if_not_exists" {
                    let second = self.set_operand(second);
                    match first {
                        RawOperand::Path(path) => {
                            SetOperand::IfNotExists(self.path(path), Box::new(second))
                        }
                        other => {
                            self.set_operand(other);
                            self.problem(Kind::Function, format!("Operator or function requires a document path; operator or function: {name}"));
                            fallback
                        }
                    }
                } else {
                    let a = self.set_operand(first);
                    let b = self.set_operand(second);
                    for operand in [&a, &b] {
                        if let SetOperand::Value(v) = operand {
                            if v.value.value_type() != ValueType::L {
                                self.operand_type_problem(&name, v.value.value_type());
                            }
                        }
                    }
                    SetOperand::ListAppend(Box::new(a), Box::new(b))
                }
            }
        }
    }

    fn arithmetic_operand(&mut self, operator: &str, operand: RawOperand) -> SetOperand {
        let operand = self.set_operand(operand);
        let immediate = match &operand {
            SetOperand::Value(v) => Some(v.value.value_type()),
            SetOperand::ListAppend(..) => Some(ValueType::L),
            _ => None,
        };
        if let Some(t) = immediate.filter(|t| *t != ValueType::N) {
            self.operand_type_problem(operator, t);
        }
        operand
    }

    pub fn update(&mut self, raw: Vec<(Section, Vec<RawAction>)>) -> UpdateExpression {
        let mut seen = BTreeSet::new();
        let mut sections = Vec::new();
        for (section, actions) in raw {
            if !seen.insert(section) {
                self.problem(
                    Kind::Section,
                    format!(
                        "The \"{}\" section can only be used once in an update expression;",
                        section.as_str()
                    ),
                );
            }
            let actions = actions
                .into_iter()
                .map(|action| self.update_action(action))
                .collect();
            sections.push((section, actions));
        }
        let update = UpdateExpression { sections };
        self.check_overlaps(&update.paths());
        update
    }

    fn update_action(&mut self, action: RawAction) -> UpdateAction {
        match action {
            RawAction::Set(path, value) => {
                let path = self.path(path);
                let value = match value {
                    RawSetValue::Operand(o) => SetValue::Operand(self.set_operand(o)),
                    RawSetValue::Plus(a, b) => SetValue::Plus(
                        self.arithmetic_operand("+", a),
                        self.arithmetic_operand("+", b),
                    ),
                    RawSetValue::Minus(a, b) => SetValue::Minus(
                        self.arithmetic_operand("-", a),
                        self.arithmetic_operand("-", b),
                    ),
                };
                UpdateAction::Set(path, value)
            }
            RawAction::Remove(path) => UpdateAction::Remove(self.path(path)),
            RawAction::Add(path, value) => {
                let path = self.path(path);
                let value = self.value(value);
                self.check_set_operand("ADD", &value, true);
                UpdateAction::Add(path, value)
            }
            RawAction::Delete(path, value) => {
                let path = self.path(path);
                let value = self.value(value);
                self.check_set_operand("DELETE", &value, false);
                UpdateAction::Delete(path, value)
            }
        }
    }

    fn check_set_operand(&mut self, operator: &str, value: &ValueRef, numbers_allowed: bool) {
        if !self.values.contains_key(&value.placeholder) {
            return;
        }
        let t = value.value.value_type();
        let allowed = matches!(t, ValueType::Ss | ValueType::Ns | ValueType::Bs)
            || (numbers_allowed && t == ValueType::N);
        if !allowed {
            self.problem(
                Kind::Operand,
                format!("Incorrect operand type for operator or function; operator: {operator}, operand type: {}", type_word(&value.value)),
            );
        }
    }
}
