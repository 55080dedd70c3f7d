//! Tokeniser and precedence-climbing parser for pgbench expressions.
//!
//! Precedence, lowest first, as in pgbench's grammar: `OR`; `AND`; `NOT`;
//! `IS`/`ISNULL`/`NOTNULL`; comparisons (not chainable); the bitwise
//! operators `| # & << >>`; `+ -`; `* / %`; unary `- +`.

use super::{BinOp, Expr, Func, IsWhat, Val};

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    /// An unsigned integer literal; 2^63 is kept for `-9223372036854775808`.
    Int(u64),
    Double(f64),
    /// A word, lower-cased: keyword or function name.
    Word(String),
    Var(String),
    Op(&'static str),
    LParen,
    RParen,
    Comma,
}

const OPS: [&str; 18] = [
    "<<", ">>", "<=", ">=", "<>", "!=", "+", "-", "*", "/", "%", "<", ">", "=", "&", "|", "#", "~",
];

fn is_ident_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

fn tokenize(src: &str) -> Result<Vec<Tok>, String> {
    let chars: Vec<char> = src.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() {
            i += 1;
            continue;
        }
        let rest: String = chars[i..chars.len().min(i + 2)].iter().collect();
        if c.is_ascii_digit() || (c == '.' && chars.get(i + 1).is_some_and(char::is_ascii_digit)) {
            let start = i;
            while i < chars.len() && chars[i].is_ascii_digit() {
                i += 1;
            }
            let mut double = false;
            if chars.get(i) == Some(&'.') {
                double = true;
                i += 1;
                while i < chars.len() && chars[i].is_ascii_digit() {
                    i += 1;
                }
            }
            if matches!(chars.get(i), Some('e' | 'E')) {
                let mut j = i + 1;
                if matches!(chars.get(j), Some('+' | '-')) {
                    j += 1;
                }
                if chars.get(j).is_some_and(char::is_ascii_digit) {
                    double = true;
                    i = j;
                    while i < chars.len() && chars[i].is_ascii_digit() {
                        i += 1;
                    }
                }
            }
            let text: String = chars[start..i].iter().collect();
            if double {
                let v = text
                    .parse::<f64>()
                    .map_err(|_| format!("invalid number '{text}'"))?;
                out.push(Tok::Double(v));
            } else {
                match text.parse::<u64>() {
                    Ok(v) if v <= 1u64 << 63 => out.push(Tok::Int(v)),
                    _ => return Err(format!("bigint constant overflow: {text}")),
                }
            }
            if chars.get(i).is_some_and(|c| is_ident_char(*c)) {
                return Err(format!("invalid number '{text}{}'", chars[i]));
            }
        } else if c == ':' {
            let start = i + 1;
            i = start;
            while i < chars.len() && is_ident_char(chars[i]) {
                i += 1;
            }
            if i == start {
                return Err("':' must be followed by a variable name".into());
            }
            out.push(Tok::Var(chars[start..i].iter().collect()));
        } else if c.is_alphabetic() || c == '_' {
            let start = i;
            while i < chars.len() && is_ident_char(chars[i]) {
                i += 1;
            }
            let word: String = chars[start..i].iter().collect();
            out.push(Tok::Word(word.to_lowercase()));
        } else if c == '(' {
            out.push(Tok::LParen);
            i += 1;
        } else if c == ')' {
            out.push(Tok::RParen);
            i += 1;
        } else if c == ',' {
            out.push(Tok::Comma);
            i += 1;
        } else if let Some(op) = OPS.iter().find(|op| rest.starts_with(**op)) {
            out.push(Tok::Op(op));
            i += op.len();
        } else {
            return Err(format!("unexpected character '{c}'"));
        }
    }
    Ok(out)
}

/// Precedence levels.
const L_OR: u8 = 1;
const L_AND: u8 = 2;
const L_NOT: u8 = 3;
const L_IS: u8 = 4;
const L_CMP: u8 = 5;
const L_BIT: u8 = 6;
const L_ADD: u8 = 7;
const L_MUL: u8 = 8;
const L_UNARY: u8 = 9;

