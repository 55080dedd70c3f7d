//! pgbench's expression language (the argument of `\set`, `\if` and
//! `\elif`): its values, syntax tree, parser and evaluator.

mod eval;
mod parse;

pub use eval::{Evaluator, VarValue, Vars, truth};
pub use parse::parse;

/// A value during evaluation.
#[derive(Debug, Clone, PartialEq)]
pub enum Val {
    /// NULL.
    Null,
    /// A boolean.
    Bool(bool),
    /// A 64-bit integer.
    Int(i64),
    /// A double.
    Double(f64),
}

impl Val {
    /// The text substituted for the value in SQL: integers in decimal,
    /// doubles in their shortest exact form, booleans as `true`/`false`;
    /// `None` for NULL.
    pub fn to_sql_text(&self) -> Option<String> {
        match self {
            Val::Null => None,
            Val::Bool(b) => Some(b.to_string()),
            Val::Int(i) => Some(i.to_string()),
            Val::Double(d) => Some(if d.is_nan() {
                "NaN".into()
            } else if d.is_infinite() {
                if *d > 0.0 { "Infinity" } else { "-Infinity" }.into()
            } else {
                d.to_string()
            }),
        }
    }
}

/// Operators taking two arguments, evaluated eagerly.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BinOp {
    /// `+`
    Add,
    /// `-`
    Sub,
    /// `*`
    Mul,
    /// `/`
    Div,
    /// `%`
    Mod,
    /// `=`
    Eq,
    /// `<>` or `!=`
    Ne,
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `>=`
    Ge,
    /// `&`
    BitAnd,
    /// `|`
    BitOr,
    /// `#`
    BitXor,
    /// `<<`
    Shl,
    /// `>>`
    Shr,
}

/// The built-in functions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Func {
    /// `abs(a)`
    Abs,
    /// `debug(a)`: logs and returns its argument.
    Debug,
    /// `double(i)`
    Double,
    /// `exp(x)`
    Exp,
    /// `greatest(a, ...)`
    Greatest,
    /// `hash(a [, seed])`: same as `hash_murmur2`.
    Hash,
    /// `hash_fnv1a(a [, seed])`
    HashFnv1a,
    /// `hash_murmur2(a [, seed])`
    HashMurmur2,
    /// `int(x)`
    Int,
    /// `least(a, ...)`
    Least,
    /// `ln(x)`
    Ln,
    /// `mod(i, j)`
    Mod,
    /// `permute(i, size [, seed])`
    Permute,
    /// `pi()`
    Pi,
    /// `pow(x, y)` and `power(x, y)`
    Pow,
    /// `random(lb, ub)`
    Random,
    /// `random_exponential(lb, ub, parameter)`
    RandomExponential,
    /// `random_gaussian(lb, ub, parameter)`
    RandomGaussian,
    /// `random_zipfian(lb, ub, parameter)`
    RandomZipfian,
    /// `sqrt(x)`
    Sqrt,
}

impl Func {
    /// The function called `name` (lower case) and its argument counts.
    pub fn lookup(name: &str) -> Option<(Func, usize, usize)> {
        const MANY: usize = usize::MAX;
        Some(match name {
            "abs" => (Func::Abs, 1, 1),
            "debug" => (Func::Debug, 1, 1),
            "double" => (Func::Double, 1, 1),
            "exp" => (Func::Exp, 1, 1),
            "greatest" => (Func::Greatest, 1, MANY),
            "hash" => (Func::Hash, 1, 2),
            "hash_fnv1a" => (Func::HashFnv1a, 1, 2),
            "hash_murmur2" => (Func::HashMurmur2, 1, 2),
            "int" => (Func::Int, 1, 1),
            "least" => (Func::Least, 1, MANY),
            "ln" => (Func::Ln, 1, 1),
            "mod" => (Func::Mod, 2, 2),
            "permute" => (Func::Permute, 2, 3),
            "pi" => (Func::Pi, 0, 0),
            "pow" | "power" => (Func::Pow, 2, 2),
            "random" => (Func::Random, 2, 2),
            "random_exponential" => (Func::RandomExponential, 3, 3),
            "random_gaussian" => (Func::RandomGaussian, 3, 3),
            "random_zipfian" => (Func::RandomZipfian, 3, 3),
            "sqrt" => (Func::Sqrt, 1, 1),
            _ => return None,
        })
    }
}

/// What `IS` compares against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IsWhat {
    /// `IS NULL`
    Null,
    /// `IS TRUE`
    True,
    /// `IS FALSE`
    False,
}

/// An expression's syntax tree.
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    /// A literal.
    Const(Val),
    /// `:name`
    Var(String),
    /// Unary minus.
    Neg(Box<Expr>),
    /// `NOT`
    Not(Box<Expr>),
    /// `~` (bitwise not)
    BitNot(Box<Expr>),
    /// An eager binary operator.
    Binary(BinOp, Box<Expr>, Box<Expr>),
    /// `AND`, with SQL's three-valued logic, right side evaluated only
    /// when needed.
    And(Box<Expr>, Box<Expr>),
    /// `OR`, likewise.
    Or(Box<Expr>, Box<Expr>),
    /// `x IS [NOT] NULL|TRUE|FALSE` (and `ISNULL`, `NOTNULL`); the flag is
    /// true for `IS NOT`.
    Is(Box<Expr>, IsWhat, bool),
    /// `CASE WHEN c THEN v ... [ELSE e] END`
    Case(Vec<(Expr, Expr)>, Option<Box<Expr>>),
    /// A function call.
    Call(Func, Vec<Expr>),
}
