//! The Sigma condition language: `and`, `or`, `not`, parentheses, `1 of`/`all of` selectors.
//!
//! Precedence from loosest to tightest is `or` < `and` < `not` < `x of` < parentheses. Tokens
//! are split on whitespace and parentheses only, so `notepad` or `selection-1` are identifiers,
//! never keywords.

use std::fmt;

/// A parsed condition over search identifiers, which are referred to by their index.
#[derive(Debug, Clone, PartialEq)]
pub enum Cond {
    /// A search identifier, by index into the detection's searches.
    Sel(usize),
    /// `not`.
    Not(Box<Cond>),
    /// `and` of all of them.
    And(Vec<Cond>),
    /// `or` of any of them.
    Or(Vec<Cond>),
}

impl Cond {
    /// Calls `f` for every identifier the condition refers to.
    pub fn for_each_sel(&self, f: &mut impl FnMut(usize)) {
        match self {
            Cond::Sel(i) => f(*i),
            Cond::Not(c) => c.for_each_sel(f),
            Cond::And(cs) | Cond::Or(cs) => cs.iter().for_each(|c| c.for_each_sel(f)),
        }
    }

    /// Evaluates with a function that gives each identifier's truth.
    pub fn eval(&self, sel: &mut impl FnMut(usize) -> bool) -> bool {
        match self {
            Cond::Sel(i) => sel(*i),
            Cond::Not(c) => !c.eval(sel),
            Cond::And(cs) => cs.iter().all(|c| c.eval(sel)),
            Cond::Or(cs) => cs.iter().any(|c| c.eval(sel)),
        }
    }
}

/// A condition that does not parse or names what does not exist.
#[derive(Debug, Clone, PartialEq)]
pub struct ConditionError(pub String);

impl fmt::Display for ConditionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Tok<'a> {
    Open,
    Close,
    Word(&'a str),
}

fn tokenize(text: &str) -> Result<Vec<Tok<'_>>, ConditionError> {
    let mut out = Vec::new();
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i];
        if c.is_ascii_whitespace() {
            i += 1;
        } else if c == b'(' {
            out.push(Tok::Open);
            i += 1;
        } else if c == b')' {
            out.push(Tok::Close);
            i += 1;
        } else if c == b'|' {
            return Err(ConditionError(
                "the pipe aggregation syntax (`| count() ...`, `near`) was removed from Sigma; \
                 write a correlation rule instead"
                    .into(),
            ));
        } else {
            let start = i;
            while i < bytes.len()
                && !bytes[i].is_ascii_whitespace()
                && bytes[i] != b'('
                && bytes[i] != b')'
            {
                i += 1;
            }
            out.push(Tok::Word(&text[start..i]));
        }
    }
    Ok(out)
}

fn is_kw(word: &str, kw: &str) -> bool {
    word.eq_ignore_ascii_case(kw)
}

struct Parser<'a, 'n> {
    toks: Vec<Tok<'a>>,
    pos: usize,
    names: &'n [String],
    depth: usize,
}

/// Deepest nesting of parentheses and `not` a condition may have: evaluation recurses.
const MAX_DEPTH: usize = 64;

/// Parses `text` against the rule's search identifiers `names`.
pub fn parse(text: &str, names: &[String]) -> Result<Cond, ConditionError> {
    let toks = tokenize(text)?;
    if toks.is_empty() {
        return Err(ConditionError("the condition is empty".into()));
    }
    let mut p = Parser {
        toks,
        pos: 0,
        names,
        depth: 0,
    };
    let cond = p.or_expr()?;
    if p.pos != p.toks.len() {
        return Err(ConditionError(format!(
            "unexpected {} after a complete expression",
            p.describe(p.pos)
        )));
    }
    Ok(cond)
}

impl Parser<'_, '_> {
    fn describe(&self, pos: usize) -> String {
        match self.toks.get(pos) {
            None => "end of condition".into(),
            Some(Tok::Open) => "'('".into(),
            Some(Tok::Close) => "')'".into(),
            Some(Tok::Word(w)) => format!("'{w}'"),
        }
    }

    fn peek_kw(&self, kw: &str) -> bool {
        matches!(self.toks.get(self.pos), Some(Tok::Word(w)) if is_kw(w, kw))
    }

