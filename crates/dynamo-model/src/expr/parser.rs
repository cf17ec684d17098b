//! Syntax of condition, update and projection expressions. The parser only builds raw trees
//! (placeholders unresolved, functions by name); `resolve` checks meaning and resolves.

use crate::path::{Name, Path, PathElement};

use super::lexer::{Tok, Token, tokenize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Comparator {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

impl Comparator {
    pub fn as_str(self) -> &'static str {
        match self {
            Comparator::Eq => "=",
            Comparator::Ne => "<>",
            Comparator::Lt => "<",
            Comparator::Le => "<=",
            Comparator::Gt => ">",
            Comparator::Ge => ">=",
        }
    }
}

#[derive(Debug, Clone)]
pub(crate) enum RawOperand {
    Path(Path),
    Value(String),
    Call { name: String, args: Vec<RawOperand> },
}

#[derive(Debug, Clone)]
pub(crate) enum RawCondition {
    Compare(Comparator, RawOperand, RawOperand),
    Between(RawOperand, RawOperand, RawOperand),
    In(RawOperand, Vec<RawOperand>),
    Call { name: String, args: Vec<RawOperand> },
    And(Box<RawCondition>, Box<RawCondition>),
    Or(Box<RawCondition>, Box<RawCondition>),
    Not(Box<RawCondition>),
}

#[derive(Debug, Clone)]
pub(crate) enum RawSetValue {
    Operand(RawOperand),
    Plus(RawOperand, RawOperand),
    Minus(RawOperand, RawOperand),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Section {
    Set,
    Remove,
    Add,
    Delete,
}

impl Section {
    pub fn as_str(self) -> &'static str {
        match self {
            Section::Set => "SET",
            Section::Remove => "REMOVE",
            Section::Add => "ADD",
            Section::Delete => "DELETE",
        }
    }
}

#[derive(Debug, Clone)]
pub(crate) enum RawAction {
    Set(Path, RawSetValue),
    Remove(Path),
    Add(Path, String),
    Delete(Path, String),
}

/// What the parser found besides the tree: DynamoDB reports these after syntax errors.
#[derive(Debug, Default)]
pub(crate) struct ParseNotes {
    pub redundant_parens: bool,
}

const CONDITION_KEYWORDS: [&str; 5] = ["AND", "OR", "NOT", "BETWEEN", "IN"];
const UPDATE_KEYWORDS: [&str; 4] = ["SET", "REMOVE", "ADD", "DELETE"];

struct Parser<'s> {
    src: &'s str,
    tokens: Vec<Token>,
    pos: usize,
    keywords: &'static [&'static str],
    notes: ParseNotes,
    /// The syntax error at the furthest position seen, kept across backtracking.
    furthest_error: Option<usize>,
}

type PResult<T> = Result<T, usize>;

impl<'s> Parser<'s> {
    fn new(src: &'s str, keywords: &'static [&'static str]) -> Self {
        Parser {
            src,
            tokens: tokenize(src),
            pos: 0,
            keywords,
            notes: ParseNotes::default(),
            furthest_error: None,
        }
    }

    fn peek(&self) -> &Tok {
        &self.tokens[self.pos].tok
    }

    fn peek_at(&self, offset: usize) -> &Tok {
        &self.tokens[(self.pos + offset).min(self.tokens.len() - 1)].tok
    }

    fn text(&self, index: usize) -> &'s str {
        let t = &self.tokens[index];
        &self.src[t.start..t.end]
    }

    fn advance(&mut self) {
        if self.pos < self.tokens.len() - 1 {
            self.pos += 1;
        }
    }

    /// A syntax error at the current token.
    fn fail<T>(&mut self) -> PResult<T> {
        let at = self.pos;
        if self.furthest_error.is_none_or(|f| at > f) {
            self.furthest_error = Some(at);
        }
        Err(self.furthest_error.unwrap_or(at))
    }

    fn expect(&mut self, tok: Tok) -> PResult<()> {
        if *self.peek() == tok {
            self.advance();
            Ok(())
        } else {
            self.fail()
        }
    }

