//! Reading profile files.

use oci_spec::runtime::LinuxSeccomp;
use serde_json::Value;

use crate::error::ParseError;

/// Largest profile text accepted (Docker's default profile is about 20 KiB).
pub const MAX_PROFILE_BYTES: usize = 4 << 20;

/// Keys that exist only in the Docker/moby profile format.
const TOP_DOCKER_KEYS: &[&str] = &["archMap", "defaultErrno"];
const ENTRY_DOCKER_KEYS: &[&str] = &["name", "includes", "excludes", "errno"];

/// Keys of the OCI `linux.seccomp` object, of a syscall entry and of an argument: oci-spec
/// reads them case-sensitively, Go's `encoding/json` (runc, moby) case-insensitively.
const TOP_OCI_KEYS: &[&str] = &[
    "defaultAction",
    "defaultErrnoRet",
    "architectures",
    "flags",
    "listenerPath",
    "listenerMetadata",
    "syscalls",
];
const ENTRY_OCI_KEYS: &[&str] = &["names", "action", "errnoRet", "args"];
const ARG_OCI_KEYS: &[&str] = &["index", "value", "valueTwo", "op"];

/// Whether JSON object key `key` names field `name` as Go's `encoding/json` (runc, moby)
/// reads it: equal under Unicode simple case folding. Besides the ASCII letters, two
/// characters fold onto ASCII ones (Unicode `CaseFolding.txt`): U+017F LATIN SMALL LETTER
/// LONG S onto `s` and U+212A KELVIN SIGN onto `k`, so `"ſeccomp"` is `seccomp` to Go.
pub fn go_key_eq(key: &str, name: &str) -> bool {
    fn fold(c: char) -> char {
        match c {
            '\u{017f}' => 's',
            '\u{212a}' => 'k',
            c => c.to_ascii_lowercase(),
        }
    }
    // A character folding onto an ASCII letter takes at most 3 bytes: a longer key is
    // not worth counting.
    key.len() <= 3 * name.len()
        && key.chars().count() == name.chars().count()
        && key
            .chars()
            .zip(name.chars())
            .all(|(a, b)| fold(a) == fold(b))
}

/// The value of the first key of `obj` equal to `key` in any letter case (as Go reads it).
fn get_any_case<'a>(obj: &'a serde_json::Map<String, Value>, key: &str) -> Option<&'a Value> {
    obj.get(key)
        .or_else(|| obj.iter().find(|(k, _)| go_key_eq(k, key)).map(|(_, v)| v))
}

/// A parsed JSON value as the format checks read it: the keys of its objects, the items of
/// its arrays and the kind of the rest. [`Value`] has it all; [`JsonKeys`] only this.
pub(crate) trait Tree: Sized {
    /// The members of an object in key order (byte order, as [`serde_json::Map`] keeps
    /// them), a duplicate key once with its last value; `None` for anything else.
    fn members(&self) -> Option<impl Iterator<Item = (&str, &Self)>>;
    /// The items of an array.
    fn items(&self) -> Option<&[Self]>;
    /// How the value's type reads in an error message ("a string", "null", ...).
    fn kind(&self) -> &'static str;
    /// The member `key` (exact), of an object.
    fn get(&self, key: &str) -> Option<&Self>;
    /// The member `key` in any letter case (as Go reads it): the exact key first.
    fn get_any_case(&self, key: &str) -> Option<&Self> {
        self.get(key).or_else(|| {
            self.members()?
                .find(|(k, _)| go_key_eq(k, key))
                .map(|(_, v)| v)
        })
    }
}

impl Tree for Value {
    fn members(&self) -> Option<impl Iterator<Item = (&str, &Self)>> {
        Some(self.as_object()?.iter().map(|(k, v)| (k.as_str(), v)))
    }
    fn items(&self) -> Option<&[Self]> {
        self.as_array().map(Vec::as_slice)
    }
    fn kind(&self) -> &'static str {
        kind(self)
    }
    fn get(&self, key: &str) -> Option<&Self> {
        self.as_object()?.get(key)
    }
}

