//! Stream's query filters (`{"members": {"$in": ["bob"]}}`, `$and`/`$or`, `$autocomplete`
//! …), evaluated against the few fields the relay keeps. A filter on a field the relay does
//! not know is refused with a message that names it, never silently ignored.

use serde_json::Value;

/// A field's value(s): a channel has many `members`, a user one `id`.
pub enum Field<'a> {
    One(&'a str),
    Many(&'a [String]),
}

/// Why a filter cannot be evaluated.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct FilterError(pub String);

/// True when `fields` satisfies `filter`. `lookup(name)` gives a field, or `None` when the
/// relay does not keep it (an error) — `Some(None)` is a known field without a value.
pub fn matches<'a>(
    filter: &Value,
    lookup: &dyn Fn(&str) -> Option<Option<Field<'a>>>,
) -> Result<bool, FilterError> {
    let Value::Object(map) = filter else {
        return Err(FilterError("a filter must be a JSON object".into()));
    };
    for (key, condition) in map {
        let ok = match key.as_str() {
            "$and" => each(condition, key)?
                .iter()
                .map(|f| matches(f, lookup))
                .collect::<Result<Vec<_>, _>>()?
                .into_iter()
                .all(|b| b),
            "$or" => each(condition, key)?
                .iter()
                .map(|f| matches(f, lookup))
                .collect::<Result<Vec<_>, _>>()?
                .into_iter()
                .any(|b| b),
            "$nor" => !each(condition, key)?
                .iter()
                .map(|f| matches(f, lookup))
                .collect::<Result<Vec<_>, _>>()?
                .into_iter()
                .any(|b| b),
            field => {
                let value = lookup(field).ok_or_else(|| {
                    FilterError(format!("the demo chat relay cannot filter by `{field}`"))
                })?;
                field_matches(field, value.as_ref(), condition)?
            }
        };
        if !ok {
            return Ok(false);
        }
    }
    Ok(true)
}

fn each<'v>(condition: &'v Value, op: &str) -> Result<&'v Vec<Value>, FilterError> {
    condition
        .as_array()
        .ok_or_else(|| FilterError(format!("`{op}` takes an array of filters")))
}

fn field_matches(
    field: &str,
    value: Option<&Field<'_>>,
    condition: &Value,
) -> Result<bool, FilterError> {
    let Value::Object(ops) = condition else {
        // `{"type": "messaging"}` means `$eq` (and `{"members": ["a","b"]}` the exact set).
        return match (value, condition) {
            (Some(Field::Many(have)), Value::Array(want)) => {
                let want = strings(want, field)?;
                Ok(have.len() == want.len() && want.iter().all(|w| have.iter().any(|h| h == w)))
            }
            _ => Ok(eq(value, scalar(condition, field)?)),
        };
    };
    for (op, arg) in ops {
        let ok = match op.as_str() {
            "$eq" => eq(value, scalar(arg, field)?),
            "$ne" => !eq(value, scalar(arg, field)?),
            "$in" => strings(array(arg, op)?, field)?
                .iter()
                .any(|w| eq(value, w)),
            "$nin" => !strings(array(arg, op)?, field)?
                .iter()
                .any(|w| eq(value, w)),
            "$exists" => value.is_some() == arg.as_bool().unwrap_or(true),
            "$autocomplete" => {
                let want = scalar(arg, field)?.to_lowercase();
                any_value(value, |v| {
                    let v = v.to_lowercase();
                    v.starts_with(&want)
                        || v.split(|c: char| !c.is_alphanumeric())
                            .any(|word| word.starts_with(&want))
                })
            }
            other => {
                return Err(FilterError(format!(
                    "the demo chat relay does not support `{other}` (on `{field}`)"
                )))
            }
        };
        if !ok {
            return Ok(false);
        }
    }
    Ok(true)
}

fn eq(value: Option<&Field<'_>>, want: &str) -> bool {
    any_value(value, |v| v == want)
}

fn any_value(value: Option<&Field<'_>>, test: impl Fn(&str) -> bool) -> bool {
    match value {
        None => false,
        Some(Field::One(v)) => test(v),
        Some(Field::Many(vs)) => vs.iter().any(|v| test(v)),
    }
}

fn array<'v>(arg: &'v Value, op: &str) -> Result<&'v Vec<Value>, FilterError> {
    arg.as_array()
        .ok_or_else(|| FilterError(format!("`{op}` takes an array")))
}

fn scalar<'v>(arg: &'v Value, field: &str) -> Result<&'v str, FilterError> {
    arg.as_str()
        .ok_or_else(|| FilterError(format!("`{field}` is compared with strings only")))
}

fn strings<'v>(list: &'v [Value], field: &str) -> Result<Vec<&'v str>, FilterError> {
    list.iter().map(|v| scalar(v, field)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn channel<'a>(members: &'a [String]) -> impl Fn(&str) -> Option<Option<Field<'a>>> {
        move |name| match name {
            "type" => Some(Some(Field::One("messaging"))),
            "members" => Some(Some(Field::Many(members))),
            "name" => Some(None),
            _ => None,
        }
    }

    #[test]
    fn members_in_type_eq_and_logic() {
        let members = vec!["alice".to_owned(), "bob".to_owned()];
        let f = channel(&members);
        let yes = |v: Value| matches(&v, &f).expect("evaluates");
        assert!(yes(
            json!({"type": "messaging", "members": {"$in": ["bob"]}})
        ));
        assert!(!yes(json!({"members": {"$in": ["carol"]}})));
        assert!(yes(json!({"members": ["bob", "alice"]})));
        assert!(!yes(json!({"members": ["bob"]})));
        assert!(yes(
            json!({"$or": [{"members": {"$in": ["x"]}}, {"type": {"$eq": "messaging"}}]})
        ));
        assert!(!yes(
            json!({"$and": [{"members": {"$in": ["x"]}}, {"type": "messaging"}]})
        ));
        assert!(!yes(json!({"name": {"$exists": true}})));
        assert!(yes(json!({"members": {"$autocomplete": "BO"}})));
    }

    #[test]
    fn unknown_fields_and_operators_are_refused_by_name() {
        let members = vec![];
        let f = channel(&members);
        let err = matches(&json!({"frozen": true}), &f).expect_err("unknown field");
        assert!(err.0.contains("`frozen`"), "{err}");
        let err = matches(&json!({"type": {"$gt": "a"}}), &f).expect_err("unknown op");
        assert!(err.0.contains("`$gt`"), "{err}");
        assert!(matches(&json!([1]), &f).is_err());
        assert!(matches(&json!({"type": 5}), &f).is_err());
    }
}
