//! Guards on the YAML text before it is parsed: what kubectl would read otherwise.

/// Why kubectl would see other documents in `text` than a YAML parser does, if it would:
/// it splits a file on lines that are `---` alone and reads the first document of each
/// piece, so a `...` end marker followed by more, content after `---` on its line, or line
/// breaks that are a CR alone hide resources from it that we would read.
pub(super) fn layout_kubectl_reads_otherwise(text: &str) -> Option<String> {
    if text.replace("\r\n", "").contains('\r') {
        return Some(
            "line breaks that are a CR alone: kubectl splits documents on LF, and would read \
             this file otherwise"
                .into(),
        );
    }
    for (n, line) in text.lines().enumerate() {
        let l = line.trim_end();
        let marker_with_content = l.starts_with("--- ") && !l[4..].trim_start().starts_with('#');
        if l == "..." || l.starts_with("... ") || marker_with_content {
            return Some(format!(
                "line {}: a document marker kubectl reads otherwise (`...`, or content after \
                 `---` on its line); put each resource after a `---` line of its own",
                n + 1
            ));
        }
    }
    None
}

/// The line (1-based) of the first YAML tag of `text`: a `!` that starts a token outside
/// quotes and comments. A `!` inside a block scalar counts too (refused, never misread).
pub(super) fn tag_line(text: &str) -> Option<usize> {
    // Quoted scalars may span lines: their state carries over. A `!` is a tag only where
    // a node starts: at a line's first non-blank, after `: `, `- `, `[`, `{`, `,` or `? `.
    let (mut single, mut double, mut escaped) = (false, false, false);
    let text = text.replace("\r\n", "\n").replace('\r', "\n");
    for (n, line) in text.lines().enumerate() {
        let mut node_start = !(single || double);
        let mut anchor = false;
        let mut prev = ' ';
        for c in line.chars() {
            // An anchor (`&name`) before a node leaves it at its start: `&a !tag x`.
            if anchor {
                if c.is_whitespace() {
                    anchor = false;
                    node_start = true;
                }
                prev = c;
                continue;
            }
            if double {
                match (escaped, c) {
                    (true, _) => escaped = false,
                    (false, '\\') => escaped = true,
                    (false, '"') => double = false,
                    _ => {}
                }
            } else if single {
                if c == '\'' {
                    single = false;
                }
            } else if c.is_whitespace() {
                if matches!(prev, ':' | '-' | '?') {
                    node_start = true;
                }
            } else {
                match c {
                    '#' if prev.is_whitespace() => break,
                    '!' if node_start => return Some(n + 1),
                    '&' if node_start => {
                        anchor = true;
                        prev = c;
                        continue;
                    }
                    '"' if node_start => double = true,
                    '\'' if node_start => single = true,
                    '[' | '{' | ',' => {
                        node_start = true;
                        prev = c;
                        continue;
                    }
                    _ => {}
                }
                node_start = false;
            }
            prev = c;
        }
        escaped = false;
    }
    None
}
