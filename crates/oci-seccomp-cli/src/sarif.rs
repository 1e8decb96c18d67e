//! `check --format sarif`: the findings as a SARIF 2.1.0 log, each placed on the line and
//! column of the profile's text that its JSON path names, so that a CI job (GitHub code
//! scanning and other SARIF viewers) shows it on the lines of a pull request.
//!
//! serde_json keeps no positions, so [`Locator`] walks the text itself: a small scanner
//! that follows a path such as `syscalls[3].args[0].value` to the first byte of that
//! value. It never panics, whatever the text; it never recurses; one path costs at most
//! [`MAX_SEGMENTS`] passes over the text, and all the findings of one log share one budget
//! of steps linear in the text, so that a hostile profile with thousands of findings
//! costs no more than a fraction of a second (findings past the budget get no region).
//! It answers `None` when the path is not in the text (a Docker profile's finding may name
//! the rendered profile), the text is broken before the value, or the budget is spent.

use oci_seccomp::lint::{Finding, Severity};
use serde_json::{json, Value};

/// The SARIF schema this log follows.
pub const SCHEMA: &str = "https://json.schemastore.org/sarif-2.1.0.json";

/// The most segments (`.key` or `[n]`) a path may have: each one scans at most the text
/// once. A finding's path has four at most.
pub const MAX_SEGMENTS: usize = 32;

/// Steps (about one a byte scanned) that locating every finding of one log may take:
/// this many, plus [`LOCATE_STEPS_PER_BYTE`] for each byte of the text. A profile of
/// Docker's size (20 KiB) is walked some 3000 times over within it.
pub const LOCATE_STEPS: u64 = 64 << 20;

/// See [`LOCATE_STEPS`].
pub const LOCATE_STEPS_PER_BYTE: u64 = 16;

/// A place in a text: 1-based line and 1-based column, counted in Unicode code points
/// (SARIF's `unicodeCodePoints`). A line ends at LF, CR LF or a lone CR.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Position {
    /// 1-based line.
    pub line: usize,
    /// 1-based column, in code points.
    pub column: usize,
}

/// Where the value at `path` starts in the JSON `text`, with no budget: see
/// [`Locator::locate`].
#[cfg(test)]
pub fn locate(text: &str, path: &str) -> Option<Position> {
    Locator::new(text, u64::MAX).locate(path)
}

/// Finds JSON paths in one text, within one budget of steps.
#[derive(Debug)]
pub struct Locator<'a> {
    b: &'a [u8],
    left: u64,
}

const BOM: &[u8] = b"\xEF\xBB\xBF";

fn is_ws(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\n' | b'\r')
}

impl<'a> Locator<'a> {
    /// A locator of paths in `text` that takes at most `steps` steps in all.
    pub fn new(text: &'a str, steps: u64) -> Self {
        Self {
            b: text.as_bytes(),
            left: steps,
        }
    }

    /// Where the value at `path` starts: `defaultAction`, `archMap[1]`,
    /// `syscalls[3].args[0].value`; the empty path is the whole document. Keys are matched
    /// as written in the file (escapes decoded), or else in another ASCII letter case as
    /// Go readers match them; a key that itself holds `.` or `[` is matched whole. Of
    /// several equal keys in one object, the last one counts, as for serde_json and Go.
    /// `None` when the path is not in the text, the text is malformed before the value,
    /// or the budget is spent.
    pub fn locate(&mut self, path: &str) -> Option<Position> {
        let at = self.offset(path)?;
        Some(position(self.b, at))
    }

    /// One step of the budget; `None` when it is spent.
    fn step(&mut self) -> Option<()> {
        self.left = self.left.checked_sub(1)?;
        Some(())
    }