    fn at_keyword(&self, keyword: &str) -> bool {
        *self.peek() == Tok::Ident && self.text(self.pos).eq_ignore_ascii_case(keyword)
    }

    fn at_any_keyword(&self) -> bool {
        *self.peek() == Tok::Ident
            && self
                .keywords
                .iter()
                .any(|k| self.text(self.pos).eq_ignore_ascii_case(k))
    }

    /// `item (, item)*`.
    fn comma_separated<T>(
        &mut self,
        mut item: impl FnMut(&mut Self) -> PResult<T>,
    ) -> PResult<Vec<T>> {
        let mut items = vec![item(self)?];
        while *self.peek() == Tok::Comma {
            self.advance();
            items.push(item(self)?);
        }
        Ok(items)
    }

    fn finish(&mut self) -> PResult<()> {
        if *self.peek() == Tok::Eof {
            Ok(())
        } else {
            self.fail()
        }
    }

    fn name(&mut self) -> PResult<Name> {
        match self.peek() {
            Tok::Ident if !self.at_any_keyword() => {
                let text = self.text(self.pos).to_string();
                self.advance();
                Ok(Name {
                    name: text,
                    placeholder: None,
                })
            }
            Tok::NamePlaceholder => {
                let text = self.text(self.pos).to_string();
                self.advance();
                Ok(Name {
                    name: text.clone(),
                    placeholder: Some(text),
                })
            }
            _ => self.fail(),
        }
    }

    fn path(&mut self) -> PResult<Path> {
        let mut elements = vec![PathElement::Attribute(self.name()?)];
        loop {
            match self.peek() {
                Tok::Dot => {
                    self.advance();
                    elements.push(PathElement::Attribute(self.name()?));
                }
                Tok::LBracket => {
                    self.advance();
                    if *self.peek() != Tok::Int {
                        return self.fail();
                    }
                    let Ok(index) = self.text(self.pos).parse::<u32>() else {
                        return self.fail();
                    };
                    self.advance();
                    self.expect(Tok::RBracket)?;
                    elements.push(PathElement::Index(index as usize));
                }
                _ => return Ok(Path { elements }),
            }
        }
    }

    /// Operand: `(operand)`, `:value`, `function(args)`, or a path. The flag says whether the
    /// operand was wrapped in parentheses.
    fn operand(&mut self) -> PResult<(RawOperand, bool)> {
        match self.peek() {
            Tok::LParen => {
                self.advance();
                let (inner, inner_parenthesised) = self.operand()?;
                self.expect(Tok::RParen)?;
                if inner_parenthesised {
                    self.notes.redundant_parens = true;
                }
                Ok((inner, true))
            }
            Tok::ValuePlaceholder => {
                let text = self.text(self.pos).to_string();
                self.advance();
                Ok((RawOperand::Value(text), false))
            }
            Tok::Ident if *self.peek_at(1) == Tok::LParen && !self.at_any_keyword() => {
                let name = self.text(self.pos).to_string();
                self.advance();
                self.advance();
                let args = self.comma_separated(|p| Ok(p.operand()?.0))?;
                self.expect(Tok::RParen)?;
                Ok((RawOperand::Call { name, args }, false))
            }
            _ => Ok((RawOperand::Path(self.path()?), false)),
        }
    }

    fn comparator(&self) -> Option<Comparator> {
        Some(match self.peek() {
            Tok::Eq => Comparator::Eq,
            Tok::Ne => Comparator::Ne,
            Tok::Lt => Comparator::Lt,
            Tok::Le => Comparator::Le,
            Tok::Gt => Comparator::Gt,
            Tok::Ge => Comparator::Ge,
            _ => return None,
        })
    }

    /// `or := and (OR and)*`; the flag says the whole thing is one parenthesised group.
    fn or_condition(&mut self) -> PResult<(RawCondition, bool)> {
        let (mut condition, mut group) = self.and_condition()?;
        while self.at_keyword("OR") {
            self.advance();
            let (right, _) = self.and_condition()?;
            condition = RawCondition::Or(Box::new(condition), Box::new(right));
            group = false;
        }
        Ok((condition, group))
    }

