//! The `filter` and `groupby` parameters of the commercial endpoints.
//!
//! Grammar, as the documentation describes it (`eq`/`ne` on fields, combined with `and`/`or`, with
//! parentheses in the example), with the usual precedence — `and` binds tighter than `or`:
//!
//! ```text
//! expr    := and ("or" and)*
//! and     := primary ("and" primary)*
//! primary := "(" expr ")" | field ("eq" | "ne") 'string'
//! ```
//!
//! Keywords and field names are matched case-insensitively, string values are single-quoted with
//! `''` for a quote (OData style), and values compare case-insensitively: the documented example
//! filters on `'O365'` and `'Reseller'` while rows say `o365` and `reseller`. Both case rules are
//! UNCONFIRMED for the real service; the simulator is lenient where the documentation is.

use std::collections::HashMap;

/// A filterable (and groupable) field of the commercial rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Field {
    WorkloadCode,
    WorkloadName,
    ServiceCode,
    ServiceName,
    Channel,
    CustomerTenantId,
    CustomerName,
    ProductId,
    ProductName,
}

impl Field {
    /// Fields of the usage endpoint.
    pub const USAGE: &'static [Field] = &[
        Field::WorkloadCode,
        Field::WorkloadName,
        Field::ServiceCode,
        Field::ServiceName,
        Field::Channel,
        Field::CustomerTenantId,
        Field::CustomerName,
        Field::ProductId,
        Field::ProductName,
    ];
    /// Fields of the deployment endpoint (no workload).
    pub const DEPLOYMENT: &'static [Field] = &[
        Field::ServiceCode,
        Field::ServiceName,
        Field::Channel,
        Field::CustomerTenantId,
        Field::CustomerName,
        Field::ProductId,
        Field::ProductName,
    ];

    /// The JSON name.
    pub fn name(self) -> &'static str {
        match self {
            Field::WorkloadCode => "workloadCode",
            Field::WorkloadName => "workloadName",
            Field::ServiceCode => "serviceCode",
            Field::ServiceName => "serviceName",
            Field::Channel => "channel",
            Field::CustomerTenantId => "customerTenantId",
            Field::CustomerName => "customerName",
            Field::ProductId => "productId",
            Field::ProductName => "productName",
        }
    }

    fn lookup(name: &str, allowed: &[Field]) -> Result<Field, FilterError> {
        allowed
            .iter()
            .copied()
            .find(|f| f.name().eq_ignore_ascii_case(name))
            .ok_or_else(|| {
                let names: Vec<&str> = allowed.iter().map(|f| f.name()).collect();
                FilterError(format!("unknown field '{name}'; allowed: {}", names.join(", ")))
            })
    }
}

/// Why a `filter` or `groupby` value was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct FilterError(pub String);

/// A parsed filter.
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    /// `field eq 'value'` (`negate` for `ne`); `value` is kept lower-cased.
    Cmp {
        field: Field,
        negate: bool,
        value: String,
    },
    And(Box<Expr>, Box<Expr>),
    Or(Box<Expr>, Box<Expr>),
}

impl Expr {
    /// Whether a row whose fields `get` returns matches.
    pub fn matches<'a>(&self, get: &impl Fn(Field) -> &'a str) -> bool {
        match self {
            Expr::Cmp { field, negate, value } => same_ignoring_case(get(*field), value) != *negate,
            Expr::And(a, b) => a.matches(get) && b.matches(get),
            Expr::Or(a, b) => a.matches(get) || b.matches(get),
        }
    }
}

/// `row` equals `lowered` (already lower-case) ignoring case.
fn same_ignoring_case(row: &str, lowered: &str) -> bool {
    if row.is_ascii() {
        row.len() == lowered.len() && row.eq_ignore_ascii_case(lowered)
    } else {
        row.to_lowercase() == lowered
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Open,
    Close,
    Word(String),
    Str(String),
}

fn tokenize(input: &str) -> Result<Vec<Token>, FilterError> {
    let mut tokens = Vec::new();
    let mut chars = input.char_indices().peekable();
    while let Some((at, c)) = chars.next() {
        match c {
            c if c.is_whitespace() => {}
            '(' => tokens.push(Token::Open),
            ')' => tokens.push(Token::Close),
            '\'' => {
                let mut value = String::new();
                loop {
                    match chars.next() {
                        Some((_, '\'')) if chars.peek().map(|&(_, c)| c) == Some('\'') => {
                            chars.next();
                            value.push('\'');
                        }
                        Some((_, '\'')) => break,
                        Some((_, c)) => value.push(c),
                        None => return Err(FilterError(format!("unterminated string starting at {at}"))),
                    }
                }
                tokens.push(Token::Str(value));
            }
            c if c.is_alphanumeric() || c == '_' => {
                let mut word = String::from(c);
                while let Some(&(_, c)) = chars.peek().filter(|(_, c)| c.is_alphanumeric() || *c == '_') {
                    word.push(c);
                    chars.next();
                }
                tokens.push(Token::Word(word));
            }
            c => return Err(FilterError(format!("unexpected character '{c}' at {at}"))),
        }
    }
    Ok(tokens)
}

/// Deepest parenthesis nesting accepted (guards the recursive parser's stack).
const MAX_DEPTH: usize = 32;

struct Parser<'a> {
    tokens: Vec<Token>,
    pos: usize,
    allowed: &'a [Field],
}