    /// [`Locator::locate`]'s byte offset.
    fn offset(&mut self, path: &str) -> Option<usize> {
        let b = self.b;
        let start = if b.starts_with(BOM) { BOM.len() } else { 0 };
        let mut at = self.skip_ws(start)?;
        let mut rest = path.as_bytes();
        let mut first = true;
        let mut segments = 0usize;
        while !rest.is_empty() {
            segments += 1;
            if segments > MAX_SEGMENTS {
                return None;
            }
            if let Some(after) = rest.strip_prefix(b"[") {
                let close = after.iter().position(|&c| c == b']')?;
                let digits = after.get(..close)?;
                if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
                    return None;
                }
                let n: usize = std::str::from_utf8(digits).ok()?.parse().ok()?;
                at = self.element(at, n)?;
                rest = after.get(close + 1..)?;
            } else {
                let key_and_rest = if first {
                    rest
                } else {
                    rest.strip_prefix(b".")?
                };
                let (value, key_len) = self.member(at, key_and_rest)?;
                at = value;
                rest = key_and_rest.get(key_len..)?;
            }
            first = false;
        }
        match b.get(at)? {
            b',' | b':' | b'}' | b']' => None,
            _ => Some(at),
        }
    }

    fn skip_ws(&mut self, mut i: usize) -> Option<usize> {
        while self.b.get(i).is_some_and(|&c| is_ws(c)) {
            self.step()?;
            i += 1;
        }
        Some(i)
    }

    /// The offset just past the string that starts (with its quote) at `i`.
    fn string_end(&mut self, i: usize) -> Option<usize> {
        if self.b.get(i) != Some(&b'"') {
            return None;
        }
        let mut j = i + 1;
        loop {
            self.step()?;
            match *self.b.get(j)? {
                b'"' => return Some(j + 1),
                b'\\' => j += 2,
                _ => j += 1,
            }
        }
    }

    /// The offset just past the value that starts at `i` (no whitespace before it).
    /// Objects and arrays are skipped by counting brackets, without recursion.
    fn value_end(&mut self, i: usize) -> Option<usize> {
        match *self.b.get(i)? {
            b'"' => self.string_end(i),
            b'{' | b'[' => {
                let mut depth = 0usize;
                let mut j = i;
                loop {
                    self.step()?;
                    match *self.b.get(j)? {
                        b'"' => {
                            j = self.string_end(j)?;
                            continue;
                        }
                        b'{' | b'[' => depth += 1,
                        b'}' | b']' => {
                            depth -= 1;
                            if depth == 0 {
                                return Some(j + 1);
                            }
                        }
                        _ => {}
                    }
                    j += 1;
                }
            }
            b'}' | b']' | b',' | b':' => None,
            // A number or a literal (or garbage): up to the next delimiter.
            _ => {
                let mut j = i + 1;
                while self
                    .b
                    .get(j)
                    .is_some_and(|&c| !is_ws(c) && !b"{}[],:\"".contains(&c))
                {
                    self.step()?;
                    j += 1;
                }
                Some(j)
            }
        }
    }

    /// The start of element `n` of the array at `at`.
    fn element(&mut self, at: usize, n: usize) -> Option<usize> {
        if self.b.get(at) != Some(&b'[') {
            return None;
        }
        let mut i = self.skip_ws(at + 1)?;
        if self.b.get(i) == Some(&b']') {
            return None;
        }
        let mut k = 0usize;
        loop {
            if k == n {
                return Some(i);
            }
            let end = self.value_end(i)?;
            i = self.skip_ws(end)?;
            if self.b.get(i) != Some(&b',') {
                return None;
            }
            i = self.skip_ws(i + 1)?;
            k += 1;
        }
    }

    /// In the object at `at`, the member whose key `rest` starts with (followed by the
    /// end, `.` or `[`): the start of its value and the key's length in `rest`. An exact
    /// match beats one in another letter case, a longer key a shorter one, a later key an
    /// earlier one. A spent budget gives `None`, never a worse match.
    fn member(&mut self, at: usize, rest: &[u8]) -> Option<(usize, usize)> {
        let b = self.b;
        if b.get(at) != Some(&b'{') {
            return None;
        }
        let mut best: Option<((bool, usize), usize)> = None;
        let mut i = self.skip_ws(at + 1)?;
        if b.get(i) == Some(&b'}') {
            return None;
        }
        while b.get(i) == Some(&b'"') {
            let key_end = self.string_end(i)?;
            let key = b.get(i + 1..key_end - 1).and_then(decode_string);
            i = self.skip_ws(key_end)?;
            if b.get(i) != Some(&b':') {
                break;
            }
            i = self.skip_ws(i + 1)?;
            if let Some(score) = key.and_then(|k| key_match(&k, rest)) {
                if best.is_none_or(|(s, _)| score >= s) {
                    best = Some((score, i));
                }
            }
            if b.get(i).is_none_or(|c| b"}],:".contains(c)) {
                break;
            }
            let end = self.value_end(i)?;
            i = self.skip_ws(end)?;
            match b.get(i) {
                Some(b',') => i = self.skip_ws(i + 1)?,
                _ => break,
            }
        }
        best.map(|((_, len), value)| (value, len))
    }
}

