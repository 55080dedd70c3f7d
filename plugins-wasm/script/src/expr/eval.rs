//! Evaluating expressions: pgbench's types, coercions and functions.
//!
//! Integers stay integers until mixed with a double; integer overflow and
//! division by zero are errors; a NULL argument makes an operator or
//! function NULL, except for `IS`, `AND`, `OR`, `CASE` and `debug`.

use super::{BinOp, Expr, Func, IsWhat, Val};
use crate::dist::{self, ZipfCache};
use std::collections::HashMap;
use stormdb_sdk::Rng;

/// A variable's value: computed by `\set`, or text (from `\gset`, the
/// `vars` parameter) parsed when an expression reads it, as pgbench does.
#[derive(Debug, Clone, PartialEq)]
pub enum VarValue {
    /// A computed value.
    Val(Val),
    /// Text, interpreted on use.
    Text(String),
}

/// A client's variables; they live from one script run to the next.
#[derive(Debug, Default, Clone)]
pub struct Vars(HashMap<String, VarValue>);

impl Vars {
    /// Sets `name`.
    pub fn set(&mut self, name: &str, value: VarValue) {
        self.0.insert(name.to_string(), value);
    }

    /// The raw value of `name`.
    pub fn get(&self, name: &str) -> Option<&VarValue> {
        self.0.get(name)
    }

    /// `name` as a value for an expression.
    pub fn value(&self, name: &str) -> Result<Val, String> {
        match self.0.get(name) {
            None => Err(format!("undefined variable \"{name}\"")),
            Some(VarValue::Val(v)) => Ok(v.clone()),
            Some(VarValue::Text(t)) => {
                parse_text(t).ok_or_else(|| format!("malformed variable \"{name}\" value: \"{t}\""))
            }
        }
    }
}

/// Reads a text value the way pgbench does: NULL, a boolean word, an
/// integer, then a double.
fn parse_text(t: &str) -> Option<Val> {
    let s = t.trim();
    let lower = s.to_ascii_lowercase();
    match lower.as_str() {
        "null" => return Some(Val::Null),
        "true" | "t" | "yes" | "y" | "on" => return Some(Val::Bool(true)),
        "false" | "f" | "no" | "n" | "off" => return Some(Val::Bool(false)),
        _ => {}
    }
    if let Ok(i) = s.parse::<i64>() {
        return Some(Val::Int(i));
    }
    s.parse::<f64>().ok().map(Val::Double)
}

fn type_name(v: &Val) -> &'static str {
    match v {
        Val::Null => "NULL",
        Val::Bool(_) => "boolean",
        Val::Int(_) => "int",
        Val::Double(_) => "double",
    }
}

fn to_int(v: &Val) -> Result<i64, String> {
    match v {
        Val::Int(i) => Ok(*i),
        // The range of doubles that truncate into an int64.
        Val::Double(d)
            if d.is_finite()
                && *d >= -9.223_372_036_854_776e18
                && *d < 9.223_372_036_854_776e18 =>
        {
            Ok(d.trunc() as i64)
        }
        Val::Double(d) => Err(format!("double to int overflow for {d}")),
        other => Err(format!("cannot coerce {} to int", type_name(other))),
    }
}

fn to_double(v: &Val) -> Result<f64, String> {
    match v {
        Val::Int(i) => Ok(*i as f64),
        Val::Double(d) => Ok(*d),
        other => Err(format!("cannot coerce {} to double", type_name(other))),
    }
}

/// Truth of a non-NULL value: booleans as they are, numbers when not zero.
fn to_bool(v: &Val) -> Result<bool, String> {
    match v {
        Val::Bool(b) => Ok(*b),
        Val::Int(i) => Ok(*i != 0),
        Val::Double(d) => Ok(*d != 0.0),
        Val::Null => Err("cannot coerce NULL to boolean".into()),
    }
}

/// Truth for `CASE` and `\if`: NULL is false.
pub fn truth(v: &Val) -> bool {
    !matches!(v, Val::Null) && to_bool(v).unwrap_or(false)
}

const OVERFLOW: &str = "bigint out of range";

