//! Freshdesk's filter query language for `/api/v2/search/{contacts,tickets}`
//! (freshdesk-api.md §3 and §4; PF `filter_contacts`, NF `filterContacts`; the
//! reference's rules as transcribed at withone.ai, "Filter Contacts" and "Filter
//! Tickets"): the query is wrapped in double quotes, at most 512 characters;
//! clauses are `field:'string'`, `field:number`, `field:true`, `field:null`, with
//! `:>` (greater than or equal) and `:<` (less than or equal) for numbers and
//! dates; clauses are joined by `AND` / `OR` and grouped with parentheses. The
//! precedence of `AND` over `OR` is unverified.

mod eval;
mod index;

pub(crate) use eval::{check_fields, matches_contact, matches_ticket};
pub(crate) use index::Index;

/// The longest query (inside the quotes) Freshdesk takes.
pub(crate) const MAX_QUERY: usize = 512;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Op {
    Eq,
    /// `:>`, greater than or equal.
    Ge,
    /// `:<`, less than or equal.
    Le,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Literal {
    Str(String),
    Num(f64),
    Bool(bool),
    Null,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Clause {
    pub(crate) field: String,
    pub(crate) op: Op,
    pub(crate) value: Literal,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Expr {
    Or(Vec<Expr>),
    And(Vec<Expr>),
    Clause(Clause),
}

impl Expr {
    pub(crate) fn clauses(&self) -> Vec<&Clause> {
        match self {
            Expr::Or(items) | Expr::And(items) => items.iter().flat_map(Expr::clauses).collect(),
            Expr::Clause(clause) => vec![clause],
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Open,
    Close,
    Word(String),
    Colon,
    Gt,
    Lt,
    Str(String),
}

fn tokens(text: &str) -> Option<Vec<Token>> {
    let mut out = Vec::new();
    let mut chars = text.chars().peekable();
    while let Some(&c) = chars.peek() {
        match c {
            c if c.is_whitespace() => {
                chars.next();
            }
            '(' | ')' | ':' | '>' | '<' => {
                chars.next();
                out.push(match c {
                    '(' => Token::Open,
                    ')' => Token::Close,
                    ':' => Token::Colon,
                    '>' => Token::Gt,
                    _ => Token::Lt,
                });
            }
            '\'' => {
                chars.next();
                let mut value = String::new();
                loop {
                    match chars.next()? {
                        '\'' => break,
                        c => value.push(c),
                    }
                }
                out.push(Token::Str(value));
            }
            c if c.is_alphanumeric() || matches!(c, '_' | '-' | '.') => {
                let mut word = String::new();
                while let Some(&c) = chars.peek() {
                    if !(c.is_alphanumeric() || matches!(c, '_' | '-' | '.')) {
                        break;
                    }
                    word.push(c);
                    chars.next();
                }
                out.push(Token::Word(word));
            }
            _ => return None,
        }
    }
    Some(out)
}

struct Parser {
    tokens: Vec<Token>,
    at: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.at)
    }

    fn next(&mut self) -> Option<Token> {
        let token = self.tokens.get(self.at).cloned();
        self.at += 1;
        token
    }

    fn keyword(&mut self, word: &str) -> bool {
        if self.peek() == Some(&Token::Word(word.to_owned())) {
            self.at += 1;
            true
        } else {
            false
        }
    }

    fn or(&mut self) -> Option<Expr> {
        let mut items = vec![self.and()?];
        while self.keyword("OR") {
            items.push(self.and()?);
        }
        Some(if items.len() == 1 {
            items.remove(0)
        } else {
            Expr::Or(items)
        })
    }

    fn and(&mut self) -> Option<Expr> {
        let mut items = vec![self.atom()?];
        while self.keyword("AND") {
            items.push(self.atom()?);
        }
        Some(if items.len() == 1 {
            items.remove(0)
        } else {
            Expr::And(items)
        })
    }

    fn atom(&mut self) -> Option<Expr> {
        match self.next()? {
            Token::Open => {
                let inner = self.or()?;
                (self.next()? == Token::Close).then_some(inner)
            }
            Token::Word(field) => {
                if self.next()? != Token::Colon {
                    return None;
                }
                let op = match self.peek() {
                    Some(Token::Gt) => Op::Ge,
                    Some(Token::Lt) => Op::Le,
                    _ => Op::Eq,
                };
                if op != Op::Eq {
                    self.at += 1;
                }
                let value = match self.next()? {
                    Token::Str(text) => Literal::Str(text),
                    Token::Word(word) => match word.as_str() {
                        "true" => Literal::Bool(true),
                        "false" => Literal::Bool(false),
                        "null" => Literal::Null,
                        number => Literal::Num(number.parse().ok()?),
                    },
                    _ => return None,
                };
                Some(Expr::Clause(Clause { field, op, value }))
            }
            _ => None,
        }
    }
}

/// Parses the `query` parameter, quotes included; `None` when it is not a query.
pub(crate) fn parse(query: &str) -> Option<Expr> {
    let inner = query.strip_prefix('"')?.strip_suffix('"')?;
    let mut parser = Parser {
        tokens: tokens(inner)?,
        at: 0,
    };
    let expr = parser.or()?;
    (parser.at == parser.tokens.len()).then_some(expr)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn clause(field: &str, op: Op, value: Literal) -> Expr {
        Expr::Clause(Clause {
            field: field.to_owned(),
            op,
            value,
        })
    }

    #[test]
    fn parses_clauses_operators_and_grouping() {
        let expr =
            parse(r#""(status:2 OR status:3) AND priority:>3 AND phone:'+1 555' AND tag:null""#)
                .expect("parses");
        assert_eq!(
            expr,
            Expr::And(vec![
                Expr::Or(vec![
                    clause("status", Op::Eq, Literal::Num(2.0)),
                    clause("status", Op::Eq, Literal::Num(3.0)),
                ]),
                clause("priority", Op::Ge, Literal::Num(3.0)),
                clause("phone", Op::Eq, Literal::Str("+1 555".to_owned())),
                clause("tag", Op::Eq, Literal::Null),
            ])
        );
    }

    #[test]
    fn refuses_what_is_not_a_query() {
        assert_eq!(parse("status:2"), None, "no double quotes");
        assert_eq!(parse(r#""status:'2""#), None);
        assert_eq!(parse(r#""status:2 AND""#), None);
        assert_eq!(parse(r#""(status:2""#), None);
        assert_eq!(parse(r#""status 2""#), None);
    }
}