/// How well `key` names the start of `rest`: (exact, length), or `None`.
fn key_match(key: &[u8], rest: &[u8]) -> Option<(bool, usize)> {
    let head = rest.get(..key.len())?;
    if !matches!(rest.get(key.len()), None | Some(b'.') | Some(b'[')) {
        return None;
    }
    if head == key {
        Some((true, key.len()))
    } else if head.eq_ignore_ascii_case(key) {
        Some((false, key.len()))
    } else {
        None
    }
}

/// The bytes a JSON string's body stands for; `None` for a bad escape.
fn decode_string(body: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(body.len());
    let mut i = 0;
    while let Some(&c) = body.get(i) {
        i += 1;
        if c != b'\\' {
            out.push(c);
            continue;
        }
        let e = *body.get(i)?;
        i += 1;
        let simple = match e {
            b'"' => b'"',
            b'\\' => b'\\',
            b'/' => b'/',
            b'b' => 0x08,
            b'f' => 0x0c,
            b'n' => b'\n',
            b'r' => b'\r',
            b't' => b'\t',
            b'u' => {
                let hi = hex4(body.get(i..i + 4)?)?;
                i += 4;
                let ch = if (0xD800..0xDC00).contains(&hi) {
                    // A surrogate pair: `\uD83D\uDE00`.
                    if body.get(i..i + 2) != Some(b"\\u") {
                        return None;
                    }
                    let lo = hex4(body.get(i + 2..i + 6)?)?;
                    if !(0xDC00..0xE000).contains(&lo) {
                        return None;
                    }
                    i += 6;
                    char::from_u32(0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00))?
                } else {
                    char::from_u32(hi)?
                };
                let mut buf = [0u8; 4];
                out.extend_from_slice(ch.encode_utf8(&mut buf).as_bytes());
                continue;
            }
            _ => return None,
        };
        out.push(simple);
    }
    Some(out)
}

fn hex4(d: &[u8]) -> Option<u32> {
    if !d.iter().all(u8::is_ascii_hexdigit) {
        return None;
    }
    u32::from_str_radix(std::str::from_utf8(d).ok()?, 16).ok()
}

/// The line and column of byte `offset` (a byte-order mark is not a column). It costs
/// no more than the walk that found `offset`, which scanned every byte before it.
fn position(b: &[u8], offset: usize) -> Position {
    let end = offset.min(b.len());
    let start = if b.starts_with(BOM) && end >= BOM.len() {
        BOM.len()
    } else {
        0
    };
    let (mut line, mut column) = (1usize, 1usize);
    for (k, &c) in b.iter().enumerate().take(end).skip(start) {
        if c == b'\n' || (c == b'\r' && b.get(k + 1) != Some(&b'\n')) {
            line += 1;
            column = 1;
        } else if c != b'\r' && c & 0xC0 != 0x80 {
            // Not a UTF-8 continuation byte: a new code point.
            column += 1;
        }
    }
    Position { line, column }
}

/// serde_json's "line L, column C" (lines end at LF only; C in bytes, 1-based) as a
/// [`Position`]; `None` when there is no such line.
fn serde_position(b: &[u8], line: usize, column: usize) -> Option<Position> {
    let mut start = 0usize;
    for _ in 1..line {
        start += b.get(start..)?.iter().position(|&c| c == b'\n')? + 1;
    }
    let line_len = b
        .get(start..)?
        .iter()
        .position(|&c| c == b'\n')
        .unwrap_or(b.len() - start);
    Some(position(b, start + column.saturating_sub(1).min(line_len)))
}

/// Where a finding without a path is, from its message: a parse error starts with
/// `line L, column C: ` (at most one finding: it ends the check), a validation error
/// with its JSON path.
fn implied_place(locator: &mut Locator<'_>, message: &str) -> Option<(Option<String>, Position)> {
    let (head, _) = message.split_once(": ")?;
    if let Some(lc) = head.strip_prefix("line ") {
        let (l, c) = lc.split_once(", column ")?;
        let pos = serde_position(locator.b, l.parse().ok()?, c.parse().ok()?)?;
        return Some((None, pos));
    }
    if head.is_empty() || head.contains(' ') {
        return None;
    }
    locator
        .locate(head)
        .map(|pos| (Some(head.to_string()), pos))
}