struct Parser {
    toks: Vec<Tok>,
    pos: usize,
}

fn describe(t: Option<&Tok>) -> String {
    match t {
        None => "end of expression".into(),
        Some(Tok::Int(v)) => v.to_string(),
        Some(Tok::Double(v)) => v.to_string(),
        Some(Tok::Word(w)) => w.clone(),
        Some(Tok::Var(v)) => format!(":{v}"),
        Some(Tok::Op(o)) => (*o).to_string(),
        Some(Tok::LParen) => "(".into(),
        Some(Tok::RParen) => ")".into(),
        Some(Tok::Comma) => ",".into(),
    }
}

fn binop(op: &str) -> Option<(BinOp, u8)> {
    Some(match op {
        "+" => (BinOp::Add, L_ADD),
        "-" => (BinOp::Sub, L_ADD),
        "*" => (BinOp::Mul, L_MUL),
        "/" => (BinOp::Div, L_MUL),
        "%" => (BinOp::Mod, L_MUL),
        "=" => (BinOp::Eq, L_CMP),
        "<>" | "!=" => (BinOp::Ne, L_CMP),
        "<" => (BinOp::Lt, L_CMP),
        "<=" => (BinOp::Le, L_CMP),
        ">" => (BinOp::Gt, L_CMP),
        ">=" => (BinOp::Ge, L_CMP),
        "&" => (BinOp::BitAnd, L_BIT),
        "|" => (BinOp::BitOr, L_BIT),
        "#" => (BinOp::BitXor, L_BIT),
        "<<" => (BinOp::Shl, L_BIT),
        ">>" => (BinOp::Shr, L_BIT),
        _ => return None,
    })
}