    fn or_expr(&mut self) -> Result<Cond, ConditionError> {
        let mut parts = vec![self.and_expr()?];
        while self.peek_kw("or") {
            self.pos += 1;
            parts.push(self.and_expr()?);
        }
        Ok(if parts.len() == 1 {
            parts.pop().unwrap()
        } else {
            Cond::Or(parts)
        })
    }

    fn and_expr(&mut self) -> Result<Cond, ConditionError> {
        let mut parts = vec![self.not_expr()?];
        while self.peek_kw("and") {
            self.pos += 1;
            parts.push(self.not_expr()?);
        }
        Ok(if parts.len() == 1 {
            parts.pop().unwrap()
        } else {
            Cond::And(parts)
        })
    }

    fn deeper(&mut self) -> Result<(), ConditionError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(ConditionError(format!(
                "the condition nests deeper than {MAX_DEPTH} levels"
            )));
        }
        Ok(())
    }

    fn not_expr(&mut self) -> Result<Cond, ConditionError> {
        if self.peek_kw("not") {
            self.pos += 1;
            self.deeper()?;
            let inner = self.not_expr()?;
            self.depth -= 1;
            return Ok(Cond::Not(Box::new(inner)));
        }
        self.primary()
    }

    fn primary(&mut self) -> Result<Cond, ConditionError> {
        match self.toks.get(self.pos).cloned() {
            Some(Tok::Open) => {
                self.pos += 1;
                self.deeper()?;
                let inner = self.or_expr()?;
                self.depth -= 1;
                match self.toks.get(self.pos) {
                    Some(Tok::Close) => {
                        self.pos += 1;
                        Ok(inner)
                    }
                    _ => Err(ConditionError(format!(
                        "expected ')' but found {}",
                        self.describe(self.pos)
                    ))),
                }
            }
            Some(Tok::Word(w)) => {
                let quantifier = if w == "1" || is_kw(w, "any") {
                    Some(false)
                } else if is_kw(w, "all") {
                    Some(true)
                } else {
                    None
                };
                if let Some(all) = quantifier
                    && matches!(self.toks.get(self.pos + 1), Some(Tok::Word(of)) if is_kw(of, "of"))
                {
                    self.pos += 2;
                    let target = match self.toks.get(self.pos) {
                        Some(Tok::Word(t)) => *t,
                        _ => {
                            return Err(ConditionError(format!(
                                "expected 'them' or a pattern after '{w} of', found {}",
                                self.describe(self.pos)
                            )));
                        }
                    };
                    self.pos += 1;
                    let sels = self.select(target)?;
                    let parts: Vec<Cond> = sels.into_iter().map(Cond::Sel).collect();
                    return Ok(if parts.len() == 1 {
                        parts.into_iter().next().unwrap()
                    } else if all {
                        Cond::And(parts)
                    } else {
                        Cond::Or(parts)
                    });
                }
                if ["and", "or", "not", "of", "them"]
                    .iter()
                    .any(|k| is_kw(w, k))
                {
                    return Err(ConditionError(format!(
                        "unexpected keyword '{w}' where an identifier was expected"
                    )));
                }
                self.pos += 1;
                match self.names.iter().position(|n| n == w) {
                    Some(i) => Ok(Cond::Sel(i)),
                    None => Err(ConditionError(format!(
                        "the condition refers to '{w}', which is not a search identifier of this rule"
                    ))),
                }
            }
            Some(Tok::Close) => Err(ConditionError("unexpected ')'".into())),
            None => Err(ConditionError("the condition ends too early".into())),
        }
    }

    /// Identifiers chosen by `them` or a `*` pattern; names starting with `_` are left out
    /// unless the pattern itself asks for them.
    fn select(&self, target: &str) -> Result<Vec<usize>, ConditionError> {
        let them = is_kw(target, "them");
        let hidden_ok = target.starts_with('_');
        let out: Vec<usize> = self
            .names
            .iter()
            .enumerate()
            .filter(|(_, n)| (hidden_ok || !n.starts_with('_')) && (them || glob_name(target, n)))
            .map(|(i, _)| i)
            .collect();
        if out.is_empty() {
            return Err(ConditionError(format!(
                "'{target}' matches no search identifier of this rule"
            )));
        }
        Ok(out)
    }
}