impl Parser<'_> {
    fn peek_keyword(&self, keyword: &str) -> bool {
        matches!(self.tokens.get(self.pos), Some(Token::Word(w)) if w.eq_ignore_ascii_case(keyword))
    }

    fn expr(&mut self, depth: usize) -> Result<Expr, FilterError> {
        let mut left = self.and(depth)?;
        while self.peek_keyword("or") {
            self.pos += 1;
            left = Expr::Or(Box::new(left), Box::new(self.and(depth)?));
        }
        Ok(left)
    }

    fn and(&mut self, depth: usize) -> Result<Expr, FilterError> {
        let mut left = self.primary(depth)?;
        while self.peek_keyword("and") {
            self.pos += 1;
            left = Expr::And(Box::new(left), Box::new(self.primary(depth)?));
        }
        Ok(left)
    }

    fn primary(&mut self, depth: usize) -> Result<Expr, FilterError> {
        let token = self.tokens.get(self.pos).cloned();
        self.pos += 1;
        match token {
            Some(Token::Open) => {
                if depth >= MAX_DEPTH {
                    return Err(FilterError("parentheses nested too deeply".into()));
                }
                let inner = self.expr(depth + 1)?;
                match self.tokens.get(self.pos) {
                    Some(Token::Close) => {
                        self.pos += 1;
                        Ok(inner)
                    }
                    _ => Err(FilterError("missing ')'".into())),
                }
            }
            Some(Token::Word(name)) => {
                let field = Field::lookup(&name, self.allowed)?;
                let negate = match self.tokens.get(self.pos) {
                    Some(Token::Word(op)) if op.eq_ignore_ascii_case("eq") => false,
                    Some(Token::Word(op)) if op.eq_ignore_ascii_case("ne") => true,
                    _ => return Err(FilterError(format!("expected 'eq' or 'ne' after '{name}'"))),
                };
                self.pos += 1;
                match self.tokens.get(self.pos) {
                    Some(Token::Str(value)) => {
                        self.pos += 1;
                        Ok(Expr::Cmp {
                            field,
                            negate,
                            value: value.to_lowercase(),
                        })
                    }
                    _ => Err(FilterError(format!(
                        "expected a single-quoted value after '{name}'"
                    ))),
                }
            }
            Some(other) => Err(FilterError(format!("unexpected {other:?}"))),
            None => Err(FilterError("unexpected end of filter".into())),
        }
    }
}

/// Parse a `filter` value against the fields of one endpoint.
pub fn parse(input: &str, allowed: &[Field]) -> Result<Expr, FilterError> {
    let mut parser = Parser {
        tokens: tokenize(input)?,
        pos: 0,
        allowed,
    };
    let expr = parser.expr(0)?;
    match parser.tokens.get(parser.pos) {
        None => Ok(expr),
        Some(t) => Err(FilterError(format!("unexpected {t:?} after a complete filter"))),
    }
}

/// Parse a `groupby` value: a comma-separated list of distinct fields of one endpoint.
pub fn parse_groupby(input: &str, allowed: &[Field]) -> Result<Vec<Field>, FilterError> {
    let mut fields = Vec::new();
    for name in input.split(',').map(str::trim) {
        if name.is_empty() {
            return Err(FilterError("empty field in groupby".into()));
        }
        let field = Field::lookup(name, allowed)?;
        if fields.contains(&field) {
            return Err(FilterError(format!("field '{name}' appears twice in groupby")));
        }
        fields.push(field);
    }
    Ok(fields)
}