/// One value of a [`JsonKeys`].
#[derive(Debug)]
enum Node<'a> {
    /// Not an object or an array: its kind ([`kind`]'s words).
    Scalar(&'static str),
    Array(Vec<Node<'a>>),
    /// Sorted by key, a duplicate key once with its last value (as [`Value`] keeps it).
    Object(Vec<(std::borrow::Cow<'a, str>, Node<'a>)>),
}

impl Tree for Node<'_> {
    fn members(&self) -> Option<impl Iterator<Item = (&str, &Self)>> {
        match self {
            Self::Object(m) => Some(m.iter().map(|(k, v)| (&**k, v))),
            _ => None,
        }
    }
    fn items(&self) -> Option<&[Self]> {
        match self {
            Self::Array(a) => Some(a),
            _ => None,
        }
    }
    fn kind(&self) -> &'static str {
        match self {
            Self::Scalar(k) => k,
            Self::Array(_) => "an array",
            Self::Object(_) => "an object",
        }
    }
    fn get(&self, key: &str) -> Option<&Self> {
        match self {
            Self::Object(m) => m
                .binary_search_by(|(k, _)| (**k).cmp(key))
                .ok()
                .map(|i| &m[i].1),
            _ => None,
        }
    }
}

/// An object key, borrowed from the text unless it has escapes.
struct Key<'a>(std::borrow::Cow<'a, str>);

impl<'de> serde::Deserialize<'de> for Key<'de> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = Key<'de>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Key<'de>, E> {
                Ok(Key(std::borrow::Cow::Borrowed(v)))
            }
            fn visit_str<E>(self, v: &str) -> Result<Key<'de>, E> {
                Ok(Key(std::borrow::Cow::Owned(v.to_owned())))
            }
        }
        d.deserialize_str(V)
    }
}

impl<'de> serde::Deserialize<'de> for Node<'de> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = Node<'de>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_bool<E>(self, _: bool) -> Result<Node<'de>, E> {
                Ok(Node::Scalar("a boolean"))
            }
            fn visit_i64<E>(self, _: i64) -> Result<Node<'de>, E> {
                Ok(Node::Scalar("a number"))
            }
            fn visit_u64<E>(self, _: u64) -> Result<Node<'de>, E> {
                Ok(Node::Scalar("a number"))
            }
            fn visit_f64<E>(self, _: f64) -> Result<Node<'de>, E> {
                Ok(Node::Scalar("a number"))
            }
            fn visit_str<E>(self, _: &str) -> Result<Node<'de>, E> {
                Ok(Node::Scalar("a string"))
            }
            fn visit_unit<E>(self) -> Result<Node<'de>, E> {
                Ok(Node::Scalar("null"))
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> Result<Node<'de>, A::Error> {
                let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(64));
                while let Some(item) = seq.next_element()? {
                    items.push(item);
                }
                Ok(Node::Array(items))
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<Node<'de>, A::Error> {
                let mut members: Vec<(std::borrow::Cow<'de, str>, Node<'de>)> = Vec::new();
                while let Some(Key(k)) = map.next_key()? {
                    members.push((k, map.next_value()?));
                }
                // Stable: of equal keys, the last stays last, and is the one kept.
                members.sort_by(|a, b| a.0.cmp(&b.0));
                let mut kept: Vec<(std::borrow::Cow<'de, str>, Node<'de>)> =
                    Vec::with_capacity(members.len());
                for (k, v) in members {
                    if kept.last().is_some_and(|(last, _)| *last == k) {
                        kept.pop();
                    }
                    kept.push((k, v));
                }
                Ok(Node::Object(kept))
            }
        }
        d.deserialize_any(V)
    }
}

/// A JSON text's object keys and the kind of each value, without the values themselves:
/// what deciding a profile's format reads (an OCI object, a Docker profile, a Security
/// Profiles Operator resource) and what [`parse_profile`] checks before it reads the
/// typed object. One pass over the text that keeps no string value, where a
/// [`serde_json::Value`] copies each syscall name; read once, it answers every format
/// question of one start.
#[derive(Debug)]
pub struct JsonKeys<'a> {
    text: &'a str,
    root: Node<'a>,
}

impl<'a> JsonKeys<'a> {
    /// Reads `text` (at most [`MAX_PROFILE_BYTES`]).
    ///
    /// # Errors
    ///
    /// [`ParseError::TooLarge`], or [`ParseError::Json`] with the line and column of a
    /// syntax error (serde_json's, as for a [`Value`]).
    pub fn parse(text: &'a str) -> Result<Self, ParseError> {
        if text.len() > MAX_PROFILE_BYTES {
            return Err(ParseError::TooLarge {
                len: text.len(),
                max: MAX_PROFILE_BYTES,
            });
        }
        let root = serde_json::from_str(text).map_err(|e| json_error(&e))?;
        Ok(Self { text, root })
    }

