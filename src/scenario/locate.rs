//! Where in the file an error is: byte offsets ↔ TOML paths ↔ line:column.
//!
//! toml reports errors with byte spans. To name the TOML path of a deserialization error, the file
//! is also parsed into toml's spanned tree ([`toml::de::DeTable`]) and the smallest node whose span
//! covers the error is taken (keys and values both count, so an unknown key is named by itself).
//! The other way round, a validation error's path is looked up in the tree to give it a line and
//! column when the value was written in the file.

use std::ops::Range;

use toml::Spanned;
use toml::de::{DeTable, DeValue};

pub use synmarket_agents::config::{Seg, TomlPath};

/// 1-based line and column (in characters) of a byte offset.
pub fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let mut offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map(|i| i + 1).unwrap_or(0);
    let column = before[line_start..].chars().count() + 1;
    (line, column)
}

/// The spanned tree of a document that parsed.
pub struct SpanTree<'i> {
    root: Spanned<DeTable<'i>>,
}

impl<'i> SpanTree<'i> {
    /// Parses `text`; `Err` carries toml's syntax error.
    pub fn parse(text: &'i str) -> Result<Self, toml::de::Error> {
        DeTable::parse(text).map(|root| SpanTree { root })
    }

    /// The path of the smallest key or value whose span covers `span`.
    pub fn path_at(&self, span: &Range<usize>) -> TomlPath {
        let mut best: Option<(usize, usize, TomlPath)> = None;
        walk_table(self.root.get_ref(), &TomlPath::root(), span, &mut best);
        best.map(|(_, _, p)| p).unwrap_or_default()
    }

    /// The byte span of the value at `path`, or of its deepest ancestor written in the file.
    pub fn span_of(&self, path: &TomlPath) -> Option<Range<usize>> {
        let mut table = self.root.get_ref();
        let mut current: Option<&Spanned<DeValue<'i>>> = None;
        let mut found = None;
        for seg in &path.0 {
            let next = match (seg, current) {
                (Seg::Key(k), None) => lookup(table, k),
                (Seg::Key(k), Some(v)) => match v.get_ref() {
                    DeValue::Table(t) => {
                        table = t;
                        lookup(table, k)
                    }
                    _ => None,
                },
                (Seg::Index(i), Some(v)) => match v.get_ref() {
                    DeValue::Array(a) => a.get(*i),
                    _ => None,
                },
                (Seg::Index(_), None) => None,
            };
            match next {
                Some(v) => {
                    found = Some(v.span());
                    current = Some(v);
                }
                None => break,
            }
        }
        found
    }
}

impl SpanTree<'_> {
    /// The byte span of the last key of `path` where it is written (for errors about the key
    /// itself, such as an unknown key), else of the value or its deepest written ancestor.
    pub fn key_span_of(&self, path: &TomlPath) -> Option<Range<usize>> {
        self.exact_key_span(path).or_else(|| self.span_of(path))
    }

    /// The byte span of the last key of `path`, only when that key is written in the file.
    pub fn exact_key_span(&self, path: &TomlPath) -> Option<Range<usize>> {
        let Some((Seg::Key(last), parent)) = path.0.split_last() else { return None };
        let mut table = self.root.get_ref();
        let mut current: Option<&Spanned<DeValue<'_>>> = None;
        for seg in parent {
            let next = match (seg, current.map(|v| v.get_ref())) {
                (Seg::Key(k), None) => lookup(table, k),
                (Seg::Key(k), Some(DeValue::Table(t))) => {
                    table = t;
                    lookup(table, k)
                }
                (Seg::Index(i), Some(DeValue::Array(a))) => a.get(*i),
                _ => None,
            };
            current = Some(next?);
        }
        if let Some(v) = current {
            match v.get_ref() {
                DeValue::Table(t) => table = t,
                _ => return None,
            }
        }
        table.iter().find(|(k, _)| k.get_ref().as_ref() == last.as_str()).map(|(k, _)| k.span())
    }

    /// Where a dotted key of a sweep or override file is written, as `(line, column)`: the key
    /// may be nested tables (`[grid] market.fee_bps`) or one quoted key (`"market.fee_bps"`), so
    /// every split into tables and a last quoted key is tried.
    pub fn locate_dotted(&self, text: &str, dotted: &str) -> Option<(usize, usize)> {
        let segs = super::overrides::split_path(dotted)?;
        let show = |segs: &[Seg]| {
            let mut out = String::new();
            for s in segs {
                match s {
                    Seg::Key(k) if out.is_empty() => out.push_str(k),
                    Seg::Key(k) => {
                        out.push('.');
                        out.push_str(k);
                    }
                    Seg::Index(i) => out.push_str(&format!("[{i}]")),
                }
            }
            out
        };
        for j in (1..=segs.len()).rev() {
            let mut path = TomlPath(segs[..j].to_vec());
            if j < segs.len() {
                if matches!(segs[j], Seg::Index(_)) {
                    continue;
                }
                path = path.key(&show(&segs[j..]));
            }
            if let Some(span) = self.exact_key_span(&path) {
                return Some(line_col(text, span.start));
            }
        }
        // A missing key: point at the table that should hold it.
        (1..segs.len())
            .rev()
            .find_map(|j| self.exact_key_span(&TomlPath(segs[..j].to_vec())))
            .map(|span| line_col(text, span.start))
    }
}

