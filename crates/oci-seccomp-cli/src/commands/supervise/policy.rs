//! `supervise --policy`: the answer per syscall name, parsed from a JSON file that keeps
//! every key (a key given twice is refused) and names the key at fault.

use std::collections::HashMap;

use crate::{names, CliError, CliResult};

/// How to answer a notification.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Answer {
    /// Let the kernel run the syscall.
    Continue,
    /// Fail with this errno.
    Errno(i32),
    /// Return this value without running.
    Value(i64),
    /// runc's sample agent: create `<path>-<metadata>` and return 0.
    EmulateMkdir,
}

impl Answer {
    pub(super) fn parse(text: &str) -> Option<Self> {
        let t = text.trim();
        if t == "continue" {
            return Some(Self::Continue);
        }
        if t == "emulate-mkdir" {
            return Some(Self::EmulateMkdir);
        }
        if let Some(e) = t.strip_prefix("errno:") {
            return names::parse_errno(e).map(Self::Errno);
        }
        if let Some(v) = t.strip_prefix("value:") {
            return v.trim().parse().ok().map(Self::Value);
        }
        None
    }

    pub(super) fn describe(&self) -> String {
        match self {
            Self::Continue => "continue".into(),
            Self::Errno(e) => format!("errno {}", names::errno_name(*e).unwrap_or("?")),
            Self::Value(v) => format!("value {v}"),
            Self::EmulateMkdir => "emulate-mkdir".into(),
        }
    }
}

/// The answers per syscall name: `{"default": ANSWER, "syscalls": {NAME: ANSWER}}`, both
/// optional; any other key is refused.
#[derive(Clone, Debug)]
pub struct Policy {
    /// The answer to a syscall the policy does not name.
    pub default: Answer,
    /// The answer per syscall name.
    pub syscalls: HashMap<String, Answer>,
}

/// A policy file's JSON as written: objects keep every key in order, duplicates too
/// (serde_json's `Value` keeps only the last one).
enum Node {
    Object(Vec<(String, Node)>),
    String(String),
    /// Anything else, in words (`a number`).
    Other(&'static str),
}

impl<'de> serde::Deserialize<'de> for Node {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = Node;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a JSON value")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(self, mut m: A) -> Result<Node, A::Error> {
                let mut entries = Vec::new();
                while let Some(k) = m.next_key::<String>()? {
                    entries.push((k, m.next_value::<Node>()?));
                }
                Ok(Node::Object(entries))
            }
            fn visit_str<E>(self, v: &str) -> Result<Node, E> {
                Ok(Node::String(v.to_string()))
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut s: A) -> Result<Node, A::Error> {
                while s.next_element::<serde::de::IgnoredAny>()?.is_some() {}
                Ok(Node::Other("an array"))
            }
            fn visit_bool<E>(self, _: bool) -> Result<Node, E> {
                Ok(Node::Other("a boolean"))
            }
            fn visit_i64<E>(self, _: i64) -> Result<Node, E> {
                Ok(Node::Other("a number"))
            }
            fn visit_u64<E>(self, _: u64) -> Result<Node, E> {
                Ok(Node::Other("a number"))
            }
            fn visit_f64<E>(self, _: f64) -> Result<Node, E> {
                Ok(Node::Other("a number"))
            }
            fn visit_unit<E>(self) -> Result<Node, E> {
                Ok(Node::Other("null"))
            }
        }
        d.deserialize_any(V)
    }
}

impl Node {
    fn kind(&self) -> &'static str {
        match self {
            Self::Object(_) => "an object",
            Self::String(_) => "a string",
            Self::Other(k) => k,
        }
    }

    /// The object's entries; a key given twice is refused (`at`: its JSON path).
    fn entries(&self, at: &str, expected: &str) -> Result<&[(String, Node)], String> {
        let (key, dot) = if at.is_empty() { ("", "") } else { (at, ".") };
        let Self::Object(e) = self else {
            let colon = if at.is_empty() { "" } else { ": " };
            return Err(format!(
                "{key}{colon}expected {expected}, found {}",
                self.kind()
            ));
        };
        for (i, (k, _)) in e.iter().enumerate() {
            if e[..i].iter().any(|(j, _)| j == k) {
                return Err(format!("{key}{dot}{k}: given twice"));
            }
        }
        Ok(e)
    }
}

const POLICY_SHAPE: &str = "{\"default\": ANSWER, \"syscalls\": {NAME: ANSWER}}";
const ANSWERS: &str = "continue, errno:NAME, errno:N, value:N or emulate-mkdir";

fn answer(at: &str, n: &Node) -> Result<Answer, String> {
    match n {
        Node::String(t) => Answer::parse(t).ok_or_else(|| format!("{at}: {t:?}: not an answer")),
        n => Err(format!(
            "{at}: expected an answer ({ANSWERS}), found {}",
            n.kind()
        )),
    }
}

impl Policy {
    /// Parses a policy file's text: JSON syntax errors give their line and column, the
    /// rest the key at fault. Syscall names must be known for the native architecture.
    pub fn parse(name: &str, text: &str) -> CliResult<Self> {
        let hint = || {
            format!(
                "a policy is {POLICY_SHAPE}; ANSWER is {ANSWERS}; NAME is a syscall of {}",
                oci_seccomp::arch::native().name
            )
        };
        let node: Node = serde_json::from_str(text).map_err(|e| {
            let full = e.to_string();
            let at = format!(" at line {} column {}", e.line(), e.column());
            let msg = full.strip_suffix(&at).unwrap_or(&full);
            CliError::problem(format!(
                "{name}: line {}, column {}: {msg}",
                e.line(),
                e.column()
            ))
            .hint(hint())
        })?;
        Self::from_node(&node).map_err(|m| CliError::problem(format!("{name}: {m}")).hint(hint()))
    }

