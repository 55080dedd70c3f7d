//! pgbench's script format: SQL commands ending in `;` (over as many
//! lines as they need), and one-line meta-commands starting with `\`
//! (continued onto the next line by a trailing backslash).
//!
//! SQL is scanned with PostgreSQL's quoting rules (quoted strings,
//! `E'...'`, quoted identifiers, dollar quotes, both comment forms) so a
//! `:name` inside any of them is left alone; elsewhere `:name` becomes the
//! next `$n` parameter, as `pgbench -M prepared` does. Conditionals are
//! compiled into jumps.

mod sql;
#[cfg(test)]
mod tests;

use crate::expr::{self, Expr};

/// How a query's result is stored in variables.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Capture {
    /// `\gset [prefix]`: exactly one row, each column into a variable.
    One(String),
    /// `\aset [prefix]`: every row, each column into a variable (the last
    /// row wins); no row leaves the variables as they were.
    All(String),
}

/// What an SQL command does to the transaction state, judged by its
/// first words, so a script that stops midway can be rolled back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TxnEffect {
    /// Neither starts nor ends a transaction block.
    None,
    /// BEGIN, START TRANSACTION.
    Begin,
    /// COMMIT, END, ROLLBACK, ABORT, PREPARE TRANSACTION.
    End,
}

/// One SQL command, ready to prepare.
#[derive(Debug, Clone, PartialEq)]
pub struct SqlCommand {
    /// The SQL with `$1`, `$2`, ... in place of the variables.
    pub text: String,
    /// The variable of each parameter, in order; a variable used twice
    /// takes two parameters (each may get its own type, as in pgbench).
    pub params: Vec<String>,
    /// `\gset` / `\aset`, when the command ends with one.
    pub capture: Option<Capture>,
    /// Its effect on the transaction state.
    pub txn: TxnEffect,
}

/// The duration of a `\sleep`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SleepAmount {
    /// A literal.
    Const(i64),
    /// `:name`
    Var(String),
}

/// A compiled command.
#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    /// Run an SQL command.
    Sql(SqlCommand),
    /// `\set var expr`
    Set(String, Expr),
    /// `\sleep amount [us|ms|s]`, with the unit in microseconds.
    Sleep(SleepAmount, u64),
    /// Go to command `target` unless the condition holds (`\if`, `\elif`).
    JumpUnless(Expr, usize),
    /// Go to command `target` (the end of an `\if` branch).
    Jump(usize),
}

/// A command and the script line it starts on.
pub type Located = (usize, Command);

#[derive(Debug, Clone, PartialEq)]
enum Quote {
    Normal,
    Single { escapes: bool },
    Double,
    Dollar(String),
    Block(u32),
}

fn is_ident_start(c: char) -> bool {
    c.is_alphabetic() || c == '_'
}