fn arith(op: BinOp, a: &Val, b: &Val) -> Result<Val, String> {
    if let (Val::Int(x), Val::Int(y)) = (a, b) {
        let r = match op {
            BinOp::Add => x.checked_add(*y),
            BinOp::Sub => x.checked_sub(*y),
            BinOp::Mul => x.checked_mul(*y),
            BinOp::Div => {
                if *y == 0 {
                    return Err("division by zero".into());
                }
                x.checked_div(*y)
            }
            _ => return Err("internal error: not arithmetic".into()),
        };
        return r.map(Val::Int).ok_or_else(|| OVERFLOW.to_string());
    }
    let (x, y) = (to_double(a)?, to_double(b)?);
    Ok(Val::Double(match op {
        BinOp::Add => x + y,
        BinOp::Sub => x - y,
        BinOp::Mul => x * y,
        BinOp::Div => {
            if y == 0.0 {
                return Err("division by zero".into());
            }
            x / y
        }
        _ => return Err("internal error: not arithmetic".into()),
    }))
}

fn modulo(a: &Val, b: &Val) -> Result<Val, String> {
    let (x, y) = (to_int(a)?, to_int(b)?);
    match y {
        0 => Err("division by zero".into()),
        // i64::MIN % -1 overflows in Rust; the answer is 0.
        -1 => Ok(Val::Int(0)),
        _ => Ok(Val::Int(x % y)),
    }
}

fn compare(op: BinOp, a: &Val, b: &Val) -> Result<Val, String> {
    use std::cmp::Ordering;
    let ord = match (a, b) {
        (Val::Int(x), Val::Int(y)) => Some(x.cmp(y)),
        (Val::Bool(x), Val::Bool(y)) => Some(x.cmp(y)),
        _ => to_double(a)?.partial_cmp(&to_double(b)?),
    };
    let r = match ord {
        // Comparisons with NaN are false, except <>.
        None => op == BinOp::Ne,
        Some(o) => match op {
            BinOp::Eq => o == Ordering::Equal,
            BinOp::Ne => o != Ordering::Equal,
            BinOp::Lt => o == Ordering::Less,
            BinOp::Le => o != Ordering::Greater,
            BinOp::Gt => o == Ordering::Greater,
            BinOp::Ge => o != Ordering::Less,
            _ => return Err("internal error: not a comparison".into()),
        },
    };
    Ok(Val::Bool(r))
}

fn bitwise(op: BinOp, a: &Val, b: &Val) -> Result<Val, String> {
    let (x, y) = (to_int(a)?, to_int(b)?);
    let shift = |y: i64| u32::try_from(y).ok().filter(|s| *s < 64);
    Ok(Val::Int(match op {
        BinOp::BitAnd => x & y,
        BinOp::BitOr => x | y,
        BinOp::BitXor => x ^ y,
        BinOp::Shl => x << shift(y).ok_or(format!("shift count {y} out of range"))?,
        BinOp::Shr => x >> shift(y).ok_or(format!("shift count {y} out of range"))?,
        _ => return Err("internal error: not bitwise".into()),
    }))
}

/// Evaluates expressions for one client: its random generator, the
/// zipfian constants cache and the seed of `hash` and `permute`.
pub struct Evaluator {
    rng: Rng,
    zipf: ZipfCache,
    default_seed: i64,
    /// Lines `debug()` produced, for the caller to log.
    pub debug_lines: Vec<String>,
}

impl Evaluator {
    /// An evaluator drawing from `rng`, hashing with `default_seed` when
    /// a script gives no seed.
    pub fn new(rng: Rng, default_seed: i64) -> Self {
        Evaluator {
            rng,
            zipf: ZipfCache::default(),
            default_seed,
            debug_lines: Vec::new(),
        }
    }

    /// The random generator, for choosing scripts.
    pub fn rng(&mut self) -> &mut Rng {
        &mut self.rng
    }