/// The SARIF `artifactLocation.uri` of the profile at `path` as given: relative stays
/// relative, an absolute path becomes a `file://` URI; other bytes than letters, digits,
/// `-._~/` are percent-encoded.
pub fn artifact_uri(path: &str) -> String {
    let mut out = String::with_capacity(path.len() + 8);
    if path.starts_with('/') {
        out.push_str("file://");
    }
    for &c in path.as_bytes() {
        if c.is_ascii_alphanumeric() || b"-._~/".contains(&c) {
            out.push(char::from(c));
        } else {
            out.push_str(&format!("%{c:02X}"));
        }
    }
    out
}

fn level(s: Severity) -> &'static str {
    match s {
        Severity::Error => "error",
        Severity::Warning => "warning",
        _ => "note",
    }
}

/// The SARIF 2.1.0 log of `findings` on the profile `path` (`-`: standard input, which
/// has no artifact) whose text is `text`.
pub fn log(path: &str, text: &str, findings: &[Finding]) -> Value {
    let steps =
        LOCATE_STEPS.saturating_add(LOCATE_STEPS_PER_BYTE.saturating_mul(text.len() as u64));
    let mut locator = Locator::new(text, steps);
    let mut codes: Vec<&str> = Vec::new();
    let mut results = Vec::with_capacity(findings.len());
    for f in findings {
        let index = codes.iter().position(|&c| c == f.code).unwrap_or_else(|| {
            codes.push(f.code);
            codes.len() - 1
        });
        let (logical, pos) = if f.path.is_empty() {
            match implied_place(&mut locator, &f.message) {
                Some((p, pos)) => (p, Some(pos)),
                None => (None, None),
            }
        } else {
            (Some(f.path.clone()), locator.locate(&f.path))
        };
        let mut location = serde_json::Map::new();
        if path != "-" {
            let mut physical = json!({ "artifactLocation": { "uri": artifact_uri(path) } });
            if let Some(p) = pos {
                physical["region"] = json!({ "startLine": p.line, "startColumn": p.column });
            }
            location.insert("physicalLocation".into(), physical);
        }
        if let Some(l) = &logical {
            location.insert(
                "logicalLocations".into(),
                json!([{ "fullyQualifiedName": l }]),
            );
        }
        let message = if f.path.is_empty() {
            f.message.clone()
        } else {
            format!("{}: {}", f.path, f.message)
        };
        let mut result = json!({
            "ruleId": f.code,
            "ruleIndex": index,
            "level": level(f.severity),
            "message": { "text": message },
        });
        if !location.is_empty() {
            result["locations"] = json!([location]);
        }
        results.push(result);
    }
    let rules: Vec<Value> = codes
        .iter()
        .map(|c| json!({ "id": c, "shortDescription": { "text": oci_seccomp::lint::describe(c) } }))
        .collect();
    json!({
        "$schema": SCHEMA,
        "version": "2.1.0",
        "runs": [{
            "tool": tool(rules),
            "columnKind": "unicodeCodePoints",
            "results": results,
        }],
    })
}

/// The run's `tool` object: this program, its version and repository, and `rules`.
fn tool(rules: Vec<Value>) -> Value {
    json!({ "driver": {
        "name": "oci-seccomp",
        "version": env!("CARGO_PKG_VERSION"),
        "informationUri": env!("CARGO_PKG_REPOSITORY"),
        "rules": rules,
    }})
}