/// Whole-name match of an identifier pattern where `*` stands for any run of characters.
fn glob_name(pattern: &str, name: &str) -> bool {
    let parts: Vec<&str> = pattern.split('*').collect();
    if parts.len() == 1 {
        return pattern == name;
    }
    let (first, last) = (parts[0], parts[parts.len() - 1]);
    if !name.starts_with(first) || name.len() < first.len() + last.len() || !name.ends_with(last) {
        return false;
    }
    let mut rest = &name[first.len()..name.len() - last.len()];
    for mid in &parts[1..parts.len() - 1] {
        match rest.find(mid) {
            Some(i) => rest = &rest[i + mid.len()..],
            None => return false,
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    fn p(text: &str, list: &[&str]) -> Cond {
        parse(text, &names(list)).unwrap()
    }

    #[test]
    fn precedence_or_and_not() {
        // a or b and not c == a or (b and (not c))
        assert_eq!(
            p("a or b and not c", &["a", "b", "c"]),
            Cond::Or(vec![
                Cond::Sel(0),
                Cond::And(vec![Cond::Sel(1), Cond::Not(Box::new(Cond::Sel(2)))])
            ])
        );
        // not a and b == (not a) and b
        assert_eq!(
            p("not a and b", &["a", "b"]),
            Cond::And(vec![Cond::Not(Box::new(Cond::Sel(0))), Cond::Sel(1)])
        );
    }

    #[test]
    fn parentheses_override() {
        assert_eq!(
            p("(a or b) and c", &["a", "b", "c"]),
            Cond::And(vec![
                Cond::Or(vec![Cond::Sel(0), Cond::Sel(1)]),
                Cond::Sel(2)
            ])
        );
    }

    #[test]
    fn keywords_are_whole_tokens() {
        let c = p(
            "notepad and android or order",
            &["notepad", "android", "order"],
        );
        assert_eq!(
            c,
            Cond::Or(vec![
                Cond::And(vec![Cond::Sel(0), Cond::Sel(1)]),
                Cond::Sel(2)
            ])
        );
        assert_eq!(p("selection-1", &["selection-1"]), Cond::Sel(0));
    }

    #[test]
    fn selectors() {
        let n = ["sel1", "sel2", "filter", "_hidden", "selection"];
        assert_eq!(
            p("1 of sel*", &n),
            Cond::Or(vec![Cond::Sel(0), Cond::Sel(1), Cond::Sel(4)])
        );
        assert_eq!(
            p("all of them", &n),
            Cond::And(vec![Cond::Sel(0), Cond::Sel(1), Cond::Sel(2), Cond::Sel(4)])
        );
        assert_eq!(
            p("1 of them", &n),
            Cond::Or(vec![Cond::Sel(0), Cond::Sel(1), Cond::Sel(2), Cond::Sel(4)])
        );
        // a full match: `sel` alone names only an identifier called exactly `sel`
        assert!(parse("1 of sel", &names(&n)).is_err());
        assert_eq!(p("any of _hid*", &n), Cond::Sel(3));
        assert_eq!(p("1 of *ion", &n), Cond::Sel(4));
        assert_eq!(
            p("sel1 and not 1 of filter*", &n),
            Cond::And(vec![Cond::Sel(0), Cond::Not(Box::new(Cond::Sel(2)))])
        );
    }

    #[test]
    fn errors() {
        let n = names(&["a", "b"]);
        assert!(parse("a and", &n).is_err());
        assert!(parse("a b", &n).is_err());
        assert!(parse("(a", &n).is_err());
        assert!(parse("c", &n).unwrap_err().0.contains("'c'"));
        assert!(
            parse("a | count() > 5", &n)
                .unwrap_err()
                .0
                .contains("correlation")
        );
        assert!(parse("1 of x*", &n).is_err());
        assert!(parse("", &n).is_err());
        // Deep nesting is refused, not a stack overflow.
        let deep = "(".repeat(100_000) + "a" + &")".repeat(100_000);
        assert!(parse(&deep, &n).unwrap_err().0.contains("nests deeper"));
        let nots = "not ".repeat(100_000) + "a";
        assert!(parse(&nots, &n).is_err());
        let ok = "(".repeat(30) + "a" + &")".repeat(30);
        assert!(parse(&ok, &n).is_ok());
    }

    #[test]
    fn eval_truth_table() {
        let c = p("a and not (b or c)", &["a", "b", "c"]);
        for bits in 0..8u8 {
            let v = [bits & 1 != 0, bits & 2 != 0, bits & 4 != 0];
            let expect = v[0] && !(v[1] || v[2]);
            assert_eq!(c.eval(&mut |i| v[i]), expect, "{v:?}");
        }
    }
}
