//! Parser tests.
use super::sql::txn_effect;
use super::*;

fn sql_of(c: &Located) -> Option<&SqlCommand> {
    match &c.1 {
        Command::Sql(s) => Some(s),
        _ => None,
    }
}

#[test]
fn tpcb_like_script() {
    let script = "\\set aid random(1, 100000 * :scale)\n\
        \\set bid random(1, 1 * :scale)\n\
        \\set tid random(1, 10 * :scale)\n\
        \\set delta random(-5000, 5000)\n\
        BEGIN;\n\
        UPDATE pgbench_accounts SET abalance = abalance + :delta WHERE aid = :aid;\n\
        SELECT abalance FROM pgbench_accounts WHERE aid = :aid;\n\
        UPDATE pgbench_tellers SET tbalance = tbalance + :delta WHERE tid = :tid;\n\
        UPDATE pgbench_branches SET bbalance = bbalance + :delta WHERE bid = :bid;\n\
        INSERT INTO pgbench_history (tid, bid, aid, delta, mtime) \
          VALUES (:tid, :bid, :aid, :delta, CURRENT_TIMESTAMP);\n\
        END;\n";
    let cmds = parse(script).unwrap_or_default();
    assert_eq!(cmds.len(), 11);
    assert!(matches!(&cmds[0], (1, Command::Set(v, _)) if v == "aid"));
    let update = sql_of(&cmds[5])
        .cloned()
        .unwrap_or_else(|| panic!("{cmds:?}"));
    assert_eq!(
        update.text,
        "UPDATE pgbench_accounts SET abalance = abalance + $1 WHERE aid = $2"
    );
    assert_eq!(update.params, vec!["delta", "aid"]);
    assert_eq!(cmds[5].0, 6);
    assert_eq!(sql_of(&cmds[4]).map(|s| s.txn), Some(TxnEffect::Begin));
    assert_eq!(sql_of(&cmds[10]).map(|s| s.txn), Some(TxnEffect::End));
    assert_eq!(sql_of(&cmds[9]).map(|s| s.params.len()), Some(4));
}

#[test]
fn quoting_comments_and_casts() {
    let cmds = parse(
        "-- a comment line\n\
         SELECT ':not_a_var', E'it\\'s :no', \"col:x\", $tag$ :nope $tag$, \n\
           :yes::int /* :hidden /* nested */ */ , 1 -- :gone\n\
         ;\n\
         SELECT $1",
    )
    .unwrap_or_default();
    assert_eq!(cmds.len(), 2);
    let s = sql_of(&cmds[0])
        .cloned()
        .unwrap_or_else(|| panic!("{cmds:?}"));
    assert_eq!(s.params, vec!["yes"]);
    assert!(s.text.contains("':not_a_var'"));
    assert!(s.text.contains("E'it\\'s :no'"));
    assert!(s.text.contains("$tag$ :nope $tag$"));
    assert!(s.text.contains("$1::int"));
    assert!(!s.text.contains("hidden") && !s.text.contains("gone"));
    assert_eq!(cmds[0].0, 2);
    // The last command may omit its semicolon.
    assert_eq!(sql_of(&cmds[1]).map(|s| s.text.as_str()), Some("SELECT $1"));
}

#[test]
fn gset_aset_and_sleep() {
    let cmds = parse(
        "SELECT 1 AS one,\n 2 AS two \\gset p_\n\
         SELECT 3 AS three \\aset\n\
         \\sleep 10 ms\n\\sleep :t\n",
    )
    .unwrap_or_default();
    assert_eq!(
        sql_of(&cmds[0]).and_then(|s| s.capture.clone()),
        Some(Capture::One("p_".into()))
    );
    assert_eq!(
        sql_of(&cmds[1]).and_then(|s| s.capture.clone()),
        Some(Capture::All(String::new()))
    );
    assert_eq!(cmds[2].1, Command::Sleep(SleepAmount::Const(10), 1_000));
    assert_eq!(
        cmds[3].1,
        Command::Sleep(SleepAmount::Var("t".into()), 1_000_000)
    );
}

#[test]
fn conditionals_become_jumps() {
    let cmds = parse(
        "\\if :a > 1\nSELECT 1;\n\\elif :a = 1\nSELECT 2;\n\\else\nSELECT 3;\n\\endif\nSELECT 4;",
    )
    .unwrap_or_default();
    // 0 JumpUnless->3, 1 sql1, 2 Jump->7, 3 JumpUnless->6, 4 sql2,
    // 5 Jump->7, 6 sql3, 7 sql4
    assert!(matches!(cmds[0].1, Command::JumpUnless(_, 3)));
    assert!(matches!(cmds[2].1, Command::Jump(7)));
    assert!(matches!(cmds[3].1, Command::JumpUnless(_, 6)));
    assert!(matches!(cmds[5].1, Command::Jump(7)));
    assert_eq!(cmds.len(), 8);
}

#[test]
fn meta_command_continuation() {
    let cmds = parse("\\set x 1 + \\\n  2\nSELECT :x;").unwrap_or_default();
    assert_eq!(cmds.len(), 2);
    assert!(matches!(&cmds[0].1, Command::Set(v, _) if v == "x"));
    assert_eq!(cmds[1].0, 3);
}

#[test]
fn errors_name_the_line() {
    let bad = |s: &str| parse(s).err().map(|(line, _)| line);
    assert_eq!(bad("SELECT 1;\n\\set x (1 +\n"), Some(2));
    assert_eq!(bad("\\if true\nSELECT 1;\n"), Some(1));
    assert_eq!(bad("SELECT 1;\n\\endif"), Some(2));
    assert_eq!(bad("\\else"), Some(1));
    assert_eq!(bad("SELECT 1;\n\n\\gset"), Some(3));
    assert_eq!(bad("\\shell ls"), Some(1));
    assert_eq!(bad("\\nosuch"), Some(1));
    assert_eq!(bad("SELECT 'open;"), Some(1));
    assert_eq!(bad("SELECT 1 \\; SELECT 2;"), Some(1));
    assert_eq!(bad("\\sleep 10 h"), Some(1));
    assert_eq!(bad("\\if 1\n\\else\n\\else\n\\endif"), Some(3));
}

#[test]
fn transaction_effects() {
    assert_eq!(txn_effect("begin"), TxnEffect::Begin);
    assert_eq!(
        txn_effect("START TRANSACTION ISOLATION LEVEL SERIALIZABLE"),
        TxnEffect::Begin
    );
    assert_eq!(txn_effect("end"), TxnEffect::End);
    assert_eq!(txn_effect("ROLLBACK TO SAVEPOINT a"), TxnEffect::None);
    assert_eq!(txn_effect("COMMIT AND CHAIN"), TxnEffect::None);
    assert_eq!(txn_effect("SELECT 1"), TxnEffect::None);
}