    fn and_condition(&mut self) -> PResult<(RawCondition, bool)> {
        let (mut condition, mut group) = self.not_condition()?;
        while self.at_keyword("AND") {
            self.advance();
            let (right, _) = self.not_condition()?;
            condition = RawCondition::And(Box::new(condition), Box::new(right));
            group = false;
        }
        Ok((condition, group))
    }

    fn not_condition(&mut self) -> PResult<(RawCondition, bool)> {
        if self.at_keyword("NOT") {
            self.advance();
            let (inner, _) = self.not_condition()?;
            return Ok((RawCondition::Not(Box::new(inner)), false));
        }
        self.primary_condition()
    }

    fn primary_condition(&mut self) -> PResult<(RawCondition, bool)> {
        if *self.peek() == Tok::LParen {
            // Either a parenthesised condition or a condition whose first operand is
            // parenthesised; try the former and fall back.
            let start = self.pos;
            let redundant_before = self.notes.redundant_parens;
            self.advance();
            if let Ok((inner, inner_group)) = self.or_condition() {
                if *self.peek() == Tok::RParen {
                    self.advance();
                    let continues_operand = self.comparator().is_some()
                        || self.at_keyword("BETWEEN")
                        || self.at_keyword("IN");
                    if !continues_operand {
                        if inner_group {
                            self.notes.redundant_parens = true;
                        }
                        return Ok((inner, true));
                    }
                }
            }
            self.pos = start;
            self.notes.redundant_parens = redundant_before;
        }
        self.operand_condition().map(|c| (c, false))
    }

    fn operand_condition(&mut self) -> PResult<RawCondition> {
        let (left, _) = self.operand()?;
        if let Some(comparator) = self.comparator() {
            self.advance();
            let (right, _) = self.operand()?;
            return Ok(RawCondition::Compare(comparator, left, right));
        }
        if self.at_keyword("BETWEEN") {
            self.advance();
            let (low, _) = self.operand()?;
            if !self.at_keyword("AND") {
                return self.fail();
            }
            self.advance();
            let (high, _) = self.operand()?;
            return Ok(RawCondition::Between(left, low, high));
        }
        if self.at_keyword("IN") {
            self.advance();
            self.expect(Tok::LParen)?;
            let list = self.comma_separated(|p| Ok(p.operand()?.0))?;
            self.expect(Tok::RParen)?;
            return Ok(RawCondition::In(left, list));
        }
        match left {
            RawOperand::Call { name, args } => Ok(RawCondition::Call { name, args }),
            _ => self.fail(),
        }
    }

    fn set_value(&mut self) -> PResult<RawSetValue> {
        // `SET a = (b + :c)`: parentheses around the whole arithmetic.
        if *self.peek() == Tok::LParen {
            let start = self.pos;
            self.advance();
            if let Ok(value @ (RawSetValue::Plus(..) | RawSetValue::Minus(..))) = self.set_value() {
                if *self.peek() == Tok::RParen {
                    self.advance();
                    return Ok(value);
                }
            }
            self.pos = start;
        }
        let (left, _) = self.operand()?;
        match self.peek() {
            Tok::Plus => {
                self.advance();
                Ok(RawSetValue::Plus(left, self.operand()?.0))
            }
            Tok::Minus => {
                self.advance();
                Ok(RawSetValue::Minus(left, self.operand()?.0))
            }
            _ => Ok(RawSetValue::Operand(left)),
        }
    }

    fn value_placeholder(&mut self) -> PResult<String> {
        if *self.peek() != Tok::ValuePlaceholder {
            return self.fail();
        }
        let text = self.text(self.pos).to_string();
        self.advance();
        Ok(text)
    }

    fn section_keyword(&self) -> Option<Section> {
        [Section::Set, Section::Remove, Section::Add, Section::Delete]
            .into_iter()
            .find(|s| self.at_keyword(s.as_str()))
    }