    /// [`parse_profile`] of the text these keys were read from, without reading its keys
    /// again (for a caller that decided the text's format from them). The checks and the
    /// typed parse read the same text, so no key check can be skipped.
    ///
    /// # Errors
    ///
    /// As [`parse_profile`], but for the size and syntax, which [`JsonKeys::parse`]
    /// checked.
    pub fn parse_profile(&self) -> Result<LinuxSeccomp, ParseError> {
        checked_then_typed(self.text, &self.root)
    }

    /// Whether the text is an object with the key `key` (exact) at its top level.
    pub fn has_top_level(&self, key: &str) -> bool {
        self.root.get(key).is_some()
    }

    /// [`find_docker_key`] of the text.
    pub fn docker_key(&self) -> Option<(String, String)> {
        docker_key_in(&self.root)
    }
}

/// What Go's `encoding/json` reads of `v` into the runtime spec's `LinuxSeccomp` (runc,
/// crun's Go callers, containerd, anything that takes the file as OCI): the OCI keys of
/// each level, matched as Go matches them (any case) and renamed to their own spelling;
/// every other key (Docker's `archMap`, `includes`, `excludes`, `name`, `comment`, ...)
/// dropped silently, as Go drops it. A value is kept as it is.
pub fn go_oci_reading(v: &Value) -> Value {
    fn keep(obj: &serde_json::Map<String, Value>, keys: &[&str]) -> serde_json::Map<String, Value> {
        let mut out = serde_json::Map::new();
        for name in keys {
            if let Some(v) = get_any_case(obj, name) {
                out.insert((*name).to_string(), v.clone());
            }
        }
        out
    }
    let Some(top) = v.as_object() else {
        return v.clone();
    };
    let mut out = keep(top, TOP_OCI_KEYS);
    if let Some(Value::Array(entries)) = out.get_mut("syscalls") {
        for e in entries.iter_mut() {
            let Some(obj) = e.as_object() else { continue };
            let mut entry = keep(obj, ENTRY_OCI_KEYS);
            if let Some(Value::Array(args)) = entry.get_mut("args") {
                for a in args.iter_mut() {
                    if let Some(obj) = a.as_object() {
                        *a = Value::Object(keep(obj, ARG_OCI_KEYS));
                    }
                }
            }
            *e = Value::Object(entry);
        }
    }
    Value::Object(out)
}

/// Keys no reader of the format knows, with their JSON paths: oci-spec (and moby) ignore
/// them, so a misspelt `args` makes a conditional entry unconditional. `docker` adds the
/// Docker and containers-common keys to the known ones. Matching is Go's.
pub fn unknown_keys(v: &Value, docker: bool) -> Vec<String> {
    const DOCKER_TOP: &[&str] = &["archMap", "defaultErrno"];
    const DOCKER_ENTRY: &[&str] = &["name", "includes", "excludes", "comment", "errno"];
    const FILTER: &[&str] = &["caps", "arches", "minKernel"];
    const ARCH_MAP: &[&str] = &["architecture", "subArchitectures"];
    // JSON Schema's annotation keyword: `oci-seccomp record` writes the provenance there;
    // every reader ignores it.
    const ANNOTATION: &[&str] = &["$comment"];
    fn check(
        obj: &serde_json::Map<String, Value>,
        path: &str,
        known: &[&[&str]],
        out: &mut Vec<String>,
    ) {
        for k in obj.keys() {
            if !known
                .iter()
                .any(|list| list.iter().any(|n| go_key_eq(k, n)))
            {
                out.push(if path.is_empty() {
                    k.clone()
                } else {
                    format!("{path}.{k}")
                });
            }
        }
    }
    let mut out = Vec::new();
    let Some(obj) = v.as_object() else {
        return out;
    };
    let none: &[&str] = &[];
    // `comment` on an entry: moby's, and read (and ignored) by runc and crun in an OCI
    // profile too; it cannot change what the entry does.
    const COMMENT: &[&str] = &["comment"];
    let (top_extra, entry_extra) = if docker {
        (DOCKER_TOP, DOCKER_ENTRY)
    } else {
        (none, COMMENT)
    };
    check(obj, "", &[TOP_OCI_KEYS, top_extra, ANNOTATION], &mut out);
    if let Some(Value::Array(entries)) = get_any_case(obj, "syscalls") {
        for (i, e) in entries.iter().enumerate() {
            let Some(e) = e.as_object() else { continue };
            let p = format!("syscalls[{i}]");
            check(e, &p, &[ENTRY_OCI_KEYS, entry_extra], &mut out);
            if let Some(Value::Array(args)) = get_any_case(e, "args") {
                for (j, a) in args.iter().enumerate() {
                    if let Some(a) = a.as_object() {
                        check(a, &format!("{p}.args[{j}]"), &[ARG_OCI_KEYS], &mut out);
                    }
                }
            }
            if docker {
                for f in ["includes", "excludes"] {
                    if let Some(Value::Object(o)) = get_any_case(e, f) {
                        check(o, &format!("{p}.{f}"), &[FILTER], &mut out);
                    }
                }
            }
        }
    }
    if docker {
        if let Some(Value::Array(m)) = get_any_case(obj, "archMap") {
            for (i, e) in m.iter().enumerate() {
                if let Some(e) = e.as_object() {
                    check(e, &format!("archMap[{i}]"), &[ARCH_MAP], &mut out);
                }
            }
        }
    }
    out
}