/// A SARIF 2.1.0 log for a run that could not check `path` at all (missing, unreadable,
/// too large): no results, and the reason as a tool execution notification, so that a CI
/// job still gets a document that says the check did not run.
pub fn failed_log(path: &str, reason: &str) -> Value {
    let mut notification = json!({
        "level": "error",
        "message": { "text": reason },
    });
    if path != "-" {
        notification["locations"] =
            json!([{ "physicalLocation": { "artifactLocation": { "uri": artifact_uri(path) } } }]);
    }
    json!({
        "$schema": SCHEMA,
        "version": "2.1.0",
        "runs": [{
            "tool": tool(Vec::new()),
            "invocations": [{
                "executionSuccessful": false,
                "toolExecutionNotifications": [notification],
            }],
            "columnKind": "unicodeCodePoints",
            "results": [],
        }],
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str, path: &str) -> Option<(usize, usize)> {
        locate(text, path).map(|p| (p.line, p.column))
    }

    fn place(text: &str, message: &str) -> Option<(Option<String>, Position)> {
        implied_place(&mut Locator::new(text, u64::MAX), message)
    }

    const PROFILE: &str = r#"{
  "defaultAction": "SCMP_ACT_ERRNO",
  "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86"],
  "syscalls": [
    {"names": ["read"], "action": "SCMP_ACT_ALLOW"},
    {
      "names": ["personality"],
      "action": "SCMP_ACT_ALLOW",
      "args": [
        {"index": 0, "value": 8, "op": "SCMP_CMP_EQ"},
        {
          "index": 1,
          "value": 16,
          "op": "SCMP_CMP_EQ"
        }
      ]
    }
  ]
}"#;

    #[test]
    fn nested_objects_and_arrays() {
        assert_eq!(at(PROFILE, ""), Some((1, 1)));
        assert_eq!(at(PROFILE, "defaultAction"), Some((2, 20)));
        assert_eq!(at(PROFILE, "architectures"), Some((3, 20)));
        assert_eq!(at(PROFILE, "architectures[1]"), Some((3, 41)));
        assert_eq!(at(PROFILE, "syscalls[0]"), Some((5, 5)));
        assert_eq!(at(PROFILE, "syscalls[0].names[0]"), Some((5, 16)));
        assert_eq!(at(PROFILE, "syscalls[1]"), Some((6, 5)));
        assert_eq!(at(PROFILE, "syscalls[1].args[0]"), Some((10, 9)));
        assert_eq!(at(PROFILE, "syscalls[1].args[0].value"), Some((10, 31)));
        assert_eq!(at(PROFILE, "syscalls[1].args[1]"), Some((11, 9)));
        assert_eq!(at(PROFILE, "syscalls[1].args[1].value"), Some((13, 20)));
        assert_eq!(at(PROFILE, "syscalls[1].args[1].op"), Some((14, 17)));
    }

    #[test]
    fn missing_paths_are_none() {
        for p in [
            "nope",
            "defaultActio",
            "defaultActionX",
            "syscalls[2]",
            "syscalls[1].args[2]",
            "syscalls[0].args",
            "defaultAction[0]",
            "defaultAction.x",
            "syscalls.names",
            "syscalls[x]",
            "syscalls[]",
            "syscalls[0",
            "syscalls[99999999999999999999999999]",
            "[0]",
            "syscalls[0]names",
            ".defaultAction",
        ] {
            assert_eq!(at(PROFILE, p), None, "{p}");
        }
    }

    #[test]
    fn strings_with_escapes_quotes_and_brackets_are_skipped() {
        let text = "{\"comment\": \"a \\\"quoted\\\" [x] {y} \\\\\",\n \"k[0]\": [1,\n  \"]\", {\"a\": \"}\"}],\n \"b\": 2}";
        assert_eq!(at(text, "b"), Some((4, 7)));
        assert_eq!(
            at(text, "k[0]"),
            Some((2, 10)),
            "a key holding a bracket, whole"
        );
        assert_eq!(at(text, "k[0][1]"), Some((3, 3)));
        assert_eq!(at(text, "k[0][2].a"), Some((3, 14)));
    }

    #[test]
    fn escaped_keys_case_and_duplicates() {
        let text = "{\"default\\u0041ction\": 1, \"SYSCALLS\": [7], \"syscalls\": [8], \"x\": 1, \"x\": 2}";
        assert_eq!(at(text, "defaultAction"), Some((1, 24)));
        // The exact spelling wins over another case; of equal matches, the last wins.
        assert_eq!(at(text, "syscalls[0]"), Some((1, 57)));
        assert_eq!(at(text, "SYSCALLS[0]"), Some((1, 40)));
        assert_eq!(at(text, "Syscalls[0]"), Some((1, 57)));
        assert_eq!(at(text, "x"), Some((1, 74)));
        // A key holding a dot is matched whole; the longer key wins.
        let dotted = r#"{"a": {"b": 1}, "a.b": 2}"#;
        assert_eq!(at(dotted, "a.b"), Some((1, 24)));
        assert_eq!(at(r#"{"a": {"b": 1}}"#, "a.b"), Some((1, 13)));
        // An empty key (a path ending in a dot).
        assert_eq!(at(r#"{"s": {"": 3}}"#, "s."), Some((1, 12)));
    }

    #[test]
    fn whitespace_newlines_and_unicode_columns() {
        let text = "\u{feff}{\r\n\t\"é\" :\r  \"ü\",\n  \"n\"\n:\n\n   -1.5e3 }";
        assert_eq!(at(text, ""), Some((1, 1)));
        assert_eq!(at(text, "é"), Some((3, 3)));
        assert_eq!(at(text, "n"), Some((7, 4)));
        let wide = "{\"😀\": 0, \"k\": 1}";
        assert_eq!(at(wide, "k"), Some((1, 15)));
    }

    #[test]
    fn malformed_text_gives_none_or_what_comes_before() {
        for text in [
            "",
            "   ",
            "{",
            "{\"defaultAction\"",
            "{\"defaultAction\":",
            "{\"defaultAction\": }",
            "{\"defaultAction\" 1}",
            "[",
            "\"",
            "{\"a\": \"unterminated}",
            "{\"a\": [1, 2, \"defaultAction\": 1",
            "null",
            "{\"\\uD800\": 1, \"defaultAction\"}",
        ] {
            assert_eq!(at(text, "defaultAction"), None, "{text:?}");
        }
        // Broken after the value: the value is still found.
        assert_eq!(
            at("{\"defaultAction\": 1, ]]]", "defaultAction"),
            Some((1, 19))
        );
        assert_eq!(at("[1, 2", "[1]"), Some((1, 5)));
        assert_eq!(at("[1, 2", "[2]"), None);
    }

    #[test]
    fn deep_nesting_is_no_recursion() {
        let deep = format!(
            "{{\"a\": {}{}, \"b\": 1}}",
            "[".repeat(200_000),
            "]".repeat(200_000)
        );
        assert_eq!(at(&deep, "b"), Some((1, 400_014)));
        assert_eq!(at(&deep, "a[0][0][0]"), Some((1, 10)));
        let too_long = format!("a{}", "[0]".repeat(MAX_SEGMENTS));
        assert_eq!(at(&deep, &too_long), None);
    }

    #[test]
    fn one_budget_bounds_all_the_walks() {
        let path = "syscalls[1].args[1].op";
        // The walk to the last value scans most of the text, and no more than twice.
        let mut l = Locator::new(PROFILE, u64::MAX);
        assert!(l.locate(path).is_some());
        let used = u64::MAX - l.left;
        assert!(
            used > PROFILE.len() as u64 / 2 && used <= 2 * PROFILE.len() as u64,
            "{used}"
        );
        // With less than that, `None`, never a wrong place; once spent, nothing more.
        for steps in [0, 1, used / 2, used - 1] {
            assert_eq!(Locator::new(PROFILE, steps).locate(path), None, "{steps}");
        }
        let mut l = Locator::new(PROFILE, used + 3);
        assert_eq!(l.locate(path), locate(PROFILE, path));
        assert_eq!(l.locate(path), None);
        // A log of many findings on a large text stays within its budget: the first ones
        // are placed, the rest keep their path.
        let big = format!(
            "{{\"pad\": \"{}\", \"defaultAction\": 1}}",
            "x".repeat(1 << 20)
        );
        let findings: Vec<Finding> = (0..400)
            .map(|_| Finding {
                severity: Severity::Warning,
                code: "vital-denied",
                path: "defaultAction".into(),
                message: "m".into(),
            })
            .collect();
        let log = log("big.json", &big, &findings);
        let results = log["runs"][0]["results"].as_array().unwrap();
        let placed = results
            .iter()
            .filter(|r| {
                r["locations"][0]["physicalLocation"]
                    .get("region")
                    .is_some()
            })
            .count();
        let budget = LOCATE_STEPS + LOCATE_STEPS_PER_BYTE * big.len() as u64;
        assert!(placed > 0 && placed < 400, "{placed}");
        assert!(placed as u64 <= budget / big.len() as u64, "{placed}");
        assert!(results.iter().all(|r| {
            r["locations"][0]["logicalLocations"][0]["fullyQualifiedName"] == "defaultAction"
        }));
    }

    #[test]
    fn random_bytes_never_panic() {
        use proptest::prelude::*;
        use proptest::test_runner::{Config, TestRunner};
        let mut runner = TestRunner::new(Config {
            cases: 2000,
            ..Config::default()
        });
        let piece = prop_oneof![
            proptest::sample::select(vec![
                "{", "}", "[", "]", "\"", "\\", ":", ",", "\"a\"", "\\u", "\n", "\r", "é", " ",
            ])
            .prop_map(str::to_string),
            "[a-z0-9 ]{0,3}",
            any::<String>(),
        ];
        let text = proptest::collection::vec(piece, 0..40).prop_map(|v| v.concat());
        let path = "[a-z0-9\\[\\]\\.]{0,12}";
        runner
            .run(&(text, path), |(text, path)| {
                if let Some(p) = locate(&text, &path) {
                    prop_assert!(p.line >= 1 && p.column >= 1);
                }
                let _ = place(&text, &format!("{path}: x"));
                let _ = place(&text, "line 3, column 99999: x");
                let mut small = Locator::new(&text, 50);
                let _ = small.locate(&path);
                let _ = small.locate(&path);
                Ok(())
            })
            .unwrap();
        // And arbitrary bytes, read as text the way a file with bad UTF-8 would be shown.
        let mut runner = TestRunner::new(Config {
            cases: 2000,
            ..Config::default()
        });
        runner
            .run(
                &(proptest::collection::vec(any::<u8>(), 0..200), path),
                |(bytes, path)| {
                    let text = String::from_utf8_lossy(&bytes);
                    let _ = locate(&text, &path);
                    Ok(())
                },
            )
            .unwrap();
    }

    #[test]
    fn parse_errors_and_validation_errors_are_placed_by_their_message() {
        let text = "{\n  \"é\": 1,\n  \"syscalls\": [{\"names\": []}]\n}";
        assert_eq!(
            place(text, "line 2, column 9: expected value"),
            Some((None, Position { line: 2, column: 8 }))
        );
        assert_eq!(place(text, "line 9, column 1: x"), None);
        assert_eq!(
            place(text, "syscalls[0].names: at least one syscall"),
            Some((
                Some("syscalls[0].names".to_string()),
                Position {
                    line: 3,
                    column: 26
                }
            ))
        );
        assert_eq!(place(text, "the profile is too large: x"), None);
        assert_eq!(place(text, "syscalls[4]: x"), None);
    }

    #[test]
    fn uris() {
        assert_eq!(artifact_uri("profiles/app.json"), "profiles/app.json");
        assert_eq!(artifact_uri("/tmp/a b.json"), "file:///tmp/a%20b.json");
        assert_eq!(artifact_uri("c:d#é.json"), "c%3Ad%23%C3%A9.json");
    }

    #[test]
    fn log_shape() {
        let findings = vec![
            Finding {
                severity: Severity::Error,
                code: "invalid",
                path: String::new(),
                message: "syscalls[1].args[1].value: invalid value 16: x".into(),
            },
            Finding {
                severity: Severity::Warning,
                code: "risky-allow",
                path: "syscalls[1]".into(),
                message: "m".into(),
            },
            Finding {
                severity: Severity::Note,
                code: "risky-allow",
                path: "syscalls[9]".into(),
                message: "m".into(),
            },
        ];
        let log = log("p.json", PROFILE, &findings);
        assert_eq!(log["version"], "2.1.0");
        let run = &log["runs"][0];
        assert_eq!(run["tool"]["driver"]["rules"].as_array().unwrap().len(), 2);
        let r = &run["results"];
        assert_eq!(r[0]["level"], "error");
        assert_eq!(
            r[0]["locations"][0]["physicalLocation"]["region"]["startLine"],
            13
        );
        assert_eq!(
            r[0]["locations"][0]["logicalLocations"][0]["fullyQualifiedName"],
            "syscalls[1].args[1].value"
        );
        assert_eq!(r[1]["ruleIndex"], 1);
        assert_eq!(r[1]["message"]["text"], "syscalls[1]: m");
        assert_eq!(
            r[1]["locations"][0]["physicalLocation"]["region"]["startLine"],
            6
        );
        // Not in the file: no region, the logical location stays.
        assert!(r[2]["locations"][0]["physicalLocation"]
            .get("region")
            .is_none());
        assert_eq!(
            r[2]["locations"][0]["logicalLocations"][0]["fullyQualifiedName"],
            "syscalls[9]"
        );
        // Standard input: no artifact.
        let stdin = super::log("-", PROFILE, &findings);
        assert!(stdin["runs"][0]["results"][1]["locations"][0]
            .get("physicalLocation")
            .is_none());
    }
}