impl Parser {
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.pos)
    }

    fn next(&mut self) -> Option<Tok> {
        let t = self.toks.get(self.pos).cloned();
        self.pos += 1;
        t
    }

    fn peek_word(&self, w: &str) -> bool {
        matches!(self.peek(), Some(Tok::Word(x)) if x == w)
    }

    fn expect(&mut self, want: &Tok) -> Result<(), String> {
        match self.next() {
            Some(t) if &t == want => Ok(()),
            other => Err(format!(
                "expected '{}' but found '{}'",
                describe(Some(want)),
                describe(other.as_ref())
            )),
        }
    }

    fn expect_word(&mut self, w: &str) -> Result<(), String> {
        self.expect(&Tok::Word(w.into()))
    }

    /// Parses an expression whose operators bind at least as tightly as
    /// `min`.
    fn expr(&mut self, min: u8) -> Result<Expr, String> {
        let mut left = self.prefix()?;
        let mut last_cmp = false;
        let mut last_is = false;
        loop {
            let (level, kind) = match self.peek() {
                Some(Tok::Word(w)) if w == "or" => (L_OR, 0),
                Some(Tok::Word(w)) if w == "and" => (L_AND, 1),
                Some(Tok::Word(w)) if w == "is" || w == "isnull" || w == "notnull" => (L_IS, 2),
                Some(Tok::Op(op)) => match binop(op) {
                    Some((_, level)) => (level, 3),
                    None => break,
                },
                _ => break,
            };
            if level < min {
                break;
            }
            // Comparisons and IS do not chain (pgbench declares them
            // %nonassoc).
            if (level == L_CMP && last_cmp) || (level == L_IS && last_is) {
                return Err(format!("syntax error at '{}'", describe(self.peek())));
            }
            last_cmp = level == L_CMP;
            last_is = level == L_IS;
            match kind {
                0 | 1 => {
                    self.pos += 1;
                    let right = self.expr(level + 1)?;
                    left = if kind == 0 {
                        Expr::Or(Box::new(left), Box::new(right))
                    } else {
                        Expr::And(Box::new(left), Box::new(right))
                    };
                }
                2 => left = self.is_suffix(left)?,
                _ => {
                    let Some(Tok::Op(op)) = self.next() else {
                        return Err("internal parser error".into());
                    };
                    let (bop, _) = binop(op).ok_or("internal parser error")?;
                    let right = self.expr(level + 1)?;
                    left = Expr::Binary(bop, Box::new(left), Box::new(right));
                }
            }
        }
        Ok(left)
    }

    fn is_suffix(&mut self, left: Expr) -> Result<Expr, String> {
        let boxed = Box::new(left);
        match self.next() {
            Some(Tok::Word(w)) if w == "isnull" => Ok(Expr::Is(boxed, IsWhat::Null, false)),
            Some(Tok::Word(w)) if w == "notnull" => Ok(Expr::Is(boxed, IsWhat::Null, true)),
            _ => {
                let negated = self.peek_word("not");
                if negated {
                    self.pos += 1;
                }
                let what = match self.next() {
                    Some(Tok::Word(w)) if w == "null" => IsWhat::Null,
                    Some(Tok::Word(w)) if w == "true" => IsWhat::True,
                    Some(Tok::Word(w)) if w == "false" => IsWhat::False,
                    other => {
                        return Err(format!(
                            "IS must be followed by [NOT] NULL, TRUE or FALSE, not '{}'",
                            describe(other.as_ref())
                        ));
                    }
                };
                Ok(Expr::Is(boxed, what, negated))
            }
        }
    }

    fn prefix(&mut self) -> Result<Expr, String> {
        match self.next() {
            Some(Tok::Int(v)) => match i64::try_from(v) {
                Ok(i) => Ok(Expr::Const(Val::Int(i))),
                Err(_) => Err(format!("bigint constant overflow: {v}")),
            },
            Some(Tok::Double(v)) => Ok(Expr::Const(Val::Double(v))),
            Some(Tok::Var(name)) => Ok(Expr::Var(name)),
            Some(Tok::LParen) => {
                let e = self.expr(L_OR)?;
                self.expect(&Tok::RParen)?;
                Ok(e)
            }
            Some(Tok::Op("-")) => {
                // The one literal only writable negated.
                if self.peek() == Some(&Tok::Int(1u64 << 63)) {
                    self.pos += 1;
                    return Ok(Expr::Const(Val::Int(i64::MIN)));
                }
                Ok(Expr::Neg(Box::new(self.expr(L_UNARY)?)))
            }
            Some(Tok::Op("+")) => self.expr(L_UNARY),
            // pgbench gives `~` the bitwise operators' precedence.
            Some(Tok::Op("~")) => Ok(Expr::BitNot(Box::new(self.expr(L_BIT + 1)?))),
            Some(Tok::Word(w)) => self.word(&w),
            other => Err(format!("syntax error at '{}'", describe(other.as_ref()))),
        }
    }

    fn word(&mut self, w: &str) -> Result<Expr, String> {
        match w {
            "true" => Ok(Expr::Const(Val::Bool(true))),
            "false" => Ok(Expr::Const(Val::Bool(false))),
            "null" => Ok(Expr::Const(Val::Null)),
            "not" => Ok(Expr::Not(Box::new(self.expr(L_NOT)?))),
            "case" => self.case(),
            name => {
                let (func, min, max) = Func::lookup(name).ok_or_else(|| {
                    if self.peek() == Some(&Tok::LParen) {
                        format!("unexpected function name '{name}'")
                    } else {
                        format!("syntax error at '{name}' (variables are written :{name})")
                    }
                })?;
                self.expect(&Tok::LParen)?;
                let mut args = Vec::new();
                if self.peek() != Some(&Tok::RParen) {
                    loop {
                        args.push(self.expr(L_OR)?);
                        if self.peek() == Some(&Tok::Comma) {
                            self.pos += 1;
                        } else {
                            break;
                        }
                    }
                }
                self.expect(&Tok::RParen)?;
                if args.len() < min || args.len() > max {
                    return Err(format!(
                        "wrong number of arguments for {name}(): {}",
                        args.len()
                    ));
                }
                Ok(Expr::Call(func, args))
            }
        }
    }

    fn case(&mut self) -> Result<Expr, String> {
        let mut arms = Vec::new();
        while self.peek_word("when") {
            self.pos += 1;
            let cond = self.expr(L_OR)?;
            self.expect_word("then")?;
            let value = self.expr(L_OR)?;
            arms.push((cond, value));
        }
        if arms.is_empty() {
            return Err("CASE must have at least one WHEN".into());
        }
        let otherwise = if self.peek_word("else") {
            self.pos += 1;
            Some(Box::new(self.expr(L_OR)?))
        } else {
            None
        };
        self.expect_word("end")?;
        Ok(Expr::Case(arms, otherwise))
    }
}

