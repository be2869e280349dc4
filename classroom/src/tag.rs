//! A learner's name and exercise, as the join proxy puts them on every
//! request it forwards: `x-class-learner` (the name, percent-encoded, so any
//! language's letters fit in a header) and `x-class-exercise` (its number).

use crate::room::Tag;
use axum::http::{HeaderMap, HeaderValue};

pub const LEARNER_HEADER: &str = "x-class-learner";
pub const EXERCISE_HEADER: &str = "x-class-exercise";

// ANCHOR: limits
/// The longest name, in characters.
pub const MAX_NAME_CHARS: usize = 32;
// ANCHOR_END: limits

/// The name as the room will show it, or what is wrong with it. Any
/// printable characters will do, markup included: the dashboard shows
/// names as text. Control characters and the invisible ones that reorder or
/// hide text (bidirectional overrides, zero-width spaces) are refused, so
/// a name cannot disguise itself or another's lane.
pub fn check_name(name: &str) -> Result<String, String> {
    let name = name.trim();
    if name.is_empty() {
        return Err("a name cannot be empty: `--name \"Ada L\"`".to_owned());
    }
    if name.chars().count() > MAX_NAME_CHARS {
        return Err(format!("a name is at most {MAX_NAME_CHARS} characters"));
    }
    let invisible = |c: char| {
        c.is_control()
            || matches!(c, '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2060}'..='\u{2069}' | '\u{FEFF}')
    };
    if let Some(c) = name.chars().find(|c| invisible(*c)) {
        return Err(format!("a name cannot hold the invisible character U+{:04X}", c as u32));
    }
    Ok(name.to_owned())
}

/// The name, percent-encoded for a header.
pub fn encode(name: &str) -> HeaderValue {
    let mut out = String::with_capacity(name.len());
    for byte in name.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b' ' => out.push(byte as char),
            _ => out.push_str(&format!("%{byte:02X}")),
        }
    }
    HeaderValue::from_str(&out).expect("percent-encoded text is a valid header")
}

fn decode(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// Put `tag` on a request's headers, replacing any the page sent.
pub fn put(headers: &mut HeaderMap, tag: &Tag) {
    headers.insert(LEARNER_HEADER, encode(&tag.name));
    headers.insert(EXERCISE_HEADER, HeaderValue::from(tag.exercise));
}

/// The learner a request is from, if it is tagged; an error if the tag is
/// not one the join proxy would write.
pub fn of(headers: &HeaderMap) -> Result<Option<Tag>, String> {
    let Some(name) = headers.get(LEARNER_HEADER) else {
        return Ok(None);
    };
    let name = name.to_str().ok().and_then(decode).ok_or("the learner's name is not percent-encoded UTF-8")?;
    let name = check_name(&name)?;
    let exercise = headers
        .get(EXERCISE_HEADER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .filter(|n| (1..=99).contains(n))
        .ok_or("a tagged request needs its exercise's number (x-class-exercise: 1 to 99)")?;
    Ok(Some(Tag { name, exercise }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_go_through_headers_whole() {
        for name in ["Ada", "Zoë Ünal", "<img src=x onerror=alert(1)>", "名前", "50% off"] {
            let mut headers = HeaderMap::new();
            put(&mut headers, &Tag { name: name.to_owned(), exercise: 3 });
            assert_eq!(of(&headers), Ok(Some(Tag { name: name.to_owned(), exercise: 3 })));
        }
    }

    #[test]
    fn names_are_bounded_and_visible() {
        assert!(check_name("   ").is_err());
        assert!(check_name(&"x".repeat(MAX_NAME_CHARS + 1)).is_err());
        assert_eq!(check_name(&"x".repeat(MAX_NAME_CHARS)), Ok("x".repeat(MAX_NAME_CHARS)));
        assert!(check_name("Ada\u{202E}evil").is_err(), "a bidi override could disguise a name");
        assert!(check_name("Ada\nBob").is_err());
        assert_eq!(check_name("  Ada  "), Ok("Ada".to_owned()));
    }

    #[test]
    fn a_bad_tag_is_refused_and_no_tag_is_no_learner() {
        assert_eq!(of(&HeaderMap::new()), Ok(None));
        let mut headers = HeaderMap::new();
        headers.insert(LEARNER_HEADER, HeaderValue::from_static("Ada"));
        assert!(of(&headers).is_err(), "no exercise number");
        headers.insert(EXERCISE_HEADER, HeaderValue::from_static("7"));
        assert!(of(&headers).unwrap().is_some());
        headers.insert(LEARNER_HEADER, HeaderValue::from_static("%FF"));
        assert!(of(&headers).is_err(), "not UTF-8");
    }
}