    fn from_node(node: &Node) -> Result<Self, String> {
        let mut policy = Self {
            default: Answer::Continue,
            syscalls: HashMap::new(),
        };
        for (k, v) in node.entries("", &format!("a JSON object {POLICY_SHAPE}"))? {
            match k.as_str() {
                "default" => policy.default = answer("default", v)?,
                "syscalls" => {
                    let native = oci_seccomp::arch::native();
                    for (sys, a) in v.entries("syscalls", "an object {NAME: ANSWER}")? {
                        let at = format!("syscalls.{sys}");
                        if oci_seccomp::arch::resolve(sys, native).is_none() {
                            return Err(format!(
                                "{at}: unknown syscall on {} (libseccomp does not know it)",
                                native.name
                            ));
                        }
                        policy.syscalls.insert(sys.clone(), answer(&at, a)?);
                    }
                }
                other => {
                    return Err(format!(
                        "{other:?}: unknown key; a policy has only \"default\" and \"syscalls\""
                    ))
                }
            }
        }
        Ok(policy)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_parse() {
        assert_eq!(Answer::parse("continue"), Some(Answer::Continue));
        assert_eq!(Answer::parse("errno:EPERM"), Some(Answer::Errno(1)));
        assert_eq!(Answer::parse("errno:38"), Some(Answer::Errno(38)));
        assert_eq!(Answer::parse("value:0"), Some(Answer::Value(0)));
        assert_eq!(Answer::parse("emulate-mkdir"), Some(Answer::EmulateMkdir));
        assert_eq!(Answer::parse("errno:EWHAT"), None);
        assert_eq!(Answer::parse("allow"), None);
    }

    #[test]
    fn policy_parses_and_rejects() {
        let p = Policy::parse(
            "p",
            r#"{"default": "errno:EPERM", "syscalls": {"mkdir": "emulate-mkdir", "chmod": "errno:ENOMEDIUM"}}"#,
        )
        .unwrap();
        assert_eq!(p.default, Answer::Errno(1));
        assert_eq!(p.syscalls["chmod"], Answer::Errno(123));
        assert!(Policy::parse("p", r#"{"default": "nope"}"#).is_err());
        let e = Policy::parse("p", r#"{"other": 1}"#).unwrap_err();
        assert!(
            e.message.contains("\"other\": unknown key"),
            "{}",
            e.message
        );
        let e = Policy::parse("p", r#"{"syscalls": {"mkdir": "allow"}}"#).unwrap_err();
        assert!(
            e.message.contains("\"allow\": not an answer"),
            "{}",
            e.message
        );
        let p = Policy::parse("p", r#"{"syscalls": {"mkdir": "value:0"}}"#).unwrap();
        assert_eq!(p.default, Answer::Continue);
        assert!(Policy::parse("p", "[]").is_err());
        let e = Policy::parse("p", "{\n  \"default\": }").unwrap_err();
        assert!(e.message.contains("line 2"), "{}", e.message);
        let p = Policy::parse("p", "{}").unwrap();
        assert!(p.syscalls.is_empty());
    }

    /// Errors name the key, give a position once (syntax only), and speak of answers and
    /// syscalls, never of Rust types.
    #[test]
    fn policy_errors_name_the_key() {
        let msg = |text: &str| Policy::parse("p", text).unwrap_err().message;
        assert_eq!(
            msg(r#"{"syscalls": {"mkdir": "ERRNO:EPERM"}}"#),
            r#"p: syscalls.mkdir: "ERRNO:EPERM": not an answer"#
        );
        let e = msg(r#"{"syscalls": {"mkdir": 1}}"#);
        assert!(
            e.starts_with("p: syscalls.mkdir: expected an answer ("),
            "{e}"
        );
        assert!(e.ends_with("found a number"), "{e}");
        let e = msg(r#"{"syscalls": ["mkdir"]}"#);
        assert!(e.contains("syscalls: expected an object"), "{e}");
        let e = msg(r#""x""#);
        assert!(e.contains("expected a JSON object"), "{e}");
        for e in [e, msg(r#"{"default": null}"#), msg("[1]")] {
            assert!(!e.contains("struct") && !e.contains("invalid type"), "{e}");
            assert!(!e.contains("at line"), "{e}");
        }
        let e = msg(r#"{"syscalls": {"mkdri": "continue"}}"#);
        assert!(e.contains("syscalls.mkdri: unknown syscall on"), "{e}");
        let e = msg(r#"{"syscalls": {"mkdir": "continue", "mkdir": "errno:EPERM"}}"#);
        assert_eq!(e, "p: syscalls.mkdir: given twice");
        let e = msg(r#"{"default": "continue", "default": "errno:EPERM"}"#);
        assert_eq!(e, "p: default: given twice");
        let e = msg("{\"default\": \"continue\",\n}");
        assert_eq!(e.matches("line").count(), 1, "{e}");
    }
}
