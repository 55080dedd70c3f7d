//! Scanning one SQL command: quoting rules, comments, `:variables`, and
//! the `\gset`/`\aset` that may end it.

use super::{
    Capture, Command, Parser, Quote, Res, SqlCommand, TxnEffect, is_ident, is_ident_start,
};

pub(super) fn txn_effect(sql: &str) -> TxnEffect {
    let words: Vec<String> = sql
        .split(|c: char| !c.is_alphanumeric() && c != '_')
        .filter(|w| !w.is_empty())
        .take(3)
        .map(str::to_ascii_uppercase)
        .collect();
    let w = |i: usize| words.get(i).map_or("", String::as_str);
    match w(0) {
        "BEGIN" => TxnEffect::Begin,
        "START" if w(1) == "TRANSACTION" => TxnEffect::Begin,
        "COMMIT" | "END" | "ABORT" if w(1) == "AND" && w(2) == "CHAIN" => TxnEffect::None,
        "COMMIT" | "ROLLBACK" if w(1) == "PREPARED" => TxnEffect::None,
        "ROLLBACK" if w(1) == "TO" || (w(1) == "AND" && w(2) == "CHAIN") => TxnEffect::None,
        "COMMIT" | "END" | "ROLLBACK" | "ABORT" => TxnEffect::End,
        "PREPARE" if w(1) == "TRANSACTION" => TxnEffect::End,
        _ => TxnEffect::None,
    }
}

impl Parser {
    pub(super) fn sql(&mut self) -> Res<()> {
        let line = self.line;
        let mut text = String::new();
        let mut params: Vec<String> = Vec::new();
        let mut quote = Quote::Normal;
        let mut capture = None;
        while let Some(c) = self.peek(0) {
            match &quote {
                Quote::Normal => {
                    if self.starts("--") {
                        self.skip_line_comment();
                        text.push(' ');
                        continue;
                    }
                    if self.starts("/*") {
                        self.i += 2;
                        quote = Quote::Block(1);
                        continue;
                    }
                    match c {
                        ';' => {
                            self.i += 1;
                            break;
                        }
                        '\'' => {
                            let prev = text.chars().last();
                            let before = text.chars().rev().nth(1);
                            let escapes =
                                matches!(prev, Some('e' | 'E')) && !before.is_some_and(is_ident);
                            quote = Quote::Single { escapes };
                        }
                        '"' => quote = Quote::Double,
                        '$' if !text.chars().last().is_some_and(is_ident) => {
                            if let Some(tag) = self.dollar_tag() {
                                text.push_str(&tag);
                                self.i += tag.chars().count();
                                quote = Quote::Dollar(tag);
                                continue;
                            }
                        }
                        ':' if self.peek(1) == Some(':') => {
                            text.push_str("::");
                            self.i += 2;
                            continue;
                        }
                        ':' if self.peek(1).is_some_and(is_ident_start) => {
                            self.i += 1;
                            let mut name = String::new();
                            while let Some(c) = self.peek(0).filter(|c| is_ident(*c)) {
                                name.push(c);
                                self.i += 1;
                            }
                            params.push(name);
                            text.push_str(&format!("${}", params.len()));
                            continue;
                        }
                        '\\' => {
                            let at = self.line;
                            self.i += 1;
                            let meta = self.meta_line();
                            capture = Some(self.capture(at, &meta)?);
                            break;
                        }
                        _ => {}
                    }
                    text.push(c);
                    self.bump();
                }
                Quote::Single { escapes } => {
                    let escapes = *escapes;
                    text.push(c);
                    self.bump();
                    if escapes && c == '\\' {
                        if let Some(n) = self.bump() {
                            text.push(n);
                        }
                    } else if c == '\'' {
                        if self.peek(0) == Some('\'') {
                            text.push('\'');
                            self.bump();
                        } else {
                            quote = Quote::Normal;
                        }
                    }
                }
                Quote::Double => {
                    text.push(c);
                    self.bump();
                    if c == '"' {
                        if self.peek(0) == Some('"') {
                            text.push('"');
                            self.bump();
                        } else {
                            quote = Quote::Normal;
                        }
                    }
                }
                Quote::Dollar(tag) => {
                    if self.starts(tag) {
                        let tag = tag.clone();
                        text.push_str(&tag);
                        self.i += tag.chars().count();
                        quote = Quote::Normal;
                    } else {
                        text.push(c);
                        self.bump();
                    }
                }
                Quote::Block(depth) => {
                    let depth = *depth;
                    if self.starts("/*") {
                        self.i += 2;
                        quote = Quote::Block(depth + 1);
                    } else if self.starts("*/") {
                        self.i += 2;
                        quote = if depth == 1 {
                            text.push(' ');
                            Quote::Normal
                        } else {
                            Quote::Block(depth - 1)
                        };
                    } else {
                        self.bump();
                    }
                }
            }
        }
        let what = match quote {
            Quote::Normal => None,
            Quote::Single { .. } => Some("quoted string"),
            Quote::Double => Some("quoted identifier"),
            Quote::Dollar(_) => Some("dollar-quoted string"),
            Quote::Block(_) => Some("/* comment"),
        };
        if let Some(what) = what {
            return Err((line, format!("unterminated {what}")));
        }
        let text = text.trim().to_string();
        if text.is_empty() {
            if capture.is_some() {
                return Err((line, "\\gset and \\aset must end an SQL command".into()));
            }
            return Ok(());
        }
        let txn = txn_effect(&text);
        self.out.push((
            line,
            Command::Sql(SqlCommand {
                text,
                params,
                capture,
                txn,
            }),
        ));
        Ok(())
    }

    /// `$tag$` or `$$` at the cursor.
    fn dollar_tag(&self) -> Option<String> {
        let mut k = 1;
        let mut tag = String::from("$");
        while let Some(c) = self.peek(k) {
            if c == '$' {
                tag.push('$');
                return Some(tag);
            }
            let ok = if k == 1 {
                is_ident_start(c)
            } else {
                is_ident(c)
            };
            if !ok {
                return None;
            }
            tag.push(c);
            k += 1;
        }
        None
    }

    /// A backslash command met inside an SQL command: only `\gset` and
    /// `\aset` may end one.
    fn capture(&self, line: usize, meta: &str) -> Res<Capture> {
        let mut words = meta.split_whitespace();
        let cmd = words.next().unwrap_or("");
        let prefix = words.next().unwrap_or("").to_string();
        if words.next().is_some() || !prefix.chars().all(is_ident) {
            return Err((line, format!("\\{cmd}: invalid variable prefix")));
        }
        match cmd {
            "gset" => Ok(Capture::One(prefix)),
            "aset" => Ok(Capture::All(prefix)),
            c if c.starts_with(';') => Err((
                line,
                "compound commands (\\;) are not supported: end each command with ';'".into(),
            )),
            other => Err((
                line,
                format!("meta-command \\{other} inside an SQL command (missing ';'?)"),
            )),
        }
    }
}