    /// Evaluates `e` against `vars`.
    pub fn eval(&mut self, e: &Expr, vars: &Vars) -> Result<Val, String> {
        match e {
            Expr::Const(v) => Ok(v.clone()),
            Expr::Var(name) => vars.value(name),
            Expr::Neg(x) => match self.eval(x, vars)? {
                Val::Null => Ok(Val::Null),
                v => arith(BinOp::Sub, &Val::Int(0), &v),
            },
            Expr::Not(x) => match self.eval(x, vars)? {
                Val::Null => Ok(Val::Null),
                v => Ok(Val::Bool(!to_bool(&v)?)),
            },
            Expr::BitNot(x) => match self.eval(x, vars)? {
                Val::Null => Ok(Val::Null),
                v => Ok(Val::Int(!to_int(&v)?)),
            },
            Expr::Binary(op, a, b) => {
                let (a, b) = (self.eval(a, vars)?, self.eval(b, vars)?);
                if a == Val::Null || b == Val::Null {
                    return Ok(Val::Null);
                }
                match op {
                    BinOp::Add | BinOp::Sub | BinOp::Mul | BinOp::Div => arith(*op, &a, &b),
                    BinOp::Mod => modulo(&a, &b),
                    BinOp::Eq | BinOp::Ne | BinOp::Lt | BinOp::Le | BinOp::Gt | BinOp::Ge => {
                        compare(*op, &a, &b)
                    }
                    BinOp::BitAnd | BinOp::BitOr | BinOp::BitXor | BinOp::Shl | BinOp::Shr => {
                        bitwise(*op, &a, &b)
                    }
                }
            }
            Expr::And(a, b) => self.logic(a, b, vars, false),
            Expr::Or(a, b) => self.logic(a, b, vars, true),
            Expr::Is(x, what, negated) => {
                let v = self.eval(x, vars)?;
                let is = match what {
                    IsWhat::Null => v == Val::Null,
                    IsWhat::True => v == Val::Bool(true),
                    IsWhat::False => v == Val::Bool(false),
                };
                Ok(Val::Bool(is != *negated))
            }
            Expr::Case(arms, otherwise) => {
                for (cond, value) in arms {
                    if truth(&self.eval(cond, vars)?) {
                        return self.eval(value, vars);
                    }
                }
                match otherwise {
                    Some(e) => self.eval(e, vars),
                    None => Ok(Val::Null),
                }
            }
            Expr::Call(func, args) => {
                let mut vals = Vec::with_capacity(args.len());
                for a in args {
                    vals.push(self.eval(a, vars)?);
                }
                if *func == Func::Debug {
                    let v = vals.into_iter().next().unwrap_or(Val::Null);
                    let text = v.to_sql_text().unwrap_or_else(|| "NULL".into());
                    self.debug_lines
                        .push(format!("debug(): {} {text}", type_name(&v)));
                    return Ok(v);
                }
                if vals.contains(&Val::Null) {
                    return Ok(Val::Null);
                }
                self.call(*func, &vals)
            }
        }
    }

    /// AND (`or` false) and OR (`or` true) in three-valued logic, the
    /// right side evaluated only when the left does not decide.
    fn logic(&mut self, a: &Expr, b: &Expr, vars: &Vars, or: bool) -> Result<Val, String> {
        let left = self.eval(a, vars)?;
        if left != Val::Null && to_bool(&left)? == or {
            return Ok(Val::Bool(or));
        }
        let right = self.eval(b, vars)?;
        if right != Val::Null && to_bool(&right)? == or {
            return Ok(Val::Bool(or));
        }
        if left == Val::Null || right == Val::Null {
            Ok(Val::Null)
        } else {
            Ok(Val::Bool(!or))
        }
    }

    fn seed(&self, args: &[Val], at: usize) -> Result<i64, String> {
        args.get(at).map_or(Ok(self.default_seed), to_int)
    }