    fn update(&mut self) -> PResult<Vec<(Section, Vec<RawAction>)>> {
        let mut sections = Vec::new();
        loop {
            let Some(section) = self.section_keyword() else {
                return self.fail();
            };
            self.advance();
            let actions = self.comma_separated(|p| {
                let path = p.path()?;
                Ok(match section {
                    Section::Set => {
                        p.expect(Tok::Eq)?;
                        RawAction::Set(path, p.set_value()?)
                    }
                    Section::Remove => RawAction::Remove(path),
                    Section::Add => RawAction::Add(path, p.value_placeholder()?),
                    Section::Delete => RawAction::Delete(path, p.value_placeholder()?),
                })
            })?;
            sections.push((section, actions));
            if *self.peek() == Tok::Eof {
                return Ok(sections);
            }
        }
    }

    /// DynamoDB's syntax error text for the token at `index`.
    fn syntax_error(&self, index: usize) -> String {
        let token = &self.tokens[index];
        let shown = if token.tok == Tok::Eof {
            "<EOF>"
        } else {
            self.text(index)
        };
        // "near" runs from the previous token to the next one, without surrounding blanks.
        let previous = index.checked_sub(1).map(|i| &self.tokens[i]);
        let from = previous.map_or(token.start, |p| p.start);
        let to = if token.tok == Tok::Eof {
            previous.map_or(token.end, |p| p.end)
        } else {
            match self.tokens.get(index + 1) {
                Some(next) if next.tok != Tok::Eof => next.end,
                _ => token.end,
            }
        };
        format!(
            "Syntax error; token: \"{shown}\", near: \"{}\"",
            &self.src[from..to]
        )
    }
}

pub(crate) fn parse_condition(src: &str) -> Result<(RawCondition, ParseNotes), String> {
    let mut parser = Parser::new(src, &CONDITION_KEYWORDS);
    let result = parser.or_condition().and_then(|(condition, _)| {
        parser.finish()?;
        Ok(condition)
    });
    match result {
        Ok(condition) => Ok((condition, parser.notes)),
        Err(at) => Err(parser.syntax_error(at)),
    }
}

pub(crate) fn parse_update(src: &str) -> Result<Vec<(Section, Vec<RawAction>)>, String> {
    let mut parser = Parser::new(src, &UPDATE_KEYWORDS);
    parser.update().map_err(|at| parser.syntax_error(at))
}

pub(crate) fn parse_projection(src: &str) -> Result<Vec<Path>, String> {
    let mut parser = Parser::new(src, &[]);
    let result = parser.comma_separated(Parser::path).and_then(|paths| {
        parser.finish()?;
        Ok(paths)
    });
    result.map_err(|at| parser.syntax_error(at))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn syntax_errors_name_the_token() {
        assert_eq!(
            parse_condition("a = ").unwrap_err(),
            "Syntax error; token: \"<EOF>\", near: \"=\""
        );
        assert_eq!(
            parse_condition("a = = :b").unwrap_err(),
            "Syntax error; token: \"=\", near: \"= = :b\""
        );
        assert_eq!(
            parse_projection("my-attribute").unwrap_err(),
            "Syntax error; token: \"-\", near: \"my-attribute\""
        );
        assert_eq!(
            parse_update("SET a").unwrap_err(),
            "Syntax error; token: \"<EOF>\", near: \"a\""
        );
        assert_eq!(
            parse_update("a = :b").unwrap_err(),
            "Syntax error; token: \"a\", near: \"a =\""
        );
        assert!(parse_condition("attribute_exists()").is_err());
        assert!(parse_condition("a BETWEEN :x OR :y").is_err());
    }

    #[test]
    fn parentheses() {
        assert!(!parse_condition("(a = :v)").unwrap().1.redundant_parens);
        assert!(parse_condition("((a = :v))").unwrap().1.redundant_parens);
        assert!(parse_condition("((a)) = :v").unwrap().1.redundant_parens);
        assert!(
            !parse_condition("((a = :v) AND b = :w)")
                .unwrap()
                .1
                .redundant_parens
        );
        assert!(
            !parse_condition("(a) = :v AND (size(b)) > :w")
                .unwrap()
                .1
                .redundant_parens
        );
        assert!(
            !parse_condition("(a = :v OR b = :w) AND (c = :x)")
                .unwrap()
                .1
                .redundant_parens
        );
    }
}