fn is_ident(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// An `\if` being compiled.
struct Frame {
    line: usize,
    /// The jump to patch with the start of the next branch.
    pending: Option<usize>,
    /// Jumps to patch with the end of the whole `\if`.
    ends: Vec<usize>,
    seen_else: bool,
}

struct Parser {
    chars: Vec<char>,
    i: usize,
    line: usize,
    out: Vec<Located>,
    frames: Vec<Frame>,
}

type Res<T> = Result<T, (usize, String)>;

impl Parser {
    fn peek(&self, k: usize) -> Option<char> {
        self.chars.get(self.i + k).copied()
    }

    fn starts(&self, s: &str) -> bool {
        s.chars().enumerate().all(|(k, c)| self.peek(k) == Some(c))
    }

    fn bump(&mut self) -> Option<char> {
        let c = self.peek(0)?;
        self.i += 1;
        if c == '\n' {
            self.line += 1;
        }
        Some(c)
    }

    fn skip_line_comment(&mut self) {
        while let Some(c) = self.peek(0) {
            if c == '\n' {
                break;
            }
            self.i += 1;
        }
    }

    /// The rest of the line after a backslash, with trailing-backslash
    /// continuation lines joined.
    fn meta_line(&mut self) -> String {
        let mut text = String::new();
        while let Some(c) = self.peek(0) {
            if c == '\n' {
                let trimmed = text.trim_end();
                if let Some(stripped) = trimmed.strip_suffix('\\') {
                    text = format!("{stripped} ");
                    self.bump();
                    continue;
                }
                break;
            }
            text.push(c);
            self.i += 1;
        }
        text
    }

    fn run(mut self) -> Res<Vec<Located>> {
        loop {
            while self.peek(0).is_some_and(char::is_whitespace) {
                self.bump();
            }
            match self.peek(0) {
                None => break,
                Some('\\') => {
                    let line = self.line;
                    self.i += 1;
                    let text = self.meta_line();
                    self.meta(line, &text)?;
                }
                Some('-') if self.starts("--") => self.skip_line_comment(),
                Some(_) => self.sql()?,
            }
        }
        if let Some(f) = self.frames.last() {
            return Err((f.line, "\\if without a matching \\endif".into()));
        }
        Ok(self.out)
    }

    /// Scans one SQL command, up to its `;`, a `\gset`/`\aset`, or the end.
    fn push(&mut self, line: usize, c: Command) -> usize {
        self.out.push((line, c));
        self.out.len() - 1
    }

    fn patch(&mut self, at: usize, target: usize) {
        if let Some((_, Command::JumpUnless(_, t) | Command::Jump(t))) = self.out.get_mut(at) {
            *t = target;
        }
    }

    fn meta(&mut self, line: usize, text: &str) -> Res<()> {
        let text = text.trim();
        let (cmd, rest) = text
            .split_once(char::is_whitespace)
            .map_or((text, ""), |(c, r)| (c, r.trim()));
        let err = |m: String| Err((line, m));
        let cond = |rest: &str| expr::parse(rest).map_err(|e| (line, format!("\\{cmd}: {e}")));
        match cmd {
            "set" => {
                let (var, e) = rest
                    .split_once(char::is_whitespace)
                    .ok_or((line, "\\set: missing argument".to_string()))?;
                if var.is_empty() || !var.chars().all(is_ident) {
                    return err(format!("\\set: invalid variable name '{var}'"));
                }
                let e = expr::parse(e).map_err(|m| (line, format!("\\set {var}: {m}")))?;
                self.push(line, Command::Set(var.to_string(), e));
            }
            "sleep" => {
                let mut words = rest.split_whitespace();
                let amount = match words.next() {
                    Some(v) if v.starts_with(':') && v.len() > 1 => {
                        SleepAmount::Var(v[1..].to_string())
                    }
                    Some(v) => SleepAmount::Const(
                        v.parse()
                            .map_err(|_| (line, format!("\\sleep: invalid duration '{v}'")))?,
                    ),
                    None => return err("\\sleep: missing argument".into()),
                };
                let unit = match words.next() {
                    None | Some("s") => 1_000_000,
                    Some("ms") => 1_000,
                    Some("us") => 1,
                    Some(u) => return err(format!("\\sleep: unknown time unit '{u}'")),
                };
                if words.next().is_some() {
                    return err("\\sleep: too many arguments".into());
                }
                self.push(line, Command::Sleep(amount, unit));
            }
            "if" => {
                let c = cond(rest)?;
                let at = self.push(line, Command::JumpUnless(c, 0));
                self.frames.push(Frame {
                    line,
                    pending: Some(at),
                    ends: Vec::new(),
                    seen_else: false,
                });
            }
            "elif" | "else" => {
                match self.frames.last() {
                    None => return err(format!("\\{cmd} without a matching \\if")),
                    Some(f) if f.seen_else => return err(format!("\\{cmd} after \\else")),
                    Some(_) => {}
                }
                let c = if cmd == "elif" {
                    Some(cond(rest)?)
                } else if !rest.is_empty() {
                    return err("\\else takes no argument".into());
                } else {
                    None
                };
                let end = self.push(line, Command::Jump(0));
                let next = self.out.len();
                let pending = self.frames.last_mut().and_then(|f| {
                    f.ends.push(end);
                    f.pending.take()
                });
                if let Some(p) = pending {
                    self.patch(p, next);
                }
                let new_pending = c.map(|c| self.push(line, Command::JumpUnless(c, 0)));
                if let Some(f) = self.frames.last_mut() {
                    f.pending = new_pending;
                    f.seen_else = cmd == "else";
                }
            }
            "endif" => {
                let f = self
                    .frames
                    .pop()
                    .ok_or((line, "\\endif without a matching \\if".to_string()))?;
                let end = self.out.len();
                for at in f.pending.into_iter().chain(f.ends) {
                    self.patch(at, end);
                }
            }
            "gset" | "aset" => {
                return err(format!(
                    "\\{cmd} must end an SQL command, in place of its ';'"
                ));
            }
            "shell" | "setshell" => {
                return err(format!(
                    "\\{cmd} runs programs, which the plugin sandbox does not allow"
                ));
            }
            "startpipeline" | "syncpipeline" | "endpipeline" => {
                return err(format!(
                    "\\{cmd}: pipeline mode is not available to plugins"
                ));
            }
            "" => return err("empty meta-command".into()),
            other => return err(format!("invalid command \\{other}")),
        }
        Ok(())
    }
}

/// Parses a script; errors carry the line they are about (1-based).
pub fn parse(text: &str) -> Result<Vec<Located>, (usize, String)> {
    let p = Parser {
        chars: text.chars().collect(),
        i: 0,
        line: 1,
        out: Vec::new(),
        frames: Vec::new(),
    };
    p.run()
}