/// Finds the first Docker/moby-only key in a parsed JSON profile, with its path.
///
/// Keys are matched in any letter case, as moby (Go's `encoding/json`) reads them:
/// `"Includes"` is moby's `includes`. `name`, `includes`, `excludes` and `archMap` change
/// meaning and are dropped by oci-spec; containers-common's `defaultErrno` and `errno`
/// mark the file as that format too, so that every command reads it the same way (as a
/// Docker-format file, where the errno names are checked against the numbers). An entry's
/// `comment` is not one of them: runc and crun ignore it in an OCI profile, and it changes
/// nothing, so a profile whose only such key is `comment` is read as OCI everywhere.
pub fn find_docker_key(v: &Value) -> Option<(String, String)> {
    docker_key_in(v)
}

/// [`find_docker_key`] of any [`Tree`].
fn docker_key_in<T: Tree>(v: &T) -> Option<(String, String)> {
    for (k, _) in v.members()? {
        if TOP_DOCKER_KEYS.iter().any(|d| go_key_eq(k, d)) {
            return Some((k.to_string(), k.to_string()));
        }
    }
    if let Some(entries) = v.get_any_case("syscalls").and_then(Tree::items) {
        for (i, e) in entries.iter().enumerate() {
            for (k, _) in e.members().into_iter().flatten() {
                if ENTRY_DOCKER_KEYS.iter().any(|d| go_key_eq(k, d)) {
                    return Some((format!("syscalls[{i}].{k}"), k.to_string()));
                }
            }
        }
    }
    None
}