fn lookup<'a, 'i>(table: &'a DeTable<'i>, key: &str) -> Option<&'a Spanned<DeValue<'i>>> {
    table.iter().find(|(k, _)| k.get_ref().as_ref() == key).map(|(_, v)| v)
}

fn consider(node: Range<usize>, path: &TomlPath, span: &Range<usize>, best: &mut Option<(usize, usize, TomlPath)>) {
    let covers = node.start <= span.start && span.end <= node.end.max(node.start);
    if !covers {
        return;
    }
    let len = node.end.saturating_sub(node.start);
    let depth = path.0.len();
    let better = match best {
        None => true,
        Some((b_len, b_depth, _)) => len < *b_len || (len == *b_len && depth > *b_depth),
    };
    if better {
        *best = Some((len, depth, path.clone()));
    }
}

fn walk_value(
    value: &Spanned<DeValue<'_>>,
    path: &TomlPath,
    span: &Range<usize>,
    best: &mut Option<(usize, usize, TomlPath)>,
) {
    consider(value.span(), path, span, best);
    match value.get_ref() {
        DeValue::Table(t) => walk_table(t, path, span, best),
        DeValue::Array(a) => {
            for (i, item) in a.iter().enumerate() {
                walk_value(item, &path.index(i), span, best);
            }
        }
        _ => {}
    }
}

fn walk_table(table: &DeTable<'_>, path: &TomlPath, span: &Range<usize>, best: &mut Option<(usize, usize, TomlPath)>) {
    for (k, v) in table.iter() {
        let child = path.key(k.get_ref());
        consider(k.span(), &child, span, best);
        walk_value(v, &child, span, best);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_paths_of_spans() {
        let text = "[scenario]\nname = 'a'\n[[population]]\ncount = 1\n[[population]]\ncount = 'x'\n\
                    units = { uniform = [1, 2] }\n";
        let tree = SpanTree::parse(text).unwrap();
        let off = text.find("'x'").unwrap();
        assert_eq!(tree.path_at(&(off..off + 3)).to_string(), "population[1].count");
        let off = text.find("[1, 2]").unwrap();
        assert_eq!(tree.path_at(&(off..off + 6)).to_string(), "population[1].units.uniform");
        let p = TomlPath::root().key("population").index(1).key("units").key("uniform");
        assert_eq!(tree.span_of(&p), Some(off..off + 6));
        let missing = TomlPath::root().key("population").index(1).key("sla").key("probability");
        let header = text.rfind("[[population]]").unwrap();
        assert_eq!(tree.span_of(&missing).map(|s| s.start), Some(header));
    }

    #[test]
    fn line_col_counts_characters() {
        let text = "a\nbé c\n";
        assert_eq!(line_col(text, 0), (1, 1));
        assert_eq!(line_col(text, text.find('c').unwrap()), (2, 4));
        assert_eq!(line_col(text, 999), (3, 1));
    }
}
