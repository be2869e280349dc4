//! The rules a chapter teaches, as every spec names them: a failure that
//! breaks one says which, in the same words the chapter uses.

use std::fmt;

/// A rule a chapter teaches, as a spec names it when it is broken: an id
/// (`R3`) and its words (`the wait counts from each answer`). Each spec
/// lists its rules at its top as constants (`const R3: Rule = ...`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rule {
    pub id: &'static str,
    pub words: &'static str,
}

impl Rule {
    pub const fn new(id: &'static str, words: &'static str) -> Rule {
        Rule { id, words }
    }
}

impl fmt::Display for Rule {
    /// `R3 (the wait counts from each answer)`, as a client spec's failure
    /// names it after "Broken rule"; with `{:#}`, `R3 the wait counts from
    /// each answer`, as a server spec's failure begins.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if f.alternate() {
            write!(f, "{} {}", self.id, self.words)
        } else {
            write!(f, "{} ({})", self.id, self.words)
        }
    }
}

/// The first line of a failure that breaks `rules`: `Broken rule R3 (the
/// wait counts from each answer): `.
pub(crate) fn broken(rules: &[Rule]) -> String {
    let names: Vec<String> = rules.iter().map(Rule::to_string).collect();
    match names.as_slice() {
        [] => String::new(),
        [one] => format!("Broken rule {one}: "),
        [init @ .., last] => {
            format!("Broken rules {} and {last}: ", init.join(", "))
        }
    }
}
