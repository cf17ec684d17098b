//! Tokens of DynamoDB's expression language.

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Tok {
    /// A bare word: attribute name, function name or keyword.
    Ident,
    /// `#name` placeholder.
    NamePlaceholder,
    /// `:value` placeholder.
    ValuePlaceholder,
    /// Decimal digits (list indices).
    Int,
    LParen,
    RParen,
    LBracket,
    RBracket,
    Comma,
    Dot,
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    Plus,
    Minus,
    /// A character that starts no token.
    Invalid,
    Eof,
}

#[derive(Debug, Clone)]
pub(crate) struct Token {
    pub tok: Tok,
    pub start: usize,
    pub end: usize,
}

fn is_word_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

pub(crate) fn tokenize(src: &str) -> Vec<Token> {
    let mut tokens = Vec::new();
    let mut chars = src.char_indices().peekable();
    while let Some(&(start, c)) = chars.peek() {
        if matches!(c, ' ' | '\t' | '\r' | '\n') {
            chars.next();
            continue;
        }
        chars.next();
        let mut end = start + c.len_utf8();
        let mut take_while = |pred: fn(char) -> bool, end: &mut usize| {
            while let Some(&(i, c)) = chars.peek() {
                if !pred(c) {
                    break;
                }
                *end = i + c.len_utf8();
                chars.next();
            }
        };
        let tok = match c {
            c if c.is_ascii_alphabetic() || c == '_' => {
                take_while(is_word_char, &mut end);
                Tok::Ident
            }
            '0'..='9' => {
                take_while(|c| c.is_ascii_digit(), &mut end);
                Tok::Int
            }
            '#' => {
                take_while(is_word_char, &mut end);
                Tok::NamePlaceholder
            }
            ':' => {
                take_while(is_word_char, &mut end);
                Tok::ValuePlaceholder
            }
            '(' => Tok::LParen,
            ')' => Tok::RParen,
            '[' => Tok::LBracket,
            ']' => Tok::RBracket,
            ',' => Tok::Comma,
            '.' => Tok::Dot,
            '=' => Tok::Eq,
            '+' => Tok::Plus,
            '-' => Tok::Minus,
            '<' | '>' => {
                let next = chars.peek().map(|&(_, n)| n);
                let (tok, width) = match (c, next) {
                    ('<', Some('>')) => (Tok::Ne, 1),
                    ('<', Some('=')) => (Tok::Le, 1),
                    ('>', Some('=')) => (Tok::Ge, 1),
                    ('<', _) => (Tok::Lt, 0),
                    _ => (Tok::Gt, 0),
                };
                if width == 1 {
                    chars.next();
                    end += 1;
                }
                tok
            }
            _ => Tok::Invalid,
        };
        tokens.push(Token { tok, start, end });
    }
    tokens.push(Token {
        tok: Tok::Eof,
        start: src.len(),
        end: src.len(),
    });
    tokens
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_tokens() {
        let src = "#a.b[10] <> :v AND size(x)>=:w";
        let kinds: Vec<Tok> = tokenize(src).into_iter().map(|t| t.tok).collect();
        use Tok::*;
        assert_eq!(
            kinds,
            vec![
                NamePlaceholder,
                Dot,
                Ident,
                LBracket,
                Int,
                RBracket,
                Ne,
                ValuePlaceholder,
                Ident,
                Ident,
                LParen,
                Ident,
                RParen,
                Ge,
                ValuePlaceholder,
                Eof
            ]
        );
        let tokens = tokenize("é a");
        assert_eq!(tokens[0].tok, Invalid);
        assert_eq!(&"é a"[tokens[0].start..tokens[0].end], "é");
    }
}