    fn call(&mut self, func: Func, args: &[Val]) -> Result<Val, String> {
        let arg = |i: usize| args.get(i).cloned().unwrap_or(Val::Null);
        let double = |i: usize| to_double(&arg(i));
        let int = |i: usize| to_int(&arg(i));
        Ok(match func {
            Func::Abs => match arg(0) {
                Val::Int(i) => Val::Int(i.checked_abs().ok_or(OVERFLOW)?),
                v => Val::Double(to_double(&v)?.abs()),
            },
            Func::Debug => arg(0),
            Func::Double => Val::Double(double(0)?),
            Func::Exp => Val::Double(double(0)?.exp()),
            Func::Ln => Val::Double(double(0)?.ln()),
            Func::Sqrt => Val::Double(double(0)?.sqrt()),
            Func::Pow => Val::Double(double(0)?.powf(double(1)?)),
            Func::Pi => Val::Double(std::f64::consts::PI),
            Func::Int => Val::Int(int(0)?),
            Func::Mod => modulo(&arg(0), &arg(1))?,
            Func::Greatest | Func::Least => {
                let greatest = func == Func::Greatest;
                if args.iter().any(|v| matches!(v, Val::Double(_))) {
                    let mut best = double(0)?;
                    for v in &args[1..] {
                        let x = to_double(v)?;
                        if (greatest && x > best) || (!greatest && x < best) {
                            best = x;
                        }
                    }
                    Val::Double(best)
                } else {
                    let mut best = int(0)?;
                    for v in &args[1..] {
                        let x = to_int(v)?;
                        best = if greatest { best.max(x) } else { best.min(x) };
                    }
                    Val::Int(best)
                }
            }
            Func::Hash | Func::HashMurmur2 => {
                Val::Int(dist::hash_murmur2(int(0)?, self.seed(args, 1)?))
            }
            Func::HashFnv1a => Val::Int(dist::hash_fnv1a(int(0)?, self.seed(args, 1)?)),
            Func::Permute => Val::Int(dist::permute(int(0)?, int(1)?, self.seed(args, 2)?)?),
            Func::Random => Val::Int(dist::uniform(&mut self.rng, int(0)?, int(1)?)?),
            Func::RandomExponential => Val::Int(dist::exponential(
                &mut self.rng,
                int(0)?,
                int(1)?,
                double(2)?,
            )?),
            Func::RandomGaussian => {
                Val::Int(dist::gaussian(&mut self.rng, int(0)?, int(1)?, double(2)?)?)
            }
            Func::RandomZipfian => Val::Int(dist::zipfian(
                &mut self.rng,
                &mut self.zipf,
                int(0)?,
                int(1)?,
                double(2)?,
            )?),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::expr::parse;

    fn eval_with(src: &str, vars: &Vars) -> Result<Val, String> {
        let e = parse(src)?;
        Evaluator::new(Rng::new(1), 0).eval(&e, vars)
    }

    fn eval(src: &str) -> Result<Val, String> {
        eval_with(src, &Vars::default())
    }

    #[test]
    fn arithmetic_keeps_integers_and_checks_them() {
        assert_eq!(eval("1 + 2 * 3"), Ok(Val::Int(7)));
        assert_eq!(eval("7 / 2"), Ok(Val::Int(3)));
        assert_eq!(eval("-7 / 2"), Ok(Val::Int(-3)));
        assert_eq!(eval("7 % 3"), Ok(Val::Int(1)));
        assert_eq!(eval("-7 % 3"), Ok(Val::Int(-1)));
        assert_eq!(eval("7.0 / 2"), Ok(Val::Double(3.5)));
        assert_eq!(eval("1 + 0.5"), Ok(Val::Double(1.5)));
        assert_eq!(eval("(1 + 2) * 3"), Ok(Val::Int(9)));
        assert!(eval("1 / 0").is_err());
        assert!(eval("1.0 / 0").is_err());
        assert!(eval("5 % 0").is_err());
        assert!(eval("9223372036854775807 + 1").is_err());
        assert!(eval("-9223372036854775808 / -1").is_err());
        assert_eq!(eval("-9223372036854775808 % -1"), Ok(Val::Int(0)));
        assert_eq!(eval("5 & 3 | 8"), Ok(Val::Int(9)));
        assert_eq!(eval("5 # 1"), Ok(Val::Int(4)));
        assert_eq!(eval("1 << 4 >> 2"), Ok(Val::Int(4)));
        assert_eq!(eval("~0"), Ok(Val::Int(-1)));
        assert!(eval("1 << 64").is_err());
    }

    #[test]
    fn functions() {
        assert_eq!(eval("abs(-5)"), Ok(Val::Int(5)));
        assert_eq!(eval("abs(-5.5)"), Ok(Val::Double(5.5)));
        assert_eq!(eval("int(5.4 + 3.8)"), Ok(Val::Int(9)));
        assert_eq!(eval("int(-5.9)"), Ok(Val::Int(-5)));
        assert_eq!(eval("double(5)"), Ok(Val::Double(5.0)));
        assert_eq!(eval("greatest(5, 4, 3, 2)"), Ok(Val::Int(5)));
        assert_eq!(eval("least(5, 4, 3, 2.0)"), Ok(Val::Double(2.0)));
        assert_eq!(eval("mod(54, 32)"), Ok(Val::Int(22)));
        assert_eq!(eval("pow(2.0, 10)"), Ok(Val::Double(1024.0)));
        assert_eq!(eval("power(2, 10)"), Ok(Val::Double(1024.0)));
        assert_eq!(eval("sqrt(2.0)"), Ok(Val::Double(2f64.sqrt())));
        assert_eq!(eval("pi()"), Ok(Val::Double(std::f64::consts::PI)));
        assert_eq!(eval("ln(exp(1.0))"), Ok(Val::Double(1.0)));
        assert_eq!(eval("hash(10, 5)"), Ok(Val::Int(dist::hash_murmur2(10, 5))));
        assert_eq!(
            eval("hash_fnv1a(10)"),
            Ok(Val::Int(dist::hash_fnv1a(10, 0)))
        );
        assert!(matches!(eval("permute(3, 10)"), Ok(Val::Int(v)) if (0..10).contains(&v)));
        assert!(eval("int(1e300)").is_err());
        assert!(eval("abs(true)").is_err());
        assert!(matches!(eval("random(1, 10)"), Ok(Val::Int(v)) if (1..=10).contains(&v)));
        assert!(eval("random(10, 1)").is_err());
        assert!(eval("random_gaussian(1, 10, 1.5)").is_err());
        assert!(eval("random_exponential(1, 10, -1)").is_err());
        assert!(eval("random_zipfian(1, 10, 1.0)").is_err());
    }

    #[test]
    fn logic_comparisons_and_nulls() {
        assert_eq!(eval("1 < 2"), Ok(Val::Bool(true)));
        assert_eq!(eval("2 = 2.0"), Ok(Val::Bool(true)));
        assert_eq!(eval("1 <> 1"), Ok(Val::Bool(false)));
        assert_eq!(eval("1 != 2"), Ok(Val::Bool(true)));
        assert_eq!(eval("true AND NOT false"), Ok(Val::Bool(true)));
        assert_eq!(eval("NULL AND false"), Ok(Val::Bool(false)));
        assert_eq!(eval("NULL AND true"), Ok(Val::Null));
        assert_eq!(eval("NULL OR true"), Ok(Val::Bool(true)));
        assert_eq!(eval("NULL OR false"), Ok(Val::Null));
        // The right side is not evaluated when the left decides.
        assert_eq!(eval("false AND 1 / 0 = 1"), Ok(Val::Bool(false)));
        assert_eq!(eval("1 + NULL"), Ok(Val::Null));
        assert_eq!(eval("NULL IS NULL"), Ok(Val::Bool(true)));
        assert_eq!(eval("1 IS NOT NULL"), Ok(Val::Bool(true)));
        assert_eq!(eval("1 NOTNULL"), Ok(Val::Bool(true)));
        assert_eq!(eval("(1 = 1) IS TRUE"), Ok(Val::Bool(true)));
        assert_eq!(eval("CASE WHEN 1 > 2 THEN 1 ELSE 3 END"), Ok(Val::Int(3)));
        assert_eq!(eval("CASE WHEN NULL THEN 1 END"), Ok(Val::Null));
    }

    #[test]
    fn variables() {
        let mut vars = Vars::default();
        vars.set("n", VarValue::Val(Val::Int(10)));
        vars.set("t", VarValue::Text(" 42 ".into()));
        vars.set("d", VarValue::Text("2.5".into()));
        vars.set("b", VarValue::Text("true".into()));
        vars.set("bad", VarValue::Text("abc".into()));
        assert_eq!(eval_with(":n * 2", &vars), Ok(Val::Int(20)));
        assert_eq!(eval_with(":t + 1", &vars), Ok(Val::Int(43)));
        assert_eq!(eval_with(":d * 2", &vars), Ok(Val::Double(5.0)));
        assert_eq!(eval_with("NOT :b", &vars), Ok(Val::Bool(false)));
        assert!(eval_with(":bad + 1", &vars).is_err());
        assert!(eval_with(":missing", &vars).is_err());
    }

    #[test]
    fn sql_text_of_values() {
        assert_eq!(Val::Int(-3).to_sql_text(), Some("-3".into()));
        assert_eq!(Val::Double(0.1).to_sql_text(), Some("0.1".into()));
        assert_eq!(
            Val::Double(f64::INFINITY).to_sql_text(),
            Some("Infinity".into())
        );
        assert_eq!(Val::Bool(true).to_sql_text(), Some("true".into()));
        assert_eq!(Val::Null.to_sql_text(), None);
    }
}