/// Sum the counts of `rows` per distinct combination of `fields`, in order of first appearance.
/// `get` returns a row's field values, `counts` its two counts.
pub fn group<'a, R>(
    rows: impl Iterator<Item = R>,
    fields: &[Field],
    get: impl Fn(&R, Field) -> &'a str,
    counts: impl Fn(&R) -> (u64, u64),
) -> Vec<(Vec<&'a str>, u64, u64)> {
    let mut index: HashMap<Vec<&'a str>, usize> = HashMap::new();
    let mut groups: Vec<(Vec<&'a str>, u64, u64)> = Vec::new();
    for row in rows {
        let key: Vec<&'a str> = fields.iter().map(|&f| get(&row, f)).collect();
        let (a, b) = counts(&row);
        match index.get(&key) {
            Some(&i) => {
                groups[i].1 += a;
                groups[i].2 += b;
            }
            None => {
                index.insert(key.clone(), groups.len());
                groups.push((key, a, b));
            }
        }
    }
    groups
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(f: Field) -> &'static str {
        match f {
            Field::WorkloadCode => "SFB",
            Field::ServiceCode => "o365",
            Field::Channel => "reseller",
            Field::CustomerName => "Müller Bäckerei GmbH",
            Field::CustomerTenantId => "0112A436-B14E-4888-967B-CA4BB2CF1234",
            _ => "x",
        }
    }

    fn eval(filter: &str) -> bool {
        parse(filter, Field::USAGE).unwrap().matches(&row)
    }

    #[test]
    fn the_documented_examples_parse_and_match() {
        assert!(eval("workloadCode eq 'SFB'"));
        assert!(eval("workloadCode eq 'SFB' or (channel eq 'Reseller')"));
        assert!(eval("serviceCode eq 'O365'"));
        assert!(eval("customerTenantId eq '0112a436-b14e-4888-967b-ca4bb2cf1234'"));
    }

    #[test]
    fn and_binds_tighter_than_or() {
        // true or (false and false) = true; (true or false) and false would be false.
        assert!(eval(
            "workloadCode eq 'SFB' or channel eq 'direct' and serviceCode eq 'crm'"
        ));
        assert!(!eval(
            "(workloadCode eq 'SFB' or channel eq 'direct') and serviceCode eq 'crm'"
        ));
        // false and true or true = true.
        assert!(eval(
            "channel eq 'direct' and serviceCode eq 'o365' or workloadCode eq 'sfb'"
        ));
    }

    #[test]
    fn ne_and_nested_parentheses_work() {
        assert!(eval("((workloadCode ne 'EXO') and (serviceCode ne 'crm'))"));
        assert!(!eval("workloadCode ne 'sfb'"));
    }

    #[test]
    fn values_compare_ignoring_case_including_non_ascii() {
        assert!(eval("customerName eq 'MÜLLER BÄCKEREI GMBH'"));
        assert!(eval("CUSTOMERNAME EQ 'müller bäckerei gmbh'"));
    }

    #[test]
    fn doubled_quotes_stand_for_one_quote() {
        let expr = parse("customerName eq 'O''Brien'", Field::USAGE).unwrap();
        assert!(expr.matches(&|_| "o'brien"));
    }

    #[test]
    fn malformed_filters_are_rejected_with_a_reason() {
        for (bad, why) in [
            ("workloadCode = 'SFB'", "unexpected character"),
            ("workloadCode eq SFB", "single-quoted"),
            ("workloadCode eq 'SFB", "unterminated"),
            ("(workloadCode eq 'SFB'", "missing ')'"),
            ("workloadCode eq 'SFB')", "after a complete filter"),
            ("colour eq 'red'", "unknown field"),
            ("workloadCode eq 'SFB' and", "unexpected end"),
            ("", "unexpected end"),
        ] {
            let err = parse(bad, Field::USAGE).unwrap_err();
            assert!(err.0.contains(why), "{bad}: {err}");
        }
        assert!(parse("workloadCode eq 'EXO'", Field::DEPLOYMENT).is_err());
        let deep = format!("{}workloadCode eq 'x'{}", "(".repeat(40), ")".repeat(40));
        assert!(parse(&deep, Field::USAGE).is_err());
    }

    #[test]
    fn groupby_lists_distinct_known_fields() {
        assert_eq!(
            parse_groupby("serviceCode, customerTenantId", Field::USAGE).unwrap(),
            vec![Field::ServiceCode, Field::CustomerTenantId]
        );
        assert!(parse_groupby("serviceCode,serviceCode", Field::USAGE).is_err());
        assert!(parse_groupby("channelcustomerTenantId", Field::USAGE).is_err());
        assert!(parse_groupby("workloadCode", Field::DEPLOYMENT).is_err());
    }

    #[test]
    fn grouping_sums_counts_per_key_in_first_seen_order() {
        let rows = [("a", "x", 1, 10), ("b", "x", 2, 20), ("a", "y", 3, 30)];
        let groups = group(rows.iter(), &[Field::ServiceCode], |r, _| r.0, |r| (r.2, r.3));
        assert_eq!(groups, vec![(vec!["a"], 4, 40), (vec!["b"], 2, 20)]);
    }
}