/// Parses a whole expression.
pub fn parse(src: &str) -> Result<Expr, String> {
    let toks = tokenize(src)?;
    if toks.is_empty() {
        return Err("missing expression".into());
    }
    let mut p = Parser { toks, pos: 0 };
    let e = p.expr(L_OR)?;
    if p.pos < p.toks.len() {
        return Err(format!("syntax error at '{}'", describe(p.peek())));
    }
    Ok(e)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn int(i: i64) -> Box<Expr> {
        Box::new(Expr::Const(Val::Int(i)))
    }

    #[test]
    fn precedence_follows_pgbench() {
        assert_eq!(
            parse("1 + 2 * 3"),
            Ok(Expr::Binary(
                BinOp::Add,
                int(1),
                Box::new(Expr::Binary(BinOp::Mul, int(2), int(3)))
            ))
        );
        assert_eq!(
            parse("-1 + 2"),
            Ok(Expr::Binary(
                BinOp::Add,
                Box::new(Expr::Neg(int(1))),
                int(2)
            ))
        );
        // NOT binds looser than comparisons, tighter than AND.
        assert_eq!(
            parse("NOT 1 = 2 AND true"),
            Ok(Expr::And(
                Box::new(Expr::Not(Box::new(Expr::Binary(BinOp::Eq, int(1), int(2))))),
                Box::new(Expr::Const(Val::Bool(true)))
            ))
        );
        assert_eq!(
            parse("1 | 2 + 3"),
            Ok(Expr::Binary(
                BinOp::BitOr,
                int(1),
                Box::new(Expr::Binary(BinOp::Add, int(2), int(3)))
            ))
        );
        assert!(parse("1 < 2 < 3").is_err());
    }

    #[test]
    fn literals_variables_and_calls() {
        assert_eq!(
            parse("-9223372036854775808"),
            Ok(Expr::Const(Val::Int(i64::MIN)))
        );
        assert!(parse("9223372036854775808").is_err());
        assert!(parse("99999999999999999999").is_err());
        assert_eq!(parse("1.5e2"), Ok(Expr::Const(Val::Double(150.0))));
        assert_eq!(parse(".5"), Ok(Expr::Const(Val::Double(0.5))));
        assert_eq!(parse(":aid"), Ok(Expr::Var("aid".into())));
        assert_eq!(
            parse("RANDOM(1, :n)"),
            Ok(Expr::Call(
                Func::Random,
                vec![Expr::Const(Val::Int(1)), Expr::Var("n".into())]
            ))
        );
        assert_eq!(parse("pi()"), Ok(Expr::Call(Func::Pi, vec![])));
        assert!(parse("random(1)").is_err());
        assert!(parse("nosuch(1)").is_err());
        assert!(parse("aid + 1").is_err());
        assert!(parse("1 +").is_err());
        assert!(parse("(1").is_err());
        assert!(parse("").is_err());
        assert!(parse("1 $ 2").is_err());
    }

    #[test]
    fn case_and_is() {
        assert!(matches!(
            parse("CASE WHEN :x > 0 THEN 1 WHEN :x < 0 THEN -1 ELSE 0 END"),
            Ok(Expr::Case(arms, Some(_))) if arms.len() == 2
        ));
        assert!(matches!(
            parse(":x IS NOT NULL"),
            Ok(Expr::Is(_, IsWhat::Null, true))
        ));
        assert!(matches!(
            parse(":x ISNULL"),
            Ok(Expr::Is(_, IsWhat::Null, false))
        ));
        assert!(matches!(
            parse(":x IS TRUE"),
            Ok(Expr::Is(_, IsWhat::True, false))
        ));
        assert!(parse(":x IS 3").is_err());
        assert!(parse("CASE ELSE 1 END").is_err());
    }
}