/// Finds the first key spelled like an OCI key in another letter case (`"Syscalls"`):
/// oci-spec would drop it silently, while runc (Go) would read it.
fn find_miscased_key<T: Tree>(v: &T) -> Option<(String, String, &'static str)> {
    fn check<T: Tree>(
        obj: &T,
        path: &str,
        known: &[&'static str],
    ) -> Option<(String, String, &'static str)> {
        for (k, _) in obj.members()? {
            if let Some(want) = known.iter().find(|n| go_key_eq(k, n) && **n != k) {
                let p = if path.is_empty() {
                    k.to_string()
                } else {
                    format!("{path}.{k}")
                };
                return Some((p, k.to_string(), want));
            }
        }
        None
    }
    if let Some(x) = check(v, "", TOP_OCI_KEYS) {
        return Some(x);
    }
    if let Some(entries) = v.get("syscalls").and_then(Tree::items) {
        for (i, e) in entries.iter().enumerate() {
            if e.members().is_none() {
                continue;
            }
            if let Some(x) = check(e, &format!("syscalls[{i}]"), ENTRY_OCI_KEYS) {
                return Some(x);
            }
            if let Some(args) = e.get("args").and_then(Tree::items) {
                for (j, a) in args.iter().enumerate() {
                    if a.members().is_none() {
                        continue;
                    }
                    if let Some(x) = check(a, &format!("syscalls[{i}].args[{j}]"), ARG_OCI_KEYS) {
                        return Some(x);
                    }
                }
            }
        }
    }
    None
}

fn json_error(e: &serde_json::Error) -> ParseError {
    ParseError::Json {
        line: e.line(),
        column: e.column(),
        message: json_message(e),
    }
}

/// serde_json's message without its " at line L column C" tail (the error types carry
/// line and column as fields).
pub(crate) fn json_message(e: &serde_json::Error) -> String {
    e.to_string()
        .rsplit_once(" at line ")
        .map_or_else(|| e.to_string(), |(m, _)| m.to_string())
}

/// How a JSON value's type reads in an error message ("a string", "null", ...).
pub(crate) fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// serde's derived structs also accept JSON arrays (fields by position); a profile written
/// that way is almost certainly a mistake, so objects are required where the OCI schema
/// has objects.
fn check_shape<T: Tree>(v: &T) -> Result<(), ParseError> {
    let not_object = |path: String, v: &T| ParseError::Shape {
        path,
        found: v.kind(),
    };
    if v.members().is_none() {
        return Err(not_object("<top level>".into(), v));
    }
    if let Some(entries) = v.get("syscalls").and_then(Tree::items) {
        for (i, e) in entries.iter().enumerate() {
            if e.members().is_none() {
                return Err(not_object(format!("syscalls[{i}]"), e));
            }
            if let Some(args) = e.get("args").and_then(Tree::items) {
                for (j, a) in args.iter().enumerate() {
                    if a.members().is_none() {
                        return Err(not_object(format!("syscalls[{i}].args[{j}]"), a));
                    }
                }
            }
        }
    }
    Ok(())
}

/// Parses a JSON OCI `linux.seccomp` object.
///
/// Errors carry the line and column. A Docker/moby profile (with `archMap`, or entries
/// with `name`, `includes` or `excludes`, in any letter case) is refused: oci-spec would silently drop those
/// keys, and an entry meant only for holders of a capability would then apply to everyone.
///
/// # Errors
///
/// [`ParseError`]: too large, a syntax or type error (with line and column), a Docker
/// key ([`ParseError::DockerKey`]) or a mis-cased OCI key ([`ParseError::KeyCase`]),
/// naming its path.
pub fn parse_profile(json: &str) -> Result<LinuxSeccomp, ParseError> {
    JsonKeys::parse(json)?.parse_profile()
}

/// [`parse_profile`] of `json` whose JSON value `value` was parsed already.
pub(crate) fn parse_parsed(json: &str, value: &Value) -> Result<LinuxSeccomp, ParseError> {
    checked_then_typed(json, value)
}

/// The checks of the keys and shapes of `tree` (read from `json`), then the typed object
/// (whose derived reading refuses a duplicate key).
fn checked_then_typed<T: Tree>(json: &str, tree: &T) -> Result<LinuxSeccomp, ParseError> {
    check_shape(tree)?;
    if let Some((path, key)) = docker_key_in(tree) {
        return Err(ParseError::DockerKey { path, key });
    }
    if let Some((path, key, expected)) = find_miscased_key(tree) {
        return Err(ParseError::KeyCase {
            path,
            key,
            expected,
        });
    }
    serde_json::from_str::<LinuxSeccomp>(json).map_err(|e| json_error(&e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_give_line_and_column() {
        let e = parse_profile("{\n  \"defaultAction\": \"SCMP_ACT_NOPE\"\n}").unwrap_err();
        let ParseError::Json {
            line,
            column,
            message,
        } = e
        else {
            panic!("{e:?}")
        };
        assert_eq!(line, 2);
        assert!(column > 10, "{column}");
        assert!(message.contains("SCMP_ACT_NOPE"), "{message}");
        let e = parse_profile("{\"defaultAction\": ").unwrap_err();
        assert!(matches!(e, ParseError::Json { line: 1, .. }), "{e:?}");
    }

    #[test]
    fn docker_keys_are_refused() {
        let e = parse_profile(
            r#"{"defaultAction":"SCMP_ACT_ERRNO","syscalls":[{"names":["a"],"action":"SCMP_ACT_ALLOW"},{"names":["ptrace"],"action":"SCMP_ACT_ALLOW","includes":{"caps":["CAP_SYS_PTRACE"]}}]}"#,
        )
        .unwrap_err();
        let msg = e.to_string();
        assert!(msg.contains("syscalls[1].includes"), "{msg}");
        assert!(msg.contains("render"), "{msg}");
        let e = parse_profile(r#"{"defaultAction":"SCMP_ACT_ERRNO","archMap":[]}"#).unwrap_err();
        assert!(e.to_string().starts_with("archMap:"), "{e}");
    }

    #[test]
    fn docker_keys_are_refused_in_any_case() {
        let e = parse_profile(
            r#"{"defaultAction":"SCMP_ACT_ERRNO","syscalls":[{"names":["unshare"],"action":"SCMP_ACT_ALLOW","Includes":{"caps":["CAP_SYS_ADMIN"]}}]}"#,
        )
        .unwrap_err();
        assert!(
            matches!(&e, ParseError::DockerKey { path, key } if path == "syscalls[0].Includes" && key == "Includes"),
            "{e:?}"
        );
        for top in ["ARCHMAP", "ArchMap"] {
            let e = parse_profile(&format!(
                r#"{{"defaultAction":"SCMP_ACT_ERRNO","{top}":[]}}"#
            ))
            .unwrap_err();
            assert!(matches!(e, ParseError::DockerKey { .. }), "{e:?}");
        }
        // The syscalls array itself found in any case, as Go does.
        let e = parse_profile(
            r#"{"defaultAction":"SCMP_ACT_ERRNO","SYSCALLS":[{"names":["a"],"action":"SCMP_ACT_ALLOW","EXCLUDES":{}}]}"#,
        )
        .unwrap_err();
        assert!(
            e.to_string().contains("SYSCALLS[0].EXCLUDES")
                || e.to_string().contains("syscalls[0].EXCLUDES"),
            "{e}"
        );
    }

    #[test]
    fn miscased_oci_keys_are_refused() {
        let e = parse_profile(
            r#"{"defaultAction":"SCMP_ACT_ALLOW","Syscalls":[{"names":["unshare"],"action":"SCMP_ACT_ERRNO"}]}"#,
        )
        .unwrap_err();
        let msg = e.to_string();
        assert!(
            msg.starts_with("Syscalls:") && msg.contains("\"syscalls\""),
            "{msg}"
        );
        let e = parse_profile(
            r#"{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["unshare"],"action":"SCMP_ACT_ERRNO","args":[{"Index":0,"value":1,"op":"SCMP_CMP_EQ"}]}]}"#,
        )
        .unwrap_err();
        assert!(
            e.to_string().starts_with("syscalls[0].args[0].Index:"),
            "{e}"
        );
    }

    #[test]
    fn keys_that_go_folds_onto_oci_or_docker_keys_are_refused() {
        // U+017F (long s) folds onto `s` and U+212A (Kelvin sign) onto `k` in Go.
        assert!(go_key_eq("\u{17f}yscalls", "syscalls"));
        assert!(go_key_eq("\u{212a}EY", "key"));
        assert!(!go_key_eq("sy\u{17f}", "syscalls"));
        let e = parse_profile(
            "{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"names\":[\"unshare\"],\"action\":\"SCMP_ACT_LOG\",\"arg\u{17f}\":[{\"index\":0,\"value\":0,\"op\":\"SCMP_CMP_EQ\"}]}]}",
        )
        .unwrap_err();
        assert!(e.to_string().starts_with("syscalls[0].arg\u{17f}:"), "{e}");
        let e = parse_profile(
            "{\"defaultAction\":\"SCMP_ACT_ERRNO\",\"syscalls\":[{\"names\":[\"unshare\"],\"action\":\"SCMP_ACT_ALLOW\",\"include\u{17f}\":{\"caps\":[\"CAP_SYS_ADMIN\"]}}]}",
        )
        .unwrap_err();
        assert!(matches!(e, ParseError::DockerKey { .. }), "{e}");
    }

    #[test]
    fn plain_oci_parses() {
        let p = parse_profile(r#"{"defaultAction":"SCMP_ACT_ERRNO","defaultErrnoRet":38,"syscalls":[{"names":["getcwd"],"action":"SCMP_ACT_ALLOW"}]}"#).unwrap();
        assert_eq!(p.default_errno_ret(), Some(38));
    }

    /// The format checks read of `text` through a full `Value`, as `parse_profile` did
    /// before it read keys only.
    fn value_reading(text: &str) -> Result<LinuxSeccomp, ParseError> {
        let value: Value = serde_json::from_str(text).map_err(|e| json_error(&e))?;
        parse_parsed(text, &value)
    }

    fn json_files(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
        for e in std::fs::read_dir(dir).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                json_files(&p, out);
            } else if p.extension().is_some_and(|x| x == "json") {
                out.push(p);
            }
        }
    }

    #[test]
    fn key_reading_decides_every_text_as_the_value_reading() {
        let mut texts: Vec<String> = Vec::new();
        let mut files = Vec::new();
        json_files(
            &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures"),
            &mut files,
        );
        assert!(files.len() > 50, "fixtures found: {}", files.len());
        for f in &files {
            // A fixture that is not UTF-8 is not text to parse.
            let Ok(text) = std::fs::read_to_string(f) else {
                continue;
            };
            // A bundle's config: its `linux.seccomp` object too.
            if let Ok(v) = serde_json::from_str::<Value>(&text) {
                if let Some(sc) = v.pointer("/linux/seccomp") {
                    texts.push(sc.to_string());
                }
            }
            texts.push(text);
        }
        let entry = r#"{"names":["getpid"],"action":"SCMP_ACT_ALLOW"}"#;
        for t in [
            // Duplicate keys: the value keeps the last; the typed reading refuses them.
            r#"{"defaultAction":"SCMP_ACT_ALLOW","defaultAction":"SCMP_ACT_ERRNO"}"#.to_string(),
            format!(r#"{{"defaultAction":"SCMP_ACT_ERRNO","syscalls":[{{"includes":{{}}}}],"syscalls":[{entry}]}}"#),
            format!(r#"{{"defaultAction":"SCMP_ACT_ERRNO","syscalls":[{entry}],"syscalls":[{{"includes":{{}}}}]}}"#),
            format!(r#"{{"defaultAction":"SCMP_ACT_ERRNO","syscalls":5,"syscalls":[{entry}]}}"#),
            // Escaped keys, the key order of a Docker key's report, Go's case folding.
            format!(r#"{{"defaultAction":"SCMP_ACT_ERRNO","\u0073yscalls":[{entry}]}}"#),
            r#"{"defaultAction":"SCMP_ACT_ERRNO","syscalls":[{"names":["a"],"action":"SCMP_ACT_ALLOW","name":"a","includes":{},"Excludes":{}}]}"#.to_string(),
            r#"{"defaultAction":"SCMP_ACT_ERRNO","\u017fyscalls":[],"ARCHmap":[]}"#.to_string(),
            r#"{"defaultAction":"SCMP_ACT_ERRNO","Syscalls":[],"Flags":[]}"#.to_string(),
            r#"{"defaultAction":"SCMP_ACT_ERRNO","syscalls":[{"names":["a"],"action":"SCMP_ACT_ALLOW","args":[{"index":0,"value":1,"op":"SCMP_CMP_EQ","VALUE":2}]}]}"#.to_string(),
            // Shapes: arrays and scalars where objects belong, at every level.
            r#"[]"#.to_string(),
            r#""text""#.to_string(),
            r#"{"defaultAction":"SCMP_ACT_ERRNO","syscalls":[[]]}"#.to_string(),
            r#"{"defaultAction":"SCMP_ACT_ERRNO","syscalls":[null,{"names":["a"]}]}"#.to_string(),
            r#"{"defaultAction":"SCMP_ACT_ERRNO","syscalls":[{"names":["a"],"action":"SCMP_ACT_ALLOW","args":[1.5]}]}"#.to_string(),
            r#"{"defaultAction":"SCMP_ACT_ERRNO","syscalls":{"names":["a"]}}"#.to_string(),
            // Syntax: the same error, line and column.
            r#"{"defaultAction":"SCMP_ACT_ERRNO","syscalls":[{"names":["a"],}]}"#.to_string(),
            r#"{"defaultAction":1e999}"#.to_string(),
            "{\"defaultAction\":\"SCMP_ACT_ERRNO\"} x".to_string(),
            format!("{}{}", "[".repeat(200), "]".repeat(200)),
        ] {
            texts.push(t);
        }
        for text in &texts {
            let keys = JsonKeys::parse(text);
            let value = serde_json::from_str::<Value>(text);
            assert_eq!(keys.is_ok(), value.is_ok(), "{text}");
            if let (Ok(k), Ok(v)) = (&keys, &value) {
                assert_eq!(k.docker_key(), find_docker_key(v), "{text}");
                for key in ["apiVersion", "kind", "syscalls", "defaultAction"] {
                    assert_eq!(k.has_top_level(key), v.get(key).is_some(), "{text}");
                }
            }
            assert_eq!(
                format!("{:?}", parse_profile(text)),
                format!("{:?}", value_reading(text)),
                "{text}"
            );
        }
    }
}
